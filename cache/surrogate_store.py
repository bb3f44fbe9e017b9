"""Surrogate answers in the cache (tables `predictions`, `run_surrogates`) and bulk architecture rows.

The models themselves (table `surrogates`) are saved, loaded and fitted by `harness.surrogate_current`: a
model needs the search spaces to featurise genomes, and the cache sits below them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from cache.store import Cache, now

POLICIES = ("predicted", "measured_first")
DEFAULT_POLICY = "predicted"
PredictionRow = tuple[
    str, int, str, float | None, float | None, float | None
]  # arch, rep, status, val, test, s


def put_predictions(cache: Cache, model_id: str, rows: Sequence[PredictionRow]) -> None:
    """Store answers a model gave (INSERT OR IGNORE: an answer is a pure function of its key)."""
    if not rows:
        return
    table = pa.table(
        {
            "model_id": [model_id] * len(rows),
            "arch_hash": [r[0] for r in rows],
            "replicate": pa.array([r[1] for r in rows], type=pa.int32()),
            "status": [r[2] for r in rows],
            "val_acc": pa.array([r[3] for r in rows], type=pa.float64()),
            "test_acc": pa.array([r[4] for r in rows], type=pa.float64()),
            "train_seconds": pa.array([r[5] for r in rows], type=pa.float64()),
        }
    )
    cache.con.register("_evonas_new_predictions", table)
    try:
        cache.execute("INSERT OR IGNORE INTO predictions SELECT * FROM _evonas_new_predictions")
    finally:
        cache.con.unregister("_evonas_new_predictions")


def put_run_surrogate(cache: Cache, run_id: str, model_id: str, policy: str) -> None:
    cache.execute("INSERT OR REPLACE INTO run_surrogates VALUES (?, ?, ?)", [run_id, model_id, policy])


def run_surrogate(cache: Cache, run_id: str) -> tuple[str, str] | None:
    rows = cache.execute("SELECT model_id, policy FROM run_surrogates WHERE run_id = ?", [run_id]).fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def run_surrogates(cache: Cache, run_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    ids = sorted(set(run_ids))
    if not ids or not _has_table(cache, "run_surrogates"):
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = cache.execute(
        f"SELECT run_id, model_id, policy FROM run_surrogates WHERE run_id IN ({marks})", ids
    )
    return {r[0]: (r[1], r[2]) for r in rows.fetchall()}


def predictions(cache: Cache, model_ids: Iterable[str]) -> dict[tuple[str, str, int], PredictionRow]:
    """(model, arch, replicate) -> the stored answer, for the given models."""
    ids = sorted(set(model_ids))
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = cache.execute(
        "SELECT model_id, arch_hash, replicate, status, val_acc, test_acc, train_seconds FROM predictions "
        f"WHERE model_id IN ({marks})",
        ids,
    ).fetchall()
    return {(r[0], r[1], int(r[2])): (r[1], int(r[2]), r[3], r[4], r[5], r[6]) for r in rows}


@dataclass(frozen=True)
class ArchRow:
    """An architectures row to write in bulk (the arguments of `Cache.put_architecture`)."""

    arch_hash: str
    space: str
    space_version: str
    encoding: str
    canonical: str
    space_params: dict[str, Any]
    summary: dict[str, float]


def put_architectures(cache: Cache, rows: Sequence[ArchRow]) -> None:
    """INSERT OR IGNORE many architectures in one statement (an Arrow scan)."""
    if not rows:
        return
    stamp = now()
    table = pa.table(
        {
            "arch_hash": [r.arch_hash for r in rows],
            "space": [r.space for r in rows],
            "space_version": [r.space_version for r in rows],
            "encoding": [r.encoding for r in rows],
            "canonical": [r.canonical for r in rows],
            "space_params": [json.dumps(r.space_params, sort_keys=True) for r in rows],
            "summary": [json.dumps(r.summary or {}, sort_keys=True) for r in rows],
            "created_at": pa.array([stamp] * len(rows), type=pa.timestamp("us")),
        }
    )
    cache.con.register("_evonas_new_architectures", table)
    try:
        cache.execute(
            "INSERT OR IGNORE INTO architectures (arch_hash, space, space_version, encoding, canonical, "
            "space_params, summary, created_at) SELECT * FROM _evonas_new_architectures"
        )
    finally:
        cache.con.unregister("_evonas_new_architectures")


def _has_table(cache: Cache, name: str) -> bool:
    rows = cache.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()
    return bool(rows[0][0])
