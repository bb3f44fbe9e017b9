"""Jobs for executor tests: picklable by reference, so that spawned worker processes can run them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import TransientTrainingError
from harness.training import TrainingResult


def _attempt(counter: str) -> int:
    """Count this attempt in a file (workers are other processes) and return its number (1-based)."""
    path = Path(counter)
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


@dataclass(frozen=True)
class CrashingJob:
    """Kills its worker process on the first `crashes` attempts, then returns a result."""

    counter: str
    crashes: int = 1
    encoding: str = "crashing"
    space_name: str = "test"
    device: str | None = None
    threads: int | None = 1

    def run(self) -> TrainingResult:
        if _attempt(self.counter) <= self.crashes:
            os._exit(17)  # a worker that dies: segfault, OOM killer, kill -9
        return TrainingResult(status="ok", val_acc=0.5, curve=(0.5,), train_seconds=0.01, device="cpu")


@dataclass(frozen=True)
class OutOfMemoryJob:
    """Raises TransientTrainingError on the first `failures` attempts, then returns a result."""

    counter: str
    failures: int = 1
    encoding: str = "oom"
    space_name: str = "test"
    device: str | None = None
    threads: int | None = 1

    def run(self) -> TrainingResult:
        if _attempt(self.counter) <= self.failures:
            raise TransientTrainingError("out of memory on cpu (test)")
        return TrainingResult(status="ok", val_acc=0.25, curve=(0.25,), train_seconds=0.01, device="cpu")


@dataclass(frozen=True)
class BuggyJob:
    """Raises an ordinary exception: a bug, which must propagate and never be retried."""

    counter: str
    encoding: str = "bug"
    space_name: str = "test"
    device: str | None = None
    threads: int | None = 1

    def run(self) -> TrainingResult:
        _attempt(self.counter)
        raise ZeroDivisionError("a bug in the trainer (test)")
