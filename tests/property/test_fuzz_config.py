"""Fuzzing the experiment-file loader: a config comes back, or one ConfigError line naming the file.

Documents start from valid experiments (each space with algorithms that fit it) and get a few random
edits: a known key set to a bad value (NaN, inf, negative, huge or non-integer numbers, strings, arrays,
nested tables, dates), an unknown key or parameter, an unknown algorithm, space or device, a section
replaced or removed. They are written as TOML (inline tables) to a file and loaded with `load_config`.
Raw-text mutations of a valid file and bytes that are not UTF-8 exercise the TOML layer. Anything but a
config or a ConfigError whose message is one line of at most ~300 characters besides the file name
fails the test.

The default run loads 1,000 documents (deterministic); `pytest -m fuzz` adds a long randomised run.
"""

from __future__ import annotations

import copy
import datetime
import logging
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algorithms import algorithm_names
from harness.config import MAX_MESSAGE, ExperimentConfig, load_config
from harness.config_validation import MAX_EVALUATIONS, MAX_TRIALS
from harness.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_PROFILE = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG_PROFILE = settings(
    DEFAULT_PROFILE, max_examples=int(os.environ.get("EVONAS_FUZZ_EXAMPLES", "20000")), derandomize=False
)

BASES: list[dict[str, Any]] = [
    {
        "experiment": {"name": "fuzz-gcnn", "trials": 2, "seed": 0, "budget": {"evaluations": 4}},
        "space": {"name": "genetic_cnn", "params": {"stages": [3, 4, 5]}},
        "task": {"preset": "digits_quick", "epochs": 1},
        "evaluation": {"executor": "inline", "device": "cpu"},
        "algorithms": [
            {"name": "random_search"},
            {"name": "genetic_cnn_ga", "params": {"population": 4, "generations": 1}},
            {"name": "regularized_evolution", "label": "re", "params": {"population": 4, "sample_size": 2}},
        ],
    },
    {
        "experiment": {"name": "fuzz-macro", "workers": 2, "budget": {"evaluations": 6, "seconds": 100.0}},
        "space": {"name": "macro_re", "params": {"channels": 8, "p_add": 0.3}},
        "task": {"preset": "digits", "optimizer": {"lr": 0.001}, "split": {"seed": 1}},
        "algorithms": [{"name": "regularized_evolution", "params": {"preset": "kyriakides2020"}}],
    },
    {
        "experiment": {"name": "fuzz-de", "trials": 1, "description": "DE on digits"},
        "space": {"name": "de_sequential", "params": {"max_length": 9, "dropout": 0.5}},
        "task": {"dataset": "synthetic", "split": {"train": 100, "val": 50, "test": 50}, "epochs": 2},
        "evaluation": {"mode": "live", "workers": 2, "executor": "process"},
        "algorithms": [
            {"name": "differential_evolution", "params": {"population": 5, "children": 2, "generations": 1}},
            {"name": "random_search", "budget": {"evaluations": 3}, "trials": 1},
        ],
    },
]

