"""The objective chain: each link answers or passes, and the factory composes one chain per mode."""

from __future__ import annotations

from typing import Any

import pytest

from cache import Cache
from cache.records import EvalRecord
from cache.store import library_versions
from harness.errors import CacheError, ConfigError
from harness.evaluation import Request
from harness.objectives import Stored, Surrogate, Table, Train, build_chain
from harness.spaces import get_space
from harness.tasks import preset
from tests.fakes import FakeExecutor

SPACE = get_space("genetic_cnn")
TASK = preset("digits_quick")


@pytest.fixture
def cache(tmp_path):
    with Cache(tmp_path / "c.duckdb") as c:
        yield c


def _key(name: str, replicate: int = 0) -> tuple[tuple[str, int], Request]:
    genome = SPACE.named(name)
    return (SPACE.hash(genome), replicate), Request(genome, replicate, run_id="r1")


def _record(arch: str, replicate: int, predicted: bool = False) -> EvalRecord:
    return EvalRecord(
        arch_hash=arch, task_key=TASK.key(), replicate=replicate, seed=1, status="ok", predicted=predicted
    )


def test_stored_answers_what_it_holds_and_leaves_the_rest():
    (k0, r0), (k1, r1) = _key("chain"), _key("densenet")
    stored = Stored({k0: _record(*k0)})
    missing = stored.missing([k0, k1, k1, (k1[0], 1)], [r0, r1, r1, r1], in_flight={(k1[0], 1)})
    assert list(missing) == [k1] and missing[k1] is r1  # known, duplicate and in-flight keys dropped
    stored.keep([_record(k0[0], 1), _record(k0[0], 2, predicted=True)])
    assert stored.replicate_count(k0[0]) == 2  # a predicted replicate is no measurement
    assert stored.get(k1) is None and stored[k0].replicate == 0


def test_table_raises_or_answers_invalid_by_policy():
    k, request = _key("chain")
    with pytest.raises(CacheError, match="not in the table"):
        Table(SPACE, TASK, "error").answer({k: request})
    table = Table(SPACE, TASK, "invalid")
    assert table.answer({}) is None
    (record,) = table.answer({k: request})
    assert (record.arch_hash, record.replicate, record.status, record.run_id) == (*k, "invalid", "r1")
    assert table.answered == 1
    with pytest.raises(ConfigError, match="out_of_table"):
        Table(SPACE, TASK, "guess")


def test_surrogate_answers_every_miss_through_its_answerer():
    class Answerer:
        def answer(self, requests: dict[tuple[str, int], Any]) -> list[EvalRecord]:
            return [_record(a, r, predicted=True) for a, r in requests]

    (k0, r0), (k1, r1) = _key("chain"), _key("densenet")
    link = Surrogate(Answerer())  # type: ignore[arg-type]
    records = link.answer({k0: r0, k1: r1})
    assert [(r.arch_hash, r.replicate) for r in records] == [k0, k1] and all(r.predicted for r in records)
    assert link.answered == 2 and link.answer({}) is None


def test_train_passes_and_then_trains_and_stores(cache):
    chain = build_chain("live", cache, SPACE, TASK, versions=library_versions())
    k, request = _key("chain")
    assert chain.train.answer({k: request}) is None  # a training is the caller's to run
    assert chain.resolve({k: request}) == {k: request}
    executor = FakeExecutor()
    chain.train.run({k: request}, executor)
    assert len(executor.jobs) == 1 and chain.train.trained == 1
    assert chain.stored[k] == cache.get_evaluation(k[0], TASK.key(), 0)
    assert chain.stored[k].run_id == "r1"


def test_the_first_answering_link_ends_the_chain(cache):
    chain = build_chain("tabular", cache, SPACE, TASK, versions="v", out_of_table="invalid")
    k, request = _key("chain")
    assert chain.resolve({k: request}) == {}
    assert chain.stored[k].status == "invalid" and chain.table is not None and chain.table.answered == 1
    assert cache.get_evaluation(k[0], TASK.key(), 0) is None  # answered, never stored: the table stays


def test_the_factory_composes_one_chain_per_mode(cache, monkeypatch):
    k, _ = _key("chain")
    cache.put_evaluation(_record(*k))
    live = build_chain("live", cache, SPACE, TASK, versions="v")
    assert live.links == (live.train,) and live.table is None and live.surrogate is None
    assert not live.archs.buffered and k in live.stored
    tabular = build_chain("tabular", cache, SPACE, TASK, versions="v")
    assert tabular.links == (tabular.table,) and isinstance(tabular.table, Table)
    assert tabular.archs.buffered and tabular.table.policy == "error"

    class Answerer:
        def __init__(self, cache, space, task, policy, scope="space"):
            self.policy, self.scope = policy, scope

    monkeypatch.setattr("harness.surrogate_answers.SurrogateAnswerer", Answerer)
    predicted = build_chain("surrogate", cache, SPACE, TASK, versions="v")
    assert predicted.links == (predicted.surrogate,) and predicted.surrogate is not None
    assert predicted.surrogate.answerer.policy == "predicted" and k not in predicted.stored  # all predicted
    first = build_chain("surrogate", cache, SPACE, TASK, versions="v", surrogate_policy="measured_first")
    assert k in first.stored and first.archs.buffered
    with pytest.raises(ConfigError, match="evaluation mode"):
        build_chain("oracle", cache, SPACE, TASK, versions="v")
    with pytest.raises(ConfigError, match="tabular mode only"):
        build_chain("live", cache, SPACE, TASK, versions="v", table=cache.evaluation_store)
    assert isinstance(live.train, Train)
