"""Packed modules: N networks of one structure as one module over channel-stacked activations.

A packed activation is a `(B, N*C, H, W)` tensor whose channels `[i*C, (i+1)*C)` belong to network i; the
networks' batches differ (each has its own data order), so network i sees only its own images. Every op
between the networks' leaf modules (ReLU, pooling, nearest resizing, sums of node outputs) acts on each
channel plane alone, so a container's own `forward` code runs unchanged on packed activations once its
leaves are replaced:

- `Conv2d` -> `PackedConv2d`: one grouped convolution (groups = N x the conv's groups) over the networks'
  own weights, or one convolution per network (see the conv policy below);
- `BatchNorm2d` -> `PackedBatchNorm2d`: one batch norm over the N*C channels (per-channel statistics, so
  each network keeps its own);
- `Dropout` / `Dropout2d` in the convolutional part -> `PackedDropout`: each network's mask is drawn from
  its own generator, in the shape and order ATen's CPU dropout draws it;
- the first `Flatten` of a `Sequential` and everything after it -> `PerModelTail`: each network's own
  classifier modules applied to its own channels (tiny linear layers, where batching would change the
  matrix-multiply kernel and with it the rounding), with its dropouts drawing from its own generator.

Parameters stay the networks' own tensors (one leaf per network and layer, concatenated in the forward
pass), so the optimiser updates each exactly as it updates the network trained alone: fused optimiser
kernels take a different vector/scalar split for a stacked tensor, which changes the last bit.

Conv policy. `grouped` always runs one grouped convolution. `loop` runs one convolution per network (the
single trainer's arithmetic, with no gain). `exact` runs the grouped convolution wherever it is bitwise
equal to the per-network convolutions for the shape at hand and not slower, and the loop elsewhere: whether
it is exact depends on the kernel the backend picks for the shape (oneDNN on a CPU picks another one for
some grouped convolutions whose input and output channel counts differ), so it is probed and timed once
per process and shape (`conv_choice`) on random data and cached. With `exact` a packed network computes
what each network computes alone, bit for bit, and so the same whichever networks share its batch. Under
autocast (bf16) `exact` always loops: two summation orders rounded to bf16 agree on almost every element,
so a probe cannot tell them apart (one seen in training differed once in ~10^4 gradient elements).
"""

from __future__ import annotations

import copy
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

from harness.errors import EvonasError

log = logging.getLogger(__name__)

CONV_POLICIES = ("exact", "grouped", "loop")
FULL_PRECISION = ("torch.float32", "torch.float64")  # dtypes whose conv results the probe can compare

#: Parameter-free modules that act on every channel plane alone (safe on packed activations).
CHANNELWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Identity,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
)
_STOCHASTIC = (nn.Dropout1d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


class FusionError(EvonasError):
    """The networks cannot be packed into one module (unsupported layer, differing structure)."""


# --- the conv probe ---
@dataclass(frozen=True)
class ConvCall:
    """Everything that can change which kernel a backend picks for a packed convolution."""

    device: str
    dtype: str
    autocast: str | None
    threads: int
    models: int
    in_channels: int
    out_channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    groups: int
    bias: bool
    batch: int
    height: int
    width: int
    weight_grad: bool
    input_grad: bool


def _grouped(
    x: torch.Tensor, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor] | None, conv: ConvCall
) -> torch.Tensor:
    weight = weights[0] if len(weights) == 1 else torch.cat(list(weights))
    bias = None if biases is None else biases[0] if len(biases) == 1 else torch.cat(list(biases))
    return F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups * len(weights))


def _looped(
    x: torch.Tensor, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor] | None, conv: ConvCall
) -> torch.Tensor:
    chunks = x.split(conv.in_channels, dim=1)
    outs = [
        F.conv2d(
            chunk.contiguous(),
            w,
            None if biases is None else biases[i],
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.groups,
        )
        for i, (chunk, w) in enumerate(zip(chunks, weights, strict=True))
    ]
    return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)


