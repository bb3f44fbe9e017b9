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

from cache.generations import GenerationRow
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
# generations (Genetic CNN Table 1, DE populations)
# ------------------------------------------------------------------------------------------------------


def generations(run: Run, population: int, children: int | None = None) -> list[list[int]]:
    """Query indices per generation: the `generation` column where the run recorded it, else by position
    (the first `population` queries are generation 0, then blocks of `children` (default `population`)).
    An incomplete last generation is dropped."""
    if any(q.generation is not None for q in run.queries):
        groups: dict[int, list[int]] = {}
        for i, q in enumerate(run.queries):
            if q.generation is not None:
                groups.setdefault(q.generation, []).append(i)
        out = [groups[g] for g in sorted(groups)]
        size = [population] + [children or population] * (len(out) - 1)
        return [g for g, s in zip(out, size, strict=True) if len(g) >= s]
    step = children or population
    out = []
    start = 0
    size = population
    while start + size <= len(run.queries):
        out.append(list(range(start, start + size)))
        start += size
        size = step
    return out


@dataclass(frozen=True)
class GenerationStats:
    """Genetic CNN Table 1 row: the population's fitness statistics in one generation, and the test
    accuracy statistics of the same individuals (NaN where the cache holds no test accuracy)."""

    generation: int
    max: float
    min: float
    avg: float
    median: float
    std: float
    best_encoding: str
    size: int
    test_max: float = math.nan
    test_min: float = math.nan
    test_avg: float = math.nan
    test_median: float = math.nan
    test_std: float = math.nan
    best_test: float = math.nan  # test accuracy of the individual with the best fitness


def _stats(values: Sequence[float]) -> tuple[float, float, float, float, float]:
    """(max, min, mean, median, std with ddof 0) of the finite values; NaNs if there are none."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return (math.nan,) * 5
    return (float(arr.max()), float(arr.min()), float(arr.mean()), float(np.median(arr)), float(arr.std()))


def genetic_table(data: CacheData, run: Run) -> list[GenerationStats]:
    """Per generation: max, min, average, median and std (population, ddof 0) of the individuals' fitness,
    an individual's fitness being the mean over all its occurrences in the run up to that generation (all
    trajectory rows with its architecture hash), and the best individual's encoding (paper notation).

    Beside them, the same statistics of the same individuals' test accuracy (each individual's test
    accuracy averaged over the same occurrences, from the stored evaluations), and the test accuracy of
    the individual with the best fitness: Table 1 of the paper prints test accuracy, while its fitness is
    measured on 10,000 held-out training images (Sec. 4.1).

    The fitness of each member is read from the run log (the `generations` table: the GA's own mean over
    occurrences); runs without it (hand-written, or from before the table) take the mean over their
    trajectory rows, which is the same number."""
    population = int(run.params.get("population", 20))
    out = []
    history: dict[str, list[float]] = {}
    tests: dict[str, list[float]] = {}
    logged = _logged_generations(run, "member")
    for g, members in enumerate(generations(run, population)):
        for i in members:
            q = run.queries[i]
            history.setdefault(q.arch_hash, []).append(q.fitness)
            tests.setdefault(q.arch_hash, []).append(reported_value(data, run, q))
        generation = run.queries[members[0]].generation
        number = g if generation is None else int(generation)
        if logged:
            if number not in logged:
                break  # the run log ends here (the generation completed after the last checkpoint)
            rows = logged[number]
            hashes = [r.arch_hash for r in rows]
            fitness = np.array([float(r.fitness) for r in rows])
            best_encoding = str(rows[int(np.argmax(fitness))].encoding)
        else:
            hashes = [run.queries[i].arch_hash for i in members]
            fitness = np.array([np.mean(history[h]) for h in hashes])
            best_encoding = encoding_of(data, run.queries[members[int(np.argmax(fitness))]])
        test = [_finite_mean(tests[h]) for h in hashes]
        best_pos = int(np.argmax(fitness))
        t_max, t_min, t_avg, t_med, t_std = _stats(test)
        out.append(
            GenerationStats(
                generation=number,
                max=float(fitness.max()),
                min=float(fitness.min()),
                avg=float(fitness.mean()),
                median=float(np.median(fitness)),
                std=float(fitness.std()),
                best_encoding=best_encoding,
                size=len(hashes),
                test_max=t_max,
                test_min=t_min,
                test_avg=t_avg,
                test_median=t_med,
                test_std=t_std,
                best_test=test[best_pos],
            )
        )
    return out


def _finite_mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def encoding_of(data: CacheData, query: Query) -> str:
    """The genome as proposed (trajectory), else the stored architecture's encoding."""
    if query.encoding:
        return query.encoding
    arch = data.architectures.get(query.arch_hash)
    return arch.encoding if arch is not None else query.arch_hash[:12]


@dataclass(frozen=True)
class Member:
    """A network of a DE population: its query index, objective fitness, test accuracy and parameters."""

    index: int
    arch_hash: str
    encoding: str
    fitness: float
    test: float
    params: float


def params_of(data: CacheData, run: Run, query: Query) -> int | None:
    ev = data.evaluation(query.arch_hash, run.task_key, query.replicate)
    if ev is not None and ev.params is not None:
        return ev.params
    arch = data.architectures.get(query.arch_hash)
    return arch.params if arch is not None else None


