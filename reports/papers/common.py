"""Helpers the papers' modules share: our best result per algorithm, a named network's accuracy."""

from __future__ import annotations

import logging
import math

import numpy as np

from harness.errors import EvonasError
from reports import analysis as an
from reports.document import pct
from reports.views.context import PageContext

log = logging.getLogger(__name__)


def best_reported(ctx: PageContext, algorithm: str | list[str]) -> tuple[float, float, int]:
    """(best over runs, median over runs, runs) of the final reported accuracy of an algorithm's runs
    (an algorithm name, or a list of labels)."""
    labels = ctx.labels_of(algorithm) if isinstance(algorithm, str) else algorithm
    values = [r.final_reported for label in labels for r in ctx.results[label]]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return math.nan, math.nan, 0
    return max(values), float(np.median(values)), len(values)


def named_accuracy(ctx: PageContext, name: str) -> str:
    """Mean test accuracy (replicates) of a space's named architecture on this task, if the cache has it."""
    space = an.space_of(ctx.block)
    try:
        arch_hash = space.hash(space.named(name))  # type: ignore[attr-defined]
    except EvonasError as exc:
        log.info("named architecture %s: %s", name, exc)
        return f"n/a ({exc})"
    values = [
        e.test_acc
        for (h, task, _), e in ctx.data.evaluations.items()
        if h == arch_hash and task == ctx.block.task.task_key and e.status == "ok" and e.test_acc is not None
    ]
    if not values:
        return "not evaluated in this cache"
    return f"{pct(float(np.mean(values)))} (mean of {len(values)} replicate(s))"
