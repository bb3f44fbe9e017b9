"""Fault injection: SIGKILL a `process`-executor run (driver and workers) at seeded random points, several
times in a row, resume each time, and compare with an uninterrupted run.

Kill points are drawn from a seeded Generator: after the k-th stored network (between a store and the
next commit), or after a random wall-clock delay (anywhere: during a training, a commit, a checkpoint).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from cache import Cache

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

CONFIG = """
[experiment]
name = "killpoints"
trials = 1
budget = { evaluations = 8 }

[space]
name = "genetic_cnn"

[task]
preset = "digits_quick"
epochs = 1

[evaluation]
executor = "process"
workers = 2

[[algorithms]]
name = "regularized_evolution"
params = { population = 4, sample_size = 2 }

[[algorithms]]
name = "genetic_cnn_ga"
params = { population = 4, generations = 1 }
"""


def start(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "-v", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: the kill takes the workers too
    )


def evaluations(path) -> dict:
    with Cache(path, read_only=True) as cache:
        rows = cache.execute(
            "SELECT arch_hash, replicate, seed, status, val_acc, test_acc, train_loss, curve FROM evaluations"
        ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def trajectories(path) -> dict[str, list]:
    with Cache(path, read_only=True) as cache:
        return {
            r.run_id: [replace(t, wall_seconds=None, sim_seconds=None) for t in cache.trajectory(r.run_id)]
            for r in cache.runs("killpoints")
        }


def run_until(args: list[str], kill_after_stores: int | None, kill_after_seconds: float | None) -> tuple:
    """Run `evonas run ...`; SIGKILL its process group at the given point. (stored keys seen, killed?)

    The stored keys are (hash prefix, replicate) of every "stored" log line the process wrote before it
    died: after a kill the rest of its output is still read (a fused group's results are committed
    together, then logged one by one, so more may follow the line that triggered the kill)."""
    proc = start(*args)
    stored: list[tuple[str, str]] = []
    killed = threading.Event()

    def kill() -> None:
        if proc.poll() is None and not killed.is_set():
            killed.set()
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(kill_after_seconds, kill) if kill_after_seconds is not None else None
    if timer is not None:
        timer.start()
    for line in proc.stderr:
        if " stored " in line:
            words = line.split(" stored ", 1)[1].split()
            stored.append((words[0], words[2]))  # "<hash12> replicate <r> of ..."
            if kill_after_stores is not None and len(stored) >= kill_after_stores:
                kill()
    proc.wait(timeout=300)
    if timer is not None:
        timer.cancel()
    if not killed.is_set():
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    return stored, killed.is_set()


def test_seeded_random_kills_lose_nothing_and_repeat_nothing(tmp_path):
    config = tmp_path / "killpoints.toml"
    config.write_text(textwrap.dedent(CONFIG))
    reference = tmp_path / "reference.duckdb"
    stored, _ = run_until(["run", str(config), "--cache", str(reference), "--no-report", "-q"], None, None)
    expected = evaluations(reference)
    assert len(stored) == len(expected) >= 12

    rng = np.random.default_rng(20261203)
    victim = tmp_path / "victim.duckdb"
    args = ["run", str(config), "--cache", str(victim), "--no-report", "-q"]
    all_stored: list[tuple[str, str]] = []
    kills, points = 0, []
    for attempt in range(3):
        by_time = bool(rng.integers(0, 2))
        after_stores = None if by_time else int(rng.integers(1, 5))
        after_seconds = float(rng.uniform(1.0, 6.0)) if by_time else None
        points.append(after_stores if after_stores is not None else f"{after_seconds:.1f}s")
        stored, killed = run_until(args + (["--resume"] if attempt else []), after_stores, after_seconds)
        all_stored += stored
        kills += killed
        if not killed:
            break
    else:
        stored, _ = run_until([*args, "--resume"], None, None)
        all_stored += stored
    log.info(
        "kill points %s: %d kills, %d stores for %d networks", points, kills, len(all_stored), len(expected)
    )
    assert evaluations(victim) == expected  # nothing lost, nothing different
    # a network stored before a kill is never trained again (a kill may only waste trainings in flight):
    # no key is stored twice over the attempts (a store whose log line a kill cut off is not counted, so
    # the lines can be fewer than the networks, never more)
    assert len(set(all_stored)) == len(all_stored) <= len(expected)
    assert trajectories(victim) == trajectories(reference)
    with Cache(victim, read_only=True) as cache:
        assert {r.status for r in cache.runs("killpoints")} == {"finished"}


def test_workers_die_with_a_killed_driver(tmp_path):
    """kill -9 of the driver alone: its worker processes must not live on as orphans."""
    config = tmp_path / "killpoints.toml"
    config.write_text(textwrap.dedent(CONFIG))
    proc = start("run", str(config), "--cache", str(tmp_path / "c.duckdb"), "--no-report", "-q")
    for line in proc.stderr:
        if " stored " in line:
            break
    children = subprocess.run(
        ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert children
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    alive = list(children)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _alive(int(pid))]
        time.sleep(0.2)
    assert alive == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie waiting for init to reap it is dead
        return fh.read().split(") ")[1][0] != "Z"
