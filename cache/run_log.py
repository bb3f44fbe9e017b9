"""The run log: experiments, runs, their trajectories and checkpoints, apart from the evaluations.

A run's rows say what an algorithm asked and what it was told; the evaluations they point at belong to
the evaluation store (`cache.evaluation_store`), which outlives any run: `delete_run` forgets a run and
keeps every evaluation it caused. Both live in the same DuckDB file (`cache.database.Database`), so a
checkpoint and the evaluations it relies on commit in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from cache.database import Database
from cache.records import RunRecord, TrajectoryRow

RUN_COLUMNS = [f.name for f in fields(RunRecord)]
TRAJ_COLUMNS = [f.name for f in fields(TrajectoryRow)]
RUN_TABLES = (
    "trajectories",
    "generations",
    "checkpoints",
    "run_surrogates",
    "runs",
)  # what delete_run clears, in order
TRAJECTORY_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("step", pa.int32()),
        ("arch_hash", pa.string()),
        ("replicate", pa.int32()),
        ("fitness", pa.float64()),
        ("cached", pa.bool_()),
        ("sim_seconds", pa.float64()),
        ("wall_seconds", pa.float64()),
        ("generation", pa.int32()),
        ("encoding", pa.string()),
    ]
)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class RunLog:
    """The run tables of a `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put_experiment(self, experiment: str, config: str, code_version: str, hardware: str) -> None:
        self.db.writable()
        self.db.con.execute(
            "INSERT OR REPLACE INTO experiments VALUES (?, ?, ?, ?, ?)",
            [experiment, config, code_version, hardware, _now()],
        )

    def put_run(self, run: RunRecord) -> None:
        self.db.writable()
        values = asdict(run)
        self.db.con.execute(
            f"INSERT OR REPLACE INTO runs ({', '.join(RUN_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in RUN_COLUMNS)})",
            [values[c] for c in RUN_COLUMNS],
        )

    def get_run(self, run_id: str) -> RunRecord | None:
        cur = self.db.con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE run_id = ?", [run_id])
        row = cur.fetchone()
        return None if row is None else RunRecord(**dict(zip(RUN_COLUMNS, row, strict=True)))

    def runs(self, experiment: str | None = None) -> list[RunRecord]:
        sql = f"SELECT {', '.join(RUN_COLUMNS)} FROM runs"
        params: list[Any] = []
        if experiment is not None:
            sql += " WHERE experiment = ?"
            params.append(experiment)
        rows = self.db.con.execute(sql + " ORDER BY experiment, algorithm, trial", params).fetchall()
        return [RunRecord(**dict(zip(RUN_COLUMNS, r, strict=True))) for r in rows]

    def set_run_status(self, run_id: str, status: str, finished: bool = False) -> None:
        self.db.writable()
        self.db.con.execute(
            "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?",
            [status, _now() if finished else None, run_id],
        )

    def append_trajectory(self, rows: Iterable[TrajectoryRow]) -> None:
        """Insert trajectory rows in one statement (an Arrow table scan: ~100x faster than executemany)."""
        rows = list(rows)
        if not rows:
            return
        self.db.writable()
        columns = {c: [getattr(r, c) for r in rows] for c in TRAJ_COLUMNS}
        table = pa.table(columns, schema=TRAJECTORY_SCHEMA)
        con = self.db.con
        con.register("_evonas_new_trajectory", table)
        try:
            con.execute(
                f"INSERT INTO trajectories ({', '.join(TRAJ_COLUMNS)}) "
                f"SELECT {', '.join(TRAJ_COLUMNS)} FROM _evonas_new_trajectory"
            )
        finally:
            con.unregister("_evonas_new_trajectory")

    def trajectory(self, run_id: str) -> list[TrajectoryRow]:
        rows = self.db.con.execute(
            f"SELECT {', '.join(TRAJ_COLUMNS)} FROM trajectories WHERE run_id = ? ORDER BY step", [run_id]
        ).fetchall()
        return [TrajectoryRow(**dict(zip(TRAJ_COLUMNS, r, strict=True))) for r in rows]

    def truncate_trajectory(self, run_id: str, keep_steps: int) -> None:
        """Drop trajectory rows with step >= keep_steps (rows a checkpoint does not cover)."""
        self.db.writable()
        self.db.con.execute("DELETE FROM trajectories WHERE run_id = ? AND step >= ?", [run_id, keep_steps])

    def save_checkpoint(self, run_id: str, step: int, state: bytes) -> None:
        self.db.writable()
        self.db.con.execute(
            "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)", [run_id, step, state, _now()]
        )

    def load_checkpoint(self, run_id: str) -> tuple[int, bytes] | None:
        row = self.db.con.execute("SELECT step, state FROM checkpoints WHERE run_id = ?", [run_id]).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def delete_run(self, run_id: str) -> None:
        """Forget a run's trajectory and checkpoint (its evaluations stay: they belong to the cache)."""
        with self.db.transaction():
            for table in RUN_TABLES:
                self.db.con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
