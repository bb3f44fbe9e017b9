"""The Algorithm contract: ask/tell search strategies driven by one passed-in numpy Generator.

`ask(n)` hands out up to `n` candidates (fewer, or none, when the algorithm waits for results of what it
already handed out, e.g. the rest of a generation); `tell()` gives results back in any order. An algorithm
that has nothing more to propose says so with `finished`. Every candidate carries a ticket, a number unique
within the run (0, 1, 2, ... in the order of asking, kept in the state), and `tell` finds what a result
belongs to by its ticket alone, the same way in every algorithm (never by genome or position: one genome
may be handed out twice). `state_dict()` / `load_state_dict()` capture
everything, the generator's state included, so a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Container, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from harness.errors import EvonasError
from harness.spaces.base import SearchSpace, short_repr

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
    ticket: int | None = None  # unique per ask within a run (Algorithm.issue); None: not handed out by one


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

#: roles of a generation entry: "member" (a GA individual as evaluated, its fitness the algorithm's),
#: "child" (a DE candidate evaluated in the generation: the initial population in generation 0),
#: "survivor" (DE's population after the generation's selection, best score first)
ROLES = ("member", "child", "survivor")


@dataclass(frozen=True)
class GenerationEntry:
    """One row of a generation as the algorithm saw it (written to the run log's `generations` table).

    `member` is the position within (generation, role); `fitness` is the algorithm's own value (the
    Genetic CNN GA's mean over all occurrences so far, DE's objective); `params` and `score` are what DE's
    selection used (None elsewhere).
    """

    generation: int
    role: str
    member: int
    arch_hash: str
    encoding: str
    fitness: float
    replicate: int = 0
    params: int | None = None
    score: float | None = None


@dataclass(frozen=True)
class AlgorithmConfig:
    """An algorithm's hyper-parameters: a frozen dataclass per algorithm (its `Config`), checked once in
    `__post_init__`. Its fields are the keywords `get_algorithm` and the [[algorithms]] `params` table
    accept (harness.config_validation reads names and types from them); `params()` is the dict recorded
    with every run."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise EvonasError naming the algorithm and the bad value (none by default)."""

    def params(self) -> dict[str, Any]:
        return asdict(self)


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """A deep copy of the generator's state (JSON-serialisable)."""
    return copy.deepcopy(rng.bit_generator.state)


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = copy.deepcopy(state)


class Algorithm(ABC, Generic[G]):
    """Base class of every search strategy (see docs/design.md, 'Algorithm')."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: the hyper-parameters' dataclass (None: the algorithm takes open-ended keywords, e.g. Optuna's)
    Config: ClassVar[type[AlgorithmConfig] | None] = None
    config: AlgorithmConfig  # set by the subclass (an instance of its Config)
    #: True when the algorithm proposes whole generations and waits for all of them before moving on.
    generational: ClassVar[bool] = False

    def __init__(self, space: SearchSpace[G], rng: np.random.Generator) -> None:
        self.space = space
        self.rng = rng
        self.tickets = 0  # tickets issued so far: the next candidate gets this number

    def issue(self, genome: G, replicate: int = 0, generation: int | None = None) -> Candidate[G]:
        """A new candidate with the next ticket (every `ask` hands out candidates made here)."""
        candidate = Candidate(genome, replicate, generation, self.tickets)
        self.tickets += 1
        return candidate

    def ticket_of(self, candidate: Candidate[Any], waiting: Container[int]) -> int:
        """The candidate's ticket if it is among those `waiting` for a result, else one clear error."""
        if candidate.ticket is None or candidate.ticket not in waiting:
            raise EvonasError(
                f"{self.name} was told about a candidate it is not waiting for "
                f"(ticket {candidate.ticket}): {short_repr(self._enc(candidate.genome), 80)}"
            )
        return candidate.ticket

    @property
    def params(self) -> dict[str, Any]:
        """The algorithm's hyper-parameters (recorded with every run): derived from its config."""
        return self.config.params()

    @classmethod
    def make_config(cls, config: AlgorithmConfig | None, params: dict[str, Any]) -> Any:
        """`config` as given, or the class's Config built from keyword `params` (not both)."""
        assert cls.Config is not None, f"{cls.__name__} has no Config"
        if config is None:
            return cls.Config(**params)
        if params or not isinstance(config, cls.Config):
            raise TypeError(f"{cls.__name__} takes a {cls.Config.__name__} or keywords, not {config!r}")
        return config

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

    def generations_completed(self) -> int:
        """Generations completed so far (0 for an algorithm without generations)."""
        return 0

    def generation_log(self, since: int = 0) -> list[GenerationEntry]:
        """The entries of every completed generation numbered `since` or later, read from the state (the
        runner writes each generation once, when `generations_completed()` passes it)."""
        return []

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
