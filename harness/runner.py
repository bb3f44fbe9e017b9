"""Seeded multi-trial comparisons on a simulated clock, resumable after a kill.

Each (algorithm, trial) of an experiment is a run with its own Generator, seeded from (experiment,
algorithm label, trial). A run drives its algorithm through an event queue of W simulated workers: a free
worker asks for a candidate, the candidate is evaluated (cache hit or training), and its result arrives
at `now + recorded train seconds`, cached or not, so every algorithm pays the same simulated price for the
same network whatever the cache held. Results are told in simulated completion order; the trajectory row
of a query is written when its result arrives.

Runs share one executor through the asynchronous scheduler (`harness.scheduler`): each run hands out a
batch of requests, is answered as soon as its networks are stored (a network several runs ask for trains
once), and moves on without waiting for the other runs. A generational algorithm hands out the rest of its
generation at once: it trains in parallel and is then placed on the run's W-worker timeline exactly where
asking one free worker at a time would put it. A query's `cached` flag is false exactly at the run's first
query of an evaluation that was not stored when this attempt of the run started (`RunDriver.started_at`),
whichever run trained it, so trajectories do not depend on the executor or on timing.

Every trained network is stored as soon as it finishes. Each run commits its new trajectory rows and its
checkpoint (algorithm state_dict, clock, queue) in one transaction after a batch that waited on trainings,
when it finishes, and every few seconds otherwise, so a killed process resumes each run from its last
commit: what was stored is reused, nothing stored is trained again, and the trajectories equal an
uninterrupted run's.
"""

from __future__ import annotations

import heapq
import json
import logging
import sys
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import numpy as np

from algorithms import Algorithm, Candidate, Outcome, get_algorithm
from cache.generations import GenerationRow, append_generations, truncate_generations
from cache.hashing import run_id as make_run_id
from cache.hashing import run_seed
from cache.records import EvalRecord, RunRecord, TrajectoryRow
from cache.store import HOLD_INTERVAL, Cache, now
from cache.surrogate_store import put_run_surrogate, run_surrogate
from harness.errors import CheckpointError, EvonasError
from harness.evaluation import Evaluator, Request
from harness.executors import Executor, InlineExecutor
from harness.proxy_hook import attach_proxies
from harness.replicates import ReplicateMap, resolve
from harness.scheduler import Scheduler, SchedulerStats
from harness.spaces import SearchSpace, get_space
from harness.tasks import Task

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 5.0
STATE_VERSION = 3  # 3: candidates carry tickets; the algorithm states hold them
CHECKPOINT_FORMAT = "evonas-checkpoint"
MAX_CHECKPOINT_BYTES = 256 * 1024 * 1024


