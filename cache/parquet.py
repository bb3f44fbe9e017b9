"""Parquet export/import of a cache: one file per table, a manifest of digests, and a checked import.

Exported directories double as a tabular benchmark that anyone can read with pyarrow/pandas/DuckDB without
evonas. `manifest.json` names every file with its sha256, its row count and its column schema (names and
DuckDB types). Checkpoints are not exported: they belong to a run in progress on one machine.

An import trusts nothing it reads. `load_export` refuses a file whose digest, row count or schema differs
from the manifest (or from this version's schema), a key present twice in a file, and rows that fail any
check of `evonas cache verify` (hashes, seeds, status/metric consistency, trajectory fitness, references),
all in a private in-memory DuckDB before the target is touched. `cache.merge` then merges the checked rows
into the target in one transaction. The digests catch damage and accidental edits, not a forger who
rewrites the manifest too: that is what the derived-fact checks and `cache verify --retrain` are for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cache.errors import CacheError
from cache.merge import ImportResult, merge_export
from cache.store import SCHEMA_VERSION, Cache
from cache.tables import ADDED_LATER, NOT_EXPORTED, TableInfo, staging_database, table_infos
from cache.verify import verify

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "evonas-cache"
FORMAT_VERSION = 2  # 1: no digests (never released); 2: sha256, rows and columns per file
# schema versions whose exports this version reads: 2 added only tables that are not exported
READABLE_SCHEMAS = ("1", "2", SCHEMA_VERSION)
REEXPORT = (
    "exports without per-file digests are not accepted (there are no users of that format yet): "
    "re-export with this version"
)


@dataclass(frozen=True)
class IncomingExport:
    """An export that passed every check that needs no target: its tables as Arrow, keyed by table name."""

    directory: Path
    tables: dict[str, pa.Table]

    def rows(self) -> dict[str, int]:
        return {name: table.num_rows for name, table in self.tables.items()}


# --- export ---
def export_parquet(cache: Cache, directory: str | Path) -> dict[str, int]:
    """Write every exported table to `directory/<table>.parquet` (sorted by primary key), manifest last.

    The old manifest is removed first and the new one is written (atomically) only after every file is
    in place, so a directory with a manifest always holds a complete, consistent export.
    """
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / MANIFEST).unlink(missing_ok=True)
    except OSError as exc:
        raise CacheError(f"cannot write the export to {out}: {exc}") from exc
    temporary = {info.name: out / f".{info.file}.tmp" for info in table_infos()}
    try:
        _copy_tables(cache, temporary)
        entries = {info.name: _entry(info, temporary[info.name]) for info in table_infos()}
        for info in table_infos():
            temporary[info.name].replace(out / info.file)
        for table in NOT_EXPORTED:  # left by an older export: not part of this one
            (out / f"{table}.parquet").unlink(missing_ok=True)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "schema_version": SCHEMA_VERSION,
            "tables": entries,
        }
        _write_atomically(out / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise CacheError(f"cannot write the export to {out}: {exc}") from exc
    finally:
        for path in temporary.values():
            path.unlink(missing_ok=True)
    log.info("exported %s to %s", cache.path, out)
    return {name: entry["rows"] for name, entry in entries.items()}


def _copy_tables(cache: Cache, targets: dict[str, Path]) -> None:
    """COPY every table inside one read transaction: the files are one consistent snapshot."""
    try:
        con = cache.con.cursor()  # a connection of its own, for the transaction
        try:
            con.execute("BEGIN TRANSACTION")
            for info in table_infos():
                order = ", ".join(info.key)
                con.execute(
                    f"COPY (SELECT {', '.join(info.column_names)} FROM {info.name} ORDER BY {order}) "
                    f"TO '{_sql_path(targets[info.name])}' (FORMAT parquet)"
                )
        finally:
            con.close()  # ends the read transaction
    except duckdb.Error as exc:
        raise CacheError(f"export of {cache.path} failed: {str(exc).splitlines()[0]}") from exc


def _entry(info: TableInfo, path: Path) -> dict[str, Any]:
    return {
        "file": info.file,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": pq.read_metadata(path).num_rows,
        "columns": [[name, kind] for name, kind in info.columns],
    }


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


# --- import ---
def import_parquet(cache: Cache, directory: str | Path, on_conflict: str = "error") -> ImportResult:
    """Check an export (`load_export`), then merge it into `cache` in one transaction (`merge_export`)."""
    incoming = load_export(directory)
    return merge_export(cache.con, incoming.tables, on_conflict, read_only=cache.read_only, source=directory)


def import_into(path: Path, directory: str | Path, on_conflict: str = "error") -> ImportResult:
    """`evonas cache import`: check the export before the target is opened, then merge.

    A target file that did not exist is created only once the export passed every check, and removed
    again if the merge fails; a dry run (`report`) never creates or changes it.
    """
    incoming = load_export(directory)
    existed = path.exists()
    if on_conflict == "report":
        if not existed:  # nothing stored: compare against an empty cache
            empty = staging_database()
            try:
                return merge_export(empty, incoming.tables, "report", source=directory)
            finally:
                empty.close()
        with Cache(path, read_only=True) as cache:
            return merge_export(cache.con, incoming.tables, "report", read_only=True, source=directory)
    try:
        with Cache(path) as cache:
            return merge_export(cache.con, incoming.tables, on_conflict, source=directory)
    except BaseException:
        if not existed:
            for leftover in (path, path.with_name(path.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise


def load_export(directory: str | Path) -> IncomingExport:
    """Read and check every file of an export; raise CacheError (one line naming the file) on any doubt."""
    src = Path(directory)
    manifest = read_manifest(src)
    stage = staging_database()
    try:
        tables = {
            info.name: _read_table(src, info, manifest["tables"][info.name])
            if info.name in manifest["tables"]
            else stage.sql(f"SELECT * FROM {info.name} LIMIT 0").to_arrow_table()  # added later
            for info in table_infos()
        }
        for info in table_infos():
            _stage_table(stage, src, info, tables[info.name])
        problems = verify(stage)
    finally:
        stage.close()
    if problems:
        for problem in problems[:50]:
            log.info("import check: %s", problem)
        raise CacheError(
            f"import from {src} refused: its rows fail {len(problems)} check(s) of `evonas cache verify`; "
            f"first: {problems[0]}"
        )
    return IncomingExport(src, tables)


def read_manifest(src: Path) -> dict[str, Any]:
    """The manifest of `src`, checked for format, schema version and one complete entry per table."""
    path = src / MANIFEST
    if not path.is_file():
        raise CacheError(f"{src} is not an evonas export (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CacheError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise CacheError(f"{path} is not an evonas manifest (not a JSON object)")
    if manifest.get("schema_version") not in READABLE_SCHEMAS:
        raise CacheError(
            f"export schema {manifest.get('schema_version')} is not one this version reads "
            f"({', '.join(READABLE_SCHEMAS)}; cache schema {SCHEMA_VERSION})"
        )
    tables = manifest.get("tables")
    if manifest.get("format_version") != FORMAT_VERSION or not isinstance(tables, dict):
        raise CacheError(f"export {src}: {REEXPORT}")
    expected = {info.name for info in table_infos()}
    extra, missing = sorted(set(tables) - expected), sorted(expected - set(tables))
    if extra or not set(missing) <= set(ADDED_LATER):  # an older export may lack a table added since
        raise CacheError(
            f"export {src}: the manifest lists tables {sorted(tables)} "
            f"(unexpected {extra}, missing {missing})"
        )
    for info in table_infos():
        if info.name in tables:
            _check_entry(src, info, tables[info.name])
    return manifest


def _check_entry(src: Path, info: TableInfo, entry: Any) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str) or "rows" not in entry:
        raise CacheError(f"export {src}: {info.file} has no digest in the manifest; {REEXPORT}")
    if entry.get("file") != info.file:
        raise CacheError(f"export {src}: the manifest names {entry.get('file')!r} for table {info.name}")
    columns = [tuple(c) for c in entry.get("columns") or []]
    if columns != list(info.columns):
        raise CacheError(
            f"export {src}: the manifest's schema of {info.file} differs from this version's "
            f"({_schema_difference(dict(columns), info)}); re-export with this version"
        )


def _read_table(src: Path, info: TableInfo, entry: dict[str, Any]) -> pa.Table:
    """The file's bytes, read once: digest, Parquet decoding and row count all see the same bytes."""
    path = src / info.file
    if not path.is_file():
        raise CacheError(f"export {src}: {info.file} is missing (the manifest lists it)")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise CacheError(
            f"export {src}: {info.file} does not match its manifest digest (sha256 {digest[:16]}..., "
            f"manifest {str(entry['sha256'])[:16]}...): the file was changed or damaged"
        )
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise CacheError(f"export {src}: {info.file} is not a readable Parquet file: {exc}") from exc
    if table.num_rows != entry["rows"]:
        raise CacheError(
            f"export {src}: {info.file} holds {table.num_rows} rows, the manifest says {entry['rows']}"
        )
    return table


