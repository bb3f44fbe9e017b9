"""The evaluator: requests for replicate r of a genome under one task, answered by an objective chain.

An Evaluator answers requests for replicate r of a genome under one task. It hashes the genome
canonically and hands the (hash, replicate) keys to its chain (`harness.objectives`, built from the mode):
the stored evaluations first (the cache's, preloaded once per task, so a warm query is a dictionary
lookup), then on a miss the mode's link: training the network through an executor (`live` mode), the
table's refusal (`tabular` mode: the table is the benchmark, a miss is an error or an invalid result by
policy; the table is the cache's evaluations, or a read-only store such as a shipped table directory), or a
model fitted on the table (`surrogate` mode, `harness.surrogate_answers`: answers flagged `predicted`, never
stored as evaluations). Only the driver process writes the cache: workers return results and the evaluator
stores them.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cache.records import EvalRecord
from cache.store import Cache, library_versions
from cache.stores import EvaluationStore
from harness.executors import Executor, InlineExecutor
from harness.fused import DEFAULT_MAX_GROUP, JobGroup
from harness.objectives import MODES, OUT_OF_TABLE, build_chain
from harness.spaces.base import SearchSpace
from harness.tasks import Task
from harness.training import TrainingJob, TrainingResult

if TYPE_CHECKING:
    from harness.surrogate_answers import SurrogateAnswerer

__all__ = ["MODES", "OUT_OF_TABLE", "Evaluator", "Request"]


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
        self.chain = build_chain(
            mode,
            cache,
            space,
            task,
            versions=self.versions,
            out_of_table=out_of_table,
            surrogate_policy=surrogate_policy,
            surrogate_scope=surrogate_scope,
            table=table,
            device=device,
            data_root=data_root,
            fuse=fuse,
            max_group=max_group,
        )
        self.hits = 0
        self.surrogate: SurrogateAnswerer | None = (
            self.chain.surrogate.answerer if self.chain.surrogate is not None else None
        )

    # --- counts ---
    @property
    def trained(self) -> int:
        return self.chain.train.trained

    @property
    def predicted(self) -> int:
        return self.chain.surrogate.answered if self.chain.surrogate is not None else 0

    @property
    def absent(self) -> int:
        """Tabular mode: queries the table could not answer (out_of_table = 'invalid')."""
        return self.chain.table.answered if self.chain.table is not None else 0

    # --- lookups ---
    def arch_hash(self, genome: Any) -> str:
        return self.space.hash(genome)

    def lookup(self, arch_hash: str, replicate: int) -> EvalRecord | None:
        return self.chain.stored.get((arch_hash, replicate))

    def replicate_count(self, arch_hash: str) -> int:
        """How many replicates 0, 1, ... of a network are stored (the table's R for it)."""
        return self.chain.stored.replicate_count(arch_hash)

    # --- evaluation ---
    def evaluate(
        self, requests: Sequence[Request], on_stored: Callable[[EvalRecord], None] | None = None
    ) -> list[EvalRecord]:
        """One record per request, in order. Misses are trained together (deduplicated) and stored."""
        hashes, missing = self.answer(requests)
        if missing:
            self.chain.train.run(missing, self.executor, on_stored)
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
        for request, arch in zip(requests, hashes, strict=True):
            self.chain.archs.register(arch, request.genome)
        keys = [(arch, r.replicate) for r, arch in zip(requests, hashes, strict=True)]
        missing = self.chain.stored.missing(keys, requests, in_flight)
        self.hits += len(requests) - len(missing)
        return hashes, self.chain.resolve(missing)

    def records(self, requests: Sequence[Request], hashes: Sequence[str]) -> list[EvalRecord]:
        """The known record of every request (each must be answered by now), in order."""
        stored = self.chain.stored
        return [stored[(arch, r.replicate)] for r, arch in zip(requests, hashes, strict=True)]

    def job(self, key: tuple[str, int], request: Request) -> TrainingJob:
        """The training of replicate key[1] of the network key[0] (its seed depends on nothing else)."""
        return self.chain.train.job(key, request)

    def plan(self, jobs: Sequence[TrainingJob], min_groups: int = 1) -> list[tuple[JobGroup, Any]]:
        """Executor units for `jobs`: fused groups where the trainer fuses (bitwise equal to single trainings
        on a CPU; at least `min_groups` of them where there are enough jobs), else singles."""
        return self.chain.train.plan(jobs, min_groups)

    def store_results(
        self,
        keys: Sequence[tuple[str, int]],
        jobs: Sequence[TrainingJob],
        results: Sequence[TrainingResult],
        run_ids: Sequence[str | None],
    ) -> list[EvalRecord]:
        """Store the results of one executor job (a fused group's in one transaction); their records."""
        return self.chain.train.store_results(keys, jobs, results, run_ids)

    def flush(self) -> None:
        """Write what is buffered (architectures met in tabular/surrogate mode, surrogate answers) inside the
        caller's transaction."""
        self.chain.archs.flush()
        if self.surrogate is not None:
            self.surrogate.flush()