# keys a user is likely to get wrong, by path (a trailing '*' entry means "any algorithm")
KNOWN_PATHS: list[tuple[str, ...]] = [
    ("experiment", "name"),
    ("experiment", "trials"),
    ("experiment", "seed"),
    ("experiment", "workers"),
    ("experiment", "sim_workers"),
    ("experiment", "budget"),
    ("experiment", "budget", "evaluations"),
    ("experiment", "budget", "seconds"),
    ("experiment", "paper"),
    ("space", "name"),
    ("space", "params"),
    ("space", "params", "stages"),
    ("space", "params", "channels"),
    ("space", "params", "dropout"),
    ("space", "params", "p_add"),
    ("space", "params", "max_length"),
    ("task", "preset"),
    ("task", "dataset"),
    ("task", "epochs"),
    ("task", "batch_size"),
    ("task", "optimizer", "lr"),
    ("task", "optimizer", "momentum"),
    ("task", "optimizer", "name"),
    ("task", "optimizer", "nesterov"),
    ("task", "split", "val"),
    ("task", "split", "seed"),
    ("task", "schedule", "milestones"),
    ("task", "schedule", "gamma"),
    ("task", "augmentation"),
    ("task", "normalize"),
    ("task", "objective"),
    ("evaluation", "device"),
    ("evaluation", "workers"),
    ("evaluation", "processes"),
    ("evaluation", "mode"),
    ("evaluation", "executor"),
    ("evaluation", "threads"),
    ("algorithms",),
    ("algorithms", "*", "name"),
    ("algorithms", "*", "label"),
    ("algorithms", "*", "trials"),
    ("algorithms", "*", "budget"),
    ("algorithms", "*", "params"),
    ("algorithms", "*", "params", "population"),
    ("algorithms", "*", "params", "sample_size"),
    ("algorithms", "*", "params", "generations"),
    ("algorithms", "*", "params", "p_mutation"),
    ("algorithms", "*", "params", "preset"),
]

NAMES = [
    *algorithm_names(),
    "hill_climb",
    "genetic_cnn",
    "macro_re",
    "de_sequential",
    "nasbench",
    "digits",
    "imagenet",
    "cpu",
    "cuda",
    "cuda:1",
    "cudaa",
    "cuda:99999",
    "mps",
    "auto",
    "tpu",
    "sgd",
    "adam",
    "cosine",
    "hflip",
    "val_acc",
    "process",
    "ray",
    "",
    "a/b",
]

scalars = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, -1e-308, 0.5, 3.0, 1e-12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2, 3, 10_000, 10_001, 10_000_001, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]),
    st.integers(-(10**40), 10**40),
    st.booleans(),
    st.sampled_from(NAMES),
    st.text(max_size=20),
    st.builds(lambda n: "x" * n, st.integers(150, 6000)),
    st.sampled_from(["\u0661\u0662", "\uff13", "3", "3.0", "nan", "1e999", " 3", "\x00", "\n"]),
    st.sampled_from([datetime.date(2024, 1, 1), datetime.datetime(2024, 1, 1, 12, 0), datetime.time(1, 2)]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(["bogus", "name", "params", "evaluations", "", "a b", "é", "populaton"]) | st.text(
    max_size=12
)


# --- TOML writing (inline tables, so any nesting is one line per top-level key) ---
def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_document(doc: dict[str, Any]) -> str:
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in doc.items())


# --- edits ---
def resolve(doc: dict[str, Any], path: tuple[str, ...], index: int) -> tuple[Any, Any] | None:
    """(container, key) of `path` in `doc` ('*' picks algorithm `index`), creating tables on the way."""
    node: Any = doc
    for step in path[:-1]:
        if step == "*":
            if not isinstance(node, list) or not node:
                return None
            step = index % len(node)  # type: ignore[assignment]
            node = node[step]
            continue
        if not isinstance(node, dict):
            return None
        node = node.setdefault(step, {})
    return (node, path[-1]) if isinstance(node, dict) else None


@st.composite
def edited_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["set", "set", "set", "delete", "unknown", "unknown_section"]))
        if op == "unknown_section":
            doc[draw(keys)] = draw(values)
            continue
        found = resolve(doc, draw(st.sampled_from(KNOWN_PATHS)), draw(st.integers(0, 5)))
        if found is None:
            continue
        container, key = found
        if op == "set":
            container[key] = draw(values)
        elif op == "delete":
            container.pop(key, None)
        elif isinstance(container.get(key), dict):
            container[key][draw(keys)] = draw(values)
        else:
            container[draw(keys)] = draw(values)
    return doc


VALID_TEXT = toml_document(BASES[0])


