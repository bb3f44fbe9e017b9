"""Asynchronous scheduling of many runs' evaluations on one executor.

A client (a run: `harness.runner.RunDriver`) hands out a batch of requests and waits for all of its
records; the scheduler answers each batch as soon as it can, independently of the other runs:

- a new batch is looked up at once (`Evaluator.answer`: stored evaluations, the table, the surrogate); a
  batch that needs no training is delivered at once and the run produces its next batch;
- its misses join a map of in-flight trainings keyed by (task, arch hash, replicate), so a network asked for
  by several runs (or twice by one) is trained once: a later request waits on the training already queued or
  running, whoever asked first;
- misses wait in a queue until an executor slot is free; the misses queued at that moment are grouped
  (`Evaluator.plan`, fused groups of `harness.fused`, at least one per slot where there are enough) and the
  free slots take the first groups, one executor job each (the rest are grouped again with what arrives
  next), so every slot is busy while any run has a network to train (a stored result depends only on
  (task, arch, replicate), never on the group it trained in);
- every finished job is stored at once; each run whose batch is then complete gets its records and moves
  on, without waiting for other runs' trainings.

What a run does with its records (the simulated clock, the trajectory, its checkpoint) is its own business:
the scheduler only tells the owner (`after(client, trained)`) after each delivery and when a client finishes.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cache.records import EvalRecord
from cache.store import HOLD_INTERVAL, SLOW_RESULT
from harness.evaluation import Evaluator, Request
from harness.executors import Executor
from harness.training import TrainingJob

log = logging.getLogger(__name__)

Key = tuple[str, str, int]  # (task key, arch hash, replicate)


class Client(Protocol):
    """What the scheduler drives: a run that asks batches of requests of one evaluator."""

    evaluator: Evaluator
    done: bool

    def requests(self) -> list[Request] | None: ...

    def deliver(self, records: list[EvalRecord]) -> None: ...


@dataclass
class _Batch:
    """A client's batch while some of its networks train."""

    requests: list[Request]
    hashes: list[str]
    open: set[Key]
    trained: bool = False  # did the batch wait on a training (its own or another run's)


@dataclass
class _Flight:
    """One network to train: queued for a slot, then running in an executor job."""

    evaluator: Evaluator
    request: Request  # the first request that asked for it (credited with the training)
    waiters: list[int] = field(default_factory=list)  # client indices, one entry per batch waiting


@dataclass(frozen=True)
class _Unit:
    """One submitted executor job: a fused group or a single network."""

    evaluator: Evaluator
    keys: tuple[Key, ...]
    jobs: tuple[TrainingJob, ...]
    fused: bool


@dataclass
class SchedulerStats:
    """What the scheduler did: executor jobs, networks trained, batches delivered, the most jobs in flight."""

    jobs: int = 0
    trained: int = 0
    deliveries: int = 0
    max_in_flight: int = 0
    steps: int = 0


