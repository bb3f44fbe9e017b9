"""Tiny dataset files in the exact on-disk formats torchvision uses, with learnable content.

`write_fashion_mnist` writes the four IDX files of Fashion-MNIST under `<root>/FashionMNIST/raw/` and
`write_cifar10` the pickled python batches of CIFAR-10 under `<root>/cifar-10-batches-py/`, so that
`harness.data.load_split(..., root=root)` (and `evonas ... --data root`) read them like the real datasets.
Images carry label-dependent patterns plus seeded noise: a small network learns them in a few epochs.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
CIFAR_LABEL_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def balanced_labels(n: int, rng: np.random.Generator, classes: int = 10) -> np.ndarray:
    """`n` labels with every class as equally often as possible, in random order."""
    return rng.permutation(np.arange(n) % classes).astype(np.uint8)


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte array in IDX format: magic 0x000008<ndim>, big-endian uint32 dims, then the data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write `array` as an IDX file at `path` (with `.gz` appended and gzipped when `gz`)."""
    data = idx_bytes(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def fashion_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """28x28 uint8 images: class k is a bright bar (horizontal for k < 5, vertical otherwise) at a
    class-dependent position, jittered by up to 1 pixel, over noise."""
    n = labels.size
    images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.int64)
    jitter = rng.integers(-1, 2, size=n)
    for i, k in enumerate(labels.astype(int)):
        start = 3 + 4 * (k % 5) + int(jitter[i])
        if k < 5:
            images[i, start : start + 3, 4:24] += 180
        else:
            images[i, 4:24, start : start + 3] += 180
    return np.clip(images, 0, 255).astype(np.uint8)


def write_fashion_mnist(root: Path, n_train: int, n_test: int, seed: int = 0, gz: bool = True) -> Path:
    """Write a Fashion-MNIST look-alike (n_train training, n_test test images) under
    `<root>/FashionMNIST/raw/`; returns that directory."""
    rng = np.random.default_rng(seed)
    raw = Path(root) / "FashionMNIST" / "raw"
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = balanced_labels(n, rng)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", fashion_images(labels, rng), gz=gz)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels, gz=gz)
    return raw


def cifar_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """N x 3072 uint8 rows (R, G, B planes of 32x32): a class colour fills a class-dependent quadrant or
    band of the image, over noise."""
    n = labels.size
    palette = np.array(
        [
            [230, 40, 40],
            [40, 230, 40],
            [40, 40, 230],
            [230, 230, 40],
            [230, 40, 230],
            [40, 230, 230],
            [230, 140, 40],
            [140, 40, 230],
            [200, 200, 200],
            [90, 90, 90],
        ]
    )
    images = rng.integers(0, 50, size=(n, 3, 32, 32)).astype(np.int64)
    for i, k in enumerate(labels.astype(int)):
        row, col = divmod(k % 4, 2)
        images[i, :, row * 16 : row * 16 + 16, col * 16 : col * 16 + 16] += palette[k][:, None, None]
    return np.clip(images, 0, 255).astype(np.uint8).reshape(n, 3072)


def _dump(path: Path, obj: dict[bytes, object]) -> None:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=2)


def write_cifar10(root: Path, n_per_batch: int, n_test: int, seed: int = 0) -> Path:
    """Write a CIFAR-10 look-alike (5 training batches of n_per_batch images, a test batch of n_test and
    `batches.meta`) under `<root>/cifar-10-batches-py/`; returns that directory."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = [(f"data_batch_{i}", f"training batch {i} of 5", n_per_batch) for i in range(1, 6)]
    batches.append(("test_batch", "testing batch 1 of 1", n_test))
    serial = 0
    for file_name, batch_label, n in batches:
        labels = balanced_labels(n, rng)
        filenames = []
        for k in labels.astype(int):
            filenames.append(f"{CIFAR_LABEL_NAMES[k]}_s_{serial:06d}.png".encode())
            serial += 1
        _dump(
            folder / file_name,
            {
                b"batch_label": batch_label.encode(),
                b"labels": [int(k) for k in labels],
                b"data": cifar_images(labels, rng),
                b"filenames": filenames,
            },
        )
    _dump(
        folder / "batches.meta",
        {
            b"num_cases_per_batch": n_per_batch,
            b"label_names": [name.encode() for name in CIFAR_LABEL_NAMES],
            b"num_vis": 3072,
        },
    )
    return folder
