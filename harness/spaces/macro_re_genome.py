"""Genomes of the `macro_re` space: layer and connection genes, and the primitive variation operators.

Kyriakides & Margaritis (AIAI 2020), Sec. 3.1; details from the reference code (NORD, branch AIAI2020,
`nord/architectural_design/metaheuristics/evolutionary/rem/genome.py` and `gene.py`). See
`harness.spaces.macro_re` for the encoding and the space.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import InvalidGenomeError

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
LAYER_INDEX = {n: i for i, n in enumerate(LAYER_CHOICES)}


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


def is_int(value: object) -> bool:
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
            if not isinstance(gene, LayerGene) or not is_int(gene.node) or not is_int(gene.layer):
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
            if not isinstance(gene, ConnectionGene) or not (is_int(gene.source) and is_int(gene.target)):
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
    index = [LAYER_INDEX[x] if isinstance(x, str) else int(x) for x in layers]
    nodes = [LayerGene(i, layer) for i, layer in enumerate(index)]
    conns = [ConnectionGene(INPUT if i == 0 else i - 1, i) for i in range(len(index))]
    tail = len(index) - 1 if index else INPUT
    if not branches:
        conns.append(ConnectionGene(tail, OUTPUT))
    next_id = len(index)
    for branch in branches:
        previous = tail
        for layer in branch:
            nodes.append(LayerGene(next_id, LAYER_INDEX[layer] if isinstance(layer, str) else int(layer)))
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
