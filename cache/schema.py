"""The cache's schema: the DDL of its newest version, the version number, and the migrations to it.

`TABLE_DDL` is the single source of every table's shape as this version writes it (an export and an
import are checked against it, `cache.tables`). A file records its version in `meta` (key
`schema_version`). Opening a file (`prepare`):

- an empty database gets the newest schema;
- a file at an older version is upgraded by the `MIGRATIONS` above its version, in order, in one
  transaction (a failure leaves the file exactly at its old version); a read-only opener cannot write,
  so it refuses an older file with a line that says how to upgrade it;
- a file at a newer version (written by a later evonas) is refused with one line: this version would not
  know what its new tables and columns mean;
- a DuckDB file that has tables but no `meta` is not an evonas cache and is left untouched.

Changing the schema means: edit `TABLE_DDL` (the newest shape), add a `Migration` that brings a file of
the previous version to it (CREATE TABLE IF NOT EXISTS / ALTER TABLE ADD COLUMN IF NOT EXISTS), and bump
`SCHEMA_VERSION` to the migration's version. Tables are only ever extended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from cache.errors import CacheError

# 1: the first release; 2: the surrogate tables (surrogates, predictions, run_surrogates); 3: generations
SCHEMA_VERSION = "3"

TABLE_DDL: dict[str, str] = {
    "meta": """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    "architectures": """CREATE TABLE IF NOT EXISTS architectures (
        arch_hash VARCHAR PRIMARY KEY,
        space VARCHAR NOT NULL,
        space_version VARCHAR NOT NULL,
        encoding VARCHAR NOT NULL,
        canonical VARCHAR NOT NULL,
        params BIGINT,
        flops BIGINT,
        space_params VARCHAR,
        summary VARCHAR,
        params_task_key VARCHAR,
        created_at TIMESTAMP
    )""",
    "tasks": """CREATE TABLE IF NOT EXISTS tasks (
        task_key VARCHAR PRIMARY KEY,
        name VARCHAR,
        spec VARCHAR,
        dataset VARCHAR,
        created_at TIMESTAMP
    )""",
    "evaluations": """CREATE TABLE IF NOT EXISTS evaluations (
        arch_hash VARCHAR NOT NULL,
        task_key VARCHAR NOT NULL,
        replicate INTEGER NOT NULL,
        seed BIGINT NOT NULL,
        status VARCHAR NOT NULL,
        error VARCHAR,
        val_acc DOUBLE,
        test_acc DOUBLE,
        train_loss DOUBLE,
        curve DOUBLE[],
        train_seconds DOUBLE,
        device VARCHAR,
        versions VARCHAR,
        created_at TIMESTAMP,
        params BIGINT,
        flops BIGINT,
        run_id VARCHAR,
        predicted BOOLEAN DEFAULT FALSE,
        PRIMARY KEY (arch_hash, task_key, replicate)
    )""",
    "proxies": """CREATE TABLE IF NOT EXISTS proxies (
        arch_hash VARCHAR NOT NULL,
        task_key VARCHAR NOT NULL,
        proxy VARCHAR NOT NULL,
        value DOUBLE,
        seconds DOUBLE,
        PRIMARY KEY (arch_hash, task_key, proxy)
    )""",
    "runs": """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        experiment VARCHAR,
        algorithm VARCHAR,
        params VARCHAR,
        space VARCHAR,
        task_key VARCHAR,
        trial INTEGER,
        seed BIGINT,
        budget VARCHAR,
        status VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        space_params VARCHAR,
        algorithm_name VARCHAR,
        objective VARCHAR,
        workers INTEGER
    )""",
    "trajectories": """CREATE TABLE IF NOT EXISTS trajectories (
        run_id VARCHAR NOT NULL,
        step INTEGER NOT NULL,
        arch_hash VARCHAR NOT NULL,
        replicate INTEGER NOT NULL,
        fitness DOUBLE,
        cached BOOLEAN,
        sim_seconds DOUBLE,
        wall_seconds DOUBLE,
        generation INTEGER,
        encoding VARCHAR,
        PRIMARY KEY (run_id, step)
    )""",
    # each generation of a generational run as its algorithm saw it (cache.generations), written with the
    # trajectory rows; `step` is the trajectory step whose result completed the generation
    "generations": """CREATE TABLE IF NOT EXISTS generations (
        run_id VARCHAR NOT NULL,
        generation INTEGER NOT NULL,
        role VARCHAR NOT NULL,
        member INTEGER NOT NULL,
        step INTEGER NOT NULL,
        arch_hash VARCHAR NOT NULL,
        replicate INTEGER NOT NULL,
        encoding VARCHAR,
        fitness DOUBLE,
        params BIGINT,
        score DOUBLE,
        PRIMARY KEY (run_id, generation, role, member)
    )""",
    "checkpoints": """CREATE TABLE IF NOT EXISTS checkpoints (
        run_id VARCHAR PRIMARY KEY,
        step INTEGER,
        state BLOB,
        saved_at TIMESTAMP
    )""",
    "experiments": """CREATE TABLE IF NOT EXISTS experiments (
        experiment VARCHAR PRIMARY KEY,
        config VARCHAR,
        code_version VARCHAR,
        hardware VARCHAR,
        updated_at TIMESTAMP
    )""",
    "surrogates": """CREATE TABLE IF NOT EXISTS surrogates (
        model_id VARCHAR PRIMARY KEY,
        space VARCHAR NOT NULL,
        space_params VARCHAR,
        task_key VARCHAR NOT NULL,
        table_digest VARCHAR NOT NULL,
        kind VARCHAR,
        info VARCHAR,
        model BLOB NOT NULL,
        created_at TIMESTAMP
    )""",
    "predictions": """CREATE TABLE IF NOT EXISTS predictions (
        model_id VARCHAR NOT NULL,
        arch_hash VARCHAR NOT NULL,
        replicate INTEGER NOT NULL,
        status VARCHAR NOT NULL,
        val_acc DOUBLE,
        test_acc DOUBLE,
        train_seconds DOUBLE,
        PRIMARY KEY (model_id, arch_hash, replicate)
    )""",
    "run_surrogates": """CREATE TABLE IF NOT EXISTS run_surrogates (
        run_id VARCHAR PRIMARY KEY,
        model_id VARCHAR NOT NULL,
        policy VARCHAR NOT NULL
    )""",
}

