"""Statistics behind the reports: ECDFs, runtime ECDFs, pairwise tests, effect sizes and rankings.

Pure numpy/scipy, no plotting and no I/O. Every function validates its inputs and raises ``ValueError``
with a clear message on empty or non-finite samples. Every bootstrap takes an explicit ``seed`` and uses
``numpy.random.default_rng``; nothing touches global random state, so a report built twice from the same
cache is byte-identical.

Orientation. Every pairwise function takes ``higher_is_better``. With ``higher_is_better=True`` (accuracy,
fitness) "a is better" means "a tends to be larger"; with ``False`` (error, loss, regret) it means "a tends
to be smaller". Internally minimisation is handled either by translating scipy's ``alternative`` explicitly
(Mann-Whitney, KS: the direction traps are spelled out where they happen) or by negating the values
(effect sizes, ASO, ranks), which turns a minimisation problem into the equivalent maximisation problem.

References
----------
- Demsar (2006), "Statistical comparisons of classifiers over multiple data sets", JMLR 7.
- del Barrio, Cuesta-Albertos & Matran (2018), "An optimal transportation approach for assessing almost
  stochastic order".
- Dror, Shlomov & Reichart (2019), "Deep Dominance - How to Properly Compare Deep Neural Models", ACL;
  the ``aso()`` function of the ``deep-significance`` package (Ulmer et al., 2022).
- Vargha & Delaney (2000), "A critique and improvement of the CL common language effect size statistics".
- Hansen et al. (2021), "COCO: a platform for comparing continuous optimizers" (runtime ECDFs, cocopp).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

__all__ = [
    "ASO_TAU",
    "MIN_SEEDS",
    "TIES_HEAVY_FRACTION",
    "AsoResult",
    "Comparison",
    "EcdfResult",
    "MannWhitneyResult",
    "PairwiseMatrix",
    "RankingResult",
    "RuntimeEcdf",
    "aso",
    "aso_epsilon_min",
    "cliffs_delta",
    "compare",
    "compare_many",
    "ecdf",
    "friedman_nemenyi",
    "holm",
    "ks_one_sided",
    "make_targets",
    "mann_whitney",
    "nemenyi_q",
    "posthoc_warning",
    "runtime_ecdf",
    "ties_fraction",
    "vargha_delaney_a12",
    "warnings_for",
]

_LOG = logging.getLogger(__name__)

#: Threshold on epsilon_min below which "a is almost stochastically better than b" (Dror et al. 2019).
ASO_TAU: float = 0.2
#: Fewer seeds than this per algorithm triggers a warning in the report.
MIN_SEEDS: int = 5
#: More than this fraction of tied values triggers the "ties-heavy data" warning.
TIES_HEAVY_FRACTION: float = 0.25

Verdict = Literal["a", "b", "crossing", "none"]
FloatArray = npt.NDArray[np.float64]


# ----------------------------------------------------------------------------------------------------------
# input helpers
# ----------------------------------------------------------------------------------------------------------


def _sample(values: npt.ArrayLike, name: str = "values") -> FloatArray:
    """A 1-D, non-empty, finite float array (a copy), or ValueError."""
    arr = np.array(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: at least one value is needed")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _oriented(values: FloatArray, higher_is_better: bool) -> FloatArray:
    """Values on a higher-is-better scale (minimisation problems are negated)."""
    return values if higher_is_better else -values


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")


def _readonly(arr: npt.ArrayLike) -> FloatArray:
    out = np.array(arr, dtype=np.float64)
    out.setflags(write=False)
    return out


def ties_fraction(values: npt.ArrayLike) -> float:
    """Fraction of values that are equal to at least one other value (exact equality).

    ``[1, 1, 2, 3]`` -> 0.5; all distinct -> 0.0; all equal -> 1.0 (for n >= 2); a single value -> 0.0.
    """
    arr = _sample(values)
    _, counts = np.unique(arr, return_counts=True)
    return float(counts[counts > 1].sum() / arr.size)


# ----------------------------------------------------------------------------------------------------------
# 1. ECDF with pointwise confidence band
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
    arr = _sample(values)
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
        x=_readonly(x),
        p=_readonly(p),
        lower=_readonly(lower),
        upper=_readonly(upper),
        confidence=float(confidence),
        n=int(arr.size),
    )


# ----------------------------------------------------------------------------------------------------------
# 2. fixed-target runtime ECDF (cocopp style)
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
    tgt = _sample(targets, "targets")
    if budgets is not None:
        budget_arr = np.array(budgets, dtype=np.float64).reshape(-1)
        if budget_arr.size != len(runs):
            raise ValueError(f"budgets has {budget_arr.size} entries for {len(runs)} runs")
        if np.any(np.isnan(budget_arr)):
            raise ValueError("budgets contains NaN")
    hitting = np.full((len(runs), tgt.size), np.inf)
    run_budgets = np.empty(len(runs))
    oriented_targets = _oriented(tgt, higher_is_better)
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
        best = np.fmax.accumulate(np.where(np.isnan(fit), -np.inf, _oriented(fit, higher_is_better)))
        reached = best[None, :] >= oriented_targets[:, None]  # (targets, steps)
        any_hit = reached.any(axis=1)
        first = np.argmax(reached, axis=1)
        first_cost = np.where(any_hit, cost[first], np.inf)
        hitting[r] = np.where(first_cost <= budget, first_cost, np.inf)
    finite = np.sort(hitting[np.isfinite(hitting)])
    grid = np.unique(finite)
    fraction = np.searchsorted(finite, grid, side="right") / hitting.size
    return RuntimeEcdf(
        costs=_readonly(grid),
        fraction=_readonly(fraction),
        hitting_costs=_readonly(hitting),
        targets=_readonly(tgt),
        budgets=_readonly(run_budgets),
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
    vals = _sample(values)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    o = _oriented(vals, higher_is_better)  # larger is better from here on
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
            ref = float(_oriented(np.array([reference], dtype=np.float64), higher_is_better)[0])
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
    return _readonly(_oriented(out, higher_is_better))


# ----------------------------------------------------------------------------------------------------------
# 3./4. one-sided tests
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
    x = _sample(a, "a")
    y = _sample(b, "b")
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
    x = _sample(a, "a")
    y = _sample(b, "b")
    a_better_alt = "less" if higher_is_better else "greater"
    b_better_alt = "greater" if higher_is_better else "less"
    p_a = float(sps.ks_2samp(x, y, alternative=a_better_alt, method="auto").pvalue)
    p_b = float(sps.ks_2samp(x, y, alternative=b_better_alt, method="auto").pvalue)
    return p_a, p_b


# ----------------------------------------------------------------------------------------------------------
# 5. Almost Stochastic Order
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AsoResult:
    """Almost Stochastic Order of a over b.

    ``violation_ratio``: epsilon_W2(F_a, F_b), the share of the squared 2-Wasserstein distance between the
    quantile functions spent where a is worse (0 = a dominates, 1 = b dominates, 0.5 for equal distributions);
    ``sigma_hat``: bootstrap standard deviation of ``sqrt(nm/(n+m)) * (eps* - eps_hat)``;
    ``eps_min``: the upper confidence bound on the violation ratio (a over b);
    ``eps_min_reverse``: the same for b over a from the same bootstrap.
    ``eps_min < ASO_TAU`` means "a almost stochastically dominates b".
    """

    violation_ratio: float
    sigma_hat: float
    eps_min: float
    eps_min_reverse: float
    confidence: float
    n_bootstrap: int


def _quantile_index(n: int, grid: FloatArray) -> npt.NDArray[np.intp]:
    """Index into the sorted sample of the left-continuous empirical quantile Q(t) = x_(ceil(n t))."""
    return np.clip(np.ceil(n * grid).astype(np.intp) - 1, 0, n - 1)


def _violation_parts(qx: FloatArray, qy: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sums over the grid (last axis) of (Q_y - Q_x)^2 on {Q_x < Q_y} and everywhere, unnormalised."""
    diff = qy - qx
    sq = diff * diff
    return np.where(diff > 0, sq, 0.0).sum(axis=-1), sq.sum(axis=-1)


