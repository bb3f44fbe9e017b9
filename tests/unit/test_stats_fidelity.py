"""Fidelity of the report statistics to their sources (issue 11, "Statistics").

1. ``compare_many``'s multiple-testing correction never weakens the crossing rule (the issue's rule,
   docs/statistics.md view 4): a pair that ``compare()`` calls crossing is never called dominance on the page.
2. ASO eps_min follows deep-significance's ``aso(..., num_comparisons=m)`` (Bonferroni, documented as
   "dividing alpha by the number of comparisons") and states its integration grid.
3. Iman-Davenport's F_F beside Friedman's chi^2 (Demsar 2006, JMLR 7, Sec. 3.2.2).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest
import scipy.stats as sps

from reports import stats, views
from reports.document import Table, Text

ALPHA = 0.05


def _quantiles(n: int, loc: float, scale: float) -> np.ndarray:
    """A deterministic normal-shaped sample: the N(loc, scale) quantiles at (i + 1/2)/n."""
    return loc + scale * sps.norm.ppf((np.arange(n) + 0.5) / n)


# ------------------------------------------------------------------------------------------------------------
# 1. compare_many keeps the crossing rule
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "wide_scale", "narrow_loc"), [(60, 2.0, 0.8), (80, 1.5, 0.5), (80, 2.0, 0.8)])
@pytest.mark.parametrize("hib", [True, False])
def test_compare_many_never_calls_a_crossing_dominance(
    n: int, wide_scale: float, narrow_loc: float, hib: bool
) -> None:
    """The issue's crossing rule: dominance only if the reverse tests are not significant and the ECDFs do not
    cross; Holm's correction must not weaken that check.

    ``narrow`` ~ N(narrow_loc, 0.3) is better in the lower tail, ``wide`` ~ N(0, wide_scale) in the upper
    tail. Raw KS is significant both ways (``compare()`` says crossing); after Holm over the 12 one-sided
    tests the reverse KS is not, which the old rule (all four p-values adjusted, then the verdict) read as
    "narrow dominates wide".
    """
    sign = 1.0 if hib else -1.0
    samples = {
        "narrow": sign * _quantiles(n, narrow_loc, 0.3),
        "wide": sign * _quantiles(n, 0.0, wide_scale),
        "other": sign * _quantiles(n, 0.0, 1.0),
    }
    single = stats.compare(samples["narrow"], samples["wide"], hib, n_bootstrap=20)
    assert single.verdict == "crossing"
    m = stats.compare_many(samples, higher_is_better=hib, n_bootstrap=20)
    trap = m["narrow", "wide"]
    assert trap.raw is not None
    assert trap.raw.ks_b_better < ALPHA <= trap.ks_p_b_better  # the fixture exercises the trap
    for (p, q), comp in m.comparisons.items():
        reference = stats.compare(samples[p], samples[q], hib, n_bootstrap=20)
        if reference.verdict == "crossing":
            assert comp.verdict == "crossing", (p, q)
            assert comp.crossing
        if comp.verdict in ("a", "b"):
            assert reference.verdict == comp.verdict, (p, q)  # the correction only removes claims


def _family(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Three algorithms: a narrow one above a wide one (ECDFs that cross) and a random third."""
    return {
        "narrow": rng.normal(rng.uniform(0.3, 1.2), 0.3, n),
        "wide": rng.normal(0.0, rng.uniform(1.0, 2.0), n),
        "other": rng.normal(rng.uniform(-1.0, 1.0), rng.uniform(0.3, 2.0), n),
    }


def test_simulated_share_of_crossing_called_dominance_is_zero() -> None:
    """The issue's crossing rule, measured: 100 seeded families x 3 pairs = 300 pairs, 60 seeds each.

    Under the old rule (Holm on all four p-values, then the verdict) 13 of the 61 pairs ``compare()`` calls
    crossing here (21%) were called dominance by ``compare_many``; the share must now be 0, and 'crossing'
    must mean the same in both.
    """
    rng = np.random.default_rng(2024)
    crossing = disagree = pairs = 0
    for _ in range(100):
        samples = _family(rng, 60)
        m = stats.compare_many(samples, n_bootstrap=2)
        for i, p in enumerate(m.names):
            for q in m.names[i + 1 :]:
                pairs += 1
                reference = stats.compare(samples[p], samples[q], n_bootstrap=2).verdict
                got = m[p, q].verdict
                crossing += reference == "crossing"
                disagree += reference == "crossing" and got in ("a", "b")
                assert (reference == "crossing") == (got == "crossing")
                assert got not in ("a", "b") or got == reference
    assert pairs == 300
    assert crossing >= 30  # enough crossing pairs for the share to mean something
    assert disagree / crossing == 0.0


def test_compare_many_keeps_holm_on_the_supporting_tests() -> None:
    """The correction still removes weak claims (Holm over the declared family of 4 k (k - 1) / 2 tests)."""
    b = np.arange(10.0)
    samples = {"b": b, "a": b + 6.0, "c": b + 0.25}
    assert stats.compare(samples["a"], b, n_bootstrap=20).verdict == "a"
    m = stats.compare_many(samples, n_bootstrap=20)
    assert m.family_size == 12
    assert m["a", "b"].verdict == "none"
    raw = m["a", "b"].raw
    assert raw is not None and raw.ks_a_better < ALPHA <= m["a", "b"].ks_p_a_better
    assert m["b", "a"].raw == raw.mirrored()


