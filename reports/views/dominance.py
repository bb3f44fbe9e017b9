"""View 4 of a page: the pairwise dominance matrix (table, CSV and heatmap) of the final samples.

The comparisons are computed once per page (:func:`page_matrix`) and shared with the headline
(:mod:`reports.headline`), so both quote the same verdicts, p-values and ASO bounds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from reports import figures, stats
from reports.document import Dataset, Section, Table, Text, pval

if TYPE_CHECKING:
    from reports.views.context import PageContext

__all__ = ["ALPHA", "BOOTSTRAP", "SEED", "VERDICT_TEXT", "dominance_section", "page_matrix"]

ALPHA = 0.05
BOOTSTRAP = 1000
SEED = 0

VERDICT_TEXT = {
    "a": "{a} dominates {b}",
    "b": "{b} dominates {a}",
    "crossing": "crossing",
    "none": "no dominance",
}


def page_matrix(samples: Mapping[str, np.ndarray]) -> stats.PairwiseMatrix | None:
    """The pairwise comparisons of a page's final samples (None with fewer than two algorithms): computed
    once per page, quoted by both the dominance matrix and the headline."""
    if len(samples) < 2:
        return None
    return stats.compare_many(samples, higher_is_better=True, alpha=ALPHA, seed=SEED, n_bootstrap=BOOTSTRAP)


def dominance_section(
    ctx: PageContext, samples: Mapping[str, np.ndarray], matrix: stats.PairwiseMatrix | None = None
) -> Section:
    """View 4: the pairwise comparisons of `matrix` (:func:`page_matrix` of `samples`, computed here when
    not given) as a table, with its CSV, and as a heatmap."""
    if matrix is None:
        matrix = page_matrix(samples)
    if matrix is None:
        return Section(
            "dominance",
            "Dominance matrix",
            (Text(("A dominance matrix needs at least two algorithms with results.",), kind="note"),),
        )
    names = [label for label in ctx.labels if label in samples]
    data = _data(matrix, names)
    table = _table(ctx, matrix, names, data)
    fig = figures.heatmap_figure(
        ctx.stem("dominance-heatmap"),
        "Dominance matrix",
        "Cell (row, column): verdict of row vs column, A12 of row over column (color, blue = row better) "
        "and eps_min of row over column.",
        data,
        names,
    )
    return Section("dominance", "Dominance matrix", (_intro(matrix), table, fig))


def _data(matrix: stats.PairwiseMatrix, names: Sequence[str]) -> Dataset:
    """The CSV: every ordered pair (row, column) with its verdict, p-values and effect sizes."""
    ordered_rows = []
    for r in names:
        for c in names:
            if r == c:
                continue
            comp = matrix[(r, c)]
            ordered_rows.append(
                (
                    r,
                    c,
                    {"a": "row", "b": "col"}.get(comp.verdict, comp.verdict),
                    comp.n_a,
                    comp.n_b,
                    comp.mw_p_a_better,
                    comp.mw_p_b_better,
                    comp.ks_p_a_better,
                    comp.ks_p_b_better,
                    comp.a12,
                    comp.cliffs_delta,
                    comp.eps_min_a_over_b,
                    comp.eps_min_b_over_a,
                    comp.p_adjustment,
                )
            )
    return Dataset(
        (
            "row",
            "col",
            "verdict",
            "n_row",
            "n_col",
            "mw_p_row_better",
            "mw_p_col_better",
            "ks_p_row_better",
            "ks_p_col_better",
            "a12",
            "cliffs_delta",
            "eps_min_row_over_col",
            "eps_min_col_over_row",
            "p_adjustment",
        ),
        tuple(ordered_rows),
    )


def _table(ctx: PageContext, matrix: stats.PairwiseMatrix, names: Sequence[str], data: Dataset) -> Table:
    """One row per unordered pair, A vs B."""
    table_rows = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            comp = matrix[(a, b)]
            table_rows.append(
                (
                    f"{a} vs {b}",
                    VERDICT_TEXT[comp.verdict].format(a=a, b=b),
                    pval(comp.mw_p_a_better),
                    pval(comp.mw_p_b_better),
                    pval(comp.ks_p_a_better),
                    pval(comp.ks_p_b_better),
                    f"{comp.a12:.2f}",
                    f"{comp.cliffs_delta:+.2f}",
                    f"{comp.eps_min_a_over_b:.2f}",
                    f"{comp.eps_min_b_over_a:.2f}",
                    "; ".join(comp.notes),
                )
            )
    return Table(
        stem=ctx.stem("dominance"),
        title="Pairwise comparisons (p-values after Holm)",
        columns=(
            "pair A vs B",
            "verdict",
            "MW p (A>B)",
            "MW p (B>A)",
            "KS p (A>B)",
            "KS p (B>A)",
            "A12",
            "Cliff's d",
            "eps_min A over B",
            "eps_min B over A",
            "notes",
        ),
        rows=tuple(table_rows),
        data=data,
        wrap=True,  # the notes column: long caveats wrap instead of widening the table
    )


def _intro(matrix: stats.PairwiseMatrix) -> Text:
    """The tests, their correction and the effect sizes, in words."""
    m_aso = matrix.aso_comparisons
    aso_level = (
        f"eps_min is Bonferroni-corrected across the {m_aso} pairs of this page: an upper bound at "
        f"confidence 1 - {ALPHA}/{m_aso} = {matrix.aso_confidence:.4g} (deep-significance's num_comparisons, "
        "as documented). "
        if m_aso > 1
        else f"eps_min: an upper bound at confidence {matrix.aso_confidence:g}, not corrected across pairs"
        + (" (a single pair). " if len(matrix.names) == 2 else ". ")
    )
    return Text(
        (
            "Samples: the final incumbent's test accuracy of each run (one per seed); higher is better. "
            f"Tests, one-sided, alpha = {ALPHA}: Mann-Whitney U (tie-aware) and two-sample "
            "Kolmogorov-Smirnov "
            f"in both directions, Holm-adjusted over the family of all {matrix.family_size} one-sided "
            "p-values of "
            "this page. A dominates B (first-order stochastic dominance) only when KS and Mann-Whitney both "
            "say A better, neither says B better, and the ECDFs do not cross beyond sampling noise (both KS "
            "directions significant = 'crossing'). The correction applies to the tests that support a claim; "
            "the reverse tests and the crossing check use the raw p-values, so it cannot turn a crossing "
            "into dominance.",
            f"Effect sizes: Vargha-Delaney A12 (P(A > B) + P(A = B)/2) and Cliff's delta; Almost Stochastic "
            f"Order eps_min (del Barrio et al., seeded bootstrap of {BOOTSTRAP}, as in deep-significance): "
            f"A is almost stochastically better than B when eps_min(A over B) < tau = {stats.ASO_TAU}. "
            + aso_level
            + f"Integration grid: {stats.aso_grid_text()}.",
        )
    )
