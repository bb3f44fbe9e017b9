"""The standard cheap proxies beside the paper's three: synflow, grad_norm, snip, params, FLOPs.

The saliency proxies follow the zero-cost-nas code of Abdelfattah et al. (ICLR 2021,
`foresight/pruners/measures/*.py`), which NASLib and NAS-Bench-Suite-Zero reuse; each is the sum over
every Conv and Linear layer of a per-weight quantity, at PyTorch's default initialisation (drawn from
the proxy's seed, see `harness.proxies_init`):

- `synflow` (Tanaka et al. 2020; zero-cost-nas `bn=False`): a copy without BatchNorm, in float64, every
  parameter replaced by its absolute value, input a single all-ones image, R = sum of the outputs;
  score = sum |theta * dR/dtheta| over conv/linear weights. Higher is better.
- `grad_norm`: cross-entropy on the batch, train mode; score = sum over layers of ||dL/dW||_2.
- `snip` (Lee et al. 2019): cross-entropy on the batch, train mode; score = sum |W * dL/dW| (the gradient
  of the loss with respect to a multiplicative mask of ones, as zero-cost-nas computes it).
- `params`: number of parameters of the network as built (all of them, trainable or not).
- `flops`: `harness.training.count_flops` (2 x multiply-adds of every conv and linear layer, one image).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from harness.proxies_init import (
    conv_linear_layers,
    proxy_generator,
    torch_default_init,
    without_batchnorm,
)


def synflow_at(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """Synflow of the weights `model` holds (it is changed: absolute values, float64)."""
    model = model.double()
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    device = next(model.parameters()).device
    model.zero_grad(set_to_none=True)
    model(torch.ones((1, *input_shape), dtype=torch.float64, device=device)).sum().backward()
    return _sum_layers(model, lambda w, g: (w * g).abs().sum())


def synflow(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    model = without_batchnorm(model)
    torch_default_init(model, proxy_generator(seed, "synflow"))
    model.train()
    return synflow_at(model, tuple(x.shape[1:]))


def _loss_backward(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()


def _sum_layers(model: nn.Module, per_layer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> float:
    total = torch.zeros((), dtype=torch.float64)
    for layer in conv_linear_layers(model):
        if layer.weight.grad is not None:
            total = total + per_layer(layer.weight.detach(), layer.weight.grad.detach()).double().cpu()
    return float(total)


def grad_norm_at(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    _loss_backward(model, x, y)
    return _sum_layers(model, lambda w, g: g.norm())


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    torch_default_init(model, proxy_generator(seed, "grad_norm"))
    return grad_norm_at(model, x, y)


def snip_at(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    _loss_backward(model, x, y)
    return _sum_layers(model, lambda w, g: (w * g).abs().sum())


def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    torch_default_init(model, proxy_generator(seed, "snip"))
    return snip_at(model, x, y)


def params(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    return float(sum(p.numel() for p in model.parameters()))


def flops(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    from harness.training import count_flops

    model = model.cpu()
    value = count_flops(model, tuple(x.shape[1:]))
    return float("nan") if value is None else float(value)
