"""The RENAS efficiency view (Fig. 4) and the runner's resume of a renas run (controller included)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cache import Cache
from harness.runner import Budget, Runner, RunSpec, decode_checkpoint, freeze
from harness.tasks import preset
from reports.renas_efficiency import (
    Curves,
    curves,
    efficiency_table,
    first_reach,
    plot_efficiency,
    speedup,
)
from tests.fakes import FakeExecutor

SPACE = {"filters": 4, "cells": 1, "stages": 2}
SMALL = {"population": 3, "sample_size": 2, "embedding": 8, "hidden": 8}


def spec(label: str, variant: str, trial: int) -> RunSpec:
    return RunSpec(
        experiment="renas_exp",
        label=label,
        algorithm="renas",
        params=freeze({**SMALL, "variant": variant}),
        trial=trial,
        space_name="renas_cell",
        space_params=freeze(SPACE),
        task=preset("digits_renas"),
        budget=Budget(evaluations=8),
    )


SPECS = [spec("renas", "renas", t) for t in range(2)] + [spec("renas_ea", "ea", 0)]


def run(path: Path, specs, **kw):
    with Cache(path) as cache:
        Runner(
            cache, executor=FakeExecutor(), progress=False, **{k: v for k, v in kw.items() if k != "resume"}
        ).run(specs, resume=kw.get("resume", False))


def states(path: Path) -> dict[str, dict]:
    with Cache(path, read_only=True) as cache:
        return {s.run_id: decode_checkpoint(cache.load_checkpoint(s.run_id)[1], s.run_id) for s in SPECS}


def test_first_reach_and_speedup_on_known_curves():
    assert first_reach(np.array([0.1, 0.5, 0.7]), 0.5) == (2, True)
    assert first_reach(np.array([0.1, 0.2]), 0.5) == (2, False)
    # the fast variant reaches 0.5 at iteration 5, the slow one at iteration 10
    fast = tuple(np.column_stack([np.minimum(np.arange(1, 21) / 10, 1.0)] * 3) for _ in range(3))
    slow = tuple(np.column_stack([np.minimum(np.arange(1, 21) / 20, 1.0)] * 3) for _ in range(3))
    data = Curves({"renas": fast, "renas_ea": slow}, {"renas": "renas", "renas_ea": "ea"})
    s = speedup(data, "renas", "renas_ea", target=0.5)
    assert (s.ratio, s.low, s.high, s.censored) == (2.0, 2.0, 2.0, 0)
    table = efficiency_table(data, target=0.5)
    assert "renas_ea (ea)" in table and "2.00 (2.00-2.00)" in table


def test_resume_after_interruption_continues_the_controller_and_the_view_reads_it(tmp_path):
    run(tmp_path / "ref.duckdb", SPECS)

    class Interrupt(Exception):
        pass

    def stop(round_index: int) -> None:
        if round_index == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(tmp_path / "int.duckdb", SPECS, checkpoint_seconds=0.0, on_round=stop)
    run(tmp_path / "int.duckdb", SPECS, resume=True)
    ref, resumed = states(tmp_path / "ref.duckdb"), states(tmp_path / "int.duckdb")
    for run_id in ref:
        a, b = ref[run_id]["algorithm"], resumed[run_id]["algorithm"]
        assert a["history"] == b["history"] and a["population"] == b["population"]
        assert json.dumps(a.get("controller")) == json.dumps(b.get("controller"))  # bit for bit
    with Cache(tmp_path / "int.duckdb", read_only=True) as cache:
        data = curves(cache, "renas_exp")
    assert sorted(data.by_label) == ["renas", "renas_ea"] and [
        len(data.by_label[k]) for k in ("renas", "renas_ea")
    ] == [2, 1]
    assert all(c.shape == (8, 3) for v in data.by_label.values() for c in v)
    assert "| renas (renas) | 2 | 8 |" in efficiency_table(data)
    assert plot_efficiency(data, tmp_path / "fig4.png").stat().st_size > 1000
