"""The runner: seeded runs, the simulated clock with W asynchronous workers, budgets, resume."""

from __future__ import annotations

import heapq
from dataclasses import replace

import pytest

from cache import Cache
from harness.runner import Budget, Runner, RunSpec, freeze
from harness.tasks import preset
from tests.fakes import FakeExecutor

TASK = preset("digits_quick")


def spec(algorithm: str, trial: int = 0, evaluations: int = 12, workers: int = 1, seconds=None, **params):
    return RunSpec(
        experiment="exp",
        label=algorithm,
        algorithm=algorithm,
        params=freeze(params),
        trial=trial,
        space_name="genetic_cnn",
        space_params=freeze({}),
        task=TASK,
        budget=Budget(evaluations=evaluations, seconds=seconds),
        workers=workers,
    )


SPECS = [
    spec("random_search", 0),
    spec("random_search", 1),
    spec("regularized_evolution", 0, population=4, sample_size=2),
    spec("genetic_cnn_ga", 0, evaluations=100, population=4, generations=2),
    spec("optuna_tpe", 0, n_startup_trials=3),
]


def run(path, specs, resume=False, executor=None, **kw):
    with Cache(path) as cache:
        runner = Runner(cache, executor or FakeExecutor(), progress=False, **kw)
        summaries = runner.run(specs, resume=resume)
        rows = {s.run_id: cache.trajectory(s.run_id) for s in specs}
    return summaries, rows


def strip(rows, *fields):
    return {k: [replace(r, **{f: None for f in fields}) for r in v] for k, v in rows.items()}


def test_same_seed_same_trajectories(tmp_path):
    _, a = run(tmp_path / "a.duckdb", SPECS)
    _, b = run(tmp_path / "b.duckdb", SPECS)
    assert strip(a, "wall_seconds") == strip(b, "wall_seconds")
    assert all(len(v) == 12 for k, v in a.items() if "genetic_cnn_ga" not in k)
    assert len(a["exp/genetic_cnn_ga/0"]) == 12  # 4 x (2 + 1) generations


def test_runs_differ_by_trial(tmp_path):
    _, rows = run(tmp_path / "a.duckdb", SPECS)
    first = [r.arch_hash for r in rows["exp/random_search/0"]]
    second = [r.arch_hash for r in rows["exp/random_search/1"]]
    assert first != second


def test_clock_charges_recorded_seconds_cached_or_not(tmp_path):
    path = tmp_path / "c.duckdb"
    _, first = run(path, SPECS)
    with Cache(path) as cache:
        for s in SPECS:
            cache.delete_run(s.run_id)
    executor = FakeExecutor()
    _, second = run(path, SPECS, executor=executor)
    assert executor.jobs == []  # the second pass trains nothing
    assert all(r.cached for v in second.values() for r in v)
    assert strip(first, "wall_seconds", "cached") == strip(second, "wall_seconds", "cached")
    with Cache(path) as cache:
        key = TASK.key()
        for run_id, rows in second.items():
            total = 0.0
            for r in rows:
                total += cache.get_evaluation(r.arch_hash, key, r.replicate).train_seconds
                if "genetic_cnn_ga" not in run_id:  # one worker: the clock is the running sum
                    assert r.sim_seconds == pytest.approx(total)


def test_asynchronous_workers_complete_in_simulated_order(tmp_path):
    path = tmp_path / "w.duckdb"
    s = spec("random_search", evaluations=10, workers=3)
    _, rows = run(path, [s])
    trajectory = rows[s.run_id]
    with Cache(path) as cache:
        durations = {
            (r.arch_hash, r.replicate): cache.get_evaluation(
                r.arch_hash, TASK.key(), r.replicate
            ).train_seconds
            for r in trajectory
        }
    assert len(trajectory) == 10
    times = [r.sim_seconds for r in trajectory]
    assert times == sorted(times)
    # the first three finish at their own durations, so the first completion is the shortest of them
    assert trajectory[0].sim_seconds == pytest.approx(
        durations[(trajectory[0].arch_hash, trajectory[0].replicate)]
    )
    # total simulated time is at most the serial time and at least the serial time / 3
    serial = sum(durations.values())
    assert serial / 3 - 1e-9 <= times[-1] <= serial


def test_list_schedule_matches_an_independent_simulation(tmp_path):
    """With W workers, completion times equal those of a plain list schedule of the asked durations."""
    path = tmp_path / "ls.duckdb"
    s = spec("random_search", evaluations=9, workers=2)
    with Cache(path) as cache:
        executor = FakeExecutor()
        Runner(cache, executor, progress=False).run([s])
        trajectory = cache.trajectory(s.run_id)
        durations = [
            cache.get_evaluation(SPACE_HASH, TASK.key(), 0).train_seconds
            for SPACE_HASH in _asked_hashes(executor)
        ]
    free = [0.0, 0.0]
    finishes = []
    for d in durations:
        start = heapq.heappop(free)
        finishes.append(start + d)
        heapq.heappush(free, start + d)
    assert [r.sim_seconds for r in trajectory] == pytest.approx(sorted(finishes))


def _asked_hashes(executor: FakeExecutor) -> list[str]:
    from harness.spaces import get_space

    space = get_space("genetic_cnn")
    return [space.hash(space.decode(j.encoding)) for j in executor.jobs]


def test_budget_in_simulated_seconds(tmp_path):
    s = spec("random_search", evaluations=None, seconds=10.0)
    _, rows = run(tmp_path / "s.duckdb", [s])
    times = [r.sim_seconds for r in rows[s.run_id]]
    assert times[-2] < 10.0 <= times[-1] or times[-1] < 10.0 + 4.0
    assert all(t < 10.0 for t in times[:-1])


def test_ga_reevaluates_with_next_replicate(tmp_path):
    s = spec("genetic_cnn_ga", evaluations=1000, population=6, generations=6)
    _, rows = run(tmp_path / "g.duckdb", [s])
    trajectory = rows[s.run_id]
    assert len(trajectory) == 42
    assert {r.generation for r in trajectory} == set(range(7))
    assert any(r.replicate > 0 for r in trajectory)


def test_resume_from_a_checkpoint_equals_an_uninterrupted_run(tmp_path):
    _, reference = run(tmp_path / "ref.duckdb", SPECS)
    path = tmp_path / "int.duckdb"

    class Interrupt(Exception):
        pass

    def stop(round_index: int) -> None:
        if round_index == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(path, SPECS, checkpoint_seconds=0.0, on_round=stop)
    executor = FakeExecutor()
    _, resumed = run(path, SPECS, resume=True, executor=executor)
    assert strip(resumed, "wall_seconds") == strip(reference, "wall_seconds")
    with Cache(path) as cache:
        assert cache.execute("SELECT count(*) FROM evaluations").fetchone()[0] == len(
            {(r.arch_hash, r.replicate) for v in reference.values() for r in v}
        )
        assert {r.status for r in cache.runs("exp")} == {"finished"}


def test_finished_runs_are_skipped_on_resume(tmp_path):
    path = tmp_path / "f.duckdb"
    run(path, SPECS)
    executor = FakeExecutor()
    summaries, _ = run(path, SPECS, resume=True, executor=executor)
    assert summaries == [] and executor.jobs == []
