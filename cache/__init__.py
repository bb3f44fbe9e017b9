"""The evaluation cache: canonical hashing, DuckDB store, Parquet export/import, verification.

The names below are imported on first use, so that importing the base layer (`cache.base`, `cache.errors`,
`cache.hashing`) does not load DuckDB and Arrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cache.hashing import run_id, run_seed, training_seed
    from cache.parquet import export_parquet, import_parquet
    from cache.records import EvalRecord, RunRecord, TrajectoryRow
    from cache.store import Cache, default_cache_path

_LAZY = {
    "Cache": "cache.store",
    "EvalRecord": "cache.records",
    "RunRecord": "cache.records",
    "TrajectoryRow": "cache.records",
    "default_cache_path": "cache.store",
    "export_parquet": "cache.parquet",
    "import_parquet": "cache.parquet",
    "run_id": "cache.hashing",
    "run_seed": "cache.hashing",
    "training_seed": "cache.hashing",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'cache' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "Cache",
    "EvalRecord",
    "RunRecord",
    "TrajectoryRow",
    "default_cache_path",
    "export_parquet",
    "import_parquet",
    "run_id",
    "run_seed",
    "training_seed",
]
