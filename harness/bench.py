"""`evonas bench`: measured speed of the trainer and of the runner with a warm cache.

Two numbers matter for evaluations per GPU-hour: how long one training takes with the device-resident
trainer compared with the plain eager loop of the papers' code, and how many queries per second the runner
answers once every network is cached (the per-evaluation overhead of the harness itself).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.executors import Executor
from harness.fused import GroupJob
from harness.spaces import get_space
from harness.tasks import preset
from harness.training import TrainingJob, TrainingResult, reference_train, resolve_device, train_genome


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


def time_trainer(device: str = "auto", repeats: int = 3, network: str = "table1_best") -> dict[str, float]:
    """Seconds per training of one Genetic CNN network on the `digits` task: trainer vs seed-style loop."""
    space = get_space("genetic_cnn")
    genome = space.named(network)
    task = preset("digits")
    dev = resolve_device(device)
    train_genome(space, genome, task, seed=0, device=dev, threads=1)  # warm-up: data on the device, kernels
    ours, ref = [], []
    for r in range(repeats):
        start = time.perf_counter()
        train_genome(space, genome, task, seed=r, device=dev, threads=1)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        reference_train(space, genome, task, seed=r)
        ref.append(time.perf_counter() - start)
    return {
        "trainer_seconds_per_training": statistics.median(ours),
        "reference_loop_seconds_per_training": statistics.median(ref),
        "trainer_speedup_vs_reference": statistics.median(ref) / statistics.median(ours),
        "device": str(dev),
    }


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
    }


def run_benchmarks(device: str = "auto", repeats: int = 3) -> dict[str, Any]:
    results: dict[str, Any] = {}
    results.update(warm_cache_throughput())
    results.update(time_trainer(device, repeats))
    return results
