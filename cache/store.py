"""The DuckDB evaluation cache: every network ever trained, keyed by (architecture hash, task, replicate).

The schema (`cache.schema`, docs/design.md 'Cache') is a public interface: users query it with DuckDB and
outside checks read it. Tables are only ever extended; a file of an older schema version is upgraded on
open. One process writes (the driver of a run); readers open the file read-only. Every multi-row write
is one transaction, so an interrupted process leaves either all of a write or none of it.

`Cache` is a facade over one file (`cache.database.Database`: connection, waiting, transactions) and the
two stores in it: `evaluation_store` (`cache.evaluation_store`: architectures, tasks, evaluations,
proxies; the `cache.stores.EvaluationStore` protocol) and `run_log` (`cache.run_log`: experiments, runs,
trajectories, checkpoints). Its methods keep the names callers have always used.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cache.base import VERSION
from cache.database import READER_WINDOW, Database
from cache.evaluation_store import EVAL_COLUMNS, DuckDBEvaluationStore
from cache.records import EvalRecord, RunRecord, TrajectoryRow
from cache.run_log import RunLog
from cache.schema import SCHEMA, SCHEMA_VERSION, TABLES
from cache.stores import EvaluationStore

log = logging.getLogger(__name__)

__all__ = ["READER_WINDOW", "SCHEMA", "SCHEMA_VERSION", "TABLES", "Cache", "default_cache_path", "now"]

DEFAULT_CACHE = "evonas.duckdb"
HOLD_INTERVAL = 2.0  # a writer in a fast loop lets go of the file about this often (seconds)
SLOW_RESULT = 0.25  # results further apart than this (seconds): let go of the file after each one

_EVAL_COLUMNS = EVAL_COLUMNS


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def library_versions() -> str:
    """JSON of the versions that can change a training result."""
    import numpy
    import torch

    return json.dumps(
        {
            "evonas": VERSION,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "cuda": torch.version.cuda,
        },
        sort_keys=True,
    )


def default_cache_path(explicit: str | os.PathLike | None = None) -> Path:
    """--cache PATH, else $EVONAS_CACHE, else evonas.duckdb in the working directory."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("EVONAS_CACHE") or DEFAULT_CACHE)


