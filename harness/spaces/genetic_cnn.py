"""The Genetic CNN search space (Xie & Yuille, ICCV 2017): the paper's encoding and decoding rules.

A network has S stages; stage s has K_s ordered nodes and 1 + 2 + ... + (K_s - 1) bits, one per possible
edge (v_i -> v_j, i < j), ordered (1,2), (1,3), (2,3), (1,4), ... . The paper's notation writes a stage as
its groups of bits for node 2, node 3, ... joined by '-', and stages separated by a space:
``1-01 0-01-100 0-11-101-0001`` (the best individual of Table 1, generation 50).

Decoding (Sec. 3.1.1): every node sums its connected predecessors, then conv 3x3 -> BN -> ReLU. A default
input node v_{s,0} (a conv from the previous stage's channels) feeds every node without a predecessor; a
default output node v_{s,K+1} sums every node without a successor and applies a conv. A node with no edge
at all is dropped, and a stage with no edges is a single conv. Each stage is followed by a 3x3 max-pooling
of stride 2 and the classifier FC32 -> ReLU -> Dropout(0.5) -> FC(classes): the revised LeNet of Sec. 4.1.1.

What the paper does not fix, and what we chose (say so wherever the paper is reproduced):

- Pooling, `pooling`: the paper's MP3(S2) is Caffe's max pooling, which rounds the output size up and pads
  nothing (windows start at rows 0, 2, 4, ...; on 8 rows they end at rows 2, 4, 6, 7). ``"caffe"`` builds
  exactly that (``MaxPool2d(3, 2, ceil_mode=True)``); it is used by the CIFAR-10 paper configs.
  ``"padded"`` (the default, kept so that stored digits results keep their meaning) is
  ``MaxPool2d(3, 2, padding=1)``: the same sizes on CIFAR (32 -> 16 -> 8 -> 4) but windows shifted by one
  row (ending at rows 1, 3, 5, 7 on 8 rows), and defined on 1x1 inputs where Caffe's is not. The pooling
  enters the canonical form (and the hash) only when it is ``"caffe"``.
- The ReLU after FC32: the paper's abbreviation has none written; we add one (LeNet style).
- Convolutions have no bias (``bias=False``): BatchNorm follows every one, so a bias would be redundant.
- Channels (8, 8, 16), FC width 32 and dropout 0.5 are the paper's CIFAR-10 values (Sec. 4.1.1).

Canonical form: ordinary nodes are interchangeable (all are the same conv), so a stage is identified by
its DAG of non-isolated nodes up to isomorphism. We take the lexicographically smallest adjacency string
over all topological orderings of that DAG: isomorphic DAGs have the same set of such strings, so the
minimum is a complete invariant. In the (3, 4, 5) space the 2^19 = 524,288 strings hold
6 x 31 x 302 = 56,172 distinct networks (see `distinct_stage_count`; checked against
networkx's isomorphism test in tests/unit/test_genetic_cnn.py).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from harness.errors import EvonasError, InvalidGenomeError
from harness.spaces.base import (
    VALID,
    ArchGraph,
    InputSpec,
    SearchSpace,
    Validity,
    canonical_json,
    check_encoding,
    short_repr,
)

if TYPE_CHECKING:
    import optuna


@dataclass(frozen=True)
class GeneticCnnGenome:
    """One tuple of bits per stage, in the paper's bit order."""

    stages: tuple[tuple[int, ...], ...]

    @property
    def bits(self) -> tuple[int, ...]:
        return tuple(b for stage in self.stages for b in stage)


def stage_bit_count(nodes: int) -> int:
    return nodes * (nodes - 1) // 2


def edge_order(nodes: int) -> list[tuple[int, int]]:
    """Edges (i, j), 1-based, in the paper's bit order: (1,2), (1,3), (2,3), (1,4), ..."""
    return [(i, j) for j in range(2, nodes + 1) for i in range(1, j)]


def stage_edges(nodes: int, bits: Sequence[int]) -> tuple[tuple[int, int], ...]:
    return tuple(e for e, b in zip(edge_order(nodes), bits, strict=True) if b)


