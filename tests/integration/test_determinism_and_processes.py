"""Same seed, fresh cache, CPU: identical results; the cache written by one process read by others."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from cache import Cache

pytestmark = pytest.mark.slow

CONFIG = """
[experiment]
name = "det"
trials = 2
budget = { evaluations = 5 }

[space]
name = "genetic_cnn"

[task]
preset = "digits_quick"
epochs = 1

[evaluation]
executor = "EXECUTOR"
workers = 2

[[algorithms]]
name = "random_search"

[[algorithms]]
name = "optuna_tpe"
params = { n_startup_trials = 2 }
"""


def evonas(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=300
    )


def snapshot(path):
    with Cache(path, read_only=True) as cache:
        traj = {
            r.run_id: [replace(t, wall_seconds=None, sim_seconds=None) for t in cache.trajectory(r.run_id)]
            for r in cache.runs("det")
        }
        evals = cache.execute(
            "SELECT arch_hash, replicate, seed, status, val_acc, test_acc, train_loss, curve, params, flops "
            "FROM evaluations ORDER BY ALL"
        ).fetchall()
    return traj, evals


def test_inline_and_process_pool_give_identical_results(tmp_path):
    results = []
    for executor in ("inline", "process", "inline"):
        config = tmp_path / f"{executor}.toml"
        config.write_text(textwrap.dedent(CONFIG.replace("EXECUTOR", executor)))
        cache = tmp_path / f"{executor}-{len(results)}.duckdb"
        done = evonas("run", str(config), "--cache", str(cache), "--no-report")
        assert done.returncode == 0, done.stderr
        results.append(snapshot(cache))
    assert results[0] == results[2]  # two fresh runs, same seed: identical trajectories and evaluations
    assert results[0] == results[1]  # the process pool changes where training runs, not what it gives


def test_cache_across_processes(tmp_path):
    config = tmp_path / "x.toml"
    config.write_text(textwrap.dedent(CONFIG.replace("EXECUTOR", "inline")))
    first = tmp_path / "first.duckdb"
    assert evonas("run", str(config), "--cache", str(first), "--no-report").returncode == 0
    export = tmp_path / "export"
    done = evonas("cache", "export", "--cache", str(first), str(export))
    assert done.returncode == 0, done.stderr
    second = tmp_path / "second.duckdb"
    done = evonas("cache", "import", "--cache", str(second), str(export))
    assert done.returncode == 0, done.stderr
    assert snapshot(first) == snapshot(second)
    stats = json.loads(evonas("cache", "stats", "--cache", str(second), "--json").stdout)
    assert stats["tables"]["evaluations"] == stats["per_task"][0]["evaluations"] > 0
    # a rerun against the imported cache trains nothing: every query is a hit
    done = evonas("run", str(config), "--cache", str(second), "--no-report", "--restart")
    assert done.returncode == 0, done.stderr
    assert " 0 networks trained, cache hit rate 100%" in done.stdout
    assert evonas("cache", "verify", "--cache", str(second)).returncode == 0
