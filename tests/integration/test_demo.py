"""`evonas demo`: the shipped table imported, the surrogate comparison at real budgets, a live part, the
report; a second call trains nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

import harness.demo
from harness.cli import main
from harness.demo import demo_configs, shipped_table
from harness.runner import Budget
from harness.tasks import preset

pytestmark = pytest.mark.slow


def test_demo_configs_are_the_documented_job():
    comparison, live = demo_configs()
    for config in (comparison, live):
        assert config.space == "genetic_cnn" and config.space_params["stages"] == [3, 4, 5]
    assert comparison.task == preset("digits")
    assert live.task.key() != comparison.task.key()  # live results never join the surrogate's table
    assert comparison.evaluation.mode == "surrogate" and live.evaluation.mode == "live"
    assert comparison.trials >= 20 and comparison.budget.evaluations >= 200 and comparison.sim_workers > 1
    names = {a.name for a in comparison.algorithms}
    assert names == {
        "random_search",
        "regularized_evolution",
        "genetic_cnn_ga",
        "optuna_tpe",
        "optuna_random",
    }
    (ga,) = [a for a in comparison.algorithms if a.name == "genetic_cnn_ga"]
    assert ga.params["population"] == 20 and ga.params["generations"] >= 10
    assert ga.params["population"] * (ga.params["generations"] + 1) <= comparison.budget.evaluations
    specs = comparison.run_specs()
    assert len(specs) == 5 * comparison.trials and len({s.seed for s in specs}) == len(specs)
    assert 1 <= live.budget.evaluations <= 16 and live.evaluation.executor == "process"
    assert (shipped_table() / "recipe.json").is_file()


def test_demo_end_to_end_small(tmp_path, monkeypatch, capsys):
    comparison, live = demo_configs()
    small = (
        replace(comparison, trials=2, budget=Budget(evaluations=24)),
        replace(
            live, task=replace(preset("digits_quick"), epochs=1), budget=Budget(evaluations=2), sim_workers=2
        ),
    )
    monkeypatch.setattr(harness.demo, "demo_configs", lambda: small)
    args = [
        "demo",
        "--cache",
        str(tmp_path / "c.duckdb"),
        "--out",
        str(tmp_path / "report"),
        "--workers",
        "1",
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "evaluations +0" not in first  # the shipped table went in
    assert "demo: 10 runs, 240 queries, 0 networks trained" in first and "predicted by the surrogate" in first
    assert "demo-live: 1 runs, 2 queries, 2 networks trained" in first
    index = (tmp_path / "report" / "index.html").read_text()
    assert "surrogate gbr" in index and "demo-live" in index
    assert main(args) == 0
    second = capsys.readouterr().out
    assert "evaluations +0" in second  # the table is there already
    assert "demo-live: 1 runs, 2 queries, 0 networks trained, cache hit rate 100%" in second
