"""Datasets: info, data root, seeded stratified splits, the IDX and CIFAR readers, and their errors."""

from __future__ import annotations

import gzip
import pickle
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data import (
    DatasetInfo,
    SplitData,
    clear_cache,
    data_root,
    dataset_info,
    dataset_names,
    load_split,
    read_idx,
)
from harness.errors import ConfigError, DatasetMissingError, UnknownNameError
from harness.tasks import Split, preset
from tests.datafixtures import idx_bytes, write_cifar10, write_fashion_mnist, write_idx

DIGITS = Split(train=1000, val=397, test=400, seed=0)
FMNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def digits_labels() -> np.ndarray:
    from sklearn.datasets import load_digits

    return np.asarray(load_digits().target)


def rows(x: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in x.reshape(len(x), int(np.prod(x.shape[1:])))}


def ncm_accuracy(data: SplitData, classes: int = 10) -> float:
    """Nearest-class-mean classifier fitted on the train split, scored on the test split."""
    means = np.stack([data.x_train[data.y_train == k].mean(axis=0) for k in range(classes)])
    dist = ((data.x_test[:, None] - means[None]) ** 2).reshape(len(data.x_test), classes, -1).sum(axis=2)
    return float((dist.argmin(axis=1) == data.y_test).mean())


def assert_one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert msg and "\n" not in msg, msg
    return msg


# --- info and root ---


def test_names_and_info() -> None:
    assert dataset_names() == ["cifar10", "digits", "fashion_mnist", "mnist5k", "synthetic"]
    shapes = {name: dataset_info(name).input_shape for name in dataset_names()}
    assert shapes == {
        "cifar10": (3, 32, 32),
        "digits": (1, 8, 8),
        "fashion_mnist": (1, 28, 28),
        "mnist5k": (1, 28, 28),
        "synthetic": (3, 16, 16),
    }
    cifar = dataset_info("cifar10")
    assert isinstance(cifar, DatasetInfo)
    assert (cifar.pool_size, cifar.test_size, cifar.num_classes, cifar.downloadable) == (
        50000,
        10000,
        10,
        True,
    )
    assert len(cifar.mean) == len(cifar.std) == 3
    fm = dataset_info("fashion_mnist")
    assert (fm.pool_size, fm.test_size) == (60000, 10000)
    assert all(f.startswith("FashionMNIST/raw/") for f in fm.expected_files)
    assert dataset_info("digits").expected_files == () and dataset_info("digits").test_size == 0
    assert preset("digits").input_shape == (1, 8, 8) and preset("synthetic").num_classes == 10


def test_unknown_dataset() -> None:
    with pytest.raises(UnknownNameError) as info:
        dataset_info("mnist")
    assert "'mnist'" in assert_one_line(info.value) and "cifar10" in str(info.value)
    with pytest.raises(UnknownNameError):
        load_split("imagenet", DIGITS)


@pytest.mark.parametrize("name", ["digits", "synthetic"])
def test_documented_mean_and_std_match_the_pool(name: str) -> None:
    info = dataset_info(name)
    pool = load_split(name, Split(train=None, val=0, test=0))
    assert len(pool.x_train) == info.pool_size
    np.testing.assert_allclose(pool.x_train.mean(axis=(0, 2, 3)), info.mean, atol=1e-3)
    np.testing.assert_allclose(pool.x_train.std(axis=(0, 2, 3)), info.std, atol=1e-3)


def test_data_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EVONAS_DATA", raising=False)
    assert data_root() == (tmp_path / "home" / ".cache" / "evonas" / "data").resolve()
    monkeypatch.setenv("EVONAS_DATA", str(tmp_path / "env"))
    assert data_root() == (tmp_path / "env").resolve()
    assert data_root(tmp_path / "explicit") == (tmp_path / "explicit").resolve()
    assert data_root(str(tmp_path / "explicit")) == (tmp_path / "explicit").resolve()


# --- digits splits ---


