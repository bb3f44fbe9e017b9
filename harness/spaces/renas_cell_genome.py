"""The RENAS cell (Chen et al., CVPR 2019, Sec. 3): genome, string notation, canonical form, mutation actions.

A cell has B blocks. Block b = (i1, i2, o1, o2): two inputs chosen among the outputs of blocks 1..b-1 of the
cell and the outputs of the two previous cells, and two operations, combined by addition (the fifth,
fixed token A). Inputs are numbered as in the official code (`yukang2017/RENAS`, `symbol_renasnet.py`):
0 = O^{c-2} (the cell before the previous one), 1 = O^{c-1} (the previous cell), k + 1 = block k's output.

String notation (Sec. 3.3: 5#B tokens of which 4#B vary): blocks separated by ``|``, each block
``i1 i2 o1 o2 add`` with inputs written ``c-2``, ``c-1`` or the 1-based number of an earlier block, e.g.
RENASNet: ``c-2 c-1 sep5 sep3 add | c-1 c-1 id sep3 add | c-2 c-2 sep3 avg3 add | c-1 c-2 sep5 sep3 add |
1 1 id sep3 add``.

Canonical form. Two genomes are treated as the same network exactly when one becomes the other by
(a) swapping (i1, o1) with (i2, o2) inside any block (addition commutes) and/or (b) renumbering the blocks
in another topological order of the cell's DAG (the cell output concatenates every block output that no
block consumes; a renumbering permutes the channel groups of that concatenation, which the next 1x1
convolution absorbs). Under this output rule every block reaches the output, so there are no dead blocks
to drop. Not merged: numerically equal but structurally different cells (e.g. ``id(x) + id(x)`` vs
``avg3`` chains; ``id`` and ``max3`` coincide on cell inputs of a stride-2 cell only, and the same cell is
used at stride 1, so they stay distinct). The form is the lexicographically smallest block list over all
topological orders with each block's two (input, op) pairs sorted: a complete invariant for (a) + (b)
(checked against a networkx isomorphism test in tests/unit/test_renas_cell.py).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import InvalidGenomeError
from harness.spaces.base import check_encoding, short_repr

SPACE = "renas_cell"

#: the six operations of Sec. 3.1, in the official code's order (codes 0, 1, 2, 3, 4, 7 there)
OPS: tuple[str, ...] = ("sep3", "sep5", "sep7", "avg3", "max3", "id")
OP_DESCRIPTIONS: dict[str, str] = {
    "sep3": "3x3 depthwise-separable conv (applied twice)",
    "sep5": "5x5 depthwise-separable conv (applied twice)",
    "sep7": "7x7 depthwise-separable conv (applied twice)",
    "avg3": "3x3 average pooling",
    "max3": "3x3 max pooling",
    "id": "identity",
}
#: operation codes of the official code's `choose_layer` (5 = conv 3x3 and 6 = conv 1x7-7x1 are NASNet's,
#: not in the RENAS space)
OFFICIAL_OP_CODES: dict[int, str] = {0: "sep3", 1: "sep5", 2: "sep7", 3: "avg3", 4: "max3", 7: "id"}
COMBINER = "add"
POSITIONS: tuple[str, ...] = ("i1", "i2", "o1", "o2")
DEFAULT_BLOCKS = 5


@dataclass(frozen=True)
class Block:
    """One block: inputs (0 = c-2, 1 = c-1, k + 1 = block k) and operation names; output o1(i1) + o2(i2)."""

    i1: int
    i2: int
    o1: str
    o2: str

    def get(self, position: int) -> int | str:
        return (self.i1, self.i2, self.o1, self.o2)[position]

    def replace(self, position: int, value: int | str) -> Block:
        fields = [self.i1, self.i2, self.o1, self.o2]
        fields[position] = value
        return Block(int(fields[0]), int(fields[1]), str(fields[2]), str(fields[3]))


@dataclass(frozen=True)
class RenasCellGenome:
    """B blocks in order; block b (1-based) may read inputs 0 .. b (c-2, c-1, blocks 1 .. b-1)."""

    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Action:
    """One mutation action: set `position` (0..3 = i1, i2, o1, o2) of block `block` (0-based) to `value`."""

    block: int
    position: int
    value: int | str


# --- structure ---
def input_choices(block_index: int) -> int:
    """How many inputs block `block_index` (0-based) can read: c-2, c-1 and the earlier blocks."""
    return block_index + 2


def check_genome(genome: object, blocks: int, ops: Sequence[str]) -> RenasCellGenome:
    """`genome` if it is a well-formed cell of `blocks` blocks over `ops`, else InvalidGenomeError."""
    if not isinstance(genome, RenasCellGenome) or len(genome.blocks) != blocks:
        raise InvalidGenomeError(f"{SPACE}: not a genome of {blocks} blocks: {short_repr(genome)}")
    for b, block in enumerate(genome.blocks):
        if not isinstance(block, Block):
            raise InvalidGenomeError(f"{SPACE}: block {b + 1} is not a Block: {short_repr(block)}")
        for value in (block.i1, block.i2):
            if not isinstance(value, int) or not 0 <= value < input_choices(b):
                raise InvalidGenomeError(
                    f"{SPACE}: block {b + 1} input {short_repr(value)} is not one of "
                    f"{', '.join(input_names(b))}"
                )
        for op in (block.o1, block.o2):
            if op not in ops:
                raise InvalidGenomeError(
                    f"{SPACE}: block {b + 1} operation {short_repr(op)} is not one of {', '.join(ops)}"
                )
    return genome


def space_size(blocks: int, op_count: int) -> int:
    """Genome count: per block (op_count x (b + 1))^2 for b = 1..B, i.e. (6^5 x 6!)^2 for the paper's cell."""
    return math.prod((op_count * input_choices(b)) ** 2 for b in range(blocks))


