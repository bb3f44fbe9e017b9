"""The data-level warnings a report prints (docs/statistics.md, "Warnings the report prints")."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from reports.stats_core import MIN_SEEDS, TIES_HEAVY_FRACTION, sample, ties_fraction

__all__ = ["RANDOM_BASELINES", "is_random_baseline", "warnings_for"]

# the algorithms (by registry name, not by label) that are a random-search baseline
RANDOM_BASELINES = frozenset({"random_search", "optuna_random"})


def is_random_baseline(algorithm: str, params: Mapping[str, Any] | None = None) -> bool:
    """Whether an algorithm (its registry name and parameters) is a random-search baseline: random_search,
    optuna_random, or regularized evolution with tournament size 1 (the RE paper's and Kyriakides and
    Margaritis' random-search baseline: a random member is mutated, preset ``kyriakides2020_random``).
    Labels are the user's free text and say nothing: a label 'RS' can be random search, a label
    'random_walk' can be anything."""
    if algorithm in RANDOM_BASELINES:
        return True
    params = params or {}
    return algorithm == "regularized_evolution" and (
        params.get("sample_size") == 1 or params.get("preset") == "kyriakides2020_random"
    )


def warnings_for(
    samples: Mapping[str, npt.ArrayLike],
    budgets: Mapping[str, float] | None = None,
    baselines: Collection[str] | None = None,
) -> list[str]:
    """The data-level warnings a report prints (docs/statistics.md), in a fixed order.

    - fewer than ``MIN_SEEDS`` (5) seeds for an algorithm;
    - unequal budgets (relative tolerance 1e-9);
    - no random-search baseline: none of the labels in `baselines` (the labels whose algorithm
      :func:`is_random_baseline` accepts) has samples; without `baselines`, the labels are taken as
      registry names (``random_search``, ``optuna_random``);
    - ties-heavy data: more than 25% of the pooled values of all algorithms are tied.

    "Post-hoc without a significant omnibus test" is :func:`posthoc_warning`; "selected on test data" is
    the report's business.
    """
    if len(samples) == 0:
        raise ValueError("samples is empty: no algorithms to check")
    out: list[str] = []
    names = sorted(samples)
    arrays = {name: sample(samples[name], f"samples[{name!r}]") for name in names}
    for name in names:
        if arrays[name].size < MIN_SEEDS:
            out.append(f"fewer than {MIN_SEEDS} seeds for {name!r} (n={arrays[name].size})")
    if budgets is not None and len(budgets) > 0:
        values = np.array([float(budgets[k]) for k in sorted(budgets)])
        if not np.allclose(values, values[0], rtol=1e-9, atol=0.0):
            listed = ", ".join(f"{k}={float(budgets[k]):g}" for k in sorted(budgets))
            out.append(f"unequal budgets: {listed}")
    is_baseline = (lambda n: n in baselines) if baselines is not None else is_random_baseline
    if not any(is_baseline(name) for name in names):
        out.append("no random-search baseline among the compared algorithms")
    ties = ties_fraction(np.concatenate([arrays[n] for n in names]))
    if ties > TIES_HEAVY_FRACTION:
        out.append(f"ties-heavy data: {ties:.0%} of the pooled values are tied; rank tests lose power")
    return out
