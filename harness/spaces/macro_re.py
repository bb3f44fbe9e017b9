"""The `macro_re` search space: DeepNEAT-style macro genomes of Kyriakides & Margaritis (AIAI 2020).

Genome (Sec. 3.1 of the paper; NORD branch AIAI2020 for the details). A `MacroGenome` holds layer genes
(hidden node id -> one of the 12 `LAYER_CHOICES`, by index in the reference code's order) and connection
genes (source, target, enabled), kept in order of addition. Node -2 is the input, node 99 the output and
hidden nodes are numbered 0, 1, 2, ... in order of addition (99 is skipped, so ids stay unambiguous).
Disabled genes are kept: evolution can re-enable them.

Encoding (`encode` / `decode`): the layer genes, a `|`, then every connection gene in genome order as
`SOURCE>TARGET`, with a trailing `x` on disabled ones. REMNet is (one line)::

    0:CONV_2.N 1:CONV_2.N 2:CONV_3.N 3:CONV_5.N 4:POOL_5.A 5:CONV_3.H 6:CONV_3.H |
    -2>0 0>1 1>2 2>3 3>4 4>5 4>6 5>99 6>99

and the genome before any node was added is ``| -2>99``; ``0:CONV_3.N | -2>99x -2>0 0>99`` is that genome
after one add-node mutation. `decode` is strict: unknown layer names, connections to undefined nodes,
duplicate ids or connections, edges into the input or out of the output, and malformed tokens raise
`InvalidGenomeError` with one line.

Mutation (`mutate_with_kind`, reference code `Genome.mutate`): with `p_add` split a random connection gene
(enabled or not) with a new node of a random layer, the split connection disabled; with `p_identity` return
the genome unchanged; otherwise, 50/50, re-draw the layer of a random hidden node (uniformly over all 12, so
it can stay the same, as in the code; the paper says "a different layer") or toggle a random connection gene.
The code also draws the input and output nodes for a re-draw, which then changes nothing; we draw hidden
nodes only, so that the 0.35 / 0.35 split of Sec. 4.1 is what happens.
A genome without hidden nodes toggles instead of re-drawing. A mutation that closes a cycle has every edge
of the cycle disabled: after every mutation but the identity, each enabled connection on a cycle of enabled
connections is disabled (the reference `remove_recursions`; only decoded genomes can hold such cycles, as
splits keep the gene graph acyclic). The initial genome (`sample`) is the input->output connection split
by `initial_add_nodes` add-node mutations.

Network (`build`, reference `NeuralNet`): only nodes on an enabled input->output path are built. A conv is
k x k, stride 1, no padding, then ReLU6 -> BatchNorm2d -> Dropout2d(0.1), with C (".N") or C // 2 (".H")
filters; a pool is k x k with stride k, average (".A") or max (".M"). A node with several inputs resizes
each (nearest) to the smallest input size, enlarged to the node's kernel where it is smaller, reduces
channels to the smallest count with one 1x1 conv per input whose count differs, and sums them. The input
node feeds the raw image; the output node merges the same way (no kernel), then Flatten -> Linear(F, F//4)
-> Linear(F//4, F//8) -> Linear(F//8, classes) without activations, as in the code. A single-input node
whose kernel exceeds its input is invalid (the paper's "kernel size greater than the input tensor size";
later NORD versions enlarge single inputs too, which would make such genomes valid), as is a network whose
head would get fewer than 8 features (F // 8 == 0).

Canonical form: the active graph (input, output and hidden nodes on enabled input->output paths, labelled
with their layer names; enabled edges between them) gets an exact canonical labelling by
individualisation-refinement (colour refinement on in/out neighbour colours, branching on the first
non-singleton cell, the minimum edge certificate over all leaves), pruned with automorphisms found at
equivalent leaves and with interchangeable twin nodes, as in nauty. Isomorphic active graphs give one
string, non-isomorphic ones different strings; `channels` is part of it. Modules are created and inputs
summed in the canonical order, so isomorphic genomes build identical networks under one torch seed.
"""

from __future__ import annotations

import functools
import heapq
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import ConfigError, InvalidGenomeError
from harness.spaces.base import (
    VALID,
    ArchGraph,
    InputSpec,
    SearchSpace,
    Validity,
    check_encoding,
    parse_int,
    short_repr,
)

