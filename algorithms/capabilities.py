"""What a search space must offer beyond `SearchSpace` for some algorithms: declared, not probed.

Every space implements the `SearchSpace` contract (sample, mutate, encode, hash, ...). A few algorithms
need operators that only some spaces have; each such capability is a Protocol here, and an algorithm
checks `isinstance(space, Capability)` once, when it is built, instead of probing attributes. A new space
gains an algorithm by implementing the protocol's methods (no registration): e.g. a binary stage space
with `zeros`, `flip_bits` and `swap_stages` can be searched by the Genetic CNN GA.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class BinaryStageSpace(Protocol):
    """Genetic CNN's operators (Xie & Yuille 2017): the all-zeros genome, bit flips, stage swaps."""

    def zeros(self) -> Any:
        """The genome whose bits are all 0 (the GA's `init = "zeros"`)."""
        ...

    def flip_bits(self, genome: Any, rate: float, rng: np.random.Generator) -> Any:
        """Each bit flipped with probability `rate`."""
        ...

    def swap_stages(self, a: Any, b: Any, rate: float, rng: np.random.Generator) -> tuple[Any, Any]:
        """Each pair of stages of `a` and `b` swapped with probability `rate`."""
        ...


@runtime_checkable
class DeMutationSpace(Protocol):
    """Differential evolution's mutation v = x_best + F (x_r2 - x_r3) on the space's genomes."""

    def de_mutation(self, best: Any, r2: Any, r3: Any, rng: np.random.Generator) -> Any: ...


@runtime_checkable
class RedrawIoSpace(Protocol):
    """A space whose mutation can re-draw the input and output nodes too (macro_re's reference code)."""

    supports_redraw_io: bool

    def mutate(self, genome: Any, rng: np.random.Generator, *, redraw_io: bool = False) -> Any: ...


@runtime_checkable
class ActionSpace(Protocol):
    """A cell space edited by per-block actions (RENAS): its blocks, operation names, and the actions."""

    blocks: int
    ops: Sequence[str]

    def random_actions(self, genome: Any, rng: np.random.Generator) -> Sequence[Any]: ...

    def apply(self, genome: Any, actions: Sequence[Any]) -> Any: ...