def _brief(exc: BaseException, limit: int = 200) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decode_checkpoint(blob: bytes, run_id: str) -> dict[str, Any]:
    """Parse a stored checkpoint: strict JSON of our format and version, or one clear error.

    Checkpoints used to be pickles; a pickle (or anything else that is not our JSON) is refused, never
    executed: a cache file is untrusted input.
    """
    if len(blob) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"checkpoint of run {run_id} is {len(blob)} bytes, over the limit; use --restart"
        )
    try:
        state = json.loads(blob.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint of run {run_id} is not an evonas JSON checkpoint (an old pickle, or corrupt); "
            "it was not loaded: use --restart"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint of run {run_id} is not an evonas checkpoint; use --restart")
    if state.get("version") != STATE_VERSION or state.get("run_id") != run_id:
        raise CheckpointError(
            f"checkpoint of run {run_id} has version {str(state.get('version'))[:20]} for run "
            f"{str(state.get('run_id'))[:80]}; expected version {STATE_VERSION} of this run: use --restart"
        )
    return state


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class Budget:
    """Stop asking after `evaluations` queries and/or once the simulated clock passes `seconds`."""

    evaluations: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.evaluations is None and self.seconds is None:
            raise EvonasError("a budget needs evaluations or seconds")
        if self.evaluations is not None and self.evaluations < 1:
            raise EvonasError("budget evaluations must be >= 1")
        if self.seconds is not None and self.seconds <= 0:
            raise EvonasError("budget seconds must be > 0")

    def to_json(self) -> str:
        return json.dumps({"evaluations": self.evaluations, "seconds": self.seconds}, sort_keys=True)


@dataclass(frozen=True)
class RunSpec:
    """One (algorithm, trial) of an experiment, with everything that defines it."""

    experiment: str
    label: str
    algorithm: str
    params: tuple[tuple[str, Any], ...]
    trial: int
    space_name: str
    space_params: tuple[tuple[str, Any], ...]
    task: Task
    budget: Budget
    workers: int = 1
    seed_salt: int = 0

    @property
    def run_id(self) -> str:
        return make_run_id(self.experiment, self.label, self.trial)

    @property
    def seed(self) -> int:
        return run_seed(f"{self.experiment}#{self.seed_salt}", self.label, self.trial)

    def params_dict(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.params}

    def space_params_dict(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.space_params}


def _thaw(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def freeze(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


@dataclass(order=True)
class _Event:
    finish: float
    seq: int
    encoding: str = field(compare=False)
    replicate: int = field(compare=False)  # the replicate queried (after the replicate policy)
    generation: int | None = field(compare=False)
    arch_hash: str = field(compare=False)
    cached: bool = field(compare=False)
    asked: int = field(compare=False, default=0)  # the algorithm's own replicate number
    ticket: int | None = field(compare=False, default=None)  # the candidate's ticket (Algorithm.issue)


@dataclass
class RunSummary:
    run_id: str
    label: str
    trial: int
    steps: int
    best_fitness: float
    trained: int
    status: str


class RunDriver:
    """Drives one run: the simulated event queue around an algorithm, as a generator of requests."""

    def __init__(
        self, spec: RunSpec, space: SearchSpace, evaluator: Evaluator, replicates: str = "shared"
    ) -> None:
        self.spec = spec
        self.space = space
        self.evaluator = evaluator
        self.run_id = spec.run_id
        self.replicate_map = ReplicateMap(
            resolve(replicates, evaluator.mode),
            evaluator.mode,
            spec.run_id,
            spec.seed,
            evaluator.replicate_count,
        )
        # who trained an evaluation: this attempt of the run (a restart is a new attempt, a resume is not)
        self.attempt = spec.run_id
        # when this attempt started: an evaluation stored later is new to it (`cached` false at first query)
        self.started_at: datetime | None = None
        self.objective = spec.task.objective
        self.rng = np.random.default_rng(spec.seed)
        self.algorithm: Algorithm = get_algorithm(spec.algorithm, space, rng=self.rng, **spec.params_dict())
        self.proxies = attach_proxies(self.algorithm, evaluator)  # None unless it reads proxy scores
        self.now = 0.0
        self.step = 0
        self.asked = 0
        self.seq = 0
        self.pending: list[_Event] = []
        self.outstanding: list[Candidate] = []
        self.seen: set[tuple[str, int]] = set()
        self.wall_offset = 0.0
        self.wall_start = time.perf_counter()
        self.best = float("-inf")
        self.trained_here = 0
        self.buffer: list[TrajectoryRow] = []
        # the run log's generations: rows of generations completed since the last commit, and how many
        # of the algorithm's generations have been handed to the log (written with the trajectory rows)
        self.generation_buffer: list[GenerationRow] = []
        self.generations_logged = 0
        self.done = False
        self._gen: Generator[list[Request], list[EvalRecord], None] | None = None
        self._next: list[Request] | None = None

    # --- persistence: a checkpoint is strict JSON, validated before use ---
    def state(self) -> bytes:
        state = {
            "format": CHECKPOINT_FORMAT,
            "version": STATE_VERSION,
            "run_id": self.run_id,
            "algorithm": self.algorithm.state_dict(),
            "now": self.now,
            "step": self.step,
            "asked": self.asked,
            "seq": self.seq,
            "pending": [
                [
                    e.finish,
                    e.seq,
                    e.encoding,
                    e.replicate,
                    e.generation,
                    e.arch_hash,
                    e.cached,
                    e.asked,
                    e.ticket,
                ]
                for e in self.pending
            ],
            "outstanding": [
                [self.space.encode(c.genome), c.replicate, c.generation, c.ticket] for c in self.outstanding
            ],
            "seen": [list(k) for k in sorted(self.seen)],
            "wall": self.wall_offset + (time.perf_counter() - self.wall_start),
            "best": None if self.best == float("-inf") else self.best,
            "generations_logged": self.generations_logged,
        }
        try:
            return json.dumps(state, allow_nan=False, sort_keys=True).encode("utf-8")
        except (TypeError, ValueError) as exc:  # a bug in an algorithm's state_dict, not bad input
            raise TypeError(f"{self.algorithm.name} state is not plain JSON: {exc}") from exc

    def restore(self, blob: bytes) -> None:
        """Continue from a checkpoint; anything that is not one of ours is refused with one line."""
        state = decode_checkpoint(blob, self.run_id)
        try:
            self._restore(state)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, EvonasError) as exc:
            raise CheckpointError(
                f"checkpoint of run {self.run_id} does not fit this run ({_brief(exc)}); use --restart"
            ) from exc

    def _restore(self, state: dict[str, Any]) -> None:
        self.algorithm.load_state_dict(state["algorithm"])
        self.now = float(state["now"])
        self.step = int(state["step"])
        self.asked = int(state["asked"])
        self.seq = int(state["seq"])
        self.pending = [
            _Event(
                float(f),
                int(q),
                str(enc),
                int(rep),
                None if gen is None else int(gen),
                str(h),
                bool(c),
                int(a),
                _optional_int(t),
            )
            for f, q, enc, rep, gen, h, c, a, t in state["pending"]
        ]
        heapq.heapify(self.pending)
        self.outstanding = [
            Candidate(self.space.decode(enc), int(rep), _optional_int(gen), _optional_int(ticket))
            for enc, rep, gen, ticket in state["outstanding"]
        ]
        self.seen = {(str(h), int(r)) for h, r in state["seen"]}
        self.wall_offset = float(state["wall"])
        self.wall_start = time.perf_counter()
        self.best = float("-inf") if state["best"] is None else float(state["best"])
        self.generations_logged = int(state["generations_logged"])

    # --- the event loop ---
    def requests(self) -> list[Request] | None:
        """The run's next batch of requests, or None when the run is complete."""
        if self._gen is None:
            self._gen = self._loop()
            try:
                self._next = next(self._gen)
            except StopIteration:
                self._finish()
        return None if self.done else self._next

    def deliver(self, records: list[EvalRecord]) -> None:
        assert self._gen is not None
        try:
            self._next = self._gen.send(records)
        except StopIteration:
            self._finish()

    def _finish(self) -> None:
        self.done = True
        self._next = None

    def _capacity(self) -> int:
        budget = self.spec.budget
        free = self.spec.workers - len(self.pending)
        if budget.evaluations is not None:
            free = min(free, budget.evaluations - self.asked)
        if budget.seconds is not None and self.now >= budget.seconds:
            free = 0
        return max(0, free)

    def _loop(self) -> Generator[list[Request], list[EvalRecord], None]:
        while True:
            if self.outstanding:
                records = yield [
                    Request(c.genome, self._replicate(c), self.attempt) for c in self.outstanding
                ]
                self._schedule(self.outstanding, records)
                self.outstanding = []
                continue
            capacity = self._capacity()
            if capacity > 0 and self.algorithm.generational:
                # the rest of the generation at once: it trains in parallel, then takes its place on the
                # W-worker timeline (`_place`), exactly where asking one free worker at a time puts it
                candidates = self.algorithm.ask(self._left())
                self._charge_proxies()
            else:
                candidates = list(self.algorithm.ask(capacity)[:capacity]) if capacity > 0 else []
                self._charge_proxies()
            if candidates:
                self.outstanding = list(candidates)
                continue
            if not self.pending:
                if capacity > 0 and not self.algorithm.finished:
                    log.warning("%s proposed nothing and waits for nothing; stopping the run", self.run_id)
                return
            self._complete_next()

    def _left(self) -> int:
        """Queries the evaluation budget still allows (a large number under a time budget alone)."""
        evaluations = self.spec.budget.evaluations
        return (1 << 30) if evaluations is None else max(0, evaluations - self.asked)

    def _starts(self, durations: Sequence[float]) -> list[float]:
        """Simulated start of each candidate handed out now, in order, on the W workers: each starts when
        a worker frees (the pending events hold theirs, the others are free now), as long as the clock is
        still inside the time budget then; the first that would start too late ends the list."""
        free = sorted([e.finish for e in self.pending] + [self.now] * (self.spec.workers - len(self.pending)))
        heapq.heapify(free)
        seconds = self.spec.budget.seconds
        starts: list[float] = []
        for duration in durations:
            start = max(self.now, heapq.heappop(free))
            if seconds is not None and start >= seconds:
                break
            starts.append(start)
            heapq.heappush(free, start + duration)
        return starts

    def _charge_proxies(self) -> None:
        """The proxy seconds of the last ask() on the simulated clock (`harness.proxy_hook`)."""
        if self.proxies is not None:
            self.now += self.proxies.take()

    def _replicate(self, candidate: Candidate) -> int:
        if self.replicate_map.policy == "shared":
            return candidate.replicate
        return self.replicate_map(self.evaluator.arch_hash(candidate.genome), candidate.replicate)

    def _schedule(self, candidates: Sequence[Candidate], records: Sequence[EvalRecord]) -> None:
        starts = self._starts([float(r.train_seconds or 0.0) for r in records])
        for cand, rec, start in zip(candidates, records, starts, strict=False):
            key = (rec.arch_hash, rec.replicate)
            cached = not (self._new_to_attempt(rec) and key not in self.seen)
            self.seen.add(key)
            if not cached:
                self.trained_here += 1
            event = _Event(
                finish=start + float(rec.train_seconds or 0.0),
                seq=self.seq,
                encoding=self.space.encode(cand.genome),
                replicate=rec.replicate,
                asked=cand.replicate,
                generation=cand.generation,
                arch_hash=rec.arch_hash,
                cached=cached,
                ticket=cand.ticket,
            )
            self.seq += 1
            self.asked += 1
            heapq.heappush(self.pending, event)

    def _new_to_attempt(self, record: EvalRecord) -> bool:
        """Not in the cache when this attempt started: trained for it, or stored since (for any run).

        A property of the run, whichever run happened to train a network first: deterministic for a seed
        and the cache's state at the attempt's start."""
        if record.run_id == self.attempt:
            return True
        return (
            self.started_at is not None
            and record.created_at is not None
            and record.created_at > self.started_at
        )

    def _complete_next(self) -> None:
        event = heapq.heappop(self.pending)
        self.now = max(self.now, event.finish)
        record = self.evaluator.lookup(event.arch_hash, event.replicate)
        assert record is not None, "a scheduled evaluation must be known"
        outcome = outcome_of(record, self.objective)
        candidate = Candidate(self.space.decode(event.encoding), event.asked, event.generation, event.ticket)
        self.algorithm.tell([(candidate, outcome)])
        self._log_generations()
        self.best = max(self.best, outcome.fitness)
        self.buffer.append(
            TrajectoryRow(
                run_id=self.run_id,
                step=self.step,
                arch_hash=event.arch_hash,
                replicate=event.replicate,
                fitness=outcome.fitness,
                cached=event.cached,
                sim_seconds=self.now,
                wall_seconds=self.wall_offset + (time.perf_counter() - self.wall_start),
                generation=event.generation,
                encoding=event.encoding,
            )
        )
        self.step += 1

    def _log_generations(self) -> None:
        """Rows for the generations the last `tell` completed (their step: the row being written)."""
        completed = self.algorithm.generations_completed()
        if completed <= self.generations_logged:
            return
        self.generation_buffer += [
            GenerationRow(
                run_id=self.run_id,
                generation=e.generation,
                role=e.role,
                member=e.member,
                step=self.step,
                arch_hash=e.arch_hash,
                replicate=e.replicate,
                encoding=e.encoding,
                fitness=e.fitness,
                params=e.params,
                score=e.score,
            )
            for e in self.algorithm.generation_log(self.generations_logged)
        ]
        self.generations_logged = completed


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def outcome_of(record: EvalRecord, objective: str) -> Outcome:
    return Outcome(
        arch_hash=record.arch_hash,
        fitness=record.metric(objective),
        status=record.status,
        val_acc=record.val_acc,
        test_acc=record.test_acc,
        params=record.params,
        flops=record.flops,
        train_seconds=float(record.train_seconds or 0.0),
        predicted=record.predicted,
    )


class Runner:
    """Runs a set of RunSpecs against a cache, asynchronously on one executor, with checkpoints."""

    def __init__(
        self,
        cache: Cache,
        executor: Executor | None = None,
        mode: str = "live",
        out_of_table: str = "error",
        replicates: str = "auto",
        device: str | None = None,
        data_root: str | None = None,
        progress: bool | None = None,
        surrogate_policy: str = "predicted",
        surrogate_scope: str = "space",
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
        on_round: Callable[[int], None] | None = None,
    ) -> None:
        self.cache = cache
        self.executor = executor or InlineExecutor()
        self.mode = mode
        self.out_of_table = out_of_table
        self.replicates = resolve(replicates, mode)
        self.surrogate_policy = surrogate_policy
        self.surrogate_scope = surrogate_scope
        self.device = device
        self.data_root = data_root
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.checkpoint_seconds = checkpoint_seconds
        self.on_round = on_round
        self.stats = SchedulerStats()  # of the last `run`
        self._evaluators: dict[tuple[str, str, str], Evaluator] = {}

    def evaluator(self, space: SearchSpace, task: Task) -> Evaluator:
        key = (space.name, json.dumps(space.params, sort_keys=True), task.key())
        if key not in self._evaluators:
            self._evaluators[key] = Evaluator(
                self.cache,
                space,
                task,
                self.mode,
                self.executor,
                out_of_table=self.out_of_table,
                device=self.device,
                data_root=self.data_root,
                surrogate_policy=self.surrogate_policy,
                surrogate_scope=self.surrogate_scope,
            )
        return self._evaluators[key]

    @property
    def trained(self) -> int:
        """Networks trained by this runner so far (all evaluators)."""
        return sum(e.trained for e in self._evaluators.values())

    @property
    def hits(self) -> int:
        """Queries answered from the cache so far (all evaluators)."""
        return sum(e.hits for e in self._evaluators.values())

    @property
    def absent(self) -> int:
        """Tabular queries the table could not answer (answered invalid), all evaluators."""
        return sum(e.absent for e in self._evaluators.values())

    @property
    def predicted(self) -> int:
        """Queries answered by a surrogate so far (all evaluators)."""
        return sum(e.predicted for e in self._evaluators.values())

    # --- setting runs up ---
    def _driver(self, spec: RunSpec, resume: bool) -> RunDriver | None:
        space = get_space(spec.space_name, **spec.space_params_dict())
        driver = RunDriver(spec, space, self.evaluator(space, spec.task), self.replicates)
        existing = self.cache.get_run(spec.run_id)
        if existing is not None and existing.status == "finished":
            if resume:
                return None
            raise EvonasError(f"run {spec.run_id} already finished in {self.cache.path}")
        checkpoint = self.cache.load_checkpoint(spec.run_id) if existing is not None else None
        started_at = existing.started_at if existing is not None else now()
        driver.attempt = f"{spec.run_id}@{started_at.isoformat()}"
        driver.started_at = started_at
        with self.cache.transaction():
            if checkpoint is not None:
                step, blob = checkpoint
                driver.restore(blob)
                self.cache.truncate_trajectory(spec.run_id, step)
                truncate_generations(self.cache, spec.run_id, step)  # the run log, like the trajectory
                log.info("resuming %s at step %d", spec.run_id, step)
            else:
                self.cache.truncate_trajectory(spec.run_id, 0)
                truncate_generations(self.cache, spec.run_id, 0)
            self.cache.put_run(
                RunRecord(
                    run_id=spec.run_id,
                    experiment=spec.experiment,
                    algorithm=spec.label,
                    params=json.dumps(spec.params_dict(), sort_keys=True),
                    space=spec.space_name,
                    task_key=spec.task.key(),
                    trial=spec.trial,
                    seed=spec.seed,
                    budget=spec.budget.to_json(),
                    status="running",
                    started_at=started_at,
                    space_params=json.dumps(spec.space_params_dict(), sort_keys=True),
                    algorithm_name=spec.algorithm,
                    objective=spec.task.objective,
                    workers=spec.workers,
                )
            )
            self._record_surrogate(driver, existing is not None and checkpoint is not None)
        return driver

    def _record_surrogate(self, driver: RunDriver, resuming: bool) -> None:
        """Which model a surrogate-mode run asks; a resumed run must ask the model it started with."""
        surrogate = driver.evaluator.surrogate
        if surrogate is None:
            return
        before = run_surrogate(self.cache, driver.run_id)
        if resuming and before is not None and before[0] != surrogate.model_id:
            raise EvonasError(
                f"run {driver.run_id} started on surrogate model {before[0]}, but the table now gives model "
                f"{surrogate.model_id} (the table changed): pass --restart to run it again"
            )
        put_run_surrogate(self.cache, driver.run_id, surrogate.model_id, surrogate.policy)

    # --- the schedule ---
    def run(self, specs: Sequence[RunSpec], resume: bool = False) -> list[RunSummary]:
        """Every run to completion, each at its own pace on the shared executor (`harness.scheduler`).

        A run commits its new trajectory rows and its checkpoint in one transaction after a batch that waited
        on trainings and when it finishes; every `checkpoint_seconds` the other runs commit too. `on_round`
        is called after each scheduler step (its index), between commits."""
        drivers = [d for d in (self._driver(s, resume) for s in specs) if d is not None]
        total = sum(d.spec.budget.evaluations or 0 for d in drivers) or None
        bar = _progress_bar(total, sum(d.step for d in drivers), self.progress)
        shown = {id(d): d.step for d in drivers}
        last_commit = time.perf_counter()

        def after(driver: RunDriver, trained: bool) -> None:
            if bar is not None:
                bar.update(driver.step - shown[id(driver)])
                shown[id(driver)] = driver.step
            if trained or driver.done:  # a kill loses no training this run has seen
                self._commit([driver])

        def on_step(step: int) -> None:
            nonlocal last_commit
            if time.perf_counter() - last_commit > self.checkpoint_seconds:
                self._commit([d for d in drivers if not d.done])
                last_commit = time.perf_counter()
            if self.on_round is not None:
                self.on_round(step)

        def on_stored(_: EvalRecord) -> None:
            if bar is not None:
                bar.set_postfix_str(f"trained {self.trained}")

        scheduler = Scheduler(
            self.executor, after=after, on_step=on_step, on_stored=on_stored, idle=self.cache.idle
        )
        try:
            scheduler.run(drivers)
        except BaseException:
            self._mark_interrupted(drivers)
            raise
        finally:
            if bar is not None:
                bar.close()
        self.stats = scheduler.stats
        return [self._summary(d) for d in drivers]

    def _mark_interrupted(self, drivers: Sequence[RunDriver]) -> None:
        """Best effort: unfinished runs say so (their last checkpoint stays valid for --resume)."""
        try:
            with self.cache.transaction():
                for driver in drivers:
                    if not driver.done:
                        self.cache.set_run_status(driver.run_id, "interrupted")
            self.cache.idle()
        except (EvonasError, duckdb.Error) as exc:  # the cache itself may be what failed
            log.warning("could not mark unfinished runs as interrupted: %s", exc)

    def _commit(self, drivers: Sequence[RunDriver]) -> None:
        with self.cache.transaction():
            for evaluator in self._evaluators.values():
                evaluator.flush()
            for driver in drivers:
                self.cache.append_trajectory(driver.buffer)
                driver.buffer = []
                append_generations(self.cache, driver.generation_buffer)  # generations: with their rows
                driver.generation_buffer = []
                self.cache.save_checkpoint(driver.run_id, driver.step, driver.state())
                if driver.done:
                    self.cache.set_run_status(driver.run_id, "finished", finished=True)
        self.cache.idle(HOLD_INTERVAL)

    def _summary(self, driver: RunDriver) -> RunSummary:
        return RunSummary(
            run_id=driver.run_id,
            label=driver.spec.label,
            trial=driver.spec.trial,
            steps=driver.step,
            best_fitness=driver.best,
            trained=driver.trained_here,
            status="finished" if driver.done else "running",
        )


def _progress_bar(total: int | None, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="eval", dynamic_ncols=True, file=sys.stderr)
