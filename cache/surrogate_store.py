"""Surrogate models and their answers in the cache (tables `surrogates`, `predictions`, `run_surrogates`).

A model is stored under its id (the digest of its safetensors bytes) with the digest of the table it was
fitted on. `current_model` returns the stored model of the table as it is now, fitting (and storing) one
when the table changed since the last fit, so a model is never used on a table it did not see.
Stored bytes are read back through `SurrogateModel.from_bytes`, which accepts named arrays and JSON only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from cache.store import Cache, now
from cache.surrogate_fit import DEFAULT_KIND, KINDS, fit_table, read_table
from cache.surrogate_model import SurrogateModel
from harness.errors import CacheError
from harness.spaces.base import SearchSpace

log = logging.getLogger(__name__)

POLICIES = ("predicted", "measured_first")
DEFAULT_POLICY = "predicted"
PredictionRow = tuple[
    str, int, str, float | None, float | None, float | None
]  # arch, rep, status, val, test, s


def save_model(cache: Cache, model: SurrogateModel) -> str:
    info = model.info
    with cache.transaction():
        cache.execute(
            "INSERT OR IGNORE INTO surrogates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                model.model_id,
                info.space,
                json.dumps(info.space_params, sort_keys=True),
                info.task_key,
                info.table_digest,
                info.kind,
                json.dumps(info.to_json(), sort_keys=True),
                model.to_bytes(),
                now(),
            ],
        )
    return model.model_id


def load_model(cache: Cache, model_id: str) -> SurrogateModel:
    rows = cache.execute("SELECT model FROM surrogates WHERE model_id = ?", [model_id]).fetchall()
    if not rows:
        raise CacheError(f"surrogate model {model_id} is not in {cache.path}")
    model = SurrogateModel.from_bytes(bytes(rows[0][0]))
    if model.model_id != model_id:
        raise CacheError(f"surrogate model {model_id} in {cache.path} does not match its id (tampered?)")
    return model


def current_model(
    cache: Cache, space: SearchSpace, task_key: str, kind: str = DEFAULT_KIND, seed: int = 0
) -> SurrogateModel:
    """The model of the (space, task) table as stored now: the stored fit of this table, or a new fit."""
    if kind not in KINDS:
        raise CacheError(f"surrogate kind {kind!r} not in {KINDS}")
    table = read_table(cache, space, task_key)
    rows = cache.execute(
        "SELECT model_id FROM surrogates WHERE space = ? AND space_params = ? AND task_key = ? "
        "AND table_digest = ? AND kind = ? ORDER BY created_at DESC",
        [space.name, json.dumps(space.params, sort_keys=True), task_key, table.digest, kind],
    ).fetchall()
    for (model_id,) in rows:
        try:
            model = load_model(cache, model_id)
        except CacheError as exc:  # an older format or a damaged row: fit again rather than trust it
            log.warning("stored surrogate %s not used: %s", model_id, exc)
            continue
        if model.info.seed == seed:
            return model
    log.info(
        "fitting a %s surrogate on %d networks of %s (the table changed or was never fitted)",
        kind,
        len(table.networks),
        space.name,
    )
    model = fit_table(table, kind=kind, seed=seed)
    if not cache.read_only:
        save_model(cache, model)
    return model


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
