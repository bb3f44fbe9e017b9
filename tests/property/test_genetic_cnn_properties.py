"""Property tests of the genetic_cnn space: notation round trip and isomorphism-invariant hashing."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.spaces import get_space
from harness.spaces.genetic_cnn import GeneticCnnGenome, edge_order, stage_edges

SPACE = get_space("genetic_cnn")
LAYOUTS = [(3, 4, 5), (2, 6), (5, 5, 5, 4)]

genomes = st.lists(st.integers(0, 1), min_size=SPACE.length, max_size=SPACE.length).map(SPACE.from_bits)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(genomes)
def test_encode_decode_round_trip(genome):
    text = SPACE.encode(genome)
    assert SPACE.decode(text) == genome
    assert SPACE.encode(SPACE.decode(text)) == text


@settings(max_examples=100, derandomize=True, deadline=None)
@given(st.sampled_from(LAYOUTS), st.integers(0, 2**32 - 1))
def test_round_trip_any_layout(layout, seed):
    space = get_space("genetic_cnn", stages=layout, channels=[8] * len(layout))
    genome = space.sample(np.random.default_rng(seed))
    assert space.decode(space.encode(genome)) == genome


def _relabel(nodes: int, bits: tuple[int, ...], rng: np.random.Generator) -> tuple[int, ...]:
    """An isomorphic stage: renumber nodes along a random topological order of the stage graph."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(1, nodes + 1))
    graph.add_edges_from(stage_edges(nodes, bits))
    order: list[int] = []
    indegree = dict(graph.in_degree())
    ready = [v for v in graph if indegree[v] == 0]
    while ready:
        v = ready.pop(int(rng.integers(len(ready))))
        order.append(v)
        for w in graph.successors(v):
            indegree[w] -= 1
            if indegree[w] == 0:
                ready.append(w)
    new = {v: k + 1 for k, v in enumerate(order)}
    edges = {(new[i], new[j]) for i, j in graph.edges}
    return tuple(1 if e in edges else 0 for e in edge_order(nodes))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(genomes, st.integers(0, 2**32 - 1))
def test_isomorphic_strings_hash_equal(genome, seed):
    rng = np.random.default_rng(seed)
    twin = GeneticCnnGenome(
        tuple(_relabel(k, s, rng) for k, s in zip(SPACE.nodes, genome.stages, strict=True))
    )
    assert SPACE.hash(twin) == SPACE.hash(genome)
    assert SPACE.canonical(twin) == SPACE.canonical(genome)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(genomes, genomes)
def test_hash_equal_iff_every_stage_isomorphic(a, b):
    def stage_graph(k, bits):
        return nx.DiGraph(stage_edges(k, bits))

    isomorphic = all(
        nx.is_isomorphic(stage_graph(k, sa), stage_graph(k, sb))
        for k, sa, sb in zip(SPACE.nodes, a.stages, b.stages, strict=True)
    )
    assert (SPACE.hash(a) == SPACE.hash(b)) == isomorphic


@settings(max_examples=100, derandomize=True, deadline=None)
@given(genomes, st.integers(0, 2**32 - 1))
def test_operators_stay_in_the_space(genome, seed):
    rng = np.random.default_rng(seed)
    child = SPACE.mutate(genome, rng)
    assert len(child.bits) == SPACE.length and set(child.bits) <= {0, 1}
    c, d = SPACE.crossover(genome, child, rng)
    assert sorted(c.bits + d.bits) == sorted(genome.bits + child.bits)
