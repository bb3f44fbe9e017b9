"""`evonas bench` pieces that must keep working as the evaluator changes (speed is measured, not asserted)."""

from __future__ import annotations


def test_the_bench_runner_throughput_works_with_fused_groups():
    """`evonas bench`'s warm-cache figure drives the runner through fused groups of synthetic results."""
    from harness.bench import warm_cache_throughput

    result = warm_cache_throughput(queries=80, trials=4)
    assert result["warm_queries"] == 80 and result["warm_trained"] == 0