@functools.lru_cache(maxsize=4096)
def grouped_conv_is_exact(call: ConvCall) -> bool:
    """Whether the grouped convolution gives bitwise the per-network results (output and gradients).

    Probed on seeded random data of exactly this shape (the kernel a backend picks depends on the shape,
    the thread count and the dtype, never on the values), under the caller's autocast state.
    """
    grouped, looped = (_probe_run(call, variant) for variant in (_grouped, _looped))
    return all(torch.equal(a, b) for a, b in zip(grouped, looped, strict=True))


@functools.lru_cache(maxsize=4096)
def conv_choice(call: ConvCall) -> str:
    """'grouped' where it is bitwise exact and not slower than the per-network loop, else 'loop'.

    Either choice computes the same bits when both are exact, so timing noise changes speed, never
    results.
    """
    if call.autocast is not None or call.dtype not in FULL_PRECISION:
        # Two accumulation orders rounded to bf16/fp16 differ only rarely: a probe cannot tell them apart
        return _log_probe(call, "loop (reduced precision)")
    if not grouped_conv_is_exact(call):
        return _log_probe(call, "loop (grouped is not bitwise exact)")
    fastest = {variant.__name__: _probe_seconds(call, variant) for variant in (_grouped, _looped)}
    choice = "grouped" if fastest["_grouped"] <= fastest["_looped"] else "loop"
    return _log_probe(
        call, f"{choice} ({fastest['_grouped'] * 1e3:.2f} vs {fastest['_looped'] * 1e3:.2f} ms)"
    )


def _probe_inputs(call: ConvCall) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor] | None]:
    dev = torch.device(call.device)
    gen = torch.Generator(device=dev).manual_seed(20240531)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=gen, device=dev)

    per_group = call.in_channels // call.groups
    x = rand(call.batch, call.models * call.in_channels, call.height, call.width)
    weights = [rand(call.out_channels, per_group, *call.kernel) for _ in range(call.models)]
    biases = [rand(call.out_channels) for _ in range(call.models)] if call.bias else None
    return x, weights, biases


def _probe_run(call: ConvCall, variant: Any, inputs: tuple | None = None) -> list[torch.Tensor]:
    """The output and the gradients the call needs, of `variant` (_grouped or _looped) on probe data."""
    x, weights, biases = inputs if inputs is not None else _probe_inputs(call)
    leaves = [x] if call.input_grad else []
    if call.weight_grad:
        leaves += weights + (biases or [])
    for t in leaves:
        t.requires_grad_(True)
    with torch.set_grad_enabled(bool(leaves)):
        out = variant(x, weights, biases, call)
    if not leaves:
        return [out]
    upstream = torch.ones_like(out) if inputs is not None else _upstream(out)
    return [out.detach(), *torch.autograd.grad(out, leaves, upstream)]


def _upstream(out: torch.Tensor) -> torch.Tensor:
    gen = torch.Generator(device=out.device).manual_seed(1)
    return torch.randn(out.shape, generator=gen, device=out.device).to(out.dtype)


def _probe_seconds(call: ConvCall, variant: Any, repeats: int = 3) -> float:
    """The best of `repeats` timings of the variant's forward and backward pass (inputs made beforehand)."""
    inputs = _probe_inputs(call)
    _probe_run(call, variant, inputs)  # warm (primitive creation, allocations)
    sync = torch.cuda.synchronize if inputs[0].device.type == "cuda" else (lambda: None)
    best = math.inf
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        _probe_run(call, variant, inputs)
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def _log_probe(call: ConvCall, choice: str) -> str:
    log.debug(
        "packed conv %dx(%d->%d, k%s) on %dx%dx%d (grad w=%s x=%s): %s",
        call.models,
        call.in_channels,
        call.out_channels,
        call.kernel,
        call.batch,
        call.height,
        call.width,
        call.weight_grad,
        call.input_grad,
        choice,
    )
    return choice.split()[0]


def _autocast_dtype(device_type: str) -> str | None:
    """The autocast dtype active for `device_type`, or None (torch >= 2.4 API, with the older fallback)."""
    try:
        enabled = torch.is_autocast_enabled(device_type)
        return str(torch.get_autocast_dtype(device_type)) if enabled else None
    except (TypeError, AttributeError):  # torch < 2.4
        if device_type == "cpu":
            return str(torch.get_autocast_cpu_dtype()) if torch.is_autocast_cpu_enabled() else None
        return str(torch.get_autocast_gpu_dtype()) if torch.is_autocast_enabled() else None


