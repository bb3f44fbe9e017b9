"""The DuckDB cache: schema, evaluations, transactions, Parquet round trip, verification, bad files."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import duckdb
import pytest

from cache import Cache, EvalRecord, export_parquet, import_parquet, training_seed
from cache.records import RunRecord, TrajectoryRow
from cache.verify import verify
from harness.errors import CacheError
from harness.spaces import get_space
from harness.tasks import preset

SPACE = get_space("genetic_cnn")
TASK = preset("digits_quick")


def _arch(cache: Cache, encoding: str) -> str:
    genome = SPACE.decode(encoding)
    h = SPACE.hash(genome)
    cache.put_architecture(h, SPACE.name, SPACE.version, encoding, SPACE.canonical(genome), SPACE.params)
    return h


def _record(arch: str, replicate: int = 0, acc: float = 0.9, **kw) -> EvalRecord:
    key = TASK.key()
    return EvalRecord(
        arch_hash=arch,
        task_key=key,
        replicate=replicate,
        seed=training_seed(key, arch, replicate),
        status="ok",
        val_acc=acc,
        test_acc=acc - 0.01,
        train_loss=0.3,
        curve=(0.5, 0.8, acc),
        train_seconds=1.25,
        device="cpu:1t",
        params=1234,
        flops=5678,
        **kw,
    )


@pytest.fixture
def cache(tmp_path):
    with Cache(tmp_path / "c.duckdb") as c:
        c.put_task(TASK.key(), TASK.name, TASK.protocol(), TASK.dataset)
        yield c


def test_schema_tables_and_columns(cache):
    tables = {r[0] for r in cache.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"architectures", "tasks", "evaluations", "proxies", "runs", "trajectories"} <= tables
    columns = {r[0] for r in cache.execute("DESCRIBE evaluations").fetchall()}
    assert {
        "arch_hash",
        "task_key",
        "replicate",
        "seed",
        "status",
        "error",
        "val_acc",
        "test_acc",
        "train_loss",
        "curve",
        "train_seconds",
        "device",
        "versions",
        "created_at",
    } <= columns
    run_cols = {r[0] for r in cache.execute("DESCRIBE runs").fetchall()}
    assert {
        "run_id",
        "experiment",
        "algorithm",
        "params",
        "space",
        "task_key",
        "trial",
        "seed",
        "budget",
        "status",
        "started_at",
        "finished_at",
    } <= run_cols


def test_evaluation_round_trip_and_first_write_wins(cache):
    arch = _arch(cache, "1-01 0-01-100 0-11-101-0001")
    rec = _record(arch)
    assert cache.put_evaluation(rec)
    got = cache.get_evaluation(arch, TASK.key(), 0)
    assert got is not None
    assert replace(got, created_at=None) == replace(rec, created_at=None)
    assert not cache.put_evaluation(replace(rec, val_acc=0.1))
    assert cache.get_evaluation(arch, TASK.key(), 0).val_acc == 0.9
    assert cache.put_evaluation(_record(arch, replicate=1, acc=0.8))
    assert [r.replicate for r in cache.replicates(arch)] == [0, 1]
    assert set(cache.evaluations_for_task(TASK.key())) == {(arch, 0), (arch, 1)}


def test_isomorphic_strings_find_the_same_row(cache):
    a = _arch(cache, "0-00 1-00-000 0-00-000-0000")
    cache.put_evaluation(_record(a))
    twin = SPACE.hash(SPACE.decode("0-00 0-00-001 0-00-000-0000"))
    assert twin == a and cache.get_evaluation(twin, TASK.key(), 0) is not None


def test_transaction_rolls_back_everything(cache):
    arch = _arch(cache, "1-01 0-01-100 0-11-101-0001")
    with pytest.raises(RuntimeError), cache.transaction():
        cache.put_evaluation(_record(arch))
        raise RuntimeError("killed mid-write")
    assert cache.get_evaluation(arch, TASK.key(), 0) is None


def test_training_seed_is_derived_and_distinct():
    a = training_seed("task", "arch", 0)
    assert a == training_seed("task", "arch", 0)
    assert (
        len(
            {
                a,
                training_seed("task", "arch", 1),
                training_seed("task2", "arch", 0),
                training_seed("task", "arch2", 0),
            }
        )
        == 4
    )
    assert 0 <= a < 2**63
    with pytest.raises(ValueError):
        training_seed("t", "a", -1)


def test_parquet_round_trip(cache, tmp_path):
    encoding = "1-01 0-01-100 0-11-101-0001"
    arch = _arch(cache, encoding)
    cache.put_evaluation(_record(arch, run_id="e/a/0"))  # trained by run e/a/0 (its query is not cached)
    cache.set_architecture_size(arch, 1234, 5678, TASK.key())
    cache.put_evaluation(_record(arch, replicate=1, acc=0.7, error=None))
    cache.put_run(RunRecord("e/a/0", "e", "a", "{}", "genetic_cnn", TASK.key(), 0, 42, "{}", "finished"))
    cache.append_trajectory([TrajectoryRow("e/a/0", 0, arch, 0, 0.9, False, 1.25, 0.5, None, encoding)])
    export_parquet(cache, tmp_path / "export")
    with Cache(tmp_path / "fresh.duckdb") as fresh:
        added = import_parquet(fresh, tmp_path / "export").added
        assert added["evaluations"] == 2 and added["trajectories"] == 1
        for table in ("architectures", "tasks", "evaluations", "runs", "trajectories"):
            a = cache.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            b = fresh.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            assert a == b, table
        again = import_parquet(fresh, tmp_path / "export")
        assert sum(again.added.values()) == 0 and not again.conflicts


def test_import_of_a_broken_export_changes_nothing(cache, tmp_path):
    arch = _arch(cache, "1-01 0-01-100 0-11-101-0001")
    cache.put_evaluation(_record(arch))
    export_parquet(cache, tmp_path / "export")
    (tmp_path / "export" / "trajectories.parquet").write_bytes(b"not parquet")
    with Cache(tmp_path / "fresh.duckdb") as fresh:
        with pytest.raises(CacheError):
            import_parquet(fresh, tmp_path / "export")
        assert fresh.execute("SELECT count(*) FROM evaluations").fetchone()[0] == 0
    with pytest.raises(CacheError):
        import_parquet(cache, tmp_path / "nowhere")


def test_verify_finds_tampering(cache):
    arch = _arch(cache, "1-01 0-01-100 0-11-101-0001")
    cache.put_evaluation(_record(arch))
    cache.set_architecture_size(arch, 1234, 5678, TASK.key())
    assert verify(cache) == []
    cache.execute("UPDATE evaluations SET seed = seed + 1")
    cache.execute("UPDATE architectures SET encoding = '0-00 0-00-000 0-00-000-0000'")
    problems = verify(cache)
    assert any("seed" in p for p in problems)
    assert any("hash" in p for p in problems)


def test_corrupt_file_is_one_clear_error(tmp_path):
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError) as info:
        Cache(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert path.read_bytes() == b"this is not a database" * 100  # nothing overwritten


def test_foreign_duckdb_file_is_rejected(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (x INT)")
    con.close()
    with pytest.raises(CacheError, match="not an evonas cache"):
        Cache(path, read_only=True)


def test_missing_file_read_only(tmp_path):
    with pytest.raises(CacheError, match="does not exist"):
        Cache(tmp_path / "none.duckdb", read_only=True)


def test_read_only_refuses_writes(cache, tmp_path):
    path = cache.path
    cache.close()
    with Cache(path, read_only=True) as ro, pytest.raises(CacheError, match="read-only"):
        ro.put_task("k", "n", {}, "digits")


def _hold(path, seconds):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); "
            f"print('ready', flush=True); time.sleep({seconds}); c.close()",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "ready"
    return holder


def test_held_by_another_process_past_the_timeout_is_one_clear_error(tmp_path):
    path = tmp_path / "locked.duckdb"
    Cache(path).close()
    holder = _hold(path, 30)
    try:
        for read_only in (False, True):
            with pytest.raises(CacheError, match=r"held by another process.*EVONAS_LOCK_TIMEOUT"):
                Cache(path, read_only=read_only, lock_timeout=0.3)
    finally:
        holder.kill()
        holder.wait()


def test_a_held_file_is_waited_for(tmp_path):
    """A reader (or the writer) waits for a file another process holds briefly, instead of failing."""
    path = tmp_path / "busy.duckdb"
    Cache(path).close()
    holder = _hold(path, 1.0)
    try:
        with Cache(path, read_only=True, lock_timeout=30) as ro:
            assert ro.stats()["tables"]["evaluations"] == 0
    finally:
        holder.wait()


def test_idle_lets_go_of_the_file_and_the_next_statement_takes_it_back(tmp_path):
    path = tmp_path / "idle.duckdb"
    with Cache(path) as writer:
        writer.put_task("k", "n", {}, "digits")
        writer.idle()
        with Cache(path, read_only=True, lock_timeout=0) as reader:  # no wait needed: the file is free
            assert reader.task_keys() == ["k"]
        writer.put_task("k2", "n2", {}, "digits")  # opens the file again
        assert sorted(writer.task_keys()) == ["k", "k2"]
