"""kill -9 a real `evonas run` mid-run, resume it, and compare with an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from cache import Cache

pytestmark = pytest.mark.slow

CONFIG = """
[experiment]
name = "killme"
trials = 2
budget = { evaluations = 8 }

[space]
name = "genetic_cnn"

[task]
preset = "digits_quick"
epochs = 1

[evaluation]
executor = "inline"

[[algorithms]]
name = "regularized_evolution"
params = { population = 4, sample_size = 2 }

[[algorithms]]
name = "genetic_cnn_ga"
params = { population = 4, generations = 1 }
"""


def evonas(*args: str, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "-v", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


def trajectories(path) -> dict[str, list]:
    with Cache(path, read_only=True) as cache:
        return {
            r.run_id: [replace(t, wall_seconds=None, sim_seconds=None) for t in cache.trajectory(r.run_id)]
            for r in cache.runs("killme")
        }


def evaluations(path) -> dict:
    with Cache(path, read_only=True) as cache:
        rows = cache.execute(
            "SELECT arch_hash, replicate, seed, status, val_acc, test_acc, train_loss, curve FROM evaluations"
        ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def test_resume_after_sigkill_matches_uninterrupted(tmp_path):
    config = tmp_path / "killme.toml"
    config.write_text(textwrap.dedent(CONFIG))
    reference = tmp_path / "reference.duckdb"
    done = evonas("run", str(config), "--cache", str(reference), "--no-report", "-q")
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err

    interrupted = tmp_path / "interrupted.duckdb"
    victim = evonas("run", str(config), "--cache", str(interrupted), "--no-report", "-q")
    stored = 0
    for line in victim.stderr:
        if " stored " in line:
            stored += 1
            if stored == 11:
                victim.send_signal(signal.SIGKILL)
                break
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    before = evaluations(interrupted)
    assert 11 <= len(before) < len(evaluations(reference))

    resumed = evonas("run", str(config), "--cache", str(interrupted), "--no-report", "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    trained_after = int(out.split(" queries, ")[1].split(" networks trained")[0])

    after = evaluations(interrupted)
    reference_evals = evaluations(reference)
    assert after == reference_evals  # same networks, seeds and results: nothing lost, nothing different
    assert trained_after == len(reference_evals) - len(before)  # nothing stored was trained again
    assert trajectories(interrupted) == trajectories(reference)
    with Cache(interrupted, read_only=True) as cache:
        assert {r.status for r in cache.runs("killme")} == {"finished"}