# --- packed leaves ---
def _frozen(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t, requires_grad=False)


class PackedConv2d(nn.Module):
    """N convolutions of one geometry over a packed activation; a `None` network gets zero weights."""

    def __init__(self, convs: Sequence[nn.Conv2d | None], policy: str = "exact") -> None:
        super().__init__()
        if policy not in CONV_POLICIES:
            raise FusionError(f"conv policy {policy!r} not in {CONV_POLICIES}")
        template = _template(convs)
        if template.padding_mode != "zeros":
            raise FusionError(f"conv padding_mode {template.padding_mode!r} cannot be packed")
        signature = _conv_signature(template)
        for conv in convs:
            if conv is not None and _conv_signature(conv) != signature:
                raise FusionError(f"convolutions differ: {conv} vs {template}")
        self.policy = policy
        self.in_channels = template.in_channels
        self.out_channels = template.out_channels
        self.kernel_size = tuple(template.kernel_size)
        self.stride = tuple(template.stride)
        self.padding = template.padding if isinstance(template.padding, str) else tuple(template.padding)
        self.dilation = tuple(template.dilation)
        self.groups = template.groups
        self.weights = nn.ParameterList(
            [c.weight if c is not None else _frozen(torch.zeros_like(template.weight)) for c in convs]
        )
        self.has_bias = template.bias is not None
        self.biases = (
            nn.ParameterList(
                [c.bias if c is not None else _frozen(torch.zeros_like(template.bias)) for c in convs]  # type: ignore[arg-type]
            )
            if self.has_bias
            else None
        )

    @property
    def models(self) -> int:
        return len(self.weights)

    def call(self, x: torch.Tensor) -> ConvCall:
        """The probe key of a forward pass on `x` in the current grad/autocast state."""
        weight_grad = torch.is_grad_enabled() and any(w.requires_grad for w in self.weights)
        return ConvCall(
            device=str(x.device),
            dtype=str(x.dtype),
            autocast=_autocast_dtype(x.device.type),
            threads=torch.get_num_threads(),
            models=self.models,
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            kernel=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=self.has_bias,
            batch=x.shape[0],
            height=x.shape[2],
            width=x.shape[3],
            weight_grad=weight_grad,
            input_grad=torch.is_grad_enabled() and x.requires_grad,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        call = self.call(x)
        biases = list(self.biases) if self.biases is not None else None
        weights = list(self.weights)
        if self.policy == "grouped" or self.models == 1:
            return _grouped(x, weights, biases, call)
        if self.policy == "exact" and x.is_contiguous() and conv_choice(call) == "grouped":
            return _grouped(x, weights, biases, call)
        return _looped(x, weights, biases, call)


def _conv_signature(conv: nn.Conv2d) -> tuple:
    return (
        conv.in_channels,
        conv.out_channels,
        tuple(conv.kernel_size),
        tuple(conv.stride),
        conv.padding,
        tuple(conv.dilation),
        conv.groups,
        conv.bias is not None,
        conv.padding_mode,
    )


class PackedBatchNorm2d(nn.Module):
    """N batch norms as one over N*C channels (statistics are per channel, so per network)."""

    def __init__(self, norms: Sequence[nn.BatchNorm2d | None]) -> None:
        super().__init__()
        template = _template(norms)
        signature = (template.num_features, template.eps, template.momentum, template.affine)
        for bn in norms:
            if bn is not None and (bn.num_features, bn.eps, bn.momentum, bn.affine) != signature:
                raise FusionError(f"batch norms differ: {bn} vs {template}")
        if not template.track_running_stats:
            raise FusionError("batch norm without running statistics cannot be packed")
        self.eps = template.eps
        self.momentum = template.momentum
        c = template.num_features
        ref = template.running_mean
        assert ref is not None and template.running_var is not None
        self.weights = (
            nn.ParameterList([bn.weight if bn is not None else _frozen(torch.ones_like(ref)) for bn in norms])
            if template.affine
            else None
        )
        self.biases = (
            nn.ParameterList([bn.bias if bn is not None else _frozen(torch.zeros_like(ref)) for bn in norms])
            if template.affine
            else None
        )
        means = [bn.running_mean if bn is not None else torch.zeros(c, device=ref.device) for bn in norms]
        varis = [bn.running_var if bn is not None else torch.ones(c, device=ref.device) for bn in norms]
        self.register_buffer("running_mean", torch.cat(means).clone())  # type: ignore[arg-type]
        self.register_buffer("running_var", torch.cat(varis).clone())  # type: ignore[arg-type]
        self.register_buffer("num_batches_tracked", template.num_batches_tracked.clone())  # type: ignore[union-attr]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """nn.BatchNorm2d.forward (running statistics tracked), on N*C channels."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        weight = torch.cat(list(self.weights)) if self.weights is not None else None
        bias = torch.cat(list(self.biases)) if self.biases is not None else None
        return F.batch_norm(
            x, self.running_mean, self.running_var, weight, bias, self.training, factor, self.eps
        )


def dropout_noise(shape: Sequence[int], p: float, gen: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """ATen's CPU dropout noise, drawn from `gen`: bernoulli_(1 - p), then div_(1 - p)."""
    noise = torch.empty(tuple(shape), dtype=like.dtype, device=like.device)
    noise.bernoulli_(1 - p, generator=gen)
    return noise.div_(1 - p)


def feature_shape(x: torch.Tensor) -> tuple[int, ...]:
    """ATen's feature-dropout noise shape: (B, C, 1, 1, ...)."""
    return (x.shape[0], x.shape[1], *([1] * (x.dim() - 2)))


class SeededDropout(nn.Module):
    """nn.Dropout (or Dropout2d with `feature`) drawing its masks from a private generator.

    On the CPU the masks equal the ones F.dropout / F.dropout2d draws from a default generator in the
    same state (ATen's non-fused path: bernoulli_ on an empty tensor, div_, mul). CUDA's F.dropout uses a
    fused Philox kernel instead, so there the masks are seeded per network but not the single trainer's.
    """

    def __init__(self, p: float, gen: torch.Generator, feature: bool = False) -> None:
        super().__init__()
        self.p = p
        self.gen = gen
        self.feature = feature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.numel() == 0:
            return x
        if self.p == 1.0:
            return x * torch.zeros((), dtype=x.dtype, device=x.device)
        shape = feature_shape(x) if self.feature else tuple(x.shape)
        return x * dropout_noise(shape, self.p, self.gen, x)


class PackedDropout(nn.Module):
    """Dropout on a packed activation: network i's mask from generator i, in its own layout."""

    def __init__(self, p: float, gens: Sequence[torch.Generator | None], feature: bool) -> None:
        super().__init__()
        self.p = p
        self.gens = list(gens)
        self.feature = feature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.numel() == 0:
            return x
        if self.p == 1.0:
            return x * torch.zeros((), dtype=x.dtype, device=x.device)
        n = len(self.gens)
        c = x.shape[1] // n
        per_model = (x.shape[0], c, *x.shape[2:])
        shape = feature_shape(x[:, :c]) if self.feature else per_model
        masks = [
            dropout_noise(shape, self.p, g, x)
            if g is not None
            else torch.ones(shape, dtype=x.dtype, device=x.device)
            for g in self.gens
        ]
        return x * torch.cat(masks, dim=1)


class PerModelTail(nn.Module):
    """Each network's own classifier on its own channels; returns logits stacked as (N, B, classes)."""

    def __init__(self, tails: Sequence[nn.Module]) -> None:
        super().__init__()
        self.tails = nn.ModuleList(tails)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        chunks = x.split(x.shape[1] // len(self.tails), dim=1)
        return torch.stack([tail(c.contiguous()) for tail, c in zip(self.tails, chunks, strict=True)])


# --- packing a module tree ---
def _template(modules: Sequence[nn.Module | None]) -> nn.Module:
    for m in modules:
        if m is not None:
            return m
    raise FusionError("nothing to pack: every network lacks this module")


def seed_dropouts(module: nn.Module, gen: torch.Generator) -> nn.Module:
    """`module` with each nn.Dropout / Dropout2d replaced (in place) by a SeededDropout drawing from `gen`."""
    if isinstance(module, _STOCHASTIC):
        raise FusionError(f"{type(module).__name__} cannot be fused")
    if isinstance(module, (nn.Dropout, nn.Dropout2d)):
        return SeededDropout(module.p, gen, feature=isinstance(module, nn.Dropout2d))
    for name, child in list(module.named_children()):
        setattr(module, name, seed_dropouts(child, gen))
    return module


def pack(
    modules: Sequence[nn.Module | None], gens: Sequence[torch.Generator | None], policy: str = "exact"
) -> nn.Module:
    """One module computing `modules[i]` on channel block i of a packed activation (`None`: zeros).

    Leaves are packed as the module docstring says; other modules are copied with packed children, so
    their own `forward` runs on packed activations. Raises FusionError for layers it cannot pack.
    """
    template = _template(modules)
    if any(m is not None and type(m) is not type(template) for m in modules):
        raise FusionError(f"modules differ in type at {type(template).__name__}")
    if isinstance(template, nn.Conv2d):
        return PackedConv2d(modules, policy)  # type: ignore[arg-type]
    if isinstance(template, nn.BatchNorm2d):
        return PackedBatchNorm2d(modules)  # type: ignore[arg-type]
    if isinstance(template, _STOCHASTIC):
        raise FusionError(f"{type(template).__name__} cannot be fused")
    if isinstance(template, (nn.Dropout, nn.Dropout2d)):
        gens_here = [g if m is not None else None for m, g in zip(modules, gens, strict=True)]
        return PackedDropout(template.p, gens_here, feature=isinstance(template, nn.Dropout2d))
    if isinstance(template, CHANNELWISE):
        return copy.deepcopy(template)
    if isinstance(template, nn.Sequential):
        return _pack_sequential(modules, gens, policy)
    if isinstance(template, (nn.Linear, nn.Flatten)):
        raise FusionError(f"{type(template).__name__} outside a Sequential's classifier tail cannot be fused")
    return _pack_container(template, modules, gens, policy)


def _pack_sequential(
    modules: Sequence[nn.Module | None], gens: Sequence[torch.Generator | None], policy: str
) -> nn.Module:
    children = [list(m.children()) if m is not None else None for m in modules]
    template = next(c for c in children if c is not None)
    if any(c is not None and len(c) != len(template) for c in children):
        raise FusionError("sequentials differ in length")
    packed: list[nn.Module] = []
    for k, child in enumerate(template):
        if isinstance(child, nn.Flatten):
            if any(c is None for c in children) or any(g is None for g in gens):
                raise FusionError("a classifier tail needs every network")
            tails = [
                seed_dropouts(nn.Sequential(*c[k:]), g)  # type: ignore[index,arg-type]
                for c, g in zip(children, gens, strict=True)
            ]
            packed.append(PerModelTail(tails))
            break
        packed.append(pack([c[k] if c is not None else None for c in children], gens, policy))
    return nn.Sequential(*packed)


def _pack_container(
    template: nn.Module,
    modules: Sequence[nn.Module | None],
    gens: Sequence[torch.Generator | None],
    policy: str,
) -> nn.Module:
    if list(template.named_parameters(recurse=False)) or list(template.named_buffers(recurse=False)):
        raise FusionError(f"{type(template).__name__} holds its own parameters: cannot be packed")
    clone = copy.copy(template)
    clone._parameters = {}
    clone._buffers = {}
    clone._non_persistent_buffers_set = set()
    clone._modules = {}
    for name, _ in template.named_children():
        clone._modules[name] = pack(
            [m._modules[name] if m is not None else None for m in modules], gens, policy
        )
    return clone


def check_packed(packed: nn.Module, members: Sequence[nn.Module], x: torch.Tensor) -> None:
    """Raise FusionError unless `packed` computes every member's eval-mode output on `x`."""
    models = len(members)
    for m in (packed, *members):
        m.eval()
    with torch.no_grad():
        got = packed(x.repeat(1, models, 1, 1))
        want = torch.stack([m(x) for m in members])
    if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-4, atol=1e-5):
        diff = (got - want).abs().max().item() if got.shape == want.shape else float("nan")
        raise FusionError(
            f"packed network disagrees with its members (shape {tuple(got.shape)}, max diff {diff})"
        )