def _stage_table(stage: duckdb.DuckDBPyConnection, src: Path, info: TableInfo, table: pa.Table) -> None:
    """Schema, duplicate keys and NULL keys of one file, then its rows into the staging database."""
    view = f"_evonas_in_{info.name}"
    stage.register(view, table)
    try:
        found = {r[0]: r[1] for r in stage.execute(f"DESCRIBE SELECT * FROM {view}").fetchall()}
        if found != dict(info.columns):
            raise CacheError(
                f"export {src}: {info.file} has another column schema than this version's "
                f"({_schema_difference(found, info)})"
            )
        _check_keys(stage, src, info, view)
        columns = ", ".join(info.column_names)
        stage.execute(f"INSERT INTO {info.name} ({columns}) SELECT {columns} FROM {view}")
    except duckdb.Error as exc:
        raise CacheError(f"export {src}: {info.file}: {str(exc).splitlines()[0]}") from exc
    finally:
        stage.unregister(view)


def _check_keys(stage: duckdb.DuckDBPyConnection, src: Path, info: TableInfo, view: str) -> None:
    key = ", ".join(info.key)
    nulls = stage.execute(
        f"SELECT count(*) FROM {view} WHERE " + " OR ".join(f"{k} IS NULL" for k in info.key)
    ).fetchone()[0]
    if nulls:
        raise CacheError(f"export {src}: {info.file} has {nulls} row(s) with a NULL key ({key})")
    twice = stage.execute(
        f"SELECT {key}, count(*) FROM {view} GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL"
    ).fetchall()
    if twice:
        first = twice[0]
        raise CacheError(
            f"export {src}: {info.file} holds {len(twice)} key(s) more than once; first: "
            f"({', '.join(str(v) for v in first[:-1])}) x{first[-1]}: refused (which row counts is undefined)"
        )


def _schema_difference(found: dict[str, str], info: TableInfo) -> str:
    expected = dict(info.columns)
    changed = [c for c in expected if c in found and found[c] != expected[c]]
    parts = [f"{c} {found[c]}, expected {expected[c]}" for c in changed]
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(extra))
    return "; ".join(parts) or "column order"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