if TYPE_CHECKING:
    import optuna

LOG = logging.getLogger(__name__)

INPUT = -2
OUTPUT = 99

#: The 12 layer choices, in the order of the reference code's `layers_list` (gene values are indices).
LAYER_CHOICES: tuple[str, ...] = (
    "CONV_2.H",
    "CONV_3.H",
    "CONV_5.H",
    "POOL_2.A",
    "POOL_3.A",
    "POOL_5.A",
    "CONV_2.N",
    "CONV_3.N",
    "CONV_5.N",
    "POOL_2.M",
    "POOL_3.M",
    "POOL_5.M",
)

#: What `mutate_with_kind` reports.
MUTATION_KINDS: tuple[str, ...] = ("add_node", "identity", "layer", "toggle")


@dataclass(frozen=True)
class LayerSpec:
    """One layer choice: `op` is 'conv' or 'pool'; `variant` is H/N (filters) or A/M (pool type)."""

    name: str
    op: str
    kernel: int
    variant: str


def _layer_spec(name: str) -> LayerSpec:
    kind, rest = name.split("_")
    kernel, variant = rest.split(".")
    return LayerSpec(name=name, op=kind.lower(), kernel=int(kernel), variant=variant)


LAYER_SPECS: tuple[LayerSpec, ...] = tuple(_layer_spec(n) for n in LAYER_CHOICES)
_LAYER_INDEX = {n: i for i, n in enumerate(LAYER_CHOICES)}


# --- genome ---
@dataclass(frozen=True)
class LayerGene:
    """Hidden node `node` implements `LAYER_CHOICES[layer]`."""

    node: int
    layer: int

    @property
    def name(self) -> str:
        return LAYER_CHOICES[self.layer]


@dataclass(frozen=True)
class ConnectionGene:
    """A connection `source -> target`; disabled genes stay in the genome."""

    source: int
    target: int
    enabled: bool = True


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclass(frozen=True)
class MacroGenome:
    """Layer genes (sorted by node id) and connection genes (in order of addition)."""

    nodes: tuple[LayerGene, ...]
    connections: tuple[ConnectionGene, ...]

    def __post_init__(self) -> None:
        nodes = tuple(self.nodes)
        connections = tuple(self.connections)
        for gene in nodes:
            if not isinstance(gene, LayerGene) or not _is_int(gene.node) or not _is_int(gene.layer):
                raise InvalidGenomeError(f"macro_re: bad layer gene {gene!r}")
            if gene.node < 0:
                raise InvalidGenomeError(f"macro_re: hidden node id {gene.node} must be >= 0")
            if gene.node == OUTPUT:
                raise InvalidGenomeError(f"macro_re: node id {OUTPUT} is reserved for the output")
            if not 0 <= gene.layer < len(LAYER_CHOICES):
                raise InvalidGenomeError(
                    f"macro_re: layer index {gene.layer} of node {gene.node} is not in 0..11"
                )
        ids = [g.node for g in nodes]
        duplicates = sorted(n for n, k in Counter(ids).items() if k > 1)
        if duplicates:
            raise InvalidGenomeError(f"macro_re: duplicate node id {duplicates[0]}")
        if not connections:
            raise InvalidGenomeError("macro_re: a genome needs at least one connection gene")
        known = set(ids)
        seen: set[tuple[int, int]] = set()
        for gene in connections:
            if not isinstance(gene, ConnectionGene) or not (_is_int(gene.source) and _is_int(gene.target)):
                raise InvalidGenomeError(f"macro_re: bad connection gene {gene!r}")
            if not isinstance(gene.enabled, (bool, np.bool_)):
                raise InvalidGenomeError(
                    f"macro_re: connection {gene.source}>{gene.target} flag must be a bool"
                )
            pair = (gene.source, gene.target)
            if gene.source == OUTPUT:
                raise InvalidGenomeError(
                    f"macro_re: connection {gene.source}>{gene.target} leaves the output"
                )
            if gene.target == INPUT:
                raise InvalidGenomeError(f"macro_re: connection {gene.source}>{gene.target} enters the input")
            for end in pair:
                if end not in (INPUT, OUTPUT) and end not in known:
                    raise InvalidGenomeError(
                        f"macro_re: connection {gene.source}>{gene.target} refers to undefined node {end}"
                    )
            if pair in seen:
                raise InvalidGenomeError(f"macro_re: duplicate connection {gene.source}>{gene.target}")
            seen.add(pair)
        object.__setattr__(self, "nodes", tuple(sorted(nodes, key=lambda g: g.node)))
        object.__setattr__(self, "connections", connections)

    def layer_of(self, node: int) -> int:
        """The layer index of hidden node `node`."""
        for gene in self.nodes:
            if gene.node == node:
                return gene.layer
        raise InvalidGenomeError(f"macro_re: no hidden node {node}")

    @property
    def node_ids(self) -> tuple[int, ...]:
        return tuple(g.node for g in self.nodes)


