"""The CI-sized RENAS ablation (benchmarks/configs/renas_digits_ci.toml) end to end through `evonas run`:
four variants x 5 trials, the report's efficiency view (Fig. 4), and kill -9 + --resume reproducing the
trajectories and the controllers' state (weights, Adam moments, baseline, RNG) of an uninterrupted run."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cache import Cache
from harness.runner import decode_checkpoint

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).resolve().parents[2] / "benchmarks" / "configs" / "renas_digits_ci.toml"
EXPERIMENT = "renas_digits_ci"
LABELS = {"renas": "renas", "renas_nonbi": "nonbi", "renas_ea": "ea", "renas_rl": "rl"}
TRIALS, EVALUATIONS = 5, 10


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "-v", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        start_new_session=True,  # its own process group: the kill reaches the pool's workers too
    )


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("renas_ci")
    cache, out = root / "reference.duckdb", root / "report"
    finish(start("run", str(CONFIG), "--cache", str(cache), "--out", str(out), "-q"))
    return cache, out


def trajectories(path: Path) -> dict[str, list]:
    with Cache(path, read_only=True) as cache:
        return {
            r.run_id: [replace(t, wall_seconds=None, sim_seconds=None) for t in cache.trajectory(r.run_id)]
            for r in cache.runs(EXPERIMENT)
        }


def algorithm_states(path: Path) -> dict[str, dict]:
    with Cache(path, read_only=True) as cache:
        out = {}
        for r in cache.runs(EXPERIMENT):
            stored = cache.load_checkpoint(r.run_id)
            assert stored is not None, r.run_id
            out[r.run_id] = decode_checkpoint(stored[1], r.run_id)["algorithm"]
        return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_ci_config_compares_the_four_variants_and_the_report_shows_the_efficiency_view(reference):
    cache_path, out = reference
    with Cache(cache_path, read_only=True) as cache:
        runs = cache.runs(EXPERIMENT)
        assert sorted((r.algorithm, r.trial) for r in runs) == sorted(
            (label, t) for label in LABELS for t in range(TRIALS)
        )
        assert {r.status for r in runs} == {"finished"}
        assert all(len(cache.trajectory(r.run_id)) == EVALUATIONS for r in runs)
    pages = list((out / EXPERIMENT).glob("*.md"))
    assert len(pages) == 1
    page = pages[0].read_text()
    assert "## RENAS efficiency (Fig. 4)" in page and "speedup of renas (95% CI)" in page
    figures = out / EXPERIMENT / "figures"
    (svg,) = figures.glob("*__renas-efficiency.svg")
    assert svg.stat().st_size > 5000
    (curve_csv,) = figures.glob("*__renas-efficiency.csv")
    rows = read_csv(curve_csv)
    assert {(r["algorithm"], r["variant"]) for r in rows} == set(LABELS.items())
    assert len(rows) == len(LABELS) * TRIALS * EVALUATIONS
    assert {r["source"] for r in rows} == {"checkpoint"}
    (table_csv,) = figures.glob("*__renas-efficiency-table.csv")
    table = {r["algorithm"]: r for r in read_csv(table_csv)}
    assert set(table) == set(LABELS) and table["renas"]["speedup_of_reference"] == ""
    for label in ("renas_nonbi", "renas_ea", "renas_rl"):
        low, ratio, high = (
            float(table[label][k]) for k in ("speedup_low", "speedup_of_reference", "speedup_high")
        )
        assert 0 < low <= ratio <= high


def test_sigkill_mid_run_then_resume_reproduces_trajectories_and_controllers(reference, tmp_path):
    cache_path, _ = reference
    interrupted = tmp_path / "interrupted.duckdb"
    victim = start("run", str(CONFIG), "--cache", str(interrupted), "--no-report", "-q")
    stores = 0
    assert victim.stderr is not None
    for line in victim.stderr:
        if " stored " in line:
            stores += 1
            if stores == 90:  # past the initial populations (4 x 20 runs): controllers have learned
                os.killpg(victim.pid, signal.SIGKILL)
                break
    victim.wait(timeout=120)
    assert victim.returncode == -signal.SIGKILL
    with Cache(interrupted, read_only=True) as cache:
        told = cache.execute("SELECT count(*) FROM trajectories").fetchone()[0]
        assert told < len(LABELS) * TRIALS * EVALUATIONS  # the kill landed mid-run
    # ... after controllers had learned: the resume starts from mid-run controller states, not from scratch
    mid = [s for s in algorithm_states(interrupted).values() if 0 < s["told"] < EVALUATIONS and s["updates"]]
    assert mid and all("controller" in s for s in mid)

    finish(start("run", str(CONFIG), "--cache", str(interrupted), "--no-report", "--resume", "-q"))
    assert trajectories(interrupted) == trajectories(cache_path)
    resumed, uninterrupted = algorithm_states(interrupted), algorithm_states(cache_path)
    assert resumed.keys() == uninterrupted.keys()
    for run_id, state in uninterrupted.items():
        other = resumed[run_id]
        for key in ("history", "population", "baseline", "updates", "rng", "told"):
            assert other[key] == state[key], (run_id, key)
        # the controller's weights and Adam moments, bit for bit (absent for the ea variant)
        assert json.dumps(other.get("controller")) == json.dumps(state.get("controller")), run_id
        assert json.dumps(other.get("optimizer")) == json.dumps(state.get("optimizer")), run_id
    assert sum("controller" in s for s in uninterrupted.values()) == 3 * TRIALS
