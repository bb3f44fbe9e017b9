"""Where trainings run: inline, a local process pool (K slots per visible GPU, or one per CPU core), or Ray.

Executors take picklable TrainingJobs and yield `(index, TrainingResult)` as each job finishes, so the
driver can store every finished training at once (a killed run loses only what was still training).
Workers never touch the cache: only the driver writes it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from harness.errors import ConfigError
from harness.training import TrainingJob, TrainingResult

log = logging.getLogger(__name__)

EXECUTORS = ("inline", "process", "ray")


class Executor(ABC):
    """Runs training jobs; `slots` is how many run at once."""

    slots: int = 1

    @abstractmethod
    def run(self, jobs: Sequence[TrainingJob]) -> Iterator[tuple[int, TrainingResult]]:
        """Yield (index into jobs, result) for every job, in completion order."""

    def close(self) -> None:  # noqa: B027 -- optional hook: executors without workers have nothing to release
        """Release workers (no-op for inline)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InlineExecutor(Executor):
    """Trains in the calling process, one job after another (CPU or one GPU)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self.slots = 1

    def run(self, jobs: Sequence[TrainingJob]) -> Iterator[tuple[int, TrainingResult]]:
        for index, job in enumerate(jobs):
            yield index, _with_threads(job, self.threads).run()


def _with_threads(job: TrainingJob, threads: int | None) -> TrainingJob:
    from dataclasses import replace

    return job if threads is None else replace(job, threads=threads)


# --- local process pool ---
_WORKER_DEVICE: str | None = None


def _init_worker(device_queue: Any) -> None:
    """Pin this worker to one device slot handed out by the driver."""
    global _WORKER_DEVICE  # per-process worker identity, set once at worker start
    _WORKER_DEVICE = device_queue.get()
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _warm_up() -> int:
    """Runs once per worker right after start: the imports (torch) happen while the driver sets up."""
    return os.getpid()


def _run_in_worker(job: TrainingJob) -> TrainingResult:
    from dataclasses import replace

    if job.device in (None, "auto") and _WORKER_DEVICE is not None:
        job = replace(job, device=_WORKER_DEVICE)
    return job.run()


def visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


class ProcessExecutor(Executor):
    """A pool of worker processes: `slots_per_gpu` per visible GPU, else `workers` CPU processes.

    Workers are started with 'spawn' (safe with CUDA) and live as long as the executor; each is pinned to
    one device. CPU workers train with one intra-op thread each, which is both the fastest layout for
    small networks and the one whose results do not depend on the number of workers.
    """

    def __init__(self, workers: int | None = None, slots_per_gpu: int = 2, threads: int = 1) -> None:
        gpus = visible_gpus()
        if gpus:
            devices = [f"cuda:{g}" for g in range(gpus) for _ in range(max(1, slots_per_gpu))]
        else:
            devices = ["cpu"] * max(1, workers or os.cpu_count() or 1)
        self.slots = len(devices)
        self.threads = threads
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        for device in devices:
            queue.put(device)
        self._pool = ProcessPoolExecutor(
            max_workers=self.slots, mp_context=ctx, initializer=_init_worker, initargs=(queue,)
        )
        for _ in range(self.slots):  # start every worker now (the pool would start them on demand)
            self._pool.submit(_warm_up)
        log.info("process executor: %d slot(s) on %s", self.slots, sorted(set(devices)))

    def run(self, jobs: Sequence[TrainingJob]) -> Iterator[tuple[int, TrainingResult]]:
        futures: dict[Future, int] = {
            self._pool.submit(_run_in_worker, _with_threads(job, self.threads)): i
            for i, job in enumerate(jobs)
        }
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: futures[f]):
                    yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# --- Ray ---
class RayExecutor(Executor):
    """Trainings as Ray tasks (`pip install evonas[ray]`); one GPU slot per task where GPUs exist.

    `address=None` starts a private local Ray instance bound to the loopback interface (127.0.0.1) with
    `slots` CPUs; pass a cluster's address ("auto" or "ray://host:10001") to use that cluster instead.
    Ray binds a local instance to the machine's routable address unless RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
    is set before Ray is imported, so a local start sets it (when Ray is not imported yet).
    """

    def __init__(
        self, address: str | None = None, gpus_per_job: float | None = None, slots: int | None = None
    ) -> None:
        if address is None:
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only
        try:
            import ray
        except ImportError as exc:
            raise ConfigError("executor 'ray' needs Ray: pip install 'evonas[ray]'") from exc
        self._ray = ray
        self._started_here = False
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address is None:
                options.update(_node_ip_address="127.0.0.1", num_cpus=slots or os.cpu_count() or 1)
            ray.init(address=address, **options)
            self._started_here = True
        resources = ray.cluster_resources()
        gpus = resources.get("GPU", 0.0)
        self.gpus_per_job = gpus_per_job if gpus_per_job is not None else (0.5 if gpus else 0.0)
        self.slots = slots or max(1, int(gpus / self.gpus_per_job) if gpus else int(resources.get("CPU", 1)))
        self._remote = ray.remote(num_gpus=self.gpus_per_job, num_cpus=1)(_run_in_worker)

    def run(self, jobs: Sequence[TrainingJob]) -> Iterator[tuple[int, TrainingResult]]:
        refs = {self._remote.remote(_with_threads(job, 1)): i for i, job in enumerate(jobs)}
        pending = list(refs)
        while pending:
            done, pending = self._ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], self._ray.get(ref)

    def close(self) -> None:
        """Shut down a Ray instance this executor started; leave a cluster it joined running."""
        if self._started_here:
            self._ray.shutdown()
            self._started_here = False


def make_executor(kind: str = "inline", **options: Any) -> Executor:
    """Build an executor by name: inline, process (workers=, slots_per_gpu=), ray (address=)."""
    if kind == "inline":
        return InlineExecutor(threads=options.get("threads"))
    if kind == "process":
        return ProcessExecutor(
            workers=options.get("workers"),
            slots_per_gpu=options.get("slots_per_gpu", 2),
            threads=options.get("threads", 1),
        )
    if kind == "ray":
        return RayExecutor(address=options.get("address"), slots=options.get("workers"))
    raise ConfigError(f"executor {kind!r} not in {EXECUTORS}")
