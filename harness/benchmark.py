"""`Benchmark`: one (search space, task) pair over a cache, queried like NATS-Bench's `query`.

```python
from harness import Benchmark

bench = Benchmark("genetic_cnn", "digits", cache="evonas.duckdb")  # a cache holding the digits table
result = bench.query("1-01 0-01-010 1-01-101-0001", replicate=0)
result.val_acc, result.test_acc, result.train_seconds, result.param_count
frame = bench.table()  # every stored evaluation of the pair (pandas; arrow=True for pyarrow)
```

Answers come from the cache (the imported table). `on_miss` says what a network the cache lacks gets:
`"error"` (the default: one CacheError line), `"invalid"` (an invalid result, stored nowhere), `"train"` (it
is trained now, on this machine, and stored like any evaluation), `"predict"` (the surrogate model fitted
on the table answers, flagged `predicted`). The evaluations go through the same `harness.evaluation.Evaluator`
as every run, so a query returns exactly what a run asking for that (network, replicate) gets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from algorithms.base import Candidate, Observation
from cache.records import EvalRecord
from harness.errors import ConfigError
from harness.evaluation import Evaluator, Request
from harness.experiment import open_cache, query_frame
from harness.run_driver import outcome_of
from harness.spaces import SearchSpace, get_space
from harness.tasks import Task, preset

ON_MISS = {"error": ("tabular", "error"), "invalid": ("tabular", "invalid"), "train": ("live", "error")}
ON_MISS_MODES = (*ON_MISS, "predict")


@dataclass(frozen=True)
class QueryResult:
    """The answer to one query: replicate `replicate` of the network `arch_hash`.

    `param_count` is the network's number of trainable parameters (column `evaluations.params`);
    `attempt_id` the id of the run (or of `evonas tabulate`) whose request trained it (column
    `evaluations.run_id`; None for imported or predicted rows without one).
    """

    arch_hash: str
    encoding: str
    replicate: int
    status: str
    val_acc: float | None
    test_acc: float | None
    train_seconds: float
    param_count: int | None
    flops: int | None
    curve: tuple[float, ...]
    predicted: bool
    attempt_id: str | None

    @classmethod
    def of(cls, record: EvalRecord, encoding: str) -> QueryResult:
        return cls(
            arch_hash=record.arch_hash,
            encoding=encoding,
            replicate=record.replicate,
            status=record.status,
            val_acc=record.val_acc,
            test_acc=record.test_acc,
            train_seconds=record.train_seconds,
            param_count=record.params,
            flops=record.flops,
            curve=tuple(record.curve),
            predicted=record.predicted,
            attempt_id=record.run_id,
        )


class Benchmark:
    """Evaluations of one (space, task) pair from a cache; `query` answers one network, `table` all."""

    def __init__(
        self,
        space: str,
        task: str | Task = "digits",
        *,
        cache: str | Path | None = None,
        space_params: Mapping[str, Any] | None = None,
        on_miss: str = "error",
        device: str | None = None,
        data_root: str | None = None,
    ) -> None:
        """`space_params` default to those of the stored networks of `space` when they all share one set."""
        if on_miss not in ON_MISS_MODES:
            raise ConfigError(f"on_miss {on_miss!r} not in {ON_MISS_MODES}")
        self.task = preset(task) if isinstance(task, str) else task
        self.cache = open_cache(cache)
        if space_params is None:
            space_params = self._stored_space_params(space)
        self.space: SearchSpace = get_space(space, **dict(space_params))
        mode, out_of_table = ON_MISS.get(on_miss, ("surrogate", "error"))
        self.on_miss = on_miss
        self.evaluator = Evaluator(
            self.cache,
            self.space,
            self.task,
            mode=mode,
            out_of_table=out_of_table,
            device=device,
            data_root=data_root,
        )

    def _stored_space_params(self, space: str) -> dict[str, Any]:
        rows = self.cache.execute(
            "SELECT DISTINCT a.space_params FROM architectures a JOIN evaluations e USING (arch_hash) "
            "WHERE a.space = ? AND e.task_key = ?",
            [space, self.task.key()],
        ).fetchall()
        return json.loads(rows[0][0] or "{}") if len(rows) == 1 else {}

    # --- queries ---
    def genome(self, arch: Any) -> Any:
        """A genome of the space from an encoding string (or a genome, returned as it is)."""
        return self.space.decode(arch) if isinstance(arch, str) else arch

    def query(self, arch: Any, replicate: int = 0) -> QueryResult:
        """Replicate `replicate` of the network `arch` (an encoding string or a genome)."""
        return self.evaluate([arch], replicate)[0]

    def evaluate(self, archs: Sequence[Any], replicate: int = 0) -> list[QueryResult]:
        """Many queries at once (misses train together with on_miss="train"), in order."""
        genomes = [self.genome(a) for a in archs]
        with self.cache.transaction():
            records = self.evaluator.evaluate([Request(g, replicate) for g in genomes])
            self.evaluator.flush()
        return [QueryResult.of(r, self.space.encode(g)) for r, g in zip(records, genomes, strict=True)]

    def observe(self, candidates: Sequence[Candidate]) -> list[Observation]:
        """Evaluate an algorithm's candidates: the observations its `tell` takes, as a run would build them.

        The fitness is the task's objective (validation accuracy by default); invalid or failed = 0.
        """
        with self.cache.transaction():
            records = self.evaluator.evaluate([Request(c.genome, c.replicate) for c in candidates])
            self.evaluator.flush()
        return [(c, outcome_of(r, self.task.objective)) for c, r in zip(candidates, records, strict=True)]

    def table(self, arrow: bool = False) -> Any:
        """Every stored (measured) evaluation of this space under this task, one row per replicate.

        Columns: arch_hash, encoding, replicate, status, val_acc, test_acc, train_seconds, param_count,
        flops (pandas DataFrame; a pyarrow Table with arrow=True).
        """
        sql = (
            "SELECT e.arch_hash, a.encoding, e.replicate, e.status, e.val_acc, e.test_acc, e.train_seconds, "
            "e.params AS param_count, e.flops FROM evaluations e JOIN architectures a USING (arch_hash) "
            "WHERE e.task_key = ? AND a.space = ? AND NOT coalesce(e.predicted, false) "
            "ORDER BY e.arch_hash, e.replicate"
        )
        return query_frame(self.cache, sql, [self.task.key(), self.space.name], arrow)

    # --- lifetime ---
    def close(self) -> None:
        self.cache.close()

    def __enter__(self) -> Benchmark:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