class Scheduler:
    """Moves a set of clients to completion on one executor (module docstring)."""

    def __init__(
        self,
        executor: Executor,
        after: Callable[[Any, bool], None] | None = None,
        on_step: Callable[[int], None] | None = None,
        on_stored: Callable[[EvalRecord], None] | None = None,
        idle: Callable[[float], None] | None = None,
    ) -> None:
        self.executor = executor
        self.after = after
        self.on_step = on_step
        self.on_stored = on_stored
        self.idle = idle
        self.stats = SchedulerStats()
        self._clients: list[Any] = []
        self._ready: deque[int] = deque()
        self._batches: dict[int, _Batch] = {}
        self._flights: dict[Key, _Flight] = {}
        self._queue: dict[Key, None] = {}  # flights without a slot yet, in the order they were asked for
        self._units: dict[int, _Unit] = {}

    @property
    def slots(self) -> int:
        return max(1, int(getattr(self.executor, "slots", 1) or 1))

    def run(self, clients: Sequence[Client]) -> None:
        """Until every client is done. On an exception the jobs in flight are cancelled and it propagates."""
        self._clients = list(clients)
        self._ready = deque(range(len(self._clients)))
        slow = False
        try:
            while self._ready or self._flights:
                for _ in range(len(self._ready)):  # every ready client once per step: fair in any mode
                    self._advance(self._ready.popleft())
                self._submit()
                if self._units:
                    if not self._ready and self.idle is not None:  # readers may use the file meanwhile
                        self.idle(0.0 if slow else HOLD_INTERVAL)
                    started = time.perf_counter()
                    done = self.executor.poll(timeout=0 if self._ready else None)
                    slow = bool(done) and time.perf_counter() - started > SLOW_RESULT
                    for ticket, result in done:
                        self._finished(ticket, result)
                elif self._flights and not self._ready:
                    raise AssertionError("networks to train but nothing queued or running")
                self.stats.steps += 1
                if self.on_step is not None:
                    self.on_step(self.stats.steps)
        except BaseException:
            if self._units:
                self.executor.cancel()
            raise

    # --- a client's batch ---
    def _advance(self, index: int) -> None:
        client = self._clients[index]
        requests = client.requests()
        if requests is None:
            self._notify(client, trained=False)
            return
        evaluator = client.evaluator
        task = evaluator.task_key
        in_flight = _Keys(self._flights, task)
        hashes, missing = evaluator.answer(requests, in_flight=in_flight)
        for (arch, replicate), request in missing.items():
            key = (task, arch, replicate)
            self._flights[key] = _Flight(evaluator, request)
            self._queue[key] = None
        open_keys = {
            (task, arch, r.replicate)
            for r, arch in zip(requests, hashes, strict=True)
            if (task, arch, r.replicate) in self._flights
        }
        if not open_keys:
            self._deliver(index, _Batch(list(requests), hashes, set()))
            return
        for key in open_keys:
            self._flights[key].waiters.append(index)
        self._batches[index] = _Batch(list(requests), hashes, open_keys, trained=True)

    def _deliver(self, index: int, batch: _Batch) -> None:
        client = self._clients[index]
        client.deliver(client.evaluator.records(batch.requests, batch.hashes))
        self.stats.deliveries += 1
        self._notify(client, trained=batch.trained)
        if not client.done:
            self._ready.append(index)

    def _notify(self, client: Any, trained: bool) -> None:
        if self.after is not None:
            self.after(client, trained)

    # --- the executor ---
    def _submit(self) -> None:
        """Fill the free slots with the queued misses, grouped as they stand now."""
        free = self.slots - len(self._units)
        while free > 0 and self._queue:
            evaluator = self._flights[next(iter(self._queue))].evaluator
            keys = [k for k in self._queue if self._flights[k].evaluator is evaluator]
            jobs = [evaluator.job((k[1], k[2]), self._flights[k].request) for k in keys]
            for group, unit in evaluator.plan(jobs, min_groups=self.slots)[:free]:
                members = tuple(keys[i] for i in group.indices)
                ticket = self.executor.submit(unit)
                self._units[ticket] = _Unit(
                    evaluator, members, tuple(jobs[i] for i in group.indices), group.fused
                )
                for key in members:
                    del self._queue[key]
                self.stats.jobs += 1
                free -= 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, len(self._units))

    def _finished(self, ticket: int, result: Any) -> None:
        unit = self._units.pop(ticket)
        results = result if unit.fused else [result]
        records = unit.evaluator.store_results(
            [(k[1], k[2]) for k in unit.keys],
            unit.jobs,
            results,
            [self._flights[k].request.run_id for k in unit.keys],
        )
        self.stats.trained += len(records)
        if self.on_stored is not None:
            for record in records:
                self.on_stored(record)
        complete: list[int] = []
        for key in unit.keys:
            for index in self._flights.pop(key).waiters:
                batch = self._batches[index]
                batch.open.discard(key)
                if not batch.open:
                    complete.append(index)
        for index in sorted(set(complete)):
            self._deliver(index, self._batches.pop(index))


class _Keys:
    """The (arch, replicate) keys of one task among the in-flight map: `in` without copying it."""

    def __init__(self, flights: dict[Key, _Flight], task: str) -> None:
        self._flights = flights
        self._task = task

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and (self._task, *key) in self._flights
