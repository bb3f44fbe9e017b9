"""Networks of `macro_re` genomes: the plan (shapes, merges) and the module built from it.

`paper_plan` is the paper's builder (Sec. 3.3 of Kyriakides & Margaritis 2020, with the reference code's
layer details); `harness.spaces.macro_re_reference.reference_plan` reproduces the reference code's own
builder. Both give a `NetworkPlan`, and `MacroNet` builds either.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from harness.spaces.macro_re_canon import analyse
from harness.spaces.macro_re_genome import INPUT, LAYER_SPECS, OUTPUT, LayerSpec, MacroGenome


@dataclass(frozen=True)
class InputPlan:
    """One input of a node: its source's module key, a nearest resize target and a 1x1 conv (in, out).

    `skip` (reference builder only): the reference forward pass leaves this input out of the sum, though
    its 1x1 conv is built (and counted) all the same.
    """

    source: str
    resize: tuple[int, int] | None
    adapt: tuple[int, int] | None
    skip: bool = False


@dataclass(frozen=True)
class NodePlan:
    """One node of the built network, in evaluation order; `layer` is None for the output node."""

    key: str
    node: int
    layer: int | None
    inputs: tuple[InputPlan, ...]
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]


@dataclass(frozen=True)
class NetworkPlan:
    steps: tuple[NodePlan, ...]
    features: int
    num_classes: int
    channels: int


def node_key(node: int, position: Mapping[int, int]) -> str:
    if node == INPUT:
        return "input"
    if node == OUTPUT:
        return "output"
    return f"n{position[node]}"


@functools.lru_cache(maxsize=1 << 14)
def paper_plan(
    genome: MacroGenome, input_shape: tuple[int, int, int], num_classes: int, channels: int
) -> NetworkPlan | str:
    """The network a genome builds, or the one-line reason it cannot be built."""
    info = analyse(genome)
    if not info.active:
        return "no enabled path from input to output"
    if info.order is None:
        cyclic = sorted(v for v in info.active if v not in (INPUT, OUTPUT))
        return f"enabled connections form a cycle among nodes {cyclic}"
    layers = {g.node: g.layer for g in genome.nodes}
    shapes: dict[int, tuple[int, int, int]] = {INPUT: tuple(int(s) for s in input_shape)}  # type: ignore[dict-item]
    steps: list[NodePlan] = []
    for node in info.order:
        if node == INPUT:
            continue
        sources = info.preds[node]
        spec = LAYER_SPECS[layers[node]] if node != OUTPUT else None
        in_shapes = [shapes[s] for s in sources]
        channels_in = min(s[0] for s in in_shapes)
        if len(sources) == 1:
            size = in_shapes[0][1:]
            inputs = (InputPlan(node_key(sources[0], info.position), None, None),)
        else:
            size = (min(s[1] for s in in_shapes), min(s[2] for s in in_shapes))
            if spec is not None and min(size) < spec.kernel:
                size = (spec.kernel, spec.kernel)
            inputs = tuple(
                InputPlan(
                    node_key(src, info.position),
                    None if shp[1:] == size else (int(size[0]), int(size[1])),
                    None if shp[0] == channels_in else (shp[0], channels_in),
                )
                for src, shp in zip(sources, in_shapes, strict=True)
            )
        in_shape = (channels_in, int(size[0]), int(size[1]))
        if spec is None:
            out_shape = in_shape
        else:
            h, w = in_shape[1:]
            if min(h, w) < spec.kernel:
                return (
                    f"kernel {spec.kernel} of node {node} ({spec.name}) is larger than its {h}x{w} input "
                    "(empty feature map)"
                )
            if spec.op == "conv":
                out_shape = (
                    channels if spec.variant == "N" else channels // 2,
                    h - spec.kernel + 1,
                    w - spec.kernel + 1,
                )
            else:
                out_shape = (channels_in, h // spec.kernel, w // spec.kernel)
        shapes[node] = out_shape
        steps.append(
            NodePlan(
                key=node_key(node, info.position),
                node=node,
                layer=None if spec is None else layers[node],
                inputs=inputs,
                in_shape=in_shape,
                out_shape=out_shape,
            )
        )
    c, h, w = shapes[OUTPUT]
    features = c * h * w
    if features // 8 == 0:
        return f"only {features} features ({c}x{h}x{w}) reach the head: Linear(F, F//4) needs F >= 8"
    return NetworkPlan(steps=tuple(steps), features=features, num_classes=num_classes, channels=channels)


def _layer_module(spec: LayerSpec, in_channels: int, channels: int) -> nn.Module:
    if spec.op == "conv":
        out = channels if spec.variant == "N" else channels // 2
        return nn.Sequential(
            nn.Conv2d(in_channels, out, kernel_size=spec.kernel, stride=1),
            nn.ReLU6(),
            nn.BatchNorm2d(out),
            nn.Dropout2d(0.1),
        )
    if spec.variant == "A":
        return nn.AvgPool2d(spec.kernel, stride=spec.kernel)
    return nn.MaxPool2d(spec.kernel, stride=spec.kernel)


class MacroNet(nn.Module):
    """The network of a `NetworkPlan`: nodes evaluated in topological order, then the three-layer head.

    `layers[key]` is a node's layer, `adapters["src__dst"]` the 1x1 conv on the edge src -> dst; keys are
    canonical positions (`n3`), so isomorphic genomes give the same names; `node_keys` maps genome node ids.
    """

    def __init__(self, plan: NetworkPlan) -> None:
        super().__init__()
        self.plan = plan
        self.layers = nn.ModuleDict()
        self.adapters = nn.ModuleDict()
        for step in plan.steps:
            for inp in step.inputs:
                if inp.adapt is not None:
                    self.adapters[f"{inp.source}__{step.key}"] = nn.Conv2d(
                        inp.adapt[0], inp.adapt[1], kernel_size=1
                    )
            if step.layer is not None:
                self.layers[step.key] = _layer_module(
                    LAYER_SPECS[step.layer], step.in_shape[0], plan.channels
                )
        f = plan.features
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(f, f // 4),
            nn.Linear(f // 4, f // 8),
            nn.Linear(f // 8, plan.num_classes),
        )
        self.node_keys: dict[int, str] = {s.node: s.key for s in plan.steps}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: dict[str, torch.Tensor] = {"input": x}
        for step in self.plan.steps:
            total: torch.Tensor | None = None
            for inp in step.inputs:
                if inp.skip:
                    continue
                t = outs[inp.source]
                if inp.resize is not None:
                    t = F.interpolate(t, size=inp.resize, mode="nearest")
                if inp.adapt is not None:
                    t = self.adapters[f"{inp.source}__{step.key}"](t)
                total = t if total is None else total + t
            assert total is not None
            outs[step.key] = self.layers[step.key](total) if step.layer is not None else total
        return self.head(outs["output"])
