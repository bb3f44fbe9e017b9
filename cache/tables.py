"""What an export holds, derived from the cache's own DDL: tables, primary keys and column types.

The DDL in `cache.schema.SCHEMA` is the single source: an in-memory DuckDB built from it answers which
columns (and DuckDB types) every table has and which columns form its primary key, so an export written by
this version and an import checked by it agree by construction, and a table added to the schema is
exported without touching this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import duckdb

from cache.schema import SCHEMA, TABLES

# checkpoints belong to a run in progress on one machine; surrogate models and their answers are derived
# from a table (refitted from it), not measurements
NOT_EXPORTED = ("meta", "checkpoints", "surrogates", "predictions", "run_surrogates")
EXPORTED = tuple(t for t in TABLES if t not in NOT_EXPORTED)
# tables added after exports were first shipped (benchmarks/tables/): an export without one reads as empty
ADDED_LATER = ("generations",)


@dataclass(frozen=True)
class TableInfo:
    """One exported table: its columns as (name, DuckDB type), in DDL order, and its primary key."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @property
    def file(self) -> str:
        return f"{self.name}.parquet"


def staging_database() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with the cache schema (no meta row): where imports are checked first."""
    con = duckdb.connect(":memory:")
    for statement in SCHEMA:
        con.execute(statement)
    return con


@lru_cache(maxsize=1)
def table_infos() -> tuple[TableInfo, ...]:
    """Every exported table, in export order (referenced tables first)."""
    con = staging_database()
    try:
        keys = {
            name: tuple(columns)
            for name, columns in con.execute(
                "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                "WHERE constraint_type = 'PRIMARY KEY'"
            ).fetchall()
        }
        infos = []
        for table in EXPORTED:
            columns = tuple((r[0], r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall())
            if table not in keys:
                raise RuntimeError(f"table {table} has no primary key: it cannot be merged by key")
            infos.append(TableInfo(table, columns, keys[table]))
        return tuple(infos)
    finally:
        con.close()


def table_info(name: str) -> TableInfo:
    for info in table_infos():
        if info.name == name:
            return info
    raise KeyError(name)