# ------------------------------------------------------------------------------------------------------------
# 2. ASO: Bonferroni over the page's pairs, integration grid
# ------------------------------------------------------------------------------------------------------------


def test_bonferroni_confidence_is_alpha_over_m() -> None:
    """deep-significance's aso docs: ``num_comparisons`` applies the Bonferroni correction, alpha / m."""
    assert stats.bonferroni_confidence(0.95, 1) == 0.95
    assert stats.bonferroni_confidence(0.95, 2) == pytest.approx(0.975)
    assert stats.bonferroni_confidence(0.95, 4) == pytest.approx(1 - 0.05 / 4)
    with pytest.raises(ValueError, match="num_comparisons"):
        stats.bonferroni_confidence(0.95, 0)


def test_aso_num_comparisons_equals_the_corrected_confidence() -> None:
    """deep-significance's ``aso(a, b, confidence_level=0.95, num_comparisons=m)``: the same upper bound as
    the uncorrected test at confidence 1 - 0.05 / m, and never tighter than the uncorrected one."""
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.3, 1.0, 12), rng.normal(0.0, 1.0, 15)
    plain = stats.aso(a, b, n_bootstrap=200, seed=3)
    corrected = stats.aso(a, b, n_bootstrap=200, seed=3, num_comparisons=6)
    by_level = stats.aso(a, b, n_bootstrap=200, seed=3, confidence=1 - 0.05 / 6)
    assert corrected.eps_min == pytest.approx(by_level.eps_min, rel=1e-12)
    assert corrected.eps_min_reverse == pytest.approx(by_level.eps_min_reverse, rel=1e-12)
    assert corrected.eps_min >= plain.eps_min and corrected.eps_min_reverse >= plain.eps_min_reverse
    assert corrected.violation_ratio == plain.violation_ratio  # the point estimate is not corrected
    assert corrected.confidence_used == pytest.approx(1 - 0.05 / 6)
    assert plain.confidence_used == 0.95


def test_compare_many_corrects_eps_min_across_the_pages_pairs_by_default() -> None:
    """deep-significance's ``multi_aso`` counts m = k (k - 1) / 2 comparisons; ``compare_many`` does the
    same by default and says so (``aso_comparisons``, ``aso_confidence``); ``aso_correction='none'`` keeps
    1 - alpha."""
    rng = np.random.default_rng(8)
    samples = {name: rng.normal(loc, 1.0, 10) for name, loc in (("x", 0.0), ("y", 0.4), ("z", 0.8))}
    m = stats.compare_many(samples, n_bootstrap=100, seed=1)
    plain = stats.compare_many(samples, n_bootstrap=100, seed=1, aso_correction="none")
    assert (m.aso_correction, m.aso_comparisons) == ("bonferroni", 3)
    assert m.aso_confidence == pytest.approx(1 - ALPHA / 3)
    assert (plain.aso_comparisons, plain.aso_confidence) == (1, 0.95)
    for pair, comp in m.comparisons.items():
        assert comp.aso_confidence == pytest.approx(1 - ALPHA / 3) and comp.aso_comparisons == 3
        assert comp.eps_min_a_over_b >= plain[pair].eps_min_a_over_b
        assert comp.verdict == plain[pair].verdict  # ASO never enters the verdict
    with pytest.raises(ValueError, match="aso_correction"):
        stats.compare_many(samples, aso_correction="holm")  # type: ignore[arg-type]


def test_aso_integration_grid_is_the_midpoint_rule() -> None:
    """The grid written in the docstring and on the page: midpoint rule on t = (i + 1/2)/1000.

    a = (0, 1), b = (0.5, 0.5): Q_b - Q_a = +0.5 on (0, 1/2] and -0.5 on (1/2, 1), so a violates on exactly
    half of the squared distance: 500 of the 1000 midpoints, ratio 0.5. deep-significance's grid
    t = 0.005, ..., 0.995 has 100 violation points of 199 and leaves the first out of the violation
    integral only: 99/199 = 0.4975.
    """
    res = stats.aso([0.0, 1.0], [0.5, 0.5], n_bootstrap=20)
    assert res.violation_ratio == 0.5
    assert res.num_quantile_points == stats.ASO_QUANTILE_POINTS == 1000
    text = stats.aso_grid_text()
    assert "t = (i + 1/2)/1000, i = 0..999" in text and "0.005" in text
    assert "t_i = (i + 1/2)/N, i = 0..N-1" in (stats.aso.__doc__ or "")


