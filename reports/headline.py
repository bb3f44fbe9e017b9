"""The headline a report opens with: who won on the final test accuracy of the incumbent, by how much and
how sure.

:func:`headline` is a pure function of one page's final samples (one value per seed and algorithm) and the
pairwise comparisons already computed for its dominance matrix (:func:`reports.stats.compare_many`, Holm
within the page's family, ASO eps_min Bonferroni-corrected across its pairs). It returns a frozen
:class:`Headline`; the templates lay it out (HTML and Markdown), the index lists one per page.

Rules (never claim a winner the tests do not support):

- the *leader* is the algorithm with the highest median among those no other algorithm dominates (ties
  broken by the mean, then by the page's order);
- the *top group* is the leader plus every algorithm the leader does not dominate;
- a *winner* is claimed only when the top group is the leader alone, i.e. the leader's dominance verdict
  (one-sided KS and Mann-Whitney, Holm-adjusted, no reverse evidence, no crossing) holds against every other
  algorithm; otherwise the headline says "tie" (no significant difference) or "crossing" (the ECDFs cross:
  each is better somewhere), naming the algorithms that share the top;
- ASO (eps_min < tau) is reported beside the tests as supporting or dissenting evidence; it never turns a tie
  into a win.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from reports.document import Page, Section, Text, pval
from reports.stats_aso import ASO_TAU
from reports.stats_core import MIN_SEEDS

if TYPE_CHECKING:
    from reports.stats_dominance import PairwiseMatrix

__all__ = [
    "Headline",
    "Outcome",
    "PairSummary",
    "a12_magnitude",
    "headline",
    "headline_section",
    "index_section",
]

Outcome = Literal["winner", "tie", "crossing", "single", "none"]
PairVerdict = Literal["dominates", "dominated", "crossing", "none"]
QUANTITY = "final test accuracy of the incumbent"


@dataclass(frozen=True)
class PairSummary:
    """The leader against one other algorithm (differences and effect sizes oriented leader over other)."""

    leader: str
    other: str
    median_leader: float  # accuracy fraction
    median_other: float
    a12: float  # Vargha-Delaney A12 of the leader over the other
    verdict: PairVerdict
    mw_p: float  # one-sided Mann-Whitney p (leader better), Holm-adjusted as in the dominance table
    ks_p: float  # one-sided KS p (leader better), Holm-adjusted
    eps_min: float  # ASO eps_min of the leader over the other (< tau: almost stochastically better)
    eps_min_reverse: float  # of the other over the leader

    @property
    def median_difference(self) -> float:
        """Leader minus other, in accuracy (a fraction: 0.01 = one percentage point)."""
        return self.median_leader - self.median_other

    @property
    def almost_better(self) -> bool:
        return self.eps_min < ASO_TAU

    @property
    def almost_worse(self) -> bool:
        return self.eps_min_reverse < ASO_TAU


@dataclass(frozen=True)
class Headline:
    """Who won one page: `best` is the winner alone, or the top group when no winner is supported.

    `lead` is the one-sentence verdict and `points` its evidence, one line per comparison of the leader
    with another algorithm, then caveats; `scope` and `href` name the page where the index lists it.
    """

    outcome: Outcome
    best: tuple[str, ...]
    leader: str | None
    medians: tuple[tuple[str, float], ...]  # (label, median) in the page's order
    seeds: tuple[tuple[str, int, int], ...]  # (label, seeds with a test accuracy, runs) in the page's order
    pairs: tuple[PairSummary, ...]  # the leader against every other algorithm, best median first
    lead: str
    points: tuple[str, ...]
    scope: str = ""
    href: str = ""
    kind: str = "headline"


def a12_magnitude(a12: float) -> str:
    """Vargha and Delaney's words for |A12 - 0.5|: 0.56 / 0.64 / 0.71 bound small / medium / large."""
    d = abs(a12 - 0.5)
    if not math.isfinite(d):
        return "n/a"
    return "negligible" if d < 0.06 else "small" if d < 0.14 else "medium" if d < 0.21 else "large"


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100.0 * value:.2f}%"


def _points(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100.0 * value:+.2f} points"


