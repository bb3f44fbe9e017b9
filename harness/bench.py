"""`evonas bench`: what an evaluation costs, every contestant measured side by side in one run.

Three parts, all under one torch CPU thread count (`BenchSettings.threads`, set once for the whole run and
recorded with every row):

- `training` (`harness.bench_training`): networks/hour on the `digits` protocol of the fused trainer at
  N networks per group vs today's single-network trainer vs the papers' plain loop, on the first networks
  of one seeded list of Genetic CNN (3, 4, 5) genomes, with achieved GFLOP/s against the fp32 peak;
- `simulation` (`harness.bench_tables`): simulated evaluations per second of whole runs (random search,
  regularized evolution) in tabular and surrogate mode on the shipped table;
- `cache`: a warm cache lookup's latency (`Evaluator.evaluate` of one stored network) and the runner's
  warm-cache throughput with a synthetic executor (the harness's own cost per query).

`harness.bench_report` renders the result as tables; `--json` gives the dictionary itself.
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from harness.errors import EvonasError
from harness.executors import Executor
from harness.fused import GroupJob
from harness.tasks import Task, preset
from harness.training import TrainingJob, TrainingResult, device_name, resolve_device, torch_threads

log = logging.getLogger("harness.bench")  # one logger for every bench module: the CLI's progress lines

PARTS = ("training", "simulation", "cache")
FULL_SIZES = (1, 8, 32, 64)
QUICK_SIZES = (1, 8)
PEAK_GFLOPS_PER_CORE = 96.0  # fp32: 2 AVX2 FMA units x 8 lanes x 2 FLOPs x ~3 GHz


@dataclass(frozen=True)
class BenchSettings:
    """What `evonas bench` measures and how; `quick()`: the small version (same protocol, fewer networks)."""

    device: str = "auto"
    threads: int = 1
    sizes: tuple[int, ...] = FULL_SIZES  # fused group sizes N
    baseline_networks: int = 8  # networks the single trainer and the plain loop train (the list's first)
    repeats: int = 1  # timed rounds of each training contestant (median)
    peak_gflops: float | None = None  # None: PEAK_GFLOPS_PER_CORE x threads (CPU only)
    seed: int = 0  # of the list of genomes
    conv_policy: str = "auto"
    task: Task = field(default_factory=lambda: preset("digits"))
    table: Path | None = None  # an export directory; None: the shipped genetic_cnn-digits table
    table_task: str = "digits"  # the task preset the table holds (simulation and lookups)
    trials: int = 4  # simulation: trials per (mode, algorithm)
    evaluations: int = 2000  # simulation: evaluations per trial
    lookups: int = 5000  # timed single-network lookups
    warm_queries: int = 2000  # runner queries of the warm-cache throughput
    parts: tuple[str, ...] = PARTS

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise EvonasError(f"--threads must be >= 1, got {self.threads}")
        if self.repeats < 1 or self.baseline_networks < 1 or not self.sizes or min(self.sizes) < 1:
            raise EvonasError("bench needs repeats, baseline networks and group sizes >= 1")
        unknown = set(self.parts) - set(PARTS)
        if unknown or not self.parts:
            raise EvonasError(f"bench parts must be among {PARTS}, got {sorted(unknown) or 'none'}")

    @classmethod
    def quick(cls, **overrides: Any) -> BenchSettings:
        """N = 1, 8 and shorter simulations; the digits protocol (epochs, batch) is unchanged."""
        base = {"sizes": QUICK_SIZES, "trials": 2, "evaluations": 500, "lookups": 2000, "warm_queries": 400}
        return cls(**{**base, **overrides})

    @property
    def networks(self) -> int:
        """Length of the seeded list of genomes: the largest group or the baselines' count."""
        return max(max(self.sizes), self.baseline_networks)

    def peak(self, device: torch.device) -> float | None:
        if self.peak_gflops is not None:
            return self.peak_gflops
        return PEAK_GFLOPS_PER_CORE * self.threads if device.type == "cpu" else None

    def table_dir(self) -> Path:
        if self.table is not None:
            return self.table
        from harness.demo import shipped_tables

        return shipped_tables() / "genetic_cnn-digits"


