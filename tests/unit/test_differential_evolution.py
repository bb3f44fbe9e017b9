"""Unit tests of the differential_evolution algorithm (ask/tell loop, selection, persistence)."""

from __future__ import annotations

import hashlib
import itertools
import json
import types
from typing import Any

import numpy as np
import pytest

from algorithms import Candidate, Outcome, get_algorithm
from algorithms.differential_evolution import (
    DifferentialEvolution,
    GenerationRecord,
    pareto_front,
    selection_scores,
)
from harness.errors import EvonasError
from harness.spaces import Shape, get_space
from harness.spaces.de_sequential import DeSequentialSpace

CIFAR = Shape((3, 32, 32), 10)
SPACE = DeSequentialSpace()


def fake_fitness(encoding: str) -> float:
    """A deterministic 'accuracy' in [0, 1) from the encoding."""
    return int.from_bytes(hashlib.sha256(encoding.encode()).digest()[:4], "big") / 2**32


def outcome(genome: Any) -> Outcome:
    return Outcome(
        SPACE.hash(genome), fake_fitness(SPACE.encode(genome)), params=SPACE.count_params(genome, CIFAR)
    )


def run(algo: DifferentialEvolution, batch: int = 100) -> list[list[str]]:
    """Drive the algorithm to the end; the encodings of each ask()."""
    asked: list[list[str]] = []
    while not algo.finished:
        candidates = algo.ask(batch)
        assert candidates, "a generational algorithm with nothing outstanding must propose"
        asked.append([SPACE.encode(c.genome) for c in candidates])
        algo.tell([(c, outcome(c.genome)) for c in candidates])
    return asked


def make(seed: int = 0, **params: Any) -> DifferentialEvolution:
    algo = get_algorithm("differential_evolution", SPACE, rng=np.random.default_rng(seed), **params)
    assert isinstance(algo, DifferentialEvolution)
    return algo


def test_full_loop_counts_and_finish() -> None:
    algo = make(1)
    first = algo.ask(100)
    assert len(first) == 20 and all(isinstance(c, Candidate) and c.replicate == 0 for c in first)
    assert algo.ask(5) == []  # waiting for the initial population's results
    algo.tell([(c, outcome(c.genome)) for c in first])
    sizes = []
    while not algo.finished:
        batch = algo.ask(100)
        sizes.append(len(batch))
        assert algo.ask(1) == []
        algo.tell([(c, outcome(c.genome)) for c in batch])
        assert len(algo.population) == 20
    # 9 populations = the initial one + 8 rounds (notebook: range(2, 10)): 20 + 8 x 10 = 100 evaluations
    assert sizes == [10] * 8
    assert algo.finished and algo.ask(10) == []
    history = algo.history
    assert [r.generation for r in history] == list(range(9))
    assert [len(r.children) for r in history] == [20] + [10] * 8
    assert all(len(r.population) == 20 for r in history)
    # scores are sorted and the population is the best 20 of parents + children by score
    scores = [m.score for m in algo.population]
    assert scores == sorted(scores)
    for previous, record in itertools.pairwise(history):
        merged = list(previous.population) + list(record.children)
        errors = [1 - m.fitness for m in merged]
        params = [m.params for m in merged]
        s = selection_scores(errors, params)
        kept = {merged[i].encoding for i in np.lexsort((np.arange(len(merged)), params, errors, s))[:20]}
        assert {m.encoding for m in record.population} == kept


def test_children_are_distinct_and_built_from_the_population() -> None:
    algo = make(2)
    run(algo)
    for previous, record in itertools.pairwise(algo.history):
        parents = {m.encoding for m in previous.population}
        kids = [m.encoding for m in record.children]
        assert len(set(kids)) == len(kids) and not parents & set(kids)
        assert all(len(SPACE.decode(k).layers) <= 15 for k in kids)


def test_ask_in_pieces_and_tell_in_any_order() -> None:
    a, b = make(3), make(3)
    run(a)
    while not b.finished:
        got = b.ask(3) + b.ask(4)
        more = b.ask(100)
        b.tell([(c, outcome(c.genome)) for c in reversed(got)])
        b.tell([(c, outcome(c.genome)) for c in more])
    assert [r.to_dict() for r in a.history] == [r.to_dict() for r in b.history]


def test_determinism_per_seed() -> None:
    assert run(make(5)) == run(make(5))
    assert run(make(5)) != run(make(6))


def test_state_dict_resume_is_exact() -> None:
    reference = make(9)
    resumed_source = make(9)
    asked_reference = run(reference)
    # drive the second instance half-way: four generations, then part of the fifth handed out and told
    asked_before: list[list[str]] = []
    for _ in range(5):
        batch = resumed_source.ask(100)
        asked_before.append([SPACE.encode(c.genome) for c in batch])
        resumed_source.tell([(c, outcome(c.genome)) for c in batch])
    partial = resumed_source.ask(4)
    resumed_source.tell([(c, outcome(c.genome)) for c in partial[:2]])
    state = json.loads(json.dumps(resumed_source.state_dict()))  # plain data only
    fresh = make(12345)  # a different seed: everything must come from the state
    fresh.load_state_dict(state)
    assert fresh.population == resumed_source.population and fresh.generation == 5
    fresh.tell([(c, outcome(c.genome)) for c in partial[2:]])
    rest = fresh.ask(100)
    asked_after = [[SPACE.encode(c.genome) for c in partial + rest]]
    fresh.tell([(c, outcome(c.genome)) for c in rest])
    asked_after += run(fresh)
    assert asked_before + asked_after == asked_reference
    assert [r.to_dict() for r in fresh.history] == [r.to_dict() for r in reference.history]


