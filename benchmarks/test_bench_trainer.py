"""Seconds per training of one Genetic CNN network on digits: the device-resident trainer vs the plain
eager loop of the papers' code (DataLoader, per-step .item()). On a GPU the trainer's advantage grows with
the number of per-step host syncs it avoids."""

from __future__ import annotations

import pytest

from harness.spaces import get_space
from harness.tasks import preset
from harness.training import reference_train, resolve_device, train_genome

SPACE = get_space("genetic_cnn")
TASK = preset("digits")
GENOME = SPACE.named("table1_best")


@pytest.fixture(scope="module")
def device():
    dev = resolve_device("auto")
    train_genome(SPACE, GENOME, TASK, seed=0, device=dev, threads=1)  # data on the device, kernels warm
    return dev


def test_trainer(benchmark, device):
    result = benchmark.pedantic(
        lambda: train_genome(SPACE, GENOME, TASK, seed=1, device=device, threads=1), rounds=3, iterations=1
    )
    assert result.status == "ok"


def test_reference_loop(benchmark):
    accuracy = benchmark.pedantic(
        lambda: reference_train(SPACE, GENOME, TASK, seed=1), rounds=3, iterations=1
    )
    assert 0.0 <= accuracy <= 1.0
