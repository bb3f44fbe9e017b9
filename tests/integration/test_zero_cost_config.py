"""The zero-cost digits config end to end: zero_cost_ga vs RS and RE (plain and pre-filtered by a proxy) at
equal simulated seconds, the report's zero-cost views, and proxies against trained accuracy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cache import Cache

pytestmark = pytest.mark.slow
CONFIG = Path(__file__).resolve().parents[2] / "benchmarks" / "configs" / "zero_cost_ga_digits.toml"
PAGE = "zero_cost_ga_digits/darts_cell__digits_quick.html"


def evonas(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=900
    )


def test_zero_cost_digits_config(tmp_path):
    cache, out = tmp_path / "zc.duckdb", tmp_path / "report"
    done = evonas("run", str(CONFIG), "--cache", str(cache), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    with Cache(cache, read_only=True) as c:
        runs = c.runs("zero_cost_ga_digits")
        assert len(runs) == 12 and {r.status for r in runs} == {"finished"}
        for trial in range(3):
            (final,) = c.trajectory(f"zero_cost_ga_digits/zero_cost_ga/{trial}")  # the trained network
            assert len(final.encoding.split(" / ")) == 2  # pop_size cells concatenated
            assert final.fitness > 0
        per_network = c.execute(
            "SELECT arch_hash, count(*), sum(seconds) FROM proxies WHERE proxy <> 'synflow@s0' GROUP BY 1"
        ).fetchall()
        assert per_network and {n for _, n, _ in per_network} == {4}  # the paper's scores, stored once
        # the search is charged at least one query of every network it scored, then the training
        charged = min(c.trajectory(f"zero_cost_ga_digits/zero_cost_ga/{t}")[0].sim_seconds for t in range(3))
        assert charged > min(s for _, _, s in per_network)
        # the pre-filter's synflow scores are stored and charged: fewer trainings in the same seconds
        assert c.execute("SELECT count(*) FROM proxies WHERE proxy = 'synflow@s0'").fetchone()[0] > 0
        for label in ("random_search", "regularized_evolution", "regularized_evolution_synflow"):
            rows = c.trajectory(f"zero_cost_ga_digits/{label}/0")
            assert len(rows) > 1 and rows[-2].sim_seconds < 12.0  # asked while under the 12 s budget
    page = (out / PAGE).read_text()
    for title in (
        "Best score per generation (paper Fig. 5)",
        "The best survivors move toward the origin (paper Fig. 6)",
        "Final population and its Pareto front",
        "Zero-cost proxies vs trained accuracy",
    ):
        assert title in page
    # score some trained networks with cheap proxies: the correlation view gets numbers
    scored = evonas(
        "proxies", "--space", "darts_cell", "--task", "digits_quick", "--evaluated", "--sample", "12",
        "--proxies", "naswot,synflow", "--cache", str(cache),
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    report = evonas("report", "--cache", str(cache), "--out", str(out))
    assert report.returncode == 0, report.stderr
    csv = (out / "zero_cost_ga_digits/figures/darts_cell__digits_quick__proxy-correlation.csv").read_text()
    assert any(line.startswith("synflow@s0,") for line in csv.splitlines())
