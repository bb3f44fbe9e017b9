"""Seeded weight initialisations and network surgery for the zero-cost proxies.

Every proxy scores a network at initialisation, so the initialisation is part of the proxy's definition.
Weights are drawn here from a CPU `torch.Generator` and copied to the network's device: the same seed gives
the same weights on a CPU and on CUDA (only the arithmetic that follows differs), and no global RNG is
touched. Two schemes are provided:

- `kaiming_normal_init`: TE-NAS's `kaiming_normal_fanout_init` (Kaiming normal, mode fan-out, ReLU gain,
  for every Conv and Linear weight; biases zero; BatchNorm weight 1, bias 0). Used by the NTK proxy.
- `torch_default_init`: the distribution of PyTorch's own `reset_parameters` for Conv/Linear
  (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, i.e. kaiming_uniform with a = sqrt(5)),
  BatchNorm/GroupNorm/LayerNorm affine 1 and 0. NASWOT, the paper's score and the zero-cost-nas saliency
  proxies (synflow, grad_norm, snip) all score networks at PyTorch's default initialisation.

Parameters of modules outside these kinds keep the values they were built with (the caller builds the
network under a seed, so they are deterministic too).
"""

from __future__ import annotations

import copy
import hashlib
import math

import numpy as np
import torch
from torch import nn

_CONV_LINEAR = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


def proxy_generator(seed: int, proxy: str, repeat: int = 0) -> torch.Generator:
    """A CPU generator for one (seed, proxy, repeat): independent streams per proxy and per repeat."""
    digest = hashlib.sha256(proxy.encode("utf-8")).digest()
    words = [
        int(seed) & 0xFFFFFFFF,
        int(seed) >> 32 & 0xFFFFFFFF,
        *np.frombuffer(digest[:8], np.uint32),
        repeat,
    ]
    state = np.random.SeedSequence([int(w) for w in words]).generate_state(2, np.uint32)
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(state[0]) << 32 | int(state[1]))
    return gen


def _fill(param: torch.Tensor, values: torch.Tensor) -> None:
    with torch.no_grad():
        param.copy_(values.to(device=param.device, dtype=param.dtype))


def _fan(weight: torch.Tensor) -> tuple[int, int]:
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def _init_norm(module: nn.Module) -> None:
    if getattr(module, "weight", None) is not None:
        _fill(module.weight, torch.ones(module.weight.shape))
    if getattr(module, "bias", None) is not None:
        _fill(module.bias, torch.zeros(module.bias.shape))


def kaiming_normal_init(model: nn.Module, gen: torch.Generator) -> nn.Module:
    """TE-NAS's fan-out Kaiming normal initialisation, in place (module order = `model.modules()`)."""
    for module in model.modules():
        if isinstance(module, _CONV_LINEAR):
            _, fan_out = _fan(module.weight)
            std = math.sqrt(2.0) / math.sqrt(fan_out)
            _fill(module.weight, torch.randn(module.weight.shape, generator=gen, dtype=torch.float64) * std)
            if module.bias is not None:
                _fill(module.bias, torch.zeros(module.bias.shape))
        elif isinstance(module, _NORMS):
            _init_norm(module)
    return model


def torch_default_init(model: nn.Module, gen: torch.Generator) -> nn.Module:
    """PyTorch's default Conv/Linear distribution drawn from `gen`, in place."""
    for module in model.modules():
        if isinstance(module, _CONV_LINEAR):
            fan_in, _ = _fan(module.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            draw = torch.rand(module.weight.shape, generator=gen, dtype=torch.float64)
            _fill(module.weight, (2 * draw - 1) * bound)
            if module.bias is not None:
                draw = torch.rand(module.bias.shape, generator=gen, dtype=torch.float64)
                _fill(module.bias, (2 * draw - 1) * bound)
        elif isinstance(module, _NORMS):
            _init_norm(module)
    return model


def without_batchnorm(model: nn.Module) -> nn.Module:
    """`model` with every BatchNorm layer replaced by an identity, in place (zero-cost-nas `bn=False`)."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return model


_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def without_dropout(model: nn.Module) -> nn.Module:
    """`model` with every dropout layer replaced by an identity, in place.

    Proxies score the deterministic network: a dropout mask would be drawn from torch's global RNG (a
    different stream on CUDA), so train-mode proxies would not be functions of (network, batch, seed).
    TE-NAS's and NASWOT's networks have no dropout; zero-cost-nas leaves it on.
    """
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _DROPOUT):
                setattr(parent, name, nn.Identity())
    return model


def working_copy(model: nn.Module, device: torch.device) -> nn.Module:
    """A deep copy of `model` on `device` without dropout, gradients cleared (the caller's is untouched)."""
    work = without_dropout(copy.deepcopy(model)).to(device)
    for p in work.parameters():
        p.grad = None
    return work


def conv_linear_layers(model: nn.Module) -> list[nn.Module]:
    """The layers whose weights the saliency proxies score (zero-cost-nas: every Conv2d and Linear)."""
    return [m for m in model.modules() if isinstance(m, _CONV_LINEAR)]
