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

import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import duckdb

from cache.generations import append_generations, truncate_generations
from cache.records import EvalRecord, RunRecord
from cache.store import HOLD_INTERVAL, Cache, now
from cache.surrogate_store import put_run_surrogate, run_surrogate
from harness.errors import EvonasError
from harness.evaluation import Evaluator
from harness.executors import Executor, InlineExecutor
from harness.replicates import resolve
from harness.run_driver import (  # noqa: F401 -- re-exported: harness.runner is where callers find them
    CHECKPOINT_FORMAT,
    CHECKPOINT_SECONDS,
    MAX_CHECKPOINT_BYTES,
    STATE_VERSION,
    RunDriver,
    RunSummary,
    decode_checkpoint,
    outcome_of,
)
from harness.run_spec import Budget, RunSpec, freeze  # noqa: F401 -- re-exported likewise
from harness.scheduler import Scheduler, SchedulerStats
from harness.spaces import SearchSpace, get_space
from harness.tasks import Task

log = logging.getLogger(__name__)


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
