"""The objective chain behind an Evaluator: stored -> (table | surrogate | train).

A query (replicate r of a network under one task) is answered by the first link that can:

- `Stored`: the evaluations known already (the cache's, or a read-only table's, preloaded once per task, plus
  every answer given since), a dictionary lookup per (arch hash, replicate);
- then one link per mode, each asked with the misses left over (`Link.answer(missing)`: records for every
  miss, or None to pass them on):
  - `Table` (`tabular` mode): the table is the benchmark, a miss is an error or an `invalid` answer by the
    out-of-table policy; answers are kept in `Stored`, never written (the table stays the table);
  - `Surrogate` (`surrogate` mode): `harness.surrogate_answers.SurrogateAnswerer`'s predicted records,
    flagged `predicted` (policy `predicted`: every query predicted, `Stored` starts empty; `measured_first`:
    a stored measurement first);
  - `Train` (`live` mode): passes, so the misses go back to the caller to be trained (inline by
    `Evaluator.evaluate`, or by the scheduler across runs); it builds the training jobs, plans fused groups
    and stores the results in the cache and in `Stored`.

`build_chain` is the only place that reads the mode string. `Architectures` registers the networks met
(written at once in live mode, buffered to the next commit otherwise).

Proxies sit beside the chain, not in it: a zero-cost proxy answers a different question (an untrained
network's scores, not replicate r's accuracy), so an algorithm that reads proxies gets a
`harness.proxy_fitness.ProxyFitness` bound by `harness.proxy_hook.attach_proxies` on the same cache, space
and task, charged on the same simulated clock; its final network is still evaluated through this chain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cache.hashing import training_seed
from cache.records import EvalRecord
from cache.store import HOLD_INTERVAL, SLOW_RESULT, Cache, now
from cache.stores import EvaluationStore
from cache.surrogate_store import ArchRow, put_architectures
from harness.errors import CacheError, ConfigError
from harness.executors import Executor
from harness.fused import DEFAULT_MAX_GROUP, GroupJob, JobGroup, plan_groups
from harness.spaces.base import SearchSpace
from harness.tasks import Task
from harness.training import TrainingJob, TrainingResult, freeze_params

if TYPE_CHECKING:
    from harness.surrogate_answers import SurrogateAnswerer

log = logging.getLogger(__name__)

MODES = ("live", "tabular", "surrogate")
OUT_OF_TABLE = ("error", "invalid")

Key = tuple[str, int]


class Link(Protocol):
    """One objective of the chain: answers every miss (records, in any order) or passes them all (None)."""

    def answer(self, missing: Mapping[Key, Any]) -> list[EvalRecord] | None: ...


class Stored:
    """The evaluations known now: (arch hash, replicate) -> record."""

    def __init__(self, known: dict[Key, EvalRecord]) -> None:
        self.known = known

    def get(self, key: Key) -> EvalRecord | None:
        return self.known.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self.known

    def __getitem__(self, key: Key) -> EvalRecord:
        return self.known[key]

    def keep(self, records: Sequence[EvalRecord]) -> None:
        for record in records:
            self.known[(record.arch_hash, record.replicate)] = record

    def missing(
        self, keys: Sequence[Key], requests: Sequence[Any], in_flight: Container[Key] = ()
    ) -> dict[Key, Any]:
        """The keys neither known nor in flight, deduplicated, each with the first request that asked."""
        out: dict[Key, Any] = {}
        for key, request in zip(keys, requests, strict=True):
            if key not in self.known and key not in out and key not in in_flight:
                out[key] = request
        return out

    def replicate_count(self, arch_hash: str) -> int:
        """How many replicates 0, 1, ... of a network are stored as measurements."""
        count = 0
        while (arch_hash, count) in self.known and not self.known[(arch_hash, count)].predicted:
            count += 1
        return count


class Table:
    """Tabular mode: a miss is out of the table, an error or an `invalid` answer by policy."""

    def __init__(self, space: SearchSpace, task: Task, policy: str = "error") -> None:
        if policy not in OUT_OF_TABLE:
            raise ConfigError(f"out_of_table policy {policy!r} not in {OUT_OF_TABLE}")
        self.space = space
        self.task = task
        self.task_key = task.key()
        self.policy = policy
        self.answered = 0  # queries the table could not answer (policy 'invalid')

    def answer(self, missing: Mapping[Key, Any]) -> list[EvalRecord] | None:
        if not missing:
            return None
        (_arch, replicate), request = next(iter(missing.items()))
        if self.policy == "error":
            raise CacheError(
                f"tabular mode: {self.space.name} network {self.space.encode(request.genome)!r} replicate "
                f"{replicate} is not in the table for task {self.task.name} ({len(missing)} missing)"
            )
        self.answered += len(missing)
        return [
            EvalRecord(
                arch_hash=arch,
                task_key=self.task_key,
                replicate=replicate,
                seed=training_seed(self.task_key, arch, replicate),
                status="invalid",
                error="not in the table (tabular mode, out_of_table='invalid')",
                run_id=request.run_id,
            )
            for (arch, replicate), request in missing.items()
        ]


class Surrogate:
    """Surrogate mode: every miss is predicted by the model fitted on the table."""

    def __init__(self, answerer: SurrogateAnswerer) -> None:
        self.answerer = answerer
        self.answered = 0

    def answer(self, missing: Mapping[Key, Any]) -> list[EvalRecord] | None:
        if not missing:
            return None
        records = self.answerer.answer(dict(missing))
        self.answered += len(missing)
        return records


class Train:
    """Live mode: misses pass (to be trained); builds their jobs and groups, stores their results."""

    def __init__(
        self,
        cache: Cache,
        space: SearchSpace,
        task: Task,
        stored: Stored,
        versions: str,
        device: str | None = None,
        data_root: str | None = None,
        fuse: bool = True,
        max_group: int = DEFAULT_MAX_GROUP,
    ) -> None:
        self.cache = cache
        self.space = space
        self.task = task
        self.task_key = task.key()
        self.stored = stored
        self.versions = versions
        self.device = device
        self.data_root = data_root
        self.fuse = fuse
        self.max_group = max_group
        self.trained = 0

    def answer(self, missing: Mapping[Key, Any]) -> list[EvalRecord] | None:
        return None  # a training is asynchronous: the caller runs it (`run`, or the scheduler)

    def job(self, key: Key, request: Any) -> TrainingJob:
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
        """Executor units: fused groups where the trainer fuses (at least `min_groups`), else singles."""
        if not self.fuse:
            groups = [JobGroup((i,), fused=False) for i in range(len(jobs))]
        else:
            planned = plan_groups(jobs, max_group=self.max_group, min_groups=max(1, min_groups))
            groups = [g if len(g.indices) > 1 else JobGroup(g.indices, fused=False) for g in planned]
        return [
            (g, GroupJob(tuple(jobs[i] for i in g.indices)) if g.fused else jobs[g.indices[0]])
            for g in groups
        ]

    def run(
        self,
        missing: Mapping[Key, Any],
        executor: Executor,
        on_stored: Callable[[EvalRecord], None] | None = None,
    ) -> None:
        """Train the misses through `executor`, storing each unit's results as it arrives."""
        keys = list(missing)
        jobs = [self.job(k, missing[k]) for k in keys]
        self.cache.idle()  # readers may use the file while the networks train
        units = self.plan(jobs, min_groups=executor.slots)
        previous = time.perf_counter()
        for unit, result in executor.run([u for _, u in units]):
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

    def store_results(
        self,
        keys: Sequence[Key],
        jobs: Sequence[TrainingJob],
        results: Sequence[TrainingResult],
        run_ids: Sequence[str | None],
    ) -> list[EvalRecord]:
        """Store the results of one executor job (a fused group's in one transaction); their records."""
        records = [
            self._record(key, job.seed, result, run_id)
            for key, job, result, run_id in zip(keys, jobs, results, run_ids, strict=True)
        ]
        with self.cache.transaction():
            for record in records:
                self.cache.put_evaluation(record)
                if record.params is not None:
                    self.cache.set_architecture_size(
                        record.arch_hash, record.params, record.flops, self.task_key
                    )
        for record in records:
            self.stored.keep([record])
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
        return records

    def _record(self, key: Key, seed: int, result: TrainingResult, run_id: str | None) -> EvalRecord:
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


