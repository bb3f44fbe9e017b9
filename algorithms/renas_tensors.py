"""Tensors as plain JSON: a module's parameters and an Adam optimiser's state, without pickle.

A tensor is `{"dtype": "float32", "shape": [...], "data": <base64 of its little-endian bytes>}`: exact
(bit for bit), and loading never executes anything: only float32/int64 are accepted and the byte count
must match the shape. Used for the RENAS controller's weights in the algorithm's `state_dict`.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import torch
from torch import nn

_DTYPES: dict[str, tuple[torch.dtype, np.dtype]] = {
    "float32": (torch.float32, np.dtype("<f4")),
    "int64": (torch.int64, np.dtype("<i8")),
}
MAX_ELEMENTS = 50_000_000


def tensor_to_json(tensor: torch.Tensor) -> dict[str, Any]:
    t = tensor.detach().cpu().contiguous()
    name = next((k for k, (dt, _) in _DTYPES.items() if dt == t.dtype), None)
    if name is None:
        raise TypeError(f"tensor dtype {t.dtype} is not storable as JSON")
    data = t.numpy().astype(_DTYPES[name][1], copy=False).tobytes()
    return {"dtype": name, "shape": list(t.shape), "data": base64.b64encode(data).decode("ascii")}


def tensor_from_json(value: Any) -> torch.Tensor:
    """The tensor `tensor_to_json` wrote; ValueError for anything else."""
    if not isinstance(value, dict) or set(value) != {"dtype", "shape", "data"}:
        raise ValueError("a stored tensor needs exactly dtype, shape and data")
    if value["dtype"] not in _DTYPES:
        raise ValueError(f"stored tensor dtype {str(value['dtype'])[:20]!r} is not float32 or int64")
    shape = value["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ValueError("stored tensor shape must be a list of non-negative integers")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise ValueError(f"stored tensor has {count} elements, over the limit")
    dtype, np_dtype = _DTYPES[value["dtype"]]
    if not isinstance(value["data"], str):
        raise ValueError("stored tensor data must be base64 text")
    raw = base64.b64decode(value["data"].encode("ascii"), validate=True)
    if len(raw) != count * np_dtype.itemsize:
        raise ValueError(f"stored tensor has {len(raw)} bytes for shape {shape}")
    array = np.frombuffer(raw, dtype=np_dtype).reshape(shape).copy()
    return torch.from_numpy(array).to(dtype)


def module_to_json(module: nn.Module) -> dict[str, Any]:
    return {name: tensor_to_json(t) for name, t in module.state_dict().items()}


def load_module_json(module: nn.Module, state: Any) -> None:
    if not isinstance(state, dict):
        raise ValueError("stored module weights must be a table")
    expected = module.state_dict()
    if set(state) != set(expected):
        raise ValueError("stored module weights do not name this module's parameters")
    tensors = {}
    for name, ref in expected.items():
        t = tensor_from_json(state[name])
        if t.shape != ref.shape or t.dtype != ref.dtype:
            raise ValueError(f"stored weight {name} has shape {list(t.shape)}, expected {list(ref.shape)}")
        tensors[name] = t
    module.load_state_dict(tensors)


def adam_to_json(optimizer: torch.optim.Adam) -> list[dict[str, Any] | None]:
    """Per parameter (in group order): its step count and moment estimates, or None before its first step."""
    out: list[dict[str, Any] | None] = []
    for group in optimizer.param_groups:
        for p in group["params"]:
            st = optimizer.state.get(p)
            if not st:
                out.append(None)
                continue
            out.append(
                {
                    "step": float(st["step"]),
                    "exp_avg": tensor_to_json(st["exp_avg"]),
                    "exp_avg_sq": tensor_to_json(st["exp_avg_sq"]),
                }
            )
    return out


def load_adam_json(optimizer: torch.optim.Adam, state: Any) -> None:
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if not isinstance(state, list) or len(state) != len(params):
        raise ValueError("stored optimiser state does not fit the controller")
    optimizer.state.clear()
    for p, st in zip(params, state, strict=True):
        if st is None:
            continue
        exp_avg, exp_avg_sq = tensor_from_json(st["exp_avg"]), tensor_from_json(st["exp_avg_sq"])
        if exp_avg.shape != p.shape or exp_avg_sq.shape != p.shape:
            raise ValueError("stored optimiser moments do not fit the controller's parameters")
        optimizer.state[p] = {
            "step": torch.tensor(float(st["step"])),
            "exp_avg": exp_avg,
            "exp_avg_sq": exp_avg_sq,
        }
