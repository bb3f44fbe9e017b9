"""Genetic CNN networks of one stage layout, different wirings, fused into one superset network.

Every network of a (K_1, ..., K_S) space has the same stages, each with a default input node, nodes
1..K_s and a default output node; genomes differ only in which nodes are active and how they connect.
The fused stage holds, for every node active in at least one network, one packed ConvBnRelu (network i's
own weights where node v is active in it, frozen zeros elsewhere), and per-network 0/1 channel masks that
realise each network's wiring as `GeneticStage.forward` does:

- node v's input is `d_v * x + sum_p m_pv * out_p` (p ascending), where `d_v` is 1 in networks where v is
  active without predecessors (it reads the input node) and `m_pv` is 1 where the edge p -> v exists;
- the output node reads `sum_v s_v * out_v` over the networks' sinks (active nodes without successors);
- a network without edges in the stage (a single conv) takes the input node's output:
  `a * output + (1 - a) * x`.

The wiring is read from the built `GeneticStage` modules themselves (`active`, `preds`, `sinks`,
`output_node`), so isolated nodes, sinks and edge-free stages are exactly `GeneticCnnSpace.build()`'s.
Every masked term is a ReLU output (>= 0) times 0 or 1, so it adds exactly 0 or itself: network i's sums
are its own sums, in its own order, bit for bit; an inactive node sees zeros through zero weights and
stays zero. Terms whose mask is 0 in every network are skipped, and a mask that is 1 everywhere is not
multiplied. The classifiers are the networks' own (see `fused_modules.PerModelTail`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from harness.fused_modules import FusionError, PerModelTail, pack, seed_dropouts
from harness.spaces.genetic_cnn import GeneticCnnNet, GeneticStage


class ChannelMask(nn.Module):
    """A per-network 0/1 factor over packed channels; `kind` is 'ones', 'zeros' or 'mixed'."""

    def __init__(self, flags: Sequence[bool], channels: int, device: torch.device) -> None:
        super().__init__()
        self.flags = tuple(bool(f) for f in flags)
        self.kind = "ones" if all(self.flags) else "zeros" if not any(self.flags) else "mixed"
        values = torch.tensor([1.0 if f else 0.0 for f in self.flags], device=device)
        self.register_buffer("mask", values.repeat_interleave(channels).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.kind == "ones" else x * self.mask.to(x.dtype)  # keeps bf16 activations bf16


def _sum(terms: list[torch.Tensor]) -> torch.Tensor:
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


class FusedGeneticStage(nn.Module):
    """One stage of N Genetic CNN networks (see the module docstring)."""

    def __init__(self, stages: Sequence[GeneticStage], policy: str) -> None:
        super().__init__()
        n = len(stages)
        gens = [None] * n
        self.input_node = pack([s.input_node for s in stages], gens, policy)
        conv = stages[0].input_node[0]
        channels = conv.out_channels
        device = conv.weight.device
        self.nodes = tuple(sorted({v for s in stages for v in s.active}))
        self.node_convs = nn.ModuleDict(
            {
                str(v): pack([s.node_convs[str(v)] if v in s.active else None for s in stages], gens, policy)
                for v in self.nodes
            }
        )
        with_output = [s.output_node is not None for s in stages]
        self.output_node = pack([s.output_node for s in stages], gens, policy) if any(with_output) else None

        def mask(flags: Sequence[bool]) -> ChannelMask:
            return ChannelMask(flags, channels, device)

        self.default = nn.ModuleDict(
            {str(v): mask([v in s.active and not s.preds[v] for s in stages]) for v in self.nodes}
        )
        self.edges = nn.ModuleDict(
            {
                f"{p}_{v}": mask([v in s.active and p in s.preds[v] for s in stages])
                for v in self.nodes
                for p in self.nodes
                if p < v
            }
        )
        self.sinks = nn.ModuleDict({str(v): mask([v in s.sinks for s in stages]) for v in self.nodes})
        self.keep = mask(with_output)
        self.bypass = mask([not f for f in with_output])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_node(x)
        if self.output_node is None:
            return x
        outs: dict[int, torch.Tensor] = {}
        for v in self.nodes:  # ascending index is a topological order (edges go p < v)
            terms = [self.default[str(v)](x)] if self.default[str(v)].kind != "zeros" else []
            for p in self.nodes:
                if p < v and self.edges[f"{p}_{v}"].kind != "zeros":
                    terms.append(self.edges[f"{p}_{v}"](outs[p]))
            outs[v] = self.node_convs[str(v)](_sum(terms))
        sinks = [self.sinks[str(v)](outs[v]) for v in self.nodes if self.sinks[str(v)].kind != "zeros"]
        out = self.output_node(_sum(sinks))
        if self.bypass.kind == "zeros":
            return out
        return self.keep(out) + self.bypass(x)


class FusedGeneticNet(nn.Module):
    """N Genetic CNN networks of one layout: fused stages and pools, then each network's classifier."""

    def __init__(
        self, stages: Sequence[FusedGeneticStage], pools: Sequence[nn.Module], tail: PerModelTail
    ) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.pools = nn.ModuleList(pools)
        self.tail = tail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage, pool in zip(self.stages, self.pools, strict=True):
            x = pool(stage(x))
        return self.tail(x)


def fuse_genetic(nets: Sequence[nn.Module], gens: Sequence[torch.Generator], policy: str) -> FusedGeneticNet:
    """Fuse built `GeneticCnnNet`s of one layout (their parameters are shared, not copied)."""
    if not nets or not all(isinstance(net, GeneticCnnNet) for net in nets):
        raise FusionError("fuse_genetic needs GeneticCnnNet modules")
    layouts = {tuple(type(m).__name__ for m in net.features) for net in nets}  # type: ignore[union-attr]
    if len(layouts) != 1:
        raise FusionError("Genetic CNN networks of different stage layouts cannot be fused")
    features = [list(net.features) for net in nets]  # type: ignore[union-attr]
    stages, pools = [], []
    for k in range(0, len(features[0]), 2):
        stages.append(FusedGeneticStage([f[k] for f in features], policy))
        pools.append(features[0][k + 1])
    tails = [seed_dropouts(net.classifier, g) for net, g in zip(nets, gens, strict=True)]  # type: ignore[union-attr]
    return FusedGeneticNet(stages, pools, PerModelTail(tails))