def test_dominance_page_states_the_aso_correction_and_grid() -> None:
    """The page says how eps_min is corrected across its pairs and which grid integrates it."""
    rng = np.random.default_rng(1)
    samples = {name: rng.normal(0.9, 0.01, 6) for name in ("random_search", "re", "ga")}
    ctx = SimpleNamespace(labels=list(samples), stem=lambda view: f"t__{view}")
    section = views.dominance_section(cast(views.PageContext, ctx), samples)
    intro = section.blocks[0]
    assert isinstance(intro, Text)
    text = " ".join(intro.paragraphs)
    assert "Bonferroni-corrected across the 3 pairs" in text and "1 - 0.05/3 = 0.9833" in text
    assert "t = (i + 1/2)/1000" in text
    assert "reverse tests and the crossing check use the raw p-values" in text


# ------------------------------------------------------------------------------------------------------------
# 3. Iman-Davenport F_F
# ------------------------------------------------------------------------------------------------------------


def test_iman_davenport_demsar_worked_example() -> None:
    """Demsar (2006), Sec. 3.2.2: N = 14 data sets, k = 4 algorithms, average ranks 3.143, 2.000, 2.893, 1.964
    (rank sums 44, 28, 40.5, 27.5): chi2_F = 9.28 and F_F = (N-1) chi2_F / (N(k-1) - chi2_F) = 3.69, with
    (k-1, (k-1)(N-1)) = (3, 39) degrees of freedom; the critical value F(3, 39) at alpha = 0.05 is 2.85, so
    the null hypothesis is rejected."""
    n, k = 14, 4
    ranks = np.array([44.0, 28.0, 40.5, 27.5]) / n
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(ranks**2) - k * (k + 1) ** 2 / 4)
    assert chi2 == pytest.approx(9.28, abs=0.005)
    f_f, p, df = stats.iman_davenport(9.28, n, k)
    assert f_f == pytest.approx(3.69, abs=0.005)
    assert df == (3, 39)
    assert p == pytest.approx(float(sps.f.sf(f_f, 3, 39)), rel=1e-12)
    assert float(sps.f.ppf(0.95, 3, 39)) == pytest.approx(2.85, abs=0.005)
    assert p < 0.05


def test_friedman_nemenyi_reports_iman_davenport() -> None:
    """Hand example of test_stats.test_friedman_hand_example (N = 4, k = 3, chi2_F = 4.5), Demsar (2006)
    Sec. 3.2.2: F_F = 3 * 4.5 / (4 * 2 - 4.5) = 27/7 with (2, 6) dof; for df1 = 2,
    P(F > x) = (1 + 2x/df2)^(-df2/2), so p = (16/7)^-3 = 343/4096 = 0.0837: less conservative than
    chi2_F's p = 0.105, not significant either."""
    scores = np.array([[0.9, 0.8, 0.7], [0.9, 0.7, 0.8], [0.8, 0.9, 0.7], [0.9, 0.8, 0.7]])
    res = stats.friedman_nemenyi(scores, names=["A", "B", "C"])
    assert res.statistic == pytest.approx(4.5)
    assert res.iman_davenport_f == pytest.approx(27 / 7)
    assert res.iman_davenport_df == (2, 6)
    assert res.iman_davenport_pvalue == pytest.approx(343 / 4096)
    assert res.iman_davenport_pvalue == pytest.approx(float(sps.f.sf(27 / 7, 2, 6)))
    assert res.iman_davenport_pvalue < res.pvalue
    assert not res.significant  # the gate stays on Friedman's chi2_F


def test_iman_davenport_edge_cases() -> None:
    """Perfect agreement of all blocks (chi2_F = N(k-1)): F_F infinite, p = 0; all tied: F_F = 0, p = 1;
    two algorithms use Wilcoxon, so there is no F_F."""
    agree = stats.friedman_nemenyi(np.tile([1.0, 2.0, 3.0, 4.0], (10, 1)))
    assert agree.statistic == pytest.approx(30.0)
    assert agree.iman_davenport_f == math.inf and agree.iman_davenport_pvalue == 0.0
    tied = stats.friedman_nemenyi(np.ones((5, 3)))
    assert (tied.iman_davenport_f, tied.iman_davenport_pvalue) == (0.0, 1.0)
    two = stats.friedman_nemenyi(np.column_stack([np.arange(6.0), np.arange(6.0) + 1]))
    assert two.omnibus == "wilcoxon" and two.iman_davenport_f is None and two.iman_davenport_df is None
    with pytest.raises(ValueError, match="chi2"):
        stats.iman_davenport(-1.0, 5, 3)


def test_ranking_table_shows_iman_davenport() -> None:
    """The rendered ranks table (its caption) carries F_F, its dof and p beside Friedman's chi2_F."""
    rin = views.RankingInput(
        algorithms=("A", "B", "C"),
        blocks=("s1 / t", "s2 / t", "s3 / t", "s4 / t"),
        scores=((0.9, 0.8, 0.7), (0.9, 0.7, 0.8), (0.8, 0.9, 0.7), (0.9, 0.8, 0.7)),
        skipped=(),
    )
    section, _ = views.ranking_section(rin)
    ranks = next(b for b in section.blocks if isinstance(b, Table) and b.stem == "ranking__ranks")
    assert "Friedman chi2_F = 4.500 (df 2), p = 0.1054" in ranks.caption
    assert "Iman-Davenport F_F" in ranks.caption and "= 3.857 (df 2, 6), p = 0.0837" in ranks.caption
