"""Field-by-field checks of experiment files (used by `harness.config`).

Every check is a function `check(value, key) -> value` that returns the (validated) value or raises
ConfigError naming the dotted key, e.g. ``task.optimizer.lr must be > 0, got float -0.1`` or
``algorithms[2].params: unknown parameter(s) populaton of algorithm 'regularized_evolution' (valid: ...)``.
Array entries and [[algorithms]] blocks are counted from 1, as a reader counts them in the file. The
caller (`harness.config.parse_config`) prefixes the file name. Sections are tables of such checks, so the
whole schema is data: `EXPERIMENT`, `TASK`, `EVALUATION`, plus the space and algorithm sections whose
parameters are checked against the constructor signature of the space, or the fields of the algorithm's
config dataclass (`Algorithm.Config`; the constructor where it has none), by names and by types from the
annotations: `int`, `float`, `bool`, `str`, `X | None`, `Sequence[X]`).
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.errors import ConfigError
from harness.spaces.base import short_repr

log = logging.getLogger(__name__)

Check = Callable[[Any, str], Any]

# --- limits: far above any real experiment, low enough that nothing downstream overflows or hangs ---
MAX_TRIALS = 10_000
MAX_EVALUATIONS = 10_000_000
MAX_SECONDS = 1e12  # simulated seconds (about 30,000 years)
MAX_SIM_WORKERS = 10_000
MAX_PROCESSES = 4096
MAX_SEED = 2**63 - 1
MAX_ALGORITHMS = 100
MAX_EPOCHS = 100_000
MAX_BATCH = 1_000_000
MAX_IMAGES = 100_000_000
MAX_PARAM_INT = 10**9  # integer parameters of spaces and algorithms, in absolute value
MAX_PARAM_ITEMS = 1000  # entries of an array or table parameter
MAX_PARAM_DEPTH = 4  # nesting of arrays and tables inside a parameter
MAX_NAME = 200
MAX_TEXT = 10_000
QUOTE = 100  # characters of the offending input an error quotes

_TYPE_NAMES = {"str": "string", "int": "integer", "float": "float", "bool": "boolean", "dict": "table"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]{1,60}")
_DEVICE = re.compile(r"cpu|auto|mps|cuda(:[0-9]{1,3})?")
DEVICES = "cpu, cuda, cuda:N, mps or auto"


def type_name(value: Any) -> str:
    name = type(value).__name__
    return "array" if isinstance(value, list) else _TYPE_NAMES.get(name, name)


def fail(key: str, problem: str, value: Any) -> ConfigError:
    """'<key> <problem>, got <type> <value>' with the value quoted to at most QUOTE characters."""
    return ConfigError(f"{key} {problem}, got {type_name(value)} {short_repr(value, QUOTE)}")


def subkey(key: str, name: Any) -> str:
    """`key.name`, quoting a name that is not a plain TOML bare key (or is very long)."""
    shown = name if isinstance(name, str) and _BARE_KEY.fullmatch(name) else short_repr(name, 40)
    return f"{key}.{shown}" if key else shown


def _names(names: Sequence[Any]) -> str:
    """Key names for a message: bare keys as they are, anything else quoted (so '' and '\n' show)."""
    shown = [n if isinstance(n, str) and _BARE_KEY.fullmatch(n) else short_repr(n, 40) for n in names]
    listed = ", ".join(shown)
    return listed if len(listed) <= QUOTE else listed[:QUOTE] + f"... ({len(names)} keys)"


# --- scalar checks ---
def integer(lo: int, hi: int) -> Check:
    """An integer (not a bool, not a float such as 3.0) in lo..hi."""

    def check(value: Any, key: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail(key, "must be an integer", value)
        if value < lo:
            raise fail(key, f"must be >= {lo}", value)
        if value > hi:
            raise fail(key, f"must be <= {hi}", value)
        return value

    return check


def number(lo: float = -math.inf, hi: float = math.inf, *, lo_open: bool = False) -> Check:
    """A finite number (an integer is accepted as it is) in [lo, hi], or (lo, hi] with `lo_open`."""

    def check(value: Any, key: str) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise fail(key, "must be a number", value)
        if not math.isfinite(value):
            raise fail(key, "must be a finite number", value)
        if value < lo or (lo_open and value == lo):
            raise fail(key, f"must be {'>' if lo_open else '>='} {lo:g}", value)
        if value > hi:
            raise fail(key, f"must be <= {hi:g}", value)
        return value

    return check


def boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise fail(key, "must be true or false", value)
    return value


def text(max_len: int = MAX_TEXT) -> Check:
    """A string of at most `max_len` characters."""

    def check(value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise fail(key, "must be a string", value)
        if len(value) > max_len:
            raise fail(key, f"must have at most {max_len} characters", value)
        return value

    return check


def identifier(value: Any, key: str) -> str:
    """A name used in run ids and report paths: non-empty, printable, no '/' or '\\'."""
    value = text(MAX_NAME)(value, key)
    if not value or not value.isprintable() or "/" in value or "\\" in value:
        raise fail(key, "must be a non-empty printable name without '/' or '\\'", value)
    return value


def choice(kind: str, known: Sequence[str] | Callable[[], Sequence[str]]) -> Check:
    """One of the `known` names; the error lists them ('unknown optimizer 'sgdd'; known: adam, ...')."""

    def check(value: Any, key: str) -> str:
        value = text(MAX_NAME)(value, key)
        names = known() if callable(known) else known
        if value not in names:
            raise ConfigError(
                f"{key}: unknown {kind} {short_repr(value, QUOTE)}; known: {', '.join(sorted(names))}"
            )
        return value

    return check


def device(value: Any, key: str) -> str:
    value = text(MAX_NAME)(value, key)
    if _DEVICE.fullmatch(value) is None:
        raise fail(key, f"must be a device: {DEVICES}", value)
    return value


# --- containers ---
def array(item: Check, *, min_items: int = 0, max_items: int = MAX_PARAM_ITEMS) -> Check:
    """An array whose entries pass `item` (entries are named key[1], key[2], ...)."""

    def check(value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise fail(key, "must be an array", value)
        if not min_items <= len(value) <= max_items:
            size = f"exactly {min_items}" if min_items == max_items else f"{min_items}..{max_items}"
            raise fail(key, f"must have {size} entries", value)
        return [item(v, f"{key}[{i}]") for i, v in enumerate(value, start=1)]

    return check


def no_extra(table: Mapping[Any, Any], allowed: Sequence[str], key: str) -> None:
    extra = sorted((k for k in table if k not in allowed), key=str)
    if extra:
        where = f"{key}: unknown key(s)" if key else "unknown section(s)"
        raise ConfigError(f"{where} {_names(extra)} (allowed: {', '.join(sorted(allowed))})")


def table(fields: Mapping[str, Check], required: Sequence[str] = ()) -> Check:
    """A table with only the keys of `fields`, each checked; the `required` ones must be present."""

    def check(value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise fail(key or "the file", "must be a table", value)
        no_extra(value, list(fields), key)
        for needed in required:
            if needed not in value:
                raise ConfigError(f"{subkey(key, needed)} is required")
        return {k: fields[k](v, subkey(key, k)) for k, v in value.items()}

    return check


def plain(value: Any, key: str, depth: int = 0) -> Any:
    """Any TOML value of bounded size: finite floats, bounded integers, short strings, shallow nesting."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return text()(value, key)
    if isinstance(value, int):
        return integer(-MAX_PARAM_INT, MAX_PARAM_INT)(value, key)
    if isinstance(value, float):
        return number()(value, key)
    if isinstance(value, (list, dict)) and depth >= MAX_PARAM_DEPTH:
        raise fail(key, f"nests arrays or tables deeper than {MAX_PARAM_DEPTH} levels", value)
    if isinstance(value, list):
        return array(lambda v, k: plain(v, k, depth + 1))(value, key)
    if isinstance(value, dict):
        if len(value) > MAX_PARAM_ITEMS:
            raise fail(key, f"must have at most {MAX_PARAM_ITEMS} entries", value)
        return {k: plain(v, subkey(key, k), depth + 1) for k, v in value.items()}
    raise fail(key, "must be a number, string, boolean, array or table", value)


