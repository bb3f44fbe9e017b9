"""Merging checked incoming rows (an export that passed `cache.parquet.load_export`) into a cache.

Keys not yet stored are inserted; keys stored with the same values change nothing (a re-import is a no-op);
keys stored with different values are conflicts. `on_conflict`:

- `error` (default): refuse the whole import, naming the first conflicting key and the count;
- `skip`: keep every stored row, import the rest. A run whose trajectory (or runs row) conflicts, or whose
  fitness came from an evaluation that was kept as stored, is left out as a whole, so the merged cache
  never pairs a trajectory with an evaluation it was not computed from;
- `report`: a dry run that lists the conflicts and what would be imported, changing nothing.

"Different values" means any column but the time a row was stored (`created_at`, `updated_at`), with two
exceptions where two honest caches legitimately differ: an architecture is the same when its identity
(space, version, canonical form, space parameters) is, whatever isomorphic string (`encoding`) first
named it, and its size counts only where both sides measured it for the same task (a stored NULL size is
filled in from the import, as the first measurement would have); a task is its spec, its name a label.
Everything is written in one transaction: a failed import leaves the target exactly as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cache.errors import CacheError
from cache.tables import TableInfo, table_info, table_infos

log = logging.getLogger(__name__)

ON_CONFLICT = ("error", "skip", "report")
NOT_COMPARED = {
    "architectures": ("encoding", "summary", "created_at", "params", "flops", "params_task_key"),
    "tasks": ("name", "created_at"),
    "evaluations": ("created_at",),
    "experiments": ("updated_at",),
}
SIZE_DIFFERS = (
    "CASE WHEN i.params_task_key IS NOT DISTINCT FROM s.params_task_key AND i.params IS NOT NULL "
    "AND s.params IS NOT NULL AND (i.params IS DISTINCT FROM s.params OR i.flops IS DISTINCT FROM s.flops) "
    "THEN 'params/flops' END"
)
RUN_TABLES = ("runs", "trajectories", "generations")  # a run and its run log come in or stay out together
LEFT_OUT = "_evonas_left_out_runs"


def incoming_view(table: str) -> str:
    return f"_evonas_in_{table}"


@dataclass(frozen=True)
class Conflict:
    """A key stored in the target with other values than the import's (`columns` names which)."""

    table: str
    key: tuple[Any, ...]
    columns: str

    def describe(self) -> str:
        return f"{self.table} ({', '.join(str(v) for v in self.key)}) differs in {self.columns}"


@dataclass(frozen=True)
class ImportResult:
    """What an import added (or, in a dry run, would add), its conflicts and what it left out."""

    added: dict[str, int]
    conflicts: tuple[Conflict, ...] = ()
    left_out: dict[str, int] | None = None  # new rows of runs left out with a conflict (skip / report)
    sizes_filled: int = 0
    dry_run: bool = False

    def conflict_counts(self) -> dict[str, int]:
        return _counts(self.conflicts)

    def lines(self, source: str | Path, listed: int = 50) -> list[str]:
        """What `evonas cache import` prints."""
        added = ", ".join(f"{k} +{v}" for k, v in self.added.items())
        left = {k: v for k, v in (self.left_out or {}).items() if v}
        kept = ", ".join(f"{t} {n}" for t, n in self.conflict_counts().items())
        if not self.dry_run:
            out = [f"imported from {source}: {added}"]
            if self.conflicts:
                out.append(f"kept {len(self.conflicts)} stored row(s) that differ from the import ({kept})")
            if left:
                out.append(f"left out runs that depend on them: {_listing(left)}")
            return out
        out = [f"dry run, nothing changed: importing {source} would add {added}"]
        out.append(f"{len(self.conflicts)} conflict(s)" + (f" ({kept}):" if self.conflicts else ""))
        out += [f"  {c.describe()}" for c in self.conflicts[:listed]]
        if len(self.conflicts) > listed:
            out.append(f"  ... and {len(self.conflicts) - listed} more")
        if left:
            out.append(
                f"with --on-conflict skip, runs that depend on them would be left out: {_listing(left)}"
            )
        return out


def merge_export(
    con: duckdb.DuckDBPyConnection,
    tables: Mapping[str, pa.Table],
    on_conflict: str = "error",
    read_only: bool = False,
    source: str | Path = "the export",
) -> ImportResult:
    """Merge checked incoming tables into the database behind `con` (see the module docstring)."""
    if on_conflict not in ON_CONFLICT:
        raise CacheError(f"on_conflict {on_conflict!r} not in {ON_CONFLICT}")
    if read_only and on_conflict != "report":
        raise CacheError("the target cache was opened read-only: only --on-conflict report can run")
    cursor = con.cursor()  # a connection of its own: its views and its transaction are private to it
    try:
        for info in table_infos():
            cursor.register(incoming_view(info.name), tables[info.name])
        result = _merge(cursor, on_conflict, source)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise CacheError(f"import from {source} failed, nothing was changed: {first}") from exc
    finally:
        cursor.close()
    log.info("import from %s: added %s, %d conflict(s)", source, result.added, len(result.conflicts))
    return result


def _merge(con: duckdb.DuckDBPyConnection, on_conflict: str, source: str | Path) -> ImportResult:
    conflicts = find_conflicts(con)
    if conflicts and on_conflict == "error":
        raise CacheError(_refusal(conflicts, source))
    left_out_runs = sorted(_runs_left_out(con, conflicts))
    con.register(LEFT_OUT, pa.table({"run_id": pa.array(left_out_runs, pa.string())}))
    added = {info.name: _count(con, info, left_out=False) for info in table_infos()}
    left_out = {t: _count(con, table_info(t), left_out=True) for t in RUN_TABLES}
    if on_conflict == "report":
        return ImportResult(added, tuple(conflicts), left_out, dry_run=True)
    filled = _write(con)
    return ImportResult(added, tuple(conflicts), left_out, filled)


