"""Every algorithm on every space it supports: ask/tell, seeded determinism, exact resume from state_dict."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from algorithms import Outcome, algorithm_names, get_algorithm
from harness.errors import EvonasError, UnknownNameError
from harness.proxy_hook import UsesProxies
from harness.spaces import Shape, get_space
from tests.fakes import FakeProxyFitness

DIGITS = Shape((1, 8, 8), 10)

SPACES = {
    "genetic_cnn": {},
    "macro_re": {"channels": 8},
    "de_sequential": {"max_pools": 3, "max_channels": 32},
    "renas_cell": {"filters": 4, "cells": 1},
    "darts_cell": {"max_depth": 3},
}
ZERO_COST = {
    "pop_size": 2,
    "offsprings": 4,
    "tourn_size": 2,
    "generations": 2,
    "darts_every": 2,
    "tournament_steps": (2, 1),
}
PAIRS = [
    ("random_search", "genetic_cnn", {}),
    ("random_search", "macro_re", {}),
    ("random_search", "de_sequential", {}),
    ("regularized_evolution", "genetic_cnn", {"population": 5, "sample_size": 2}),
    ("regularized_evolution", "macro_re", {"population": 5, "sample_size": 2}),
    ("regularized_evolution", "de_sequential", {"population": 5, "sample_size": 2}),
    ("genetic_cnn_ga", "genetic_cnn", {"population": 6, "generations": 3}),
    ("differential_evolution", "de_sequential", {"population": 6, "children": 3, "generations": 3}),
    ("optuna_tpe", "genetic_cnn", {"n_startup_trials": 4}),
    ("optuna_tpe", "macro_re", {"n_startup_trials": 4}),
    ("optuna_tpe", "de_sequential", {"n_startup_trials": 4}),
    ("optuna_random", "genetic_cnn", {}),
    ("optuna_random", "macro_re", {}),
    ("optuna_random", "de_sequential", {}),
    ("optuna_nsga2", "genetic_cnn", {"population_size": 4}),
    ("optuna_nsga2", "macro_re", {"population_size": 4}),
    ("optuna_nsga2", "de_sequential", {"population_size": 4}),
    ("renas", "renas_cell", {"population": 5, "sample_size": 2, "embedding": 16, "hidden": 16}),
    ("renas", "renas_cell", {"variant": "rl", "population": 5, "embedding": 16, "hidden": 16}),
    ("regularized_evolution", "renas_cell", {"population": 5, "sample_size": 2}),
    ("zero_cost_ga", "darts_cell", ZERO_COST),
    ("random_search", "darts_cell", {}),
    ("regularized_evolution", "darts_cell", {"population": 5, "sample_size": 2}),
    ("regularized_evolution", "darts_cell", {"population": 5, "sample_size": 2, "prefilter": "synflow"}),
]
# algorithms that search without training and propose one network per run (their final one)
ONE_NETWORK = {"zero_cost_ga"}


def fitness(space, genome) -> Outcome:
    """A deterministic stand-in for training: depends on the network, not on who asks."""
    h = space.hash(genome)
    ok = space.is_valid(genome, DIGITS).ok
    value = (int(h[:8], 16) % 1000) / 1000 if ok else 0.0
    return Outcome(h, value, "ok" if ok else "invalid", value, value, int(h[8:12], 16), 1, 1.0)


def drive(algo, steps: int, batch: int = 3) -> list[str]:
    """Ask/tell for `steps` evaluations; returns the encodings asked, in order."""
    asked = []
    pending = []
    while len(asked) < steps and not algo.finished:
        cands = algo.ask(min(batch, steps - len(asked)))
        if not cands:
            if not pending:
                break
            algo.tell(pending)
            pending = []
            continue
        for c in cands:
            asked.append(algo.space.encode(c.genome))
            pending.append((c, fitness(algo.space, c.genome)))
        if len(pending) >= batch:
            algo.tell(pending)
            pending = []
    if pending:
        algo.tell(pending)
    return asked


def make(name, space_name, params, seed=0):
    space = get_space(space_name, **SPACES[space_name])
    algo = get_algorithm(name, space, rng=np.random.default_rng(seed), **params)
    if isinstance(algo, UsesProxies) and algo.proxy_names:  # what the runner's hook does
        algo.bind(FakeProxyFitness(space, algo.proxy_names))
    return algo


def test_every_registered_algorithm_is_covered():
    assert {p[0] for p in PAIRS} == set(algorithm_names())


@pytest.mark.parametrize(("name", "space_name", "params"), PAIRS, ids=[f"{a}-{s}" for a, s, _ in PAIRS])
def test_seeded_and_resumable(name, space_name, params):
    first = drive(make(name, space_name, params), 16)
    assert len(first) == 1 if name in ONE_NETWORK else len(first) >= 12
    assert drive(make(name, space_name, params), 16) == first  # same seed, same proposals
    assert drive(make(name, space_name, params, seed=1), 16) != first

    algo = make(name, space_name, params)
    head = drive(algo, 7)
    text = json.dumps(algo.state_dict(), allow_nan=False)  # plain JSON: the state is stored as such
    clone = make(name, space_name, params, seed=99)  # a different seed: everything must come from the state
    clone.load_state_dict(json.loads(text))
    assert head + drive(clone, 9) == head + drive(algo, 9)


@pytest.mark.parametrize("space_name", sorted(SPACES))
def test_optuna_suggest_produces_genomes_of_the_space(space_name):
    import optuna

    space = get_space(space_name, **SPACES[space_name])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(20):
        genome = space.suggest(study.ask())
        assert space.decode(space.encode(genome)) == genome
        validity = space.is_valid(genome, DIGITS)
        assert validity.ok or validity.reason


def test_regularized_evolution_ages_out_the_oldest():
    algo = make("regularized_evolution", "genetic_cnn", {"population": 4, "sample_size": 2})
    drive(algo, 10, batch=1)
    assert len(algo.population) == 4
    assert algo.told == 10


def test_regularized_evolution_presets():
    space = get_space("genetic_cnn")
    algo = get_algorithm("regularized_evolution", space, rng=0, preset="kyriakides2020")
    assert algo.params == {
        "preset": "kyriakides2020",
        "population": 100,
        "sample_size": 25,
        "cycles": 400,
        "replacement": True,
    }
    assert get_algorithm("regularized_evolution", space, preset="kyriakides2020_code").cycles == 1000
    assert get_algorithm("regularized_evolution", space, preset="kyriakides2020_random").sample_size == 1
    with pytest.raises(UnknownNameError):
        get_algorithm("regularized_evolution", space, preset="nope")
    with pytest.raises(EvonasError):
        get_algorithm("regularized_evolution", space, sample_size=5, population=3, replacement=False)


def test_regularized_evolution_stops_after_its_cycles():
    algo = make("regularized_evolution", "genetic_cnn", {"population": 3, "sample_size": 2, "cycles": 4})
    asked = drive(algo, 100, batch=1)
    assert len(asked) == 7 and algo.finished


def test_tournament_with_replacement_prefers_the_best():
    """Sample size S with replacement: the best of P members is the parent with prob 1 - (1 - 1/P)^S."""
    space = get_space("genetic_cnn")
    algo = get_algorithm(
        "regularized_evolution", space, rng=np.random.default_rng(5), population=10, sample_size=3
    )
    members = [space.sample(np.random.default_rng(i)) for i in range(10)]
    for i, g in enumerate(members):
        algo.tell([(algo.ask(1)[0], Outcome(space.hash(g), i / 10))])
        algo.population[-1] = (space.encode(g), i / 10)
    best = space.encode(members[-1])
    hits = sum(space.encode(algo._parent()) == best for _ in range(3000))
    assert stats.binomtest(hits, 3000, 1 - 0.9**3).pvalue > 1e-3


def test_state_dicts_are_strict_json():
    """Every algorithm's state is plain JSON (no NaN/inf, no bytes): nothing stored is ever unpickled."""
    for name, space_name, params in PAIRS:
        algo = make(name, space_name, params)
        drive(algo, 5)
        json.dumps(algo.state_dict(), allow_nan=False)  # raises on bytes, objects, NaN and infinities