def test_digits_sizes_dtypes_and_range() -> None:
    data = load_split("digits", DIGITS)
    assert data.x_train.shape == (1000, 1, 8, 8)
    assert data.x_val.shape == (397, 1, 8, 8)
    assert data.x_test.shape == (400, 1, 8, 8)
    assert [len(y) for y in (data.y_train, data.y_val, data.y_test)] == [1000, 397, 400]
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.min() == 0.0 and x.max() == 1.0
        assert set(np.unique(x * 16)) <= set(range(17))
        assert set(np.unique(y)) == set(range(10))
    pool = rows(load_split("digits", Split(train=None, val=0, test=0)).x_train)
    parts = [rows(data.x_train), rows(data.x_val), rows(data.x_test)]
    assert sum(len(p) for p in parts) == len(set().union(*parts)) == 1797  # disjoint and covering
    assert set().union(*parts) == pool


def test_digits_train_none_takes_the_rest_and_test_none_is_an_error() -> None:
    data = load_split("digits", Split(train=None, val=300, test=200, seed=3))
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (1297, 300, 200)
    with pytest.raises(ConfigError) as info:
        load_split("digits", Split(train=100, val=100, test=None))
    assert "no official test set" in assert_one_line(info.value)


def test_digits_val_zero_gives_empty_arrays() -> None:
    data = load_split("digits", Split(train=500, val=0, test=100))
    assert data.x_val.shape == (0, 1, 8, 8) and data.y_val.shape == (0,)
    assert data.x_val.dtype == np.float32 and data.y_val.dtype == np.int64


def test_determinism_and_seed_sensitivity() -> None:
    first = load_split("digits", DIGITS).fingerprint()
    clear_cache()
    again = load_split("digits", DIGITS)
    assert again.fingerprint() == first
    assert len(first) == 16 and int(first, 16) >= 0
    other = load_split("digits", Split(train=1000, val=397, test=400, seed=1))
    assert other.fingerprint() != first
    assert rows(other.x_val) != rows(again.x_val)


def test_fingerprint_sees_every_array() -> None:
    data = load_split("digits", Split(train=50, val=20, test=20))
    arrays = [np.array(a) for a in data.arrays()]
    base = SplitData(*arrays).fingerprint()
    assert base == data.fingerprint()
    for i in range(6):
        changed = [a.copy() for a in arrays]
        if changed[i].dtype == np.float32:
            changed[i][0] += 0.5
        else:
            changed[i][0] = (changed[i][0] + 1) % 10
        assert SplitData(*changed).fingerprint() != base, i


def test_train_size_does_not_change_val_or_test() -> None:
    small = load_split("digits", Split(train=200, val=300, test=300, seed=5))
    large = load_split("digits", Split(train=None, val=300, test=300, seed=5))
    assert np.array_equal(small.x_val, large.x_val) and np.array_equal(small.y_test, large.y_test)
    assert rows(small.x_train) < rows(large.x_train)


def test_arrays_are_read_only() -> None:
    data = load_split("digits", DIGITS)
    for arr in data.arrays():
        assert not arr.flags.writeable
    with pytest.raises(ValueError):
        data.x_train[0, 0, 0, 0] = 5.0
    assert load_split("digits", DIGITS).fingerprint() == data.fingerprint()


