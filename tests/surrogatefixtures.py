"""A synthetic Genetic CNN table: a made-up benchmark with known mean, replicate noise and train time."""

from __future__ import annotations

import numpy as np

from cache import Cache
from cache.hashing import training_seed
from cache.records import EvalRecord
from harness.spaces import get_space
from harness.tasks import preset

SPACE = get_space("genetic_cnn")
TASK = preset("digits")
TRUE_STD = 0.02


def true_mean(genome) -> float:
    """A made-up benchmark: deeper active stages score higher (a function of the network, not the bits)."""
    summary = SPACE.summary(genome)
    return 0.55 + 0.02 * summary["active_nodes"]


def synthetic_table(path, networks: int = 240, replicates: int = 3, seed: int = 0) -> Cache:
    rng = np.random.default_rng(seed)
    cache = Cache(path)
    key = TASK.key()
    cache.put_task(key, TASK.name, TASK.protocol(), TASK.dataset)
    seen: set[str] = set()
    with cache.transaction():
        while len(seen) < networks:
            genome = SPACE.sample(rng)
            arch = SPACE.hash(genome)
            if arch in seen:
                continue
            seen.add(arch)
            cache.put_architecture(
                arch, SPACE.name, SPACE.version, SPACE.encode(genome), SPACE.canonical(genome), SPACE.params
            )
            mean = true_mean(genome)
            for r in range(replicates):
                noise = float(rng.normal(0, TRUE_STD))
                cache.put_evaluation(
                    EvalRecord(
                        arch_hash=arch,
                        task_key=key,
                        replicate=r,
                        seed=training_seed(key, arch, r),
                        status="ok",
                        val_acc=mean + noise,
                        test_acc=mean + 0.8 * noise + float(rng.normal(0, 0.005)),
                        train_seconds=2.0 + 0.1 * SPACE.summary(genome)["ones"],
                    )
                )
    return cache
