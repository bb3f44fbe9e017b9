"""The Algorithm contract: ask/tell search strategies driven by one passed-in numpy Generator.

`ask(n)` hands out up to `n` candidates (fewer, or none, when the algorithm waits for results of what it
already handed out, e.g. the rest of a generation); `tell()` gives results back in any order. An algorithm
that has nothing more to propose says so with `finished`. `state_dict()` / `load_state_dict()` capture
everything, the generator's state included, so a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from harness.spaces.base import SearchSpace

G = TypeVar("G")


@dataclass(frozen=True)
class Candidate(Generic[G]):
    """A genome the algorithm wants evaluated, and which replicate (training seed) of it.

    Replicate 0 is the first training of a network; re-evaluation (Genetic CNN averages over occurrences)
    asks for replicate 1, 2, ... and gets exactly the result any other algorithm would get for it.
    """

    genome: G
    replicate: int = 0
    generation: int | None = None  # generational algorithms label their candidates (reports group by it)


@dataclass(frozen=True)
class Outcome:
    """What an algorithm learns about a candidate. `fitness` is higher-is-better; invalid or failed = 0.

    `params` is the network's parameter count (not the algorithm's hyperparameters, `Algorithm.params`).
    """

    arch_hash: str
    fitness: float
    status: str = "ok"
    val_acc: float | None = None
    test_acc: float | None = None
    params: int | None = None
    flops: int | None = None
    train_seconds: float = 0.0
    predicted: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


Observation = tuple[Candidate[Any], Outcome]


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """A deep copy of the generator's state (JSON-serialisable)."""
    return copy.deepcopy(rng.bit_generator.state)


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = copy.deepcopy(state)


class Algorithm(ABC, Generic[G]):
    """Base class of every search strategy (see docs/design.md, 'Algorithm')."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: True when the algorithm proposes whole generations and waits for all of them before moving on.
    generational: ClassVar[bool] = False

    def __init__(self, space: SearchSpace[G], rng: np.random.Generator) -> None:
        self.space = space
        self.rng = rng

    @property
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The algorithm's hyperparameters (recorded with every run as `runs.params`)."""

    @abstractmethod
    def ask(self, n: int) -> list[Candidate[G]]:
        """Up to `n` candidates to evaluate next (possibly fewer, possibly none)."""

    @abstractmethod
    def tell(self, observations: Sequence[Observation]) -> None:
        """Results of candidates this algorithm handed out."""

    @property
    def finished(self) -> bool:
        """True once the algorithm will propose nothing more (e.g. the last generation is done)."""
        return False

    # --- persistence ---
    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: plain data (genomes as encodings), rng state included."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (on an instance built with the same space and params)."""

    # --- helpers for subclasses ---
    def _enc(self, genome: G) -> str:
        return self.space.encode(genome)

    def _dec(self, text: str) -> G:
        return self.space.decode(text)