@pytest.mark.parametrize(
    ("split", "needle"),
    [
        (Split(train=1500, val=200, test=200), "asks for 1500 train images but only 1397"),
        (Split(train=None, val=1000, test=900), "asks for 1000 val images but only 897"),
        (Split(train=10, val=10, test=1798), "asks for 1798 test images but only 1797"),
        (Split(train=None, val=897, test=900), "leaves no training images"),
        (Split(train=-1, val=10, test=10), "split.train must be a non-negative integer"),
        (Split(train=10, val=10, test=10, seed=-3), "split.seed must be a non-negative integer"),
    ],
)
def test_bad_split_is_one_config_error(split: Split, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_split("digits", split)
    assert needle in assert_one_line(info.value)


@settings(derandomize=True, max_examples=30, deadline=None)
@given(
    test=st.integers(0, 600),
    val=st.integers(0, 600),
    train=st.one_of(st.none(), st.integers(1, 500)),
    seed=st.integers(0, 2**32 - 1),
)
def test_splits_are_stratified_and_exact(test: int, val: int, train: int | None, seed: int) -> None:
    labels = digits_labels()
    data = load_split("digits", Split(train=train, val=val, test=test, seed=seed))
    expected_train = labels.size - val - test if train is None else train
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (expected_train, val, test)
    share = np.bincount(labels, minlength=10) / labels.size
    for y, slack in ((data.y_test, 1.0), (data.y_val, 2.0), (data.y_train, 3.0)):
        counts = np.bincount(y, minlength=10)
        assert np.all(np.abs(counts - share * len(y)) <= slack), (counts, share * len(y))
    parts = [rows(data.x_train), rows(data.x_val), rows(data.x_test)]
    assert sum(len(p) for p in parts) == len(set().union(*parts))


# --- synthetic ---


def test_synthetic_is_balanced_deterministic_and_learnable() -> None:
    split = preset("synthetic").split
    data = load_split("synthetic", split)
    assert data.x_train.shape == (600, 3, 16, 16) and data.x_test.shape == (200, 3, 16, 16)
    assert data.x_train.dtype == np.float32 and data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    pool = load_split("synthetic", Split(train=None, val=0, test=0))
    assert np.array_equal(np.bincount(pool.y_train), [200] * 10)
    first = data.fingerprint()
    clear_cache()  # regenerate from scratch
    assert load_split("synthetic", split).fingerprint() == first
    accuracy = ncm_accuracy(data)
    assert 0.25 < accuracy < 0.9, accuracy  # well above chance (0.1), far from solved


# --- Fashion-MNIST (IDX) ------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_fashion_mnist_round_trip(tmp_path: Path, gz: bool) -> None:
    raw = write_fashion_mnist(tmp_path, n_train=120, n_test=40, seed=2, gz=gz)
    suffix = ".gz" if gz else ""
    assert sorted(p.name for p in raw.iterdir()) == sorted(f + suffix for f in FMNIST_FILES)
    data = load_split("fashion_mnist", Split(train=None, val=20, test=None, seed=1), root=tmp_path)
    assert data.x_train.shape == (100, 1, 28, 28) and data.x_val.shape == (20, 1, 28, 28)
    assert data.x_test.shape == (40, 1, 28, 28)

    def read(name: str, header: int) -> np.ndarray:  # an independent reader of the written files
        path = raw / (name + suffix)
        blob = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
        return np.frombuffer(blob[header:], dtype=np.uint8)

    images = read("t10k-images-idx3-ubyte", 16).reshape(40, 1, 28, 28)
    labels = read("t10k-labels-idx1-ubyte", 8)
    np.testing.assert_array_equal(data.x_test * 255, images)  # official test set, in file order
    np.testing.assert_array_equal(data.y_test, labels)
    train_images = read("train-images-idx3-ubyte", 16).reshape(120, -1)
    assert rows(np.rint(data.x_train * 255).astype(np.uint8)) <= rows(train_images)
    assert ncm_accuracy(data) > 0.5  # the fixture's content is learnable


def test_idx_reader_round_trip(tmp_path: Path) -> None:
    arr = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    for gz in (False, True):
        path = write_idx(tmp_path / f"a{int(gz)}-idx3-ubyte", arr, gz=gz)
        assert path.name.endswith(".gz") == gz
        np.testing.assert_array_equal(read_idx(path, 0x00000803), arr)
    assert idx_bytes(np.zeros(3, np.uint8))[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 3])


