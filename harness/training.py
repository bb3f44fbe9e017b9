"""The trainer: one clean loop for CPU and CUDA, with the data resident on the device.

Every tensor the loop touches lives on the training device from the start: the split is moved (and
normalised) once per process, batches are index slices of a device-side permutation, augmentation runs on
the device with a seeded generator, and the running loss stays a device tensor, so a step never waits for
the host. The host reads numbers back once per epoch (validation accuracy) and once at the end.

Randomness: one training seed (derived by the cache from task, architecture and replicate) seeds a scoped
torch RNG (`torch.random.fork_rng`) for weight init and dropout, and a private generator for shuffling
and augmentation. Nothing global is touched outside that scope, and the same seed gives the same result.

`reference_train` is the plain eager loop of the seed code (DataLoader, per-step `.item()`), kept only as
the baseline of `benchmarks/` and `evonas bench`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from harness.errors import InvalidGenomeError, TransientTrainingError
from harness.tasks import Task

if TYPE_CHECKING:
    from harness.spaces.base import SearchSpace

log = logging.getLogger(__name__)

EVAL_BATCH = 1024


@dataclass(frozen=True)
class TrainingResult:
    """Everything one training produced (status 'ok', 'invalid' or 'failed')."""

    status: str
    error: str | None = None
    val_acc: float | None = None
    test_acc: float | None = None
    train_loss: float | None = None
    curve: tuple[float, ...] = ()
    params: int | None = None
    flops: int | None = None
    train_seconds: float = 0.0
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceSplit:
    """A task's split as (normalised) tensors on one device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    pad_value: torch.Tensor  # per-channel value of a black pixel after normalisation (crop padding)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{torch.get_num_threads()}t"


def resolve_device(name: str | None = None) -> torch.device:
    """'auto' (or None) picks CUDA when available, else the CPU."""
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@lru_cache(maxsize=8)
def _device_split(task_data_key: tuple, device_str: str, root: str | None) -> DeviceSplit:
    from harness.data import load_split

    dataset, split, normalize = task_data_key
    data = load_split(dataset, split, root=root)
    device = torch.device(device_str)

    def put(x: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(np.array(x, dtype=np.float32, copy=True), device=device)
        if normalize is not None:
            mean = torch.tensor(normalize[0], device=device).view(1, -1, 1, 1)
            std = torch.tensor(normalize[1], device=device).view(1, -1, 1, 1)
            t = (t - mean) / std
        return t.contiguous()

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.array(y, dtype=np.int64, copy=True), device=device)

    channels = data.x_train.shape[1]
    if normalize is not None:
        pad = -torch.tensor(normalize[0], device=device) / torch.tensor(normalize[1], device=device)
    else:
        pad = torch.zeros(channels, device=device)
    return DeviceSplit(
        put(data.x_train),
        labels(data.y_train),
        put(data.x_val),
        labels(data.y_val),
        put(data.x_test),
        labels(data.y_test),
        pad,
    )


def device_split(task: Task, device: torch.device, root: str | None = None) -> DeviceSplit:
    """The task's split on `device`, loaded and moved once per process."""
    return _device_split((task.dataset, task.split, task.normalize), str(device), root)


# --- augmentation on the device ---
def _hflip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    mask = torch.rand(x.shape[0], device=x.device, generator=gen) < 0.5
    return torch.where(mask.view(-1, 1, 1, 1), x.flip(3), x)