class SyntheticResultExecutor(Executor):
    """Answers every job at once with a result derived from its seed: isolates the runner's own cost."""

    def __init__(self) -> None:
        self.slots = 1

    def run(self, jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        for i, job in enumerate(jobs):
            if isinstance(job, GroupJob):  # a fused group: one result per member
                yield i, [_synthetic(member) for member in job.jobs]
            else:
                yield i, _synthetic(job)


def _synthetic(job: TrainingJob) -> TrainingResult:
    acc = 0.5 + (job.seed % 1000) / 2500
    return TrainingResult(
        status="ok",
        val_acc=acc,
        test_acc=acc,
        train_loss=1 - acc,
        curve=(acc,),
        params=1,
        flops=1,
        train_seconds=1.0,
        device="synthetic",
    )


def warm_cache_throughput(queries: int = 2000, trials: int = 4) -> dict[str, float]:
    """Queries per second of the runner when every evaluation is already cached (regularized evolution)."""
    from cache import Cache
    from harness.runner import Budget, Runner, RunSpec, freeze

    task = preset("digits")
    specs = [
        RunSpec(
            experiment="bench",
            label="regularized_evolution",
            algorithm="regularized_evolution",
            params=freeze({"population": 20, "sample_size": 5}),
            trial=t,
            space_name="genetic_cnn",
            space_params=freeze({}),
            task=task,
            budget=Budget(evaluations=queries // trials),
        )
        for t in range(trials)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        with Cache(path) as cache:
            Runner(cache, SyntheticResultExecutor(), progress=False).run(specs)
            for spec in specs:
                cache.delete_run(spec.run_id)
            start = time.perf_counter()
            runner = Runner(cache, SyntheticResultExecutor(), progress=False)
            runner.run(specs)
            seconds = time.perf_counter() - start
            trained = runner.trained
    total = (queries // trials) * trials
    return {
        "warm_queries": float(total),
        "warm_trained": float(trained),
        "warm_queries_per_second": total / seconds,
        "warm_ms_per_query": 1000 * seconds / total,
        "threads": float(torch.get_num_threads()),
    }


def machine(device: torch.device) -> dict[str, Any]:
    """Where the bench ran: enough to read its numbers (load average included: the cores may be shared)."""
    return {
        "device": device_name(device),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average": _load(),
    }


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_benchmarks(settings: BenchSettings | None = None, **overrides: Any) -> dict[str, Any]:
    """Every part of `settings.parts`, under one thread count; a JSON-ready dictionary."""
    settings = settings or BenchSettings()
    if overrides:
        settings = replace(settings, **overrides)
    dev = resolve_device(settings.device)
    results: dict[str, Any] = {}
    with torch_threads(settings.threads):
        results["settings"] = {
            **{k: v for k, v in asdict(settings).items() if k not in ("task", "table")},
            "sizes": list(settings.sizes),
            "parts": list(settings.parts),
            "task": settings.task.name,
            "task_protocol": settings.task.description,
            "epochs": settings.task.epochs,
            "table": str(settings.table_dir()),
            "table_task": settings.table_task,
            "peak_gflops": settings.peak(dev),
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
        }
        results["machine"] = machine(dev)
        start = time.perf_counter()
        if "simulation" in settings.parts or "cache" in settings.parts:
            from harness.bench_tables import measure_tables

            results.update(measure_tables(settings))
        if "cache" in settings.parts:
            log.info(
                "bench: runner warm-cache throughput (synthetic executor, %d queries)", settings.warm_queries
            )
            results["warm_cache"] = warm_cache_throughput(queries=settings.warm_queries)
        if "training" in settings.parts:
            from harness.bench_training import measure_training

            results["training"] = [asdict(row) for row in measure_training(settings, dev)]
        results["wall_seconds"] = time.perf_counter() - start
        results["machine"]["load_average_after"] = _load()
    return results