def test_test_subset_of_official_test_set(tmp_path: Path) -> None:
    write_fashion_mnist(tmp_path, n_train=60, n_test=50, seed=0, gz=False)
    data = load_split("fashion_mnist", Split(train=30, val=10, test=20, seed=4), root=tmp_path)
    full = load_split("fashion_mnist", Split(train=30, val=10, test=None, seed=4), root=tmp_path)
    assert len(data.y_test) == 20 and np.array_equal(np.bincount(data.y_test), [2] * 10)
    assert rows(data.x_test) <= rows(full.x_test)
    assert np.array_equal(data.x_val, full.x_val) and np.array_equal(data.x_train, full.x_train)
    with pytest.raises(ConfigError) as info:
        load_split("fashion_mnist", Split(train=30, val=10, test=51), root=tmp_path)
    assert "asks for 51 test images but only 50" in assert_one_line(info.value)


def test_env_var_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fashion_mnist(tmp_path / "data", n_train=30, n_test=10, gz=True)
    monkeypatch.setenv("EVONAS_DATA", str(tmp_path / "data"))
    data = load_split("fashion_mnist", Split(train=None, val=0, test=None))
    assert (len(data.y_train), len(data.y_test)) == (30, 10)


def test_missing_files_name_root_and_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissingError) as info:
        load_split("fashion_mnist", Split(val=0), root=tmp_path)
    msg = assert_one_line(info.value)
    assert "'fashion_mnist'" in msg and str(tmp_path.resolve()) in msg
    assert all(f"FashionMNIST/raw/{f}" in msg for f in FMNIST_FILES)
    assert "--download" in msg and "$EVONAS_DATA" in msg

    write_cifar10(tmp_path, n_per_batch=4, n_test=4)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetMissingError) as info:
        load_split("cifar10", Split(val=0), root=tmp_path)
    msg = assert_one_line(info.value)
    assert "cifar-10-batches-py/test_batch" in msg and "missing cifar-10-batches-py/data_batch_3;" in msg


def test_download_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, bool, bool]] = []

    class FailingDownload:
        def __init__(self, root: str, train: bool = True, download: bool = False) -> None:
            calls.append((root, train, download))
            raise RuntimeError(
                "Error downloading train-images-idx3-ubyte.gz:\nTried https://x, got:\n<urlopen>"
            )

    monkeypatch.setattr("harness.data._downloader", lambda name: FailingDownload)
    with pytest.raises(DatasetMissingError) as info:
        load_split("fashion_mnist", Split(val=0), root=tmp_path / "fresh", download=True)
    msg = assert_one_line(info.value)
    assert "could not download dataset 'fashion_mnist'" in msg and "Error downloading" in msg
    assert calls == [(str((tmp_path / "fresh").resolve()), True, True)]


def test_download_success_then_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeCifar:
        def __init__(self, root: str, train: bool = True, download: bool = False) -> None:
            assert download
            write_cifar10(Path(root), n_per_batch=6, n_test=10)

    asked: list[str] = []

    def downloader(name: str) -> type[FakeCifar]:
        asked.append(name)
        return FakeCifar

    monkeypatch.setattr("harness.data._downloader", downloader)
    data = load_split("cifar10", Split(train=None, val=10, test=None), root=tmp_path, download=True)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (20, 10, 10)
    assert asked == ["cifar10"]
    load_split("cifar10", Split(train=None, val=10, test=None), root=tmp_path, download=True)
    assert asked == ["cifar10"]  # files present: no second download


def _corrupt(raw: Path, name: str, content: bytes) -> None:
    (raw / name).write_bytes(content)


