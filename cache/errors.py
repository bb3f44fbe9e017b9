"""User-facing errors: each one becomes a single clear line and a non-zero exit in the CLI.

Part of the base layer (with `cache.base` and `cache.hashing`): it imports no other evonas module, so every
package can use it. `harness.errors` re-exports these same classes, so `from harness.errors import X` and
`except X` work with either name.
"""

from __future__ import annotations


class EvonasError(Exception):
    """Base class for every error that is the user's input or environment, not a bug."""


class InvalidGenomeError(EvonasError, ValueError):
    """A genome or its string encoding is malformed for the space it was given to."""


class UnknownNameError(EvonasError, KeyError):
    """An unknown space, algorithm, task preset, dataset or named architecture."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one plain line
        return str(self.args[0]) if self.args else ""


class ConfigError(EvonasError):
    """An experiment file that cannot be read or does not describe a valid experiment."""


class DatasetMissingError(EvonasError):
    """A dataset's files are not present under the data root (and were not downloaded)."""


class CacheError(EvonasError):
    """The evaluation cache is corrupt, locked by another process, or asked for something it lacks."""


class CheckpointError(CacheError):
    """A stored checkpoint is not an evonas JSON checkpoint of this run (corrupt, foreign, an old pickle)."""


class TransientTrainingError(EvonasError):
    """A training that produced no result for a reason outside the network (out of memory, a lost worker).

    Never stored: executors retry it, and after their last attempt the run stops with one line (resumable).
    """


class OperationNotSupported(EvonasError):
    """A search space was asked for an optional operation it does not define (e.g. crossover)."""


def unknown(kind: str, name: str, known: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build the standard 'unknown X' error listing what is known."""
    return UnknownNameError(f"unknown {kind} {name!r}; known: {', '.join(sorted(known))}")
