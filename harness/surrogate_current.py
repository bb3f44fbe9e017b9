"""Stored surrogate models (table `surrogates`): save, load, and the current model of a table.

A model is stored under its id (the digest of its safetensors bytes) with the digest of the table it was
fitted on. `current_model` returns the stored model of the table as it is now, fitting (and storing) one
when the table changed since the last fit, so a model is never used on a table it did not see.
Stored bytes are read back through `SurrogateModel.from_bytes`, which accepts named arrays and JSON only.
The answers models give, and which model a run used, are stored by `cache.surrogate_store`.
"""

from __future__ import annotations

import json
import logging

from cache.store import Cache, now
from harness.errors import CacheError
from harness.spaces.base import SearchSpace
from harness.surrogate_fit import DEFAULT_KIND, KINDS, fit_table, read_table
from harness.surrogate_model import SurrogateModel

log = logging.getLogger(__name__)


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