@pytest.mark.parametrize(
    ("name", "mutate", "needle"),
    [
        ("train-images-idx3-ubyte", lambda b: b[:3] + b"\x01" + b[4:], "bad IDX magic number"),
        ("train-labels-idx1-ubyte", lambda b: idx_bytes(np.zeros((2, 2), np.uint8)), "bad IDX magic number"),
        ("train-images-idx3-ubyte", lambda b: b[:-100], "truncated IDX file"),
        ("train-images-idx3-ubyte", lambda b: b[:10], "truncated IDX file"),
        ("t10k-images-idx3-ubyte", lambda b: b + b"\x00", "oversized IDX file"),
        ("t10k-labels-idx1-ubyte", lambda b: idx_bytes(np.zeros(9, np.uint8)), "10 images but 9 labels"),
        ("t10k-labels-idx1-ubyte", lambda b: idx_bytes(np.full(10, 12, np.uint8)), "labels outside 0..9"),
        (
            "t10k-images-idx3-ubyte",
            lambda b: idx_bytes(np.zeros((10, 32, 32), np.uint8)),
            "images are (32, 32), expected (28, 28)",
        ),
    ],
)
def test_corrupt_idx(tmp_path: Path, name: str, mutate: Callable[[bytes], bytes], needle: str) -> None:
    raw = write_fashion_mnist(tmp_path, n_train=20, n_test=10, gz=False)
    _corrupt(raw, name, mutate((raw / name).read_bytes()))
    with pytest.raises(DatasetMissingError) as info:
        load_split("fashion_mnist", Split(val=0), root=tmp_path)
    msg = assert_one_line(info.value)
    assert needle in msg and ("'fashion_mnist'" in msg or name in msg), msg


def test_corrupt_gzip(tmp_path: Path) -> None:
    raw = write_fashion_mnist(tmp_path, n_train=20, n_test=10, gz=True)
    _corrupt(raw, "train-labels-idx1-ubyte.gz", b"this is not gzip")
    with pytest.raises(DatasetMissingError) as info:
        load_split("fashion_mnist", Split(val=0), root=tmp_path)
    assert "cannot read" in assert_one_line(info.value) and "train-labels-idx1-ubyte.gz" in str(info.value)


def test_replaced_files_are_read_again(tmp_path: Path) -> None:
    write_fashion_mnist(tmp_path, n_train=20, n_test=10, gz=False)
    before = load_split("fashion_mnist", Split(val=0), root=tmp_path)
    write_fashion_mnist(tmp_path, n_train=30, n_test=10, gz=False, seed=1)
    after = load_split("fashion_mnist", Split(val=0), root=tmp_path)
    assert (len(before.y_train), len(after.y_train)) == (20, 30)


# --- CIFAR-10 (pickled batches) -----------------------------------------------------------------------


def test_cifar10_round_trip(tmp_path: Path) -> None:
    folder = write_cifar10(tmp_path, n_per_batch=20, n_test=30, seed=3)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["batches.meta", "test_batch", *(f"data_batch_{i}" for i in range(1, 6))]
    )
    with open(folder / "data_batch_2", "rb") as fh:
        batch = pickle.load(fh, encoding="bytes")
    assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape == (20, 3072)
    assert batch[b"batch_label"] == b"training batch 2 of 5" and len(batch[b"filenames"]) == 20
    with open(folder / "batches.meta", "rb") as fh:
        assert pickle.load(fh, encoding="bytes")[b"label_names"][0] == b"airplane"

    data = load_split("cifar10", Split(train=None, val=20, test=None, seed=0), root=tmp_path)
    assert data.x_train.shape == (80, 3, 32, 32) and data.x_test.shape == (30, 3, 32, 32)
    with open(folder / "test_batch", "rb") as fh:
        test = pickle.load(fh, encoding="bytes")
    np.testing.assert_array_equal(data.x_test * 255, test[b"data"].reshape(30, 3, 32, 32))
    np.testing.assert_array_equal(data.y_test, test[b"labels"])
    assert ncm_accuracy(data) > 0.5


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"garbage, not a pickle", "corrupt CIFAR-10 batch"),
        (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}, protocol=2), "b'labels'"),
        (pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}), "expected uint8 N x 3072"),
        (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}), "labels for 2 images"),
        (pickle.dumps(OrderedDict(a=1)), "unexpected object collections.OrderedDict"),
    ],
)
def test_corrupt_cifar(tmp_path: Path, content: bytes, needle: str) -> None:
    folder = write_cifar10(tmp_path, n_per_batch=4, n_test=4)
    (folder / "data_batch_4").write_bytes(content)
    with pytest.raises(DatasetMissingError) as info:
        load_split("cifar10", Split(val=0), root=tmp_path)
    msg = assert_one_line(info.value)
    assert needle in msg and "data_batch_4" in msg, msg
