"""evonas experiment engine: search spaces, tasks, data, training, evaluation, executors, runner, CLI.

The Python API (`from harness import Benchmark, Experiment`) is imported on first use, so `import harness`
stays light (no torch, DuckDB or Arrow until a name below is used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cache.base import VERSION as __version__
from cache.base import register_space_resolver

if TYPE_CHECKING:
    from harness.benchmark import Benchmark, QueryResult
    from harness.experiment import Experiment, run_experiment

_LAZY = {
    "Benchmark": "harness.benchmark",
    "QueryResult": "harness.benchmark",
    "Experiment": "harness.experiment",
    "run_experiment": "harness.experiment",
}


def _get_space(name: str, **params: Any) -> Any:
    from harness.spaces import get_space

    return get_space(name, **params)


# The cache rebuilds stored architectures (import, verify) through the search spaces, which sit above it:
# any import of a harness module registers them (lazily), not only an import of harness.spaces.
register_space_resolver(_get_space)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = ["Benchmark", "Experiment", "QueryResult", "__version__", "run_experiment"]
