"""Parquet export/import of a cache: one file per table, a manifest, and a lossless round trip.

Exported directories double as a tabular benchmark that anyone can read with pyarrow/pandas/DuckDB without
evonas. Import merges: rows whose primary key is already present are kept as they are (first write wins),
so importing the same export twice changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from cache.store import SCHEMA_VERSION, TABLES, Cache
from harness.errors import CacheError

EXPORTED = tuple(t for t in TABLES if t != "meta")
MANIFEST = "manifest.json"


def export_parquet(cache: Cache, directory: str | Path) -> dict[str, int]:
    """Write every table to `directory/<table>.parquet` (sorted by primary key) plus a manifest."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    order = {
        "architectures": "arch_hash",
        "tasks": "task_key",
        "evaluations": "arch_hash, task_key, replicate",
        "proxies": "arch_hash, task_key, proxy",
        "runs": "run_id",
        "trajectories": "run_id, step",
        "checkpoints": "run_id",
        "experiments": "experiment",
    }
    for table in EXPORTED:
        target = out / f"{table}.parquet"
        tmp = out / f".{table}.parquet.tmp"
        cache.con.execute(
            f"COPY (SELECT * FROM {table} ORDER BY {order[table]}) TO '{_sql_path(tmp)}' (FORMAT parquet)"
        )
        tmp.replace(target)
        counts[table] = int(cache.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    (out / MANIFEST).write_text(
        json.dumps({"format": "evonas-cache", "schema_version": SCHEMA_VERSION, "rows": counts}, indent=2)
    )
    return counts


def import_parquet(cache: Cache, directory: str | Path) -> dict[str, int]:
    """Merge an export into `cache` in one transaction; returns the number of new rows per table."""
    src = Path(directory)
    manifest_path = src / MANIFEST
    if not manifest_path.exists():
        raise CacheError(f"{src} is not an evonas export (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise CacheError(f"{manifest_path} is not valid JSON: {exc}") from exc
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise CacheError(f"export schema {manifest.get('schema_version')} != cache schema {SCHEMA_VERSION}")
    added: dict[str, int] = {}
    try:
        with cache.transaction():
            for table in EXPORTED:
                path = src / f"{table}.parquet"
                if not path.exists():
                    raise CacheError(f"export {src} lacks {path.name}")
                before = cache.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                columns = [r[0] for r in cache.con.execute(f"DESCRIBE {table}").fetchall()]
                select = ", ".join(columns)
                cache.con.execute(
                    f"INSERT OR IGNORE INTO {table} ({select}) "
                    f"SELECT {select} FROM read_parquet('{_sql_path(path)}')"
                )
                added[table] = int(cache.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] - before)
    except duckdb.Error as exc:
        raise CacheError(
            f"import from {src} failed, nothing was changed: {str(exc).splitlines()[0]}"
        ) from exc
    return added


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
