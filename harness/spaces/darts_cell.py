"""Search space `darts_cell` (Reolon, "NAS with genetic algorithms and DARTS"): DARTS-style cells as strings.

Genotype, text and canonical form: `darts_cell_genome`; networks: `darts_cell_build`. Variation follows
the authors' `fne/evolution/mutations.py`, `crossover.py` and `utils.correct_genotype`, with numpy
Generators in place of `random`/`torch.rand`:

- mutation (`mutate_with`): (a) with `p_mutation`, zero the smallest positive count of block 0 when more
  than half of its counts are positive ("reduce channels"); (b) with `p_mutation`, *add channels*: an
  operation drawn with `op_weights` (uniform by default), a block (a random one, or with probability 1/2
  one of the backbone blocks i(i+1)/2 - 1, then moved with probability 0.7 to each block already using
  that operation), its count raised to at least 2^floor(6u); (c) with `p_swap`, *swap* block 0 with a
  random other block; the strategy genes flip/shift (0.04 / 0.24, as the authors'); (d) with
  `p_mutation x p_resize`, *resize*: add a level whose last block gets 16 channels of a random operation,
  or drop the last level (probability growing with the cell's total width, as the authors'). Then repair:
  an empty last level is dropped, any other empty level gets 1..7 channels of a random operation in its
  last block. `op_weights` and `explore` are where an algorithm's learned "global evolution strategy"
  enters (`zero_cost_ga` keeps per-operation success counts, as the authors' `Mutations` does).
- crossover: for every block entry, the count of either parent with probability 1/2 (the authors'
  entry-wise form of the paper's "i-th character of either parent"; characters of the string would break
  numbers apart), blocks beyond the shorter parent from the longer, and the child's depth that of either
  parent; then repair. A genome of several cells crosses cell by cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import InvalidGenomeError
from harness.spaces import darts_cell_genome as g
from harness.spaces.base import VALID, ArchGraph, InputSpec, SearchSpace, Validity
from harness.spaces.darts_cell_genome import OPS, Cell, DartsCellGenome

if TYPE_CHECKING:
    import optuna
    from torch import nn

N_OPS = len(OPS)
CHOICES = (0, 1, 2, 4, 8, 16, 32)  # Optuna's channel choices (the mutation adds powers of two up to 32)


def _zeros(n: int) -> list[list[int]]:
    return [[0] * N_OPS for _ in range(n)]


def _blocks(cell: Cell) -> list[list[int]]:
    return [list(b) for b in cell.blocks]


def repair(blocks: list[list[int]], rng: np.random.Generator | None) -> list[list[int]]:
    """The authors' `correct_genotype`: no empty level (the last is dropped, others get a connection)."""
    depth = g.depth_of(len(blocks))
    for level in range(depth, 0, -1):
        first, last = g.block_index(level, 0), g.block_index(level, level - 1)
        if any(any(b) for b in blocks[first : last + 1]):
            continue
        if level == depth and level > 1 and len(blocks) == last + 1:
            blocks = blocks[:first]
        else:
            op = int(rng.integers(N_OPS)) if rng is not None else 0
            blocks[last][op] = int(rng.integers(1, 8)) if rng is not None else 16
    return blocks


