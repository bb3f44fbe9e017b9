"""The renas_cell space: string notation, canonical form (brute-force checked), space size, networks."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import torch

from harness.errors import InvalidGenomeError, UnknownNameError
from harness.spaces import Shape, get_space
from harness.spaces.renas_cell_genome import (
    Block,
    RenasCellGenome,
    all_genomes,
    canonical_genome,
    output_blocks,
    topological_orders,
)

DIGITS = Shape((1, 8, 8), 10)
CIFAR = Shape((3, 32, 32), 10)
RENASNET = (
    "c-2 c-1 sep5 sep3 add | c-1 c-1 id sep3 add | c-2 c-2 sep3 avg3 add | c-1 c-2 sep5 sep3 add | "
    "1 1 id sep3 add"
)


def cell_graph(genome: RenasCellGenome) -> nx.DiGraph:
    """The cell as the network computes it: inputs -> operation nodes -> additions -> concatenation.

    Built independently of the canonical form: node names carry the genome's numbering, only labels
    (operation names) are compared by the isomorphism test.
    """
    g = nx.DiGraph()
    g.add_node("in0", label="c-2")
    g.add_node("in1", label="c-1")
    g.add_node("out", label="concat")
    for b, block in enumerate(genome.blocks):
        g.add_node(f"add{b}", label="add")
        for k, (i, op) in enumerate(((block.i1, block.o1), (block.i2, block.o2))):
            g.add_node(f"op{b}.{k}", label=op)
            g.add_edge(f"in{i}" if i < 2 else f"add{i - 2}", f"op{b}.{k}")
            g.add_edge(f"op{b}.{k}", f"add{b}")
    for b in output_blocks(genome):
        g.add_edge(f"add{b}", "out")
    return g


def test_string_notation_round_trips_the_published_cell():
    space = get_space("renas_cell")
    genome = space.named("renasnet")
    assert space.encode(genome) == RENASNET
    assert space.decode(RENASNET) == genome
    assert len(RENASNET.replace("|", " ").split()) == space.token_count == 25
    assert space.variable_token_count == 20


@pytest.mark.parametrize(
    "text",
    [
        "",
        RENASNET.replace("add", "mul", 1),
        RENASNET.replace("c-2 c-1 sep5", "1 c-1 sep5"),  # block 1 cannot read a block
        RENASNET.replace("sep7", "x").replace("sep5 sep3 add |", "conv3 sep3 add |", 1),
        RENASNET + " | c-1 c-1 id id add",
        RENASNET.replace(" add |", " |", 1),
    ],
)
def test_decode_refuses_malformed_text(text):
    with pytest.raises(InvalidGenomeError):
        get_space("renas_cell").decode(text)


def test_swapping_operands_and_renumbering_blocks_keep_the_hash():
    space = get_space("renas_cell")
    genome = space.named("renasnet")
    blocks = list(genome.blocks)
    b = blocks[2]
    swapped = RenasCellGenome((*blocks[:2], Block(b.i2, b.i1, b.o2, b.o1), *blocks[3:]))
    assert swapped != genome and space.hash(swapped) == space.hash(genome)
    # blocks 2 and 3 read only cell inputs: exchanging their numbers (block 5 reads block 1) is the same cell
    renumbered = RenasCellGenome((blocks[0], blocks[2], blocks[1], blocks[3], blocks[4]))
    assert space.hash(renumbered) == space.hash(genome)
    changed = RenasCellGenome((*blocks[:4], Block(2, 2, "id", "sep5")))
    assert space.hash(changed) != space.hash(genome)
    other_net = get_space("renas_cell", filters=16)
    assert other_net.hash(genome) != space.hash(genome)


def iso_partition_agrees(space, genomes: list[RenasCellGenome]) -> int:
    """Asserts equal canonical form <=> isomorphic cell graphs over `genomes`; returns the class count."""
    match = nx.algorithms.isomorphism.categorical_node_match("label", None)
    buckets: dict[str, list[tuple[nx.DiGraph, int]]] = {}  # WL hash -> (graph, class id)
    class_of_canonical: dict[str, int] = {}
    classes = 0
    for genome in genomes:
        graph = cell_graph(genome)
        bucket = buckets.setdefault(nx.weisfeiler_lehman_graph_hash(graph, node_attr="label"), [])
        cls = next((c for rep, c in bucket if nx.is_isomorphic(graph, rep, node_match=match)), None)
        if cls is None:
            cls, classes = classes, classes + 1
            bucket.append((graph, cls))
        # equal canonical form -> isomorphic; a second canonical form for one class would show up as a
        # class id already claimed by another form
        assert class_of_canonical.setdefault(space.canonical(genome), cls) == cls
    assert len(class_of_canonical) == classes  # isomorphic -> equal canonical form
    return classes


def test_canonical_form_matches_graph_isomorphism_on_reduced_cells():
    """Brute force: every genome of a 3-block cell with one operation (relabelling and operand swaps),
    and 1,500 random genomes of a 3-block cell with two operations (op labels as well)."""
    one = get_space("renas_cell", blocks=3, ops=("sep3",))
    genomes = [RenasCellGenome(blocks) for blocks in all_genomes(3, one.ops)]
    assert len(genomes) == one.size() == 2**2 * 3**2 * 4**2
    assert iso_partition_agrees(one, genomes) < len(genomes) / 3  # the equivalences merge a lot
    two = get_space("renas_cell", blocks=3, ops=("sep3", "max3"))
    rng = np.random.default_rng(0)
    sample = [two.sample(rng) for _ in range(1500)]
    # add each sample's swapped/renumbered twin so that the classes are not all singletons
    sample += [canonical_genome(g) for g in sample[:300]]
    assert iso_partition_agrees(two, sample) < len(sample)


def test_canonical_representative_is_in_its_own_class():
    space = get_space("renas_cell")
    rng = np.random.default_rng(5)
    for _ in range(50):
        genome = space.sample(rng)
        rep = canonical_genome(genome)
        assert space.canonical(rep) == space.canonical(genome)
        assert len(topological_orders(genome)) >= 1


def test_space_size_is_the_papers():
    """Sec. 3.3: (6^5 x (5+1)!)^2 = 3.1 x 10^13 possible networks."""
    size = get_space("renas_cell").size()
    assert size == (6**5 * math.factorial(6)) ** 2
    assert f"{size:.1e}" == "3.1e+13"


@pytest.mark.parametrize("shape", [DIGITS, Shape((3, 5, 7), 4), Shape((1, 1, 1), 2)])
def test_search_network_builds_for_any_input_shape(shape):
    space = get_space("renas_cell", filters=4, cells=1)
    rng = np.random.default_rng(1)
    for _ in range(1):
        genome = space.sample(rng)
        assert space.is_valid(genome, shape)
        model = space.build(genome, shape)
        out = model(torch.zeros((2, *shape.input_shape)))
        assert out.shape == (2, shape.num_classes)


def test_search_network_layout_and_the_cifar_network():
    space = get_space("renas_cell")
    assert (space.cells, space.filters) == (2, 24)  # Sec. 4.3: #N = 2, #F = 24
    model = space.build(space.named("renasnet"), DIGITS)
    assert [c.out_channels for c in model.cells] == [24 * 4] * 2 + [48 * 4] * 3 + [96 * 4] * 3
    assert len(model.cells) == 3 * 2 + 2  # 3 stages of N cells, 2 stride-2 cells
    cifar_layout = get_space("renas_cell", cells=6, filters=4)  # the (6, 32) layout at a cheap width
    net = cifar_layout.build(cifar_layout.named("renasnet"), CIFAR)
    assert len(net.cells) == 3 * 6 + 2
    # cell 6 is the first stride-2 cell: its ops on cell inputs have stride 2; cell 7 reduces its c-2 input
    assert [net.cells[k].blocks[0].op1[1].stride for k in (5, 6, 7)] == [(1, 1), (2, 2), (1, 1)]
    assert type(net.cells[7].pre0).__name__ == "FactorizedReduce"


def test_mutation_changes_one_position_per_block_and_the_network():
    space = get_space("renas_cell")
    rng = np.random.default_rng(2)
    genome = space.named("renasnet")
    for _ in range(30):
        actions = space.random_actions(genome, rng)
        assert [a.block for a in actions] == list(range(5))
        child = space.mutate(genome, rng)
        assert space.hash(child) != space.hash(genome)
        for x, y in zip(child.blocks, genome.blocks, strict=True):  # at most one change per block
            assert (
                sum(a != b for a, b in zip((x.i1, x.i2, x.o1, x.o2), (y.i1, y.i2, y.o1, y.o2), strict=True))
                <= 1
            )


def test_named_and_unknown_names():
    space = get_space("renas_cell")
    assert "renasnet" in space.named_architectures()
    with pytest.raises(UnknownNameError):
        space.named("nasnet")
    assert get_space("renas_cell", blocks=3).named_architectures() == {}
