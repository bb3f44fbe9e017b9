"""Tests that guard the statistics behind the reports (docs/statistics.md, "Tests that guard the statistics").

Every direction is checked for maximisation AND minimisation, with seeded shifted-normal fixtures: a test
that silently flips a direction (the ks_2samp trap) fails here.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import scipy.stats as sps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.stats import (
    ASO_TAU,
    aso,
    aso_epsilon_min,
    cliffs_delta,
    compare,
    compare_many,
    ecdf,
    friedman_nemenyi,
    holm,
    ks_one_sided,
    make_targets,
    mann_whitney,
    nemenyi_q,
    posthoc_warning,
    runtime_ecdf,
    ties_fraction,
    vargha_delaney_a12,
    warnings_for,
)

N_BOOT = 300  # small bootstrap for speed; the bootstrap is vectorised


# ------------------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def shifted_max() -> tuple[np.ndarray, np.ndarray]:
    """Accuracy-like (higher is better): ``better`` ~ N(1, 1) clearly above ``worse`` ~ N(0, 1), n = 50."""
    rng = np.random.default_rng(12345)
    return rng.normal(1.0, 1.0, 50), rng.normal(0.0, 1.0, 50)


@pytest.fixture
def shifted_min() -> tuple[np.ndarray, np.ndarray]:
    """Error-like (lower is better): ``better`` ~ N(0, 1) clearly below ``worse`` ~ N(1, 1), n = 50."""
    rng = np.random.default_rng(54321)
    return rng.normal(0.0, 1.0, 50), rng.normal(1.0, 1.0, 50)


@pytest.fixture
def crossing_pair() -> tuple[np.ndarray, np.ndarray]:
    """Same mean, very different spread: N(0, 0.1) vs N(0, 3), n = 200. Each is better somewhere."""
    rng = np.random.default_rng(7)
    return rng.normal(0.0, 0.1, 200), rng.normal(0.0, 3.0, 200)


CASES = ["max", "min"]


def _pair(request: pytest.FixtureRequest, case: str) -> tuple[np.ndarray, np.ndarray, bool]:
    better, worse = request.getfixturevalue("shifted_max" if case == "max" else "shifted_min")
    return better, worse, case == "max"


# ------------------------------------------------------------------------------------------------------------
# directions of every test, both optimisation directions
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_mann_whitney_direction(request: pytest.FixtureRequest, case: str) -> None:
    better, worse, hib = _pair(request, case)
    assert mann_whitney(better, worse, "better", hib).pvalue < 1e-3
    assert mann_whitney(better, worse, "worse", hib).pvalue > 0.99
    assert mann_whitney(worse, better, "worse", hib).pvalue < 1e-3
    assert mann_whitney(worse, better, "better", hib).pvalue > 0.99
    # U of a counts pairs where a is better: U / (n m) is A12
    res = mann_whitney(better, worse, "better", hib)
    assert res.statistic / (better.size * worse.size) == pytest.approx(vargha_delaney_a12(better, worse, hib))


@pytest.mark.parametrize("case", CASES)
def test_ks_one_sided_direction(request: pytest.FixtureRequest, case: str) -> None:
    better, worse, hib = _pair(request, case)
    p_a_better, p_b_better = ks_one_sided(better, worse, hib)
    assert p_a_better < 0.01
    assert p_b_better > 0.5
    assert ks_one_sided(worse, better, hib) == pytest.approx((p_b_better, p_a_better))


def test_ks_scipy_trap_is_documented_correctly(shifted_max: tuple[np.ndarray, np.ndarray]) -> None:
    """ks_2samp(A, B, 'less') has H1 "CDF of A below CDF of B somewhere": A tends to be LARGER."""
    larger, smaller = shifted_max
    assert sps.ks_2samp(larger, smaller, alternative="less").pvalue < 1e-3
    assert sps.ks_2samp(larger, smaller, alternative="greater").pvalue > 0.5
    assert ks_one_sided(larger, smaller, True)[0] == pytest.approx(
        sps.ks_2samp(larger, smaller, alternative="less").pvalue
    )
    # minimisation: the smaller sample is the better one, its CDF lies ABOVE: scipy's 'greater'
    assert ks_one_sided(smaller, larger, False)[0] == pytest.approx(
        sps.ks_2samp(smaller, larger, alternative="greater").pvalue
    )


@pytest.mark.parametrize("case", CASES)
def test_effect_sizes_direction(request: pytest.FixtureRequest, case: str) -> None:
    better, worse, hib = _pair(request, case)
    a12 = vargha_delaney_a12(better, worse, hib)
    assert a12 > 0.64  # at least "medium" (population value for a one-sigma shift: 0.76)
    assert cliffs_delta(better, worse, hib) == pytest.approx(2 * a12 - 1)
    assert cliffs_delta(better, worse, hib) > 0.28
    assert vargha_delaney_a12(worse, better, hib) == pytest.approx(1 - a12)
    # the wrong orientation flips the effect
    assert vargha_delaney_a12(better, worse, not hib) == pytest.approx(1 - a12)


@pytest.mark.parametrize("case", CASES)
def test_aso_direction(request: pytest.FixtureRequest, case: str) -> None:
    better, worse, hib = _pair(request, case)
    assert aso_epsilon_min(better, worse, hib, n_bootstrap=N_BOOT, seed=1) < ASO_TAU
    assert aso_epsilon_min(worse, better, hib, n_bootstrap=N_BOOT, seed=1) > 0.5
    res = aso(better, worse, hib, n_bootstrap=N_BOOT, seed=1)
    assert res.violation_ratio < 0.1
    assert res.eps_min >= res.violation_ratio  # an upper confidence bound


@pytest.mark.parametrize("case", CASES)
def test_compare_verdict_direction(request: pytest.FixtureRequest, case: str) -> None:
    better, worse, hib = _pair(request, case)
    c = compare(better, worse, hib, n_bootstrap=N_BOOT)
    assert c.verdict == "a"
    assert not c.crossing
    assert c.mw_p_a_better < 0.05 and c.ks_p_a_better < 0.05
    assert c.mw_p_b_better > 0.05 and c.ks_p_b_better > 0.05
    assert c.eps_min_a_over_b < ASO_TAU < c.eps_min_b_over_a
    assert compare(worse, better, hib, n_bootstrap=N_BOOT).verdict == "b"
    # the same data read in the other optimisation direction: the other algorithm wins
    assert compare(better, worse, not hib, n_bootstrap=N_BOOT).verdict == "b"


# ------------------------------------------------------------------------------------------------------------
# crossing CDFs, identical samples, ties
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hib", [True, False])
def test_crossing_cdfs_are_never_dominance(crossing_pair: tuple[np.ndarray, np.ndarray], hib: bool) -> None:
    narrow, wide = crossing_pair
    for a, b in ((narrow, wide), (wide, narrow)):
        c = compare(a, b, hib, n_bootstrap=N_BOOT)
        assert c.verdict == "crossing"
        assert c.crossing
        assert c.ks_p_a_better < 0.05 and c.ks_p_b_better < 0.05
        # no almost-stochastic order either way
        assert min(c.eps_min_a_over_b, c.eps_min_b_over_a) > ASO_TAU


def test_identical_samples() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(0.9, 0.01, 30)
    c = compare(a, a.copy(), n_bootstrap=N_BOOT)
    assert c.verdict == "none"
    assert not c.crossing
    assert c.a12 == 0.5
    assert c.cliffs_delta == 0.0
    assert c.mw_p_a_better > 0.4 and c.ks_p_a_better > 0.4
    res = aso(a, a.copy(), n_bootstrap=N_BOOT)
    assert res.violation_ratio == pytest.approx(0.5, abs=0.05)  # exactly 0.5 (zero Wasserstein distance)
    # eps_min is an upper bound above 0.5 for equal non-constant samples (bootstrap noise): no order claimed
    assert res.eps_min == res.eps_min_reverse >= 0.5


def test_identical_constant_samples_give_aso_one_half() -> None:
    """deep-significance convention: zero Wasserstein distance -> violation ratio 0.5."""
    a = np.full(10, 0.93)
    assert aso_epsilon_min(a, a.copy(), n_bootstrap=N_BOOT) == pytest.approx(0.5, abs=0.05)
    c = compare(a, a.copy(), n_bootstrap=N_BOOT)
    assert c.verdict == "none"
    assert c.a12 == 0.5
    assert c.eps_min_a_over_b == pytest.approx(0.5, abs=0.05)
    assert c.eps_min_b_over_a == pytest.approx(0.5, abs=0.05)


def test_heavy_ties_use_tie_correction() -> None:
    rng = np.random.default_rng(11)
    a = rng.choice([0.0, 1.0, 2.0], size=40, p=[0.2, 0.3, 0.5])
    b = rng.choice([0.0, 1.0, 2.0], size=40, p=[0.5, 0.3, 0.2])
    res = mann_whitney(a, b, "better")
    assert res.method == "asymptotic"
    assert res.pvalue == pytest.approx(
        sps.mannwhitneyu(a, b, alternative="greater", method="asymptotic").pvalue
    )
    c = compare(a, b, n_bootstrap=N_BOOT)
    assert c.ties_fraction == 1.0
    assert c.mw_method == "asymptotic"
    assert any("ties-heavy" in note for note in c.notes)
    for p in (c.mw_p_a_better, c.mw_p_b_better, c.ks_p_a_better, c.ks_p_b_better):
        assert 0.0 <= p <= 1.0
    assert c.mw_p_a_better < 0.05 < c.mw_p_b_better  # a's distribution is shifted up


def test_small_tied_sample_is_not_exact() -> None:
    """With ties the exact table is wrong; the tie-corrected asymptotic p differs from it here."""
    a, b = [1.0, 2.0, 2.0], [0.0, 1.0, 1.0]
    p = mann_whitney(a, b, "better").pvalue
    assert p == pytest.approx(sps.mannwhitneyu(a, b, alternative="greater", method="asymptotic").pvalue)
    assert p != pytest.approx(sps.mannwhitneyu(a, b, alternative="greater", method="exact").pvalue)


def test_ties_fraction() -> None:
    assert ties_fraction([1, 1, 2, 3]) == 0.5
    assert ties_fraction([1, 2, 3]) == 0.0
    assert ties_fraction([4, 4, 4]) == 1.0
    assert ties_fraction([4]) == 0.0


# ------------------------------------------------------------------------------------------------------------
# Holm
# ------------------------------------------------------------------------------------------------------------


def test_holm_hand_example() -> None:
    """Raw p = [0.01, 0.04, 0.03, 0.005], m = 4.

    Sorted: 0.005 (#3), 0.01 (#0), 0.03 (#2), 0.04 (#1)
    times (m - i + 1):  4*0.005 = 0.02, 3*0.01 = 0.03, 2*0.03 = 0.06, 1*0.04 = 0.04
    running max:        0.02, 0.03, 0.06, 0.06
    back in input order: [0.03, 0.06, 0.06, 0.02]
    """
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one() -> None:
    """[0.4, 0.6, 0.9]: 3*0.4 = 1.2, 2*0.6 = 1.2, 1*0.9 -> running max 1.2 -> capped: [1, 1, 1]."""
    np.testing.assert_allclose(holm([0.4, 0.6, 0.9]), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(holm([0.02]), [0.02])


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30))
@settings(max_examples=60, deadline=None)
def test_holm_properties(raw: list[float]) -> None:
    p = np.array(raw)
    adj = holm(p)
    assert np.all(adj >= p - 1e-15)
    assert np.all(adj <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adj[order]) >= 0)  # monotone in the raw order
    assert np.all(adj <= np.minimum(p * p.size, 1.0) + 1e-15)  # never worse than Bonferroni


# ------------------------------------------------------------------------------------------------------------
# Friedman / Nemenyi
# ------------------------------------------------------------------------------------------------------------


def test_nemenyi_cd_demsar_2006() -> None:
    """Demsar (2006), Section 3.2.2: k = 4 classifiers, N = 14 data sets, alpha = 0.05:
    q_0.05 = 2.569 and CD = 2.569 * sqrt(4 * 5 / (6 * 14)) = 1.25."""
    assert nemenyi_q(4, 0.05) == pytest.approx(2.569, abs=1e-3)
    assert nemenyi_q(3, 0.05) == pytest.approx(2.343, abs=1e-3)
    scores = np.random.default_rng(0).normal(size=(14, 4))
    res = friedman_nemenyi(scores)
    assert res.critical_difference == pytest.approx(1.25, abs=0.01)
    assert res.q_alpha == pytest.approx(2.569, abs=1e-3)


def test_friedman_hand_example() -> None:
    """4 blocks, 3 algorithms (higher is better). Ranks, 1 = best:

    block 1: A > B > C  -> 1 2 3
    block 2: A > C > B  -> 1 3 2
    block 3: B > A > C  -> 2 1 3
    block 4: A > B > C  -> 1 2 3
    rank sums R = (5, 8, 11), average ranks (1.25, 2.0, 2.75)
    chi2_F = 12 / (N k (k+1)) * sum R_j^2 - 3 N (k+1) = 12/48 * (25 + 64 + 121) - 48 = 52.5 - 48 = 4.5
    p = P(chi2_2 > 4.5) = exp(-4.5 / 2) = 0.1054 -> not significant, so no post-hoc groups.
    """
    scores = np.array([[0.9, 0.8, 0.7], [0.9, 0.7, 0.8], [0.8, 0.9, 0.7], [0.9, 0.8, 0.7]])
    res = friedman_nemenyi(scores, names=["A", "B", "C"])
    assert res.omnibus == "friedman"
    np.testing.assert_allclose(res.average_ranks, [1.25, 2.0, 2.75])
    assert res.statistic == pytest.approx(4.5)
    assert res.pvalue == pytest.approx(math.exp(-2.25))
    assert not res.significant
    assert res.groups == () and res.different_pairs == ()
    assert posthoc_warning(res) is not None
    # minimisation of the same numbers reverses the ranks (the statistic is symmetric)
    res_min = friedman_nemenyi(scores, higher_is_better=False, names=["A", "B", "C"])
    np.testing.assert_allclose(res_min.average_ranks, [2.75, 2.0, 1.25])
    assert res_min.statistic == pytest.approx(4.5)


def test_friedman_ties_get_average_ranks() -> None:
    scores = np.array([[3.0, 3.0, 1.0], [2.0, 1.0, 0.0]])
    np.testing.assert_allclose(friedman_nemenyi(scores).average_ranks, [1.25, 1.75, 3.0])


def test_friedman_groups_when_significant() -> None:
    """Strict order d > c > b > a in all 10 blocks: ranks 4, 3, 2, 1; CD(k=4, N=10) = 1.483, so only
    neighbours share a group and pairs two or more ranks apart differ."""
    scores = np.tile([1.0, 2.0, 3.0, 4.0], (10, 1))
    res = friedman_nemenyi(scores, names=["a", "b", "c", "d"])
    assert res.significant
    assert posthoc_warning(res) is None
    assert res.groups == (("d", "c"), ("c", "b"), ("b", "a"))
    assert set(res.different_pairs) == {("d", "b"), ("d", "a"), ("c", "a")}


def test_two_algorithms_use_wilcoxon() -> None:
    scores = np.column_stack([np.arange(10.0), np.arange(10.0) + 1.0])
    res = friedman_nemenyi(scores, names=["x", "y"])
    assert res.omnibus == "wilcoxon"
    assert res.pvalue == pytest.approx(sps.wilcoxon(scores[:, 0], scores[:, 1]).pvalue)
    assert res.significant
    np.testing.assert_allclose(res.average_ranks, [2.0, 1.0])


def test_friedman_all_tied() -> None:
    res = friedman_nemenyi(np.ones((5, 3)))
    assert res.pvalue == 1.0 and not res.significant and res.groups == ()


# ------------------------------------------------------------------------------------------------------------
# runtime ECDF
# ------------------------------------------------------------------------------------------------------------


def test_runtime_ecdf_censoring_hand_example() -> None:
    """Two runs, three targets (maximisation), target 0.95 never reached.

    run 1: cost 1 2 3 4, best 0.1 0.5 0.5 0.9 -> hits 0.5 at 2, 0.8 at 4, 0.95 never (censored at 4)
    run 2: cost 1 2 3,   best 0.2 0.6 0.7     -> hits 0.5 at 2, 0.8 never, 0.95 never (censored at 3)
    6 pairs: solved at costs 2, 2, 4 -> F(2) = 2/6, F(4) = 3/6.
    linear area on [0, 4]: ((4-2) + (4-2) + (4-4)) / (4 * 6) = 1/6
    """
    runs = [([1, 2, 3, 4], [0.1, 0.5, 0.5, 0.9]), ([1, 2, 3], [0.2, 0.6, 0.7])]
    res = runtime_ecdf(runs, [0.5, 0.8, 0.95])
    np.testing.assert_array_equal(res.hitting_costs, [[2, 4, np.inf], [2, np.inf, np.inf]])
    np.testing.assert_array_equal(res.costs, [2, 4])
    np.testing.assert_allclose(res.fraction, [2 / 6, 3 / 6])
    np.testing.assert_array_equal(res.budgets, [4, 3])
    assert res.fraction_at(1.9) == 0.0
    assert res.fraction_at(100) == 0.5  # censored pairs never count
    assert res.area(4.0) == pytest.approx(1 / 6)
    # a budget cut: run 1 stops at 3, so its hit at 4 is censored
    cut = runtime_ecdf(runs, [0.5, 0.8, 0.95], budgets=[3, 3])
    assert cut.fraction_at(100) == pytest.approx(2 / 6)


def test_runtime_ecdf_minimisation() -> None:
    runs = [([10, 20, 30], [0.5, 0.2, 0.05])]
    res = runtime_ecdf(runs, [0.3, 0.1, 0.01], higher_is_better=False)
    np.testing.assert_array_equal(res.hitting_costs, [[20, 30, np.inf]])
    # a raw (non-monotone) fitness trace is turned into best-so-far
    raw = runtime_ecdf([([1, 2, 3], [0.9, 0.2, 0.8])], [0.5], higher_is_better=True)
    np.testing.assert_array_equal(raw.hitting_costs, [[1]])


def test_runtime_area_bounds() -> None:
    instant = runtime_ecdf([([1, 2, 3], [1.0, 1.0, 1.0])], [0.5, 0.9, 1.0])
    assert instant.area(100.0, log=True, min_cost=1.0) == pytest.approx(1.0)
    assert instant.area(10.0) == pytest.approx(0.9)  # cost 1 out of 10 spent unsolved
    never = runtime_ecdf([([1, 2, 3], [0.0, 0.1, 0.2])], [0.5, 0.9])
    assert never.area(100.0) == 0.0 and never.area(100.0, log=True) == 0.0
    with pytest.raises(ValueError):
        instant.area(1.0, log=True, min_cost=1.0)


@given(
    st.lists(
        st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=15), min_size=1, max_size=5
    ),
    st.floats(min_value=1.5, max_value=50.0),
)
@settings(max_examples=40, deadline=None)
def test_runtime_area_in_unit_interval(fits: list[list[float]], max_cost: float) -> None:
    runs = [(np.arange(1, len(f) + 1, dtype=float), np.array(f)) for f in fits]
    res = runtime_ecdf(runs, [0.25, 0.5, 0.75, 0.99])
    for value in (res.area(max_cost), res.area(max_cost, log=True)):
        assert 0.0 <= value <= 1.0
    assert np.all(np.diff(res.fraction) > 0) and np.all(res.fraction <= 1.0)


def test_make_targets() -> None:
    values = [0.1, 0.5, 0.9, 0.95]
    np.testing.assert_allclose(make_targets(values, 3, "quantile"), [0.5, 0.9, 0.95])
    np.testing.assert_allclose(make_targets(values, 3, "linear"), [0.1 + 0.85 / 3, 0.1 + 1.7 / 3, 0.95])
    # log spacing of the regret 1 - acc: 0.9, sqrt(0.9 * 0.05), 0.05
    expected_log = [0.1, 1 - math.sqrt(0.045), 0.95]
    np.testing.assert_allclose(make_targets(values, 3, "log", reference=1.0), expected_log)
    # minimisation: easiest (largest error) first, best value last
    np.testing.assert_allclose(make_targets(values, 3, "quantile", higher_is_better=False), [0.9, 0.5, 0.1])
    targets = make_targets(values, 3, "log", higher_is_better=False)
    assert targets[-1] == 0.1 and np.all(np.diff(targets) < 0)
    with pytest.raises(ValueError):
        make_targets(values, 3, "cubic")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------------------
# ECDF
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 60])
def test_ecdf_band_contains_curve(n: int) -> None:
    values = np.round(np.random.default_rng(n).normal(size=n), 1)  # rounding adds ties
    res = ecdf(values, confidence=0.9)
    np.testing.assert_array_equal(res.x, np.unique(values))
    np.testing.assert_allclose(res.p, np.searchsorted(np.sort(values), res.x, side="right") / n)
    assert np.all(res.lower <= res.p) and np.all(res.p <= res.upper)
    assert np.all((res.lower >= 0) & (res.upper <= 1))
    assert not np.any(np.isnan(res.lower) | np.isnan(res.upper))
    assert res.p[-1] == 1.0 and res.upper[-1] == 1.0


def test_ecdf_band_matches_scipy_where_defined() -> None:
    values = np.random.default_rng(5).normal(size=40)
    res = ecdf(values)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        band = sps.ecdf(values).cdf.confidence_interval(0.95, method="linear")
    low = band.low.probabilities
    defined = ~np.isnan(low)
    np.testing.assert_allclose(res.lower[defined], np.clip(low[defined], 0, 1))
    assert res.upper[0] < 0.2  # a real band, not the trivial [0, 1]
    narrow = ecdf(values, confidence=0.5)
    assert np.all(narrow.upper - narrow.lower <= res.upper - res.lower + 1e-12)


# ------------------------------------------------------------------------------------------------------------
# degenerate inputs
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: ecdf([]),
        lambda: compare([], [1.0, 2.0]),
        lambda: compare([1.0, 2.0], [float("nan")]),
        lambda: mann_whitney([1.0], []),
        lambda: ks_one_sided([], [1.0]),
        lambda: aso_epsilon_min([], [1.0]),
        lambda: vargha_delaney_a12([1.0], []),
        lambda: holm([]),
        lambda: holm([0.5, 1.5]),
        lambda: runtime_ecdf([], [0.5]),
        lambda: runtime_ecdf([([2, 1], [0.1, 0.2])], [0.5]),
        lambda: friedman_nemenyi(np.ones(4)),
        lambda: friedman_nemenyi(np.ones((1, 3))),
        lambda: compare_many({"only": [1.0, 2.0]}),
        lambda: warnings_for({}),
    ],
)
def test_degenerate_inputs_raise(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()


def test_single_observations() -> None:
    c = compare([1.0], [0.0], n_bootstrap=50)
    assert c.verdict == "none"  # one seed each can never be significant
    assert c.a12 == 1.0
    assert c.eps_min_a_over_b == 0.0
    assert any("fewer than 5" in note for note in c.notes)


# ------------------------------------------------------------------------------------------------------------
# determinism, symmetry
# ------------------------------------------------------------------------------------------------------------


def test_compare_is_byte_identical(shifted_max: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = shifted_max
    first = compare(a, b, seed=42, n_bootstrap=N_BOOT)
    second = compare(a, b, seed=42, n_bootstrap=N_BOOT)
    assert repr(first) == repr(second)
    assert pickle.dumps(first) == pickle.dumps(second)
    # the bootstrap is random and the seed controls it
    other = compare(a, b, seed=43, n_bootstrap=N_BOOT)
    assert other.eps_min_a_over_b != first.eps_min_a_over_b


def test_aso_mirror_is_exact() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(0.2, 1, 25), rng.normal(0, 2, 31)
    ab = aso(a, b, n_bootstrap=N_BOOT, seed=4)
    ba = aso(b, a, n_bootstrap=N_BOOT, seed=4)
    assert ab.eps_min == ba.eps_min_reverse and ab.eps_min_reverse == ba.eps_min
    assert ab.violation_ratio == pytest.approx(1 - ba.violation_ratio)
    assert aso(a, b, n_bootstrap=N_BOOT, seed=5).sigma_hat != ab.sigma_hat  # the seed is used


def test_compare_many_holm_family_and_determinism() -> None:
    """k = 3 algorithms -> 3 unordered pairs x 4 one-sided p-values = 12 hypotheses in the family.

    a = b + 6 on ten points: raw MW p = 0.0008 and KS p = 0.026 give 'a', but after Holm over 12
    hypotheses KS(a better) is 0.26, so the matrix must say 'none'.
    """
    b = np.arange(10.0)
    samples = {"b": b, "a": b + 6.0, "c": b + 0.25}
    assert compare(samples["a"], b, n_bootstrap=50).verdict == "a"
    m = compare_many(samples, n_bootstrap=50)
    assert m.names == ("a", "b", "c")
    assert m.family_size == 12
    assert m["a", "b"].verdict == "none" and m["b", "a"].verdict == "none"
    raw = [compare(samples[p], samples[q], n_bootstrap=50) for p, q in (("a", "b"), ("a", "c"), ("b", "c"))]
    flat = [x for c in raw for x in (c.mw_p_a_better, c.mw_p_b_better, c.ks_p_a_better, c.ks_p_b_better)]
    expected = holm(flat).reshape(3, 4)
    for (p, q), row in zip((("a", "b"), ("a", "c"), ("b", "c")), expected, strict=True):
        got = m[p, q]
        np.testing.assert_allclose(
            [got.mw_p_a_better, got.mw_p_b_better, got.ks_p_a_better, got.ks_p_b_better], row
        )
        assert m[q, p].mw_p_a_better == got.mw_p_b_better and m[q, p].a12 == pytest.approx(1 - got.a12)
        assert got.p_adjustment == "holm(m=12)"
    # deterministic and independent of insertion order
    again = compare_many(dict(reversed(list(samples.items()))), n_bootstrap=50)
    assert repr(again) == repr(m)
    assert m.verdicts()[0][0] == "-"


def test_compare_many_finds_clear_winner(shifted_max: tuple[np.ndarray, np.ndarray]) -> None:
    better, worse = shifted_max
    m = compare_many({"re": better, "random_search": worse}, n_bootstrap=N_BOOT, seed=3)
    assert m["re", "random_search"].verdict == "a"
    assert m["random_search", "re"].verdict == "b"
    assert m.winners() == (("re", "random_search"),)


sample_strategy = st.lists(
    st.integers(min_value=0, max_value=6).map(float), min_size=1, max_size=12
) | st.lists(st.floats(min_value=-5, max_value=5, allow_nan=False), min_size=1, max_size=12)


@given(sample_strategy, sample_strategy)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a12_and_cliff_antisymmetry(a: list[float], b: list[float]) -> None:
    a12 = vargha_delaney_a12(a, b)
    assert a12 + vargha_delaney_a12(b, a) == pytest.approx(1.0)
    assert cliffs_delta(a, b) == pytest.approx(-cliffs_delta(b, a))
    # the rank formula equals the O(n m) definition
    x, y = np.array(a)[:, None], np.array(b)[None, :]
    assert a12 == pytest.approx(float(np.mean((x > y) + 0.5 * (x == y))))
    assert vargha_delaney_a12(a, b, higher_is_better=False) == pytest.approx(1.0 - a12)


@given(sample_strategy, sample_strategy, st.booleans())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_compare_verdict_mirror(a: list[float], b: list[float], hib: bool) -> None:
    ab = compare(a, b, hib, n_bootstrap=20)
    ba = compare(b, a, hib, n_bootstrap=20)
    assert (ab.verdict == "a") == (ba.verdict == "b")
    assert (ab.verdict == "b") == (ba.verdict == "a")
    assert (ab.verdict == "crossing") == (ba.verdict == "crossing")


# ------------------------------------------------------------------------------------------------------------
# warnings
# ------------------------------------------------------------------------------------------------------------


def test_warnings_for() -> None:
    rng = np.random.default_rng(2)
    good = {"random_search": rng.normal(size=10), "re": rng.normal(size=10)}
    assert warnings_for(good, {"random_search": 100.0, "re": 100.0}) == []
    found = warnings_for({"re": [1.0, 1.0, 1.0], "de": [1.0, 2.0, 2.0, 2.0, 3.0]}, {"re": 100.0, "de": 50.0})
    text = " | ".join(found)
    assert "fewer than 5 seeds for 're' (n=3)" in text
    assert "'de'" not in text.split("|")[0]  # de has 5 seeds
    assert "unequal budgets" in text
    assert "no random-search baseline" in text
    assert "ties-heavy" in text
    assert len(found) == 4
