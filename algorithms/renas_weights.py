"""A weight store for parameter inheritance: one safetensors file per evaluation, a size budget, LRU eviction.

Files live in a directory beside the cache (`<cache>.weights/` by default) and are named by the evaluation
identity they hold, `<task key>-<arch hash>-<replicate>.safetensors` (the evaluations table's primary key).
The format is safetensors (a JSON header of dtype / shape / byte offsets, then raw little-endian data),
written and read with the `safetensors` package: reading never executes anything, and only float32 /
int64 tensors are accepted.

Budget: after every write, the least recently used files (by modification time, refreshed on every read)
are deleted until the directory fits `max_bytes`, never a pinned identity (the live population's). A file
written is complete or absent: it is written to a temporary name and renamed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)

ALLOWED_DTYPES = (torch.float32, torch.int64)  # parameters and BatchNorm's batch counter
DEFAULT_BUDGET = 2 * 1024**3


def save_safetensors(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> int:
    """Write `tensors` as a safetensors file, atomically (temporary name, then rename); returns its size."""
    from safetensors.torch import save

    blob = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata=dict(metadata))
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(blob)
    os.replace(tmp, path)
    return len(blob)


def load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file of F32/I64 tensors; ValueError for anything malformed."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = dict(fh.metadata() or {})
            tensors = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise ValueError(f"{path.name}: not a readable safetensors file ({str(exc)[:120]})") from exc
    bad = [n for n, t in tensors.items() if t.dtype not in ALLOWED_DTYPES]
    if bad:
        raise ValueError(f"{path.name}: tensor {bad[0][:60]!r} has an unsupported dtype")
    return tensors, metadata


@dataclass(frozen=True)
class EvalId:
    """An evaluation's identity: the evaluations table's primary key."""

    task_key: str
    arch_hash: str
    replicate: int = 0

    def text(self) -> str:
        return f"{self.task_key}/{self.arch_hash}/{self.replicate}"

    @classmethod
    def parse(cls, text: str) -> EvalId:
        parts = str(text).split("/")
        if len(parts) != 3 or not parts[2].isdigit():
            raise ValueError(f"not an evaluation identity: {str(text)[:80]!r}")
        return cls(parts[0], parts[1], int(parts[2]))


class WeightStore:
    def __init__(self, root: str | Path, max_bytes: int = DEFAULT_BUDGET) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_bytes)
        self.evicted = 0

    def path(self, ident: EvalId) -> Path:
        return self.root / f"{ident.task_key}-{ident.arch_hash}-{ident.replicate}.safetensors"

    def has(self, ident: EvalId) -> bool:
        return self.path(ident).exists()

    def put(self, ident: EvalId, state: Mapping[str, torch.Tensor], pinned: Iterable[EvalId] = ()) -> None:
        save_safetensors(self.path(ident), state, {"evaluation": ident.text()})
        self.evict(keep={*pinned, ident})

    def get(self, ident: EvalId) -> dict[str, torch.Tensor] | None:
        path = self.path(ident)
        if not path.exists():
            return None
        tensors, _ = load_safetensors(path)
        now = time.time()
        os.utime(path, (now, now))  # recently used
        return tensors

    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("*.safetensors"))

    def evict(self, keep: Iterable[EvalId] = ()) -> None:
        """Delete least recently used files until the store fits its budget (never those in `keep`)."""
        kept = {self.path(k).name for k in keep}
        files = sorted(self.root.glob("*.safetensors"), key=lambda p: (p.stat().st_mtime, p.name))
        total = sum(p.stat().st_size for p in files)
        for path in files:
            if total <= self.max_bytes:
                break
            if path.name in kept:
                continue
            total -= path.stat().st_size
            path.unlink(missing_ok=True)
            self.evicted += 1
            log.debug("weight store: evicted %s", path.name)