BENCHMARK_VIEW = """CREATE OR REPLACE VIEW benchmark AS
        SELECT a.space, a.encoding, t.name AS task, e.*
        FROM evaluations e JOIN architectures a USING (arch_hash) JOIN tasks t USING (task_key)"""

SCHEMA = [*TABLE_DDL.values(), BENCHMARK_VIEW]
TABLES = tuple(TABLE_DDL)


@dataclass(frozen=True)
class Migration:
    """The statements that bring a file at version `version - 1` to `version`."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        2,
        "surrogate mode's tables (version 1 files written before surrogate mode lack them)",
        (TABLE_DDL["surrogates"], TABLE_DDL["predictions"], TABLE_DDL["run_surrogates"]),
    ),
    Migration(
        3,
        "the generations table (each generation of a generational run, written with its trajectory)",
        (TABLE_DDL["generations"],),
    ),
)


def _now() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat()


def stored_version(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    """The file's schema version; None for an empty database. Raises CacheError for a foreign file."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "meta" not in tables:
        if tables:
            raise CacheError(f"{path} is a DuckDB file but not an evonas cache (no meta table)")
        return None
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise CacheError(
            f"cache {path} has schema version {row and row[0]!r}, not a number: not an evonas cache?"
        ) from None


def prepare(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
    """Create, upgrade or check the schema of the database behind `con` (see the module docstring)."""
    newest = int(SCHEMA_VERSION)
    version = stored_version(con, path)
    if version is None and read_only:
        raise CacheError(f"{path} is a DuckDB file but not an evonas cache (no meta table)")
    if version is not None and version > newest:
        raise CacheError(
            f"cache {path} has schema version {version}, newer than this evonas (version {newest}): "
            "open it with the evonas that wrote it, or upgrade evonas"
        )
    if read_only:
        if version != newest:
            raise CacheError(
                f"cache {path} has schema version {version}, older than this evonas (version {newest}): "
                "open it once with a command that writes (evonas run, tabulate or cache import) to upgrade it"
            )
        return
    upgrade(con, version)


def upgrade(con: duckdb.DuckDBPyConnection, version: int | None) -> None:
    """One transaction: the migrations above `version` (or the whole schema for a new file), then the
    newest DDL (every statement is IF NOT EXISTS / OR REPLACE, so this is a no-op on a current file)."""
    con.execute("BEGIN TRANSACTION")
    try:
        if version is not None:
            for migration in MIGRATIONS:
                if migration.version > version:
                    for statement in migration.statements:
                        con.execute(statement)
                    con.execute(
                        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        [f"migrated_to_{migration.version}_at", _now()],
                    )
        for statement in SCHEMA:
            con.execute(statement)
        con.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", [_now()])
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
