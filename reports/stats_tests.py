"""Rank-based two-sample tests, effect sizes and Holm's correction.

One-sided Mann-Whitney U and two-sample Kolmogorov-Smirnov in both directions (the scipy direction traps
are spelled out where they happen), Vargha-Delaney A12 / Cliff's delta, and Holm-Bonferroni step-down
adjusted p-values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from reports.stats_core import FloatArray, oriented, sample

__all__ = [
    "MannWhitneyResult",
    "cliffs_delta",
    "holm",
    "ks_one_sided",
    "mann_whitney",
    "vargha_delaney_a12",
]


# ----------------------------------------------------------------------------------------------------------
# one-sided tests
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MannWhitneyResult:
    """One-sided Mann-Whitney U. ``statistic`` is U of ``a`` on the better-is-larger scale (pairs where a is
    better, plus half the ties), so ``statistic / (n_a n_b)`` is A12."""

    statistic: float
    pvalue: float
    alternative: Literal["better", "worse"]
    method: str


def mann_whitney(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    alternative: Literal["better", "worse"] = "better",
    higher_is_better: bool = True,
) -> MannWhitneyResult:
    """One-sided Mann-Whitney U test of "a is better than b" (``'better'``) or "a is worse" (``'worse'``).

    scipy's ``alternative='greater'`` means "x stochastically larger than y". Better = larger when
    ``higher_is_better``, better = smaller otherwise, so the scipy alternative is chosen from both flags.
    """
    x = sample(a, "a")
    y = sample(b, "b")
    if alternative not in ("better", "worse"):
        raise ValueError(f"alternative must be 'better' or 'worse', got {alternative!r}")
    a_larger = (alternative == "better") == higher_is_better
    scipy_alt = "greater" if a_larger else "less"
    pooled = np.concatenate([x, y])
    has_ties = np.unique(pooled).size < pooled.size
    # With ties the exact null distribution scipy tabulates is wrong (it assumes distinct values);
    # method='asymptotic' uses the normal approximation whose variance carries the tie correction.
    # Without ties, 'auto' takes the exact distribution for small samples.
    method = "asymptotic" if has_ties else "auto"
    res = sps.mannwhitneyu(x, y, alternative=scipy_alt, method=method, use_continuity=True)
    u_x = float(res.statistic)  # scipy returns U of x (pairs x > y plus half ties), whatever the alternative
    u_a = u_x if higher_is_better else x.size * y.size - u_x
    return MannWhitneyResult(statistic=u_a, pvalue=float(res.pvalue), alternative=alternative, method=method)


def ks_one_sided(a: npt.ArrayLike, b: npt.ArrayLike, higher_is_better: bool = True) -> tuple[float, float]:
    """One-sided two-sample KS tests in both directions: ``(p_a_better, p_b_better)``.

    DIRECTION TRAP: ``scipy.stats.ks_2samp(A, B, alternative='less')`` has H1 "the CDF of A lies *below* the
    CDF of B somewhere", i.e. A tends to be LARGER. So for maximisation "a better" is ``'less'``; for
    minimisation "a better" means a tends to be smaller, i.e. its CDF lies above: ``'greater'``.
    """
    x = sample(a, "a")
    y = sample(b, "b")
    a_better_alt = "less" if higher_is_better else "greater"
    b_better_alt = "greater" if higher_is_better else "less"
    p_a = float(sps.ks_2samp(x, y, alternative=a_better_alt, method="auto").pvalue)
    p_b = float(sps.ks_2samp(x, y, alternative=b_better_alt, method="auto").pvalue)
    return p_a, p_b


# ----------------------------------------------------------------------------------------------------------
# effect sizes
# ----------------------------------------------------------------------------------------------------------


def vargha_delaney_a12(a: npt.ArrayLike, b: npt.ArrayLike, higher_is_better: bool = True) -> float:
    """Vargha-Delaney A12 = P(a better than b) + 0.5 P(tie), computed from mid-ranks in O((n+m) log(n+m)).

    0.5 = no effect; 0.56 / 0.64 / 0.71 are the usual small / medium / large thresholds.
    """
    x = oriented(sample(a, "a"), higher_is_better)
    y = oriented(sample(b, "b"), higher_is_better)
    n, m = x.size, y.size
    ranks = sps.rankdata(np.concatenate([x, y]), method="average")
    u = float(ranks[:n].sum()) - n * (n + 1) / 2.0
    return float(u / (n * m))


def cliffs_delta(a: npt.ArrayLike, b: npt.ArrayLike, higher_is_better: bool = True) -> float:
    """Cliff's delta = P(a better) - P(b better) = 2 * A12 - 1, in [-1, 1]."""
    return 2.0 * vargha_delaney_a12(a, b, higher_is_better) - 1.0


# ----------------------------------------------------------------------------------------------------------
# Holm-Bonferroni
# ----------------------------------------------------------------------------------------------------------


def holm(pvalues: npt.ArrayLike) -> FloatArray:
    """Holm-Bonferroni step-down adjusted p-values, in the input order.

    With the raw p-values sorted ascending p_(1) <= ... <= p_(m):
    adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)). Reject H_(i) at level alpha iff adj_(i) <= alpha.
    The adjusted values are >= the raw ones, keep the raw order, and never exceed 1.
    """
    p = sample(pvalues, "pvalues")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted_sorted
    return out
