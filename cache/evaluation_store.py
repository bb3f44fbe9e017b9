"""The DuckDB evaluation store: architectures, tasks, evaluations and proxies of one cache file.

Keyed by (architecture hash, task key, replicate); the first stored result of a key wins. The shared
behaviour of every evaluation store (and the meaning of the per-epoch `lookup`) is in `cache.stores`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime, timezone
from typing import Any

from cache.database import Database
from cache.records import EvalRecord
from cache.stores import curve_value

EVAL_COLUMNS = [f.name for f in fields(EvalRecord)]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class DuckDBEvaluationStore:
    """The evaluation tables of a `Database` (the file and its connection belong to the database)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def read_only(self) -> bool:
        return self.db.read_only

    @property
    def path(self) -> Any:
        return self.db.path

    def transaction(self) -> Any:
        return self.db.transaction()

    def idle(self, min_interval: float = 0.0) -> None:
        self.db.idle(min_interval)

    # --- architectures and tasks ---
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
        self.db.writable()
        self.db.con.execute(
            "INSERT OR IGNORE INTO architectures (arch_hash, space, space_version, encoding, canonical, "
            "space_params, summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                arch_hash,
                space,
                space_version,
                encoding,
                canonical,
                json.dumps(space_params, sort_keys=True),
                json.dumps(summary or {}, sort_keys=True),
                _now(),
            ],
        )

    def set_architecture_size(
        self, arch_hash: str, params: int | None, flops: int | None, task_key: str
    ) -> None:
        """Record parameters and FLOPs the first time they are measured (for the task that measured them)."""
        self.db.writable()
        self.db.con.execute(
            "UPDATE architectures SET params = ?, flops = ?, params_task_key = ? "
            "WHERE arch_hash = ? AND params IS NULL",
            [params, flops, task_key, arch_hash],
        )

    def put_task(self, task_key: str, name: str, spec: dict[str, Any], dataset: str) -> None:
        self.db.writable()
        self.db.con.execute(
            "INSERT OR IGNORE INTO tasks VALUES (?, ?, ?, ?, ?)",
            [task_key, name, json.dumps(spec, sort_keys=True), dataset, _now()],
        )

    def architecture(self, arch_hash: str) -> dict[str, Any] | None:
        cur = self.db.con.execute("SELECT * FROM architectures WHERE arch_hash = ?", [arch_hash])
        row = cur.fetchone()
        return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))

    def task_keys(self, name: str | None = None) -> list[str]:
        con = self.db.con
        if name is None:
            return [
                r[0] for r in con.execute("SELECT task_key FROM tasks ORDER BY name, task_key").fetchall()
            ]
        rows = con.execute("SELECT task_key FROM tasks WHERE name = ? OR task_key = ?", [name, name])
        return [r[0] for r in rows.fetchall()]

    # --- evaluations ---
    def put_evaluation(self, record: EvalRecord) -> bool:
        """Store one evaluation; the first stored result of a (hash, task, replicate) wins. True if new."""
        self.db.writable()
        values = asdict(record)
        values["curve"] = list(record.curve)
        values["created_at"] = record.created_at or _now()
        placeholders = ", ".join("?" for _ in EVAL_COLUMNS)
        inserted = self.db.con.execute(
            f"INSERT INTO evaluations ({', '.join(EVAL_COLUMNS)}) VALUES ({placeholders}) "
            "ON CONFLICT DO NOTHING RETURNING replicate",
            [values[c] for c in EVAL_COLUMNS],
        ).fetchall()
        return bool(inserted)

    def _eval_rows(self, where: str, params: Sequence[Any]) -> list[EvalRecord]:
        cur = self.db.con.execute(
            f"SELECT {', '.join(EVAL_COLUMNS)} FROM evaluations WHERE {where} "
            "ORDER BY arch_hash, replicate, task_key",
            list(params),
        )
        out = []
        for row in cur.fetchall():
            values = dict(zip(EVAL_COLUMNS, row, strict=True))
            values["curve"] = tuple(values["curve"] or ())
            values["predicted"] = bool(values["predicted"])
            out.append(EvalRecord(**values))
        return out

    def get_evaluation(self, arch_hash: str, task_key: str, replicate: int) -> EvalRecord | None:
        rows = self._eval_rows(
            "arch_hash = ? AND task_key = ? AND replicate = ?", [arch_hash, task_key, replicate]
        )
        return rows[0] if rows else None

    def replicates(self, arch_hash: str, task_key: str | None = None) -> list[EvalRecord]:
        if task_key is None:
            return self._eval_rows("arch_hash = ?", [arch_hash])
        return self._eval_rows("arch_hash = ? AND task_key = ?", [arch_hash, task_key])

    def evaluations_for_task(self, task_key: str) -> dict[tuple[str, int], EvalRecord]:
        """Every stored evaluation of a task, keyed by (arch hash, replicate): one query for a warm run."""
        return {(r.arch_hash, r.replicate): r for r in self._eval_rows("task_key = ?", [task_key])}

    def lookup(self, arch_hash: str, task_key: str, replicate: int, epoch: int) -> float | None:
        """The stored curve at `epoch` (from 1; see `cache.stores` for what the curve holds)."""
        record = self.get_evaluation(arch_hash, task_key, replicate)
        return curve_value(record, epoch, f" in {self.db.path}")

    # --- proxies ---
    def put_proxy(self, arch_hash: str, task_key: str, proxy: str, value: float, seconds: float) -> None:
        self.db.writable()
        self.db.con.execute(
            "INSERT OR IGNORE INTO proxies VALUES (?, ?, ?, ?, ?)",
            [arch_hash, task_key, proxy, value, seconds],
        )
