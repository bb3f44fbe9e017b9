"""The small digits configs of the RE-macro and DE-NAS papers, end to end on the CPU: run, cache, report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cache import Cache

pytestmark = pytest.mark.slow
CONFIGS = Path(__file__).resolve().parents[2] / "benchmarks" / "configs"


def evonas(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=900
    )


def test_re_macro_and_de_digits_configs(tmp_path):
    cache = tmp_path / "papers.duckdb"
    out = tmp_path / "report"
    for name in ("re_macro_digits", "de_digits"):
        done = evonas("run", str(CONFIGS / f"{name}.toml"), "--cache", str(cache), "--out", str(out))
        assert done.returncode == 0, done.stderr
        assert f"{name}: " in done.stdout and "networks trained" in done.stdout
    with Cache(cache, read_only=True) as c:
        runs = c.runs()
        assert {r.experiment for r in runs} == {"re_macro_digits", "de_digits"}
        assert {r.status for r in runs} == {"finished"}
        assert len(runs) == 4 * 5 + 3 * 5
        statuses = dict(
            c.execute(
                "SELECT a.space || '/' || e.status, count(*) "
                "FROM evaluations e JOIN architectures a USING (arch_hash) GROUP BY ALL"
            ).fetchall()
        )
        assert statuses.get("macro_re/ok", 0) > 0 and statuses.get("de_sequential/ok", 0) > 0
        assert statuses.get("macro_re/invalid", 0) > 0  # invalid genomes are stored with their reason
        de_generations = c.execute(
            "SELECT DISTINCT generation FROM trajectories "
            "WHERE run_id LIKE 'de_digits/differential_evolution/%' ORDER BY 1"
        ).fetchall()
        assert [g[0] for g in de_generations] == [0, 1, 2]
    assert (out / "index.html").exists()
    re_page = (out / "re_macro_digits" / "macro_re__digits.html").read_text()
    assert "Node count of valid evolved genomes" in re_page and "Overlay of all evolved genomes" in re_page
    de_page = (out / "de_digits" / "de_sequential__digits.html").read_text()
    assert "Pareto" in de_page and "final population" in de_page
    # a rerun answers every query from the cache
    done = evonas("run", str(CONFIGS / "de_digits.toml"), "--cache", str(cache), "--restart", "--no-report")
    assert done.returncode == 0, done.stderr
    assert " 0 networks trained, cache hit rate 100%" in done.stdout
