"""Schema versions: a file of the previous version is upgraded in one transaction, a newer one refused."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cache import Cache, EvalRecord, training_seed
from cache import schema as schema_module
from cache.schema import MIGRATIONS, SCHEMA_VERSION, TABLE_DDL, TABLES, Migration
from harness.errors import CacheError

NEWEST_TABLES = ("surrogates", "predictions", "run_surrogates", "generations")  # added after version 1
ARCH = "a" * 64


def previous_version_file(path: Path) -> Path:
    """A version 1 cache: today's CREATE statements minus the tables version 2 added, with some rows."""
    con = duckdb.connect(str(path))
    for name, ddl in TABLE_DDL.items():
        if name not in NEWEST_TABLES:
            con.execute(ddl)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('created_at', '2026-01-01T00:00:00')")
    con.execute("INSERT INTO tasks VALUES ('tk', 'digits', '{}', 'digits', NULL)")
    con.execute(
        "INSERT INTO evaluations (arch_hash, task_key, replicate, seed, status, val_acc, curve) "
        "VALUES (?, 'tk', 0, ?, 'ok', 0.75, [0.5, 0.75])",
        [ARCH, training_seed("tk", ARCH, 0)],
    )
    con.close()
    return path


def described(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {t: con.execute(f"DESCRIBE {t}").fetchall() for t in TABLES}


def raw_version(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    finally:
        con.close()


def test_migrations_are_ordered_and_end_at_the_schema_version():
    versions = [m.version for m in MIGRATIONS]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert versions[-1] == int(SCHEMA_VERSION)
    assert all(m.description and m.statements for m in MIGRATIONS)


def test_a_fresh_file_has_the_newest_schema(tmp_path):
    with Cache(tmp_path / "new.duckdb") as cache:
        assert (
            cache.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
            == SCHEMA_VERSION
        )
        tables = {r[0] for r in cache.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert set(TABLES) <= tables


def test_a_previous_version_file_is_upgraded_on_open_keeping_its_rows(tmp_path):
    old = previous_version_file(tmp_path / "old.duckdb")
    with pytest.raises(CacheError, match=r"schema version 1, older than this evonas .*to upgrade it") as info:
        Cache(old, read_only=True)  # a reader cannot upgrade: it says how, and changes nothing
    assert "\n" not in str(info.value) and raw_version(old) == "1"
    with Cache(old) as cache:
        record = cache.get_evaluation(ARCH, "tk", 0)
        assert isinstance(record, EvalRecord) and record.val_acc == 0.75 and record.predicted is False
        assert cache.lookup(ARCH, "tk", 0, epoch=1) == 0.5
        migrated = described(cache.con)
        keys = dict(cache.execute("SELECT key, value FROM meta").fetchall())
    assert keys["schema_version"] == SCHEMA_VERSION and "migrated_to_2_at" in keys
    assert keys["created_at"] == "2026-01-01T00:00:00"  # the file's own history is kept
    with Cache(tmp_path / "fresh.duckdb") as fresh:
        assert migrated == described(fresh.con)  # the upgraded file has exactly the newest shape
    with Cache(old, read_only=True) as reader:
        assert reader.task_keys() == ["tk"]


def test_a_failed_migration_leaves_the_file_at_its_old_version(tmp_path, monkeypatch):
    old = previous_version_file(tmp_path / "old.duckdb")
    broken = Migration(2, "half of it fails", (TABLE_DDL["surrogates"], "CREATE TABLE broken (x NOSUCHTYPE)"))
    monkeypatch.setattr(schema_module, "MIGRATIONS", (broken,))
    with pytest.raises(CacheError) as info:
        Cache(old)
    assert "\n" not in str(info.value)
    assert raw_version(old) == "1"
    con = duckdb.connect(str(old), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert "surrogates" not in tables and "broken" not in tables  # the first statement was rolled back too


@pytest.mark.parametrize("read_only", (False, True))
def test_a_newer_file_is_refused_in_one_line(tmp_path, read_only):
    path = tmp_path / "newer.duckdb"
    Cache(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(CacheError, match="schema version 99, newer than this evonas") as info:
        Cache(path, read_only=read_only)
    assert "\n" not in str(info.value) and raw_version(path) == "99"


@pytest.mark.parametrize("read_only", (False, True))
def test_a_foreign_duckdb_file_is_left_untouched(tmp_path, read_only):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (x INT)")
    con.close()
    with pytest.raises(CacheError, match="not an evonas cache"):
        Cache(path, read_only=read_only)
    con = duckdb.connect(str(path), read_only=True)
    assert [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()] == ["t"]
    con.close()
