"""Networks per second: the single trainer vs fused groups (`harness.fused`), one CPU thread each.

- Genetic CNN on digits: one network at a time vs fused groups of 8, 32 and 64 networks (all-ones
  'densenet' networks, as the first probe of fusion measured, and random genomes, whose superset graph
  carries masked-out nodes).
- Every space: K = 4 replicates (seeds) of one architecture, trained one after another vs fused.

Each round's `extra_info` holds networks/second. The probes of the 'exact' conv policy (one per shape and
group size and process) are warmed by a one-epoch run first, as a long search would amortise them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from harness.fused import train_group
from harness.spaces import get_space
from harness.tasks import preset
from harness.training import TrainingJob, freeze_params

TASK = preset("digits")
THREADS = 1
GCNN = get_space("genetic_cnn")
REPLICATES = 4
SPACES = {
    "genetic_cnn": ({}, "1-01 0-01-100 0-11-101-0001"),
    "macro_re": ({"channels": 16}, "0:CONV_3.N 1:CONV_3.N 2:CONV_2.H | -2>0 0>1 1>2 2>99 0>2"),
    "de_sequential": (
        dict(min_length=3, max_length=7, max_pools=2, max_channels=16, head_width=64, dropout=0.1),
        "C7x9 C7x16 C7x16 C3x16 C7x16 | FC64 D0.1",
    ),
}


def gcnn_jobs(n: int, kind: str, first_seed: int = 0) -> list[TrainingJob]:
    rng = np.random.default_rng(first_seed)
    genomes = [GCNN.named("densenet") if kind == "dense" else GCNN.sample(rng) for _ in range(n)]
    params = freeze_params(GCNN.params)
    return [job("genetic_cnn", params, GCNN.encode(g), first_seed + i) for i, g in enumerate(genomes)]


def job(space_name: str, params: tuple, encoding: str, seed: int) -> TrainingJob:
    return TrainingJob(space_name, params, encoding, TASK, seed, device="cpu", threads=THREADS)


def one_epoch(jobs: list[TrainingJob]) -> list[TrainingJob]:
    return [replace(j, task=replace(j.task, epochs=1)) for j in jobs]


def record(benchmark, networks: int, run) -> list:
    results = benchmark.pedantic(run, rounds=1, iterations=1)
    seconds = benchmark.stats.stats.median
    benchmark.extra_info["networks"] = networks
    benchmark.extra_info["networks_per_second"] = networks / seconds
    benchmark.extra_info["seconds_per_network"] = seconds / networks
    assert all(r.status == "ok" for r in results)
    return results


@pytest.mark.parametrize("kind", ["dense", "random"])
def test_gcnn_single_trainer(benchmark, kind):
    jobs = gcnn_jobs(4, kind, first_seed=1000)
    jobs[0].run()  # data on the device, kernels warm
    record(benchmark, len(jobs), lambda: [j.run() for j in jobs])


@pytest.mark.parametrize(("size", "kind"), [(8, "dense"), (32, "dense"), (64, "dense"), (32, "random")])
def test_gcnn_fused_group(benchmark, size, kind):
    jobs = gcnn_jobs(size, kind)
    train_group(one_epoch(jobs))  # probes for this group size
    record(benchmark, size, lambda: train_group(jobs))


def replicate_jobs(space_name: str) -> list[TrainingJob]:
    params, encoding = SPACES[space_name]
    space = get_space(space_name, **params)
    return [job(space_name, freeze_params(space.params), encoding, seed) for seed in range(REPLICATES)]


@pytest.mark.parametrize("space_name", sorted(SPACES))
def test_replicates_sequential(benchmark, space_name):
    jobs = replicate_jobs(space_name)
    one_epoch(jobs)[0].run()
    record(benchmark, len(jobs), lambda: [j.run() for j in jobs])


@pytest.mark.parametrize("space_name", sorted(SPACES))
def test_replicates_fused(benchmark, space_name):
    jobs = replicate_jobs(space_name)
    train_group(one_epoch(jobs))
    record(benchmark, len(jobs), lambda: train_group(jobs))
