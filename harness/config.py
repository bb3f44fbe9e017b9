"""Experiment files (TOML) -> a validated ExperimentConfig -> the RunSpecs of every (algorithm, trial).

```toml
[experiment]
name = "gcnn-digits"          # runs are <name>/<algorithm label>/<trial> in the cache
trials = 5                    # seeds: derived from (name, seed, algorithm label, trial)
seed = 0
workers = 1                   # simulated asynchronous workers per run
budget = { evaluations = 40 } # and/or seconds = 3600 (simulated)

[space]
name = "genetic_cnn"
params = { stages = [3, 4, 5] }

[task]
preset = "digits"             # a named protocol; any Task field below overrides it
epochs = 10

[evaluation]
mode = "live"                 # live | tabular
executor = "process"          # inline | process | ray
workers = 2                   # processes (CPU) -- on GPUs: slots_per_gpu = 2
device = "auto"

[[algorithms]]
name = "regularized_evolution"
label = "re"                  # optional; defaults to the name
params = { population = 10, sample_size = 3 }
budget = { evaluations = 40 } # optional per-algorithm override (the report warns on unequal budgets)
```
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, EvonasError
from harness.runner import Budget, RunSpec, freeze
from harness.tasks import Task, preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

SECTIONS = {"experiment", "space", "task", "evaluation", "algorithms"}
EXPERIMENT_KEYS = {"name", "trials", "seed", "workers", "budget", "description", "paper"}
SPACE_KEYS = {"name", "params"}
EVALUATION_KEYS = {
    "mode",
    "executor",
    "workers",
    "slots_per_gpu",
    "device",
    "data_root",
    "threads",
    "address",
}
ALGORITHM_KEYS = {"name", "label", "params", "budget", "trials"}


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
    executor: str = "inline"
    workers: int | None = None
    slots_per_gpu: int = 2
    device: str | None = None
    data_root: str | None = None
    threads: int | None = None
    address: str | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    space: str
    space_params: dict[str, Any]
    task: Task
    algorithms: tuple[AlgorithmEntry, ...]
    trials: int = 5
    seed: int = 0
    workers: int = 1
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
                        workers=self.workers,
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
                "workers": self.workers,
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
                "evaluation": self.evaluation.__dict__,
                "description": self.description,
                "paper": self.paper,
            },
            sort_keys=True,
            default=str,
        )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a table")
    return value


def _no_extra(table: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})"
        )


def _budget(value: Any, where: str) -> Budget:
    if not isinstance(value, dict) or not set(value) <= {"evaluations", "seconds"}:
        raise ConfigError(f"{where}: budget must be a table with 'evaluations' and/or 'seconds'")
    try:
        return Budget(evaluations=value.get("evaluations"), seconds=value.get("seconds"))
    except EvonasError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def build_task(table: dict[str, Any], where: str) -> Task:
    table = dict(table)
    name = table.pop("preset", None)
    if name is None and "dataset" not in table:
        raise ConfigError(f"{where}: [task] needs a preset or a dataset")
    base = preset(name).to_dict() if name is not None else {"name": table.get("name", "custom")}
    for key, value in table.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    if name is not None and "name" not in table and set(table) - {"name"}:
        base["name"] = f"{name}+" + "+".join(sorted(set(table) - {"name"}))
    return Task.from_dict(base)


def parse_config(data: dict[str, Any], source: str = "<config>") -> ExperimentConfig:
    """Validate a parsed TOML document; every problem is one ConfigError line naming the file."""
    _no_extra(data, SECTIONS, source)
    exp = _table(data, "experiment", source)
    _no_extra(exp, EXPERIMENT_KEYS, f"{source} [experiment]")
    if not isinstance(exp.get("name"), str) or not exp["name"] or "/" in exp["name"]:
        raise ConfigError(f"{source}: [experiment] needs a name without '/'")
    space = _table(data, "space", source)
    _no_extra(space, SPACE_KEYS, f"{source} [space]")
    if not isinstance(space.get("name"), str):
        raise ConfigError(f"{source}: [space] needs a name")
    evaluation = _table(data, "evaluation", source)
    _no_extra(evaluation, EVALUATION_KEYS, f"{source} [evaluation]")
    algorithms = data.get("algorithms")
    if not isinstance(algorithms, list) or not algorithms:
        raise ConfigError(f"{source}: at least one [[algorithms]] entry is needed")
    entries = []
    for i, algo in enumerate(algorithms):
        where = f"{source} [[algorithms]] #{i + 1}"
        if not isinstance(algo, dict) or not isinstance(algo.get("name"), str):
            raise ConfigError(f"{where}: needs a name")
        _no_extra(algo, ALGORITHM_KEYS, where)
        entries.append(
            AlgorithmEntry(
                name=algo["name"],
                label=str(algo.get("label", algo["name"])),
                params=dict(_table(algo, "params", where)),
                budget=_budget(algo["budget"], where) if "budget" in algo else None,
                trials=int(algo["trials"]) if "trials" in algo else None,
            )
        )
    labels = [e.label for e in entries]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{source}: algorithm labels must be unique, got {labels}")
    if any("/" in label for label in labels):
        raise ConfigError(f"{source}: algorithm labels must not contain '/'")
    try:
        config = ExperimentConfig(
            name=exp["name"],
            space=space["name"],
            space_params=dict(_table(space, "params", f"{source} [space]")),
            task=build_task(_table(data, "task", source), f"{source} [task]"),
            algorithms=tuple(entries),
            trials=int(exp.get("trials", 5)),
            seed=int(exp.get("seed", 0)),
            workers=int(exp.get("workers", 1)),
            budget=_budget(exp.get("budget", {"evaluations": 20}), f"{source} [experiment]"),
            evaluation=EvaluationSettings(**evaluation),
            description=str(exp.get("description", "")),
            paper=exp.get("paper"),
            source=source,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    if config.trials < 1 or config.workers < 1:
        raise ConfigError(f"{source}: trials and workers must be >= 1")
    validate(config)
    return config


def validate(config: ExperimentConfig) -> None:
    """Instantiate the space and every algorithm once so that bad names and parameters fail before running."""
    import numpy as np

    from algorithms import get_algorithm
    from harness.spaces import get_space

    try:
        space = get_space(config.space, **config.space_params)
        for algo in config.algorithms:
            get_algorithm(algo.name, space, rng=np.random.default_rng(0), **algo.params)
        config.task.input_shape  # noqa: B018 -- checks that the dataset name is known
    except EvonasError as exc:
        raise ConfigError(f"{config.source}: {exc}") from exc


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    config = parse_config(data, str(path))
    return replace(config, **overrides) if overrides else config


def demo_config() -> ExperimentConfig:
    """The embedded default experiment of `evonas demo` (harness/demo.toml, shipped with the package)."""
    from importlib.resources import files

    text = files("harness").joinpath("demo.toml").read_text(encoding="utf-8")
    return parse_config(tomllib.loads(text), "harness/demo.toml")
