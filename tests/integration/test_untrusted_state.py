"""Nothing stored or shared is ever unpickled: checkpoints and algorithm states are strict JSON.

A cache file (or an export) from someone else is untrusted input. A crafted pickle placed where a
checkpoint belongs must be refused with one clear line and must not run.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cache import Cache

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ("harness", "algorithms", "cache", "reports")

# The one reader of pickle bytes: CIFAR-10's own on-disk format (a dataset the user downloads, never
# evonas state), read with an Unpickler that admits only the classes of that format.
ALLOWED = {("harness/data.py", "_BatchUnpickler")}
FORBIDDEN_CALLS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pickle", "Unpickler"),
    ("cloudpickle", "loads"),
    ("cloudpickle", "load"),
    ("dill", "loads"),
    ("dill", "load"),
    ("joblib", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("torch", "load"),
}


def _uses(path: Path) -> list[tuple[str, str, int]]:
    """(module, attribute, line) of every forbidden attribute use, with its enclosing class."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            key = (node.value.id, node.attr)
            if key in FORBIDDEN_CALLS:
                found.append((*key, node.lineno))
        if isinstance(node, ast.ImportFrom) and node.module in {"pickle", "cloudpickle", "dill", "marshal"}:
            found += [(node.module, alias.name, node.lineno) for alias in node.names]
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load":
            for kw in node.keywords:  # numpy.load(..., allow_pickle=True)
                if kw.arg == "allow_pickle" and not (
                    isinstance(kw.value, ast.Constant) and not kw.value.value
                ):
                    found.append(("numpy", "load(allow_pickle)", node.lineno))
    return found


def _enclosing_classes(path: Path) -> dict[int, str]:
    tree = ast.parse(path.read_text())
    lines: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                lines[line] = node.name
    return lines


def test_no_library_code_unpickles():
    offenders = []
    for package in LIBRARY:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            classes = _enclosing_classes(path)
            for module, attr, line in _uses(path):
                if (rel, classes.get(line)) in ALLOWED:
                    continue
                offenders.append(f"{rel}:{line}: {module}.{attr}")
    assert offenders == []


def test_the_cifar_reader_admits_only_its_own_classes():
    from harness.data import _BatchUnpickler

    source = Path(ROOT / "harness/data.py").read_text()
    assert "def find_class" in source and "_BatchUnpickler" in source
    assert issubclass(_BatchUnpickler, pickle.Unpickler)


class _Payload:
    """Unpickling this runs `touch <marker>`: what a crafted checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


CONFIG = """
[experiment]
name = "crafted"
trials = 1
budget = { evaluations = 3 }

[space]
name = "genetic_cnn"

[task]
preset = "digits_quick"
epochs = 1

[[algorithms]]
name = "random_search"
"""


def _evonas(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


@pytest.fixture(scope="module")
def finished_cache(tmp_path_factory):
    """A cache holding one finished run of CONFIG (trained once, copied for each case)."""
    where = tmp_path_factory.mktemp("crafted")
    config = where / "crafted.toml"
    config.write_text(textwrap.dedent(CONFIG))
    db = where / "c.duckdb"
    first = _evonas("run", str(config), "--cache", str(db), "--no-report", "-q")
    assert first.returncode == 0, first.stderr
    return config, db


@pytest.mark.slow
@pytest.mark.parametrize(
    "state",
    [
        "pickle",
        b"\x00\x01garbage",
        b'{"format": "evonas-checkpoint", "version": 2, "run_id": "x"}',
        b"[1, 2]",
    ],
    ids=["crafted-pickle", "garbage", "foreign-run", "wrong-shape"],
)
def test_a_bad_checkpoint_is_refused_with_one_line_and_never_run(tmp_path, finished_cache, state):
    config, original = finished_cache
    marker = tmp_path / "pwned"
    db = tmp_path / "c.duckdb"
    shutil.copy(original, db)
    blob = pickle.dumps(_Payload(marker)) if state == "pickle" else state
    with Cache(db) as cache:
        [run] = cache.runs("crafted")
        cache.set_run_status(run.run_id, "running")  # so that --resume loads the checkpoint
        step = cache.load_checkpoint(run.run_id)[0]
        cache.save_checkpoint(run.run_id, step, blob)
        before = cache.execute("SELECT count(*) FROM evaluations").fetchall()
    resumed = _evonas("run", str(config), "--cache", str(db), "--no-report", "--resume", "-q")
    assert resumed.returncode == 2
    lines = resumed.stderr.strip().splitlines()
    assert len(lines) == 1 and "checkpoint" in lines[0] and "--restart" in lines[0], resumed.stderr
    assert not marker.exists()
    with Cache(db, read_only=True) as cache:
        assert cache.execute("SELECT count(*) FROM evaluations").fetchall() == before
        assert cache.load_checkpoint(run.run_id)[1] == blob  # left as it was, for the user to look at
    if state == "pickle":
        restarted = _evonas("run", str(config), "--cache", str(db), "--no-report", "--restart", "-q")
        assert restarted.returncode == 0, restarted.stderr
        assert not marker.exists()


def test_stored_checkpoints_are_strict_json(tmp_path):
    from harness.runner import CHECKPOINT_FORMAT, Budget, Runner, RunSpec
    from harness.tasks import preset
    from tests.fakes import FakeExecutor

    spec = RunSpec(
        experiment="json",
        label="re",
        algorithm="regularized_evolution",
        params=(("population", 3), ("sample_size", 2)),
        trial=0,
        space_name="genetic_cnn",
        space_params=(),
        task=preset("digits_quick"),
        budget=Budget(evaluations=5),
    )
    with Cache(tmp_path / "c.duckdb") as cache:
        Runner(cache, FakeExecutor(), progress=False).run([spec])
        step, blob = cache.load_checkpoint(spec.run_id)
    state = json.loads(blob.decode("utf-8"))
    assert state["format"] == CHECKPOINT_FORMAT and state["step"] == step == 5
    json.dumps(state, allow_nan=False)