class Cache(Database):
    """A DuckDB evaluation cache. Use as a context manager, or call `close()`.

    The file is held only while it is used (`idle()`, see `cache.database`), so readers work during a
    run. `table`, when attached (`attach_table`), is a read-only evaluation store (a shipped table
    directory) that tabular mode answers from instead of this file's evaluations; runs still go to the
    file's run log.
    """

    def __init__(
        self, path: str | os.PathLike, read_only: bool = False, lock_timeout: float | None = None
    ) -> None:
        super().__init__(path, read_only, lock_timeout)
        self.evaluation_store = DuckDBEvaluationStore(self)
        self.run_log = RunLog(self)
        self.table: EvaluationStore | None = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def attach_table(self, table: EvaluationStore | str | os.PathLike) -> EvaluationStore:
        """Answer tabular lookups from `table` (a store, or a table directory opened and checked here)."""
        if not isinstance(table, EvaluationStore):
            from cache.table_store import ParquetTableStore

            table = ParquetTableStore(table)
        self.table = table
        return table

    # --- architectures and tasks (the evaluation store) ---
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
        self.evaluation_store.put_architecture(
            arch_hash, space, space_version, encoding, canonical, space_params, summary
        )

    def set_architecture_size(
        self, arch_hash: str, params: int | None, flops: int | None, task_key: str
    ) -> None:
        self.evaluation_store.set_architecture_size(arch_hash, params, flops, task_key)

    def put_task(self, task_key: str, name: str, spec: dict[str, Any], dataset: str) -> None:
        self.evaluation_store.put_task(task_key, name, spec, dataset)

    def architecture(self, arch_hash: str) -> dict[str, Any] | None:
        return self.evaluation_store.architecture(arch_hash)

    def task_keys(self, name: str | None = None) -> list[str]:
        return self.evaluation_store.task_keys(name)

    # --- evaluations and proxies (the evaluation store) ---
    def put_evaluation(self, record: EvalRecord) -> bool:
        return self.evaluation_store.put_evaluation(record)

    def get_evaluation(self, arch_hash: str, task_key: str, replicate: int) -> EvalRecord | None:
        return self.evaluation_store.get_evaluation(arch_hash, task_key, replicate)

    def replicates(self, arch_hash: str, task_key: str | None = None) -> list[EvalRecord]:
        return self.evaluation_store.replicates(arch_hash, task_key)

    def evaluations_for_task(self, task_key: str) -> dict[tuple[str, int], EvalRecord]:
        return self.evaluation_store.evaluations_for_task(task_key)

    def lookup(self, arch_hash: str, task_key: str, replicate: int, epoch: int) -> float | None:
        return self.evaluation_store.lookup(arch_hash, task_key, replicate, epoch)

    def put_proxy(self, arch_hash: str, task_key: str, proxy: str, value: float, seconds: float) -> None:
        self.evaluation_store.put_proxy(arch_hash, task_key, proxy, value, seconds)

    # --- experiments, runs, trajectories, checkpoints (the run log) ---
    def put_experiment(self, experiment: str, config: str, code_version: str, hardware: str) -> None:
        self.run_log.put_experiment(experiment, config, code_version, hardware)

    def put_run(self, run: RunRecord) -> None:
        self.run_log.put_run(run)

    def get_run(self, run_id: str) -> RunRecord | None:
        return self.run_log.get_run(run_id)

    def runs(self, experiment: str | None = None) -> list[RunRecord]:
        return self.run_log.runs(experiment)

    def set_run_status(self, run_id: str, status: str, finished: bool = False) -> None:
        self.run_log.set_run_status(run_id, status, finished)

    def append_trajectory(self, rows: Iterable[TrajectoryRow]) -> None:
        self.run_log.append_trajectory(rows)

    def trajectory(self, run_id: str) -> list[TrajectoryRow]:
        return self.run_log.trajectory(run_id)

    def truncate_trajectory(self, run_id: str, keep_steps: int) -> None:
        self.run_log.truncate_trajectory(run_id, keep_steps)

    def save_checkpoint(self, run_id: str, step: int, state: bytes) -> None:
        self.run_log.save_checkpoint(run_id, step, state)

    def load_checkpoint(self, run_id: str) -> tuple[int, bytes] | None:
        return self.run_log.load_checkpoint(run_id)

    def delete_run(self, run_id: str) -> None:
        self.run_log.delete_run(run_id)

    # --- summaries ---
    def stats(self) -> dict[str, Any]:
        """Counts per table, per space and task, and the stored training time."""
        counts = {t: self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        per_task = self.con.execute(
            """SELECT a.space, t.name, e.task_key, count(*) AS evaluations,
                      count(DISTINCT e.arch_hash) AS architectures,
                      sum(CASE WHEN e.status = 'ok' THEN 1 ELSE 0 END) AS ok,
                      sum(e.train_seconds) AS train_seconds,
                      max(e.val_acc) AS best_val, max(e.test_acc) AS best_test
               FROM evaluations e JOIN architectures a USING (arch_hash) LEFT JOIN tasks t USING (task_key)
               GROUP BY ALL ORDER BY a.space, t.name"""
        ).fetchall()
        columns = [
            "space",
            "task",
            "task_key",
            "evaluations",
            "architectures",
            "ok",
            "train_seconds",
            "best_val",
            "best_test",
        ]
        traj = self.con.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN cached THEN 1 ELSE 0 END), 0) FROM trajectories"
        ).fetchone()
        return {
            "path": str(self.path),
            "tables": counts,
            "per_task": [dict(zip(columns, r, strict=True)) for r in per_task],
            "queries": int(traj[0]),
            "cache_hits": int(traj[1]),
        }
