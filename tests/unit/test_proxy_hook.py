"""The runner's proxy hook: zero_cost_ga under `Runner` (scores stored, seconds charged, resume)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import algorithms.zero_cost_ga as zero_cost_ga
import harness.proxies_store as proxies_store
import harness.proxy_hook as proxy_hook
from algorithms import get_algorithm
from cache import Cache
from harness.evaluation import Evaluator
from harness.proxy_fitness import ProxyFitness
from harness.proxy_hook import ProxyCharge, UsesProxies, attach_proxies
from harness.runner import Budget, Runner, RunSpec, freeze
from harness.spaces import get_space
from harness.tasks import preset
from tests.fakes import FakeExecutor

TASK = preset("digits_quick")
SPACE_PARAMS = {"max_depth": 2}
GA = {"pop_size": 2, "offsprings": 4, "tourn_size": 2, "generations": 2, "darts_every": 2}
SECONDS = {"ntk_cond": 0.5, "naswot": 0.125, "grad_corr": 0.25, "params": 0.0625, "synflow": 0.03125}


def spec(algorithm: str = "zero_cost_ga", trial: int = 0, **params) -> RunSpec:
    return RunSpec(
        experiment="zc",
        label=algorithm,
        algorithm=algorithm,
        params=freeze(
            {**GA, "tournament_steps": [2, 1], **params} if algorithm == "zero_cost_ga" else params
        ),
        trial=trial,
        space_name="darts_cell",
        space_params=freeze(SPACE_PARAMS),
        task=TASK,
        budget=Budget(evaluations=4),
    )


_VALUES: dict[tuple, dict] = {}


class _Ticks:
    """A clock that advances 0.5 s per reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 0.5
        return self.now


class Killed(Exception):
    pass


@pytest.fixture
def fixed_seconds(monkeypatch):
    """Proxy scores as computed, with fixed recorded seconds (measured ones differ between caches), and
    a counter of networks scored; `calls["kill_at"]` raises Killed at that network."""
    calls = {"n": 0, "kill_at": None}
    original = proxies_store._score_one

    def score_one(space, genome, task, seed, x, y, names):
        calls["n"] += 1
        if calls["kill_at"] is not None and calls["n"] >= calls["kill_at"]:
            raise Killed
        key = (space.encode(genome), task.key(), seed, tuple(names))
        if key not in _VALUES:  # deterministic: computed once for all the caches of this module
            _VALUES[key] = original(space, genome, task, seed, x, y, names)
        return {name: (value, SECONDS[name]) for name, (value, _) in _VALUES[key].items()}

    monkeypatch.setattr(proxies_store, "_score_one", score_one)
    monkeypatch.setattr(zero_cost_ga, "time", _Ticks())  # every DARTS tournament takes 0.5 s
    return calls


@pytest.fixture
def fitnesses(monkeypatch):
    """Every ProxyFitness the hook builds."""
    made: list[ProxyFitness] = []

    class Recorded(ProxyFitness):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(proxy_hook, "ProxyFitness", Recorded)
    return made


def run(path, specs, resume=False, **kw):
    with Cache(path) as cache:
        Runner(cache, FakeExecutor(), progress=False, **kw).run(specs, resume=resume)
        rows = {s.run_id: cache.trajectory(s.run_id) for s in specs}
        proxies = cache.execute("SELECT count(*), count(DISTINCT arch_hash) FROM proxies").fetchone()
    return rows, proxies


def strip(rows):
    return {k: [replace(r, wall_seconds=None) for r in v] for k, v in rows.items()}


def test_only_algorithms_that_read_proxies_get_a_fitness(tmp_path) -> None:
    space = get_space("darts_cell", **SPACE_PARAMS)
    zc = get_algorithm("zero_cost_ga", space, rng=0, **GA)
    rs = get_algorithm("random_search", space, rng=0)
    assert isinstance(zc, UsesProxies) and not isinstance(rs, UsesProxies)
    with Cache(tmp_path / "c.duckdb") as cache:
        evaluator = Evaluator(cache, space, TASK)
        assert attach_proxies(rs, evaluator) is None
        charge = attach_proxies(zc, evaluator)
        assert charge is not None and zc.fitness is charge.fitness
        assert charge.fitness.names == zc.proxy_names and charge.fitness.seed == zc.proxy_seed == 0