def de_final_population(data: CacheData, run: Run) -> tuple[int, list[Member]]:
    """(last complete generation, surviving population, best score first) of a DE run.

    Read from the run log (the `generations` table: the survivors the algorithm selected); a run without
    it (hand-written, or from before the table) is put through the algorithm's own selection
    (`algorithms.differential_evolution.natural_selection`) generation by generation."""
    survivors = _logged_generations(run, "survivor")
    if survivors:
        last = max(survivors)
        first_query = {}
        for q in run.queries:
            first_query.setdefault((q.arch_hash, q.replicate), q)
        members = []
        for row in survivors[last]:
            q = first_query[(row.arch_hash, row.replicate)]
            members.append(
                Member(
                    index=run.queries.index(q),
                    arch_hash=row.arch_hash,
                    encoding=str(row.encoding),
                    fitness=float(row.fitness if row.fitness is not None else 0.0),
                    test=reported_value(data, run, q),
                    params=math.nan if row.params is None else float(row.params),
                )
            )
        return last, members
    return _de_selected_from_trajectory(data, run)


def _logged_generations(run: Run, role: str) -> dict[int, list[GenerationRow]]:
    """The run log's rows of `role` by generation, each in member order (empty when the run has none)."""
    out: dict[int, list[GenerationRow]] = {}
    for row in sorted(run.generations, key=lambda r: (r.generation, r.member)):
        if row.role == role:
            out.setdefault(row.generation, []).append(row)
    return out


def _de_selected_from_trajectory(data: CacheData, run: Run) -> tuple[int, list[Member]]:
    from algorithms.differential_evolution import natural_selection

    population = int(run.params.get("population", 20))
    children = int(run.params.get("children", 10))
    ew = float(run.params.get("error_weight", 0.7))
    pw = float(run.params.get("params_weight", 0.3))
    current: list[Member] = []
    last = -1
    for g, members in enumerate(generations(run, population, children)):
        batch = []
        for i in members:
            q = run.queries[i]
            p = params_of(data, run, q)
            batch.append(
                Member(
                    index=i,
                    arch_hash=q.arch_hash,
                    encoding=encoding_of(data, q),
                    fitness=float(q.fitness),
                    test=reported_value(data, run, q),
                    params=math.nan if p is None else float(p),
                )
            )
        merged = current + batch
        params = [int(m.params) if math.isfinite(m.params) else None for m in merged]
        order, _ = natural_selection([m.fitness for m in merged], params, population, ew, pw)
        current = [merged[i] for i in order]
        last = g
    return last, current


#: Model 2 of DE-NAS is entry [7] of the authors' populations/population-9.bin (train_final_model.ipynb).
DE_MODEL2_ENTRY = 7


@dataclass(frozen=True)
class DeTable3Picks:
    """The networks DE-NAS Table 3 would take from a final population (sorted by score, best first).

    `model1`: the best selection score, entry [0] (the authors' Model 1; the paper's text says "best
    accuracy", but population-9.bin's entry [0] has 54.26% where entry [9] has 55.33%). `model2`: entry
    [7] by score (the authors' Model 2, None in a population of fewer than 8; the text says "lowest number
    of parameters", but that population holds 1,584,827-parameter members beside its 7,796,674). Also
    what the text describes: `most_accurate` (best fitness) and `fewest` (fewest parameters).
    """

    model1: Member
    model2: Member | None
    most_accurate: Member
    fewest: Member | None


def de_table3_picks(population: Sequence[Member]) -> DeTable3Picks | None:
    """Model 1, Model 2 and the text's two readings from a final population sorted best score first."""
    if not population:
        return None
    with_params = [m for m in population if math.isfinite(m.params)]
    return DeTable3Picks(
        model1=population[0],
        model2=population[DE_MODEL2_ENTRY] if len(population) > DE_MODEL2_ENTRY else None,
        most_accurate=max(population, key=lambda m: (m.fitness, -m.params)),  # first of the best on ties
        fewest=min(with_params, key=lambda m: (m.params, -m.fitness)) if with_params else None,
    )


def pareto(points: Sequence[Member]) -> list[Member]:
    """The accuracy/parameter Pareto front (algorithms.differential_evolution.pareto_front) of `points`
    with a parameter count, sorted by parameters."""
    from algorithms.differential_evolution import pareto_front

    usable = [m for m in points if math.isfinite(m.params)]
    if not usable:
        return []
    front = pareto_front([m.fitness for m in usable], [m.params for m in usable])
    chosen = [usable[int(i)] for i in front]
    unique: dict[tuple[str, float], Member] = {}
    for m in chosen:
        unique.setdefault((m.arch_hash, m.fitness), m)
    return sorted(unique.values(), key=lambda m: (m.params, -m.fitness, m.arch_hash))


def evaluated_members(data: CacheData, runs: Sequence[Run]) -> list[Member]:
    """Every ok network the runs evaluated (one entry per (architecture, replicate))."""
    out: dict[tuple[str, int], Member] = {}
    for run in runs:
        for i, q in enumerate(run.queries):
            ev = data.evaluation(q.arch_hash, run.task_key, q.replicate)
            if ev is None or ev.status != "ok" or (q.arch_hash, q.replicate) in out:
                continue
            p = params_of(data, run, q)
            out[(q.arch_hash, q.replicate)] = Member(
                index=i,
                arch_hash=q.arch_hash,
                encoding=encoding_of(data, q),
                fitness=float(q.fitness),
                test=reported_value(data, run, q),
                params=math.nan if p is None else float(p),
            )
    return [out[k] for k in sorted(out)]


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
