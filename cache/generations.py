"""The run log's `generations` table: each generation of a generational run, as its algorithm saw it.

A row is one member of one generation in one role (see `algorithms.base.GenerationEntry`): the Genetic CNN
GA's individuals with their mean-over-occurrences fitness ("member"), DE's evaluated children ("child")
and the survivors of its selection, best score first ("survivor"). The runner writes a generation's rows
in the transaction that writes the trajectory row completing it (with the run's checkpoint), so a killed
run never holds a generation its checkpoint does not, and drops rows past the checkpoint on resume, as it
does with trajectory rows. Reports read selections and fitness from here instead of replaying algorithms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import pyarrow as pa

from cache.store import Cache

TABLE = "generations"


@dataclass(frozen=True)
class GenerationRow:
    """One row of the `generations` table (`step`: the trajectory step that completed the generation)."""

    run_id: str
    generation: int
    role: str
    member: int
    step: int
    arch_hash: str
    replicate: int
    encoding: str | None
    fitness: float | None
    params: int | None = None
    score: float | None = None


COLUMNS = tuple(f.name for f in fields(GenerationRow))
_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("generation", pa.int32()),
        ("role", pa.string()),
        ("member", pa.int32()),
        ("step", pa.int32()),
        ("arch_hash", pa.string()),
        ("replicate", pa.int32()),
        ("encoding", pa.string()),
        ("fitness", pa.float64()),
        ("params", pa.int64()),
        ("score", pa.float64()),
    ]
)


def append_generations(cache: Cache, rows: Iterable[GenerationRow]) -> None:
    """Insert rows in one statement (inside the caller's transaction, if any)."""
    rows = list(rows)
    if not rows:
        return
    table = pa.table({c: [getattr(r, c) for r in rows] for c in COLUMNS}, schema=_SCHEMA)
    cache.con.register("_evonas_new_generations", table)
    try:
        names = ", ".join(COLUMNS)
        cache.execute(f"INSERT INTO {TABLE} ({names}) SELECT {names} FROM _evonas_new_generations")
    finally:
        cache.con.unregister("_evonas_new_generations")


def truncate_generations(cache: Cache, run_id: str, keep_steps: int) -> None:
    """Drop the generations completed at step >= keep_steps (those a checkpoint does not cover)."""
    cache.execute(f"DELETE FROM {TABLE} WHERE run_id = ? AND step >= ?", [run_id, keep_steps])


def has_table(cache: Cache) -> bool:
    """False for a read-only cache written before the table existed."""
    found = cache.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TABLE]
    ).fetchone()
    return bool(found and found[0])


def generations(cache: Cache, run_ids: Iterable[str] | None = None) -> dict[str, list[GenerationRow]]:
    """The rows of the given runs (all when None) by run id, ordered by generation, role and member."""
    if not has_table(cache):
        return {}
    sql = f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"
    params: list[str] = []
    if run_ids is not None:
        params = list(run_ids)
        if not params:
            return {}
        sql += f" WHERE run_id IN ({', '.join('?' for _ in params)})"
    out: dict[str, list[GenerationRow]] = {}
    for values in cache.execute(sql + " ORDER BY run_id, generation, role, member", params).fetchall():
        row = GenerationRow(**dict(zip(COLUMNS, values, strict=True)))
        out.setdefault(row.run_id, []).append(row)
    return out