def active_nodes(edges: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Nodes that touch at least one edge (isolated nodes are dropped, Sec. 3.1.1)."""
    return tuple(sorted({n for e in edges for n in e}))


@functools.lru_cache(maxsize=65536)
def canonical_stage(nodes: int, bits: tuple[int, ...]) -> str:
    """Isomorphism-invariant form of one stage: '' for a single-conv stage, else n:adjacency bits."""
    edges = stage_edges(nodes, bits)
    if not edges:
        return ""
    active = active_nodes(edges)
    n = len(active)
    index = {v: k for k, v in enumerate(active)}
    succ: list[set[int]] = [set() for _ in range(n)]
    indegree = [0] * n
    for i, j in edges:
        succ[index[i]].add(index[j])
        indegree[index[j]] += 1
    best: list[str] | None = None

    # Enumerate topological orderings; the adjacency string in the paper's bit order under ordering
    # `order` lists, for each position p = 1..n-1, the bits (order[q] -> order[p]) for q < p.
    def extend(order: list[int], indeg: list[int], prefix: list[str]) -> None:
        nonlocal best
        if best is not None and prefix > best[: len(prefix)]:
            return  # this branch cannot beat the best string found so far
        if len(order) == n:
            if best is None or prefix < best:
                best = list(prefix)
            return
        for v in range(n):
            if indeg[v] == 0 and v not in order:
                group = "".join("1" if v in succ[u] else "0" for u in order)
                for w in succ[v]:
                    indeg[w] -= 1
                order.append(v)
                extend(order, indeg, [*prefix, group] if order[:-1] else prefix)
                order.pop()
                for w in succ[v]:
                    indeg[w] += 1

    extend([], indegree[:], [])
    assert best is not None
    return f"{n}:" + "-".join(best)


@functools.lru_cache(maxsize=64)
def distinct_stage_count(nodes: int) -> int:
    """How many of the 2^(K(K-1)/2) strings of a K-node stage build distinct networks."""
    length = stage_bit_count(nodes)
    return len({canonical_stage(nodes, bits) for bits in itertools.product((0, 1), repeat=length)})


class ConvBnRelu(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=False),
        )


class GeneticStage(nn.Module):
    """One encoded stage: default input conv, the active nodes, default output conv."""

    def __init__(self, in_channels: int, channels: int, nodes: int, bits: Sequence[int]) -> None:
        super().__init__()
        edges = stage_edges(nodes, bits)
        self.input_node = ConvBnRelu(in_channels, channels)
        self.active = active_nodes(edges)
        self.preds = {v: tuple(i for i, j in edges if j == v) for v in self.active}
        has_succ = {i for i, _ in edges}
        self.sinks = tuple(v for v in self.active if v not in has_succ)
        self.node_convs = nn.ModuleDict({str(v): ConvBnRelu(channels, channels) for v in self.active})
        self.output_node = ConvBnRelu(channels, channels) if self.active else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_node(x)
        if self.output_node is None:
            return x
        outputs: dict[int, torch.Tensor] = {}
        for v in self.active:  # ascending index is a topological order (edges go i < j)
            preds = self.preds[v]
            inp = x if not preds else _sum([outputs[p] for p in preds])
            outputs[v] = self.node_convs[str(v)](inp)
        return self.output_node(_sum([outputs[v] for v in self.sinks]))


def _sum(tensors: list[torch.Tensor]) -> torch.Tensor:
    total = tensors[0]
    for t in tensors[1:]:
        total = total + t
    return total


POOLINGS: tuple[str, ...] = ("padded", "caffe")


def pool_layer(pooling: str) -> nn.MaxPool2d:
    """The 3x3 stride-2 max pooling after each stage: Caffe's MP3(S2) or the padded variant."""
    if pooling == "caffe":
        return nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True)
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)