def test_genetic_cnn_ga_rejects_other_spaces():
    with pytest.raises(EvonasError, match="genetic_cnn"):
        make("genetic_cnn_ga", "macro_re", {})


def test_regularized_evolution_prefilter_keeps_the_best_of_k_draws():
    space = get_space("darts_cell", **SPACES["darts_cell"])
    params = {"population": 3, "sample_size": 2, "prefilter": "grad_corr", "prefilter_k": 4}
    algo = make("regularized_evolution", "darts_cell", params)
    assert algo.proxy_names == ("grad_corr",) and algo.params["prefilter_k"] == 4
    twin = get_algorithm(
        "regularized_evolution", space, rng=np.random.default_rng(0), population=3, sample_size=2
    )
    proposals = drive(algo, 6, batch=1)
    assert algo.fitness.queries == 4 * 6  # every proposal scored its k draws
    # the same generator, unfiltered: the first proposal is its first of four draws; filtered, the best
    draws = [space.sample(twin.rng) for _ in range(4)]
    scores = [row["grad_corr"] for row in algo.fitness.scores(draws)]
    assert proposals[0] == space.encode(draws[scores.index(min(scores))])  # grad_corr: lower is better
    assert get_algorithm("regularized_evolution", space, rng=0).proxy_names == ()
    with pytest.raises(UnknownNameError):
        get_algorithm("regularized_evolution", space, rng=0, prefilter="nope")
    with pytest.raises(EvonasError, match="prefilter_k"):
        get_algorithm("regularized_evolution", space, rng=0, prefilter="naswot", prefilter_k=1)
