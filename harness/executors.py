"""Where trainings run: inline, a local process pool (K slots per visible GPU, or one per CPU core), or Ray.

Executors take picklable jobs (a TrainingJob, or a fused GroupJob whose result is a list, one per member).
Two ways to use one:
- non-blocking, for the scheduler (`harness.scheduler`): `submit(job)` returns a ticket at once and
  `poll(timeout)` returns the `(ticket, result)` pairs finished by then (`timeout=None`: wait for at least one
  while any job is in flight; `0`: only what is already done); `cancel()` drops what is still in flight. The
  inline executor trains a submitted job when it is polled (one at a time, in the calling process); the
  process pool and Ray run `slots` jobs at once and queue the rest;
- `run(jobs)`, for callers with a fixed list of jobs: yields `(index, result)` as each job finishes.
Either way the driver can store every finished training at once (a killed run loses only what was still
training). Workers never touch the cache: only the driver writes it.

Retries: a job that raises TransientTrainingError (out of memory) or whose worker died (a crashed or
killed process, a lost Ray node) is tried again, up to `attempts` times in all; nothing is stored for a
failed attempt. After the last attempt the executor raises TransientTrainingError with one clear line:
the run stops and can be resumed. Any other exception from a job is a bug and propagates as it is.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from harness.errors import ConfigError, TransientTrainingError
from harness.fused import GroupJob
from harness.training import TrainingJob, TrainingResult

log = logging.getLogger(__name__)

EXECUTORS = ("inline", "process", "ray")
ATTEMPTS = 3


def _describe(job: Any) -> str:
    if isinstance(job, GroupJob):
        return f"a fused group of {len(job.jobs)} {job.jobs[0].space_name if job.jobs else ''} networks"
    encoding = str(getattr(job, "encoding", job))
    return f"{getattr(job, 'space_name', 'job')} {encoding[:80]!r}"


def _gave_up(job: Any, attempts: int, reason: str) -> TransientTrainingError:
    return TransientTrainingError(
        f"training {_describe(job)} failed {attempts} time(s) for reasons outside the network "
        f"({reason[:200]}); nothing was stored for it: resume the run later (--resume)"
    )


class Executor(ABC):
    """Runs training jobs; `slots` is how many run at once.

    A subclass implements `run`, or `submit`/`poll`/`cancel` (and `in_flight`) with `run` from
    `_run_by_polling`. The defaults of the non-blocking methods run a submitted job through `run` when it
    is polled (inline semantics), so an executor that only has `run` still works under the scheduler.
    """

    slots: int = 1

    @abstractmethod
    def run(self, jobs: Sequence[TrainingJob]) -> Iterator[tuple[int, TrainingResult]]:
        """Yield (index into jobs, result) for every job, in completion order."""

    # --- non-blocking interface (default: inline, a submitted job runs when it is polled) ---
    def _queue(self) -> deque[tuple[int, Any]]:
        queue = self.__dict__.get("_inline_queue")
        if queue is None:
            queue = self.__dict__["_inline_queue"] = deque()
        return queue

    def _ticket(self) -> int:
        ticket = self.__dict__.get("_last_ticket", 0) + 1
        self.__dict__["_last_ticket"] = ticket
        return ticket

    def submit(self, job: Any) -> int:
        """Hand a job over; returns its ticket at once (the result comes from `poll`)."""
        ticket = self._ticket()
        self._queue().append((ticket, job))
        return ticket

    def poll(self, timeout: float | None = None) -> list[tuple[int, Any]]:
        """(ticket, result) of the jobs finished by now, in ticket order.

        `timeout=None` waits until at least one job has finished (if any is in flight); a number waits at
        most that long (0: does not wait). Inline: a wait trains the oldest submitted job here and now.
        """
        queue = self._queue()
        if timeout == 0 or not queue:
            return []
        ticket, job = queue.popleft()
        [(_, result)] = list(self.run([job]))
        return [(ticket, result)]

    def cancel(self) -> None:
        """Drop every job still in flight (their results will never be polled)."""
        self._queue().clear()

    @property
    def in_flight(self) -> int:
        """Jobs submitted and not yet returned by `poll`."""
        return len(self._queue())

    def _run_by_polling(self, jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """`run` on top of submit/poll, for executors whose native interface is the non-blocking one."""
        index = {self.submit(job): i for i, job in enumerate(jobs)}
        try:
            while index:
                for ticket, result in self.poll():
                    yield index.pop(ticket), result
        finally:
            if index:
                self.cancel()

    def close(self) -> None:  # noqa: B027 -- optional hook: executors without workers have nothing to release
        """Release workers (no-op for inline)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InlineExecutor(Executor):
    """Trains in the calling process, one job after another (CPU or one GPU)."""

    def __init__(self, threads: int | None = None, attempts: int = ATTEMPTS) -> None:
        self.threads = threads
        self.slots = 1
        self.attempts = max(1, attempts)

    def run(self, jobs: Sequence[TrainingJob]) -> Iterator[tuple[int, TrainingResult]]:
        for index, job in enumerate(jobs):
            yield index, self._run_one(_with_threads(job, self.threads))

    def _run_one(self, job: TrainingJob) -> TrainingResult:
        for attempt in range(1, self.attempts + 1):
            try:
                return job.run()
            except TransientTrainingError as exc:
                if attempt == self.attempts:
                    raise _gave_up(job, attempt, str(exc)) from exc
                log.warning("retrying %s (attempt %d failed: %s)", _describe(job), attempt, exc)
        raise AssertionError("unreachable")