def chain_genome(layers: Sequence[str | int], branches: Sequence[Sequence[str | int]] = ()) -> MacroGenome:
    """input -> layers[0] -> ... -> layers[-1], then each branch (a chain) from the last layer to the output.

    Without branches the last layer feeds the output. Layers are names or indices.
    """
    index = [_LAYER_INDEX[x] if isinstance(x, str) else int(x) for x in layers]
    nodes = [LayerGene(i, layer) for i, layer in enumerate(index)]
    conns = [ConnectionGene(INPUT if i == 0 else i - 1, i) for i in range(len(index))]
    tail = len(index) - 1 if index else INPUT
    if not branches:
        conns.append(ConnectionGene(tail, OUTPUT))
    next_id = len(index)
    for branch in branches:
        previous = tail
        for layer in branch:
            nodes.append(LayerGene(next_id, _LAYER_INDEX[layer] if isinstance(layer, str) else int(layer)))
            conns.append(ConnectionGene(previous, next_id))
            previous = next_id
            next_id += 1
        conns.append(ConnectionGene(previous, OUTPUT))
    return MacroGenome(tuple(nodes), tuple(conns))


# --- primitive variation operators (pure functions; `mutate_with_kind` draws their arguments) ---
def _next_node_id(genome: MacroGenome) -> int:
    new = max(genome.node_ids, default=-1) + 1
    return new + 1 if new == OUTPUT else new


def add_node(genome: MacroGenome, connection: int, layer: int) -> MacroGenome:
    """Split connection gene number `connection` with a new node of layer `layer` (the gene is disabled)."""
    gene = genome.connections[connection]
    new = _next_node_id(genome)
    conns = list(genome.connections)
    conns[connection] = ConnectionGene(gene.source, gene.target, False)
    conns += [ConnectionGene(gene.source, new), ConnectionGene(new, gene.target)]
    return break_cycles(MacroGenome((*genome.nodes, LayerGene(new, int(layer))), tuple(conns)))


def set_layer(genome: MacroGenome, node: int, layer: int) -> MacroGenome:
    """Hidden node `node` gets layer `layer`."""
    genome.layer_of(node)
    nodes = tuple(LayerGene(g.node, int(layer)) if g.node == node else g for g in genome.nodes)
    return MacroGenome(nodes, genome.connections)


def toggle(genome: MacroGenome, connection: int) -> MacroGenome:
    """Flip the enabled flag of connection gene number `connection`; a cycle it closes is disabled."""
    conns = list(genome.connections)
    gene = conns[connection]
    conns[connection] = ConnectionGene(gene.source, gene.target, not gene.enabled)
    return break_cycles(MacroGenome(genome.nodes, tuple(conns)))


