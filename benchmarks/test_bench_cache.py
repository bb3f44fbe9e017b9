"""The harness's own cost per query: hashing, cache lookups, algorithm ask/tell, trajectories, checkpoints,
measured with every evaluation already cached (no training)."""

from __future__ import annotations

import numpy as np

from harness.bench import warm_cache_throughput
from harness.spaces import get_space


def test_warm_cache_queries(benchmark):
    result = benchmark.pedantic(lambda: warm_cache_throughput(queries=2000, trials=4), rounds=2, iterations=1)
    assert result["warm_trained"] == 0


def test_canonical_hash_genetic_cnn(benchmark):
    space = get_space("genetic_cnn")
    genomes = [space.sample(np.random.default_rng(i)) for i in range(500)]
    benchmark(lambda: [space.hash(g) for g in genomes])


def test_canonical_hash_macro_re(benchmark):
    space = get_space("macro_re")
    rng = np.random.default_rng(0)
    genomes = []
    g = space.sample(rng)
    for _ in range(200):
        g = space.mutate(g, rng)
        genomes.append(g)
    benchmark(lambda: [space.hash(g) for g in genomes])