class Architectures:
    """The networks met: written at once (`buffered` False: live mode, few trainings) or in bulk at the
    next `flush` (tabular and surrogate modes: many queries, no trainings)."""

    def __init__(self, cache: Cache, space: SearchSpace, known: set[str], buffered: bool) -> None:
        self.cache = cache
        self.space = space
        self.known = known  # stored already: no insert needed
        self.buffered = buffered
        self.pending: list[ArchRow] = []

    def register(self, arch_hash: str, genome: Any) -> None:
        if arch_hash in self.known or self.cache.read_only:
            return
        space = self.space
        row = ArchRow(
            arch_hash,
            space.name,
            space.version,
            space.encode(genome),
            space.canonical(genome),
            space.params,
            space.summary(genome),
        )
        if self.buffered:
            self.pending.append(row)
        else:
            self.cache.put_architecture(
                row.arch_hash,
                row.space,
                row.space_version,
                row.encoding,
                row.canonical,
                row.space_params,
                row.summary,
            )
        self.known.add(arch_hash)

    def flush(self) -> None:
        rows, self.pending = self.pending, []
        put_architectures(self.cache, rows)


@dataclass(frozen=True)
class Chain:
    """The links of one evaluator, built from its mode by `build_chain`."""

    stored: Stored
    links: tuple[Link, ...]  # asked in order after `stored`
    train: Train  # live mode's link; its jobs, plans and stores serve every caller that trains
    archs: Architectures
    table: Table | None = None
    surrogate: Surrogate | None = None

    def resolve(self, missing: Mapping[Key, Any]) -> dict[Key, Any]:
        """Ask the links in order with the misses of `stored`; those left to train (live mode)."""
        missing = dict(missing)
        for link in self.links:
            if not missing:
                break
            records = link.answer(missing)
            if records is not None:
                self.stored.keep(records)  # answered, never stored as evaluations
                missing = {}
        return missing