def _crop_gather(padded: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Per-sample h x w windows of `padded` starting at (dy, dx)."""
    b, c, _, wp = padded.shape
    row_idx = (dy.view(b, 1) + torch.arange(h, device=padded.device)).view(b, 1, h, 1).expand(b, c, h, wp)
    cropped_rows = padded.gather(2, row_idx)
    col_idx = (dx.view(b, 1) + torch.arange(w, device=padded.device)).view(b, 1, 1, w).expand(b, c, h, w)
    return cropped_rows.gather(3, col_idx)


def _random_erasing(x: torch.Tensor, gen: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """torchvision's RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0), vectorised.

    torchvision retries up to 10 times for a rectangle that fits; here the aspect ratio is clamped so
    that the rectangle always fits, which keeps the loop free of host syncs.
    """
    b, _, h, w = x.shape
    dev = x.device
    apply = torch.rand(b, device=dev, generator=gen) < p
    area = h * w * (0.02 + 0.31 * torch.rand(b, device=dev, generator=gen))
    log_ratio = math.log(0.3) + (math.log(3.3) - math.log(0.3)) * torch.rand(b, device=dev, generator=gen)
    ratio = torch.exp(log_ratio)
    eh = torch.sqrt(area * ratio).round().clamp(1, h).long()
    ew = torch.sqrt(area / ratio).round().clamp(1, w).long()
    top = (torch.rand(b, device=dev, generator=gen) * (h - eh + 1).float()).floor().long()
    left = (torch.rand(b, device=dev, generator=gen) * (w - ew + 1).float()).floor().long()
    ys = torch.arange(h, device=dev).view(1, h, 1)
    xs = torch.arange(w, device=dev).view(1, 1, w)
    inside = (
        (ys >= top.view(b, 1, 1))
        & (ys < (top + eh).view(b, 1, 1))
        & (xs >= left.view(b, 1, 1))
        & (xs < (left + ew).view(b, 1, 1))
        & apply.view(b, 1, 1)
    )
    return x.masked_fill(inside.unsqueeze(1), 0.0)


def augment(
    x: torch.Tensor, names: tuple[str, ...], gen: torch.Generator, pad_value: torch.Tensor
) -> torch.Tensor:
    for name in names:
        if name == "hflip":
            x = _hflip(x, gen)
        elif name == "crop":
            x = _crop_gather(
                _pad(x, 4, pad_value),
                torch.randint(0, 9, (x.shape[0],), device=x.device, generator=gen),
                torch.randint(0, 9, (x.shape[0],), device=x.device, generator=gen),
                x.shape[2],
                x.shape[3],
            )
        elif name == "random_erasing":
            x = _random_erasing(x, gen)
    return x


def _pad(x: torch.Tensor, pad: int, pad_value: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    padded = pad_value.view(1, c, 1, 1).expand(b, c, h + 2 * pad, w + 2 * pad).clone()
    padded[:, :, pad : pad + h, pad : pad + w] = x
    return padded


# --- optimisation ---
def make_optimizer(model: nn.Module, task: Task, device: torch.device) -> torch.optim.Optimizer:
    """The task's optimiser; the fused implementation where torch has one (one kernel per step)."""
    spec = task.optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    common: dict[str, Any] = {"lr": spec.lr, "weight_decay": spec.weight_decay}
    if spec.name == "sgd":
        return torch.optim.SGD(params, momentum=spec.momentum, nesterov=spec.nesterov, fused=True, **common)
    if spec.name == "adam":
        return torch.optim.Adam(params, fused=True, **common)
    if spec.name == "adamw":
        return torch.optim.AdamW(params, fused=True, **common)
    return torch.optim.Adamax(params, foreach=True, **common)


def learning_rate(task: Task, epoch: int, step: int, total_steps: int) -> float:
    """Learning rate at a global step: constant, step decay at epoch milestones, or per-step cosine."""
    base = task.optimizer.lr
    sched = task.schedule
    if sched.name == "step":
        return base * sched.gamma ** sum(1 for m in sched.milestones if epoch >= m)
    if sched.name == "cosine":
        if sched.period is not None:  # CosineAnnealingLR(T_max=period) stepped once per epoch
            return base * 0.5 * (1.0 + math.cos(math.pi * epoch / sched.period))
        return base * 0.5 * (1.0 + math.cos(math.pi * step / max(1, total_steps)))
    return base


def count_parameters(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def count_flops(model: nn.Module, input_shape: tuple[int, int, int]) -> int | None:
    """FLOPs of one forward pass of one image: 2 x the multiply-adds of every convolution and linear layer.

    Counted with forward hooks on a one-image pass (a few milliseconds; torch's FlopCounterMode gives the
    same conv/linear totals but costs ~0.2 s per network on a CPU, 5% of a digits training).
    """
    macs = 0

    def conv_hook(module: nn.Conv2d, _: Any, output: torch.Tensor) -> None:
        nonlocal macs
        per_output = (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]
        macs += output.numel() * per_output

    def linear_hook(module: nn.Linear, _: Any, output: torch.Tensor) -> None:
        nonlocal macs
        macs += output.numel() * module.in_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros((1, *input_shape)))
        return 2 * macs
    except (RuntimeError, ValueError) as exc:
        log.warning("FLOP count failed: %s", exc)
        return None
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)