def _ratio(violation: FloatArray, total: FloatArray) -> FloatArray:
    """violation/total with the deep-significance convention 0.5 where total == 0 (equal distributions)."""
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, violation / safe, 0.5)


def _first_is_canonical(x: FloatArray, y: FloatArray) -> bool:
    """An order of two samples independent of the argument order (so aso(a, b) mirrors aso(b, a))."""
    if x.size != y.size:
        return x.size < y.size
    sx, sy = np.sort(x), np.sort(y)
    differ = np.nonzero(sx != sy)[0]
    return True if differ.size == 0 else bool(sx[differ[0]] < sy[differ[0]])


def aso(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    higher_is_better: bool = True,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    num_quantile_points: int = 1000,
) -> AsoResult:
    """Almost Stochastic Order test (del Barrio et al. 2018; Dror et al. 2019; deep-significance ``aso()``).

    Formula (as in deep-significance >= 1.2.4, re-implemented and vectorised):

    - quantile functions: Q(t) = x_(ceil(n t)), the left-continuous empirical quantile;
    - violation ratio: eps_W2(F_a, F_b) = int_{Q_a < Q_b} (Q_b - Q_a)^2 dt / int (Q_b - Q_a)^2 dt, with a
      midpoint rule on ``num_quantile_points`` points of (0, 1), and 0.5 when the denominator is 0;
    - bootstrap: resample a and b with replacement (sizes n and m; equivalent to drawing Q(U), U uniform),
      recompute eps*, sigma_hat = std(sqrt(nm/(n+m)) * (eps* - eps_hat));
    - eps_min = eps_hat - (1/sqrt(nm/(n+m))) * sigma_hat * Phi^{-1}(alpha), alpha = 1 - confidence,
      clipped to [0, 1] (Phi^{-1}(alpha) < 0, so this is an upper confidence bound).

    Differences from deep-significance: the seeded ``numpy.random.Generator`` instead of global seeding, a
    midpoint grid instead of ``arange(dt, 1, dt)`` (which drops part of the first cell from one integral
    only), no Bonferroni adjustment inside (pass ``confidence`` adjusted yourself if needed).

    Since eps_W2(G, F) = 1 - eps_W2(F, G), one bootstrap gives both directions: ``eps_min_reverse`` is b
    over a.
    The bootstrap draws the two samples in an order that does not depend on the argument order, so
    ``aso(b, a).eps_min == aso(a, b).eps_min_reverse`` exactly.

    Note: for two equal but non-constant samples eps_hat = 0.5 exactly, but eps_min = 0.5 + z * sd(eps*) is
    larger than 0.5 (the bootstrap of two resamples of one sample is noisy); only constant equal samples give
    exactly 0.5. Either way, neither direction comes near ``ASO_TAU``.
    """
    x = _oriented(_sample(a, "a"), higher_is_better)
    y = _oriented(_sample(b, "b"), higher_is_better)
    if n_bootstrap < 2:
        raise ValueError(f"n_bootstrap must be at least 2, got {n_bootstrap}")
    if not 0.5 <= confidence < 1.0:
        raise ValueError(f"confidence must lie in [0.5, 1), got {confidence}")
    if num_quantile_points < 2:
        raise ValueError(f"num_quantile_points must be at least 2, got {num_quantile_points}")
    canonical = _first_is_canonical(x, y)
    first, second = (x, y) if canonical else (y, x)
    n, m = first.size, second.size
    grid = (np.arange(num_quantile_points) + 0.5) / num_quantile_points
    idx_n, idx_m = _quantile_index(n, grid), _quantile_index(m, grid)
    q1, q2 = np.sort(first)[idx_n], np.sort(second)[idx_m]
    viol, total = _violation_parts(q1, q2)
    eps_first = _ratio(viol, total)  # violation ratio of "first over second"

    rng = np.random.default_rng(seed)
    boot = np.empty(n_bootstrap)
    # chunk the (B, n) resamples to bound memory at roughly 4e6 floats per array
    chunk = max(1, 4_000_000 // max(n, m, num_quantile_points))
    for start in range(0, n_bootstrap, chunk):
        size = min(chunk, n_bootstrap - start)
        r1 = np.sort(first[rng.integers(0, n, size=(size, n))], axis=1)[:, idx_n]
        r2 = np.sort(second[rng.integers(0, m, size=(size, m))], axis=1)[:, idx_m]
        v, t = _violation_parts(r1, r2)
        boot[start : start + size] = _ratio(v, t)

    const = math.sqrt(n * m / (n + m))
    # eps* - eps_hat is the same (up to sign) in both directions, so one sigma serves both.
    sigma_hat = float(np.std(const * (boot - float(eps_first))))
    shift = -(1.0 / const) * sigma_hat * float(sps.norm.ppf(1.0 - confidence))
    eps_first_f = float(eps_first)
    eps_second_f = 0.5 if float(total) == 0.0 else 1.0 - eps_first_f
    eps_min_first = float(np.clip(eps_first_f + shift, 0.0, 1.0))
    eps_min_second = float(np.clip(eps_second_f + shift, 0.0, 1.0))
    if canonical:
        ratio_a, eps_a, eps_b = eps_first_f, eps_min_first, eps_min_second
    else:
        ratio_a, eps_a, eps_b = eps_second_f, eps_min_second, eps_min_first
    return AsoResult(
        violation_ratio=ratio_a,
        sigma_hat=sigma_hat,
        eps_min=eps_a,
        eps_min_reverse=eps_b,
        confidence=float(confidence),
        n_bootstrap=int(n_bootstrap),
    )


def aso_epsilon_min(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    higher_is_better: bool = True,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    num_quantile_points: int = 1000,
) -> float:
    """epsilon_min of "a almost stochastically better than b"; below ``ASO_TAU`` (0.2) a is better.

    See :func:`aso` for the formula. Identical constant samples give exactly 0.5 (deep-significance
    convention for a zero Wasserstein distance).
    """
    return aso(
        a,
        b,
        higher_is_better=higher_is_better,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=seed,
        num_quantile_points=num_quantile_points,
    ).eps_min


# ----------------------------------------------------------------------------------------------------------
# 6. effect sizes
# ----------------------------------------------------------------------------------------------------------


def vargha_delaney_a12(a: npt.ArrayLike, b: npt.ArrayLike, higher_is_better: bool = True) -> float:
    """Vargha-Delaney A12 = P(a better than b) + 0.5 P(tie), computed from mid-ranks in O((n+m) log(n+m)).

    0.5 = no effect; 0.56 / 0.64 / 0.71 are the usual small / medium / large thresholds.
    """
    x = _oriented(_sample(a, "a"), higher_is_better)
    y = _oriented(_sample(b, "b"), higher_is_better)
    n, m = x.size, y.size
    ranks = sps.rankdata(np.concatenate([x, y]), method="average")
    u = float(ranks[:n].sum()) - n * (n + 1) / 2.0
    return float(u / (n * m))


def cliffs_delta(a: npt.ArrayLike, b: npt.ArrayLike, higher_is_better: bool = True) -> float:
    """Cliff's delta = P(a better) - P(b better) = 2 * A12 - 1, in [-1, 1]."""
    return 2.0 * vargha_delaney_a12(a, b, higher_is_better) - 1.0


# ----------------------------------------------------------------------------------------------------------
# 7. Holm-Bonferroni
# ----------------------------------------------------------------------------------------------------------


def holm(pvalues: npt.ArrayLike) -> FloatArray:
    """Holm-Bonferroni step-down adjusted p-values, in the input order.

    With the raw p-values sorted ascending p_(1) <= ... <= p_(m):
    adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)). Reject H_(i) at level alpha iff adj_(i) <= alpha.
    The adjusted values are >= the raw ones, keep the raw order, and never exceed 1.
    """
    p = _sample(pvalues, "pvalues")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted_sorted
    return out


# ----------------------------------------------------------------------------------------------------------
# 8. Friedman + Nemenyi
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RankingResult:
    """Ranking of k algorithms over N blocks (spaces/tasks, never seeds).

    ``average_ranks``: mean rank per algorithm (1 = best, ties get the average rank), in ``names`` order;
    ``omnibus``: ``'friedman'`` (k >= 3) or ``'wilcoxon'`` (k == 2: Wilcoxon signed-rank, two-sided,
    because the Friedman test needs k >= 3); ``statistic``/``pvalue`` of that test; ``critical_difference``:
    Nemenyi CD at ``alpha``; ``significant``: the omnibus test rejects at ``alpha``. ``groups`` (maximal
    sets of algorithms, best first, whose average ranks differ by less than CD) and ``different_pairs``
    (pairs whose ranks differ by at least CD) are filled only when ``significant``; otherwise they are empty
    tuples and no post-hoc claim may be made.
    """

    names: tuple[str, ...]
    average_ranks: FloatArray
    n_blocks: int
    omnibus: Literal["friedman", "wilcoxon"]
    statistic: float
    pvalue: float
    alpha: float
    critical_difference: float
    q_alpha: float
    significant: bool
    groups: tuple[tuple[str, ...], ...] = field(default=())
    different_pairs: tuple[tuple[str, str], ...] = field(default=())

    @property
    def k(self) -> int:
        return len(self.names)


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Demsar's q_alpha for the Nemenyi test: studentized range quantile q(1-alpha; k, inf) / sqrt(2).

    scipy evaluates the studentized range with ``df=np.inf`` directly (0.05, k=4 -> 2.569).
    """
    if k < 2:
        raise ValueError(f"the Nemenyi test needs k >= 2 algorithms, got {k}")
    _check_alpha(alpha)
    return float(sps.studentized_range.ppf(1.0 - alpha, k, np.inf) / math.sqrt(2.0))


def friedman_nemenyi(
    scores: npt.ArrayLike,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    names: Sequence[str] | None = None,
) -> RankingResult:
    """Friedman omnibus test and Nemenyi critical difference on a (blocks x algorithms) score matrix.

    CD = q_alpha * sqrt(k (k+1) / (6 N)) with q_alpha = q(1-alpha; k, inf) / sqrt(2) (Demsar 2006);
    identical to REPORTS.md's ``q(1-alpha; k, inf) * sqrt(k (k+1) / (12 N))``.
    """
    s = np.array(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be a 2-D array (blocks x algorithms), got shape {s.shape}")
    n_blocks, k = s.shape
    if n_blocks < 2:
        raise ValueError(f"need at least 2 blocks (spaces/tasks), got {n_blocks}")
    if k < 2:
        raise ValueError(f"need at least 2 algorithms, got {k}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contains NaN or infinite values")
    _check_alpha(alpha)
    label = tuple(str(n) for n in names) if names is not None else tuple(f"alg{i}" for i in range(k))
    if len(label) != k or len(set(label)) != k:
        raise ValueError(f"names must be {k} distinct labels, got {label}")
    o = _oriented(s, higher_is_better)
    ranks = sps.rankdata(-o, axis=1, method="average")  # rank 1 = best
    average = ranks.mean(axis=0)

    omnibus: Literal["friedman", "wilcoxon"]
    if k == 2:
        omnibus = "wilcoxon"
        diffs = o[:, 0] - o[:, 1]
        if np.all(diffs == 0):
            stat, pval = 0.0, 1.0
        else:
            res = sps.wilcoxon(o[:, 0], o[:, 1], alternative="two-sided")
            stat, pval = float(res.statistic), float(res.pvalue)
    else:
        omnibus = "friedman"
        if np.all(o == o[:, :1]):  # every block fully tied: no evidence at all (scipy would give NaN)
            stat, pval = 0.0, 1.0
        else:
            res = sps.friedmanchisquare(*(o[:, j] for j in range(k)))
            stat, pval = float(res.statistic), float(res.pvalue)

    q = nemenyi_q(k, alpha)
    cd = q * math.sqrt(k * (k + 1) / (6.0 * n_blocks))
    significant = bool(pval < alpha)
    groups: tuple[tuple[str, ...], ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    if significant:
        order = np.argsort(average, kind="stable")
        sorted_ranks = average[order]
        found: list[tuple[str, ...]] = []
        last_end = -1
        for i in range(k):
            end = int(np.searchsorted(sorted_ranks, sorted_ranks[i] + cd, side="left")) - 1
            if end > last_end:  # not contained in the previous (larger-or-equal) group
                found.append(tuple(label[j] for j in order[i : end + 1]))
                last_end = end
        groups = tuple(found)
        pairs = tuple(
            (label[order[i]], label[order[j]])
            for i in range(k)
            for j in range(i + 1, k)
            if sorted_ranks[j] - sorted_ranks[i] >= cd
        )
    return RankingResult(
        names=label,
        average_ranks=_readonly(average),
        n_blocks=int(n_blocks),
        omnibus=omnibus,
        statistic=stat,
        pvalue=pval,
        alpha=float(alpha),
        critical_difference=float(cd),
        q_alpha=q,
        significant=significant,
        groups=groups,
        different_pairs=pairs,
    )


def posthoc_warning(ranking: RankingResult) -> str | None:
    """The report's warning for post-hoc comparisons without a significant omnibus test, or None."""
    if ranking.significant:
        return None
    return (
        f"post-hoc (Nemenyi) comparisons are not supported: the {ranking.omnibus} omnibus test is not "
        f"significant (p = {ranking.pvalue:.3g} >= alpha = {ranking.alpha:g}); the critical-difference "
        f"diagram shows no groups"
    )


# ----------------------------------------------------------------------------------------------------------
# 9. pairwise comparison
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare` for one ordered pair (a, b).

    p-values are one-sided ("a better" / "b better"), Holm-adjusted when ``p_adjustment`` says so.
    ``crossing``: both one-sided KS tests are significant (each ECDF lies significantly below the other
    somewhere). ``eps_min_*`` are ASO upper bounds (below ``ASO_TAU`` = almost stochastic dominance);
    ``ties_fraction`` is computed on the pooled pair.
    """

    verdict: Verdict
    n_a: int
    n_b: int
    mw_p_a_better: float
    mw_p_b_better: float
    ks_p_a_better: float
    ks_p_b_better: float
    a12: float
    cliffs_delta: float
    eps_min_a_over_b: float
    eps_min_b_over_a: float
    crossing: bool
    ties_fraction: float
    notes: tuple[str, ...]
    alpha: float
    higher_is_better: bool
    mw_method: str = "auto"
    p_adjustment: str = "none"


def _verdict(mw_a: float, mw_b: float, ks_a: float, ks_b: float, alpha: float) -> tuple[Verdict, bool]:
    """The dominance rule (REPORTS.md) applied to four one-sided p-values; returns (verdict, crossing)."""
    crossing = ks_a < alpha and ks_b < alpha
    if crossing:
        return "crossing", True
    if ks_a < alpha and mw_a < alpha and mw_b >= alpha:  # ks_b >= alpha: not crossing
        return "a", False
    if ks_b < alpha and mw_b < alpha and mw_a >= alpha:
        return "b", False
    return "none", False


def _notes(c: Comparison) -> tuple[str, ...]:
    """Human-readable caveats for one comparison (recomputed whenever its p-values or orientation change)."""
    n_a, n_b, ties, eps_ab, eps_ba = c.n_a, c.n_b, c.ties_fraction, c.eps_min_a_over_b, c.eps_min_b_over_a
    verdict = c.verdict
    notes: list[str] = []
    if min(n_a, n_b) < MIN_SEEDS:
        notes.append(f"fewer than {MIN_SEEDS} samples (n_a={n_a}, n_b={n_b}): tests have little power")
    if ties > TIES_HEAVY_FRACTION:
        notes.append(f"ties-heavy data: {ties:.0%} of pooled values are tied")
    if c.mw_method == "asymptotic":
        notes.append("Mann-Whitney: asymptotic method with tie correction (ties present)")
    if eps_ab < ASO_TAU:
        notes.append(f"ASO: a almost stochastically better than b (eps_min={eps_ab:.3f} < {ASO_TAU})")
    if eps_ba < ASO_TAU:
        notes.append(f"ASO: b almost stochastically better than a (eps_min={eps_ba:.3f} < {ASO_TAU})")
    if (verdict == "a" and eps_ab >= ASO_TAU) or (verdict == "b" and eps_ba >= ASO_TAU):
        notes.append(f"ASO does not confirm the dominance at tau={ASO_TAU}")
    if c.p_adjustment != "none":
        notes.append(f"p-values adjusted: {c.p_adjustment} within the declared family of one-sided tests")
    return tuple(notes)


def compare(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    seed: int = 0,
    n_bootstrap: int = 1000,
) -> Comparison:
    """Compare final best fitnesses of two algorithms.

    Verdict rule (first-order stochastic dominance, REPORTS.md):

    - ``'crossing'`` if both one-sided KS tests are significant: each ECDF lies below the other by more than
      sampling noise somewhere. This is the crossing check: the reverse one-sided KS test is significant iff
      the ECDF difference in the unfavoured direction exceeds its critical value (about
      ``sqrt(ln(1/alpha) (n+m) / (2 n m))`` asymptotically, the one-sided DKW-type bound).
    - ``'a'`` if KS(a better) AND Mann-Whitney(a better) are both significant and neither reverse test is;
    - ``'b'`` symmetrically;
    - ``'none'`` otherwise (including identical samples).

    KS detects "F_a below F_b somewhere", Mann-Whitney the location shift; requiring both keeps a one-tail
    difference from being called dominance. ASO (confidence ``1 - alpha``) and the effect sizes are reported
    but do not enter the verdict; ``notes`` says when ASO disagrees.
    """
    x = _sample(a, "a")
    y = _sample(b, "b")
    _check_alpha(alpha)
    mw_a = mann_whitney(x, y, "better", higher_is_better)
    mw_b = mann_whitney(x, y, "worse", higher_is_better)
    ks_a, ks_b = ks_one_sided(x, y, higher_is_better)
    a12 = vargha_delaney_a12(x, y, higher_is_better)
    aso_res = aso(
        x, y, higher_is_better=higher_is_better, n_bootstrap=n_bootstrap, confidence=1.0 - alpha, seed=seed
    )
    ties = ties_fraction(np.concatenate([x, y]))
    verdict, crossing = _verdict(mw_a.pvalue, mw_b.pvalue, ks_a, ks_b, alpha)
    result = Comparison(
        verdict=verdict,
        n_a=int(x.size),
        n_b=int(y.size),
        mw_p_a_better=mw_a.pvalue,
        mw_p_b_better=mw_b.pvalue,
        ks_p_a_better=ks_a,
        ks_p_b_better=ks_b,
        a12=a12,
        cliffs_delta=2.0 * a12 - 1.0,
        eps_min_a_over_b=aso_res.eps_min,
        eps_min_b_over_a=aso_res.eps_min_reverse,
        crossing=crossing,
        ties_fraction=ties,
        notes=(),
        alpha=float(alpha),
        higher_is_better=higher_is_better,
        mw_method=mw_a.method,
    )
    return replace(result, notes=_notes(result))


def _mirror(c: Comparison) -> Comparison:
    """The same comparison seen from b's side (b becomes the row algorithm)."""
    swapped: Verdict = "b" if c.verdict == "a" else "a" if c.verdict == "b" else c.verdict
    mirrored = replace(
        c,
        verdict=swapped,
        n_a=c.n_b,
        n_b=c.n_a,
        mw_p_a_better=c.mw_p_b_better,
        mw_p_b_better=c.mw_p_a_better,
        ks_p_a_better=c.ks_p_b_better,
        ks_p_b_better=c.ks_p_a_better,
        a12=1.0 - c.a12,
        cliffs_delta=-c.cliffs_delta,
        eps_min_a_over_b=c.eps_min_b_over_a,
        eps_min_b_over_a=c.eps_min_a_over_b,
    )
    return replace(mirrored, notes=_notes(mirrored))


@dataclass(frozen=True)
class PairwiseMatrix:
    """All ordered pairs of a family of algorithms. ``comparisons[(a, b)]`` is a vs b (``verdict 'a'`` means
    the row algorithm wins); p-values are Holm-adjusted within the family of ``family_size`` one-sided
    p-values and verdicts are recomputed from them."""

    names: tuple[str, ...]
    comparisons: Mapping[tuple[str, str], Comparison]
    family_size: int
    alpha: float
    higher_is_better: bool

    def __getitem__(self, pair: tuple[str, str]) -> Comparison:
        return self.comparisons[pair]

    def verdicts(self) -> tuple[tuple[str, ...], ...]:
        """Verdict matrix in ``names`` order: entry [i][j] is the verdict of names[i] vs names[j]; '-' on the
        diagonal."""
        return tuple(
            tuple("-" if r == c else self.comparisons[(r, c)].verdict for c in self.names) for r in self.names
        )

    def winners(self) -> tuple[tuple[str, str], ...]:
        """(winner, loser) pairs with a dominance verdict."""
        return tuple((r, c) for (r, c), comp in self.comparisons.items() if comp.verdict == "a")


def _pair_seed(seed: int, index: int) -> int:
    """A deterministic per-pair seed (SeedSequence of (seed, index); never Python's salted hash())."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, dtype=np.uint32)[0])


def compare_many(
    samples: Mapping[str, npt.ArrayLike],
    higher_is_better: bool = True,
    alpha: float = 0.05,
    seed: int = 0,
    n_bootstrap: int = 1000,
) -> PairwiseMatrix:
    """Compare every pair of algorithms and correct for multiple testing.

    Declared family: for every unordered pair {a, b} (names sorted), the four one-sided p-values
    MW(a better), MW(b better), KS(a better), KS(b better); family size 4 * k (k - 1) / 2 = 2 k (k - 1).
    (The ordered pair (b, a) re-uses the same four hypotheses, so it is not counted twice.) Holm's
    step-down adjustment is applied over the whole family and the verdicts are recomputed from the
    adjusted p-values; A12, Cliff's delta and ASO are not adjusted. Pair i (in sorted order) gets the
    bootstrap seed derived from ``(seed, i)``, so the result is deterministic and independent of the
    mapping's insertion order.
    """
    if len(samples) < 2:
        raise ValueError(f"need at least two algorithms to compare, got {len(samples)}")
    names = tuple(sorted(samples))
    arrays = {name: _sample(samples[name], f"samples[{name!r}]") for name in names}
    _check_alpha(alpha)
    pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    raw = [
        compare(arrays[p], arrays[q], higher_is_better, alpha, _pair_seed(seed, idx), n_bootstrap)
        for idx, (p, q) in enumerate(pairs)
    ]
    flat = np.array([[c.mw_p_a_better, c.mw_p_b_better, c.ks_p_a_better, c.ks_p_b_better] for c in raw])
    adjusted = holm(flat.ravel()).reshape(flat.shape)
    family = int(flat.size)
    label = f"holm(m={family})"
    out: dict[tuple[str, str], Comparison] = {}
    for (p, q), c, adj in zip(pairs, raw, adjusted, strict=True):
        mw_a, mw_b, ks_a, ks_b = (float(v) for v in adj)
        verdict, crossing = _verdict(mw_a, mw_b, ks_a, ks_b, alpha)
        adjusted_c = replace(
            c,
            verdict=verdict,
            mw_p_a_better=mw_a,
            mw_p_b_better=mw_b,
            ks_p_a_better=ks_a,
            ks_p_b_better=ks_b,
            crossing=crossing,
            p_adjustment=label,
        )
        adjusted_c = replace(adjusted_c, notes=_notes(adjusted_c))
        out[(p, q)] = adjusted_c
        out[(q, p)] = _mirror(adjusted_c)
    ordered = {(r, s): out[(r, s)] for r in names for s in names if r != s}
    return PairwiseMatrix(
        names=names,
        comparisons=ordered,
        family_size=family,
        alpha=float(alpha),
        higher_is_better=higher_is_better,
    )


# ----------------------------------------------------------------------------------------------------------
# 10. warnings
# ----------------------------------------------------------------------------------------------------------


def warnings_for(
    samples: Mapping[str, npt.ArrayLike], budgets: Mapping[str, float] | None = None
) -> list[str]:
    """The data-level warnings a report prints (REPORTS.md), in a fixed order.

    - fewer than ``MIN_SEEDS`` (5) seeds for an algorithm;
    - unequal budgets (relative tolerance 1e-9);
    - no random-search baseline (no algorithm name containing 'random', case-insensitive);
    - ties-heavy data: more than 25% of the pooled values of all algorithms are tied.

    "Post-hoc without a significant omnibus test" is :func:`posthoc_warning`; "selected on test data" is
    the report's business.
    """
    if len(samples) == 0:
        raise ValueError("samples is empty: no algorithms to check")
    out: list[str] = []
    names = sorted(samples)
    arrays = {name: _sample(samples[name], f"samples[{name!r}]") for name in names}
    for name in names:
        if arrays[name].size < MIN_SEEDS:
            out.append(f"fewer than {MIN_SEEDS} seeds for {name!r} (n={arrays[name].size})")
    if budgets is not None and len(budgets) > 0:
        values = np.array([float(budgets[k]) for k in sorted(budgets)])
        if not np.allclose(values, values[0], rtol=1e-9, atol=0.0):
            listed = ", ".join(f"{k}={float(budgets[k]):g}" for k in sorted(budgets))
            out.append(f"unequal budgets: {listed}")
    if not any("random" in name.lower() for name in names):
        out.append("no random-search baseline among the compared algorithms")
    ties = ties_fraction(np.concatenate([arrays[n] for n in names]))
    if ties > TIES_HEAVY_FRACTION:
        out.append(f"ties-heavy data: {ties:.0%} of the pooled values are tied; rank tests lose power")
    return out
