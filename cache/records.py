"""Rows of the cache as frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

STATUSES = ("ok", "invalid", "failed")


@dataclass(frozen=True)
class EvalRecord:
    """One stored evaluation: replicate `replicate` of `arch_hash` trained under `task_key`.

    Two fields keep their column's name (the schema is public; docs/design.md, "Names that mean one thing"):
    `params` is the network's parameter count (`param_count`), `run_id` the attempt that trained it
    (`attempt_id`: the run whose request caused the training; any other run reading the row is not it).
    """

    arch_hash: str
    task_key: str
    replicate: int
    seed: int
    status: str
    error: str | None = None
    val_acc: float | None = None
    test_acc: float | None = None
    train_loss: float | None = None
    curve: tuple[float, ...] = ()
    train_seconds: float = 0.0
    device: str = ""
    versions: str = "{}"
    created_at: datetime | None = None
    params: int | None = None
    flops: int | None = None
    run_id: str | None = None
    predicted: bool = False

    @property
    def param_count(self) -> int | None:
        """The network's number of trainable parameters (column `params`)."""
        return self.params

    @property
    def attempt_id(self) -> str | None:
        """The run (or `evonas tabulate`) whose request trained this row (column `run_id`)."""
        return self.run_id

    def metric(self, objective: str) -> float:
        """The objective's value (0.0 for invalid or failed evaluations, or a missing metric)."""
        if self.status != "ok":
            return 0.0
        value = getattr(self, objective)
        return 0.0 if value is None else float(value)


@dataclass(frozen=True)
class RunRecord:
    """One run. `algorithm` is the algorithm's *label* in its experiment (`label`), `algorithm_name` the
    registered name; `params` the algorithm's hyperparameters (JSON); `workers` its simulated workers."""

    run_id: str
    experiment: str
    algorithm: str
    params: str
    space: str
    task_key: str
    trial: int
    seed: int
    budget: str
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    space_params: str = "{}"
    algorithm_name: str = ""
    objective: str = "val_acc"
    workers: int = 1

    @property
    def label(self) -> str:
        """The algorithm's label in its experiment (column `runs.algorithm`)."""
        return self.algorithm


@dataclass(frozen=True)
class TrajectoryRow:
    run_id: str
    step: int
    arch_hash: str
    replicate: int
    fitness: float
    cached: bool
    sim_seconds: float
    wall_seconds: float
    generation: int | None = None
    encoding: str | None = None  # the genome as the algorithm proposed it (the hash names its class)
