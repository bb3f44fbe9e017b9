"""Property tests of `darts_cell`: string round trips, canonical form = isomorphism, closed variation."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.spaces import Shape, get_space
from harness.spaces.darts_cell_genome import Cell, DartsCellGenome, block_index, edge_of

SPACE = get_space("darts_cell", cells=1, max_depth=4)
DIGITS = Shape((1, 8, 8), 10)
SETTINGS = settings(derandomize=True, max_examples=60, deadline=None)


@st.composite
def cells(draw: st.DrawFn, small: bool = False) -> Cell:
    """Random cells; `small` uses 2 operations and 2 widths so that isomorphic pairs are frequent."""
    depth = draw(st.integers(1, 3 if small else 4))
    n = depth * (depth + 1) // 2
    ops = (0, 3) if small else tuple(range(8))
    widths = (1, 2) if small else (0, 1, 2, 4, 8, 16, 32)
    blocks = [[0] * 8 for _ in range(n)]
    for b in range(n):
        for op in ops:
            if draw(st.booleans()):
                blocks[b][op] = draw(st.sampled_from(widths))
    return Cell(tuple(tuple(x) for x in blocks), draw(st.integers(0, 1)), draw(st.integers(0, 10)))


def oracle(cell: Cell) -> nx.DiGraph | None:
    """The built graph, found with networkx: nodes reachable from the input and reaching the output."""
    full = nx.DiGraph()
    full.add_nodes_from(range(cell.depth + 1))
    labels: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for k, block in enumerate(cell.blocks):
        j, i = edge_of(k)
        for op, c in enumerate(block):
            if c > 0:
                full.add_edge(j, i)
                labels.setdefault((j, i), []).append((op, c))
    out = cell.depth
    reach = nx.descendants(full, 0) | {0}
    if out not in reach:
        return None
    keep = (nx.ancestors(full.subgraph(reach), out) | {out}) & reach
    graph = nx.DiGraph()
    for v in keep:
        graph.add_node(v, role="in" if v == 0 else "out" if v == out else "inner")
    for j, i in full.subgraph(keep).edges:
        graph.add_edge(j, i, label=tuple(sorted(labels[(j, i)])))
    return graph


def isomorphic(a: nx.DiGraph, b: nx.DiGraph) -> bool:
    return nx.is_isomorphic(
        a, b, node_match=lambda x, y: x["role"] == y["role"], edge_match=lambda x, y: x["label"] == y["label"]
    )


@SETTINGS
@given(st.lists(cells(), min_size=1, max_size=3))
def test_encode_decode_round_trip(parts: list[Cell]) -> None:
    genome = DartsCellGenome(tuple(parts))
    assert SPACE.decode(SPACE.encode(genome)) == genome


@settings(derandomize=True, max_examples=300, deadline=None)
@given(cells(small=True), cells(small=True))
def test_equal_canonical_forms_exactly_when_the_built_graphs_are_isomorphic(a: Cell, b: Cell) -> None:
    ga, gb = oracle(a), oracle(b)
    ca, cb = SPACE.canonical(DartsCellGenome((a,))), SPACE.canonical(DartsCellGenome((b,)))
    if ga is None or gb is None:
        assert (ca == "empty") == (ga is None) and (cb == "empty") == (gb is None)
        return
    assert (ca == cb) == isomorphic(ga, gb)


@SETTINGS
@given(cells(), st.randoms(use_true_random=False))
def test_renumbering_inner_nodes_in_any_topological_order_keeps_the_hash(cell: Cell, rnd) -> None:
    graph = oracle(cell)
    if graph is None:
        return
    inner = [v for v in graph if graph.nodes[v]["role"] == "inner"]
    order = list(nx.lexicographical_topological_sort(graph.subgraph(inner), key=lambda v: rnd.random()))
    fresh = {v: k + 1 for k, v in enumerate(order)}
    new_depth = len(inner) + 1
    fresh.update({0: 0, cell.depth: new_depth})
    blocks = [[0] * 8 for _ in range(new_depth * (new_depth + 1) // 2)]
    for k, block in enumerate(cell.blocks):
        j, i = edge_of(k)
        if j in fresh and i in fresh and graph.has_edge(j, i):
            blocks[block_index(fresh[i], fresh[j])] = list(block)
    relabelled = Cell(tuple(tuple(x) for x in blocks), 1 - cell.use_shared, cell.dataset)
    assert SPACE.hash(DartsCellGenome((relabelled,))) == SPACE.hash(DartsCellGenome((cell,)))


@settings(derandomize=True, max_examples=25, deadline=None)
@given(cells(small=True), cells(small=True))
def test_equal_hashes_build_networks_of_equal_size(a: Cell, b: Cell) -> None:
    ga, gb = DartsCellGenome((a,)), DartsCellGenome((b,))
    if not (SPACE.is_valid(ga, DIGITS) and SPACE.is_valid(gb, DIGITS)) or SPACE.hash(ga) != SPACE.hash(gb):
        return
    size = [sum(p.numel() for p in SPACE.build(g, DIGITS).parameters()) for g in (ga, gb)]
    assert size[0] == size[1]


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 12))
def test_mutation_and_crossover_stay_in_the_space(seed: int, steps: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    for _ in range(steps):
        a = SPACE.mutate(a, rng)
        a, b = SPACE.crossover(a, b, rng)
    for g in (a, b):
        assert SPACE.is_valid(g, DIGITS)
        assert SPACE.decode(SPACE.encode(g)) == g
        assert 1 <= g.cells[0].depth <= SPACE.max_depth
