"""One run on the simulated clock: the event queue of W simulated workers around an algorithm.

A `RunDriver` is a generator of request batches (`requests()` / `deliver(records)`): a free simulated
worker asks the algorithm for a candidate, the candidate is evaluated (cache hit or training, by whoever
drives the batches: `harness.scheduler`), and its result arrives at `now + recorded train seconds`, cached
or not. Results are told in simulated completion order; the trajectory row of a query is written when its
result arrives. Its checkpoint (`state()` / `restore()`) is strict JSON, validated before use.
"""

from __future__ import annotations

import heapq
import json
import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from algorithms import Algorithm, Candidate, Outcome, get_algorithm
from cache.generations import GenerationRow
from cache.records import EvalRecord, TrajectoryRow
from harness.errors import CheckpointError, EvonasError
from harness.evaluation import Evaluator, Request
from harness.proxy_hook import attach_proxies
from harness.replicates import ReplicateMap, resolve
from harness.run_spec import RunSpec
from harness.spaces import SearchSpace

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
