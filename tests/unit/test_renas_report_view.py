"""The report's RENAS efficiency view (reports/views_renas.py) on fake-trained runs: the page carries it
with its CSVs, its data are the runs' histories checked against their trajectories, and the rl variant's
curve recomputed from its trajectory equals the algorithm's own record."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import numpy as np

from cache import Cache
from harness.runner import Budget, Runner, RunSpec, freeze
from harness.tasks import preset
from reports import data as data_module
from reports import render, views_renas
from tests.fakes import FakeExecutor

SPACE = {"filters": 4, "cells": 1, "stages": 2}
SMALL = {"population": 3, "sample_size": 2, "embedding": 8, "hidden": 8}
VARIANTS = {"renas": "renas", "renas_ea": "ea", "renas_rl": "rl"}


def spec(label: str, variant: str, trial: int) -> RunSpec:
    return RunSpec(
        experiment="renas_view",
        label=label,
        algorithm="renas",
        params=freeze({**SMALL, "variant": variant}),
        trial=trial,
        space_name="renas_cell",
        space_params=freeze(SPACE),
        task=preset("digits_renas"),
        budget=Budget(evaluations=7),
    )


def cache_with_runs(path: Path) -> Path:
    specs = [spec(label, variant, t) for label, variant in VARIANTS.items() for t in range(2)]
    with Cache(path) as cache:
        Runner(cache, executor=FakeExecutor(), progress=False).run(specs)
    return path


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_report_page_shows_the_efficiency_view_with_its_csvs(tmp_path):
    path = cache_with_runs(tmp_path / "c.duckdb")
    with Cache(path, read_only=True) as cache:
        files = render.build(cache)
    (page,) = [k for k in files if k.startswith("renas_view/") and k.endswith(".md")]
    text = files[page]
    assert "## RENAS efficiency (Fig. 4)" in text
    assert text.index("## RENAS efficiency") < text.index("## Architectures")
    (curve,) = [k for k in files if k.endswith("__renas-efficiency.csv")]
    (table,) = [k for k in files if k.endswith("__renas-efficiency-table.csv")]
    assert any(k.endswith("__renas-efficiency.svg") for k in files)
    data = rows(files[curve])
    assert len(data) == 3 * 2 * 7 and {r["source"] for r in data} == {"checkpoint"}
    for r in data:  # the Fig. 4 metric: best so far for rl, population mean otherwise
        assert r["fig4_metric"] == (r["best_so_far"] if r["variant"] == "rl" else r["population_mean"])
    summary = {r["algorithm"]: r for r in rows(files[table])}
    assert summary["renas"]["speedup_of_reference"] == ""
    assert all(
        float(summary[k]["speedup_low"]) <= float(summary[k]["speedup_of_reference"])
        for k in summary
        if k != "renas"
    )


def test_view_data_match_the_trajectories_and_rl_recomputes_from_them(tmp_path):
    path = cache_with_runs(tmp_path / "c.duckdb")
    with Cache(path, read_only=True) as cache:
        data = data_module.load(cache)
        histories = views_renas.load(cache, data)
    (block,) = data_module.blocks(data)
    assert len(histories.by_run) == 6
    for run in block.runs:
        fits = np.array([q.fitness for q in run.queries])
        history = histories.by_run[run.run_id]
        assert np.array_equal(history[:, 2], np.maximum.accumulate(fits))
        if views_renas.variant_of(run) == "rl":  # an independent recomputation of the algorithm's record
            assert np.allclose(views_renas.trajectory_history(run), history, rtol=0, atol=1e-12)
    # a cache without checkpoints (an exported one): rl falls back to its trajectory, the others are named
    bare = views_renas.Histories({})
    dataset, notes = views_renas.block_dataset(block, bare)
    assert {r[0] for r in dataset.rows} == {"renas_rl"} and {r[-1] for r in dataset.rows} == {"trajectory"}
    assert len(notes) == 4 and all("no population history" in n for n in notes)
    # a history that disagrees with its trajectory is left out, with a note
    run_id = next(iter(histories.by_run))
    broken = dict(histories.by_run)
    broken[run_id] = histories.by_run[run_id] + np.array([0.0, 0.0, 0.5])
    dataset, notes = views_renas.block_dataset(block, replace(histories, by_run=broken))
    assert len(dataset.rows) == 5 * 7 and any("not the running maximum" in n for n in notes)
