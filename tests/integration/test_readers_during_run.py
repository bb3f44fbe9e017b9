"""`evonas cache stats|query` and `evonas report` work while a run writes the same cache file.

DuckDB lets one process hold a file; the run's driver holds it only while it writes (it lets go before
every training), and readers wait for it briefly instead of failing with 'locked'.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

CONFIG = """
[experiment]
name = "readers"
trials = 2
budget = { evaluations = 60 }  # long enough that reads finish while it writes, even on a loaded machine

[space]
name = "genetic_cnn"

[task]
preset = "digits_quick"
epochs = 1

[[algorithms]]
name = "regularized_evolution"
params = { population = 4, sample_size = 2 }
"""


def evonas(*args: str, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, EVONAS_LOCK_TIMEOUT="60")
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=120, env=env, **kw
    )


def test_readers_work_while_a_run_writes(tmp_path):
    config = tmp_path / "readers.toml"
    config.write_text(textwrap.dedent(CONFIG))
    db = tmp_path / "c.duckdb"
    writer = subprocess.Popen(
        [sys.executable, "-m", "harness", "-v", "run", str(config), "--cache", str(db), "--no-report", "-q"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for line in writer.stderr:  # wait for the first stored network: the file exists and is in use
            if " stored " in line:
                break
        seen, during = [], 0
        while writer.poll() is None and during < 4:
            stats = evonas("cache", "stats", "--cache", str(db), "--json")
            assert stats.returncode == 0, stats.stderr
            seen.append(json.loads(stats.stdout)["tables"]["evaluations"])
            query = evonas("cache", "query", "--cache", str(db), "--sql", "SELECT count(*) AS n FROM runs")
            assert query.returncode == 0, query.stderr
            during += writer.poll() is None  # both reads finished while the run was still writing
        report = evonas("report", "--cache", str(db), "--out", str(tmp_path / "report"))
        assert report.returncode == 0, report.stderr
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    finally:
        if writer.poll() is None:
            writer.kill()
    assert during >= 1 and seen == sorted(seen) and seen[0] >= 1  # readers saw the run's progress
    assert (tmp_path / "report" / "index.html").exists()