@torch.no_grad()
def accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, autocast: contextlib.AbstractContextManager
) -> torch.Tensor:
    """Top-1 accuracy as a 0-d device tensor (no host sync)."""
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for start in range(0, x.shape[0], EVAL_BATCH):
        with autocast:
            logits = model(x[start : start + EVAL_BATCH])
        correct += (logits.argmax(1) == y[start : start + EVAL_BATCH]).sum()
    return correct.double() / max(1, x.shape[0])


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with `n` intra-op CPU threads, restoring the previous setting afterwards."""
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _autocast(task: Task, device: torch.device) -> contextlib.AbstractContextManager:
    if task.precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if task.precision == "fp16" and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def train_module(
    model: nn.Module, task: Task, seed: int, device: torch.device, data: DeviceSplit
) -> dict[str, Any]:
    """Train `model` (already on `device`) under the task's protocol; returns metrics as Python numbers."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    n = data.x_train.shape[0]
    bs = task.batch_size
    steps = n // bs + (1 if n % bs >= 2 else 0)  # a final batch of one sample would break BatchNorm
    total_steps = steps * task.epochs
    optimizer = make_optimizer(model, task, device)
    scaler = torch.amp.GradScaler("cuda") if task.precision == "fp16" and device.type == "cuda" else None
    autocast = _autocast(task, device)
    has_val = data.x_val.shape[0] > 0
    curve: list[torch.Tensor] = []
    loss_sum = torch.zeros((), device=device)
    step = 0
    for epoch in range(task.epochs):
        model.train()
        perm = torch.randperm(n, device=device, generator=gen)
        loss_sum = torch.zeros((), device=device)
        for s in range(steps):
            idx = perm[s * bs : (s + 1) * bs]
            x = data.x_train.index_select(0, idx)
            y = data.y_train.index_select(0, idx)
            if task.augmentation:
                x = augment(x, task.augmentation, gen, data.pad_value)
            lr = learning_rate(task, epoch, step, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast:
                loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            loss_sum += loss.detach().float()
            step += 1
        curve.append(
            accuracy(model, data.x_val, data.y_val, autocast)
            if has_val
            else accuracy(model, data.x_test, data.y_test, autocast)
        )
    test_acc = accuracy(model, data.x_test, data.y_test, autocast) if data.x_test.shape[0] else None
    values = torch.stack([*curve, loss_sum / max(1, steps)] + ([test_acc] if test_acc is not None else []))
    host = values.double().cpu().tolist()  # the one host sync of the whole training
    curve_values = host[: len(curve)]
    return apply_test_checkpoint(
        task,
        {
            "val_acc": curve_values[-1] if has_val else None,
            "test_acc": host[len(curve) + 1] if test_acc is not None else None,
            "train_loss": host[len(curve)],
            "curve": tuple(curve_values),
            "curve_split": "val" if has_val else "test",
        },
    )


def apply_test_checkpoint(task: Task, metrics: dict[str, Any]) -> dict[str, Any]:
    """`task.test_checkpoint == "best"`: the reported test accuracy is the best of the per-epoch test curve
    (the best test checkpoint, as the DE-NAS authors' final-training notebook reports it). That is selection
    on the test set; the task's validation is empty (checked by Task), so the curve is on test."""
    if task.test_checkpoint != "best":
        return metrics
    if metrics.get("curve_split") != "test" or not metrics.get("curve"):
        raise ValueError("test_checkpoint 'best' needs a per-epoch test curve (a task without validation)")
    return {**metrics, "test_acc": max(metrics["curve"])}


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def is_out_of_memory(exc: BaseException) -> bool:
    """A CUDA (or host) allocation failure: a property of the moment, not of the network."""
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if isinstance(exc, MemoryError) or (oom is not None and isinstance(exc, oom)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def release_memory(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def train_genome(
    space: SearchSpace,
    genome: Any,
    task: Task,
    seed: int,
    device: str | torch.device | None = None,
    data_root: str | None = None,
    threads: int | None = None,
) -> TrainingResult:
    """Check, build, count and train one genome.

    What each outcome means (and what is stored):
    - `ok`: trained; stored.
    - `invalid`: `space.is_valid` refuses the genome for this task, or `build()` raises InvalidGenomeError;
      a property of (genome, task), stored so that it is never tried again.
    - out of memory (CUDA or host): raises TransientTrainingError; nothing is stored, the executor retries.
    - any other exception is a bug in evonas (a builder or trainer that mishandles a valid genome): it is
      raised, never cached as a result of the network.
    The `failed` status remains for results recorded by earlier versions and for importers.
    """
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    validity = space.is_valid(genome, task)
    if not validity:
        return TrainingResult(status="invalid", error=validity.reason, device=dev.type)
    data = device_split(task, dev, data_root)
    with torch_threads(threads):
        dev_label = device_name(dev)
        start = time.perf_counter()
        try:
            devices = [dev.index or 0] if dev.type == "cuda" else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                model = space.build(genome, task)
                params = count_parameters(model)
                flops = count_flops(model, task.input_shape)
                model = model.to(dev)
                metrics = train_module(model, task, seed, dev, data)
        except InvalidGenomeError as exc:  # the space found, while building, that it cannot be built
            return TrainingResult(
                status="invalid",
                error=str(exc)[:500],
                train_seconds=time.perf_counter() - start,
                device=dev_label,
            )
        except (MemoryError, RuntimeError) as exc:
            if not is_out_of_memory(exc):
                raise  # a bug in our code: never cached as a result of the network
            release_memory(dev)
            raise TransientTrainingError(f"out of memory on {dev_label}: {_first_line(exc)}") from exc
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        seconds = time.perf_counter() - start
    curve_split = metrics.pop("curve_split")
    return TrainingResult(
        status="ok",
        params=params,
        flops=flops,
        train_seconds=seconds,
        device=dev_label,
        extra={"curve_split": curve_split},
        **metrics,
    )


@dataclass(frozen=True)
class TrainingJob:
    """A picklable unit of work for executors: rebuilds the space in the worker and trains one genome."""

    space_name: str
    space_params: tuple[tuple[str, Any], ...]
    encoding: str
    task: Task
    seed: int
    device: str | None = None
    data_root: str | None = None
    threads: int | None = 1

    def run(self) -> TrainingResult:
        from harness.spaces import get_space

        space = get_space(self.space_name, **dict(self.space_params))
        genome = space.decode(self.encoding)
        return train_genome(space, genome, self.task, self.seed, self.device, self.data_root, self.threads)


def freeze_params(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Space parameters as a hashable, picklable tuple (lists become tuples)."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


# --- the seed-style reference loop (benchmarks only) ---
def reference_train(
    space: SearchSpace, genome: Any, task: Task, seed: int, data_root: str | None = None
) -> float:
    """A plain eager loop as in the papers' code: DataLoader over CPU tensors, `.item()` every step.

    Used only as the baseline that `benchmarks/` and `evonas bench` compare the trainer against; returns
    the final validation (or test) accuracy.
    """
    from torch.utils.data import DataLoader, TensorDataset

    from harness.data import load_split

    data = load_split(task.dataset, task.split, root=data_root)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = space.build(genome, task)
        loader = DataLoader(
            TensorDataset(torch.tensor(np.array(data.x_train)), torch.tensor(np.array(data.y_train))),
            batch_size=task.batch_size,
            shuffle=True,
            generator=gen,
            drop_last=len(data.y_train) % task.batch_size == 1,
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=task.optimizer.lr)
        for _ in range(task.epochs):
            model.train()
            running = 0.0
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
                running += loss.item()
        x_eval = data.x_val if len(data.y_val) else data.x_test
        y_eval = data.y_val if len(data.y_val) else data.y_test
        model.eval()
        with torch.no_grad():
            pred = model(torch.tensor(np.array(x_eval))).argmax(1).numpy()
    return float((pred == np.asarray(y_eval)).mean())
