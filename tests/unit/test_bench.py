"""`evonas bench`: every contestant is measured, under one thread count, and reported (speed is measured,
never asserted). Small settings keep it fast: one-epoch trainings of groups of 1 and 2 networks, and a
table of synthetic results exported as the shipped one is."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from cache import Cache
from cache.parquet import export_parquet
from harness.bench import BenchSettings, SyntheticResultExecutor, run_benchmarks, warm_cache_throughput
from harness.bench_report import contestants, format_report
from harness.cli import main
from harness.runner import Budget, Runner, RunSpec, freeze
from harness.tasks import preset

THREADS = 1


@pytest.fixture(scope="module")
def synthetic_table(tmp_path_factory) -> Path:
    """A genetic_cnn x digits export of synthetic results of 40 networks (nothing trains)."""
    root = tmp_path_factory.mktemp("bench-table")
    specs = [
        RunSpec(
            experiment="table",
            label="random_search",
            algorithm="random_search",
            params=freeze({}),
            trial=0,
            space_name="genetic_cnn",
            space_params=freeze({}),
            task=preset("digits"),
            budget=Budget(evaluations=40),
        )
    ]
    with Cache(root / "source.duckdb") as cache:
        for replicates in ("shared", "independent"):
            Runner(cache, SyntheticResultExecutor(), replicates=replicates, progress=False).run(specs)
            for spec in specs:
                cache.delete_run(spec.run_id)
        export_parquet(cache, root / "export")
    return root / "export"


@pytest.fixture(scope="module")
def small(synthetic_table) -> BenchSettings:
    return BenchSettings.quick(
        device="cpu",
        threads=THREADS,
        sizes=(1, 2),
        baseline_networks=2,
        task=replace(preset("digits"), epochs=1),
        table=synthetic_table,
        trials=1,
        evaluations=30,
        lookups=50,
        warm_queries=40,
    )


@pytest.fixture(scope="module")
def results(small) -> dict:
    return run_benchmarks(small)


def test_every_contestant_is_measured(results, small):
    training = {r["contestant"]: r for r in results["training"]}
    assert set(training) == {"single trainer", "plain loop", "fused N=1", "fused N=2"}
    for row in training.values():
        assert row["seconds"] > 0 and row["networks_per_hour"] > 0 and row["gflops"] > 0
        assert row["speedup_vs_single"] > 0 and 0.0 <= row["mean_accuracy"] <= 1.0
        assert row["peak_fraction"] is not None  # a CPU: the default peak applies
    assert training["single trainer"]["networks"] == training["fused N=2"]["networks"] == 2
    assert training["single trainer"]["train_gflop"] == pytest.approx(training["fused N=2"]["train_gflop"])
    simulation = {(r["mode"], r["algorithm"]) for r in results["simulation"]}
    assert simulation == {
        (m, a) for m in ("tabular", "surrogate") for a in ("random_search", "regularized_evolution")
    }
    assert all(r["evaluations"] == small.trials * small.evaluations for r in results["simulation"])
    assert results["lookup"]["lookups"] == 50 and results["lookup"]["p50_us"] <= results["lookup"]["p90_us"]
    assert results["warm_cache"]["warm_trained"] == 0


def test_every_contestant_runs_with_the_same_thread_count(results):
    rows = [*results["training"], *results["simulation"], results["lookup"], results["warm_cache"]]
    assert {int(r["threads"]) for r in rows} == {THREADS}
    assert results["settings"]["threads"] == THREADS


def test_the_table_has_every_row_and_json_is_valid(results):
    text = format_report(results)
    for name in contestants(results):
        assert name in text
    assert len(contestants(results)) == 4 + 4 + 2
    assert json.loads(json.dumps(results)) == results


def test_the_fused_group_trains_the_single_trainers_networks_alike(results):
    """Same networks, same seeds: on a CPU the fused contract makes their accuracies equal."""
    training = {r["contestant"]: r for r in results["training"]}
    assert training["fused N=2"]["mean_accuracy"] == training["single trainer"]["mean_accuracy"]


def test_the_cli_hands_its_settings_over_and_prints_json(monkeypatch, capsys, results):
    seen = []

    def fake(settings: BenchSettings) -> dict:
        seen.append(settings)
        return results

    monkeypatch.setattr("harness.bench.run_benchmarks", fake)
    assert (
        main(["bench", "--quick", "--only", "cache", "--threads", "2", "--peak-gflops", "50", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out) == results
    (settings,) = seen
    assert settings.parts == ("cache",) and settings.threads == 2 and settings.peak_gflops == 50
    assert settings.sizes == (1, 8) and settings.task.epochs == preset("digits").epochs  # quick keeps it
    assert main(["bench", "-q"]) == 0
    assert "Training" in capsys.readouterr().out and seen[-1].sizes == (1, 8, 32, 64)


def test_the_bench_runner_throughput_works_with_fused_groups():
    """`evonas bench`'s warm-cache figure drives the runner through fused groups of synthetic results."""
    result = warm_cache_throughput(queries=80, trials=4)
    assert result["warm_queries"] == 80 and result["warm_trained"] == 0
