"""The asynchronous scheduler: deduplication across runs, every slot busy, each run delivered on its own;
through the Runner: the same trajectories whatever the executor's slots and completion order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from cache import Cache
from cache.verify import verify
from harness.evaluation import Evaluator, Request
from harness.executors import Executor
from harness.fused import GroupJob
from harness.runner import Budget, Runner, RunSpec, freeze
from harness.scheduler import Scheduler
from harness.spaces import get_space
from harness.tasks import preset
from tests.fakes import FakeExecutor, fake_result

SPACE = get_space("genetic_cnn")
TASK = preset("digits_quick")


class PoolExecutor(Executor):
    """`slots` jobs at once; each poll finishes one or more of the running jobs in a seeded random order
    (or the one `finish_first` picks). Records how many jobs ran at each poll and what was queued."""

    def __init__(self, slots: int, seed: int = 0) -> None:
        self.slots = slots
        self.rng = np.random.default_rng(seed)
        self.running: dict[int, Any] = {}
        self.next_ticket = 0
        self.jobs: list[Any] = []  # every network trained, in submission order
        self.busy_at_poll: list[int] = []
        self.finish_first: Any = None  # a callable picking the ticket to finish, or None (random)
        self.queued: Any = None  # a callable: how many networks wait for a slot in the scheduler
        self.polls_with_queue: list[int] = []  # jobs running at each poll while networks waited

    def run(self, jobs):
        return self._run_by_polling(jobs)

    def submit(self, job: Any) -> int:
        self.next_ticket += 1
        self.running[self.next_ticket] = job
        self.jobs.extend(job.jobs if isinstance(job, GroupJob) else [job])
        return self.next_ticket

    def poll(self, timeout: float | None = None) -> list[tuple[int, Any]]:
        self.busy_at_poll.append(len(self.running))
        if self.queued is not None and self.queued():
            self.polls_with_queue.append(len(self.running))
        if not self.running or timeout == 0:
            return []
        tickets = sorted(self.running)
        if self.finish_first is not None:
            chosen = [self.finish_first(self.running)]
        else:
            count = int(self.rng.integers(1, len(tickets) + 1))
            chosen = sorted(self.rng.choice(tickets, size=count, replace=False).tolist())
        out = []
        for ticket in chosen:
            job = self.running.pop(ticket)
            out.append(
                (
                    ticket,
                    [fake_result(m) for m in job.jobs] if isinstance(job, GroupJob) else fake_result(job),
                )
            )
        return out

    def cancel(self) -> None:
        self.running.clear()

    @property
    def in_flight(self) -> int:
        return len(self.running)


class Client:
    """A run stand-in: asks fixed batches in turn, records what it got and when."""

    def __init__(self, name: str, evaluator: Evaluator, batches: list[list[Any]], log: list) -> None:
        self.name = name
        self.evaluator = evaluator
        self.batches = [[Request(g, 0, name) for g in batch] for batch in batches]
        self.done = not self.batches
        self.received: list[list[Any]] = []
        self.log = log

    def requests(self) -> list[Request] | None:
        return None if self.done else self.batches[len(self.received)]

    def deliver(self, records: list[Any]) -> None:
        self.received.append(records)
        self.log.append(self.name)
        self.done = len(self.received) == len(self.batches)


def genomes(count: int, seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    while len(out) < count:
        genome = SPACE.sample(rng)
        out.setdefault(SPACE.hash(genome), genome)
    return list(out.values())


@pytest.fixture
def cache(tmp_path):
    with Cache(tmp_path / "c.duckdb") as c:
        yield c


def test_a_network_asked_by_several_runs_trains_once(cache):
    executor = PoolExecutor(slots=2)
    evaluator = Evaluator(cache, SPACE, TASK, executor=executor, fuse=False)
    shared = genomes(3, 1)
    log: list[str] = []
    a = Client("a", evaluator, [shared[:2], [shared[2]]], log)
    b = Client("b", evaluator, [[shared[1], shared[0]], shared[1:]], log)
    Scheduler(executor).run([a, b])
    assert len(executor.jobs) == 3  # each network once, though both runs asked for every one
    assert [r.arch_hash for r in b.received[0]] == [SPACE.hash(shared[1]), SPACE.hash(shared[0])]
    assert a.received[0][0] is b.received[0][1]  # the same stored record
    stored = cache.execute("SELECT count(*) FROM evaluations").fetchone()[0]
    assert stored == 3
    assert evaluator.trained == 3 and evaluator.hits == 4  # b's first two wait on a's; two of the last three


def test_every_slot_is_busy_while_networks_wait(cache):
    executor = PoolExecutor(slots=4, seed=3)
    evaluator = Evaluator(cache, SPACE, TASK, executor=executor, fuse=False)
    pool = genomes(40, 2)
    log: list[str] = []
    clients = [
        Client(f"r{i}", evaluator, [pool[10 * i + j : 10 * i + j + 5] for j in (0, 5)], log) for i in range(4)
    ]
    scheduler = Scheduler(executor)
    executor.queued = lambda: len(scheduler._queue)
    scheduler.run(clients)
    assert len(executor.jobs) == 40
    assert executor.polls_with_queue  # networks did wait for a slot
    assert all(busy == 4 for busy in executor.polls_with_queue)  # and then no slot was idle
    assert scheduler.stats.max_in_flight == 4
    assert all(len(c.received) == 2 for c in clients)


def test_a_run_moves_on_without_waiting_for_other_runs(cache):
    executor = PoolExecutor(slots=2)
    evaluator = Evaluator(cache, SPACE, TASK, executor=executor, fuse=False)
    pool = genomes(4, 5)
    slow_hash = SPACE.hash(pool[0])
    # b's first network is slow: the executor finishes every other job before it
    executor.finish_first = lambda running: min(
        (t for t, j in running.items() if SPACE.hash(SPACE.decode(j.encoding)) != slow_hash),
        default=min(running),
    )
    log: list[str] = []
    a = Client("a", evaluator, [[pool[1]], [pool[2]], [pool[3]]], log)
    b = Client("b", evaluator, [[pool[0]]], log)
    Scheduler(executor).run([b, a])
    assert log == ["a", "a", "a", "b"]  # a got all three batches while b's training was still running


def test_fused_groups_are_one_job_each(cache):
    executor = PoolExecutor(slots=2)
    evaluator = Evaluator(cache, SPACE, TASK, executor=executor)
    pool = genomes(8, 7)
    log: list[str] = []
    clients = [Client(f"r{i}", evaluator, [pool[4 * i : 4 * i + 4]], log) for i in range(2)]
    scheduler = Scheduler(executor)
    scheduler.run(clients)
    assert scheduler.stats.jobs == 2 and scheduler.stats.trained == 8  # 8 networks in 2 fused groups
    for i, client in enumerate(clients):  # each network's result is its own, trained in a group or not
        [records] = client.received
        for genome, record in zip(pool[4 * i : 4 * i + 4], records, strict=True):
            alone = fake_result(evaluator.job((record.arch_hash, 0), Request(genome)))
            assert record.arch_hash == SPACE.hash(genome) and record.val_acc == alone.val_acc


def spec(algorithm: str, trial: int = 0, workers: int = 1, space_params=None, **params) -> RunSpec:
    return RunSpec(
        experiment="sched",
        label=algorithm,
        algorithm=algorithm,
        params=freeze(params),
        trial=trial,
        space_name="genetic_cnn",
        space_params=freeze(space_params or {}),
        task=TASK,
        budget=Budget(evaluations=12),
        workers=workers,
    )


SPECS = [
    spec("random_search", 0),
    spec("random_search", 1, workers=2),
    spec("regularized_evolution", 0, workers=3, population=4, sample_size=2),
    spec("genetic_cnn_ga", 0, population=5, generations=3),
    spec("genetic_cnn_ga", 1, workers=2, population=5, generations=3),
]


def trajectories(path, executor) -> dict[str, list]:
    with Cache(path) as cache:
        Runner(cache, executor, progress=False).run(SPECS)
        assert verify(cache) == []
        return {s.run_id: [replace(r, wall_seconds=None) for r in cache.trajectory(s.run_id)] for s in SPECS}


def test_trajectories_do_not_depend_on_slots_or_completion_order(tmp_path):
    reference = trajectories(tmp_path / "inline.duckdb", FakeExecutor())
    for seed, slots in ((1, 3), (2, 8)):
        executor = PoolExecutor(slots=slots, seed=seed)
        assert trajectories(tmp_path / f"pool{seed}.duckdb", executor) == reference
        assert max(executor.busy_at_poll) == slots


def test_cached_is_a_property_of_the_run(tmp_path):
    """Two runs in a tiny space share networks: each run's first query of a network stored after it started
    is not cached, whichever run trained it, and `cache verify` agrees."""
    tiny = {"stages": [3], "channels": [4]}
    specs = [spec("random_search", t, space_params=tiny) for t in (0, 1)]
    with Cache(tmp_path / "t.duckdb") as cache:
        Runner(cache, PoolExecutor(slots=2, seed=4), progress=False).run(specs)
        assert verify(cache) == []
        rows = {s.run_id: cache.trajectory(s.run_id) for s in specs}
        for run_rows in rows.values():
            seen: set = set()
            for r in run_rows:
                assert r.cached is ((r.arch_hash, r.replicate) in seen)
                seen.add((r.arch_hash, r.replicate))
        shared = {r.arch_hash for r in rows[specs[0].run_id]} & {r.arch_hash for r in rows[specs[1].run_id]}
        assert shared  # the point of the test: both runs asked for some network
        for s in specs:
            cache.delete_run(s.run_id)
        Runner(cache, FakeExecutor(), progress=False).run(specs)  # a later attempt: everything stored before
        assert all(r.cached for s in specs for r in cache.trajectory(s.run_id))
        assert verify(cache) == []
