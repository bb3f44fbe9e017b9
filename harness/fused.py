"""Fused population training: N networks trained as one batched model, each exactly as if alone.

`train_group(jobs)` trains TrainingJobs that share a fusion key (`fusion_key`) as one packed network and
returns one TrainingResult per job; `plan_groups(jobs)` partitions any list of jobs into such groups (and
singles for the existing trainer); `train_jobs(jobs)` does both. `GroupJob` is the picklable unit an
executor hands to a worker.

What fuses:
- `genetic_cnn`: any genomes of one stage layout (stages, channels, FC width, dropout): one superset
  network with per-network edge masks (`harness.fused_gcnn`);
- every space (`genetic_cnn`, `macro_re`, `de_sequential`): replicates (different seeds) of one
  architecture (one arch hash), packed leaf by leaf (`harness.fused_modules.pack`).
Tasks in fp16 are not fused (GradScaler skips a step for the whole group when one network overflows).

Each network is what `train_genome` would make of its own seed: it is built under `torch.manual_seed(seed)`
(the same init), its batches come from its own `torch.Generator(device).manual_seed(seed)` (same
permutation and augmentation draws), its dropout masks from a generator in the state the global RNG has
after its build (the same masks on a CPU), its loss is its own cross-entropy, and its parameters are its
own leaves stepped by the task's optimiser (fused optimisers treat each tensor alone). Packed
convolutions follow the conv policy of `fused_modules` ('exact' on a CPU: grouped only where bitwise
equal to per-network convolutions). So on a CPU, at a fixed thread count, a network's curve does not
depend on which networks share its batch, and equals the single trainer's curve.

Outcomes follow `train_genome`: 'invalid' without training (refused by `is_valid`, or InvalidGenomeError
while building); a group that runs out of memory is split in halves (by the contract each network's result
is the one it would have had in the group), and a network alone that does raises TransientTrainingError;
an architecture the packer cannot fuse (FusionError) is trained by the single trainer; any other exception
is raised. `train_seconds` is each network's share of the group's wall time.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import EvonasError, InvalidGenomeError, TransientTrainingError
from harness.fused_gcnn import fuse_genetic
from harness.fused_modules import CONV_POLICIES, FusionError, check_packed, pack
from harness.spaces.base import SearchSpace
from harness.tasks import Task
from harness.training import (
    EVAL_BATCH,
    DeviceSplit,
    TrainingJob,
    TrainingResult,
    _autocast,
    augment,
    count_flops,
    count_parameters,
    device_name,
    device_split,
    is_out_of_memory,
    learning_rate,
    make_optimizer,
    release_memory,
    resolve_device,
    torch_threads,
)

log = logging.getLogger(__name__)

FUSABLE_SPACES = ("genetic_cnn", "macro_re", "de_sequential")
ARCH_FUSION = ("genetic_cnn",)  # spaces whose different architectures fuse (others: replicates only)
DEFAULT_MAX_GROUP = 32
CHECK_IMAGES = 4  # images of the packed-vs-members forward check before training
GHOST = -1  # index of the ghost member of a one-network group under the 'grouped' policy


# --- planning ---
@functools.lru_cache(maxsize=64)
def _space(name: str, params: tuple[tuple[str, Any], ...]) -> SearchSpace:
    from harness.spaces import get_space

    return get_space(name, **dict(params))


def fusion_key(job: TrainingJob) -> tuple | None:
    """Jobs with equal keys train as one fused group; None: train this job with the single trainer.

    The key holds the training protocol (task key), device, data root and threads, plus for
    `genetic_cnn` the stage layout and for other spaces the architecture hash (replicates only).
    """
    if job.space_name not in FUSABLE_SPACES or job.task.precision == "fp16":
        return None
    if getattr(job.task, "test_checkpoint", "last") != "last":
        return None  # best-checkpoint selection is applied by the single trainer only
    base = (job.space_name, job.task.key(), job.device or "auto", job.data_root, job.threads)
    space = _space(job.space_name, job.space_params)
    try:
        genome = space.decode(job.encoding)
    except EvonasError:
        return None  # the single trainer reports it as it always has (and no group fails with it)
    if job.space_name in ARCH_FUSION:
        return (*base, _layout(space))
    return (*base, space.hash(genome))


def _layout(space: SearchSpace) -> tuple:
    params = space.params
    return tuple(
        (k, str(params[k])) for k in ("stages", "channels", "fc_width", "dropout", "pooling") if k in params
    )


@dataclass(frozen=True)
class JobGroup:
    """Indices into the planned job list; `fused` False: one job for the single trainer."""

    indices: tuple[int, ...]
    fused: bool


def plan_groups(
    jobs: Sequence[TrainingJob], max_group: int = DEFAULT_MAX_GROUP, min_groups: int = 1
) -> list[JobGroup]:
    """Partition `jobs` into fusable groups of at most `max_group` (balanced sizes) and singles.

    Jobs of one fusion key are split into at least `min_groups` groups where there are enough of them (one
    per worker, say). On a CPU each job's result is the same whichever partition is chosen (module doc).
    """
    if max_group < 1 or min_groups < 1:
        raise ValueError("max_group and min_groups must be >= 1")
    by_key: dict[tuple, list[int]] = {}
    singles: list[JobGroup] = []
    for i, job in enumerate(jobs):
        key = fusion_key(job)
        if key is None:
            singles.append(JobGroup((i,), fused=False))
        else:
            by_key.setdefault(key, []).append(i)
    groups: list[JobGroup] = []
    for indices in by_key.values():
        parts = min(len(indices), max(min_groups, math.ceil(len(indices) / max_group)))
        base, extra = divmod(len(indices), parts)
        start = 0
        for p in range(parts):
            size = base + (1 if p < extra else 0)
            groups.append(JobGroup(tuple(indices[start : start + size]), fused=True))
            start += size
    return groups + singles


def train_jobs(
    jobs: Sequence[TrainingJob], max_group: int = DEFAULT_MAX_GROUP, conv_policy: str = "auto"
) -> list[TrainingResult]:
    """Train every job (fused where possible); results in job order."""
    results: list[TrainingResult | None] = [None] * len(jobs)
    for group in plan_groups(jobs, max_group):
        members = [jobs[i] for i in group.indices]
        outs = train_group(members, conv_policy) if group.fused else [members[0].run()]
        for i, result in zip(group.indices, outs, strict=True):
            results[i] = result
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class GroupJob:
    """A picklable fused group for executors: `run()` returns one result per job, in order."""

    jobs: tuple[TrainingJob, ...]
    conv_policy: str = "auto"

    def run(self) -> list[TrainingResult]:
        return train_group(self.jobs, self.conv_policy)


# --- training a group ---
@dataclass
class _Member:
    """One network of a group while it trains (transient; never stored)."""

    index: int
    seed: int
    model: nn.Module
    params: int
    flops: int | None
    dropout_gen: torch.Generator


def resolve_policy(policy: str, device: torch.device) -> str:
    """'auto' is 'exact' on a CPU and 'grouped' on CUDA (where the single trainer is not bitwise anyway)."""
    if policy == "auto":
        return "grouped" if device.type == "cuda" else "exact"
    if policy not in CONV_POLICIES:
        raise ValueError(f"conv policy {policy!r} not in {(*CONV_POLICIES, 'auto')}")
    return policy


def train_group(jobs: Sequence[TrainingJob], conv_policy: str = "auto") -> list[TrainingResult]:
    """Train jobs of one fusion key as one fused network; one result per job, in order.

    Outcomes as `train_genome`'s: 'invalid' (refused by `is_valid`, or InvalidGenomeError while
    building), TransientTrainingError when even one network alone runs out of memory (a group that runs
    out is split in halves first), any other exception raised (a bug).
    """
    if not jobs:
        return []
    keys = {fusion_key(job) for job in jobs}
    if len(keys) != 1 or None in keys:
        raise ValueError("train_group needs jobs of one fusion key (see plan_groups)")
    dev = resolve_device(jobs[0].device)
    policy = resolve_policy(conv_policy, dev)
    results: dict[int, TrainingResult] = {}
    genomes: dict[int, Any] = {}
    for i, job in enumerate(jobs):
        space = _space(job.space_name, job.space_params)
        genome = space.decode(job.encoding)
        validity = space.is_valid(genome, job.task)
        if validity:
            genomes[i] = genome
        else:
            results[i] = TrainingResult(status="invalid", error=validity.reason, device=dev.type)
    if genomes:
        results.update(_train_valid(jobs, genomes, dev, policy))
    return [results[i] for i in range(len(jobs))]


def _train_valid(
    jobs: Sequence[TrainingJob], genomes: dict[int, Any], dev: torch.device, policy: str
) -> dict[int, TrainingResult]:
    try:
        return _train_fused(jobs, genomes, dev, policy)
    except FusionError as exc:  # a property of the architecture: every group holding it fails alike
        log.warning("cannot fuse (%s); training %d network(s) one by one", exc, len(genomes))
        return {i: jobs[i].run() for i in genomes}
    except (MemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise
        release_memory(dev)
        if len(genomes) == 1:
            first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            raise TransientTrainingError(f"out of memory on {device_name(dev)}: {first}") from exc
        log.warning("fused group of %d ran out of memory; splitting it in halves", len(genomes))
        items = list(genomes.items())
        half = len(items) // 2
        out = _train_valid(jobs, dict(items[:half]), dev, policy)
        out.update(_train_valid(jobs, dict(items[half:]), dev, policy))
        return out


def _train_fused(
    jobs: Sequence[TrainingJob], genomes: dict[int, Any], dev: torch.device, policy: str
) -> dict[int, TrainingResult]:
    first = jobs[next(iter(genomes))]
    task = first.task
    data = device_split(task, dev, first.data_root)
    out: dict[int, TrainingResult] = {}
    with torch_threads(first.threads):
        label = device_name(dev)
        start = time.perf_counter()
        devices = [dev.index or 0] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            members: list[_Member] = []
            for index, genome in genomes.items():
                try:
                    members.append(_build(jobs[index], genome, dev, index))
                except InvalidGenomeError as exc:  # as train_genome: found while building
                    seconds = time.perf_counter() - start
                    out[index] = TrainingResult(
                        status="invalid", error=str(exc)[:500], train_seconds=seconds, device=label
                    )
            if not members:
                return out
            if policy == "grouped" and len(members) == 1:
                # a grouped conv of one network is a plain conv (other kernels): add a ghost copy
                members.append(_build(jobs[members[0].index], genomes[members[0].index], dev, GHOST))
            net = fuse(first.space_name, members, policy)
            check_packed(net, [m.model for m in members], data.x_train[:CHECK_IMAGES])
            metrics = train_packed(net, task, [m.seed for m in members], dev, data)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        seconds = time.perf_counter() - start
    real = [(m, values) for m, values in zip(members, metrics, strict=True) if m.index != GHOST]
    for member, values in real:
        split = values.pop("curve_split")
        out[member.index] = TrainingResult(
            status="ok",
            params=member.params,
            flops=member.flops,
            train_seconds=seconds / len(real),
            device=label,
            extra={"curve_split": split, "fused_group": len(real), "conv_policy": policy},
            **values,
        )
    return out


def _build(job: TrainingJob, genome: Any, dev: torch.device, index: int) -> _Member:
    """Build as `train_genome` does (inside the caller's forked RNG scope), keeping the RNG state after it."""
    space, task, seed = _space(job.space_name, job.space_params), job.task, job.seed
    torch.manual_seed(seed)
    model = space.build(genome, task)
    params = count_parameters(model)
    flops = count_flops(model, task.input_shape)
    gen = torch.Generator(device=dev)
    if dev.type == "cpu":
        gen.set_state(torch.random.get_rng_state())  # what the single trainer's dropout draws from next
    else:
        gen.manual_seed(seed)
    return _Member(index, seed, model.to(dev), params, flops, gen)


def fuse(space_name: str, members: Sequence[_Member], policy: str) -> nn.Module:
    """The packed network of `members` (a Genetic CNN superset, or replicates packed leaf by leaf)."""
    models = [m.model for m in members]
    gens = [m.dropout_gen for m in members]
    if space_name in ARCH_FUSION:
        return fuse_genetic(models, gens, policy)
    return pack(models, gens, policy)


def train_packed(
    net: nn.Module, task: Task, seeds: Sequence[int], device: torch.device, data: DeviceSplit
) -> list[dict[str, Any]]:
    """`train_module` for a packed network: network i draws its batches from its own seeded generator."""
    models = len(seeds)
    gens = [torch.Generator(device=device).manual_seed(s) for s in seeds]
    n = data.x_train.shape[0]
    bs = task.batch_size
    steps = n // bs + (1 if n % bs >= 2 else 0)  # as train_module: never a final batch of one sample
    total_steps = steps * task.epochs
    optimizer = make_optimizer(net, task, device)
    autocast = _autocast(task, device)
    has_val = data.x_val.shape[0] > 0
    curve: list[torch.Tensor] = []
    loss_sum = torch.zeros(models, device=device)
    step = 0
    for epoch in range(task.epochs):
        net.train()
        perms = [torch.randperm(n, device=device, generator=g) for g in gens]
        loss_sum = torch.zeros(models, device=device)
        for s in range(steps):
            x, ys = _batch(data, task, perms, gens, s * bs, (s + 1) * bs)
            lr = learning_rate(task, epoch, step, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast:
                logits = net(x)
                losses = torch.stack([F.cross_entropy(logits[i], ys[i]) for i in range(models)])
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()
            optimizer.step()
            loss_sum += losses.detach().float()
            step += 1
        curve.append(
            accuracies(net, data.x_val, data.y_val, models, autocast)
            if has_val
            else accuracies(net, data.x_test, data.y_test, models, autocast)
        )
    test = accuracies(net, data.x_test, data.y_test, models, autocast) if data.x_test.shape[0] else None
    parts = [torch.stack(curve, dim=1), (loss_sum / max(1, steps)).double().unsqueeze(1)]
    if test is not None:
        parts.append(test.unsqueeze(1))
    host = torch.cat([p.double() for p in parts], dim=1).cpu().tolist()  # the one host sync
    epochs = len(curve)
    return [
        {
            "val_acc": row[epochs - 1] if has_val else None,
            "test_acc": row[epochs + 1] if test is not None else None,
            "train_loss": row[epochs],
            "curve": tuple(row[:epochs]),
            "curve_split": "val" if has_val else "test",
        }
        for row in host
    ]


def _batch(
    data: DeviceSplit,
    task: Task,
    perms: Sequence[torch.Tensor],
    gens: Sequence[torch.Generator],
    lo: int,
    hi: int,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Each network's own batch (and augmentation), packed along channels."""
    xs, ys = [], []
    for perm, gen in zip(perms, gens, strict=True):
        idx = perm[lo:hi]
        x = data.x_train.index_select(0, idx)
        if task.augmentation:
            x = augment(x, task.augmentation, gen, data.pad_value)
        xs.append(x)
        ys.append(data.y_train.index_select(0, idx))
    return (xs[0] if len(xs) == 1 else torch.cat(xs, dim=1)), ys


@torch.no_grad()
def accuracies(net: nn.Module, x: torch.Tensor, y: torch.Tensor, models: int, autocast: Any) -> torch.Tensor:
    """Top-1 accuracy of every packed network on (x, y), as an (N,) double device tensor."""
    net.eval()
    correct = torch.zeros(models, dtype=torch.long, device=x.device)
    for start in range(0, x.shape[0], EVAL_BATCH):
        chunk = x[start : start + EVAL_BATCH]
        with autocast:
            logits = net(chunk.repeat(1, models, 1, 1))
        correct += (logits.argmax(2) == y[start : start + EVAL_BATCH].unsqueeze(0)).sum(1)
    return correct.double() / max(1, x.shape[0])
