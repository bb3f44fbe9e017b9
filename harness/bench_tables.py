"""`evonas bench` table parts: simulated evaluations per second and a warm lookup's latency.

The table (the shipped `genetic_cnn-digits` export, or `BenchSettings.table`) is imported into a temporary
cache. Simulation: whole runs of random search and regularized evolution through `Runner` with an
InlineExecutor (nothing trains) in `mode = "tabular"` (`out_of_table = "invalid"`) and in
`mode = "surrogate"` (the model is fitted on first use and stored: timed apart, as `setup_seconds`). Each
timed measurement is a fresh Runner, so the evaluator's preload of the table is part of its cost; an
untimed warm-up run comes first (imports, the algorithms' first calls). Lookup: `Evaluator.evaluate` of one
stored network at a time, timed call by call.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cache import Cache
from cache.parquet import import_into
from harness.bench import BenchSettings
from harness.errors import EvonasError
from harness.evaluation import Evaluator, Request
from harness.executors import InlineExecutor
from harness.runner import Budget, Runner, RunSpec, freeze
from harness.spaces import get_space
from harness.spaces.base import SearchSpace
from harness.tasks import Task, preset

log = logging.getLogger("harness.bench")

SPACE = "genetic_cnn"
MODES = ("tabular", "surrogate")
ALGORITHMS: dict[str, dict[str, Any]] = {
    "random_search": {},
    "regularized_evolution": {"population": 20, "sample_size": 5},
}
LOOKUP_NETWORKS = 512  # stored networks the lookups cycle through


@dataclass(frozen=True)
class SimulationRow:
    """Simulated evaluations of one (mode, algorithm): `trials` runs of `evaluations` each, one Runner."""

    contestant: str
    mode: str
    algorithm: str
    evaluations: int
    seconds: float
    evaluations_per_second: float
    in_table: float  # share of the queries whose network the table measured
    setup_seconds: float  # surrogate: fitting (or loading) the model before the first run
    threads: int


def measure_tables(settings: BenchSettings) -> dict[str, Any]:
    """Import the table into a temporary cache, then the simulation and/or lookup parts."""
    space = get_space(SPACE)
    task = preset(settings.table_task)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="evonas-bench-") as tmp:
        path = Path(tmp) / "bench.duckdb"
        log.info("bench: importing %s into a temporary cache", settings.table_dir())
        start = time.perf_counter()
        import_into(path, settings.table_dir())
        out["table_import_seconds"] = time.perf_counter() - start
        with Cache(path) as cache:
            stored = cache.evaluations_for_task(task.key())
            measured = {arch for (arch, _), rec in stored.items() if not rec.predicted}
            out["table_networks"] = len(measured)
            out["table_evaluations"] = sum(1 for rec in stored.values() if not rec.predicted)
            if not measured:
                raise EvonasError(f"the table {settings.table_dir()} holds no evaluation of task {task.name}")
            if "simulation" in settings.parts:
                out["simulation"] = [asdict(r) for r in simulate(cache, space, task, settings, measured)]
            if "cache" in settings.parts:
                out["lookup"] = lookup_latency(cache, space, task, settings.lookups)
    return out


def simulate(
    cache: Cache, space: SearchSpace, task: Task, settings: BenchSettings, measured: set[str]
) -> list[SimulationRow]:
    rows: list[SimulationRow] = []
    total = len(MODES) * len(ALGORITHMS)
    for mode in MODES:
        setup = _setup(cache, space, task, mode)
        warmup = [_spec(f"bench-warmup-{mode}", algo, 0, task, 20) for algo in ALGORITHMS]
        _runner(cache, mode).run(warmup)
        for algorithm in ALGORITHMS:
            label = f"{mode} {algorithm}"
            n = settings.trials * settings.evaluations
            log.info(
                "bench [%d/%d] %s: %d runs x %d evaluations",
                len(rows) + 1,
                total,
                label,
                settings.trials,
                settings.evaluations,
            )
            specs = [
                _spec(f"bench-{mode}", algorithm, t, task, settings.evaluations)
                for t in range(settings.trials)
            ]
            start = time.perf_counter()
            summaries = _runner(cache, mode).run(specs)
            seconds = time.perf_counter() - start
            steps = sum(s.steps for s in summaries)
            hashes = [row.arch_hash for spec in specs for row in cache.trajectory(spec.run_id)]
            row = SimulationRow(
                contestant=label,
                mode=mode,
                algorithm=algorithm,
                evaluations=steps,
                seconds=seconds,
                evaluations_per_second=steps / seconds,
                in_table=sum(h in measured for h in hashes) / max(1, len(hashes)),
                setup_seconds=setup,
                threads=torch.get_num_threads(),
            )
            log.info(
                "bench [%d/%d] %s: %.0f evaluations/s",
                len(rows) + 1,
                total,
                label,
                row.evaluations_per_second,
            )
            rows.append(row)
            if steps != n:
                raise EvonasError(f"bench: {label} ran {steps} of {n} evaluations")
    return rows


def _setup(cache: Cache, space: SearchSpace, task: Task, mode: str) -> float:
    if mode != "surrogate":
        return 0.0
    from harness.surrogate_current import current_model

    log.info("bench: surrogate model of the table (fitted on first use, then stored)")
    start = time.perf_counter()
    current_model(cache, space, task.key())
    return time.perf_counter() - start


def _runner(cache: Cache, mode: str) -> Runner:
    return Runner(cache, InlineExecutor(), mode=mode, out_of_table="invalid", progress=False)


def _spec(experiment: str, algorithm: str, trial: int, task: Task, evaluations: int) -> RunSpec:
    return RunSpec(
        experiment=experiment,
        label=algorithm,
        algorithm=algorithm,
        params=freeze(ALGORITHMS[algorithm]),
        trial=trial,
        space_name=SPACE,
        space_params=freeze({}),
        task=task,
        budget=Budget(evaluations=evaluations),
    )


def lookup_latency(cache: Cache, space: SearchSpace, task: Task, queries: int) -> dict[str, float]:
    """Latency of `Evaluator.evaluate([Request(genome)])` of stored networks (hash + lookup), call by call."""
    rows = cache.execute(
        "SELECT a.encoding FROM architectures a JOIN evaluations e ON a.arch_hash = e.arch_hash "
        "WHERE e.task_key = ? AND e.replicate = 0 AND NOT coalesce(e.predicted, false) "
        "ORDER BY a.arch_hash LIMIT ?",
        [task.key(), LOOKUP_NETWORKS],
    ).fetchall()
    genomes = [space.decode(encoding) for (encoding,) in rows]
    log.info("bench: %d warm lookups over %d stored networks", queries, len(genomes))
    evaluator = Evaluator(cache, space, task, mode="tabular")
    for genome in genomes:  # warm: every network registered, first calls made
        evaluator.evaluate([Request(genome)])
    ns = np.empty(queries, dtype=np.int64)
    for i in range(queries):
        request = [Request(genomes[i % len(genomes)])]
        start = time.perf_counter_ns()
        evaluator.evaluate(request)
        ns[i] = time.perf_counter_ns() - start
    us = ns / 1000.0
    return {
        "lookups": float(queries),
        "networks": float(len(genomes)),
        "p50_us": float(np.percentile(us, 50)),
        "p90_us": float(np.percentile(us, 90)),
        "p99_us": float(np.percentile(us, 99)),
        "mean_us": float(us.mean()),
        "lookups_per_second": float(queries / (ns.sum() / 1e9)),
        "threads": float(torch.get_num_threads()),
    }
