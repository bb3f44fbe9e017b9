"""Zero-cost proxies: scores of an untrained network, each a pure function of (network, batch, seed).

`compute_proxy(name, model, x, y, seed)` scores a deep copy of `model` (the caller's module is never
changed) on the device of `x`: the proxy re-initialises the copy's weights from `seed` with its own scheme
(drawn on a CPU generator, so the weights are the same on a CPU and on CUDA), then scores it on the batch.
The same code runs on both devices; values agree up to floating-point arithmetic.

Registered proxies (`PROXIES`), with the batch each uses: the first `batch_size` images of one seeded
permutation of the task's training split (`draw_batch`), so every proxy's batch is a prefix of the
largest one:

| name       | batch | better | reference                                              |
|------------|-------|--------|--------------------------------------------------------|
| ntk_cond   | 72    | lower  | TE-NAS (Chen et al. 2021), 3 Kaiming repeats           |
| naswot     | 128   | higher | NASWOT (Mellor et al. 2021), log abs det K             |
| grad_corr  | 16    | lower  | Reolon, Evolutive-NAS `score_jacob` (the third score)  |
| synflow    | 1     | higher | Tanaka et al. 2020 via zero-cost-nas (all-ones input)  |
| grad_norm  | 64    | higher | zero-cost-nas                                          |
| snip       | 64    | higher | Lee et al. 2019 via zero-cost-nas                      |
| params     | -     | higher | parameter count                                        |
| flops      | -     | higher | 2 x conv/linear multiply-adds of one image             |

See `harness.proxies_kernels` and `harness.proxies_saliency` for how each follows its reference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from harness.errors import unknown
from harness.proxies_init import working_copy
from harness.proxies_kernels import (
    ProxyError,
    gradient_correlation,
    naswot,
    ntk_condition,
    paper_third_score,
)
from harness.proxies_saliency import flops, grad_norm, params, snip, synflow

log = logging.getLogger(__name__)

ProxyFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, int], float]

__all__ = [
    "PROXIES",
    "ProxyError",
    "ProxySpec",
    "ProxyValue",
    "compute_proxies",
    "compute_proxy",
    "draw_batch",
    "paper_third_score",
    "proxy_names",
]


@dataclass(frozen=True)
class ProxySpec:
    """One proxy: its function, the batch it scores, whether higher values mean better networks."""

    name: str
    fn: ProxyFn
    batch_size: int
    higher_is_better: bool
    reference: str


@dataclass(frozen=True)
class ProxyValue:
    value: float
    seconds: float


PROXIES: dict[str, ProxySpec] = {
    spec.name: spec
    for spec in (
        ProxySpec("ntk_cond", ntk_condition, 72, False, "TE-NAS lib/procedures/ntk.py get_ntk_n"),
        ProxySpec("naswot", naswot, 128, True, "NASWOT score_networks.py hook_logdet"),
        ProxySpec("grad_corr", gradient_correlation, 16, False, "Evolutive-NAS fitness.py score_jacob"),
        ProxySpec("synflow", synflow, 1, True, "zero-cost-nas measures/synflow.py (bn=False)"),
        ProxySpec("grad_norm", grad_norm, 64, True, "zero-cost-nas measures/grad_norm.py"),
        ProxySpec("snip", snip, 64, True, "zero-cost-nas measures/snip.py"),
        ProxySpec("params", params, 1, True, "parameter count"),
        ProxySpec("flops", flops, 1, True, "harness.training.count_flops"),
    )
}
PAPER_SCORES = ("ntk_cond", "naswot", "grad_corr")  #: the three scores the paper's GA minimises


def proxy_names() -> list[str]:
    return list(PROXIES)


def spec(name: str) -> ProxySpec:
    if name not in PROXIES:
        raise unknown("proxy", name, list(PROXIES))
    return PROXIES[name]


def batch_size_needed(names: Sequence[str]) -> int:
    return max(spec(n).batch_size for n in names)


def draw_batch(x: torch.Tensor, y: torch.Tensor, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `size` images of a permutation of (x, y) drawn from `seed` (a prefix for a smaller size)."""
    if size > x.shape[0]:
        raise ProxyError(f"a proxy batch of {size} images needs a split with at least that many")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x50524F58]))  # 'PROX'
    order = torch.as_tensor(rng.permutation(x.shape[0])[:size], device=x.device)
    return x.index_select(0, order), y.index_select(0, order)


def compute_proxy(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    """Proxy `name` of `model` (copied, re-initialised from `seed`) on the first images of batch (x, y)."""
    return compute_proxies(model, x, y, seed, [name])[name].value


def compute_proxies(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int, names: Sequence[str]
) -> dict[str, ProxyValue]:
    """Every proxy in `names`, each on a fresh copy of `model` and its own prefix of the batch, timed."""
    out: dict[str, ProxyValue] = {}
    for name in names:
        s = spec(name)
        xs, ys = x[: s.batch_size], y[: s.batch_size]
        if s.batch_size > 1 and xs.shape[0] < s.batch_size:
            raise ProxyError(f"{name}: needs a batch of {s.batch_size} images, got {x.shape[0]}")
        start = time.perf_counter()
        work = working_copy(model, x.device)
        value = float(s.fn(work, xs, ys, seed))
        if x.device.type == "cuda":
            torch.cuda.synchronize(x.device)
        out[name] = ProxyValue(value, time.perf_counter() - start)
        log.debug("proxy %s = %.6g (%.3f s)", name, value, out[name].seconds)
    return out
