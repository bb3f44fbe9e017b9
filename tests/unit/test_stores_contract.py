"""One behaviour, three evaluation stores: DuckDB (the `Cache`), in memory, a read-only table directory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cache import Cache, EvalRecord, export_parquet, training_seed
from cache.stores import EvaluationStore, MemoryEvaluationStore
from cache.table_store import ParquetTableStore
from harness.errors import CacheError
from harness.evaluation import Evaluator, Request
from harness.spaces import get_space
from harness.tasks import preset
from tests.fakes import FakeExecutor

SPACE = get_space("genetic_cnn")
TASK = preset("digits_quick")
KEY = TASK.key()
ENCODINGS = {
    "a": "1-01 0-01-100 0-11-101-0001",
    "b": "0-00 1-00-000 0-00-000-0000",
    "c": "1-11 0-00-000 0-00-000-0000",
}
KINDS = ("duckdb", "memory", "parquet")


def arch(name: str) -> str:
    return SPACE.hash(SPACE.decode(ENCODINGS[name]))


def record(name: str, replicate: int = 0, acc: float = 0.9, **kw: Any) -> EvalRecord:
    h = arch(name)
    values: dict[str, Any] = {
        "status": "ok",
        "val_acc": acc,
        "test_acc": acc - 0.01,
        "train_loss": 0.3,
        "curve": (0.5, 0.8, acc),
        "train_seconds": 1.25,
        "device": "cpu:1t",
        "params": 1234,
        "flops": 5678,
    }
    values.update(kw)
    return EvalRecord(
        arch_hash=h, task_key=KEY, replicate=replicate, seed=training_seed(KEY, h, replicate), **values
    )


STORED = (
    record("a"),
    record("a", replicate=1, acc=0.8),
    record(
        "b",
        status="invalid",
        error="too big",
        val_acc=None,
        test_acc=None,
        train_loss=None,
        curve=(),
        params=None,
        flops=None,
    ),
)


def fill(store: Any) -> None:
    """What every store under test holds: a task, three architectures, three evaluations, one size."""
    with store.transaction():
        store.put_task(KEY, TASK.name, TASK.protocol(), TASK.dataset)
        for name, encoding in ENCODINGS.items():
            genome = SPACE.decode(encoding)
            store.put_architecture(
                arch(name), SPACE.name, SPACE.version, encoding, SPACE.canonical(genome), SPACE.params
            )
        for rec in STORED:
            assert store.put_evaluation(rec)
        store.set_architecture_size(arch("a"), 1234, 5678, KEY)


def open_store(kind: str, tmp_path: Path, filled: bool = True) -> Any:
    store = MemoryEvaluationStore() if kind == "memory" else Cache(tmp_path / "c.duckdb")
    if filled:
        fill(store)
    if kind != "parquet":
        return store
    export_parquet(store, tmp_path / "table")
    store.close()
    return ParquetTableStore(tmp_path / "table")


@pytest.fixture(params=KINDS)
def store(request, tmp_path) -> Iterator[Any]:
    opened = open_store(request.param, tmp_path)
    yield opened
    opened.close()


@pytest.fixture(params=("duckdb", "memory"))
def writable(request, tmp_path) -> Iterator[Any]:
    opened = open_store(request.param, tmp_path)
    yield opened
    opened.close()


def same(a: EvalRecord | None, b: EvalRecord) -> bool:
    return a is not None and replace(a, created_at=None) == replace(b, created_at=None)


# --- reads: every store ---
def test_every_store_meets_the_protocol(store):
    assert isinstance(store, EvaluationStore)
    if isinstance(store, Cache):
        assert isinstance(store.evaluation_store, EvaluationStore)


def test_stored_evaluations_read_back_as_written(store):
    for rec in STORED:
        got = store.get_evaluation(rec.arch_hash, KEY, rec.replicate)
        assert same(got, rec) and got.created_at is not None
    assert store.get_evaluation(arch("c"), KEY, 0) is None
    assert store.get_evaluation(arch("a"), "another-task", 0) is None
    assert store.get_evaluation(arch("a"), KEY, 2) is None


def test_replicates_and_a_tasks_evaluations(store):
    assert [r.replicate for r in store.replicates(arch("a"))] == [0, 1]
    assert [r.replicate for r in store.replicates(arch("a"), KEY)] == [0, 1]
    assert store.replicates(arch("a"), "another-task") == [] and store.replicates(arch("c")) == []
    known = store.evaluations_for_task(KEY)
    assert set(known) == {(arch("a"), 0), (arch("a"), 1), (arch("b"), 0)}
    assert all(same(known[(r.arch_hash, r.replicate)], r) for r in STORED)
    assert store.evaluations_for_task("another-task") == {}


def test_architectures_and_tasks(store):
    row = store.architecture(arch("a"))
    assert row is not None
    assert (row["space"], row["encoding"], row["canonical"]) == (
        SPACE.name,
        ENCODINGS["a"],
        SPACE.canonical(SPACE.decode(ENCODINGS["a"])),
    )
    assert (row["params"], row["flops"], row["params_task_key"]) == (1234, 5678, KEY)
    assert store.architecture(arch("b"))["params"] is None
    assert store.architecture("0" * 64) is None
    assert store.task_keys() == [KEY]
    assert store.task_keys(TASK.name) == [KEY] and store.task_keys(KEY) == [KEY]
    assert store.task_keys("no-such-task") == []


def test_per_epoch_lookup_reads_the_stored_curve(store):
    a = arch("a")
    assert [store.lookup(a, KEY, 0, epoch=k) for k in (1, 2, 3)] == [0.5, 0.8, 0.9]
    assert store.lookup(a, KEY, 0, epoch=3) == store.get_evaluation(a, KEY, 0).val_acc  # last epoch: val_acc
    assert store.lookup(a, KEY, 1, epoch=3) == 0.8
    assert store.lookup(arch("b"), KEY, 0, epoch=1) == 0.0  # invalid: as EvalRecord.metric
    assert store.lookup(arch("c"), KEY, 0, epoch=1) is None  # not stored
    with pytest.raises(CacheError, match=r"past the stored curve .*\(3 epochs\)"):
        store.lookup(a, KEY, 0, epoch=4)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(CacheError, match="epoch must be an integer >= 1"):
            store.lookup(a, KEY, 0, epoch=bad)


# --- writes: the writable stores ---
def test_the_first_stored_result_wins(writable):
    assert not writable.put_evaluation(replace(STORED[0], val_acc=0.1))
    assert writable.get_evaluation(arch("a"), KEY, 0).val_acc == 0.9
    assert writable.put_evaluation(record("c", replicate=3, acc=0.7))
    assert writable.lookup(arch("c"), KEY, 3, epoch=3) == 0.7


def test_a_failed_transaction_leaves_nothing(writable):
    with pytest.raises(RuntimeError), writable.transaction():
        writable.put_evaluation(record("c"))
        writable.put_task("other", "other", {}, "digits")
        writable.set_architecture_size(arch("b"), 1, 2, KEY)
        raise RuntimeError("killed mid-write")
    assert writable.get_evaluation(arch("c"), KEY, 0) is None
    assert writable.task_keys() == [KEY]
    assert writable.architecture(arch("b"))["params"] is None


def test_first_size_and_first_task_win(writable):
    writable.set_architecture_size(arch("a"), 1, 2, "other")
    assert writable.architecture(arch("a"))["params"] == 1234
    writable.put_task(KEY, "renamed", {}, "digits")
    assert writable.task_keys("renamed") == []


# --- read-only stores ---
@pytest.mark.parametrize("kind", ("duckdb", "memory", "parquet"))
def test_read_only_stores_refuse_every_write(kind, tmp_path):
    if kind == "duckdb":
        open_store(kind, tmp_path).close()
        ro: Any = Cache(tmp_path / "c.duckdb", read_only=True)
    elif kind == "memory":
        ro = MemoryEvaluationStore(read_only=True)
    else:
        ro = open_store(kind, tmp_path)
    assert ro.read_only
    writes = (
        lambda: ro.put_evaluation(record("c")),
        lambda: ro.put_task("k", "n", {}, "digits"),
        lambda: ro.put_architecture(arch("c"), SPACE.name, SPACE.version, ENCODINGS["c"], "x", {}),
        lambda: ro.set_architecture_size(arch("a"), 1, 2, KEY),
        lambda: ro.transaction().__enter__(),
    )
    for write in writes:
        with pytest.raises(CacheError, match="read-only"):
            write()
    ro.close()


# --- the table directory ---
def test_a_table_directory_is_checked_on_open(tmp_path):
    open_store("parquet", tmp_path).close()
    path = tmp_path / "table" / "evaluations.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match="does not match its manifest digest") as info:
        ParquetTableStore(tmp_path / "table")
    assert "\n" not in str(info.value)
    with pytest.raises(CacheError, match="not an evonas export"):
        ParquetTableStore(tmp_path / "nowhere")


# --- the protocol is what the evaluator needs ---
def test_the_evaluator_trains_into_an_in_memory_store_and_tabular_mode_reads_a_store(tmp_path):
    memory = MemoryEvaluationStore()
    executor = FakeExecutor()
    live = Evaluator(memory, SPACE, TASK, executor=executor)  # type: ignore[arg-type]
    chain = SPACE.named("chain")
    rec = live.evaluate([Request(chain), Request(chain)])[0]
    assert len(executor.jobs) == 1 and same(memory.get_evaluation(rec.arch_hash, KEY, 0), rec)
    assert memory.architecture(rec.arch_hash)["params"] == rec.params
    with Cache(tmp_path / "runs.duckdb") as cache:
        tabular = Evaluator(cache, SPACE, TASK, mode="tabular", table=memory)
        assert tabular.evaluate([Request(chain)])[0] == rec
        assert cache.get_evaluation(rec.arch_hash, KEY, 0) is None  # read from the table, not copied
        with pytest.raises(CacheError, match="not in the table"):
            tabular.evaluate([Request(chain, replicate=1)])
