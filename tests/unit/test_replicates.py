"""The replicate policy: shared (common random numbers) vs independent replicates per run."""

from __future__ import annotations

import pytest

from cache import Cache
from harness.errors import ConfigError
from harness.replicates import ReplicateMap, resolve
from harness.runner import Budget, Runner, RunSpec
from harness.spaces import get_space
from harness.tabulate import select_genomes, tabulate
from harness.tasks import preset
from tests.fakes import FakeExecutor

SPACE = get_space("genetic_cnn")
TASK = preset("digits_quick")
ARCH = "ab" * 32


def test_auto_is_independent_on_a_table_and_shared_live():
    assert resolve("auto", "tabular") == "independent"
    assert resolve("auto", "live") == "shared"
    assert resolve("shared", "tabular") == "shared"
    with pytest.raises(ConfigError):
        resolve("paired", "live")


def test_shared_is_the_algorithms_own_number():
    mapping = ReplicateMap("shared", "tabular", "e/a/0", 1, lambda _: 3)
    assert [mapping(ARCH, k) for k in range(5)] == [0, 1, 2, 3, 4]


def test_independent_on_a_table_permutes_its_replicates_per_run():
    maps = [
        ReplicateMap("independent", "tabular", f"e/a/{t}", seed, lambda _: 3)
        for t, seed in enumerate(range(40))
    ]
    for mapping in maps:
        assert sorted(mapping(ARCH, k) for k in range(3)) == [0, 1, 2]  # each run's own permutation
        assert mapping(ARCH, 3) == 3  # beyond the table: the table lacks it
        assert mapping(ARCH, 0) == mapping(ARCH, 0)  # a pure function: resumes map the same
    assert {m(ARCH, 0) for m in maps} == {0, 1, 2}  # trials do not all get replicate 0


def test_independent_live_replicates_are_fresh_per_run():
    a = ReplicateMap("independent", "live", "e/a/0", 1, lambda _: 0)
    b = ReplicateMap("independent", "live", "e/a/1", 2, lambda _: 0)
    assert a(ARCH, 0) != b(ARCH, 0) and a(ARCH, 0) != a(ARCH, 1) and a(ARCH, 0) > 0


def _specs(trials: int) -> list[RunSpec]:
    return [
        RunSpec(
            experiment="policy",
            label="rs",
            algorithm="random_search",
            params=(),
            trial=t,
            space_name="genetic_cnn",
            space_params=(),
            task=TASK,
            budget=Budget(evaluations=12),
        )
        for t in range(trials)
    ]


def test_tabular_runs_draw_their_own_replicates_from_the_table(tmp_path):
    with Cache(tmp_path / "t.duckdb") as cache:
        small = get_space("genetic_cnn", stages=(2, 2, 2))
        tiny, _ = select_genomes(small, all_classes=True)  # 2 x 2 x 2 = 8 networks
        tabulate(cache, small, TASK, tiny, 3, FakeExecutor(), progress=False)
        specs = [RunSpec(**{**s.__dict__, "space_params": (("stages", (2, 2, 2)),)}) for s in _specs(4)]
        Runner(cache, mode="tabular", replicates="auto", progress=False).run(specs)
        used = {spec.trial: [row.replicate for row in cache.trajectory(spec.run_id)] for spec in specs}
    assert all(set(reps) <= {0, 1, 2} for reps in used.values())
    assert len({r for reps in used.values() for r in reps}) == 3  # the table's replicates are all used