def pooled_size(size: int, pooling: str) -> int:
    """Output side of `pool_layer(pooling)` on `size` rows (0 where the pooling is undefined)."""
    if pooling == "caffe":
        return 0 if size < 2 else -(-(size - 3) // 2) + 1  # ceil((size - 3) / 2) + 1, no padding
    return (size - 1) // 2 + 1


def pool_windows(size: int, pooling: str) -> list[tuple[int, int]]:
    """(first, last) input row of each pooling window on `size` rows, clipped to the input."""
    pad = 0 if pooling == "caffe" else 1
    return [(max(0, 2 * i - pad), min(size - 1, 2 * i - pad + 2)) for i in range(pooled_size(size, pooling))]


class GeneticCnnNet(nn.Module):
    """Revised LeNet skeleton with encoded stages in place of its conv layers (Sec. 4.1.1)."""

    def __init__(
        self,
        genome: GeneticCnnGenome,
        nodes: Sequence[int],
        channels: Sequence[int],
        input_shape: tuple[int, int, int],
        num_classes: int,
        fc_width: int,
        dropout: float,
        pooling: str = "padded",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch, height, width = input_shape
        for k, bits, ch in zip(nodes, genome.stages, channels, strict=True):
            layers.append(GeneticStage(in_ch, ch, k, bits))
            layers.append(pool_layer(pooling))
            in_ch = ch
            height, width = pooled_size(height, pooling), pooled_size(width, pooling)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_ch * height * width, fc_width),
            nn.ReLU(inplace=False),
            nn.Dropout(dropout),
            nn.Linear(fc_width, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _reference_architectures(nodes: tuple[int, ...]) -> dict[str, tuple[str, GeneticCnnGenome | str]]:
    def stage_from_edges(k: int, edges: set[tuple[int, int]]) -> tuple[int, ...]:
        return tuple(1 if e in edges else 0 for e in edge_order(k))

    def per_stage(rule: Any) -> GeneticCnnGenome:
        return GeneticCnnGenome(tuple(stage_from_edges(k, rule(k)) for k in nodes))

    refs: dict[str, tuple[str, GeneticCnnGenome | str]] = {
        "chain": (
            "VGG-like chain in every stage (Fig. 2, VGGNet)",
            per_stage(lambda k: {(i, i + 1) for i in range(1, k)}),
        ),
        "resnet": (
            "ResNet-like: chain plus a skip over every two nodes (Fig. 2, ResNet)",
            per_stage(lambda k: {(i, i + 1) for i in range(1, k)} | {(i, i + 2) for i in range(1, k - 1, 2)}),
        ),
        "densenet": (
            "DenseNet-like: all bits 1, every pair of nodes connected (Fig. 2; Sec. 4.1.4: 76.84%)",
            per_stage(lambda k: set(edge_order(k))),
        ),
        "all_zeros": (
            "all bits 0: one conv per stage (the naive initialisation of Sec. 4.1.2)",
            per_stage(lambda k: set()),
        ),
    }
    if nodes == (3, 4, 5):
        refs["table1_best"] = (
            "best individual of generation 50, Table 1 (77.19% on CIFAR10)",
            "1-01 0-01-100 0-11-101-0001",
        )
        refs["table1_gen0_best"] = (
            "best individual of the initial population, Table 1 (75.96% on CIFAR10)",
            "0-01 0-01-111 0-11-010-0111",
        )
    return refs


class GeneticCnnSpace(SearchSpace[GeneticCnnGenome]):
    name = "genetic_cnn"
    version = "1"
    description = "Genetic CNN (Xie & Yuille 2017): binary-encoded stage DAGs in a revised LeNet"
    supports_crossover = True

    def __init__(
        self,
        stages: Sequence[int] = (3, 4, 5),
        channels: Sequence[int] = (8, 8, 16),
        fc_width: int = 32,
        dropout: float = 0.5,
        mutation_rate: float = 0.05,
        crossover_rate: float = 0.2,
        pooling: str = "padded",
    ) -> None:
        if pooling not in POOLINGS:
            raise EvonasError(f"genetic_cnn pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        self.nodes = tuple(int(k) for k in stages)
        self.channels = tuple(int(c) for c in channels)
        if not self.nodes or any(k < 2 for k in self.nodes):
            raise EvonasError(f"genetic_cnn stages need at least 2 nodes each, got {self.nodes}")
        if len(self.channels) != len(self.nodes) or any(c < 1 for c in self.channels):
            raise EvonasError(f"genetic_cnn needs one positive channel count per stage, got {self.channels}")
        if not (0.0 <= mutation_rate <= 1.0 and 0.0 <= crossover_rate <= 1.0):
            raise EvonasError("genetic_cnn mutation_rate and crossover_rate must lie in [0, 1]")
        self.fc_width = int(fc_width)
        self.dropout = float(dropout)
        self.mutation_rate = float(mutation_rate)
        self.crossover_rate = float(crossover_rate)
        self.stage_lengths = tuple(stage_bit_count(k) for k in self.nodes)
        self.length = sum(self.stage_lengths)

    @property
    def params(self) -> dict[str, Any]:
        return {
            "stages": list(self.nodes),
            "channels": list(self.channels),
            "fc_width": self.fc_width,
            "dropout": self.dropout,
            "mutation_rate": self.mutation_rate,
            "crossover_rate": self.crossover_rate,
            "pooling": self.pooling,
        }

    # --- construction helpers ---
    def from_bits(self, bits: Sequence[int]) -> GeneticCnnGenome:
        """Split a flat bit string (length L) into stages."""
        bits = tuple(int(b) for b in bits)
        if len(bits) != self.length or any(b not in (0, 1) for b in bits):
            raise InvalidGenomeError(f"genetic_cnn needs {self.length} bits of 0/1, got {len(bits)}")
        out, pos = [], 0
        for n in self.stage_lengths:
            out.append(bits[pos : pos + n])
            pos += n
        return GeneticCnnGenome(tuple(out))

    def _check(self, genome: GeneticCnnGenome) -> GeneticCnnGenome:
        if (
            not isinstance(genome, GeneticCnnGenome)
            or tuple(len(s) for s in genome.stages) != self.stage_lengths
        ):
            raise InvalidGenomeError(f"not a genetic_cnn genome for stages {self.nodes}: {genome!r}")
        return genome

    # --- sampling and variation ---
    def sample(self, rng: np.random.Generator) -> GeneticCnnGenome:
        """Each bit ~ Bernoulli(0.5) (Sec. 3.2.1)."""
        return self.from_bits(rng.integers(0, 2, size=self.length).tolist())

    def zeros(self) -> GeneticCnnGenome:
        """The all-zero individual (the naive initialisation of Sec. 4.1.2)."""
        return self.from_bits([0] * self.length)

    def flip_bits(self, genome: GeneticCnnGenome, rate: float, rng: np.random.Generator) -> GeneticCnnGenome:
        """The paper's mutation: flip each bit independently with probability `rate` (q_M)."""
        bits = np.asarray(self._check(genome).bits)
        flips = rng.random(self.length) < rate
        return self.from_bits(np.where(flips, 1 - bits, bits).tolist())

    def mutate(self, genome: GeneticCnnGenome, rng: np.random.Generator) -> GeneticCnnGenome:
        """Bit flips with q_M = `mutation_rate`; if no bit flipped, one random bit is flipped.

        The guarantee of a change suits generic algorithms (regularized evolution); the Genetic CNN GA uses
        `flip_bits` directly, where an unchanged individual is the paper's behaviour.
        """
        child = self.flip_bits(genome, self.mutation_rate, rng)
        if child == genome:
            bits = list(genome.bits)
            k = int(rng.integers(self.length))
            bits[k] = 1 - bits[k]
            child = self.from_bits(bits)
        return child

    def crossover(
        self, a: GeneticCnnGenome, b: GeneticCnnGenome, rng: np.random.Generator
    ) -> tuple[GeneticCnnGenome, GeneticCnnGenome]:
        """The paper's crossover: each pair of corresponding stages is swapped with probability q_C."""
        return self.swap_stages(a, b, self.crossover_rate, rng)

    def swap_stages(
        self, a: GeneticCnnGenome, b: GeneticCnnGenome, rate: float, rng: np.random.Generator
    ) -> tuple[GeneticCnnGenome, GeneticCnnGenome]:
        self._check(a)
        self._check(b)
        swaps = rng.random(len(self.nodes)) < rate
        ca = tuple(sb if s else sa for sa, sb, s in zip(a.stages, b.stages, swaps, strict=True))
        cb = tuple(sa if s else sb for sa, sb, s in zip(a.stages, b.stages, swaps, strict=True))
        return GeneticCnnGenome(ca), GeneticCnnGenome(cb)

    # --- identity ---
    def canonical(self, genome: GeneticCnnGenome) -> str:
        self._check(genome)
        forms = [canonical_stage(k, bits) for k, bits in zip(self.nodes, genome.stages, strict=True)]
        form: dict[str, Any] = {
            "channels": list(self.channels),
            "fc": self.fc_width,
            "dropout": self.dropout,
            "stages": forms,
        }
        if self.pooling != "padded":  # the padded pooling's networks keep the hashes they always had
            form["pooling"] = self.pooling
        return canonical_json(form)

    def distinct_count(self) -> int:
        """Number of distinct networks in the space (product of per-stage counts)."""
        return int(np.prod([distinct_stage_count(k) for k in self.nodes], dtype=object))

    # --- text form ---
    def encode(self, genome: GeneticCnnGenome) -> str:
        self._check(genome)
        stages = []
        for k, bits in zip(self.nodes, genome.stages, strict=True):
            groups, pos = [], 0
            for j in range(2, k + 1):
                groups.append("".join(str(b) for b in bits[pos : pos + j - 1]))
                pos += j - 1
            stages.append("-".join(groups))
        return " ".join(stages)

    def decode(self, text: str) -> GeneticCnnGenome:
        tokens = check_encoding(text, self.name).split()
        if len(tokens) != len(self.nodes):
            raise InvalidGenomeError(
                f"genetic_cnn genome {short_repr(text)} has {len(tokens)} stage(s); this space has "
                f"{len(self.nodes)} (stages {self.nodes}, e.g. {short_repr(self.encode(self.zeros()))})"
            )
        stages = []
        for s, (k, token) in enumerate(zip(self.nodes, tokens, strict=True), start=1):
            groups = token.split("-")
            expected = [j - 1 for j in range(2, k + 1)]
            if [len(g) for g in groups] != expected or any(c not in "01" for g in groups for c in g):
                shape = "-".join("b" * n for n in expected)
                raise InvalidGenomeError(
                    f"genetic_cnn stage {s} {short_repr(token)} must be {k - 1} groups of 0/1 like {shape!r}"
                )
            stages.append(tuple(int(c) for g in groups for c in g))
        return GeneticCnnGenome(tuple(stages))

    # --- networks ---
    def build(self, genome: GeneticCnnGenome, task: InputSpec) -> nn.Module:
        self._check(genome)
        return GeneticCnnNet(
            genome,
            self.nodes,
            self.channels,
            tuple(task.input_shape),
            task.num_classes,
            self.fc_width,
            self.dropout,
            self.pooling,
        )

    def is_valid(self, genome: GeneticCnnGenome, task: InputSpec) -> Validity:
        """Every string is valid (Sec. 3.1.1); only the input shape can be unusable (Caffe's pooling needs
        at least 2 rows before each pooling)."""
        try:
            self._check(genome)
        except InvalidGenomeError as exc:
            return Validity(False, str(exc))
        if len(task.input_shape) != 3 or min(task.input_shape) < 1:
            return Validity(False, f"input shape {task.input_shape} is not C x H x W")
        side = min(task.input_shape[1:])
        for _ in self.nodes:
            side = pooled_size(side, self.pooling)
            if side < 1:
                return Validity(
                    False, f"{self.pooling} pooling leaves no pixel of a {task.input_shape} input"
                )
        return VALID

    # --- references, Optuna, pictures ---
    def named_architectures(self) -> Mapping[str, str]:
        return {name: desc for name, (desc, _) in _reference_architectures(self.nodes).items()}

    def named(self, name: str) -> GeneticCnnGenome:
        refs = _reference_architectures(self.nodes)
        if name not in refs:
            return super().named(name)
        genome = refs[name][1]
        return self.decode(genome) if isinstance(genome, str) else genome

    def suggest(self, trial: optuna.trial.BaseTrial) -> GeneticCnnGenome:
        """One categorical {0, 1} parameter per bit, named s<stage>_<i>_<j>."""
        stages = []
        for s, k in enumerate(self.nodes, start=1):
            stages.append(
                tuple(int(trial.suggest_categorical(f"s{s}_{i}_{j}", [0, 1])) for i, j in edge_order(k))
            )
        return GeneticCnnGenome(tuple(stages))

    def graph(self, genome: GeneticCnnGenome) -> ArchGraph:
        self._check(genome)
        nodes: list[tuple[str, str]] = [("input", "input")]
        edges: list[tuple[str, str]] = []
        groups = []
        prev = "input"
        for s, (k, bits, ch) in enumerate(
            zip(self.nodes, genome.stages, self.channels, strict=True), start=1
        ):
            e = stage_edges(k, bits)
            act = active_nodes(e)
            member = [f"s{s}.in"]
            nodes.append((f"s{s}.in", f"conv {ch}"))
            edges.append((prev, f"s{s}.in"))
            last = f"s{s}.in"
            if act:
                has_pred = {j for _, j in e}
                has_succ = {i for i, _ in e}
                for v in act:
                    nodes.append((f"s{s}.{v}", f"v{v}"))
                    member.append(f"s{s}.{v}")
                    if v not in has_pred:
                        edges.append((f"s{s}.in", f"s{s}.{v}"))
                edges.extend((f"s{s}.{i}", f"s{s}.{j}") for i, j in e)
                nodes.append((f"s{s}.out", f"conv {ch}"))
                member.append(f"s{s}.out")
                edges.extend((f"s{s}.{v}", f"s{s}.out") for v in act if v not in has_succ)
                last = f"s{s}.out"
            nodes.append((f"s{s}.pool", "maxpool" if self.pooling == "padded" else "maxpool (Caffe)"))
            edges.append((last, f"s{s}.pool"))
            prev = f"s{s}.pool"
            groups.append((f"stage {s}", tuple(member)))
        nodes.append(("fc", f"FC{self.fc_width}-FC"))
        edges.append((prev, "fc"))
        return ArchGraph(tuple(nodes), tuple(edges), tuple(groups))

    def summary(self, genome: GeneticCnnGenome) -> dict[str, float]:
        self._check(genome)
        active = [
            len(active_nodes(stage_edges(k, b))) for k, b in zip(self.nodes, genome.stages, strict=True)
        ]
        return {"active_nodes": float(sum(active)), "ones": float(sum(genome.bits))}
