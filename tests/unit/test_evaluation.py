"""The evaluator: hashing, deduplication, invalid and failing networks, tabular mode."""

from __future__ import annotations

import pytest

from cache import Cache
from harness.errors import CacheError
from harness.evaluation import Evaluator, Request
from harness.spaces import get_space
from harness.tasks import preset
from harness.training import TrainingResult
from tests.fakes import FakeExecutor

SPACE = get_space("genetic_cnn")
TASK = preset("digits_quick")


@pytest.fixture
def cache(tmp_path):
    with Cache(tmp_path / "c.duckdb") as c:
        yield c


def test_isomorphic_requests_train_once(cache):
    executor = FakeExecutor()
    ev = Evaluator(cache, SPACE, TASK, executor=executor)
    a = SPACE.decode("0-00 1-00-000 0-00-000-0000")
    b = SPACE.decode("0-00 0-00-001 0-00-000-0000")  # isomorphic to a
    records = ev.evaluate([Request(a), Request(b), Request(a, replicate=1)])
    assert len(executor.jobs) == 2  # (a, 0) once, (a, 1) once
    assert records[0] == records[1]
    assert records[2].replicate == 1 and records[2].seed != records[0].seed
    assert ev.evaluate([Request(b)])[0] == records[0]
    assert len(executor.jobs) == 2
    stored = cache.architecture(records[0].arch_hash)
    assert stored["encoding"] == "0-00 1-00-000 0-00-000-0000"
    assert stored["params"] is not None


def test_a_second_evaluator_reads_what_the_first_stored(cache):
    first = Evaluator(cache, SPACE, TASK, executor=FakeExecutor())
    rec = first.evaluate([Request(SPACE.named("chain"))])[0]
    executor = FakeExecutor()
    second = Evaluator(cache, SPACE, TASK, executor=executor)
    assert second.evaluate([Request(SPACE.named("chain"))])[0] == rec
    assert executor.jobs == []


def test_invalid_networks_are_stored_with_reason_and_zero_fitness(cache):
    macro = get_space("macro_re", channels=8)
    genome = macro.decode("0:POOL_5.M | -2>0 0>99")  # 8x8 -> pool 5 stride 5 -> 1x1 ... then head
    deep = macro.decode("0:CONV_5.N 1:CONV_5.N 2:CONV_5.N | -2>0 0>1 1>2 2>99")  # 8 -> 4 -> 0: too small
    ev = Evaluator(cache, macro, TASK)
    records = ev.evaluate([Request(deep), Request(genome)])
    assert records[0].status == "invalid" and records[0].error
    assert records[0].metric("val_acc") == 0.0
    stored = cache.get_evaluation(records[0].arch_hash, TASK.key(), 0)
    assert stored.status == "invalid" and stored.error == records[0].error


def test_failing_training_is_stored_as_failed(cache):
    class Exploding(FakeExecutor):
        def run(self, jobs):
            for i, _ in enumerate(jobs):
                yield i, TrainingResult(status="failed", error="RuntimeError: CUDA out of memory", device="x")

    ev = Evaluator(cache, SPACE, TASK, executor=Exploding())
    rec = ev.evaluate([Request(SPACE.named("densenet"))])[0]
    assert rec.status == "failed" and "out of memory" in rec.error
    assert rec.metric("val_acc") == 0.0


def test_tabular_mode_never_trains(cache):
    live = Evaluator(cache, SPACE, TASK, executor=FakeExecutor())
    rec = live.evaluate([Request(SPACE.named("chain"))])[0]
    executor = FakeExecutor()
    table = Evaluator(cache, SPACE, TASK, mode="tabular", executor=executor)
    assert table.evaluate([Request(SPACE.named("chain"))])[0] == rec
    with pytest.raises(CacheError, match="not in the table"):
        table.evaluate([Request(SPACE.named("densenet"))])
    lenient = Evaluator(cache, SPACE, TASK, mode="tabular", executor=executor, out_of_table="invalid")
    missing = lenient.evaluate([Request(SPACE.named("densenet"))])[0]
    assert missing.status == "invalid"
    assert cache.get_evaluation(missing.arch_hash, TASK.key(), 0) is None  # the table stays the table
    assert executor.jobs == []


@pytest.mark.slow
def test_real_training_records_everything(cache):
    ev = Evaluator(cache, SPACE, TASK)
    rec = ev.evaluate([Request(SPACE.named("chain"))])[0]
    assert rec.status == "ok"
    assert 0.0 <= rec.val_acc <= 1.0 and 0.0 <= rec.test_acc <= 1.0
    assert len(rec.curve) == TASK.epochs
    assert rec.params > 0 and rec.flops > 0 and rec.train_seconds > 0
    assert rec.device.startswith("cpu")
    assert '"torch"' in rec.versions