def budget(value: Any, key: str) -> dict[str, Any]:
    checked = BUDGET(value, key)
    if not checked:
        raise ConfigError(f"{key} needs 'evaluations' and/or 'seconds'")
    return checked


def normalization(value: Any, key: str) -> list[list[float]]:
    """[[mean per channel], [std per channel]]: two arrays of one length, positive standard deviations."""
    mean, std = array(array(number(), min_items=1, max_items=64), min_items=2, max_items=2)(value, key)
    if len(mean) != len(std):
        raise fail(key, "needs as many standard deviations as means", value)
    if any(s <= 0 for s in std):
        raise fail(f"{key}[2]", "must hold positive standard deviations", std)
    return [mean, std]


BUDGET = table(
    {
        "evaluations": integer(1, MAX_EVALUATIONS),
        "seconds": number(0.0, MAX_SECONDS, lo_open=True),
    }
)


# --- constructor signatures -> parameter checks ---
def _from_annotation(annotation: Any) -> Check:
    """The check for a parameter annotated `annotation`; unknown annotations accept any plain value."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is bool:
        return boolean
    if annotation is int:
        return integer(-MAX_PARAM_INT, MAX_PARAM_INT)
    if annotation is float:
        return number()
    if annotation is str:
        return text(MAX_TEXT)
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in args if a is not type(None)]  # TOML has no null: an optional is its type
        if len(arms) == 1:
            return _from_annotation(arms[0])
        return plain
    if origin in (list, tuple, Sequence):
        return array(_from_annotation(args[0] if args else Any))
    if origin is typing.Literal:
        return choice("value", [str(a) for a in args])
    return plain


@functools.lru_cache(maxsize=64)
def parameter_checks(func: Callable[..., Any], skip: int) -> tuple[dict[str, Check], bool]:
    """The keyword parameters of `func` after the first `skip` ones, each with its check, and whether
    `func` takes **kwargs (then other names are passed on unchecked except for their size)."""
    try:
        hints = typing.get_type_hints(func)
    except (NameError, TypeError, AttributeError, SyntaxError):
        hints = {}
    checks: dict[str, Check] = {}
    open_ended = False
    for param in list(inspect.signature(func).parameters.values())[skip:]:
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            open_ended = True
        elif param.kind is not inspect.Parameter.VAR_POSITIONAL:
            checks[param.name] = _from_annotation(hints.get(param.name, Any))
    return checks, open_ended


def constructor_params(cls: type, skip: int, params: dict[str, Any], key: str, owner: str) -> dict[str, Any]:
    """Check `params` against the signature of `cls.__init__` (skipping self and the first positionals)."""
    checks, open_ended = parameter_checks(cls.__init__, skip)
    unknown = sorted(k for k in params if k not in checks)
    if unknown and not open_ended:
        valid = ", ".join(sorted(checks)) or "none"
        raise ConfigError(f"{key}: unknown parameter(s) {_names(unknown)} of {owner} (valid: {valid})")
    return {k: checks.get(k, plain)(v, subkey(key, k)) for k, v in params.items()}


def space_section(value: Any, key: str) -> dict[str, Any]:
    from harness.spaces import space_class, space_names

    section = table({"name": choice("search space", space_names), "params": table_params}, ["name"])(
        value, key
    )
    cls = space_class(section["name"])
    owner = f"search space {section['name']!r}"
    section["params"] = constructor_params(cls, 1, section.get("params", {}), f"{key}.params", owner)
    return section


def algorithm_entry(value: Any, key: str) -> dict[str, Any]:
    from algorithms import algorithm_class, algorithm_names

    fields = {
        "name": choice("algorithm", algorithm_names),
        "label": identifier,
        "params": table_params,
        "budget": budget,
        "trials": integer(1, MAX_TRIALS),
    }
    entry = table(fields, ["name"])(value, key)
    cls = algorithm_class(entry["name"])
    owner = f"algorithm {entry['name']!r}"
    params = entry.get("params", {})
    if cls.Config is not None:  # the hyper-parameters' dataclass: its fields (skipping self)
        entry["params"] = constructor_params(cls.Config, 1, params, f"{key}.params", owner)
    else:  # open-ended keywords (Optuna's samplers): the constructor after self, space and rng
        entry["params"] = constructor_params(cls, 3, params, f"{key}.params", owner)
    return entry


def algorithm_list(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise fail(key, "must be an array of [[algorithms]] tables", value)
    if not value:
        raise ConfigError("at least one [[algorithms]] entry is needed")
    return array(algorithm_entry, max_items=MAX_ALGORITHMS)(value, key)


def table_params(value: Any, key: str) -> dict[str, Any]:
    """A parameter table: its values are checked by `constructor_params` once the owner is known."""
    if not isinstance(value, dict):
        raise fail(key, "must be a table", value)
    if len(value) > MAX_PARAM_ITEMS:
        raise fail(key, f"must have at most {MAX_PARAM_ITEMS} entries", value)
    return value


# --- the sections ---
EXPERIMENT = table(
    {
        "name": identifier,
        "trials": integer(1, MAX_TRIALS),
        "seed": integer(0, MAX_SEED),
        "sim_workers": integer(1, MAX_SIM_WORKERS),
        "workers": integer(1, MAX_SIM_WORKERS),  # the old name of sim_workers (deprecated)
        "budget": budget,
        "description": text(MAX_TEXT),
        "paper": text(MAX_NAME),
    },
    ["name"],
)


def _task_fields() -> dict[str, Check]:
    from harness.datasets import dataset_names
    from harness.tasks import AUGMENTATIONS, OBJECTIVES, OPTIMIZERS, PRECISIONS, SCHEDULES, preset_names

    return {
        "preset": choice("task preset", preset_names),
        "name": identifier,
        "dataset": choice("dataset", dataset_names),
        "split": table(
            {
                "train": integer(1, MAX_IMAGES),
                "val": integer(0, MAX_IMAGES),
                "test": integer(1, MAX_IMAGES),
                "seed": integer(0, MAX_SEED),
            }
        ),
        "epochs": integer(1, MAX_EPOCHS),
        "batch_size": integer(1, MAX_BATCH),
        "optimizer": table(
            {
                "name": choice("optimizer", OPTIMIZERS),
                "lr": number(0.0, 100.0, lo_open=True),
                "momentum": number(0.0, 1.0),
                "weight_decay": number(0.0, 10.0),
                "nesterov": boolean,
            }
        ),
        "schedule": table(
            {
                "name": choice("schedule", SCHEDULES),
                "milestones": array(integer(1, MAX_EPOCHS)),
                "gamma": number(0.0, 10.0, lo_open=True),
            }
        ),
        "augmentation": array(choice("augmentation", AUGMENTATIONS), max_items=len(AUGMENTATIONS)),
        "normalize": normalization,
        "precision": choice("precision", PRECISIONS),
        "objective": choice("objective", OBJECTIVES),
        "description": text(MAX_TEXT),
    }


def task_section(value: Any, key: str) -> dict[str, Any]:
    return table(_task_fields())(value, key)


def _evaluation_fields() -> dict[str, Check]:
    from cache.surrogate_store import POLICIES as SURROGATE_POLICIES
    from harness.evaluation import MODES, OUT_OF_TABLE
    from harness.executors import EXECUTORS
    from harness.replicates import POLICIES
    from harness.surrogate_answers import SCOPES

    return {
        "mode": choice("evaluation mode", MODES),
        "out_of_table": choice("out_of_table policy", OUT_OF_TABLE),
        "replicates": choice("replicate policy", POLICIES),
        "surrogate_policy": choice("surrogate policy", SURROGATE_POLICIES),
        "surrogate_scope": choice("surrogate scope", SCOPES),
        "executor": choice("executor", EXECUTORS),
        "processes": integer(1, MAX_PROCESSES),
        "workers": integer(1, MAX_PROCESSES),  # the old name of processes (deprecated)
        "slots_per_gpu": integer(1, 64),
        "device": device,
        "data_root": text(4096),
        "threads": integer(1, MAX_PROCESSES),
        "address": text(MAX_NAME),
        "table": text(4096),
    }


def evaluation_section(value: Any, key: str) -> dict[str, Any]:
    return table(_evaluation_fields())(value, key)


def check_evaluation_settings(settings: Mapping[str, Any]) -> None:
    """The [evaluation] checks for settings built in Python (e.g. command-line overrides); None is unset."""
    fields = _evaluation_fields()
    for key, value in settings.items():
        if value is not None:
            fields[key](value, f"evaluation.{key}")


DOCUMENT = table(
    {
        "experiment": EXPERIMENT,
        "space": space_section,
        "task": task_section,
        "evaluation": evaluation_section,
        "algorithms": algorithm_list,
    },
    ["experiment", "space"],
)


def check_document(data: Any) -> dict[str, Any]:
    """The whole parsed TOML document, checked section by section (raises ConfigError without the file).

    The old key names `experiment.workers` and `evaluation.workers` come back under their new names
    (`sim_workers`, `processes`), with a warning naming the new key.
    """
    document = DOCUMENT(data, "")
    if "algorithms" not in document:
        raise ConfigError("at least one [[algorithms]] entry is needed")
    for section, new, meaning in RENAMED:
        if section in document:
            document[section] = renamed(document[section], section, new, meaning)
    return document


# (section, new key, what it means): the old key `workers` was used for both, which meant two things
RENAMED = (
    ("experiment", "sim_workers", "simulated asynchronous workers per run"),
    ("evaluation", "processes", "training processes of the process executor"),
)


def renamed(
    values: dict[str, Any], section: str, new: str, meaning: str, old: str = "workers"
) -> dict[str, Any]:
    """`values` with the deprecated key `old` moved to `new` (a warning), or one error when both are set."""
    if old not in values:
        return values
    if new in values:
        raise ConfigError(f"{section}.{old} is the old name of {section}.{new}; set only {section}.{new}")
    log.warning("%s.%s is deprecated: write %s.%s (%s)", section, old, section, new, meaning)
    values = dict(values)
    values[new] = values.pop(old)
    return values
