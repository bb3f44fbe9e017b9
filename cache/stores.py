"""The evaluation-store protocol, and the in-memory store that tests (and a loaded table) use.

An evaluation store holds what a benchmark is: architectures, tasks and evaluations keyed by (architecture
hash, task key, replicate), the first stored result of a key winning. Three implementations share the
behaviour that `tests/unit/test_stores_contract.py` pins:

- `cache.store.Cache` (its `evaluation_store`), the DuckDB file that runs write to;
- `MemoryEvaluationStore` (below), for tests and as the body of a loaded table;
- `cache.table_store.ParquetTableStore`, read-only, over a shipped table directory (an export: manifest
  plus Parquet), checked on open as an import is, so tabular mode can run on it without importing it.

The evaluator, `tabulate`, the surrogate and the reports need these operations; what is not here (raw
SQL for reports and the surrogate's training table) stays a DuckDB matter of `Cache`.

Fidelity: `lookup(arch, task, replicate, epoch=k)` is the stored learning curve at epoch k. The curve
(`EvalRecord.curve`, written by `harness.training.train_module`) holds one accuracy per training epoch,
measured after that epoch: on the validation split when the task has one, else on the test split. Epochs
count from 1, so `epoch=task.epochs` is the curve's last value (the final `val_acc` when the task has a
validation split).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from cache.errors import CacheError
from cache.records import EvalRecord

ARCHITECTURE_COLUMNS = (
    "arch_hash",
    "space",
    "space_version",
    "encoding",
    "canonical",
    "params",
    "flops",
    "space_params",
    "summary",
    "params_task_key",
    "created_at",
)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@runtime_checkable
class EvaluationStore(Protocol):
    """What the evaluator, tabulate, the surrogate and the reports need from stored evaluations."""

    @property
    def read_only(self) -> bool: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def idle(self, min_interval: float = 0.0) -> None: ...

    def put_task(self, task_key: str, name: str, spec: dict[str, Any], dataset: str) -> None: ...

    def task_keys(self, name: str | None = None) -> list[str]: ...

    def put_architecture(
        self,
        arch_hash: str,
        space: str,
        space_version: str,
        encoding: str,
        canonical: str,
        space_params: dict[str, Any],
        summary: dict[str, float] | None = None,
    ) -> None: ...

    def set_architecture_size(
        self, arch_hash: str, params: int | None, flops: int | None, task_key: str
    ) -> None: ...

    def architecture(self, arch_hash: str) -> dict[str, Any] | None: ...

    def put_evaluation(self, record: EvalRecord) -> bool: ...

    def get_evaluation(self, arch_hash: str, task_key: str, replicate: int) -> EvalRecord | None: ...

    def replicates(self, arch_hash: str, task_key: str | None = None) -> list[EvalRecord]: ...

    def evaluations_for_task(self, task_key: str) -> dict[tuple[str, int], EvalRecord]: ...

    def lookup(self, arch_hash: str, task_key: str, replicate: int, epoch: int) -> float | None: ...


def curve_value(record: EvalRecord | None, epoch: int, where: str = "") -> float | None:
    """The record's curve at `epoch` (from 1): None when nothing is stored, 0.0 for an invalid or failed
    evaluation (as `EvalRecord.metric`), CacheError for an epoch outside the stored curve."""
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise CacheError(f"epoch must be an integer >= 1 (epochs count from 1), got {epoch!r}")
    if record is None:
        return None
    if record.status != "ok":
        return 0.0
    if epoch > len(record.curve):
        raise CacheError(
            f"epoch {epoch} is past the stored curve of {record.arch_hash[:12]} replicate {record.replicate}"
            f"{where} ({len(record.curve)} epochs)"
        )
    return float(record.curve[epoch - 1])


class MemoryEvaluationStore:
    """An evaluation store in dictionaries: the DuckDB store's behaviour without a file."""

    def __init__(self, name: str = "memory", read_only: bool = False) -> None:
        self.path = name  # what messages name the store by
        self._read_only = read_only
        self._tasks: dict[str, dict[str, Any]] = {}
        self._archs: dict[str, dict[str, Any]] = {}
        self._evals: dict[tuple[str, str, int], EvalRecord] = {}
        self._depth = 0

    @property
    def read_only(self) -> bool:
        return self._read_only

    def writable(self) -> None:
        if self._read_only:
            raise CacheError(f"store {self.path} is read-only")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes inside are kept together or rolled back together (nested uses join the outer one)."""
        self.writable()
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        saved = copy.copy(self._tasks), copy.deepcopy(self._archs), copy.copy(self._evals)
        self._depth = 1
        try:
            yield
        except BaseException:
            self._tasks, self._archs, self._evals = saved
            raise
        finally:
            self._depth = 0

    def idle(self, min_interval: float = 0.0) -> None:
        """Nothing to let go of (the DuckDB store closes its file here)."""

    def close(self) -> None:
        """Nothing to close."""

    # --- tasks and architectures ---
    def put_task(self, task_key: str, name: str, spec: dict[str, Any], dataset: str) -> None:
        self.writable()
        self._tasks.setdefault(
            task_key,
            {
                "name": name,
                "spec": json.dumps(spec, sort_keys=True),
                "dataset": dataset,
                "created_at": _now(),
            },
        )

    def task_keys(self, name: str | None = None) -> list[str]:
        if name is None:
            return [k for k, _ in sorted(self._tasks.items(), key=lambda kv: (kv[1]["name"] or "", kv[0]))]
        return [k for k, row in self._tasks.items() if row["name"] == name or k == name]

    def put_architecture(
        self,
        arch_hash: str,
        space: str,
        space_version: str,
        encoding: str,
        canonical: str,
        space_params: dict[str, Any],
        summary: dict[str, float] | None = None,
    ) -> None:
        self.writable()
        row = dict.fromkeys(ARCHITECTURE_COLUMNS)
        row.update(
            arch_hash=arch_hash,
            space=space,
            space_version=space_version,
            encoding=encoding,
            canonical=canonical,
            space_params=json.dumps(space_params, sort_keys=True),
            summary=json.dumps(summary or {}, sort_keys=True),
            created_at=_now(),
        )
        self._archs.setdefault(arch_hash, row)

    def set_architecture_size(
        self, arch_hash: str, params: int | None, flops: int | None, task_key: str
    ) -> None:
        self.writable()
        row = self._archs.get(arch_hash)
        if row is not None and row["params"] is None:
            row.update(params=params, flops=flops, params_task_key=task_key)

    def architecture(self, arch_hash: str) -> dict[str, Any] | None:
        row = self._archs.get(arch_hash)
        return None if row is None else dict(row)

    # --- evaluations ---
    def put_evaluation(self, record: EvalRecord) -> bool:
        self.writable()
        key = (record.arch_hash, record.task_key, record.replicate)
        if key in self._evals:
            return False
        self._evals[key] = replace(record, curve=tuple(record.curve), created_at=record.created_at or _now())
        return True

    def get_evaluation(self, arch_hash: str, task_key: str, replicate: int) -> EvalRecord | None:
        return self._evals.get((arch_hash, task_key, replicate))

    def replicates(self, arch_hash: str, task_key: str | None = None) -> list[EvalRecord]:
        rows = [
            r for r in self._evals.values() if r.arch_hash == arch_hash and task_key in (None, r.task_key)
        ]
        return sorted(rows, key=lambda r: (r.arch_hash, r.replicate, r.task_key))

    def evaluations_for_task(self, task_key: str) -> dict[tuple[str, int], EvalRecord]:
        rows = sorted(
            (r for r in self._evals.values() if r.task_key == task_key),
            key=lambda r: (r.arch_hash, r.replicate),
        )
        return {(r.arch_hash, r.replicate): r for r in rows}

    def lookup(self, arch_hash: str, task_key: str, replicate: int, epoch: int) -> float | None:
        return curve_value(self.get_evaluation(arch_hash, task_key, replicate), epoch, f" in {self.path}")
