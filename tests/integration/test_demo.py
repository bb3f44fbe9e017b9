"""`evonas demo`: the embedded default job, then the report; a second call trains nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

import harness.config
from harness.cli import main
from harness.config import demo_config
from harness.runner import Budget
from harness.tasks import preset

pytestmark = pytest.mark.slow


def test_demo_config_is_the_documented_job():
    config = demo_config()
    assert config.space == "genetic_cnn" and config.space_params["stages"] == [3, 4, 5]
    assert config.task == preset("digits")
    assert config.trials >= 5
    assert {a.name for a in config.algorithms} == {
        "random_search",
        "regularized_evolution",
        "genetic_cnn_ga",
        "optuna_tpe",
    }
    assert config.evaluation.executor == "process"
    specs = config.run_specs()
    assert len(specs) == 4 * config.trials and len({s.seed for s in specs}) == len(specs)


def test_demo_end_to_end_with_a_small_budget(tmp_path, monkeypatch, capsys):
    small = replace(
        demo_config(),
        task=replace(preset("digits_quick"), epochs=1),
        budget=Budget(evaluations=3),
        trials=2,
        algorithms=tuple(
            replace(a, params={"population": 2, "generations": 0})
            if a.name == "genetic_cnn_ga"
            else replace(a, params={"population": 2, "sample_size": 2})
            if a.name == "regularized_evolution"
            else a
            for a in demo_config().algorithms
        ),
    )
    monkeypatch.setattr(harness.config, "demo_config", lambda: small)
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
    assert "demo: 8 runs" in first and "0 networks trained" not in first
    assert (tmp_path / "report" / "index.html").exists()
    assert (tmp_path / "report" / "demo" / "genetic_cnn__digits_quick.html").exists()
    assert main(args) == 0
    second = capsys.readouterr().out
    assert " 0 networks trained, cache hit rate 100%" in second
