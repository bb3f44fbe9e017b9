"""Property tests of the `macro_re` space: encoding round trips, mutation safety, canonical invariance."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.spaces import Shape
from harness.spaces.macro_re import (
    INPUT,
    LAYER_CHOICES,
    OUTPUT,
    ConnectionGene,
    LayerGene,
    MacroGenome,
    MacroReSpace,
    set_layer,
)

SPACE = MacroReSpace(channels=4)
MNIST = Shape((1, 28, 28), 10)
DIGITS = Shape((1, 8, 8), 10)
SETTINGS = settings(derandomize=True, max_examples=50, deadline=None)


def evolved(seed: int, steps: int) -> MacroGenome:
    """The initial genome of `seed` after `steps` mutations drawn from the same generator."""
    rng = np.random.default_rng(seed)
    genome = SPACE.sample(rng)
    for _ in range(steps):
        genome = SPACE.mutate(genome, rng)
    return genome


def active_graph(genome: MacroGenome) -> nx.DiGraph:
    """The enabled input->output part of a genome, with layer labels (an independent oracle)."""
    layers = {g.node: LAYER_CHOICES[g.layer] for g in genome.nodes}
    full = nx.DiGraph()
    full.add_nodes_from([INPUT, OUTPUT, *layers])
    full.add_edges_from((c.source, c.target) for c in genome.connections if c.enabled)
    if not nx.has_path(full, INPUT, OUTPUT):
        return nx.DiGraph()
    keep = (nx.descendants(full, INPUT) | {INPUT}) & (nx.ancestors(full, OUTPUT) | {OUTPUT})
    graph = full.subgraph(keep).copy()
    for v in graph:
        graph.nodes[v]["label"] = "IN" if v == INPUT else "OUT" if v == OUTPUT else layers[v]
    return graph


def renumber(genome: MacroGenome, rng: np.random.Generator) -> MacroGenome:
    """The same genes under new hidden ids (any non-negative ints but 99), in shuffled gene order."""
    ids = [int(i) for i in rng.choice(np.arange(200, 400), size=len(genome.nodes), replace=False)]
    mapping = {g.node: new for g, new in zip(genome.nodes, ids, strict=True)}
    mapping[INPUT], mapping[OUTPUT] = INPUT, OUTPUT
    nodes = [LayerGene(mapping[g.node], g.layer) for g in genome.nodes]
    conns = [ConnectionGene(mapping[c.source], mapping[c.target], c.enabled) for c in genome.connections]
    order = rng.permutation(len(conns))
    return MacroGenome(tuple(nodes), tuple(conns[i] for i in order))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(0, 25))
def test_encode_decode_round_trip(seed: int, steps: int) -> None:
    genome = evolved(seed, steps)
    text = SPACE.encode(genome)
    assert SPACE.decode(text) == genome
    assert SPACE.encode(SPACE.decode(text)) == text
    assert "\n" not in text


@settings(derandomize=True, max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 30))
def test_every_mutation_is_valid_or_rejected_with_a_reason(seed: int, steps: int) -> None:
    rng = np.random.default_rng(seed)
    genome = SPACE.sample(rng)
    for step in range(steps):
        genome = SPACE.mutate(genome, rng)
        gene_graph = nx.DiGraph([(c.source, c.target) for c in genome.connections if c.enabled])
        assert nx.is_directed_acyclic_graph(gene_graph)
        validity = SPACE.is_valid(genome, MNIST if step % 2 else DIGITS)
        if validity:
            assert SPACE.structural_validity(genome, MNIST if step % 2 else DIGITS)
        else:
            assert validity.reason.strip()
            assert "\n" not in validity.reason


@settings(derandomize=True, max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(0, 20))
def test_structurally_valid_genomes_build_and_run(seed: int, steps: int) -> None:
    import torch

    genome = evolved(seed, steps)
    if SPACE.structural_validity(genome, DIGITS):
        module = SPACE.build(genome, DIGITS)
        assert module(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(0, 25), shuffle=st.integers(0, 2**32 - 1))
def test_canonical_invariant_under_renumbering(seed: int, steps: int, shuffle: int) -> None:
    genome = evolved(seed, steps)
    other = renumber(genome, np.random.default_rng(shuffle))
    assert SPACE.canonical(other) == SPACE.canonical(genome)
    assert SPACE.hash(other) == SPACE.hash(genome)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.integers(0, 25),
    extra=st.integers(0, 2**32 - 1),
    count=st.integers(1, 4),
)
def test_canonical_invariant_under_disabled_genes_and_dead_ends(
    seed: int, steps: int, extra: int, count: int
) -> None:
    genome = evolved(seed, steps)
    rng = np.random.default_rng(extra)
    nodes = list(genome.nodes)
    conns = list(genome.connections)
    taken = {(c.source, c.target) for c in conns}
    next_id = max(genome.node_ids, default=-1) + 1000
    for k in range(count):
        anchor = int(rng.choice([INPUT, *genome.node_ids]))
        dead = next_id + k
        nodes.append(LayerGene(dead, int(rng.integers(len(LAYER_CHOICES)))))
        conns.append(ConnectionGene(anchor, dead))  # reachable from the input, never reaches the output
        conns.append(ConnectionGene(dead, OUTPUT, False))  # disabled gene
        source, target = int(rng.choice([INPUT, *genome.node_ids])), dead
        if (source, target) not in taken and source != anchor:
            conns.append(ConnectionGene(source, target, bool(rng.integers(2))))
            taken.add((source, target))
    decorated = MacroGenome(tuple(nodes), tuple(conns))
    assert SPACE.canonical(decorated) == SPACE.canonical(genome)
    assert SPACE.summary(decorated)["nodes"] == SPACE.summary(genome)["nodes"]


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(0, 25), layer=st.integers(0, 11))
def test_changing_an_active_layer_label_changes_the_hash(seed: int, steps: int, layer: int) -> None:
    genome = evolved(seed, steps)
    active = sorted(v for v in active_graph(genome) if v not in (INPUT, OUTPUT))
    if not active:
        return
    node = active[layer % len(active)]
    if genome.layer_of(node) == layer:
        layer = (layer + 1) % len(LAYER_CHOICES)
    changed = set_layer(genome, node, layer)
    assert SPACE.hash(changed) != SPACE.hash(genome)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 20))
def test_hash_equality_is_graph_isomorphism_along_a_lineage(seed: int, steps: int) -> None:
    rng = np.random.default_rng(seed)
    lineage = [SPACE.sample(rng)]
    for _ in range(steps):
        lineage.append(SPACE.mutate(lineage[-1], rng))
    graphs = [active_graph(g) for g in lineage]
    hashes = [SPACE.hash(g) for g in lineage]
    for i in range(len(lineage) - 1):
        iso = nx.is_isomorphic(graphs[i], graphs[i + 1], node_match=lambda a, b: a["label"] == b["label"])
        assert iso == (hashes[i] == hashes[i + 1])


def random_dag(rng: np.random.Generator, n: int, labels: tuple[int, ...]) -> MacroGenome:
    """A small random genome whose every node lies on an input->output path; few labels, many isomorphs."""
    nodes = [LayerGene(i, int(rng.choice(labels))) for i in range(n)]
    edges: set[tuple[int, int]] = set()
    for i in range(n):
        sources = [INPUT, *range(i)]
        for s in rng.choice(sources, size=min(int(rng.integers(1, 3)), len(sources)), replace=False):
            edges.add((int(s), i))
    used = {s for s, _ in edges}
    edges |= {(i, OUTPUT) for i in range(n) if i not in used or rng.random() < 0.2}
    if rng.random() < 0.2:
        edges.add((INPUT, OUTPUT))
    ordered = sorted(edges)
    return MacroGenome(tuple(nodes), tuple(ConnectionGene(s, t) for s, t in ordered))


@settings(derandomize=True, max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_canonical_classes_match_networkx_isomorphism(seed: int) -> None:
    rng = np.random.default_rng(seed)
    genomes = [random_dag(rng, int(rng.integers(1, 6)), (0, 3)) for _ in range(40)]
    graphs = [active_graph(g) for g in genomes]
    canon = [SPACE.canonical(g) for g in genomes]
    for i in range(len(genomes)):
        for j in range(i + 1, len(genomes)):
            iso = nx.is_isomorphic(graphs[i], graphs[j], node_match=lambda a, b: a["label"] == b["label"])
            assert iso == (canon[i] == canon[j]), (SPACE.encode(genomes[i]), SPACE.encode(genomes[j]))


@settings(derandomize=True, max_examples=10, deadline=None)
@given(chains=st.integers(2, 8), length=st.integers(1, 3), shuffle=st.integers(0, 2**32 - 1))
def test_symmetric_parallel_chains_are_canonical(chains: int, length: int, shuffle: int) -> None:
    nodes, conns = [], []
    for c in range(chains):
        previous = INPUT
        for k in range(length):
            node = c * length + k
            nodes.append(LayerGene(node, 7))
            conns.append(ConnectionGene(previous, node))
            previous = node
        conns.append(ConnectionGene(previous, OUTPUT))
    genome = MacroGenome(tuple(nodes), tuple(conns))
    other = renumber(genome, np.random.default_rng(shuffle))
    assert SPACE.canonical(other) == SPACE.canonical(genome)
    # relabelling the k-th node of any one chain gives one network (the chains are interchangeable)
    k = shuffle % length
    relabelled = {SPACE.canonical(set_layer(genome, c * length + k, 1)) for c in range(chains)}
    assert len(relabelled) == 1
    assert relabelled != {SPACE.canonical(genome)}