def test_load_state_dict_rejects_other_parameters() -> None:
    algo = make(0)
    algo.ask(20)
    with pytest.raises(EvonasError, match="parameters"):
        make(0, population=10).load_state_dict(algo.state_dict())
    with pytest.raises(EvonasError, match="algorithm"):
        make(0).load_state_dict({**algo.state_dict(), "algorithm": "random_search"})


def test_selection_keeps_best_scores_hand_example() -> None:
    """Population 3, one child: initial fitness (0.5, 0.9, 0.7) with params (100, 300, 200) scores
    (0.7, 0.3, 0.5); a child with fitness 0.95 and 50 params scores 0 and the 0.5 member is dropped."""
    algo = make(4, population=3, children=1, generations=1, top_k=1)
    initial = algo.ask(10)
    values = [(0.5, 100), (0.9, 300), (0.7, 200)]
    algo.tell([(c, Outcome("h", f, params=p)) for c, (f, p) in zip(initial, values, strict=True)])
    assert [m.fitness for m in algo.population] == [0.9, 0.7, 0.5]
    assert [m.score for m in algo.population] == pytest.approx([0.3, 0.5, 0.7])
    (child,) = algo.ask(10)
    algo.tell([(child, Outcome("h", 0.95, params=50))])
    assert algo.finished
    assert [m.fitness for m in algo.population] == [0.95, 0.9, 0.7]
    # merged errors (0.1, 0.3, 0.5, 0.05) and params (300, 200, 100, 50), normalised and weighted by hand
    assert [m.score for m in algo.population] == pytest.approx(
        [0.0, 0.7 * 0.05 / 0.45 + 0.3 * 1.0, 0.7 * 0.25 / 0.45 + 0.3 * 150 / 250]
    )


def test_ties_keep_parents_in_order_and_invalid_counts_as_largest() -> None:
    algo = make(4, population=4, children=2, generations=1)
    initial = algo.ask(10)
    algo.tell([(c, Outcome("h", 0.5, params=1000)) for c in initial])
    before = [m.encoding for m in algo.population]
    assert before == [SPACE.encode(c.genome) for c in initial]  # all tied: kept in their order
    kids = algo.ask(10)
    algo.tell([(kids[0], Outcome("h", 0.5, params=1000)), (kids[1], Outcome("h", 0.0, status="invalid"))])
    assert [m.encoding for m in algo.population] == before
    assert algo.history[-1].children[1].params is None


def test_tell_rejects_unknown_candidates() -> None:
    algo = make(0)
    algo.ask(5)
    stranger = Candidate(SPACE.named("model1"), 0)
    with pytest.raises(EvonasError, match="not waiting for"):
        algo.tell([(stranger, Outcome("h", 0.5, params=1))])


def test_requires_a_space_with_de_mutation() -> None:
    no_de = types.SimpleNamespace(name="plain_space")
    with pytest.raises(EvonasError, match="de_mutation"):
        DifferentialEvolution(no_de, np.random.default_rng(0))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "params", [{"population": 2}, {"children": 0}, {"top_k": 0}, {"error_weight": 0, "params_weight": 0}]
)
def test_bad_parameters(params: dict[str, Any]) -> None:
    with pytest.raises(EvonasError):
        get_algorithm("differential_evolution", get_space("de_sequential"), rng=0, **params)


def test_selection_scores_edge_cases() -> None:
    np.testing.assert_allclose(selection_scores([0.2, 0.2], [10, 30]), [0.0, 0.3])
    np.testing.assert_allclose(selection_scores([0.1, 0.3], [5, 5], 0.5, 0.5), [0.0, 0.5])
    assert selection_scores([], []).size == 0
    with pytest.raises(EvonasError):
        selection_scores([0.1, 0.2], [1])
    with pytest.raises(EvonasError):
        selection_scores([float("nan")], [1])


def test_pareto_front() -> None:
    front = pareto_front([0.9, 0.8, 0.85, 0.9, 0.7], [100, 50, 120, 100, 50])
    assert front.tolist() == [0, 1, 3]
    assert pareto_front([0.5], [10]).tolist() == [0]
    assert pareto_front([0.1, 0.2, 0.3], [1, 2, 3]).tolist() == [0, 1, 2]
    assert pareto_front([0.3, 0.2, 0.1], [1, 2, 3]).tolist() == [0]
    with pytest.raises(EvonasError):
        pareto_front([0.1], [1, 2])


def test_history_records_round_trip() -> None:
    algo = make(8, generations=2)
    run(algo)
    for record in algo.history:
        assert GenerationRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    last = algo.history[-1].population
    front = pareto_front([m.fitness for m in last], [m.params for m in last])
    assert 0 < len(front) <= len(last)