def _configured(job: Any, threads: int | None = None, device: str | None = None) -> Any:
    """The job with its thread count and/or device set (a fused group sets every member's)."""
    from dataclasses import replace

    changes = {k: v for k, v in (("threads", threads), ("device", device)) if v is not None}
    if not changes:
        return job
    if isinstance(job, GroupJob):
        return replace(job, jobs=tuple(replace(member, **changes) for member in job.jobs))
    return replace(job, **changes)


def _with_threads(job: Any, threads: int | None) -> Any:
    return _configured(job, threads=threads)


# --- local process pool ---
_WORKER_DEVICE: str | None = None


def _init_worker(device_queue: Any) -> None:
    """Pin this worker to one device slot handed out by the driver."""
    global _WORKER_DEVICE  # per-process worker identity, set once at worker start
    _WORKER_DEVICE = device_queue.get()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _die_with_parent()


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this worker when the driver dies (kill -9 leaves no orphans)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError) as exc:
        log.debug("workers will not follow the driver's death: %s", exc)


def _warm_up() -> int:
    """Runs once per worker right after start: the imports (torch) happen while the driver sets up."""
    return os.getpid()


def _run_in_worker(job: Any) -> Any:
    """Run a TrainingJob (one result) or a GroupJob (a list of results) on this worker's device."""
    if _WORKER_DEVICE is not None:
        members = job.jobs if isinstance(job, GroupJob) else (job,)
        if all(m.device in (None, "auto") for m in members):
            job = _configured(job, device=_WORKER_DEVICE)
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

    def __init__(
        self, workers: int | None = None, slots_per_gpu: int = 2, threads: int = 1, attempts: int = ATTEMPTS
    ) -> None:
        gpus = visible_gpus()
        if gpus:
            devices = [f"cuda:{g}" for g in range(gpus) for _ in range(max(1, slots_per_gpu))]
        else:
            devices = ["cpu"] * max(1, workers or os.cpu_count() or 1)
        self.devices = devices
        self.slots = len(devices)
        self.threads = threads
        self.attempts = max(1, attempts)
        self._jobs: dict[int, Any] = {}
        self._tries: dict[int, int] = {}
        self._futures: dict[Future, int] = {}
        self._pool = self._start_pool()
        log.info("process executor: %d slot(s) on %s", self.slots, sorted(set(devices)))

    def _start_pool(self) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        for device in self.devices:
            queue.put(device)
        pool = ProcessPoolExecutor(
            max_workers=self.slots, mp_context=ctx, initializer=_init_worker, initargs=(queue,)
        )
        for _ in range(self.slots):  # start every worker now (the pool would start them on demand)
            pool.submit(_warm_up)
        return pool

    def _restart_pool(self) -> None:
        log.warning("a worker process died; starting a new pool of %d", self.slots)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start_pool()

    def run(self, jobs: Sequence[TrainingJob]) -> Iterator[tuple[int, TrainingResult]]:
        return self._run_by_polling(jobs)

    def submit(self, job: Any) -> int:
        ticket = self._ticket()
        self._jobs[ticket] = _with_threads(job, self.threads)
        self._tries[ticket] = 0
        self._launch(ticket)
        return ticket

    def _launch(self, ticket: int) -> None:
        self._tries[ticket] += 1
        self._futures[self._pool.submit(_run_in_worker, self._jobs[ticket])] = ticket

    def poll(self, timeout: float | None = None) -> list[tuple[int, Any]]:
        if not self._futures:
            return []
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        out: list[tuple[int, Any]] = []
        lost: list[int] = []
        crash: BaseException | None = None
        for future in sorted(done, key=lambda f: self._futures[f]):
            ticket = self._futures.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool as exc:
                lost.append(ticket)
                crash = exc
                continue
            except TransientTrainingError as exc:
                self._retry_or_raise(self._jobs[ticket], self._tries[ticket], str(exc), exc)
                self._launch(ticket)
                continue
            except BaseException:
                self._forget(ticket)
                raise
            self._forget(ticket)
            out.append((ticket, result))
        if lost:  # the whole pool died with the worker: every job in flight is run again
            lost += list(self._futures.values())
            self._futures.clear()
            for ticket in lost:
                self._retry_or_raise(self._jobs[ticket], self._tries[ticket], "a worker process died", crash)
            self._restart_pool()
            for ticket in sorted(lost):
                self._launch(ticket)
        return out

    def _forget(self, ticket: int) -> None:
        del self._jobs[ticket], self._tries[ticket]

    def cancel(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        self._jobs.clear()
        self._tries.clear()

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def _retry_or_raise(self, job: TrainingJob, tries: int, reason: str, exc: BaseException | None) -> None:
        if tries >= self.attempts:
            self.cancel()
            raise _gave_up(job, tries, reason) from exc
        log.warning("retrying %s (attempt %d: %s)", _describe(job), tries, reason[:200])

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
        # Ray itself retries a task whose worker or node died (max_retries) and one that raised
        # TransientTrainingError (retry_exceptions); other exceptions are bugs and are not retried
        self._remote = ray.remote(
            num_gpus=self.gpus_per_job,
            num_cpus=1,
            max_retries=ATTEMPTS - 1,
            retry_exceptions=[TransientTrainingError],
        )(_run_in_worker)
        self._refs: dict[Any, tuple[int, Any]] = {}

    def run(self, jobs: Sequence[TrainingJob]) -> Iterator[tuple[int, TrainingResult]]:
        return self._run_by_polling(jobs)

    def submit(self, job: Any) -> int:
        ticket = self._ticket()
        self._refs[self._remote.remote(_with_threads(job, 1))] = (ticket, job)
        return ticket

    def poll(self, timeout: float | None = None) -> list[tuple[int, Any]]:
        from ray.exceptions import NodeDiedError, WorkerCrashedError

        if not self._refs:
            return []
        done, rest = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if done and rest:  # whatever else is finished already
            more, _ = self._ray.wait(rest, num_returns=len(rest), timeout=0)
            done = list(done) + list(more)
        out: list[tuple[int, Any]] = []
        for ref in sorted(done, key=lambda r: self._refs[r][0]):
            ticket, job = self._refs.pop(ref)
            try:
                result = self._ray.get(ref)
            except TransientTrainingError as exc:  # Ray re-raises the task's exception type
                self.cancel()
                raise _gave_up(job, ATTEMPTS, str(exc).splitlines()[-1]) from exc
            except (WorkerCrashedError, NodeDiedError) as exc:
                self.cancel()
                raise _gave_up(job, ATTEMPTS, "its worker or node died") from exc
            out.append((ticket, result))
        return out

    def cancel(self) -> None:
        for ref in self._refs:
            try:
                self._ray.cancel(ref)
            except Exception as exc:  # best effort: a finished task cannot be cancelled
                log.debug("could not cancel a Ray task: %s", exc)
        self._refs.clear()

    @property
    def in_flight(self) -> int:
        return len(self._refs)

    def close(self) -> None:
        """Shut down a Ray instance this executor started; leave a cluster it joined running."""
        if self._started_here:
            self._ray.shutdown()
            self._started_here = False


def make_executor(kind: str = "inline", **options: Any) -> Executor:
    """Build an executor by name: inline, process (workers=, slots_per_gpu=), ray (address=)."""
    if kind == "inline":
        return InlineExecutor(threads=options.get("threads"), attempts=options.get("attempts", ATTEMPTS))
    if kind == "process":
        return ProcessExecutor(
            workers=options.get("workers"),
            slots_per_gpu=options.get("slots_per_gpu", 2),
            threads=options.get("threads", 1),
            attempts=options.get("attempts", ATTEMPTS),
        )
    if kind == "ray":
        return RayExecutor(address=options.get("address"), slots=options.get("workers"))
    raise ConfigError(f"executor {kind!r} not in {EXECUTORS}")
