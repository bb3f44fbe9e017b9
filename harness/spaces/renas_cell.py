"""The RENAS cell search space (Chen et al., CVPR 2019), `renas_cell`.

One cell type of B = 5 blocks (see `renas_cell_genome` for the genome, the paper's string notation and the
canonical form) stacked into NASNet's CIFAR skeleton (`renas_cell_build`). Space parameters: `blocks` (B),
`ops` (a subset of the six operations, for reduced cells), `cells` (#N per stage), `filters` (#F),
`stages`, `stem_multiplier`, `dropout`. The defaults are the search network of Sec. 4.3 (#N = 2, #F = 24);
the CIFAR-10 network of Table 1 is `cells = 6, filters = 32, dropout = 0.5` (`CIFAR_NETWORK`). Not built:
the auxiliary head and drop-path of the final training recipe (Sec. 5.1.2): the trainer has neither.

`named("renasnet")`: Fig. 3 is an image the paper text does not hold, so the cell cannot be read from the
paper; it is taken from the official repository (yukang2017/RENAS, commit fa6c795, `eval/symbol_renasnet.py`,
list `renasnet`, commented "5.366M 580M", Table 2's 5.36M / 580M), which uses it as both its normal and
its reduction cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from harness.errors import EvonasError, InvalidGenomeError
from harness.spaces.base import (
    VALID,
    ArchGraph,
    InputSpec,
    SearchSpace,
    Validity,
    canonical_json,
)
from harness.spaces.renas_cell_genome import (
    DEFAULT_BLOCKS,
    OP_DESCRIPTIONS,
    OPS,
    Action,
    Block,
    RenasCellGenome,
    apply_actions,
    canonical_blocks,
    check_genome,
    decode_genome,
    encode_genome,
    from_official_code,
    input_choices,
    input_name,
    output_blocks,
    random_actions,
    sample_genome,
    space_size,
)

if TYPE_CHECKING:
    import optuna

#: the official code's RENASNet cell, [op code, input] per node (eval/symbol_renasnet.py, `renasnet`)
RENASNET_OFFICIAL_CODE: tuple[tuple[int, int], ...] = (
    (1, 0), (0, 1), (7, 1), (0, 1), (0, 0), (3, 0), (1, 1), (0, 0), (7, 2), (0, 2),
)  # fmt: skip
SEARCH_NETWORK: dict[str, int] = {"cells": 2, "filters": 24}  # Sec. 4.3
CIFAR_NETWORK: dict[str, Any] = {"cells": 6, "filters": 32, "dropout": 0.5}  # Table 1, RENASNet (6, 32)
MAX_MUTATION_TRIES = 100


class RenasCellSpace(SearchSpace[RenasCellGenome]):
    name = "renas_cell"
    version = "1"
    description = (
        "RENAS (Chen et al. 2019): one 5-block cell type in NASNet's skeleton, stride-2 cells reduce"
    )

    def __init__(
        self,
        blocks: int = DEFAULT_BLOCKS,
        ops: Sequence[str] = OPS,
        cells: int = SEARCH_NETWORK["cells"],
        filters: int = SEARCH_NETWORK["filters"],
        stages: int = 3,
        stem_multiplier: int = 3,
        dropout: float = 0.0,
    ) -> None:
        self.blocks = int(blocks)
        self.ops = tuple(str(o) for o in ops)
        self.cells = int(cells)
        self.filters = int(filters)
        self.stages = int(stages)
        self.stem_multiplier = int(stem_multiplier)
        self.dropout = float(dropout)
        if not 1 <= self.blocks <= 12:
            raise EvonasError(f"renas_cell blocks must lie in [1, 12], got {self.blocks}")
        if not self.ops or len(set(self.ops)) != len(self.ops) or any(o not in OPS for o in self.ops):
            raise EvonasError(f"renas_cell ops must be distinct names among {', '.join(OPS)}, got {self.ops}")
        if self.cells < 1 or self.filters < 2 or self.stages < 1 or self.stem_multiplier < 1:
            raise EvonasError("renas_cell needs cells >= 1, filters >= 2, stages >= 1, stem_multiplier >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise EvonasError(f"renas_cell dropout must lie in [0, 1), got {self.dropout}")

    @property
    def params(self) -> dict[str, Any]:
        return {
            "blocks": self.blocks,
            "ops": list(self.ops),
            "cells": self.cells,
            "filters": self.filters,
            "stages": self.stages,
            "stem_multiplier": self.stem_multiplier,
            "dropout": self.dropout,
        }

    def _check(self, genome: RenasCellGenome) -> RenasCellGenome:
        return check_genome(genome, self.blocks, self.ops)

    # --- counts ---
    def size(self) -> int:
        """Number of genomes: (6^5 x 6!)^2 = 3.1 x 10^13 for the paper's cell (Sec. 3.3)."""
        return space_size(self.blocks, len(self.ops))

    @property
    def token_count(self) -> int:
        """Tokens of the string notation: 5#B (i1, i2, o1, o2, A per block)."""
        return 5 * self.blocks

    @property
    def variable_token_count(self) -> int:
        """Tokens the search varies: 4#B (the combiner A is fixed to addition)."""
        return 4 * self.blocks

    # --- sampling and variation ---
    def sample(self, rng: np.random.Generator) -> RenasCellGenome:
        return sample_genome(rng, self.blocks, self.ops)

    def random_actions(self, genome: RenasCellGenome, rng: np.random.Generator) -> list[Action]:
        return random_actions(self._check(genome), rng, self.ops)

    def apply(self, genome: RenasCellGenome, actions: Sequence[Action]) -> RenasCellGenome:
        return self._check(apply_actions(self._check(genome), actions))

    def mutate(self, genome: RenasCellGenome, rng: np.random.Generator) -> RenasCellGenome:
        """Random mutation of Sec. 5.3's EA: per block one of i1, i2, o1, o2 set to a uniform value.

        Drawn again (up to 100 times) while the child is the parent's network, so that a generic
        algorithm always gets a new network.
        """
        parent = self.canonical(genome)
        child = genome
        for _ in range(MAX_MUTATION_TRIES):
            child = self.apply(genome, self.random_actions(genome, rng))
            if self.canonical(child) != parent:
                break
        return child

    # --- identity ---
    def canonical(self, genome: RenasCellGenome) -> str:
        blocks = canonical_blocks(self._check(genome))
        return canonical_json(
            {
                "cell": [[[i, op] for i, op in block] for block in blocks],
                "net": [self.cells, self.filters, self.stages, self.stem_multiplier, self.dropout],
            }
        )

    # --- text form ---
    def encode(self, genome: RenasCellGenome) -> str:
        return encode_genome(self._check(genome))

    def decode(self, text: str) -> RenasCellGenome:
        return decode_genome(text, self.blocks, self.ops)

    # --- networks ---
    def build(self, genome: RenasCellGenome, task: InputSpec) -> nn.Module:
        from harness.spaces.renas_cell_build import RenasNet

        return RenasNet(
            self._check(genome),
            tuple(task.input_shape),
            task.num_classes,
            self.cells,
            self.filters,
            self.stages,
            self.stem_multiplier,
            self.dropout,
        )

    def is_valid(self, genome: RenasCellGenome, task: InputSpec) -> Validity:
        """Every cell builds (all paddings keep or halve the resolution, rounding up): only a malformed
        genome or input shape is invalid."""
        try:
            self._check(genome)
        except InvalidGenomeError as exc:
            return Validity(False, str(exc))
        if len(task.input_shape) != 3 or min(task.input_shape) < 1:
            return Validity(False, f"input shape {task.input_shape} is not C x H x W")
        return VALID

    # --- references, Optuna, pictures ---
    def named_architectures(self) -> Mapping[str, str]:
        if self.blocks != DEFAULT_BLOCKS or not {"sep3", "sep5", "avg3", "id"} <= set(self.ops):
            return {}
        return {"renasnet": "RENASNet's cell (Fig. 3; read from the official code, see the module doc)"}

    def named(self, name: str) -> RenasCellGenome:
        if name == "renasnet" and name in self.named_architectures():
            return self._check(from_official_code(RENASNET_OFFICIAL_CODE))
        return super().named(name)

    def suggest(self, trial: optuna.trial.BaseTrial) -> RenasCellGenome:
        """Per block b (1-based) `b<b>_i1`, `b<b>_i2` (input names) and `b<b>_o1`, `b<b>_o2` (op names)."""
        out = []
        for b in range(self.blocks):
            names = [input_name(v) for v in range(input_choices(b))]
            i1 = names.index(str(trial.suggest_categorical(f"b{b + 1}_i1", names)))
            i2 = names.index(str(trial.suggest_categorical(f"b{b + 1}_i2", names)))
            o1 = str(trial.suggest_categorical(f"b{b + 1}_o1", list(self.ops)))
            o2 = str(trial.suggest_categorical(f"b{b + 1}_o2", list(self.ops)))
            out.append(Block(i1, i2, o1, o2))
        return RenasCellGenome(tuple(out))

    def graph(self, genome: RenasCellGenome) -> ArchGraph:
        self._check(genome)
        nodes: list[tuple[str, str]] = [("c-2", "cell c-2"), ("c-1", "cell c-1")]
        edges: list[tuple[str, str]] = []
        for b, block in enumerate(genome.blocks, start=1):
            nodes.append((f"b{b}", f"block {b} (+)"))
            for k, (i, op) in enumerate(((block.i1, block.o1), (block.i2, block.o2)), start=1):
                nodes.append((f"b{b}.{k}", op))
                edges.append((input_name(i) if i < 2 else f"b{i - 1}", f"b{b}.{k}"))
                edges.append((f"b{b}.{k}", f"b{b}"))
        nodes.append(("out", "concat"))
        edges.extend((f"b{k + 1}", "out") for k in output_blocks(genome))
        return ArchGraph(tuple(nodes), tuple(edges))

    def summary(self, genome: RenasCellGenome) -> dict[str, float]:
        self._check(genome)
        ops = [op for b in genome.blocks for op in (b.o1, b.o2)]
        return {
            "outputs": float(len(output_blocks(genome))),
            "separable": float(sum(op.startswith("sep") for op in ops)),
            "pooling": float(sum(op in ("avg3", "max3") for op in ops)),
        }


def op_descriptions() -> dict[str, str]:
    return dict(OP_DESCRIPTIONS)
