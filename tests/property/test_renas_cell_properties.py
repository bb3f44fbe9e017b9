"""Properties of the renas_cell space over random genomes (hypothesis): notation, canonical form, mutation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.spaces import get_space
from harness.spaces.renas_cell_genome import (
    Block,
    RenasCellGenome,
    canonical_genome,
    topological_orders,
)

SPACE = get_space("renas_cell")
PROFILE = settings(max_examples=150, deadline=None, derandomize=True, database=None)


@st.composite
def genomes(draw: st.DrawFn) -> RenasCellGenome:
    return SPACE.sample(np.random.default_rng(draw(st.integers(0, 2**32 - 1))))


def renumber(genome: RenasCellGenome, order: tuple[int, ...]) -> RenasCellGenome:
    """The same cell with its blocks listed in topological order `order` (inputs renumbered)."""
    new = {old: k for k, old in enumerate(order)}

    def ref(i: int) -> int:
        return i if i < 2 else new[i - 2] + 2

    return RenasCellGenome(
        tuple(Block(ref(b.i1), ref(b.i2), b.o1, b.o2) for b in (genome.blocks[o] for o in order))
    )


@PROFILE
@given(genomes())
def test_notation_round_trips(genome: RenasCellGenome) -> None:
    text = SPACE.encode(genome)
    assert SPACE.decode(text) == genome
    assert len(text.replace("|", " ").split()) == 5 * SPACE.blocks


@PROFILE
@given(genomes(), st.data())
def test_canonical_form_ignores_operand_order_and_block_numbering(genome: RenasCellGenome, data) -> None:
    orders = topological_orders(genome)
    order = data.draw(st.sampled_from(orders))
    swaps = data.draw(st.lists(st.booleans(), min_size=SPACE.blocks, max_size=SPACE.blocks))
    twin = renumber(genome, order)
    twin = RenasCellGenome(
        tuple(Block(b.i2, b.i1, b.o2, b.o1) if s else b for b, s in zip(twin.blocks, swaps, strict=True))
    )
    assert SPACE.is_valid(twin, SPACE_SHAPE)
    assert SPACE.hash(twin) == SPACE.hash(genome)
    assert canonical_genome(twin) == canonical_genome(genome)


@PROFILE
@given(genomes(), st.integers(0, 2**32 - 1))
def test_mutation_yields_a_valid_new_network_with_one_change_per_block_at_most(genome, seed) -> None:
    child = SPACE.mutate(genome, np.random.default_rng(seed))
    assert SPACE.decode(SPACE.encode(child)) == child
    assert SPACE.hash(child) != SPACE.hash(genome)
    for a, b in zip(child.blocks, genome.blocks, strict=True):
        assert (
            sum(x != y for x, y in zip((a.i1, a.i2, a.o1, a.o2), (b.i1, b.i2, b.o1, b.o2), strict=True)) <= 1
        )


@PROFILE
@given(genomes())
def test_every_block_reaches_the_output(genome: RenasCellGenome) -> None:
    """NASNet's rule: unused block outputs are concatenated, so no block is dead."""
    from harness.spaces.renas_cell_genome import consumers, output_blocks

    outputs = set(output_blocks(genome))
    assert outputs and outputs | consumers(genome) == set(range(SPACE.blocks))


class _Shape:
    input_shape = (1, 8, 8)
    num_classes = 10


SPACE_SHAPE = _Shape()
