"""Experiment files (TOML) -> a validated ExperimentConfig -> the RunSpecs of every (algorithm, trial).

```toml
[experiment]
name = "gcnn-digits"          # runs are <name>/<algorithm label>/<trial> in the cache
trials = 5                    # seeds: derived from (name, seed, algorithm label, trial)
seed = 0
sim_workers = 1               # simulated asynchronous workers per run (old name: workers)
budget = { evaluations = 40 } # and/or seconds = 3600 (simulated)

[space]
name = "genetic_cnn"
params = { stages = [3, 4, 5] }

[task]
preset = "digits"             # a named protocol; any Task field below overrides it
epochs = 10

[evaluation]
mode = "live"                 # live | tabular | surrogate
out_of_table = "error"        # tabular: a network the table lacks is an error, or an invalid result
# table = "benchmarks/tables/genetic_cnn-digits"  # tabular: answer from a table directory, no import
replicates = "auto"           # shared | independent | auto: which replicate a trial's query gets
surrogate_policy = "predicted" # surrogate mode: predicted (every query) | measured_first
surrogate_scope = "space"     # surrogate mode: space (any network) | table (the rest is invalid)
executor = "process"          # inline | process | ray
processes = 2                 # training processes (CPU; old name: workers) -- GPUs: slots_per_gpu
device = "auto"

[[algorithms]]
name = "regularized_evolution"
label = "re"                  # optional; defaults to the name
params = { population = 10, sample_size = 3 }
budget = { evaluations = 40 } # optional per-algorithm override (the report warns on unequal budgets)
```

Every value is checked field by field (`harness.config_validation`, which also holds the limits); a problem
is one ConfigError line with the file and the dotted key, e.g.
``exp.toml: task.optimizer.lr must be > 0, got float -0.1``. Algorithm and space parameters are checked
against the constructor's signature (unknown names list the valid ones), then the space and every
algorithm are built once, so nothing bad reaches a run.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness import config_validation as cv
from harness.errors import ConfigError, EvonasError
from harness.run_spec import Budget, RunSpec, freeze
from harness.spaces.base import short_repr
from harness.tasks import Task, preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MAX_FILE_BYTES = 10 * 2**20  #: experiment files are small; anything larger is refused unread
MAX_MESSAGE = 300  #: an error line says at most this much after the file name


@dataclass(frozen=True)
class AlgorithmEntry:
    name: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    budget: Budget | None = None
    trials: int | None = None


@dataclass(frozen=True)
class EvaluationSettings:
    mode: str = "live"
    out_of_table: str = "error"  # tabular mode, a network the table lacks: error | invalid
    replicates: str = "auto"  # shared | independent | auto (see harness.replicates)
    surrogate_policy: str = "predicted"  # surrogate mode: predicted | measured_first
    surrogate_scope: str = "space"  # surrogate mode: space | table (networks the table lacks are invalid)
    executor: str = "inline"
    processes: int | None = None  # training processes of the process executor ([evaluation] processes)
    slots_per_gpu: int = 2
    device: str | None = None
    data_root: str | None = None
    threads: int | None = None
    address: str | None = None
    table: str | None = None  # tabular mode: a table directory (manifest + Parquet) instead of the cache's

    def __post_init__(self) -> None:  # settings built in Python (e.g. command-line overrides) get checked too
        cv.check_evaluation_settings(self.__dict__)
        if self.table is not None and self.mode != "tabular":
            raise ConfigError(f"evaluation.table is for mode 'tabular', not {self.mode!r}")

    def stored(self) -> dict[str, Any]:
        """The settings as `experiments.config` stores them (`processes` under its old key, `workers`)."""
        return {("workers" if k == "processes" else k): v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    space: str
    space_params: dict[str, Any]
    task: Task
    algorithms: tuple[AlgorithmEntry, ...]
    trials: int = 5
    seed: int = 0
    sim_workers: int = 1  # simulated asynchronous workers of each run ([experiment] sim_workers)
    budget: Budget = field(default_factory=lambda: Budget(evaluations=20))
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    description: str = ""
    paper: str | None = None  # a paper setting this experiment reproduces (reports print the paper's figures)
    source: str = ""

    def run_specs(self) -> list[RunSpec]:
        specs = []
        for algo in self.algorithms:
            for trial in range(algo.trials if algo.trials is not None else self.trials):
                specs.append(
                    RunSpec(
                        experiment=self.name,
                        label=algo.label,
                        algorithm=algo.name,
                        params=freeze(algo.params),
                        trial=trial,
                        space_name=self.space,
                        space_params=freeze(self.space_params),
                        task=self.task,
                        budget=algo.budget or self.budget,
                        workers=self.sim_workers,
                        seed_salt=self.seed,
                    )
                )
        return specs

    def to_json(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "space": self.space,
                "space_params": self.space_params,
                "task": self.task.to_dict(),
                "task_key": self.task.key(),
                "trials": self.trials,
                "seed": self.seed,
                "workers": self.sim_workers,  # stored under its old key: experiments.config stays comparable
                "budget": json.loads(self.budget.to_json()),
                "algorithms": [
                    {
                        "name": a.name,
                        "label": a.label,
                        "params": a.params,
                        "budget": json.loads(a.budget.to_json()) if a.budget else None,
                        "trials": a.trials,
                    }
                    for a in self.algorithms
                ],
                "evaluation": self.evaluation.stored(),
                "description": self.description,
                "paper": self.paper,
            },
            sort_keys=True,
            default=str,
        )


def _budget(value: dict[str, Any] | None) -> Budget | None:
    if value is None:
        return None
    return Budget(evaluations=value.get("evaluations"), seconds=value.get("seconds"))


def build_task(table: dict[str, Any]) -> Task:
    """The [task] table (checked already) on top of its preset: sub-tables merge key by key."""
    table = dict(table)
    name = table.pop("preset", None)
    if name is None and "dataset" not in table:
        raise ConfigError("task needs a preset or a dataset")
    base = preset(name).to_dict() if name is not None else {"name": table.get("name", "custom")}
    for key, value in table.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    if name is not None and "name" not in table and set(table) - {"name"}:
        base["name"] = f"{name}+" + "+".join(sorted(set(table) - {"name"}))
    return Task.from_dict(base)


def _entries(algorithms: list[dict[str, Any]]) -> tuple[AlgorithmEntry, ...]:
    entries = tuple(
        AlgorithmEntry(
            name=algo["name"],
            label=algo.get("label", algo["name"]),
            params=algo["params"],
            budget=_budget(algo.get("budget")),
            trials=algo.get("trials"),
        )
        for algo in algorithms
    )
    labels = [e.label for e in entries]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConfigError(
            f"algorithm labels must be unique; {short_repr(duplicates, cv.QUOTE)} repeat "
            "(set label = ... on one of them)"
        )
    return entries


def _one_line(exc: BaseException) -> str:
    message = " ".join(str(exc).split()) or type(exc).__name__
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def parse_config(data: dict[str, Any], source: str = "<config>") -> ExperimentConfig:
    """Validate a parsed TOML document; every problem is one ConfigError line naming the file and key."""
    try:
        config = _parse(data, source)
        _instantiate(config)
    except EvonasError as exc:
        raise ConfigError(f"{source}: {_one_line(exc)}") from exc
    return config


def _parse(data: dict[str, Any], source: str) -> ExperimentConfig:
    doc = cv.check_document(data)
    exp, space = doc["experiment"], doc["space"]
    try:
        task = build_task(doc.get("task", {}))
    except EvonasError as exc:
        raise ConfigError(f"task: {exc}") from exc
    return ExperimentConfig(
        name=exp["name"],
        space=space["name"],
        space_params=space["params"],
        task=task,
        algorithms=_entries(doc["algorithms"]),
        trials=exp.get("trials", 5),
        seed=exp.get("seed", 0),
        sim_workers=exp.get("sim_workers", 1),
        budget=_budget(exp.get("budget", {"evaluations": 20})),
        evaluation=EvaluationSettings(**doc.get("evaluation", {})),
        description=exp.get("description", ""),
        paper=exp.get("paper"),
        source=source,
    )


def _instantiate(config: ExperimentConfig) -> None:
    """Build the space and every algorithm once, so bad values fail before anything runs."""
    import numpy as np

    from algorithms import get_algorithm
    from harness.spaces import get_space

    where = "space.params"
    try:
        space = get_space(config.space, **config.space_params)
        for i, algo in enumerate(config.algorithms, start=1):
            where = f"algorithms[{i}].params"
            get_algorithm(algo.name, space, rng=np.random.default_rng(0), **algo.params)
        where = "task.dataset"
        config.task.input_shape  # noqa: B018 -- checks that the dataset name is known
    except EvonasError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    except (TypeError, ValueError, ArithmeticError) as exc:  # a constructor that checks less than it should
        raise ConfigError(f"{where}: {type(exc).__name__}: {exc}") from exc


def validate(config: ExperimentConfig) -> None:
    """Instantiate the space and every algorithm once so that bad names and parameters fail before running."""
    try:
        _instantiate(config)
    except ConfigError as exc:
        raise ConfigError(f"{config.source}: {_one_line(exc)}") from exc


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    path = Path(path)
    if not path.is_file():
        state = "is not a file" if path.exists() else "does not exist"
        raise ConfigError(f"config file {path} {state}")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB; not an experiment file")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # ValueError: an integer beyond Python's digit limit
        raise ConfigError(f"{path}: not valid TOML: {_one_line(exc)}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from exc
    config = parse_config(data, str(path))
    if not overrides:
        return config
    try:
        return replace(config, **overrides)
    except TypeError as exc:
        raise ConfigError(f"{path}: bad override: {exc}") from exc


def embedded_config(name: str) -> ExperimentConfig:
    """An experiment file shipped inside the package (`harness/<name>`), e.g. the demo's."""
    from importlib.resources import files

    text = files("harness").joinpath(name).read_text(encoding="utf-8")
    return parse_config(tomllib.loads(text), f"harness/{name}")
