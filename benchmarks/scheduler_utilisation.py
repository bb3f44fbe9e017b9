"""Executor utilisation of the runner: busy slot-seconds / available slot-seconds, 8 slots, 4 runs.

A synthetic executor with `--slots` threads stands in for the trainer: a job sleeps for a duration drawn from
its training seed (a fused group for the sum of its members'), so the measurement costs no CPU and the same
networks take the same time on every run. Utilisation = (sum of the jobs' sleeping time) / (slots x the
wall time of `Runner.run`); the runner's own work (hashing, the cache, checkpoints) is inside the wall time.

Workloads (4 runs each, `digits_quick` task, fresh cache):
- `ga`: the Genetic CNN GA, population 10, 4 generations, one simulated worker;
- `ga_w10`: the same with 10 simulated workers (a whole generation at once under lockstep rounds too);
- `de`: differential evolution on `de_sequential`, population 10, 10 children, 3 generations, one worker;
- `re_w2`: regularized evolution, 40 queries, two simulated workers (a sequential algorithm: at most one
  network in flight per run once its workers are busy, so 4 runs cannot fill 8 slots).

Runs against whichever `harness` is on the path, so the same script measures the old lockstep runner (it
only calls `Executor.run`) and the asynchronous scheduler (`submit` / `poll`):

    PYTHONPATH=. python benchmarks/scheduler_utilisation.py [--slots 8] [--scale 0.2] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import pandas  # noqa: F401 -- imported by the cache on first use: not part of what is timed

from cache import Cache
from harness.executors import Executor
from harness.fused import GroupJob
from harness.runner import Budget, Runner, RunSpec, freeze
from harness.tasks import preset
from harness.training import TrainingJob, TrainingResult

log = logging.getLogger("benchmarks.scheduler_utilisation")


def duration(job: TrainingJob, scale: float) -> float:
    """Seconds a job sleeps: scale x [0.5, 1.5), from its seed (the same network always takes as long)."""
    digest = hashlib.sha256(f"{job.seed}".encode()).digest()
    return scale * (0.5 + int.from_bytes(digest[:4], "big") / 2**32)


def result(job: TrainingJob, seconds: float) -> TrainingResult:
    acc = 0.5 + (job.seed % 1000) / 2500
    return TrainingResult(
        status="ok",
        val_acc=acc,
        test_acc=acc,
        train_loss=1 - acc,
        curve=(acc,),
        params=1,
        flops=1,
        train_seconds=seconds,
        device="sleep",
    )


class SleepExecutor(Executor):
    """`slots` threads; a job sleeps for its seeded duration. Both interfaces: `run` and `submit`/`poll`."""

    def __init__(self, slots: int, scale: float) -> None:
        self.slots = slots
        self.scale = scale
        self.busy = 0.0  # slot-seconds spent in jobs
        self.jobs = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=slots)
        self._futures: dict[Future, int] = {}
        self._last = 0

    def _work(self, job: Any) -> Any:
        members = job.jobs if isinstance(job, GroupJob) else (job,)
        seconds = [duration(m, self.scale) for m in members]
        start = time.perf_counter()
        time.sleep(sum(seconds))
        with self._lock:
            self.busy += time.perf_counter() - start
            self.jobs += 1
        out = [result(m, s) for m, s in zip(members, seconds, strict=True)]
        return out if isinstance(job, GroupJob) else out[0]

    def submit(self, job: Any) -> int:
        self._last += 1
        self._futures[self._pool.submit(self._work, job)] = self._last
        return self._last

    def poll(self, timeout: float | None = None) -> list[tuple[int, Any]]:
        if not self._futures:
            return []
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        return sorted((self._futures.pop(f), f.result()) for f in done)

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def run(self, jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        index = {self.submit(job): i for i, job in enumerate(jobs)}
        while index:
            for ticket, value in self.poll():
                yield index.pop(ticket), value

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def workload(name: str) -> list[RunSpec]:
    task = preset("digits_quick")

    def spec(
        algorithm: str, space: str, trial: int, evaluations: int, workers: int, **params: Any
    ) -> RunSpec:
        return RunSpec(
            experiment=f"util-{name}",
            label=algorithm,
            algorithm=algorithm,
            params=freeze(params),
            trial=trial,
            space_name=space,
            space_params=freeze({}),
            task=task,
            budget=Budget(evaluations=evaluations),
            workers=workers,
        )

    if name == "ga":
        return [
            spec("genetic_cnn_ga", "genetic_cnn", t, 1000, 1, population=10, generations=4) for t in range(4)
        ]
    if name == "ga_w10":
        return [
            spec("genetic_cnn_ga", "genetic_cnn", t, 1000, 10, population=10, generations=4) for t in range(4)
        ]
    if name == "de":
        return [
            spec(
                "differential_evolution",
                "de_sequential",
                t,
                1000,
                1,
                population=10,
                children=10,
                generations=3,
            )
            for t in range(4)
        ]
    if name == "re_w2":
        return [
            spec("regularized_evolution", "genetic_cnn", t, 40, 2, population=10, sample_size=3)
            for t in range(4)
        ]
    raise SystemExit(f"unknown workload {name!r}")


WORKLOADS = ("ga", "ga_w10", "de", "re_w2")


def measure(name: str, slots: int, scale: float) -> dict[str, Any]:
    specs = workload(name)
    with tempfile.TemporaryDirectory() as tmp, Cache(Path(tmp) / "u.duckdb") as cache:
        with SleepExecutor(slots, scale) as executor:
            runner = Runner(cache, executor, progress=False)
            start = time.perf_counter()
            runner.run(specs)
            wall = time.perf_counter() - start
            busy, jobs = executor.busy, executor.jobs
        queries = sum(len(cache.trajectory(s.run_id)) for s in specs)
    return {
        "workload": name,
        "runs": len(specs),
        "slots": slots,
        "queries": queries,
        "trained": runner.trained,
        "jobs": jobs,
        "wall_seconds": round(wall, 3),
        "busy_slot_seconds": round(busy, 3),
        "utilisation": round(busy / (slots * wall), 4),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--scale", type=float, default=0.2, help="mean job seconds (default 0.2)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [measure(w, args.slots, args.scale) for w in args.workloads.split(",")]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'workload':<8} {'runs':>4} {'slots':>5} {'trained':>7} {'jobs':>5} {'wall s':>7} {'util':>6}")
    for r in rows:
        print(
            f"{r['workload']:<8} {r['runs']:>4} {r['slots']:>5} {r['trained']:>7} {r['jobs']:>5} "
            f"{r['wall_seconds']:>7.2f} {100 * r['utilisation']:>5.1f}%"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
