"""User-facing errors (re-exported from the base layer, `cache.errors`: the very same classes).

`from harness.errors import ConfigError` and `from cache.errors import ConfigError` name one class, so an
`except` clause written with either catches both.
"""

from __future__ import annotations

from cache.errors import (
    CacheError,
    CheckpointError,
    ConfigError,
    DatasetMissingError,
    EvonasError,
    InvalidGenomeError,
    OperationNotSupported,
    TransientTrainingError,
    UnknownNameError,
    unknown,
)

__all__ = [
    "CacheError",
    "CheckpointError",
    "ConfigError",
    "DatasetMissingError",
    "EvonasError",
    "InvalidGenomeError",
    "OperationNotSupported",
    "TransientTrainingError",
    "UnknownNameError",
    "unknown",
]