def find_conflicts(con: duckdb.DuckDBPyConnection) -> list[Conflict]:
    """Every incoming key stored with different values, table by table (registered incoming views)."""
    out: list[Conflict] = []
    for info in table_infos():
        out += _conflicts(con, info)
    return out


def _conflicts(con: duckdb.DuckDBPyConnection, info: TableInfo) -> list[Conflict]:
    skip = set(info.key) | set(NOT_COMPARED.get(info.name, ()))
    compared = [c for c in info.column_names if c not in skip]
    diffs = [f"CASE WHEN i.{c} IS DISTINCT FROM s.{c} THEN '{c}' END" for c in compared]
    if info.name == "architectures":
        diffs.append(SIZE_DIFFERS)
    keys = ", ".join(f"i.{k}" for k in info.key)
    rows = con.execute(
        f"SELECT * FROM (SELECT {keys}, concat_ws(', ', {', '.join(diffs)}) AS differs "
        f"FROM {incoming_view(info.name)} i JOIN {info.name} s ON {_same_key(info)}) "
        "WHERE differs <> '' ORDER BY ALL"
    ).fetchall()
    return [Conflict(info.name, tuple(r[:-1]), r[-1]) for r in rows]


def _runs_left_out(con: duckdb.DuckDBPyConnection, conflicts: Sequence[Conflict]) -> set[str]:
    """Runs whose runs row or trajectory conflicts, or whose fitness came from a conflicting evaluation."""
    runs = {c.key[0] for c in conflicts if c.table in RUN_TABLES}
    evaluations = [c.key for c in conflicts if c.table == "evaluations"]
    if not evaluations:
        return runs
    keys = pa.table(
        {
            "arch_hash": pa.array([k[0] for k in evaluations], pa.string()),
            "task_key": pa.array([k[1] for k in evaluations], pa.string()),
            "replicate": pa.array([k[2] for k in evaluations], pa.int32()),
        }
    )
    con.register("_evonas_conflicting_evaluations", keys)
    try:
        rows = con.execute(
            f"SELECT DISTINCT t.run_id FROM {incoming_view('trajectories')} t "
            f"JOIN {incoming_view('runs')} r USING (run_id) JOIN _evonas_conflicting_evaluations c "
            "ON c.arch_hash = t.arch_hash AND c.task_key = r.task_key AND c.replicate = t.replicate"
        ).fetchall()
    finally:
        con.unregister("_evonas_conflicting_evaluations")
    return runs | {r[0] for r in rows}


def _same_key(info: TableInfo, stored: str = "s", incoming: str = "i") -> str:
    return " AND ".join(f"{stored}.{k} = {incoming}.{k}" for k in info.key)


def _new_rows(info: TableInfo, left_out: bool) -> str:
    """FROM/WHERE of the incoming rows not stored yet (those kept or, with left_out, those left out)."""
    sql = (
        f"FROM {incoming_view(info.name)} i "
        f"WHERE NOT EXISTS (SELECT 1 FROM {info.name} s WHERE {_same_key(info)})"
    )
    if info.name in RUN_TABLES:
        sql += f" AND i.run_id {'' if left_out else 'NOT '}IN (SELECT run_id FROM {LEFT_OUT})"
    elif left_out:
        sql += " AND false"
    return sql


def _count(con: duckdb.DuckDBPyConnection, info: TableInfo, left_out: bool) -> int:
    return int(con.execute(f"SELECT count(*) {_new_rows(info, left_out)}").fetchone()[0])


def _write(con: duckdb.DuckDBPyConnection) -> int:
    """Insert every new row and fill stored NULL sizes, in one transaction; the number of sizes filled."""
    con.execute("BEGIN TRANSACTION")
    try:
        for info in table_infos():
            columns = ", ".join(info.column_names)
            selected = ", ".join(f"i.{c}" for c in info.column_names)
            con.execute(f"INSERT INTO {info.name} ({columns}) SELECT {selected} {_new_rows(info, False)}")
        filled = _fill_sizes(con)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return filled


def _fill_sizes(con: duckdb.DuckDBPyConnection) -> int:
    """Stored architectures without a size get the import's, where the evaluation it came from is stored."""
    row = con.execute(
        f"UPDATE architectures SET params = i.params, flops = i.flops, params_task_key = i.params_task_key "
        f"FROM {incoming_view('architectures')} i "
        "WHERE architectures.arch_hash = i.arch_hash AND architectures.params IS NULL "
        "AND i.params IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM evaluations e WHERE e.arch_hash = i.arch_hash "
        "AND e.task_key = i.params_task_key AND e.status = 'ok' AND e.params = i.params)"
    ).fetchone()
    return int(row[0]) if row else 0


def _counts(conflicts: Sequence[Conflict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for conflict in conflicts:
        counts[conflict.table] = counts.get(conflict.table, 0) + 1
    return counts


def _listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{t} {n}" for t, n in counts.items())


def _refusal(conflicts: Sequence[Conflict], source: str | Path) -> str:
    per_table = _listing(_counts(conflicts))
    return (
        f"import from {source} refused: {len(conflicts)} key(s) are already stored with different values "
        f"({per_table}); first: {conflicts[0].describe()}; pass --on-conflict skip to keep the stored rows "
        "and import the rest, or --on-conflict report to list them"
    )
