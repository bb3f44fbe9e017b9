"""The numbers behind each view, computed from `reports.data` values (no plotting, no I/O).

Conventions used throughout:

- Incumbent: after each query, the query with the highest value of the run's objective so far (the first
  one on ties). It is chosen on the objective (validation accuracy unless the task reads test accuracy)
  and REPORTED on test: the `test_acc` stored for that (architecture, replicate). Invalid or failed
  networks count as 0.
- Forward fill only: a run's value at cost c is the value after its last query that arrived at or before
  c; before its first result it has no value (never back-filled). A summary statistic (median, IQR, mean,
  SEM) is drawn at a cost only where every run of the algorithm has a value there.
- Accuracies are fractions in [0, 1] here; figures and tables print percentages.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from reports.data import Block, CacheData, Query, Run

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
SECONDS_GRID_MAX = 600


@dataclass(frozen=True, eq=False)
class RunResult:
    """A run's best-so-far trajectory: objective value, incumbent, and the incumbent's test accuracy."""

    run: Run
    evaluations: FloatArray  # 1, 2, ..., n
    seconds: FloatArray  # simulated clock at each result
    fitness: FloatArray  # objective value of each query
    best: FloatArray  # best objective so far (selection)
    incumbent: npt.NDArray[np.int64]  # index of the incumbent query after each step
    reported: FloatArray  # test accuracy of the incumbent (NaN where the cache lacks it)

    @property
    def n(self) -> int:
        return int(self.evaluations.size)

    @property
    def final_query(self) -> Query:
        return self.run.queries[int(self.incumbent[-1])]

    @property
    def final_best(self) -> float:
        return float(self.best[-1])

    @property
    def final_reported(self) -> float:
        return float(self.reported[-1])


def reported_value(data: CacheData, run: Run, query: Query) -> float:
    """The test accuracy of a query's (architecture, replicate); its fitness when the run selects on test."""
    if run.objective == "test_acc":
        return float(query.fitness)
    ev = data.evaluation(query.arch_hash, run.task_key, query.replicate)
    if ev is None:
        return math.nan
    value = ev.metric("test_acc")
    return math.nan if value is None else value


def run_result(data: CacheData, run: Run) -> RunResult | None:
    """The run's trajectory summary, or None for a run without any query."""
    if not run.queries:
        return None
    fitness = np.array([q.fitness for q in run.queries], dtype=np.float64)
    fitness = np.where(np.isfinite(fitness), fitness, 0.0)
    incumbent = np.zeros(fitness.size, dtype=np.int64)
    best_index = 0
    for i in range(fitness.size):
        if fitness[i] > fitness[best_index]:
            best_index = i
        incumbent[i] = best_index
    test = np.array([reported_value(data, run, q) for q in run.queries], dtype=np.float64)
    return RunResult(
        run=run,
        evaluations=np.arange(1, fitness.size + 1, dtype=np.float64),
        seconds=np.array([q.sim_seconds for q in run.queries], dtype=np.float64),
        fitness=fitness,
        best=fitness[incumbent],
        incumbent=incumbent,
        reported=test[incumbent],
    )


def block_results(data: CacheData, block: Block) -> dict[str, list[RunResult]]:
    """Run results per algorithm label (labels in the block's order; empty runs left out)."""
    out: dict[str, list[RunResult]] = {label: [] for label in block.algorithms}
    for run in block.runs:
        result = run_result(data, run)
        if result is None:
            log.warning("run %s has no trajectory rows; left out of the report", run.run_id)
            continue
        out[run.label].append(result)
    return {k: v for k, v in out.items() if v}


# ------------------------------------------------------------------------------------------------------
# anytime curves
# ------------------------------------------------------------------------------------------------------


def values_at(costs: FloatArray, values: FloatArray, grid: FloatArray) -> FloatArray:
    """Forward fill only: the value after the last event with cost <= grid point; NaN before the first."""
    index = np.searchsorted(costs, grid, side="right") - 1
    out = np.full(grid.size, np.nan)
    ok = index >= 0
    out[ok] = values[index[ok]]
    return out


