"""`evonas cache verify --retrain N`: train N stored evaluations again and compare with what is stored.

`cache verify` checks every fact that can be derived from other stored facts; a metric raised together
with its curve and every trajectory fitness derived from it is consistent and passes. Only training the
network again tells. The trainer is deterministic on a CPU for a given training seed, library versions
and thread count, so where the stored evaluation's `versions` and `device` (e.g. `cpu:1t`) are those of
the retraining, any difference means the stored result was not produced by this training: forged or
changed. Elsewhere (another torch, a GPU) results legitimately differ, and the difference is reported
against the replicate noise of that network (the std of its stored replicates), without failing.

The evaluations are drawn with a seeded `numpy.random.Generator` among every stored `ok` evaluation of any
task; each is retrained in process through the evaluator's own path (`TrainingJob.run`, as
`InlineExecutor` does), with the stored evaluation's derived seed. Nothing is written to the cache.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from cache.hashing import training_seed
from cache.records import EvalRecord
from cache.store import Cache, library_versions
from harness.errors import CacheError
from harness.executors import InlineExecutor
from harness.tasks import Task
from harness.training import TrainingJob, TrainingResult, freeze_params

log = logging.getLogger(__name__)

COMPARED = ("status", "val_acc", "test_acc", "train_loss", "curve", "params", "flops")
_CPU_DEVICE = re.compile(r"^cpu:(\d+)t$")


@dataclass(frozen=True)
class RetrainCheck:
    """One stored evaluation trained again: what differs, and whether the comparison is exact."""

    arch_hash: str
    task_key: str
    task_name: str
    replicate: int
    stored_metric: float | None
    retrained_metric: float | None
    exact: bool  # same library versions and the same CPU device: results must be identical
    differences: tuple[str, ...]
    noise: float | None  # std of the stored replicates' metric (None with fewer than two)
    why_not_exact: str = ""

    @property
    def forged(self) -> bool:
        return self.exact and bool(self.differences)

    def describe(self) -> str:
        where = f"{self.arch_hash[:12]}/{self.task_name}/{self.replicate}"
        if self.exact:
            if not self.differences:
                return f"retrained {where}: identical to the stored result"
            return f"retrained {where}: DIFFERS from the stored result ({'; '.join(self.differences)})"
        return f"retrained {where}: {self._difference()} ({self.why_not_exact}: not compared exactly)"

    def _difference(self) -> str:
        if self.stored_metric is None or self.retrained_metric is None:
            return f"stored {self.stored_metric}, retrained {self.retrained_metric}"
        delta = self.retrained_metric - self.stored_metric
        text = f"metric stored {self.stored_metric:.4f}, retrained {self.retrained_metric:.4f} ({delta:+.4f})"
        if self.noise is None:
            return text + ", no noise estimate (one stored replicate)"
        if self.noise == 0:
            return text + ", replicate std 0"
        return text + f", {abs(delta) / self.noise:.1f} x the replicate std {self.noise:.4f}"


def choose(cache: Cache, count: int, seed: int) -> list[EvalRecord]:
    """`count` stored ok evaluations (of any task), drawn without replacement by a seeded Generator."""
    keys = cache.execute(
        "SELECT arch_hash, task_key, replicate FROM evaluations WHERE status = 'ok' ORDER BY ALL"
    ).fetchall()
    if count <= 0 or not keys:
        return []
    picks = np.random.default_rng(seed).choice(len(keys), size=min(count, len(keys)), replace=False)
    records = [cache.get_evaluation(*keys[int(i)]) for i in sorted(picks)]
    return [r for r in records if r is not None]


def retrain(
    cache: Cache, count: int, seed: int = 0, device: str = "cpu", data_root: str | None = None
) -> list[RetrainCheck]:
    """Retrain `count` chosen evaluations and compare each with its stored result.

    Everything is read from the cache first; the file is then let go (`Cache.idle`) while networks
    train, so a run can write meanwhile.
    """
    versions = _parsed(library_versions())
    planned = []
    for record in choose(cache, count, seed):
        task = stored_task(cache, record.task_key)
        job = _job(cache, record, task, device, data_root)
        planned.append((record, task, job, replicate_noise(cache, record.arch_hash, record.task_key)))
    cache.idle()
    checks = []
    executor = InlineExecutor()
    for record, task, job, noise in planned:
        log.info("retraining %s/%s/%d on %s", record.arch_hash[:12], task.name, record.replicate, device)
        _, result = next(iter(executor.run([job])))
        checks.append(compare(record, task, result, versions, noise))
    return checks


def stored_task(cache: Cache, task_key: str) -> Task:
    """The task whose spec is stored under `task_key` (refused where the spec no longer hashes to it)."""
    row = cache.execute("SELECT name, spec FROM tasks WHERE task_key = ?", [task_key]).fetchone()
    if row is None:
        raise CacheError(f"task {task_key} is not stored: run `evonas cache verify` first")
    name, spec = row
    data: dict[str, Any] = dict(json.loads(spec))
    split = data.get("split") or {}
    objective = "val_acc" if split.get("val", 0) > 0 else "test_acc"
    task = Task.from_dict({**data, "name": name or task_key, "objective": objective})
    if task.key() != task_key:
        raise CacheError(f"task {name} ({task_key}): its stored spec hashes to {task.key()}")
    return task


def _job(cache: Cache, record: EvalRecord, task: Task, device: str, data_root: str | None) -> TrainingJob:
    from harness.spaces import get_space

    arch = cache.architecture(record.arch_hash)
    if arch is None:
        raise CacheError(f"architecture {record.arch_hash[:12]} is not stored: run `evonas cache verify`")
    space = get_space(arch["space"], **json.loads(arch["space_params"] or "{}"))
    return TrainingJob(
        space_name=space.name,
        space_params=freeze_params(space.params),
        encoding=arch["encoding"],
        task=task,
        seed=training_seed(record.task_key, record.arch_hash, record.replicate),
        device=device,
        data_root=data_root,
        threads=_threads(record.device),
    )


def _threads(stored_device: str) -> int:
    """The CPU threads the stored training used (`cpu:4t`), else 1 (the executors' default)."""
    match = _CPU_DEVICE.match(stored_device or "")
    return int(match.group(1)) if match else 1


def compare(
    record: EvalRecord, task: Task, result: TrainingResult, versions: dict[str, Any], noise: float | None
) -> RetrainCheck:
    """The retrained result against the stored one (`noise`: the stored replicates' std, if known)."""
    stored = {name: getattr(record, name) for name in COMPARED}
    fresh = {name: getattr(result, name) for name in COMPARED}
    stored["curve"], fresh["curve"] = tuple(stored["curve"] or ()), tuple(fresh["curve"] or ())
    differences = tuple(
        f"{name} stored {stored[name]}, retrained {fresh[name]}"
        for name in COMPARED
        if stored[name] != fresh[name]
    )
    why = _why_not_exact(record, result, versions)
    return RetrainCheck(
        arch_hash=record.arch_hash,
        task_key=record.task_key,
        task_name=task.name,
        replicate=record.replicate,
        stored_metric=_metric(record.val_acc, record.test_acc),
        retrained_metric=_metric(result.val_acc, result.test_acc),
        exact=not why,
        differences=differences,
        noise=noise,
        why_not_exact=why,
    )


def _why_not_exact(record: EvalRecord, result: TrainingResult, versions: dict[str, Any]) -> str:
    if not _CPU_DEVICE.match(result.device or ""):
        return f"retrained on {result.device}"
    if record.device != result.device:
        return f"stored from {record.device or 'an unknown device'}, retrained on {result.device}"
    stored_versions = _parsed(record.versions)
    if stored_versions != versions:
        changed = sorted(
            k for k in set(stored_versions) | set(versions) if stored_versions.get(k) != versions.get(k)
        )
        return "other library versions (" + ", ".join(changed) + ")"
    return ""


def replicate_noise(cache: Cache, arch_hash: str, task_key: str) -> float | None:
    """Std (ddof 1) of the metric over the stored ok replicates of a network under a task."""
    values = [
        m
        for r in cache.replicates(arch_hash, task_key)
        if r.status == "ok" and (m := _metric(r.val_acc, r.test_acc)) is not None
    ]
    return float(np.std(values, ddof=1)) if len(values) >= 2 else None


def _metric(val_acc: float | None, test_acc: float | None) -> float | None:
    """The curve's metric: validation accuracy, or test accuracy for tasks without a validation split."""
    return val_acc if val_acc is not None else test_acc


def _parsed(versions: str | None) -> dict[str, Any]:
    try:
        value = json.loads(versions or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def retrain_summary(checks: list[RetrainCheck]) -> str:
    """The closing line of `cache verify` (with or without --retrain)."""
    line = "cache verified: every hash, seed, metric and reference checks out"
    if not checks:
        return line
    exact = [c for c in checks if c.exact]
    forged = [c for c in exact if c.forged]
    return (
        f"{line}; retrained {len(checks)}: {len(exact) - len(forged)} identical, {len(forged)} different, "
        f"{len(checks) - len(exact)} not comparable exactly (other versions or device)"
    )
