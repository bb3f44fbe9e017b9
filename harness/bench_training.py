"""`evonas bench` training part: networks/hour of the fused trainer vs the single trainer vs the plain loop.

Every contestant trains networks of one seeded list of distinct Genetic CNN genomes (one stage layout, so
any prefix fuses), each with its replicate-0 training seed, under the task's protocol and the run's one
thread count: the single-network trainer (`TrainingJob.run`, what an executor runs for a lone job) and the
papers' plain loop (`reference_train`, CPU only) train the list's first `baseline_networks`; the fused trainer
(`train_group`, what an executor runs for a GroupJob) trains its first N for each N of `sizes`. So the
N = `baseline_networks` group trains exactly the networks the baselines train, and its mean accuracy
matches the single trainer's on a CPU (the fused contract).

Each contestant gets one untimed warm-up of one epoch (data on the device; the 'exact' conv policy's
probes, one per shape and group size and process, which a long tabulation amortises), then `repeats`
timed rounds (median). FLOPs of a training: 3 x forward FLOPs per image x training images x epochs (the
validation and test passes are not counted); GFLOP/s is that over the wall time, against the fp32 peak.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from cache.hashing import training_seed
from harness.bench import BenchSettings
from harness.errors import EvonasError
from harness.fused import train_group
from harness.spaces import get_space
from harness.spaces.base import SearchSpace
from harness.tasks import Task
from harness.training import (
    TrainingJob,
    count_flops,
    device_split,
    freeze_params,
    reference_train,
)

log = logging.getLogger("harness.bench")

SPACE = "genetic_cnn"


@dataclass(frozen=True)
class TrainingRow:
    """One training contestant's measurement (times are medians over `rounds`)."""

    contestant: str
    trainer: str  # 'fused', 'single' or 'plain'
    networks: int
    seconds: float
    seconds_per_network: float
    networks_per_hour: float
    speedup_vs_single: float | None  # single trainer's seconds per network / this one's
    train_gflop: float  # training FLOPs of the networks, / 1e9
    gflops: float  # achieved GFLOP/s
    peak_fraction: float | None  # gflops / the fp32 peak of the cores used
    mean_accuracy: float  # of the networks' final validation accuracy (the same networks train alike)
    threads: int  # torch.get_num_threads() while it ran
    warmup_seconds: float
    rounds: int


@dataclass(frozen=True)
class Contestant:
    name: str
    trainer: str
    count: int
    train: Callable[[Task], list[float]]  # trains the networks under a task; their accuracies


def bench_genomes(space: SearchSpace, count: int, seed: int) -> list[Any]:
    """`count` distinct sampled genomes (by canonical hash), in the order a seeded generator draws them."""
    rng = np.random.default_rng(seed)
    seen: dict[str, Any] = {}
    for _ in range(100 * count):
        if len(seen) == count:
            break
        genome = space.sample(rng)
        seen.setdefault(space.hash(genome), genome)
    if len(seen) < count:
        raise EvonasError(f"only {len(seen)} distinct {space.name} networks in {100 * count} draws")
    return list(seen.values())


def contestants(
    settings: BenchSettings, space: SearchSpace, genomes: Sequence[Any], device: torch.device
) -> list[Contestant]:
    """Single trainer, plain loop, then the fused trainer at each group size: all on one genome list."""
    task_key = settings.task.key()
    seeds = [training_seed(task_key, space.hash(g), 0) for g in genomes]
    params = freeze_params(space.params)
    encodings = [space.encode(g) for g in genomes]

    def jobs(task: Task, n: int) -> list[TrainingJob]:
        return [
            TrainingJob(
                SPACE, params, encodings[i], task, seeds[i], device=str(device), threads=settings.threads
            )
            for i in range(n)
        ]

    def single(task: Task) -> list[float]:
        return [_accuracy(job.run()) for job in jobs(task, settings.baseline_networks)]

    def plain(task: Task) -> list[float]:
        return [reference_train(space, genomes[i], task, seeds[i]) for i in range(settings.baseline_networks)]

    def fused(n: int) -> Callable[[Task], list[float]]:
        return lambda task: [_accuracy(r) for r in train_group(jobs(task, n), settings.conv_policy)]

    b = settings.baseline_networks
    return [
        Contestant("single trainer", "single", b, single),
        Contestant("plain loop" if device.type == "cpu" else "plain loop (on the CPU)", "plain", b, plain),
        *(Contestant(f"fused N={n}", "fused", n, fused(n)) for n in settings.sizes),
    ]


def _accuracy(result: Any) -> float:
    if result.status != "ok" or result.val_acc is None:
        raise EvonasError(f"bench: a training ended {result.status}: {result.error}")
    return float(result.val_acc)


def measure_training(settings: BenchSettings, device: torch.device) -> list[TrainingRow]:
    """Every training contestant, one after another; speed-ups against the single trainer."""
    space = get_space(SPACE)
    task = settings.task
    genomes = bench_genomes(space, settings.networks, settings.seed)
    images = int(device_split(task, device).x_train.shape[0])
    train_flop = [3 * _forward_flops(space, g, task) * images * task.epochs for g in genomes]
    peak = settings.peak(device)
    everyone = contestants(settings, space, genomes, device)
    rows: list[TrainingRow] = []
    for i, contestant in enumerate(everyone, start=1):
        log.info(
            "bench [%d/%d] %s: %d network(s), %d epochs, %d thread(s)",
            i,
            len(everyone),
            contestant.name,
            contestant.count,
            task.epochs,
            torch.get_num_threads(),
        )
        row = _measure(contestant, task, settings.repeats, sum(train_flop[: contestant.count]), peak)
        log.info(
            "bench [%d/%d] %s: %.2f s/network, %.0f networks/h, %.2f GFLOP/s",
            i,
            len(everyone),
            contestant.name,
            row.seconds_per_network,
            row.networks_per_hour,
            row.gflops,
        )
        rows.append(row)
    single = next(r for r in rows if r.trainer == "single").seconds_per_network
    return [replace(r, speedup_vs_single=single / r.seconds_per_network) for r in rows]


def _measure(
    contestant: Contestant, task: Task, repeats: int, flop: float, peak: float | None
) -> TrainingRow:
    start = time.perf_counter()
    contestant.train(replace(task, epochs=1))  # data on the device, conv probes for this group size
    warmup = time.perf_counter() - start
    times: list[float] = []
    accuracies: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        accuracies = contestant.train(task)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    per_network = seconds / contestant.count
    gflops = flop / seconds / 1e9
    return TrainingRow(
        contestant=contestant.name,
        trainer=contestant.trainer,
        networks=contestant.count,
        seconds=seconds,
        seconds_per_network=per_network,
        networks_per_hour=3600.0 / per_network,
        speedup_vs_single=None,
        train_gflop=flop / 1e9,
        gflops=gflops,
        peak_fraction=gflops / peak if peak else None,
        mean_accuracy=statistics.fmean(accuracies),
        threads=torch.get_num_threads(),
        warmup_seconds=warmup,
        rounds=repeats,
    )


def _forward_flops(space: SearchSpace, genome: Any, task: Task) -> int:
    """Forward FLOPs of one image, counted as the trainer counts them (its `flops` record)."""
    with torch.random.fork_rng(devices=[]):
        flops = count_flops(space.build(genome, task), task.input_shape)
    if flops is None:
        raise EvonasError(f"bench: cannot count the FLOPs of {space.encode(genome)}")
    return flops