def test_charge_hands_out_each_second_once() -> None:
    class Fit:
        charged_seconds = 2.0

    fit = Fit()
    charge = ProxyCharge(fit)  # type: ignore[arg-type]
    assert charge.take() == 0.0
    fit.charged_seconds = 5.5
    assert charge.take() == 3.5 and charge.take() == 0.0


def test_zero_cost_ga_under_the_runner(tmp_path, fixed_seconds, fitnesses) -> None:
    rows, (stored, networks) = run(tmp_path / "a.duckdb", [spec(), spec("random_search")])
    (final,) = rows["zc/zero_cost_ga/0"]  # one network per search: the final one, trained
    (fitness,) = fitnesses
    assert fitness.queries > networks > 0 and stored == 4 * networks  # every score stored, once
    tournament = 0.5  # generation 2 of 2 (darts_every 2): two readings of the test clock
    per_query = sum(SECONDS[n] for n in fitness.names)
    assert fitness.charged_seconds == pytest.approx(per_query * fitness.queries + tournament)
    with Cache(tmp_path / "a.duckdb") as cache:
        record = cache.evaluations_for_task(TASK.key())[(final.arch_hash, 0)]
    # the clock: the search's proxy seconds (cached or not), then the final network's training
    assert final.sim_seconds == pytest.approx(fitness.charged_seconds + record.train_seconds)
    space = get_space("darts_cell", **SPACE_PARAMS)
    assert len(space.decode(final.encoding).cells) == GA["pop_size"] and final.generation == 2
    assert len(rows["zc/random_search/0"]) == 4  # the other run is untouched by the hook
    assert rows["zc/random_search/0"][0].sim_seconds < final.sim_seconds


def test_killed_mid_search_resumes_to_the_same_trajectory(tmp_path, fixed_seconds) -> None:
    reference, _ = run(tmp_path / "ref.duckdb", [spec()])
    fixed_seconds["n"], fixed_seconds["kill_at"] = 0, 4
    with pytest.raises(Killed):
        run(tmp_path / "int.duckdb", [spec()])
    with Cache(tmp_path / "int.duckdb") as cache:  # the three scored before the kill are stored
        assert cache.execute("SELECT count(DISTINCT arch_hash) FROM proxies").fetchone()[0] == 3
    fixed_seconds["n"], fixed_seconds["kill_at"] = 0, None
    resumed, (_, networks) = run(tmp_path / "int.duckdb", [spec()], resume=True)
    assert strip(resumed) == strip(reference)
    assert fixed_seconds["n"] == networks - 3  # nothing stored is scored again


def test_killed_after_the_search_resumes_to_the_same_trajectory(tmp_path, fixed_seconds) -> None:
    specs = [spec(), spec(trial=1)]
    reference, _ = run(tmp_path / "ref.duckdb", specs)

    def stop(round_index: int) -> None:
        if round_index == 1:
            raise Killed

    with pytest.raises(Killed):
        run(tmp_path / "int.duckdb", specs, checkpoint_seconds=0.0, on_round=stop)
    fixed_seconds["n"] = 0
    resumed, _ = run(tmp_path / "int.duckdb", specs, resume=True)
    assert strip(resumed) == strip(reference) and fixed_seconds["n"] == 0
    assert reference["zc/zero_cost_ga/0"] != reference["zc/zero_cost_ga/1"]
    assert np.isfinite([r.fitness for v in resumed.values() for r in v]).all()


def test_prefiltered_evolution_pays_for_every_draw(tmp_path, fixed_seconds) -> None:
    params = {"population": 2, "sample_size": 2}
    filtered = spec("regularized_evolution", **params, prefilter="synflow", prefilter_k=3)
    plain = spec("regularized_evolution", **params)
    rows, (stored, networks) = run(tmp_path / "p.duckdb", [filtered])
    assert stored == networks >= 3 and fixed_seconds["n"] == networks  # synflow only, stored once each
    first = rows[filtered.run_id][0]
    with Cache(tmp_path / "p.duckdb") as cache:
        train = cache.evaluations_for_task(TASK.key())[(first.arch_hash, 0)].train_seconds
    assert first.sim_seconds == pytest.approx(3 * SECONDS["synflow"] + train)  # 3 draws scored, then trained
    plain_rows, (none, _) = run(tmp_path / "q.duckdb", [plain])
    assert none == 0 and len(plain_rows[plain.run_id]) == len(rows[filtered.run_id]) == 4
