"""ECDFs of final results and fixed-target runtime ECDFs (cocopp style; Hansen et al. 2021, "COCO").

Pure numpy/scipy, no plotting and no I/O.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from reports.stats_core import FloatArray, oriented, readonly, sample

__all__ = ["EcdfResult", "RuntimeEcdf", "ecdf", "make_targets", "runtime_ecdf"]

_LOG = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------------------
# ECDF with pointwise confidence band
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EcdfResult:
    """Empirical CDF on its support with a pointwise confidence band.

    ``x``: sorted unique values; ``p``: ECDF at ``x`` (right-continuous step function);
    ``lower``/``upper``: pointwise band at ``x`` (Greenwood/"linear" method of ``scipy.stats.ecdf``),
    clipped to [0, 1]. Arrays are read-only.
    """

    x: FloatArray
    p: FloatArray
    lower: FloatArray
    upper: FloatArray
    confidence: float
    n: int


def ecdf(values: npt.ArrayLike, confidence: float = 0.95) -> EcdfResult:
    """ECDF of ``values`` with a pointwise ``confidence`` band from ``scipy.stats.ecdf``.

    The "linear" (Greenwood) band is undefined where the ECDF is 1 (variance 0/0), which includes the last
    support point, and for n = 1. Undefined points are filled with the tightest bound that is still valid
    because a CDF is non-decreasing: a lower bound for F(x_{i-1}) is a lower bound for F(x_i) (forward
    running maximum, 0 if there is none), and an upper bound for F(x_{i+1}) is an upper bound for F(x_i)
    (backward running minimum, 1 if there is none).
    """
    arr = sample(values)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    res = sps.ecdf(arr)
    with warnings.catch_warnings():
        # Greenwood's formula is 0/0 where the ECDF reaches 1; scipy warns about it, we fill it below.
        warnings.filterwarnings(
            "ignore", message="The confidence interval is undefined", category=RuntimeWarning
        )
        band = res.cdf.confidence_interval(confidence_level=confidence, method="linear")
    x = np.asarray(res.cdf.quantiles, dtype=np.float64)
    p = np.asarray(res.cdf.probabilities, dtype=np.float64)
    lower = np.asarray(band.low.probabilities, dtype=np.float64).copy()
    upper = np.asarray(band.high.probabilities, dtype=np.float64).copy()
    n_undefined = int(np.isnan(lower).sum() + np.isnan(upper).sum())
    if n_undefined:
        _LOG.debug("ecdf: filling %d undefined band values monotonically", n_undefined)
    lower = np.fmax.accumulate(np.where(np.isnan(lower), 0.0, lower))
    upper_filled = np.where(np.isnan(upper), 1.0, upper)
    upper = np.fmin.accumulate(upper_filled[::-1])[::-1]
    lower = np.clip(np.minimum(lower, p), 0.0, 1.0)
    upper = np.clip(np.maximum(upper, p), 0.0, 1.0)
    return EcdfResult(
        x=readonly(x),
        p=readonly(p),
        lower=readonly(lower),
        upper=readonly(upper),
        confidence=float(confidence),
        n=int(arr.size),
    )


# ----------------------------------------------------------------------------------------------------------
# fixed-target runtime ECDF (cocopp style)
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RuntimeEcdf:
    """Fixed-target runtime ECDF over all (run, target) pairs.

    ``hitting_costs[r, t]`` is the first cost at which run ``r`` reached target ``t``; ``inf`` where the run
    never reached it within its budget (censored: the pair counts as unsolved at every cost). ``costs`` is
    the sorted grid of distinct finite hitting costs and ``fraction[i]`` the fraction of *all* pairs solved at
    cost ``costs[i]`` or less (right-continuous step function, 0 before ``costs[0]``).

    Censoring caveat: when runs have different budgets, the curve beyond the smallest budget under-counts,
    because a run that stopped early cannot solve anything later. ``budgets`` is kept so that the report can
    draw the curve only up to ``budgets.min()`` or mark the budgets.
    """

    costs: FloatArray
    fraction: FloatArray
    hitting_costs: FloatArray
    targets: FloatArray
    budgets: FloatArray
    higher_is_better: bool

    @property
    def n_runs(self) -> int:
        return int(self.hitting_costs.shape[0])

    @property
    def n_targets(self) -> int:
        return int(self.hitting_costs.shape[1])

    @property
    def n_pairs(self) -> int:
        return int(self.hitting_costs.size)

    @property
    def solved_fraction(self) -> float:
        """Fraction of (run, target) pairs solved within the budgets."""
        return float(np.isfinite(self.hitting_costs).mean())

    def fraction_at(self, cost: float) -> float:
        """Fraction of pairs solved at ``cost`` or less."""
        return float(np.count_nonzero(self.hitting_costs <= cost) / self.n_pairs)

    def area(self, max_cost: float, log: bool = False, min_cost: float = 1.0) -> float:
        """Normalised area under the ECDF, in [0, 1].

        Linear axis: ``(1/max_cost) * integral_0^max_cost F(c) dc``. Log axis: the same on ``log(c)`` over
        ``[min_cost, max_cost]``; pairs solved below ``min_cost`` count as solved at ``min_cost``. Since F is
        a sum of steps, the integral is exact: ``mean over pairs of (max_cost - h)_+ / max_cost`` (linear) and
        ``mean of (log max_cost - log max(h, min_cost))_+ / (log max_cost - log min_cost)`` (log). 1 means
        every pair solved immediately, 0 that nothing was solved within ``max_cost``.
        """
        h = self.hitting_costs[np.isfinite(self.hitting_costs)]
        if log:
            if not (min_cost > 0 and max_cost > min_cost):
                raise ValueError(f"log area needs 0 < min_cost < max_cost, got {min_cost=} {max_cost=}")
            span = math.log(max_cost) - math.log(min_cost)
            gains = math.log(max_cost) - np.log(np.maximum(h, min_cost))
            return float(np.clip(np.maximum(gains, 0.0).sum() / (span * self.n_pairs), 0.0, 1.0))
        if not max_cost > 0:
            raise ValueError(f"max_cost must be positive, got {max_cost}")
        gains = max_cost - np.maximum(h, 0.0)
        return float(np.clip(np.maximum(gains, 0.0).sum() / (max_cost * self.n_pairs), 0.0, 1.0))


def runtime_ecdf(
    runs: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
    targets: npt.ArrayLike,
    budgets: Sequence[float] | npt.ArrayLike | None = None,
    higher_is_better: bool = True,
) -> RuntimeEcdf:
    """Fixed-target runtime ECDF (cocopp style) over all (run, target) pairs.

    ``runs`` is a list of trajectories ``(cost, best_so_far)``: ``cost`` non-decreasing (evaluations or
    simulated seconds), ``best_so_far`` the fitness of the incumbent after that cost. The best-so-far is
    re-accumulated (running max, or running min for minimisation; NaN ignored), so a raw fitness trace works
    too. The hitting cost of (run, target) is the first cost where the best-so-far reaches the target
    (``>=`` for maximisation, ``<=`` for minimisation).

    Censoring: a pair that is never reached within the run's budget is censored at that budget and counts as
    unsolved (``hitting_costs = inf``). The budget is the run's last cost unless ``budgets`` gives one per
    run; hits recorded after a given budget are censored too.
    """
    if len(runs) == 0:
        raise ValueError("runs is empty: at least one trajectory is needed")
    tgt = sample(targets, "targets")
    if budgets is not None:
        budget_arr = np.array(budgets, dtype=np.float64).reshape(-1)
        if budget_arr.size != len(runs):
            raise ValueError(f"budgets has {budget_arr.size} entries for {len(runs)} runs")
        if np.any(np.isnan(budget_arr)):
            raise ValueError("budgets contains NaN")
    hitting = np.full((len(runs), tgt.size), np.inf)
    run_budgets = np.empty(len(runs))
    oriented_targets = oriented(tgt, higher_is_better)
    for r, run in enumerate(runs):
        if len(run) != 2:
            raise ValueError(f"run {r} must be a pair (cost, best_so_far)")
        cost = np.asarray(run[0], dtype=np.float64).reshape(-1)
        fit = np.asarray(run[1], dtype=np.float64).reshape(-1)
        if cost.size == 0:
            raise ValueError(f"run {r} is empty")
        if cost.size != fit.size:
            raise ValueError(f"run {r}: {cost.size} costs but {fit.size} fitness values")
        if not np.all(np.isfinite(cost)):
            raise ValueError(f"run {r}: costs must be finite")
        if np.any(np.diff(cost) < 0):
            raise ValueError(f"run {r}: costs must be non-decreasing")
        budget = float(cost[-1]) if budgets is None else float(budget_arr[r])
        run_budgets[r] = budget
        # fmax ignores NaN (a failed evaluation never improves the incumbent); -inf seeds all-NaN prefixes.
        best = np.fmax.accumulate(np.where(np.isnan(fit), -np.inf, oriented(fit, higher_is_better)))
        reached = best[None, :] >= oriented_targets[:, None]  # (targets, steps)
        any_hit = reached.any(axis=1)
        first = np.argmax(reached, axis=1)
        first_cost = np.where(any_hit, cost[first], np.inf)
        hitting[r] = np.where(first_cost <= budget, first_cost, np.inf)
    finite = np.sort(hitting[np.isfinite(hitting)])
    grid = np.unique(finite)
    fraction = np.searchsorted(finite, grid, side="right") / hitting.size
    return RuntimeEcdf(
        costs=readonly(grid),
        fraction=readonly(fraction),
        hitting_costs=readonly(hitting),
        targets=readonly(tgt),
        budgets=readonly(run_budgets),
        higher_is_better=higher_is_better,
    )


def make_targets(
    values: npt.ArrayLike,
    n: int,
    spacing: Literal["quantile", "linear", "log"] = "quantile",
    higher_is_better: bool = True,
    reference: float | None = None,
) -> FloatArray:
    """Targets for :func:`runtime_ecdf` from pooled fitness values, ordered from easiest to hardest.

    - ``'quantile'``: the pooled values' quantiles at levels 1/n, 2/n, ..., 1 (on the better-is-larger scale),
      so the hardest target is the best value seen;
    - ``'linear'``: n targets evenly spaced from just above the worst value (exclusive) to the best;
    - ``'log'``: targets whose *regret* ``|reference - target|`` is log-spaced. ``reference`` is the ideal
      value (1.0 for accuracy, the table's optimum for a tabulated space) or, if None, the best pooled
      value; in the latter case the hardest target is the best value itself (regret 0) and the other n - 1
      regrets are log-spaced between the largest and the smallest positive regret.

    Duplicates (ties in the data) are removed, so fewer than n targets can come back.
    """
    vals = sample(values)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    o = oriented(vals, higher_is_better)  # larger is better from here on
    if spacing == "quantile":
        levels = np.arange(1, n + 1) / n
        out = np.quantile(o, levels)
    elif spacing == "linear":
        out = np.linspace(o.min(), o.max(), n + 1)[1:]
    elif spacing == "log":
        if reference is None:
            ref = float(o.max())
            regret = ref - o
            positive = regret[regret > 0]
            if positive.size == 0 or n == 1:
                out = np.array([ref])
            else:
                out = ref - np.concatenate([np.geomspace(positive.max(), positive.min(), n - 1), [0.0]])
        else:
            ref = float(oriented(np.array([reference], dtype=np.float64), higher_is_better)[0])
            regret = ref - o
            if np.any(regret < 0):
                raise ValueError(
                    f"reference {reference} is worse than some values; it must be the ideal value"
                )
            positive = regret[regret > 0]
            if positive.size == 0:
                out = np.array([ref])
            else:
                out = ref - np.geomspace(positive.max(), positive.min(), n)
    else:
        raise ValueError(f"spacing must be 'quantile', 'linear' or 'log', got {spacing!r}")
    out = np.unique(out)  # ascending on the oriented scale = easiest first
    return readonly(oriented(out, higher_is_better))
