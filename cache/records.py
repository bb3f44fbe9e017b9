"""Rows of the cache as frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

STATUSES = ("ok", "invalid", "failed")


@dataclass(frozen=True)
class EvalRecord:
    """One stored evaluation: replicate `replicate` of `arch_hash` trained under `task_key`."""

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

    def metric(self, objective: str) -> float:
        """The objective's value (0.0 for invalid or failed evaluations, or a missing metric)."""
        if self.status != "ok":
            return 0.0
        value = getattr(self, objective)
        return 0.0 if value is None else float(value)


@dataclass(frozen=True)
class RunRecord:
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
