"""The evaluator chain: cache -> (table | surrogate) -> train.

An Evaluator answers requests for replicate r of a genome under one task. It hashes the genome
canonically, looks the (hash, task, replicate) up in the cache (preloaded once per task, so a warm query
is a dictionary lookup), and on a miss either trains the network through an executor (`live` mode) or
refuses (`tabular` mode: the table is the benchmark, a miss is an error or an invalid result by policy;
the table is the cache's evaluations, or a read-only store such as a shipped table directory),
or asks a model fitted on the table (`surrogate` mode, `harness.surrogate_answers`: answers flagged
`predicted`, never stored as evaluations).
Only the driver process writes the cache: workers return results and the evaluator stores them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cache.hashing import training_seed
from cache.records import EvalRecord
from cache.store import HOLD_INTERVAL, SLOW_RESULT, Cache, library_versions, now
from cache.stores import EvaluationStore
from cache.surrogate_store import ArchRow, put_architectures
from harness.errors import CacheError, ConfigError
from harness.executors import Executor, InlineExecutor
from harness.fused import DEFAULT_MAX_GROUP, GroupJob, JobGroup, plan_groups
from harness.spaces.base import SearchSpace
from harness.tasks import Task
from harness.training import TrainingJob, TrainingResult, freeze_params

if TYPE_CHECKING:
    from harness.surrogate_answers import SurrogateAnswerer

log = logging.getLogger(__name__)

MODES = ("live", "tabular", "surrogate")
OUT_OF_TABLE = ("error", "invalid")


@dataclass(frozen=True)
class Request:
    """Replicate `replicate` of `genome`; `run_id` is credited if this request causes a training.

    It becomes the evaluation's attempt id (`EvalRecord.attempt_id`, column `evaluations.run_id`).
    """

    genome: Any
    replicate: int = 0
    run_id: str | None = None


class Evaluator:
    """Evaluations of one (space, task) pair, backed by a cache and an executor."""

    def __init__(
        self,
        cache: Cache,
        space: SearchSpace,
        task: Task,
        mode: str = "live",
        executor: Executor | None = None,
        out_of_table: str = "error",
        device: str | None = None,
        data_root: str | None = None,
        fuse: bool = True,
        max_group: int = DEFAULT_MAX_GROUP,
        surrogate_policy: str = "predicted",
        surrogate_scope: str = "space",
        table: EvaluationStore | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"evaluation mode {mode!r} not in {MODES}")
        if out_of_table not in OUT_OF_TABLE:
            raise ConfigError(f"out_of_table policy {out_of_table!r} not in {OUT_OF_TABLE}")
        self.cache = cache
        self.space = space
        self.task = task
        self.task_key = task.key()
        self.mode = mode
        self.executor = executor or InlineExecutor()
        self.out_of_table = out_of_table
        self.device = device
        self.data_root = data_root
        self.fuse = fuse
        self.max_group = max_group
        self.versions = library_versions()
        table = table if table is not None else getattr(cache, "table", None)
        if table is not None and mode != "tabular":
            raise ConfigError(f"a table directory answers tabular mode only, not {mode!r} mode")
        self._known = (table or cache).evaluations_for_task(self.task_key)  # table: a shipped directory
        self._archs: set[str] = {arch for arch, _ in self._known}  # stored already: no insert needed
        self.trained = 0
        self.hits = 0
        self.predicted = 0
        self.absent = 0  # tabular mode: queries the table could not answer (out_of_table = 'invalid')
        self.surrogate: SurrogateAnswerer | None = None
        self._pending_archs: list[ArchRow] = []
        if not cache.read_only:
            cache.put_task(self.task_key, task.name, task.protocol(), task.dataset)
        if mode == "surrogate":
            from harness.surrogate_answers import SurrogateAnswerer

            self.surrogate = SurrogateAnswerer(cache, space, task, surrogate_policy, scope=surrogate_scope)
            if surrogate_policy == "predicted":
                self._known = {}  # every query predicted: measurements are what the model was fitted on

    # --- lookups ---
    def arch_hash(self, genome: Any) -> str:
        return self.space.hash(genome)

    def lookup(self, arch_hash: str, replicate: int) -> EvalRecord | None:
        return self._known.get((arch_hash, replicate))

    def replicate_count(self, arch_hash: str) -> int:
        """How many replicates 0, 1, ... of a network are stored (the table's R for it)."""
        count = 0
        while (arch_hash, count) in self._known and not self._known[(arch_hash, count)].predicted:
            count += 1
        return count

    # --- evaluation ---
    def evaluate(
        self, requests: Sequence[Request], on_stored: Callable[[EvalRecord], None] | None = None
    ) -> list[EvalRecord]:
        """One record per request, in order. Misses are trained together (deduplicated) and stored."""
        hashes, missing = self.answer(requests)
        if missing:
            self._train(missing, on_stored)
        return self.records(requests, hashes)

    def answer(
        self, requests: Sequence[Request], in_flight: Container[tuple[str, int]] = ()
    ) -> tuple[list[str], dict[tuple[str, int], Request]]:
        """Hash every request and answer what can be answered now: stored evaluations, the table
        (tabular mode), the surrogate. Returns the hashes and, in live mode, the (hash, replicate) keys that
        must be trained, deduplicated, without those in `in_flight` (already training for someone else),
        each with the first request that asked for it. A request answered later (in flight) counts as a hit.
        """
        hashes = [self.arch_hash(r.genome) for r in requests]
        missing: dict[tuple[str, int], Request] = {}
        for request, arch in zip(requests, hashes, strict=True):
            self._register(arch, request.genome)
            key = (arch, request.replicate)
            if key not in self._known and key not in missing and key not in in_flight:
                missing[key] = request
        self.hits += len(requests) - len(missing)
        if missing:
            if self.mode == "tabular":
                self._out_of_table(missing)
                self.absent += len(missing)
                missing = {}
            elif self.surrogate is not None:
                for record in self.surrogate.answer(missing):
                    self._known[(record.arch_hash, record.replicate)] = record
                self.predicted += len(missing)
                missing = {}
        return hashes, missing

    def records(self, requests: Sequence[Request], hashes: Sequence[str]) -> list[EvalRecord]:
        """The known record of every request (each must be answered by now), in order."""
        return [self._known[(arch, r.replicate)] for r, arch in zip(requests, hashes, strict=True)]

    def job(self, key: tuple[str, int], request: Request) -> TrainingJob:
        """The training of replicate key[1] of the network key[0] (its seed depends on nothing else)."""
        return TrainingJob(
            space_name=self.space.name,
            space_params=freeze_params(self.space.params),
            encoding=self.space.encode(request.genome),
            task=self.task,
            seed=training_seed(self.task_key, key[0], key[1]),
            device=self.device,
            data_root=self.data_root,
        )

    def plan(self, jobs: Sequence[TrainingJob], min_groups: int = 1) -> list[tuple[JobGroup, Any]]:
        """Executor units for `jobs`: fused groups where the trainer fuses (bitwise equal to single trainings
        on a CPU; at least `min_groups` of them where there are enough jobs), else singles."""
        if not self.fuse:
            groups = [JobGroup((i,), fused=False) for i in range(len(jobs))]
        else:
            planned = plan_groups(jobs, max_group=self.max_group, min_groups=max(1, min_groups))
            groups = [g if len(g.indices) > 1 else JobGroup(g.indices, fused=False) for g in planned]
        return [
            (g, GroupJob(tuple(jobs[i] for i in g.indices)) if g.fused else jobs[g.indices[0]])
            for g in groups
        ]

    def store_results(
        self,
        keys: Sequence[tuple[str, int]],
        jobs: Sequence[TrainingJob],
        results: Sequence[TrainingResult],
        run_ids: Sequence[str | None],
    ) -> list[EvalRecord]:
        """Store the results of one executor job (a fused group's in one transaction); their records."""
        records = [
            self._record(key, job.seed, result, run_id)
            for key, job, result, run_id in zip(keys, jobs, results, run_ids, strict=True)
        ]
        self._store(records)
        return records

    def flush(self) -> None:
        """Write what is buffered (architectures met in tabular/surrogate mode, surrogate answers) inside the
        caller's transaction."""
        rows, self._pending_archs = self._pending_archs, []
        put_architectures(self.cache, rows)
        if self.surrogate is not None:
            self.surrogate.flush()

    def _register(self, arch_hash: str, genome: Any) -> None:
        if arch_hash in self._archs or self.cache.read_only:
            return
        if self.mode != "live":  # many queries, no trainings: written in bulk at the next commit
            self._pending_archs.append(
                ArchRow(
                    arch_hash,
                    self.space.name,
                    self.space.version,
                    self.space.encode(genome),
                    self.space.canonical(genome),
                    self.space.params,
                    self.space.summary(genome),
                )
            )
            self._archs.add(arch_hash)
            return
        self.cache.put_architecture(
            arch_hash,
            self.space.name,
            self.space.version,
            self.space.encode(genome),
            self.space.canonical(genome),
            self.space.params,
            self.space.summary(genome),
        )
        self._archs.add(arch_hash)

    def _out_of_table(self, missing: dict[tuple[str, int], Request]) -> None:
        (arch, replicate), request = next(iter(missing.items()))
        if self.out_of_table == "error":
            raise CacheError(
                f"tabular mode: {self.space.name} network {self.space.encode(request.genome)!r} replicate "
                f"{replicate} is not in the table for task {self.task.name} ({len(missing)} missing)"
            )
        for (arch, replicate), request in missing.items():
            record = EvalRecord(
                arch_hash=arch,
                task_key=self.task_key,
                replicate=replicate,
                seed=training_seed(self.task_key, arch, replicate),
                status="invalid",
                error="not in the table (tabular mode, out_of_table='invalid')",
                run_id=request.run_id,
            )
            self._known[(arch, replicate)] = record  # answered, never stored: the table stays the table

    def _train(
        self, missing: dict[tuple[str, int], Request], on_stored: Callable[[EvalRecord], None] | None
    ) -> None:
        keys = list(missing)
        jobs = [self.job(k, missing[k]) for k in keys]
        self.cache.idle()  # readers may use the file while the networks train
        units = self.plan(jobs, min_groups=self.executor.slots)
        previous = time.perf_counter()
        for unit, result in self.executor.run([u for _, u in units]):
            arrived = time.perf_counter()
            slow, previous = arrived - previous > SLOW_RESULT, arrived
            group = units[unit][0]
            results = result if group.fused else [result]
            records = self.store_results(
                [keys[i] for i in group.indices],
                [jobs[i] for i in group.indices],
                results,
                [missing[keys[i]].run_id for i in group.indices],
            )
            self.cache.idle(0.0 if slow else HOLD_INTERVAL)  # the next result is likely as far off
            if on_stored is not None:
                for record in records:
                    on_stored(record)

    def _record(
        self, key: tuple[str, int], seed: int, result: TrainingResult, run_id: str | None
    ) -> EvalRecord:
        arch, replicate = key
        return EvalRecord(
            arch_hash=arch,
            task_key=self.task_key,
            replicate=replicate,
            seed=seed,
            status=result.status,
            error=result.error,
            val_acc=result.val_acc,
            test_acc=result.test_acc,
            train_loss=result.train_loss,
            curve=tuple(result.curve),
            train_seconds=result.train_seconds,
            device=result.device,
            versions=self.versions,
            created_at=now(),
            params=result.params,
            flops=result.flops,
            run_id=run_id,
        )

    def _store(self, records: Sequence[EvalRecord]) -> None:
        """Store the results of one executor job (a fused group's in one transaction)."""
        with self.cache.transaction():
            for record in records:
                self.cache.put_evaluation(record)
                if record.params is not None:
                    self.cache.set_architecture_size(
                        record.arch_hash, record.params, record.flops, self.task_key
                    )
        for record in records:
            self._known[(record.arch_hash, record.replicate)] = record
            self.trained += 1
            log.info(
                "stored %s replicate %d of %s (%s, %.2f s, run %s)",
                record.arch_hash[:12],
                record.replicate,
                self.task.name,
                record.status,
                record.train_seconds,
                record.run_id,
            )
