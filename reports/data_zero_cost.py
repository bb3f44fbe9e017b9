"""What the zero-cost views read: `zero_cost_ga` search histories and the cache's proxy scores.

A `zero_cost_ga` run's history (every generation's survivors with their three scores, every tournament's
alphas) is part of its algorithm state, so it is read from the run's checkpoint, parsed as strict JSON
and validated by `harness.runner.decode_checkpoint` (never unpickled); a run without a readable
checkpoint is left out with a warning. Proxy scores are read from the `proxies` table for the tasks of
the report's runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cache.store import Cache
from harness.errors import EvonasError
from harness.proxies_store import split_key
from reports.data import CacheData

log = logging.getLogger(__name__)

ALGORITHM = "zero_cost_ga"


@dataclass(frozen=True)
class SearchHistory:
    """One `zero_cost_ga` run's generations: kind, survivors' encodings and their three raw scores."""

    run_id: str
    label: str
    trial: int
    generations: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class ZeroCostData:
    histories: Mapping[str, SearchHistory] = field(default_factory=dict)  #: by run_id
    #: task_key -> arch_hash -> (proxy name, seed) -> value (None: undefined for the network)
    proxies: Mapping[str, Mapping[str, Mapping[tuple[str, int], float | None]]] = field(default_factory=dict)


def load(cache: Cache, data: CacheData) -> ZeroCostData:
    """The histories of the `zero_cost_ga` runs of `data` and the proxy scores of its tasks."""
    from harness.runner import decode_checkpoint

    histories: dict[str, SearchHistory] = {}
    for run in data.runs:
        if run.algorithm != ALGORITHM:
            continue
        checkpoint = cache.load_checkpoint(run.run_id)
        try:
            if checkpoint is None:
                raise EvonasError("no checkpoint")
            state = decode_checkpoint(checkpoint[1], run.run_id)
            records = state["algorithm"]["history"]
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise EvonasError("its history is not a list of generations")
        except (EvonasError, KeyError, TypeError) as exc:
            log.warning("%s: no search history shown (%s)", run.run_id, exc)
            continue
        histories[run.run_id] = SearchHistory(run.run_id, run.label, run.trial, tuple(records))
    tasks = sorted({run.task_key for run in data.runs})
    proxies: dict[str, dict[str, dict[tuple[str, int], float | None]]] = {}
    if tasks:
        marks = ", ".join("?" for _ in tasks)
        rows = cache.execute(
            f"SELECT task_key, arch_hash, proxy, value FROM proxies WHERE task_key IN ({marks})", tasks
        ).fetchall()
        for task_key, arch, key, value in rows:
            try:
                name_seed = split_key(key)
            except EvonasError:
                continue
            proxies.setdefault(task_key, {}).setdefault(arch, {})[name_seed] = value
    return ZeroCostData(histories, proxies)
