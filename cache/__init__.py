"""The evaluation cache: canonical hashing, DuckDB store, Parquet export/import, verification."""

from cache.hashing import run_id, run_seed, training_seed
from cache.parquet import export_parquet, import_parquet
from cache.records import EvalRecord, RunRecord, TrajectoryRow
from cache.store import Cache, default_cache_path

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
