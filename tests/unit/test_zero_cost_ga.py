"""`zero_cost_ga` (Reolon): seeded, resumable, Pareto selection, a DARTS tournament every third generation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from algorithms.zero_cost_ga import SCORE_NAMES, ZeroCostGA
from harness.errors import EvonasError
from harness.spaces import get_space
from harness.training import torch_threads
from tests.fakes import FakeProxyFitness

SPACE = get_space("darts_cell", max_depth=3)


def FakeFitness(names: tuple[str, ...] = SCORE_NAMES) -> FakeProxyFitness:
    return FakeProxyFitness(SPACE, names)


PARAMS = {"pop_size": 2, "offsprings": 6, "tourn_size": 2, "generations": 3, "tournament_steps": (2, 2)}


def run(seed: int, **params) -> ZeroCostGA:
    algo = ZeroCostGA(SPACE, np.random.default_rng(seed), **{**PARAMS, **params})
    algo.bind(FakeFitness())
    with torch_threads(1):
        algo.ask(1)
    return algo


def test_one_final_network_of_the_concatenated_population() -> None:
    algo = run(0)
    assert algo.final is not None and len(algo.final.cells) == 2
    assert [r["kind"] for r in algo.history] == ["scores", "scores", "darts"]
    assert all(len(r["population"]) == 2 for r in algo.history)
    darts = algo.history[2]
    assert len(darts["alphas"]) == 2 and len(darts["alphas"][0]) == 2 and len(darts["contestants"]) == 4
    assert set(darts["population"]) <= set(darts["contestants"])
    assert algo.ask(1) == [] and not algo.finished
    algo.tell([("candidate", "outcome")])
    assert algo.finished


def test_seeded_and_exactly_resumable() -> None:
    first = run(0)
    assert SPACE.encode(run(0).final) == SPACE.encode(first.final)
    assert run(1).history != first.history
    short = run(0, generations=2)
    state = json.loads(json.dumps(short.state_dict(), allow_nan=False))
    state["asked"] = False
    resumed = ZeroCostGA(SPACE, np.random.default_rng(99), **PARAMS)
    resumed.load_state_dict(state)
    resumed.bind(FakeFitness())
    with torch_threads(1):
        resumed.ask(1)
    assert resumed.history == first.history and SPACE.encode(resumed.final) == SPACE.encode(first.final)


def test_learned_operation_weights_move() -> None:
    algo = run(0)
    assert algo.used.sum() > 2 * 8 and algo.success.sum() > 8
    assert algo.explore < 0.5


def test_misuse_is_one_clear_error() -> None:
    algo = ZeroCostGA(SPACE, np.random.default_rng(0), **PARAMS)
    with pytest.raises(EvonasError, match="bind"):
        algo.ask(1)
    with pytest.raises(EvonasError, match="darts_cell"):
        ZeroCostGA(get_space("genetic_cnn"), np.random.default_rng(0))
    with pytest.raises(EvonasError, match="proxies"):
        algo.bind(FakeFitness(names=("naswot",)))


def test_search_stops_before_a_generation_that_would_overrun_its_seconds() -> None:
    algo = run(0, search_seconds=1.5)  # the fake charges 0.25 s a query: a generation costs 8 x 0.25 = 2 s
    assert [r["generation"] for r in algo.history] == [1]  # the first always runs
    assert algo.fitness.charged_seconds == 2.0 and len(algo.final.cells) == 2
    algo = run(0, search_seconds=4.5)  # 2 + 2 <= 4.5: generation 2 runs; 4 + 2 > 4.5: generation 3 not
    assert [r["generation"] for r in algo.history] == [1, 2] and algo.fitness.charged_seconds == 4.0
    assert [r["generation"] for r in run(0, search_seconds=100.0).history] == [1, 2, 3]
    with pytest.raises(EvonasError, match="search_seconds"):
        ZeroCostGA(SPACE, np.random.default_rng(0), search_seconds=0)