def build_chain(
    mode: str,
    cache: Cache,
    space: SearchSpace,
    task: Task,
    *,
    versions: str,
    out_of_table: str = "error",
    surrogate_policy: str = "predicted",
    surrogate_scope: str = "space",
    table: EvaluationStore | None = None,
    device: str | None = None,
    data_root: str | None = None,
    fuse: bool = True,
    max_group: int = DEFAULT_MAX_GROUP,
) -> Chain:
    """The chain of one mode: stored -> table (tabular), stored -> surrogate (surrogate), stored -> train
    (live). `table` (a read-only store, e.g. a shipped table directory; default: the cache's own `table`
    if it has one) answers tabular mode only."""
    if mode not in MODES:
        raise ConfigError(f"evaluation mode {mode!r} not in {MODES}")
    table_link = Table(space, task, out_of_table)  # validates the policy in every mode
    table = table if table is not None else getattr(cache, "table", None)
    if table is not None and mode != "tabular":
        raise ConfigError(f"a table directory answers tabular mode only, not {mode!r} mode")
    known = (table or cache).evaluations_for_task(task.key())  # table: a shipped directory
    if not cache.read_only:
        cache.put_task(task.key(), task.name, task.protocol(), task.dataset)
    archs = Architectures(cache, space, {arch for arch, _ in known}, buffered=mode != "live")
    surrogate: Surrogate | None = None
    if mode == "surrogate":
        from harness.surrogate_answers import SurrogateAnswerer

        surrogate = Surrogate(SurrogateAnswerer(cache, space, task, surrogate_policy, scope=surrogate_scope))
        if surrogate_policy == "predicted":
            known = {}  # every query predicted: measurements are what the model was fitted on
    stored = Stored(known)
    train = Train(cache, space, task, stored, versions, device, data_root, fuse, max_group)
    links: tuple[Link, ...] = {
        "live": (train,),
        "tabular": (table_link,),
        "surrogate": (surrogate,),
    }[mode]  # type: ignore[assignment]
    return Chain(stored, links, train, archs, table_link if mode == "tabular" else None, surrogate)