class DartsCellSpace(SearchSpace[DartsCellGenome]):
    name = "darts_cell"
    version = "1"
    description = "Reolon GA+DARTS: DARTS-style cells, per-edge operation channel counts as a string"
    supports_crossover = True

    def __init__(
        self,
        cells: int = 1,
        max_depth: int = 5,
        dropout: float = 0.5,
        p_mutation: float = 0.8,
        p_resize: float = 0.3,
        p_swap: float = 0.5,
    ) -> None:
        if not 1 <= int(cells) <= g.MAX_CELLS or not 1 <= int(max_depth) <= g.MAX_DEPTH:
            raise InvalidGenomeError(f"darts_cell: cells in 1..{g.MAX_CELLS}, max_depth in 1..{g.MAX_DEPTH}")
        self.n_cells = int(cells)
        self.max_depth = int(max_depth)
        self.dropout = float(dropout)
        self.p_mutation, self.p_resize, self.p_swap = float(p_mutation), float(p_resize), float(p_swap)

    @property
    def params(self) -> dict[str, Any]:
        return {
            "cells": self.n_cells,
            "max_depth": self.max_depth,
            "dropout": self.dropout,
            "p_mutation": self.p_mutation,
            "p_resize": self.p_resize,
            "p_swap": self.p_swap,
        }

    # --- sampling and variation ---
    def sample(self, rng: np.random.Generator) -> DartsCellGenome:
        """The authors' `get_rand`: a depth-1 all-zero cell ('--1  5'), mutated, repaired."""
        seed = Cell(tuple(tuple(b) for b in _zeros(1)), 1, 5)
        return DartsCellGenome(tuple(self._mutate_cell(seed, rng, None, 0.5) for _ in range(self.n_cells)))

    def mutate(self, genome: DartsCellGenome, rng: np.random.Generator) -> DartsCellGenome:
        return self.mutate_with(genome, rng)

    def mutate_with(
        self,
        genome: DartsCellGenome,
        rng: np.random.Generator,
        op_weights: Sequence[float] | None = None,
        explore: float = 0.5,
    ) -> DartsCellGenome:
        """One mutation of one random cell, with the operation drawn by `op_weights` (see the module doc)."""
        k = int(rng.integers(len(genome.cells)))
        cells = list(genome.cells)
        cells[k] = self._mutate_cell(cells[k], rng, op_weights, explore)
        return DartsCellGenome(tuple(cells))

    def _mutate_cell(
        self, cell: Cell, rng: np.random.Generator, op_weights: Sequence[float] | None, explore: float
    ) -> Cell:
        blocks = _blocks(cell)
        if rng.random() < self.p_mutation:  # (a) reduce channels
            positive = [(c, op) for op, c in enumerate(blocks[0]) if c > 0]
            if len(positive) > N_OPS / 2:
                blocks[0][min(positive)[1]] = 0
        if rng.random() < self.p_mutation:  # (b) add channels
            weights = np.ones(N_OPS) if op_weights is None else np.asarray(op_weights, dtype=float) + 1e-9
            op = int(rng.choice(N_OPS, p=weights / weights.sum()))
            if rng.random() < 0.5:
                i = int(rng.integers(len(blocks)))
            else:
                level = int(rng.integers(0, int((len(blocks) * 2) ** 0.5) + 1))
                i = (level * (level + 1) // 2 - 1) % len(blocks)
            for b, block in enumerate(blocks):
                if block[op] > 0 and rng.random() > 0.3:
                    i = b
            blocks[i][op] = max(blocks[i][op], 2 ** int(rng.random() * 6))
        if len(blocks) > 1 and rng.random() < self.p_swap:  # (c) swap blocks
            j = 1 + int(rng.integers(len(blocks) - 1))
            blocks[0], blocks[j] = blocks[j], blocks[0]
        use_shared, dataset = cell.use_shared, cell.dataset
        u = rng.random(2)
        if u[0] < 0.04:
            use_shared = 1 - use_shared
        if u[1] < 0.24:
            dataset = int((dataset + (u[1] - 0.01) * 50) % 10)
        if rng.random() < self.p_mutation:  # (d) resize
            blocks = self._resize(blocks, rng)
        blocks = repair(blocks, rng)
        return Cell(tuple(tuple(b) for b in blocks), use_shared, dataset)

    def _resize(self, blocks: list[list[int]], rng: np.random.Generator) -> list[list[int]]:
        depth = g.depth_of(len(blocks))
        total = float(sum(map(sum, blocks)))
        p_reduce = total / (total + 10.0) * self.p_resize * 0.75
        p_add = 10.0 / (total * 0.75 + 10.0) * self.p_resize
        if depth > 1 and rng.random() < p_reduce:
            return blocks[: g.block_index(depth, 0)]
        if depth < self.max_depth and rng.random() < p_add:
            new = _zeros(depth + 1)
            new[-1][int(rng.integers(N_OPS))] = 16
            return blocks + new
        return blocks

    def crossover(
        self, a: DartsCellGenome, b: DartsCellGenome, rng: np.random.Generator
    ) -> tuple[DartsCellGenome, DartsCellGenome]:
        def child(x: DartsCellGenome, y: DartsCellGenome) -> DartsCellGenome:
            cells = []
            for k, cx in enumerate(x.cells):
                cy = y.cells[k % len(y.cells)]
                cells.append(self._cross_cell(cx, cy, rng))
            return DartsCellGenome(tuple(cells))

        return child(a, b), child(b, a)

    def _cross_cell(self, x: Cell, y: Cell, rng: np.random.Generator) -> Cell:
        long, short = (x, y) if len(x.blocks) >= len(y.blocks) else (y, x)
        blocks = _blocks(long)
        for b, block in enumerate(short.blocks):
            for op in range(N_OPS):
                if rng.random() < 0.5:
                    blocks[b][op] = block[op]
        keep = len(x.blocks) if rng.random() < 0.5 else len(y.blocks)
        blocks = repair(blocks[:keep], rng)
        use_shared = x.use_shared if rng.random() < 0.5 else y.use_shared
        dataset = x.dataset if rng.random() < 0.5 else y.dataset
        return Cell(tuple(tuple(c) for c in blocks), use_shared, dataset)

    # --- identity and text ---
    def canonical(self, genome: DartsCellGenome) -> str:
        return g.canonical(genome)

    def encode(self, genome: DartsCellGenome) -> str:
        return g.encode(genome)

    def decode(self, text: str) -> DartsCellGenome:
        return g.decode(text)

    # --- networks ---
    def is_valid(self, genome: DartsCellGenome, task: InputSpec) -> Validity:
        for k, cell in enumerate(genome.cells):
            if g.effective_edges(cell)[1] < 0:
                return Validity(False, f"cell {k}: the output node receives no channels")
        if min(task.input_shape[1:]) < 7 and any(
            op == 5 for cell in genome.cells for _, _, op, _ in g.effective_edges(cell)[0]
        ):
            return Validity(False, "clinc_7x7 needs inputs of at least 7 x 7 pixels")
        return VALID

    def build(self, genome: DartsCellGenome, task: InputSpec) -> nn.Module:
        from harness.spaces.darts_cell_build import DartsCellNet

        validity = self.is_valid(genome, task)
        if not validity:
            raise InvalidGenomeError(f"darts_cell: {validity.reason}")
        return DartsCellNet(genome.cells, task.input_shape, task.num_classes, self.dropout)

    # --- references and Optuna ---
    def named_architectures(self) -> Mapping[str, str]:
        return {name: text for name, (text, _) in _NAMED.items()}

    def named(self, name: str) -> DartsCellGenome:
        if name not in _NAMED:
            return super().named(name)
        return DartsCellGenome(tuple(_NAMED[name][1] for _ in range(self.n_cells)))

    def suggest(self, trial: optuna.trial.BaseTrial) -> DartsCellGenome:
        cells = []
        for k in range(self.n_cells):
            depth = trial.suggest_int(f"c{k}_depth", 1, self.max_depth)
            blocks = [
                [trial.suggest_categorical(f"c{k}_b{b}_{op}", CHOICES) for op in OPS]
                for b in range(depth * (depth + 1) // 2)
            ]
            cells.append(Cell(tuple(tuple(b) for b in repair(blocks, None)), 1, 5))
        return DartsCellGenome(tuple(cells))

    def graph(self, genome: DartsCellGenome) -> ArchGraph:
        nodes, edges = [], []
        for k, cell in enumerate(genome.cells):
            live, _ = g.effective_edges(cell)
            for j, i, op, c in live:
                eid = f"c{k}e{j}_{i}_{op}"
                nodes.append((eid, f"{OPS[op]} x{c}"))
                edges += [(f"c{k}n{j}", eid), (eid, f"c{k}n{i}")]
            for n in sorted({x for e in live for x in e[:2]}):
                nodes.append((f"c{k}n{n}", f"cell {k} node {n}"))
        return ArchGraph(tuple(nodes), tuple(edges))

    def summary(self, genome: DartsCellGenome) -> dict[str, float]:
        live = [g.effective_edges(c)[0] for c in genome.cells]
        return {
            "cells": float(len(genome.cells)),
            "edges": float(sum(len(e) for e in live)),
            "channels": float(sum(c for e in live for *_, c in e)),
        }


def _cell(blocks: dict[tuple[int, int], dict[str, int]], depth: int) -> Cell:
    out = _zeros(depth * (depth + 1) // 2)
    for (i, j), ops in blocks.items():  # keys are (to node, from node)
        for op, c in ops.items():
            out[g.block_index(i, j)][OPS.index(op)] = c
    return Cell(tuple(tuple(b) for b in out), 1, 5)


# Fixed references in the space for the paper's Fig. 4 sanity check (the paper shows no genotype of them):
_NAMED: dict[str, tuple[str, Cell]] = {
    "resnet_like": (
        "a residual block: two 3x3 separable convolutions 0->1->2 (32 channels), the output concatenating "
        "the second convolution and a skip connection from the input",
        _cell(
            {
                (1, 0): {"dil_conv_3x3": 32},
                (2, 1): {"dil_conv_3x3": 32},
                (3, 2): {"skip_connect": 32},
                (3, 0): {"skip_connect": 32},
            },
            3,
        ),
    ),
    "vgg_like": (
        "a VGG stage: three 3x3 separable convolutions in a chain (32 channels), then 3x3 max pooling",
        _cell(
            {
                (1, 0): {"dil_conv_3x3": 32},
                (2, 1): {"dil_conv_3x3": 32},
                (3, 2): {"dil_conv_3x3": 32},
                (4, 3): {"max_pool_3x3": 32},
            },
            4,
        ),
    ),
    "single_conv": (
        "a small handcrafted cell: one 3x3 separable convolution with 8 channels",
        _cell({(1, 0): {"dil_conv_3x3": 8}}, 1),
    ),
}