@dataclass(frozen=True, eq=False)
class Summary:
    """Summary statistics of several runs on a common grid (NaN where not every run has a value)."""

    x: FloatArray
    median: FloatArray
    q25: FloatArray
    q75: FloatArray
    mean: FloatArray
    sem: FloatArray
    n: npt.NDArray[np.int64]


def summarize(matrix: FloatArray, grid: FloatArray) -> Summary:
    """Column-wise statistics of a (runs x grid) matrix; a column with any NaN has no statistic."""
    runs = matrix.shape[0]
    n = np.sum(np.isfinite(matrix), axis=0).astype(np.int64)
    full = n == runs
    median = np.full(grid.size, np.nan)
    q25 = np.full(grid.size, np.nan)
    q75 = np.full(grid.size, np.nan)
    mean = np.full(grid.size, np.nan)
    sem = np.full(grid.size, np.nan)
    if np.any(full):
        sub = matrix[:, full]
        median[full] = np.median(sub, axis=0)
        q25[full] = np.quantile(sub, 0.25, axis=0)
        q75[full] = np.quantile(sub, 0.75, axis=0)
        mean[full] = np.mean(sub, axis=0)
        sem[full] = np.std(sub, axis=0, ddof=1) / math.sqrt(runs) if runs > 1 else 0.0
    return Summary(x=grid, median=median, q25=q25, q75=q75, mean=mean, sem=sem, n=n)


def evaluation_grid(results: Sequence[RunResult]) -> FloatArray:
    """1, 2, ..., the longest run's length."""
    return np.arange(1, max(r.n for r in results) + 1, dtype=np.float64)


def seconds_grid(results: Sequence[RunResult]) -> FloatArray:
    """Every simulated time at which one of the runs got a result (the only times a best-so-far statistic
    can change); beyond SECONDS_GRID_MAX points, evenly spaced points between the first and the last."""
    times = np.unique(np.concatenate([r.seconds for r in results]))
    if times.size > SECONDS_GRID_MAX:
        times = np.linspace(times[0], times[-1], SECONDS_GRID_MAX)
    return times


def fully_tabulated(data: CacheData, block: Block) -> float | None:
    """The best test accuracy of the table when every network of the space is evaluated on the task, else
    None (regret is only defined against a complete table)."""
    from harness.spaces import get_space

    space = get_space(block.space, **block.space_params)
    counter = getattr(space, "distinct_count", None)
    if counter is None:
        return None
    total = int(counter())
    ok = {
        e.arch_hash
        for e in data.evaluations.values()
        if e.task_key == block.task.task_key
        and e.status == "ok"
        and e.arch_hash in data.architectures
        and data.architectures[e.arch_hash].space == block.space
    }
    if len(ok) < total:
        return None
    tests = [
        e.test_acc
        for e in data.evaluations.values()
        if e.arch_hash in ok and e.task_key == block.task.task_key and e.test_acc is not None
    ]
    return max(tests) if tests else None


# ------------------------------------------------------------------------------------------------------
# samples, budgets, hit rates
# ------------------------------------------------------------------------------------------------------


def final_samples(results: Mapping[str, Sequence[RunResult]]) -> dict[str, FloatArray]:
    """Final reported (test) accuracy of the incumbent per trial, per algorithm (NaN dropped)."""
    out = {}
    for label, rs in results.items():
        values = np.array([r.final_reported for r in rs], dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            out[label] = values
    return out


def budgets(results: Mapping[str, Sequence[RunResult]], kind: str) -> dict[str, float]:
    """Per algorithm, the largest budget of its runs: 'evaluations' (the configured budget, else the
    trajectory length) or 'seconds' (the configured budget, else the run's last simulated time)."""
    out = {}
    for label, rs in results.items():
        values = []
        for r in rs:
            if kind == "evaluations":
                values.append(float(r.run.budget_evaluations) if r.run.budget_evaluations else float(r.n))
            else:
                values.append(float(r.run.budget_seconds) if r.run.budget_seconds else float(r.seconds[-1]))
        out[label] = max(values)
    return out


def hit_rate(runs: Sequence[Run]) -> tuple[int, int]:
    """(cached queries, queries)."""
    queries = sum(len(r.queries) for r in runs)
    return sum(r.hits for r in runs), queries


# ------------------------------------------------------------------------------------------------------
# noise
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoiseRow:
    arch_hash: str
    encoding: str
    values: tuple[float, ...]  # objective per ok replicate, by replicate index
    replicates: tuple[int, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1))