def _names(labels: Sequence[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _seeds_text(seeds: Sequence[tuple[str, int, int]]) -> str:
    counts = {n for _, n, _ in seeds}
    if len(seeds) == 1:
        _, n, runs = seeds[0]
        return f"{n}" + (f" of {runs}" if runs != n else "") + f" seed{'s' if runs != 1 else ''}"
    if len(counts) == 1 and all(n == runs for _, n, runs in seeds):
        n = next(iter(counts))
        return f"{n} seed{'s' if n != 1 else ''} each"
    parts = [f"{label} {n}" + (f" of {runs}" if runs != n else "") for label, n, runs in seeds]
    return "seeds: " + ", ".join(parts)


def _pair(matrix: PairwiseMatrix, leader: str, other: str, medians: Mapping[str, float]) -> PairSummary:
    comp = matrix[(leader, other)]
    verdict: PairVerdict = {"a": "dominates", "b": "dominated", "crossing": "crossing"}.get(  # type: ignore[assignment]
        comp.verdict, "none"
    )
    return PairSummary(
        leader=leader,
        other=other,
        median_leader=medians[leader],
        median_other=medians[other],
        a12=comp.a12,
        verdict=verdict,
        mw_p=comp.mw_p_a_better,
        ks_p=comp.ks_p_a_better,
        eps_min=comp.eps_min_a_over_b,
        eps_min_reverse=comp.eps_min_b_over_a,
    )


def _pair_line(pair: PairSummary, role: str) -> str:
    """One evidence line: medians and their difference, A12, the verdict with its p-values, ASO."""
    verdict = {
        "dominates": f"{pair.leader} dominates {pair.other}",
        "dominated": f"{pair.other} dominates {pair.leader}",
        "crossing": "crossing ECDFs: each is better somewhere",
        "none": "no significant difference",
    }[pair.verdict]
    tau = ASO_TAU
    if pair.almost_better:
        aso = f"ASO: {pair.leader} almost stochastically better (eps_min {pair.eps_min:.2f} < {tau})"
    elif pair.almost_worse:
        aso = f"ASO: {pair.other} almost stochastically better (eps_min {pair.eps_min_reverse:.2f} < {tau})"
    else:
        aso = f"ASO: neither almost better (eps_min {pair.eps_min:.2f} / {pair.eps_min_reverse:.2f} >= {tau})"
    if pair.verdict == "dominates" and not pair.almost_better:
        aso += "; ASO does not confirm the dominance"
    return (
        f"{pair.leader} vs {pair.other}{role}: "
        f"median {_pct(pair.median_leader)} vs {_pct(pair.median_other)} "
        f"({_points(pair.median_difference)}), A12 {pair.a12:.2f} ({a12_magnitude(pair.a12)}); {verdict} "
        f"(one-sided, Holm-adjusted: Mann-Whitney p {pval(pair.mw_p)}, KS p {pval(pair.ks_p)}); {aso}."
    )


def headline(
    samples: Mapping[str, npt.ArrayLike],
    matrix: PairwiseMatrix | None,
    runs: Mapping[str, int] | None = None,
) -> Headline:
    """The headline of one page.

    `samples`: per algorithm label (in the page's order), the final test accuracy of each run's incumbent
    (NaN left out); `matrix`: :func:`reports.stats.compare_many` of exactly these samples (required for two
    or more algorithms: the headline quotes the same verdicts as the dominance table); `runs`: the number of
    runs per label, when some runs have no test accuracy (the headline then says "9 of 10 seeds").
    """
    arrays = {label: np.asarray(v, dtype=np.float64) for label, v in samples.items()}
    arrays = {label: a[np.isfinite(a)] for label, a in arrays.items()}
    arrays = {label: a for label, a in arrays.items() if a.size}
    order = list(arrays)
    medians = {label: float(np.median(a)) for label, a in arrays.items()}
    seeds = tuple(
        (label, int(a.size), int(runs.get(label, a.size)) if runs else int(a.size))
        for label, a in arrays.items()
    )
    median_rows = tuple((label, medians[label]) for label in order)
    if not order:
        return Headline(
            "none", (), None, (), (), (), f"No algorithm has a {QUANTITY}: nothing to compare.", ()
        )
    if len(order) == 1:
        only = order[0]
        return Headline(
            "single",
            (only,),
            only,
            median_rows,
            seeds,
            (),
            f"Only {only} has results ({_seeds_text(seeds)}; median {QUANTITY} {_pct(medians[only])}): "
            "no comparison, so no winner.",
            (),
        )
    if matrix is None or set(matrix.names) != set(order):
        raise ValueError(
            "headline: the pairwise matrix must compare exactly the algorithms with samples "
            f"({sorted(order)}), got {None if matrix is None else sorted(matrix.names)}"
        )

    def rank_key(label: str) -> tuple[float, float, int]:
        return (-medians[label], -float(np.mean(arrays[label])), order.index(label))

    dominated = {x for x in order for y in order if x != y and matrix[(y, x)].verdict == "a"}
    candidates = [x for x in order if x not in dominated] or order
    leader = min(candidates, key=rank_key)
    others = sorted((x for x in order if x != leader), key=rank_key)
    pairs = tuple(_pair(matrix, leader, x, medians) for x in others)
    top = [leader] + [p.other for p in pairs if p.verdict != "dominates"]
    beaten = [p.other for p in pairs if p.verdict == "dominates"]
    crossing = [p.other for p in pairs if p.verdict == "crossing"]
    above = [p.other for p in pairs if p.verdict == "dominated"]  # only when dominance forms a cycle
    seeds_text = _seeds_text(seeds)

    if len(top) == 1:
        outcome: Outcome = "winner"
        runner = pairs[0]
        many = len(pairs) > 1
        if all(p.almost_better for p in pairs):
            aso = "ASO agrees"
        else:
            aso = "ASO does not confirm every pair (see below)" if many else "ASO does not confirm it"
        lead = (
            f"{leader} wins: it stochastically dominates "
            + (f"all {len(pairs)} other algorithms" if many else runner.other)
            + f" on the {QUANTITY} ({seeds_text}); median {_pct(medians[leader])}, "
            + f"{_points(runner.median_difference)} over "
            + (f"the runner-up {runner.other}" if many else runner.other)
            + f" (A12 {runner.a12:.2f}, {a12_magnitude(runner.a12)}); {aso}."
        )
    else:
        outcome = "crossing" if crossing else "tie"
        tied = [x for x in top if x != leader and x not in crossing and x not in above]
        parts = []
        if tied:
            parts.append(
                f"{_names(tied)} {'is' if len(tied) == 1 else 'are'} not significantly different from "
                f"{leader}"
            )
        if crossing:
            many = len(crossing) > 1
            parts.append(
                f"the ECDF{'s' if many else ''} of {_names(crossing)} cross{'' if many else 'es'} {leader}'s "
                "(each is better somewhere)"
            )
        if above:
            parts.append(
                f"{_names(above)} dominate{'s' if len(above) == 1 else ''} {leader} while being dominated "
                "by another (the pairwise verdicts form a cycle)"
            )
        lead = (
            f"No single winner on the {QUANTITY} ({seeds_text}): {_names(top)} share the top. "
            f"{leader} has the highest median ({_pct(medians[leader])}), but " + " and ".join(parts) + "."
        )
        if beaten:
            lead += f" {leader} dominates {_names(beaten)}."
    points = [
        _pair_line(p, " (runner-up)" if i == 0 and outcome == "winner" and len(pairs) > 1 else "")
        for i, p in enumerate(pairs)
    ]
    few = [label for label, n, _ in seeds if n < MIN_SEEDS]
    if few:
        points.append(
            f"Fewer than {MIN_SEEDS} seeds for {_names(few)}: the tests have little power, so a tie here is "
            "weak evidence of equality."
        )
    missing = [(label, n, r) for label, n, r in seeds if r != n]
    if missing:
        points.append(
            "Runs without a test accuracy for their incumbent are left out: "
            + ", ".join(f"{label} {r - n} of {r}" for label, n, r in missing)
            + "."
        )
    if outcome != "winner" and any(p.almost_better for p in pairs if p.other in top):
        points.append(
            f"ASO finds {leader} almost stochastically better than some of the top group, but the dominance "
            "tests do not: no winner is claimed."
        )
    return Headline(
        outcome,
        (leader,) if outcome == "winner" else tuple(top),
        leader,
        median_rows,
        seeds,
        pairs,
        lead,
        tuple(points),
    )


def headline_section(top: Headline) -> Section:
    """The section a page opens with."""
    return Section("headline", "Headline", (top,))


def index_section(pages: Sequence[Page]) -> Section:
    """The index's opening section: the headline of every page, each naming and linking its page."""
    found = [
        replace(block, scope=page.title, href=page.path)
        for page in pages
        for section in page.sections
        if section.id == "headline"
        for block in section.blocks
        if isinstance(block, Headline)
    ]
    if not found:
        return Section("headline", "Headlines", (Text(("No page has results.",), kind="note"),))
    return Section("headline", "Headlines", tuple(found))
