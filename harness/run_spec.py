"""What defines one run of an experiment: its budget and its spec (algorithm, trial, space, task, workers).

Values only (frozen dataclasses): the config builds them, the runner drives them, the seeds and run ids
derive from them (`cache.hashing`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cache.hashing import run_id as make_run_id
from cache.hashing import run_seed
from harness.errors import EvonasError
from harness.tasks import Task


@dataclass(frozen=True)
class Budget:
    """Stop asking after `evaluations` queries and/or once the simulated clock passes `seconds`."""

    evaluations: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.evaluations is None and self.seconds is None:
            raise EvonasError("a budget needs evaluations or seconds")
        if self.evaluations is not None and self.evaluations < 1:
            raise EvonasError("budget evaluations must be >= 1")
        if self.seconds is not None and self.seconds <= 0:
            raise EvonasError("budget seconds must be > 0")

    def to_json(self) -> str:
        return json.dumps({"evaluations": self.evaluations, "seconds": self.seconds}, sort_keys=True)


@dataclass(frozen=True)
class RunSpec:
    """One (algorithm, trial) of an experiment, with everything that defines it."""

    experiment: str
    label: str
    algorithm: str
    params: tuple[tuple[str, Any], ...]
    trial: int
    space_name: str
    space_params: tuple[tuple[str, Any], ...]
    task: Task
    budget: Budget
    workers: int = 1
    seed_salt: int = 0

    @property
    def run_id(self) -> str:
        return make_run_id(self.experiment, self.label, self.trial)

    @property
    def seed(self) -> int:
        return run_seed(f"{self.experiment}#{self.seed_salt}", self.label, self.trial)

    def params_dict(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.params}

    def space_params_dict(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.space_params}


def _thaw(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def freeze(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