@st.composite
def raw_texts(draw: st.DrawFn) -> bytes:
    """A valid file with characters inserted, deleted or replaced, or bytes that are not UTF-8."""
    text = VALID_TEXT
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.sampled_from(["[", "]", "{", "}", "=", '"', "\n", "#", ",", "9" * 5000, "[" * 3000]))
        text = text[:at] + piece + text[at + draw(st.integers(0, 2)) :]
    data = text.encode("utf-8")
    return data if draw(st.booleans()) else data + draw(st.sampled_from([b"\xff", b"\xc3(", b"\x00"]))


inputs = st.one_of(
    edited_documents().map(lambda d: toml_document(d).encode("utf-8")),
    edited_documents().map(lambda d: toml_document(d).encode("utf-8")),
    edited_documents().map(lambda d: toml_document(d).encode("utf-8")),
    raw_texts(),
)


def check_load(path: Path, data: bytes) -> str:
    """Load one file; 'accepted' or 'clean'. Any other exception propagates (a failure)."""
    path.write_bytes(data)
    try:
        config = load_config(path)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and str(path) in message, message[:1000]
        assert len(message) - len(str(path)) <= MAX_MESSAGE + 2, message[:1000]
        return "clean"
    assert_sane(config)
    return "accepted"


def assert_sane(config: ExperimentConfig) -> None:
    """What an accepted config must satisfy whatever the document said (an oracle for the checks)."""
    assert isinstance(config, ExperimentConfig)
    budgets = [config.budget, *(a.budget for a in config.algorithms if a.budget is not None)]
    for budget in budgets:
        assert budget.evaluations is None or type(budget.evaluations) is int
        assert budget.evaluations is None or 1 <= budget.evaluations <= MAX_EVALUATIONS
        assert budget.seconds is None or (math.isfinite(budget.seconds) and budget.seconds > 0)
    for count in (config.trials, *(a.trials for a in config.algorithms if a.trials is not None)):
        assert type(count) is int and 1 <= count <= MAX_TRIALS
    assert type(config.seed) is int and type(config.sim_workers) is int and config.sim_workers >= 1
    task = config.task
    assert type(task.epochs) is int and task.epochs >= 1 and type(task.batch_size) is int
    for value in (
        task.optimizer.lr,
        task.optimizer.momentum,
        task.optimizer.weight_decay,
        task.schedule.gamma,
    ):
        assert not isinstance(value, bool) and math.isfinite(value)
    assert task.optimizer.lr > 0
    assert config.evaluation.device is None or re.fullmatch(
        r"cpu|auto|mps|cuda(:[0-9]+)?", config.evaluation.device
    )
    config.to_json()


def run_fuzz(directory: Path, profile: settings) -> Counter[str]:
    counts: Counter[str] = Counter()
    path = directory / "experiment.toml"

    @profile
    @given(inputs)
    def fuzz(data: bytes) -> None:
        counts["tried"] += 1
        counts[check_load(path, data)] += 1

    fuzz()
    log.info("config fuzz: %s", dict(counts))
    return counts


@pytest.fixture(autouse=True)
def quiet_optuna():
    """Optuna logs every study it creates at INFO; building an Optuna algorithm per document is noisy."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


def test_base_documents_are_valid(tmp_path: Path) -> None:
    for i, doc in enumerate(BASES):
        path = tmp_path / f"base{i}.toml"
        path.write_text(toml_document(doc), encoding="utf-8")
        assert load_config(path).name == doc["experiment"]["name"]


def test_config_fuzz(tmp_path: Path) -> None:
    counts = run_fuzz(tmp_path, DEFAULT_PROFILE)
    assert counts["tried"] >= 1000
    assert counts["accepted"] > 0 and counts["clean"] > 0


@pytest.mark.fuzz
def test_config_fuzz_long(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "fuzz" not in (request.config.option.markexpr or ""):
        pytest.skip("the long config fuzz runs with -m fuzz")
    counts = run_fuzz(tmp_path, LONG_PROFILE)
    assert counts["tried"] >= LONG_PROFILE.max_examples