def consumers(genome: RenasCellGenome) -> set[int]:
    """The block indices (0-based) whose outputs some block reads."""
    return {i - 2 for block in genome.blocks for i in (block.i1, block.i2) if i >= 2}


def output_blocks(genome: RenasCellGenome) -> tuple[int, ...]:
    """Blocks (0-based) concatenated into the cell output: those no block consumes (NASNet's rule)."""
    used = consumers(genome)
    return tuple(b for b in range(len(genome.blocks)) if b not in used)


# --- text form ---
def input_name(value: int) -> str:
    return "c-2" if value == 0 else "c-1" if value == 1 else str(value - 1)


def input_names(block_index: int) -> list[str]:
    return [input_name(v) for v in range(input_choices(block_index))]


def encode_genome(genome: RenasCellGenome) -> str:
    return " | ".join(
        f"{input_name(b.i1)} {input_name(b.i2)} {b.o1} {b.o2} {COMBINER}" for b in genome.blocks
    )


def decode_genome(text: str, blocks: int, ops: Sequence[str]) -> RenasCellGenome:
    """Parse `encode_genome`'s text; one InvalidGenomeError line for anything malformed."""
    parts = check_encoding(text, SPACE).split("|")
    if len(parts) != blocks:
        raise InvalidGenomeError(
            f"{SPACE}: expected {blocks} blocks separated by '|' (each 'i1 i2 o1 o2 add'), got {len(parts)} "
            f"in {short_repr(text.strip(), 80)}"
        )
    out = []
    for b, part in enumerate(parts):
        tokens = part.split()
        if len(tokens) != 5 or tokens[4] != COMBINER:
            raise InvalidGenomeError(
                f"{SPACE}: block {b + 1} {short_repr(part.strip(), 60)} must be 5 tokens 'i1 i2 o1 o2 add'"
            )
        names = input_names(b)
        inputs = []
        for token in tokens[:2]:
            if token not in names:
                raise InvalidGenomeError(
                    f"{SPACE}: block {b + 1} input {short_repr(token, 40)} is not one of {', '.join(names)}"
                )
            inputs.append(names.index(token))
        for token in tokens[2:4]:
            if token not in ops:
                raise InvalidGenomeError(
                    f"{SPACE}: block {b + 1} operation {short_repr(token, 40)} is not one of {', '.join(ops)}"
                )
        out.append(Block(inputs[0], inputs[1], tokens[2], tokens[3]))
    return RenasCellGenome(tuple(out))


def from_official_code(code: Sequence[Sequence[int]]) -> RenasCellGenome:
    """A genome from the official code's list of [op code, input] pairs (two per block)."""
    if len(code) % 2:
        raise InvalidGenomeError(f"{SPACE}: official code needs two [op, input] pairs per block")
    blocks = []
    for k in range(0, len(code), 2):
        (op1, in1), (op2, in2) = code[k], code[k + 1]
        if op1 not in OFFICIAL_OP_CODES or op2 not in OFFICIAL_OP_CODES:
            raise InvalidGenomeError(f"{SPACE}: op codes {op1}, {op2} are not in the RENAS space")
        blocks.append(Block(int(in1), int(in2), OFFICIAL_OP_CODES[op1], OFFICIAL_OP_CODES[op2]))
    return RenasCellGenome(tuple(blocks))