@dataclass(frozen=True)
class Noise:
    rows: tuple[NoiseRow, ...]
    mean_std: float
    spearman: float  # replicate 0 vs 1 (NaN with fewer than 3 pairs or constant data)
    spearman_p: float
    pairs: int
    objective: str


def noise(data: CacheData, block: Block) -> Noise | None:
    """Networks of the block's space with >= 2 ok replicates on its task (any run or none): per-network std
    (ddof 1) of the objective, its mean, and Spearman's rho of replicate 0 vs replicate 1."""
    objective = block.objective
    per: dict[str, dict[int, float]] = {}
    for (arch_hash, task_key, replicate), ev in data.evaluations.items():
        if task_key != block.task.task_key or ev.status != "ok":
            continue
        arch = data.architectures.get(arch_hash)
        if arch is None or arch.space != block.space:
            continue
        value = ev.metric(objective)
        if value is not None:
            per.setdefault(arch_hash, {})[replicate] = value
    rows = []
    for arch_hash in sorted(per):
        reps = per[arch_hash]
        if len(reps) >= 2:
            order = sorted(reps)
            rows.append(
                NoiseRow(
                    arch_hash=arch_hash,
                    encoding=data.architectures[arch_hash].encoding,
                    values=tuple(reps[r] for r in order),
                    replicates=tuple(order),
                )
            )
    if not rows:
        return None
    pairs = [(per[r.arch_hash][0], per[r.arch_hash][1]) for r in rows if {0, 1} <= set(per[r.arch_hash])]
    rho, p = math.nan, math.nan
    if len(pairs) >= 3:
        x = np.array([a for a, _ in pairs])
        y = np.array([b for _, b in pairs])
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            res = sps.spearmanr(x, y)
            rho, p = float(res.statistic), float(res.pvalue)
    return Noise(
        rows=tuple(rows),
        mean_std=float(np.mean([r.std for r in rows])),
        spearman=rho,
        spearman_p=p,
        pairs=len(pairs),
        objective=objective,
    )


# ------------------------------------------------------------------------------------------------------
# architectures
# ------------------------------------------------------------------------------------------------------


def best_query(results: Sequence[RunResult]) -> tuple[RunResult, Query] | None:
    """The algorithm's best network: the highest final objective over its runs (first run on ties)."""
    if not results:
        return None
    best = max(results, key=lambda r: (r.final_best, -r.run.trial))
    return best, best.final_query


def encoding_of(data: CacheData, query: Query) -> str:
    """The genome as proposed (trajectory), else the stored architecture's encoding."""
    if query.encoding:
        return query.encoding
    arch = data.architectures.get(query.arch_hash)
    return arch.encoding if arch is not None else query.arch_hash[:12]


def node_counts(data: CacheData, runs: Sequence[Run], space: object) -> list[float]:
    """`summary()['nodes']` of every valid (ok) genome the runs evaluated, one per query."""
    out = []
    for run in runs:
        for q in run.queries:
            ev = data.evaluation(q.arch_hash, run.task_key, q.replicate)
            if ev is None or ev.status != "ok":
                continue
            arch = data.architectures.get(q.arch_hash)
            if arch is not None and "nodes" in arch.summary:
                out.append(float(arch.summary["nodes"]))
                continue
            genome = space.decode(encoding_of(data, q))  # type: ignore[attr-defined]
            out.append(float(space.summary(genome)["nodes"]))  # type: ignore[attr-defined]
    return out


def space_of(block: Block) -> object:
    from harness.spaces import get_space

    return get_space(block.space, **block.space_params)


def describe_params(params: Mapping[str, object]) -> str:
    return json.dumps(dict(params), sort_keys=True) if params else "defaults"
