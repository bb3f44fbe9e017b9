"""A read-only evaluation store over a shipped table directory (an export: `manifest.json` + Parquet).

Opening one checks it exactly as `evonas cache import` does (`cache.parquet.load_export`): every file's
sha256, row count and column schema against the manifest and this version's schema, duplicate and NULL
keys, and every check of `evonas cache verify`; a directory that fails any is refused with one line. The
checked rows are then held in memory (a `MemoryEvaluationStore` that refuses writes), so tabular mode can
run on `benchmarks/tables/<name>` without importing it into a cache file.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pyarrow as pa

from cache.evaluation_store import EVAL_COLUMNS
from cache.parquet import load_export
from cache.records import EvalRecord
from cache.stores import ARCHITECTURE_COLUMNS, MemoryEvaluationStore

log = logging.getLogger(__name__)


class ParquetTableStore(MemoryEvaluationStore):
    """The architectures, tasks and evaluations of a table directory, checked on open; read-only."""

    def __init__(self, directory: str | os.PathLike) -> None:
        super().__init__(name=str(directory), read_only=True)
        self.directory = Path(directory)
        start = time.perf_counter()
        incoming = load_export(self.directory)
        self._load(incoming.tables)
        self.manifest_rows = incoming.rows()
        log.info(
            "table %s: %d evaluations checked and loaded in %.2f s",
            self.directory,
            len(self._evals),
            time.perf_counter() - start,
        )

    def _load(self, tables: dict[str, pa.Table]) -> None:
        for row in tables["tasks"].to_pylist():
            self._tasks[row["task_key"]] = {k: row[k] for k in ("name", "spec", "dataset", "created_at")}
        for row in tables["architectures"].to_pylist():
            self._archs[row["arch_hash"]] = {c: row[c] for c in ARCHITECTURE_COLUMNS}
        for row in tables["evaluations"].to_pylist():
            row["curve"] = tuple(row["curve"] or ())
            row["predicted"] = bool(row["predicted"])
            record = EvalRecord(**{c: row[c] for c in EVAL_COLUMNS})
            self._evals[(record.arch_hash, record.task_key, record.replicate)] = record
