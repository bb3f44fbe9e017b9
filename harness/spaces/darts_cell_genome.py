"""The `darts_cell` genotype (Reolon, Fig. 1; the authors' `fne/evolution/utils.py`): values, text, canonical.

A cell of depth D has nodes 0 (its input) .. D (its output) and one *block* per edge j -> i (0 <= j < i <= D),
D(D+1)/2 blocks in the order (1,0), (2,0), (2,1), (3,0), ... (block index i(i-1)/2 + j). A block holds one
channel count per operation (`OPS`, the authors' order); a positive count c means "operation op from node j
to node i with c output channels", zero means no such edge. Node i concatenates what its edges produce, so
its width is the sum of its incoming counts.

The paper's string (`encode_cell`): the blocks' counts joined by '|', blocks separated by two spaces, then
'--' and the two evolution-strategy genes of the authors' code, `use_shared` (0/1) and `dataset` (0..10,
which class-biased data subset the scores use). A network genome is one or more cells, joined by ' / '.

Which genomes build the same network (`canonical_cell`): a node with no incoming channels is empty and its
outgoing edges carry nothing; a node from which no path reaches the output is dead. Only edges between
live, non-empty nodes are built. The canonical form lists those edges after renumbering the live inner
nodes by the smallest of all their topological orders, so genomes that differ in dead or empty nodes, in
the numbering of interchangeable nodes or in the strategy genes (they do not change the network) hash
alike.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from harness.errors import InvalidGenomeError
from harness.spaces.base import check_encoding, parse_int, short_repr

SPACE = "darts_cell"
OPS = (
    "dil_conv_3x3",
    "dil_conv_5x5",
    "dil_conv_7x7",
    "skip_connect",
    "clinc_3x3",
    "clinc_7x7",
    "avg_pool_3x3",
    "max_pool_3x3",
)
MAX_DEPTH = 8  #: decoding refuses deeper cells (8 levels: 36 blocks)
MAX_CHANNELS = 4096
MAX_CELLS = 16
CELL_SEPARATOR = " / "


@dataclass(frozen=True)
class Cell:
    blocks: tuple[tuple[int, ...], ...]
    use_shared: int = 1
    dataset: int = 5

    @property
    def depth(self) -> int:
        return depth_of(len(self.blocks))


@dataclass(frozen=True)
class DartsCellGenome:
    cells: tuple[Cell, ...]


def depth_of(blocks: int) -> int:
    """D with D(D+1)/2 == blocks, else InvalidGenomeError."""
    depth = int((math.isqrt(8 * blocks + 1) - 1) // 2)
    if blocks < 1 or depth * (depth + 1) // 2 != blocks:
        raise InvalidGenomeError(f"{SPACE}: {blocks} blocks is not D(D+1)/2 for a depth D >= 1")
    return depth


def block_index(i: int, j: int) -> int:
    """Index of the block of edge j -> i."""
    return i * (i - 1) // 2 + j


def edge_of(index: int) -> tuple[int, int]:
    """(j, i) of block `index`."""
    i = int((math.isqrt(8 * index + 1) + 1) // 2)
    while i * (i - 1) // 2 > index:
        i -= 1
    while (i + 1) * i // 2 <= index:
        i += 1
    return index - i * (i - 1) // 2, i


# --- text ---
def encode_cell(cell: Cell) -> str:
    blocks = "  ".join("|".join(str(c) for c in block) for block in cell.blocks)
    return f"{blocks}--{cell.use_shared}  {cell.dataset}"


def encode(genome: DartsCellGenome) -> str:
    return CELL_SEPARATOR.join(encode_cell(c) for c in genome.cells)


def decode_cell(text: str) -> Cell:
    arch, sep, strategy = text.partition("--")
    if not sep:
        raise InvalidGenomeError(f"{SPACE}: cell {short_repr(text)} has no '--' before its strategy genes")
    raw_blocks = arch.split("  ")
    blocks = []
    for raw in raw_blocks:
        counts = tuple(parse_int(tok, "channel count", SPACE) for tok in raw.split("|"))
        if len(counts) != len(OPS):
            raise InvalidGenomeError(
                f"{SPACE}: block {short_repr(raw)} has {len(counts)} counts, needs {len(OPS)}"
            )
        if any(c < 0 or c > MAX_CHANNELS for c in counts):
            raise InvalidGenomeError(
                f"{SPACE}: block {short_repr(raw)}: counts must lie in [0, {MAX_CHANNELS}]"
            )
        blocks.append(counts)
    if depth_of(len(blocks)) > MAX_DEPTH:
        raise InvalidGenomeError(f"{SPACE}: cells deeper than {MAX_DEPTH} are refused")
    genes = strategy.split("  ")
    if len(genes) != 2:
        raise InvalidGenomeError(
            f"{SPACE}: strategy {short_repr(strategy)} must be '<use_shared>  <dataset>'"
        )
    use_shared, dataset = (parse_int(g, "strategy gene", SPACE) for g in genes)
    if use_shared not in (0, 1) or not 0 <= dataset <= 10:
        raise InvalidGenomeError(
            f"{SPACE}: use_shared must be 0/1 and dataset in 0..10, got {short_repr(strategy)}"
        )
    return Cell(tuple(blocks), use_shared, dataset)


def decode(text: str) -> DartsCellGenome:
    check_encoding(text, SPACE)
    parts = text.strip().split(CELL_SEPARATOR)
    if len(parts) > MAX_CELLS:
        raise InvalidGenomeError(f"{SPACE}: more than {MAX_CELLS} cells")
    return DartsCellGenome(tuple(decode_cell(p) for p in parts))


# --- structure ---
Edge = tuple[int, int, int, int]  # (from node, to node, op index, channels)


def effective_edges(cell: Cell) -> tuple[tuple[Edge, ...], int]:
    """The edges that are built, and the output node; output -1 when the output node is empty."""
    depth = cell.depth
    nonempty = [True] + [False] * depth
    edges = []
    for index, block in enumerate(cell.blocks):
        j, i = edge_of(index)
        for op, c in enumerate(block):
            if c > 0 and nonempty[j]:
                edges.append((j, i, op, c))
                nonempty[i] = True
    if not nonempty[depth]:
        return (), -1
    live = {depth}
    for j, i, _, _ in sorted(edges, key=lambda e: -e[1]):  # targets in decreasing order
        if i in live:
            live.add(j)
    return tuple(e for e in edges if e[1] in live), depth


def canonical_cell(cell: Cell) -> str:
    edges, out = effective_edges(cell)
    if out < 0:
        return "empty"
    inner = sorted({n for e in edges for n in e[:2]} - {0, out})
    preds = {v: {j for j, i, _, _ in edges if i == v and j in inner} for v in inner}
    best: str | None = None
    for order in itertools.permutations(inner):
        position = {v: k for k, v in enumerate(order)}
        if any(position[p] > position[v] for v in inner for p in preds[v]):
            continue  # not a topological order
        label = {0: 0, out: len(inner) + 1, **{v: k + 1 for k, v in enumerate(order)}}
        text = ",".join(
            f"{a}>{b}:{OPS[op]}:{c}"
            for a, b, op, c in sorted((label[j], label[i], op, c) for j, i, op, c in edges)
        )
        if best is None or text < best:
            best = text
    assert best is not None
    return f"{len(inner) + 1}|{best}"


def canonical(genome: DartsCellGenome) -> str:
    return CELL_SEPARATOR.join(canonical_cell(c) for c in genome.cells)