# --- canonical form ---
def topological_orders(genome: RenasCellGenome) -> list[tuple[int, ...]]:
    """Every ordering of the blocks (0-based) in which each block comes after the blocks it reads."""
    deps = [{i - 2 for i in (b.i1, b.i2) if i >= 2} for b in genome.blocks]
    n = len(deps)
    orders: list[tuple[int, ...]] = []

    def extend(order: list[int], placed: set[int]) -> None:
        if len(order) == n:
            orders.append(tuple(order))
            return
        for v in range(n):
            if v not in placed and deps[v] <= placed:
                order.append(v)
                placed.add(v)
                extend(order, placed)
                placed.discard(v)
                order.pop()

    extend([], set())
    return orders


def relabel(genome: RenasCellGenome, order: Sequence[int]) -> tuple[tuple[tuple[int, str], ...], ...]:
    """The blocks listed in `order`, inputs renumbered to match, each block's two pairs sorted."""
    new_index = {old: new for new, old in enumerate(order)}

    def ref(i: int) -> int:
        return i if i < 2 else new_index[i - 2] + 2

    out = []
    for old in order:
        b = genome.blocks[old]
        out.append(tuple(sorted(((ref(b.i1), b.o1), (ref(b.i2), b.o2)))))
    return tuple(out)


@functools.lru_cache(maxsize=65536)
def canonical_blocks(genome: RenasCellGenome) -> tuple[tuple[tuple[int, str], ...], ...]:
    """The smallest relabelled block list over all topological orders (see the module doc)."""
    return min(relabel(genome, order) for order in topological_orders(genome))


def canonical_genome(genome: RenasCellGenome) -> RenasCellGenome:
    """The representative genome of `genome`'s class (its blocks in canonical order, pairs sorted)."""
    return RenasCellGenome(tuple(Block(a[0], b[0], a[1], b[1]) for a, b in canonical_blocks(genome)))


def canonical_text(genome: RenasCellGenome) -> str:
    return encode_genome(canonical_genome(genome))


# --- sampling and mutation actions ---
def sample_genome(rng: np.random.Generator, blocks: int, ops: Sequence[str]) -> RenasCellGenome:
    """Uniform over the space: every input and operation independently uniform (Sec. 4.1, random init)."""
    out = []
    for b in range(blocks):
        i1, i2 = (int(v) for v in rng.integers(0, input_choices(b), size=2))
        o1, o2 = (ops[int(v)] for v in rng.integers(0, len(ops), size=2))
        out.append(Block(i1, i2, o1, o2))
    return RenasCellGenome(tuple(out))


def choices_at(block_index: int, position: int, ops: Sequence[str]) -> list[int | str]:
    """The values position `position` of block `block_index` can take (its current one included)."""
    if position < 2:
        return list(range(input_choices(block_index)))
    return list(ops)


def random_actions(genome: RenasCellGenome, rng: np.random.Generator, ops: Sequence[str]) -> list[Action]:
    """The EA baseline's mutation (Sec. 5.3): per block one of i1, i2, o1, o2, uniformly, and a new value
    drawn uniformly from its choices: the controller's action space (2#B actions) with uniform policies."""
    actions = []
    for b in range(len(genome.blocks)):
        position = int(rng.integers(0, len(POSITIONS)))
        values = choices_at(b, position, ops)
        actions.append(Action(b, position, values[int(rng.integers(0, len(values)))]))
    return actions


def apply_actions(genome: RenasCellGenome, actions: Sequence[Action]) -> RenasCellGenome:
    blocks = list(genome.blocks)
    for action in actions:
        blocks[action.block] = blocks[action.block].replace(action.position, action.value)
    return RenasCellGenome(tuple(blocks))


def all_genomes(blocks: int, ops: Sequence[str]) -> itertools.product:
    """Every genome of a (small) space, as tuples of blocks: for brute-force checks."""
    per_block = [
        [
            Block(i1, i2, o1, o2)
            for i1 in range(input_choices(b))
            for i2 in range(input_choices(b))
            for o1 in ops
            for o2 in ops
        ]
        for b in range(blocks)
    ]
    return itertools.product(*per_block)
