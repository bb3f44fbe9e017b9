"""`evonas demo`: the embedded default job, as a new user first meets evonas.

1. The shipped digits table (`benchmarks/tables/genetic_cnn-digits`) is imported into the cache (checked
   like any import; rows already there are kept), so the comparison has a benchmark to run on.
2. The comparison (`harness/demo.toml`): five algorithms x 20 seeds x 220 evaluations in surrogate mode,
   every answer predicted by the model of that table (fitted on the first call, stored in the cache).
3. A live part (`harness/demo_live.toml`): a few real networks trained on the CPU, flagged as live,
   under a task of their own (so the table, and with it the comparison, is the same on every call).
4. The report of both.
A second `evonas demo` finds the model and the live networks in the cache and trains nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from harness.errors import EvonasError

log = logging.getLogger(__name__)

TABLE = "genetic_cnn-digits"


def shipped_tables() -> Path:
    """`benchmarks/tables` of the checkout this package runs from."""
    return Path(__file__).resolve().parents[1] / "benchmarks" / "tables"


def shipped_table(name: str = TABLE) -> Path:
    path = shipped_tables() / name
    if not (path / "manifest.json").is_file():
        raise EvonasError(
            f"the shipped table {name} is not at {path}: the demo runs from a clone of the repository "
            "(pip install -e .), where benchmarks/tables/ holds it"
        )
    return path


def demo_configs() -> tuple[Any, Any]:
    """The comparison and the live part, as ExperimentConfigs."""
    from harness.config import embedded_config

    return embedded_config("demo.toml"), embedded_config("demo_live.toml")


def import_table(cache_path: Path) -> list[str]:
    """Import the shipped table into the cache (rows already stored are kept); the import's lines."""
    from cache.parquet import import_into

    table = shipped_table()
    result = import_into(cache_path, table, on_conflict="skip")
    return result.lines(table.relative_to(shipped_tables().parents[1]))
