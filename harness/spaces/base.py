"""The SearchSpace contract shared by every search space.

A search space owns genomes (immutable values) and knows how to sample, vary, canonicalise, hash,
encode, decode and build them. Genomes never hold torch modules: `build()` creates a fresh module on demand.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np

from cache.base import canonical_json
from harness.errors import InvalidGenomeError, OperationNotSupported

if TYPE_CHECKING:
    import optuna
    from torch import nn

G = TypeVar("G")


class InputSpec(Protocol):
    """What building a network needs from a task: never its data, only its shape and class count."""

    @property
    def input_shape(self) -> tuple[int, int, int]: ...

    @property
    def num_classes(self) -> int: ...


@dataclass(frozen=True)
class Shape:
    """A plain InputSpec: channels x height x width input and a class count."""

    input_shape: tuple[int, int, int]
    num_classes: int


@dataclass(frozen=True)
class Validity:
    """Whether a genome builds a usable network for a task, and why not when it does not."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


VALID = Validity(True)


@dataclass(frozen=True)
class ArchGraph:
    """A drawable picture of a genome: labelled nodes and directed edges (ids are strings)."""

    nodes: tuple[tuple[str, str], ...]
    edges: tuple[tuple[str, str], ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # optional named clusters (e.g. stages)


# --- shared helpers of the decoders: every malformed input is one short InvalidGenomeError line ---
MAX_ENCODING_CHARS = 100_000  #: longer strings are refused before any parsing
MAX_INT_DIGITS = 9  #: integers in encodings have at most this many digits (ids, kernels, channels, widths)
QUOTE_CHARS = 200  #: error messages quote at most this much of the offending input

# printable ASCII plus the ASCII whitespace that separates tokens; anything else is refused
_FORBIDDEN_CHAR = re.compile(r"[^\x20-\x7e\t\n\r]")
_ASCII_INT = re.compile(r"-?[0-9]+")


def short_repr(value: Any, limit: int = QUOTE_CHARS) -> str:
    """`repr(value)` cut to about `limit` characters (with the full length noted), for one-line errors."""
    text = value if isinstance(value, str) and len(value) > 4 * limit else None
    if text is not None:  # don't repr a huge string in full just to cut it
        return f"{text[:limit]!r}... ({len(text)} characters)"
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # too deep, or an int beyond the str conversion limit
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def check_encoding(text: object, space: str) -> str:
    """The checks every `decode` starts with: a str, at most MAX_ENCODING_CHARS, printable ASCII only.

    Rejecting non-ASCII up front matters: Python's int() and the regex class \\d accept the digits of other
    scripts (Arabic-Indic U+0661, fullwidth U+FF11), and str.split() also splits on Unicode spaces and on
    the ASCII control separators U+001C..U+001F.
    """
    if not isinstance(text, str):
        raise InvalidGenomeError(f"{space}: a genome encoding must be a string, got {type(text).__name__}")
    if len(text) > MAX_ENCODING_CHARS:
        raise InvalidGenomeError(
            f"{space}: genome encoding has {len(text)} characters; at most {MAX_ENCODING_CHARS} are accepted"
        )
    bad = _FORBIDDEN_CHAR.search(text)
    if bad is not None:
        raise InvalidGenomeError(
            f"{space}: genome encoding has character {bad.group()!r} at position {bad.start()} "
            f"(only printable ASCII is accepted): {short_repr(text)}"
        )
    return text


def parse_int(token: str, what: str, space: str, max_digits: int = MAX_INT_DIGITS) -> int:
    """An ASCII decimal integer (optional '-') of at most `max_digits` digits, else InvalidGenomeError.

    The length check comes first, so a 5000-digit number never reaches int() (and its digit limit).
    """
    if _ASCII_INT.fullmatch(token) is None:
        raise InvalidGenomeError(f"{space}: {what} {short_repr(token)} is not a decimal integer")
    if len(token.lstrip("-")) > max_digits:
        raise InvalidGenomeError(f"{space}: {what} {short_repr(token)} has more than {max_digits} digits")
    return int(token)


class SearchSpace(ABC, Generic[G]):
    """Base class of every search space (see docs/design.md, 'SearchSpace').

    Subclasses set `name`, `version` and `description`, and take their parameters as keyword arguments
    (`get_space("genetic_cnn", stages=(3, 4, 5))`). `params` returns those parameters so that
    `get_space(space.name, **space.params)` rebuilds an equal space in another process.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str]
    supports_crossover: ClassVar[bool] = False

    # --- identity ---
    @property
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-serialisable constructor parameters of this space."""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.params == other.params  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.name, canonical_json(self.params)))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    # --- sampling and variation ---
    @abstractmethod
    def sample(self, rng: np.random.Generator) -> G:
        """A random genome drawn with the space's own initialisation distribution."""

    @abstractmethod
    def mutate(self, genome: G, rng: np.random.Generator) -> G:
        """One mutation of `genome` (the paper's operator where the space comes from a paper)."""

    def crossover(self, a: G, b: G, rng: np.random.Generator) -> tuple[G, G]:
        """Two children of `a` and `b`; only spaces with `supports_crossover` define it."""
        raise OperationNotSupported(f"search space {self.name!r} defines no crossover")

    # --- identity of networks ---
    @abstractmethod
    def canonical(self, genome: G) -> str:
        """A string equal for every genome that builds the same network (isomorphism-invariant)."""

    def hash(self, genome: G) -> str:
        """sha256 (hex) of the canonical form, the space name and the space version."""
        payload = f"{self.name}\x1f{self.version}\x1f{self.canonical(genome)}"
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    # --- text form ---
    @abstractmethod
    def encode(self, genome: G) -> str:
        """The genome as a string (the paper's notation where it has one); `decode` inverts it."""

    @abstractmethod
    def decode(self, text: str) -> G:
        """Parse `encode`'s output; raises InvalidGenomeError with one clear line on malformed text."""

    # --- networks ---
    @abstractmethod
    def build(self, genome: G, task: InputSpec) -> nn.Module:
        """A fresh, randomly initialised torch module for the task's input shape and class count."""

    def is_valid(self, genome: G, task: InputSpec) -> Validity:
        """Whether `genome` builds a working network for `task`; the reason when it does not.

        The default builds the network on torch's meta device (no memory, no arithmetic) inside a forked
        RNG scope, and runs one forward pass there: shape errors surface, nothing global changes. Spaces
        override it with cheaper structural checks where they have them.
        """
        import torch

        try:
            with torch.random.fork_rng(devices=[]), torch.device("meta"):
                module = self.build(genome, task)
                module.eval()
                with torch.no_grad():
                    module(torch.zeros((2, *task.input_shape)))
        except (RuntimeError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            return Validity(False, f"{type(exc).__name__}: {first}")
        return VALID

    # --- references, Optuna, pictures ---
    def named_architectures(self) -> Mapping[str, str]:
        """Names of reference architectures from the papers, each with a one-line description."""
        return {}

    def named(self, name: str) -> G:
        """The reference architecture called `name` (see `named_architectures`)."""
        from harness.errors import unknown

        raise unknown(f"named architecture of space {self.name!r}", name, list(self.named_architectures()))

    @abstractmethod
    def suggest(self, trial: optuna.trial.BaseTrial) -> G:
        """Define-by-run sampling of a genome through an Optuna trial."""

    def graph(self, genome: G) -> ArchGraph:
        """A drawable graph of the genome's network (used by reports)."""
        return ArchGraph(nodes=(("net", self.encode(genome)),), edges=())

    def summary(self, genome: G) -> dict[str, float]:
        """Space-specific descriptive numbers of a genome (e.g. node count), for reports."""
        return {}
