"""The papers' generation views' numbers: Genetic CNN Table 1 per generation, DE-NAS populations, Table 3
picks and Pareto fronts (no plotting, no I/O). Generations come from the run log's `generations` table
where the run wrote it (the algorithm's own view), else from the trajectory. Conventions as in
`reports.analysis`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cache.generations import GenerationRow
from reports.analysis import encoding_of, reported_value
from reports.data import CacheData, Query, Run

log = logging.getLogger(__name__)

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