def _cyclic_components(nodes: Sequence[int], succ: Mapping[int, Sequence[int]]) -> dict[int, int]:
    """Tarjan's strongly connected components: node -> component id (iterative)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    comp: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ.get(w, ()))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp[w] = v
                    if w == v:
                        break
    return comp


def break_cycles(genome: MacroGenome) -> MacroGenome:
    """Disable every enabled connection that lies on a cycle of enabled connections."""
    enabled = [(g.source, g.target) for g in genome.connections if g.enabled]
    succ: dict[int, list[int]] = {}
    for s, t in enabled:
        succ.setdefault(s, []).append(t)
    if not _has_cycle(succ):
        return genome
    comp = _cyclic_components([INPUT, *genome.node_ids, OUTPUT], succ)
    conns = tuple(
        ConnectionGene(g.source, g.target, False) if g.enabled and comp[g.source] == comp[g.target] else g
        for g in genome.connections
    )
    LOG.debug(
        "macro_re: disabled %d connection(s) closing a cycle",
        sum(a != b for a, b in zip(conns, genome.connections, strict=True)),
    )
    return MacroGenome(genome.nodes, conns)


def _has_cycle(succ: Mapping[int, Sequence[int]]) -> bool:
    indegree: Counter[int] = Counter()
    nodes: set[int] = set(succ)
    for targets in succ.values():
        for t in targets:
            indegree[t] += 1
            nodes.add(t)
    ready = [v for v in nodes if indegree[v] == 0]
    seen = 0
    while ready:
        v = ready.pop()
        seen += 1
        for t in succ.get(v, ()):
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
    return seen != len(nodes)


# --- canonical labelling ---
def _rank(keys: Sequence[Any]) -> list[int]:
    order = {k: i for i, k in enumerate(sorted(set(keys)))}
    return [order[k] for k in keys]


class _Canonizer:
    """Exact canonical labelling of a vertex-labelled digraph by individualisation-refinement.

    Colours are cell indices of an ordered partition; refinement splits cells in place by the multisets of
    out- and in-neighbour colours; individualising v puts it first in its cell. The canonical leaf is the
    one with the smallest sorted edge list; leaves with an equal certificate give automorphisms, used to
    jump back to where the two paths diverge and to skip children in one orbit (nauty's pruning).
    """

    def __init__(self, codes: Sequence[int], edges: Sequence[tuple[int, int]]) -> None:
        self.n = len(codes)
        self.edges = tuple(edges)
        self.succ: list[list[int]] = [[] for _ in range(self.n)]
        self.pred: list[list[int]] = [[] for _ in range(self.n)]
        for u, v in edges:
            self.succ[u].append(v)
            self.pred[v].append(u)
        self.initial = _rank(list(codes))
        twin_key = [(codes[v], frozenset(self.succ[v]), frozenset(self.pred[v])) for v in range(self.n)]
        groups: dict[Any, list[int]] = {}
        for v, key in enumerate(twin_key):
            groups.setdefault(key, []).append(v)
        self.twins = [g for g in groups.values() if len(g) > 1]
        self.generators: list[list[int]] = []
        self.first: tuple[tuple[tuple[int, int], ...], list[int], tuple[int, ...]] | None = None
        self.best: tuple[tuple[tuple[int, int], ...], list[int], tuple[int, ...]] | None = None

    def refine(self, colors: list[int]) -> list[int]:
        cells = len(set(colors))
        while cells < self.n:
            sigs = [
                (
                    colors[v],
                    tuple(sorted(colors[w] for w in self.succ[v])),
                    tuple(sorted(colors[w] for w in self.pred[v])),
                )
                for v in range(self.n)
            ]
            new = _rank(sigs)
            count = max(new) + 1
            if count == cells:
                break
            colors, cells = new, count
        return colors

    def certificate(self, colors: list[int]) -> tuple[tuple[int, int], ...]:
        return tuple(sorted((colors[u], colors[v]) for u, v in self.edges))

    def run(self) -> list[int]:
        """Canonical position of every vertex."""
        self._search(self.refine(self.initial), ())
        assert self.best is not None
        return self.best[1]

    def _orbit_roots(self, path: tuple[int, ...]) -> list[int]:
        parent = list(range(self.n))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        fixed = set(path)
        for gamma in self.generators:
            if all(gamma[x] == x for x in fixed):
                for v in range(self.n):
                    a, b = find(v), find(gamma[v])
                    if a != b:
                        parent[a] = b
        for group in self.twins:
            free = [v for v in group if v not in fixed]
            for v in free[1:]:
                a, b = find(v), find(free[0])
                if a != b:
                    parent[a] = b
        return [find(v) for v in range(self.n)]

    def _search(self, colors: list[int], path: tuple[int, ...]) -> int | None:
        counts = Counter(colors)
        if len(counts) == self.n:
            return self._leaf(colors, path)
        target = min(c for c, k in counts.items() if k > 1)
        cell = [v for v in range(self.n) if colors[v] == target]
        explored: list[int] = []
        roots = self._orbit_roots(path)
        for v in cell:
            if any(roots[u] == roots[v] for u in explored):
                continue
            child = [c + 1 if (c > target or (c == target and w != v)) else c for w, c in enumerate(colors)]
            back = self._search(self.refine(child), (*path, v))
            explored.append(v)
            if back is not None and back < len(path):
                return back
            roots = self._orbit_roots(path)
        return None

    def _leaf(self, colors: list[int], path: tuple[int, ...]) -> int | None:
        cert = self.certificate(colors)
        if self.first is None:
            self.first = self.best = (cert, colors, path)
            return None
        assert self.best is not None
        for ref_cert, ref_colors, ref_path in (self.first, self.best):
            if cert == ref_cert:
                at = [0] * self.n
                for v, c in enumerate(colors):
                    at[c] = v
                self.generators.append([at[ref_colors[u]] for u in range(self.n)])
                common = 0
                while common < min(len(path), len(ref_path)) and path[common] == ref_path[common]:
                    common += 1
                return common
        if cert < self.best[0]:
            self.best = (cert, colors, path)
        return None


@dataclass(frozen=True, eq=False)
class _Analysis:
    """The active part of a genome: what builds, its canonical labelling and an evaluation order."""

    active: frozenset[int]
    edges: tuple[tuple[int, int], ...]
    position: Mapping[int, int]
    canonical: str
    order: tuple[int, ...] | None  # topological order of the active nodes; None when they hold a cycle
    preds: Mapping[int, tuple[int, ...]]


def _label(genome_layers: Mapping[int, int], node: int) -> str:
    if node == INPUT:
        return "IN"
    if node == OUTPUT:
        return "OUT"
    return LAYER_CHOICES[genome_layers[node]]


@functools.lru_cache(maxsize=1 << 16)
def _analyse(genome: MacroGenome) -> _Analysis:
    layers = {g.node: g.layer for g in genome.nodes}
    succ: dict[int, list[int]] = {}
    pred: dict[int, list[int]] = {}
    for g in genome.connections:
        if g.enabled:
            succ.setdefault(g.source, []).append(g.target)
            pred.setdefault(g.target, []).append(g.source)

    def reach(start: int, adj: Mapping[int, list[int]]) -> set[int]:
        seen = {start}
        todo = [start]
        while todo:
            for w in adj.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    forward = reach(INPUT, succ)
    if OUTPUT not in forward:
        return _Analysis(frozenset(), (), {}, "none", (), {})
    active = forward & reach(OUTPUT, pred)
    edges = tuple(
        (g.source, g.target)
        for g in genome.connections
        if g.enabled and g.source in active and g.target in active
    )
    vertices = sorted(active)
    local = {v: i for i, v in enumerate(vertices)}
    codes = [-2 if v == INPUT else (-1 if v == OUTPUT else layers[v]) for v in vertices]
    positions = _Canonizer(codes, [(local[u], local[v]) for u, v in edges]).run()
    position = {v: positions[local[v]] for v in vertices}
    by_position = sorted(vertices, key=position.__getitem__)
    canon_edges = sorted((position[u], position[v]) for u, v in edges)
    canonical = (
        " ".join(_label(layers, v) for v in by_position)
        + " | "
        + " ".join(f"{a}>{b}" for a, b in canon_edges)
    )
    preds = {v: tuple(sorted((u for u, w in edges if w == v), key=position.__getitem__)) for v in vertices}
    indegree = {v: len(preds[v]) for v in vertices}
    heap = [(position[v], v) for v in vertices if indegree[v] == 0]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        _, v = heapq.heappop(heap)
        order.append(v)
        for u, w in edges:
            if u == v:
                indegree[w] -= 1
                if indegree[w] == 0:
                    heapq.heappush(heap, (position[w], w))
    return _Analysis(
        active=frozenset(active),
        edges=edges,
        position=position,
        canonical=canonical,
        order=tuple(order) if len(order) == len(vertices) else None,
        preds=preds,
    )


# --- network plan and module ---
@dataclass(frozen=True)
class InputPlan:
    """One input of a node: its source's module key, a nearest resize target and a 1x1 conv (in, out)."""

    source: str
    resize: tuple[int, int] | None
    adapt: tuple[int, int] | None


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


def _node_key(node: int, position: Mapping[int, int]) -> str:
    if node == INPUT:
        return "input"
    if node == OUTPUT:
        return "output"
    return f"n{position[node]}"


@functools.lru_cache(maxsize=1 << 14)
def _plan(
    genome: MacroGenome, input_shape: tuple[int, int, int], num_classes: int, channels: int
) -> NetworkPlan | str:
    """The network a genome builds, or the one-line reason it cannot be built."""
    info = _analyse(genome)
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
            inputs = (InputPlan(_node_key(sources[0], info.position), None, None),)
        else:
            size = (min(s[1] for s in in_shapes), min(s[2] for s in in_shapes))
            if spec is not None and min(size) < spec.kernel:
                size = (spec.kernel, spec.kernel)
            inputs = tuple(
                InputPlan(
                    _node_key(src, info.position),
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
                key=_node_key(node, info.position),
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
                t = outs[inp.source]
                if inp.resize is not None:
                    t = F.interpolate(t, size=inp.resize, mode="nearest")
                if inp.adapt is not None:
                    t = self.adapters[f"{inp.source}__{step.key}"](t)
                total = t if total is None else total + t
            assert total is not None
            outs[step.key] = self.layers[step.key](total) if step.layer is not None else total
        return self.head(outs["output"])


# --- the space ---
_LAYER_TOKEN = re.compile(r"([0-9]+):(\S+)")  # used with fullmatch; [0-9], not \d: ASCII digits only
_CONN_TOKEN = re.compile(r"(-?[0-9]+)>(-?[0-9]+)(x?)")
_EXAMPLE = "0:CONV_3.N | -2>99x -2>0 0>99"

#: Reference architectures of the paper (`MacroReSpace.named`).
NAMED_ARCHITECTURES: Mapping[str, str] = {
    "remnet": "REMNet (Sec. 4.2): 2x CONV_2.N, CONV_3.N, CONV_5.N, POOL_5.A, then two parallel CONV_3.H",
    "es_best": "best network of the evolutionary search (Sec. 4.2, 93.62%): CONV_2.N x2, CONV_3.N, "
    "CONV_5.N, POOL_5.A, CONV_3.H in sequence",
    "rs_best": "best network of the random search (Sec. 4.2, 91.91%): CONV_3.H, CONV_5.H, CONV_3.H, "
    "POOL_5.M in sequence",
}
NAMED_ENCODINGS: Mapping[str, str] = {
    "remnet": "0:CONV_2.N 1:CONV_2.N 2:CONV_3.N 3:CONV_5.N 4:POOL_5.A 5:CONV_3.H 6:CONV_3.H | "
    "-2>0 0>1 1>2 2>3 3>4 4>5 4>6 5>99 6>99",
    "es_best": "0:CONV_2.N 1:CONV_2.N 2:CONV_3.N 3:CONV_5.N 4:POOL_5.A 5:CONV_3.H | "
    "-2>0 0>1 1>2 2>3 3>4 4>5 5>99",
    "rs_best": "0:CONV_3.H 1:CONV_5.H 2:CONV_3.H 3:POOL_5.M | -2>0 0>1 1>2 2>3 3>99",
}


class MacroReSpace(SearchSpace[MacroGenome]):
    """Macro search space of regularized evolution with DeepNEAT genomes (Kyriakides & Margaritis 2020)."""

    name = "macro_re"
    version = "1"
    description = "DeepNEAT-style macro genomes of 12 conv/pool layers (Kyriakides & Margaritis 2020, REMNet)"

    def __init__(
        self,
        *,
        channels: int = 64,
        p_add: float = 0.25,
        p_identity: float = 0.05,
        initial_add_nodes: int = 4,
        max_nodes: int = 10,
    ) -> None:
        if not _is_int(channels) or channels < 2:
            raise ConfigError(f"macro_re: channels must be an integer >= 2, got {channels!r}")
        if not (0.0 <= p_add <= 1.0 and 0.0 <= p_identity <= 1.0 and p_add + p_identity <= 1.0):
            raise ConfigError(
                f"macro_re: need p_add, p_identity in [0, 1] with sum <= 1, got {p_add}, {p_identity}"
            )
        if not _is_int(initial_add_nodes) or initial_add_nodes < 0:
            raise ConfigError(
                f"macro_re: initial_add_nodes must be an integer >= 0, got {initial_add_nodes!r}"
            )
        if not _is_int(max_nodes) or max_nodes < 1:
            raise ConfigError(f"macro_re: max_nodes must be an integer >= 1, got {max_nodes!r}")
        self.channels = int(channels)
        self.p_add = float(p_add)
        self.p_identity = float(p_identity)
        self.initial_add_nodes = int(initial_add_nodes)
        self.max_nodes = int(max_nodes)

    @property
    def params(self) -> dict[str, Any]:
        return {
            "channels": self.channels,
            "p_add": self.p_add,
            "p_identity": self.p_identity,
            "initial_add_nodes": self.initial_add_nodes,
            "max_nodes": self.max_nodes,
        }

    # --- sampling and variation ---
    def sample(self, rng: np.random.Generator) -> MacroGenome:
        """The paper's initial genome: input -> output split by `initial_add_nodes` add-node mutations."""
        genome = MacroGenome((), (ConnectionGene(INPUT, OUTPUT),))
        for _ in range(self.initial_add_nodes):
            connection = int(rng.integers(len(genome.connections)))
            genome = add_node(genome, connection, int(rng.integers(len(LAYER_CHOICES))))
        return genome

    def mutate(self, genome: MacroGenome, rng: np.random.Generator) -> MacroGenome:
        return self.mutate_with_kind(genome, rng)[0]

    def mutate_with_kind(self, genome: MacroGenome, rng: np.random.Generator) -> tuple[MacroGenome, str]:
        """One mutation and its kind: 'add_node', 'identity', 'layer' or 'toggle' (see the module doc)."""
        r = rng.random()
        if r < self.p_add:
            connection = int(rng.integers(len(genome.connections)))
            return add_node(genome, connection, int(rng.integers(len(LAYER_CHOICES)))), "add_node"
        if r < self.p_add + self.p_identity:
            return genome, "identity"
        if rng.random() < 0.5 and genome.nodes:
            node = genome.nodes[int(rng.integers(len(genome.nodes)))].node
            return break_cycles(set_layer(genome, node, int(rng.integers(len(LAYER_CHOICES))))), "layer"
        return toggle(genome, int(rng.integers(len(genome.connections)))), "toggle"

    # --- identity of networks ---
    def canonical(self, genome: MacroGenome) -> str:
        return f"C{self.channels} | {_analyse(genome).canonical}"

    # --- text form ---
    def encode(self, genome: MacroGenome) -> str:
        layers = " ".join(f"{g.node}:{g.name}" for g in genome.nodes)
        conns = " ".join(f"{g.source}>{g.target}{'' if g.enabled else 'x'}" for g in genome.connections)
        return f"{layers} | {conns}".strip()

    def decode(self, text: str) -> MacroGenome:
        parts = check_encoding(text, self.name).split("|")
        if len(parts) != 2:
            raise InvalidGenomeError(
                f"macro_re: expected '<layers> | <connections>' (e.g. {_EXAMPLE!r}), "
                f"got {short_repr(text.strip(), 60)}"
            )
        nodes = [self._layer_gene(token) for token in parts[0].split()]
        conns = [self._connection_gene(token) for token in parts[1].split()]
        return MacroGenome(tuple(nodes), tuple(conns))

    def _layer_gene(self, token: str) -> LayerGene:
        match = _LAYER_TOKEN.fullmatch(token)
        if match is None:
            raise InvalidGenomeError(
                f"macro_re: bad layer gene {short_repr(token)} (expected ID:LAYER, e.g. '0:CONV_3.N')"
            )
        node, layer = parse_int(match.group(1), "node id", self.name), match.group(2)
        if layer not in _LAYER_INDEX:
            raise InvalidGenomeError(
                f"macro_re: unknown layer {short_repr(layer)} of node {node}; "
                f"choices: {', '.join(LAYER_CHOICES)}"
            )
        return LayerGene(node, _LAYER_INDEX[layer])

    def _connection_gene(self, token: str) -> ConnectionGene:
        match = _CONN_TOKEN.fullmatch(token)
        if match is None:
            raise InvalidGenomeError(
                f"macro_re: bad connection gene {short_repr(token)} "
                "(expected SOURCE>TARGET[x], e.g. '-2>0' or '0>99x')"
            )
        source = parse_int(match.group(1), "connection source", self.name)
        target = parse_int(match.group(2), "connection target", self.name)
        return ConnectionGene(source, target, match.group(3) != "x")

    # --- networks ---
    def plan(self, genome: MacroGenome, task: InputSpec) -> NetworkPlan | str:
        """The shapes and merges of the network `genome` builds for `task`, or why it cannot be built."""
        shape = tuple(int(s) for s in task.input_shape)
        return _plan(genome, shape, int(task.num_classes), self.channels)  # type: ignore[arg-type]

    def build(self, genome: MacroGenome, task: InputSpec) -> nn.Module:
        plan = self.plan(genome, task)
        if isinstance(plan, str):
            raise InvalidGenomeError(f"macro_re: cannot build {self.encode(genome)!r}: {plan}")
        return MacroNet(plan)

    def structural_validity(self, genome: MacroGenome, task: InputSpec) -> Validity:
        """The cheap checks of `is_valid` (no module is built)."""
        plan = self.plan(genome, task)
        return Validity(False, plan) if isinstance(plan, str) else VALID

    def is_valid(self, genome: MacroGenome, task: InputSpec) -> Validity:
        """Structural checks with their reasons, then the base class's build-and-forward check.

        The build and the dummy forward pass run on torch's meta device: every shape is checked as on the
        CPU, but no weights are allocated or initialised (a genome whose output keeps a large feature map
        has a head of hundreds of millions of weights) and the caller's torch RNG is left untouched.
        """
        structural = self.structural_validity(genome, task)
        if not structural:
            return structural
        try:
            with torch.device("meta"):
                module = self.build(genome, task)
                module.eval()
                with torch.no_grad():
                    module(torch.zeros((2, *task.input_shape)))
        except (RuntimeError, ValueError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else ""
            return Validity(False, f"{type(exc).__name__}: {message}")
        return VALID

    # --- references, Optuna, pictures ---
    def named_architectures(self) -> Mapping[str, str]:
        return dict(NAMED_ARCHITECTURES)

    def named(self, name: str) -> MacroGenome:
        if name in NAMED_ENCODINGS:
            return self.decode(NAMED_ENCODINGS[name])
        return super().named(name)

    def suggest(self, trial: optuna.trial.BaseTrial) -> MacroGenome:
        """Define-by-run genome of at most `max_nodes` nodes, every node on an input->output path.

        Parameters: `n_nodes` in [1, max_nodes]; per node i (ids in topological order) `layer_i` (a layer
        name), `input_i` in [-1, i-1] (its first input, -1 = the network input) and, for every other
        earlier node j (or the input, j = 'in'), a boolean `link_j_i` for an extra input. Nodes without
        successors feed the output.
        """
        n = trial.suggest_int("n_nodes", 1, self.max_nodes)
        nodes: list[LayerGene] = []
        conns: list[ConnectionGene] = []
        used: set[int] = set()
        for i in range(n):
            layer = trial.suggest_categorical(f"layer_{i}", LAYER_CHOICES)
            first = trial.suggest_int(f"input_{i}", -1, i - 1)
            sources = [INPUT if first < 0 else first]
            for j in range(-1, i):
                src = INPUT if j < 0 else j
                if src == sources[0]:
                    continue
                if trial.suggest_categorical(f"link_{'in' if j < 0 else j}_{i}", (False, True)):
                    sources.append(src)
            nodes.append(LayerGene(i, _LAYER_INDEX[str(layer)]))
            conns.extend(ConnectionGene(src, i) for src in sources)
            used.update(s for s in sources if s != INPUT)
        conns.extend(ConnectionGene(i, OUTPUT) for i in range(n) if i not in used)
        return MacroGenome(tuple(nodes), tuple(conns))

    def graph(self, genome: MacroGenome) -> ArchGraph:
        info = _analyse(genome)
        layers = {g.node: g.layer for g in genome.nodes}
        shown = sorted(info.active | {INPUT, OUTPUT}, key=lambda v: (v == OUTPUT, v))
        nodes = tuple(
            (str(v), "input" if v == INPUT else "output" if v == OUTPUT else LAYER_CHOICES[layers[v]])
            for v in shown
        )
        return ArchGraph(nodes=nodes, edges=tuple((str(u), str(v)) for u, v in info.edges))

    def summary(self, genome: MacroGenome) -> dict[str, float]:
        """Active hidden nodes and enabled active connections (what the paper's 5.5 +/- 1.1 counts)."""
        info = _analyse(genome)
        return {
            "nodes": float(len(info.active - {INPUT, OUTPUT})),
            "connections": float(len(info.edges)),
            "layer_genes": float(len(genome.nodes)),
            "connection_genes": float(len(genome.connections)),
        }
