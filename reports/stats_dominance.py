"""Pairwise comparison of final results: first-order stochastic dominance, effect sizes and ASO.

Dominance rule (docs/statistics.md, view 4): "a dominates b" only when the one-sided KS and Mann-Whitney tests
both say a better, neither says b better, and the ECDFs do not cross beyond sampling noise (both one-sided KS
tests significant = ``'crossing'``). :func:`compare` applies it to one pair; :func:`compare_many` to every
pair of a family, with Holm's correction on the tests that *support* a dominance claim only: the reverse tests
and the crossing check always use the raw p-values, because they *block* a claim and a correction must never
make a blocked claim pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from reports.stats_aso import ASO_TAU, aso
from reports.stats_core import MIN_SEEDS, TIES_HEAVY_FRACTION, check_alpha, sample, ties_fraction
from reports.stats_tests import holm, ks_one_sided, mann_whitney, vargha_delaney_a12

__all__ = [
    "AsoCorrection",
    "Comparison",
    "OneSidedPValues",
    "PairwiseMatrix",
    "Verdict",
    "compare",
    "compare_many",
]

Verdict = Literal["a", "b", "crossing", "none"]
AsoCorrection = Literal["bonferroni", "none"]


@dataclass(frozen=True)
class OneSidedPValues:
    """The four one-sided p-values of one ordered pair (a, b)."""

    mw_a_better: float
    mw_b_better: float
    ks_a_better: float
    ks_b_better: float

    def mirrored(self) -> OneSidedPValues:
        """The same p-values seen from b's side."""
        return OneSidedPValues(self.mw_b_better, self.mw_a_better, self.ks_b_better, self.ks_a_better)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.mw_a_better, self.mw_b_better, self.ks_a_better, self.ks_b_better)


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare` for one ordered pair (a, b).

    p-values are one-sided ("a better" / "b better"), Holm-adjusted when ``p_adjustment`` says so; ``raw``
    holds the unadjusted ones (equal to the reported ones when ``p_adjustment == 'none'``).
    ``crossing``: both raw one-sided KS tests are significant (each ECDF lies significantly below the other
    somewhere). ``eps_min_*`` are ASO upper bounds (below ``ASO_TAU`` = almost stochastic dominance) at
    confidence ``aso_confidence`` (``1 - alpha``, divided by ``aso_comparisons`` under Bonferroni);
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
    raw: OneSidedPValues | None = None
    aso_confidence: float = 0.95
    aso_comparisons: int = 1

    @property
    def pvalues(self) -> OneSidedPValues:
        """The reported (possibly adjusted) p-values."""
        return OneSidedPValues(self.mw_p_a_better, self.mw_p_b_better, self.ks_p_a_better, self.ks_p_b_better)


def _verdict(decide: OneSidedPValues, guard: OneSidedPValues, alpha: float) -> tuple[Verdict, bool]:
    """The dominance rule (docs/statistics.md); returns (verdict, crossing).

    ``decide`` holds the p-values a dominance claim needs (KS and MW in the claimed direction, possibly
    Holm-adjusted); ``guard`` the raw ones for the checks that block a claim: the crossing check (both KS
    directions) and the reverse tests. With ``guard`` raw, a correction can only remove dominance claims,
    never add one.
    """
    crossing = guard.ks_a_better < alpha and guard.ks_b_better < alpha
    if crossing:
        return "crossing", True
    no_reverse_a = guard.mw_b_better >= alpha and guard.ks_b_better >= alpha
    no_reverse_b = guard.mw_a_better >= alpha and guard.ks_a_better >= alpha
    if decide.ks_a_better < alpha and decide.mw_a_better < alpha and no_reverse_a:
        return "a", False
    if decide.ks_b_better < alpha and decide.mw_b_better < alpha and no_reverse_b:
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
        notes.append(
            f"p-values adjusted: {c.p_adjustment} within the declared family of one-sided tests "
            "(reverse and crossing checks on raw p-values)"
        )
    return tuple(notes)


def compare(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    seed: int = 0,
    n_bootstrap: int = 1000,
    aso_num_comparisons: int = 1,
) -> Comparison:
    """Compare final best fitnesses of two algorithms.

    Verdict rule (first-order stochastic dominance, docs/statistics.md):

    - ``'crossing'`` if both one-sided KS tests are significant: each ECDF lies below the other by more than
      sampling noise somewhere. This is the crossing check: the reverse one-sided KS test is significant iff
      the ECDF difference in the unfavoured direction exceeds its critical value (about
      ``sqrt(ln(1/alpha) (n+m) / (2 n m))`` asymptotically, the one-sided DKW-type bound).
    - ``'a'`` if KS(a better) AND Mann-Whitney(a better) are both significant and neither reverse test is;
    - ``'b'`` symmetrically;
    - ``'none'`` otherwise (including identical samples).

    KS detects "F_a below F_b somewhere", Mann-Whitney the location shift; requiring both keeps a one-tail
    difference from being called dominance. ASO (confidence ``1 - alpha``, Bonferroni-divided by
    ``aso_num_comparisons``) and the effect sizes are reported but do not enter the verdict; ``notes`` says
    when ASO disagrees.
    """
    x = sample(a, "a")
    y = sample(b, "b")
    check_alpha(alpha)
    mw_a = mann_whitney(x, y, "better", higher_is_better)
    mw_b = mann_whitney(x, y, "worse", higher_is_better)
    ks_a, ks_b = ks_one_sided(x, y, higher_is_better)
    raw = OneSidedPValues(mw_a.pvalue, mw_b.pvalue, ks_a, ks_b)
    a12 = vargha_delaney_a12(x, y, higher_is_better)
    aso_res = aso(
        x,
        y,
        higher_is_better=higher_is_better,
        n_bootstrap=n_bootstrap,
        confidence=1.0 - alpha,
        seed=seed,
        num_comparisons=aso_num_comparisons,
    )
    verdict, crossing = _verdict(raw, raw, alpha)
    result = Comparison(
        verdict=verdict,
        n_a=int(x.size),
        n_b=int(y.size),
        mw_p_a_better=raw.mw_a_better,
        mw_p_b_better=raw.mw_b_better,
        ks_p_a_better=raw.ks_a_better,
        ks_p_b_better=raw.ks_b_better,
        a12=a12,
        cliffs_delta=2.0 * a12 - 1.0,
        eps_min_a_over_b=aso_res.eps_min,
        eps_min_b_over_a=aso_res.eps_min_reverse,
        crossing=crossing,
        ties_fraction=ties_fraction(np.concatenate([x, y])),
        notes=(),
        alpha=float(alpha),
        higher_is_better=higher_is_better,
        mw_method=mw_a.method,
        raw=raw,
        aso_confidence=aso_res.confidence_used,
        aso_comparisons=aso_res.num_comparisons,
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
        raw=None if c.raw is None else c.raw.mirrored(),
    )
    return replace(mirrored, notes=_notes(mirrored))


@dataclass(frozen=True)
class PairwiseMatrix:
    """All ordered pairs of a family of algorithms. ``comparisons[(a, b)]`` is a vs b (``verdict 'a'`` means
    the row algorithm wins); p-values are Holm-adjusted within the family of ``family_size`` one-sided
    p-values; verdicts use the adjusted p-values for the claimed direction and the raw ones for the reverse
    and crossing checks. ASO eps_min is computed at ``aso_confidence`` (Bonferroni over ``aso_comparisons``
    unordered pairs when ``aso_correction == 'bonferroni'``)."""

    names: tuple[str, ...]
    comparisons: Mapping[tuple[str, str], Comparison]
    family_size: int
    alpha: float
    higher_is_better: bool
    aso_correction: AsoCorrection = "bonferroni"
    aso_comparisons: int = 1
    aso_confidence: float = 0.95

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


def _adjusted(c: Comparison, adjusted: OneSidedPValues, alpha: float, label: str) -> Comparison:
    """``c`` with Holm-adjusted p-values and the verdict recomputed (raw p-values guard the claim)."""
    raw = c.raw if c.raw is not None else c.pvalues
    verdict, crossing = _verdict(adjusted, raw, alpha)
    out = replace(
        c,
        verdict=verdict,
        mw_p_a_better=adjusted.mw_a_better,
        mw_p_b_better=adjusted.mw_b_better,
        ks_p_a_better=adjusted.ks_a_better,
        ks_p_b_better=adjusted.ks_b_better,
        crossing=crossing,
        p_adjustment=label,
        raw=raw,
    )
    return replace(out, notes=_notes(out))


def compare_many(
    samples: Mapping[str, npt.ArrayLike],
    higher_is_better: bool = True,
    alpha: float = 0.05,
    seed: int = 0,
    n_bootstrap: int = 1000,
    aso_correction: AsoCorrection = "bonferroni",
) -> PairwiseMatrix:
    """Compare every pair of algorithms and correct for multiple testing.

    Declared family: for every unordered pair {a, b} (names sorted), the four one-sided p-values
    MW(a better), MW(b better), KS(a better), KS(b better); family size 4 * k (k - 1) / 2 = 2 k (k - 1).
    (The ordered pair (b, a) re-uses the same four hypotheses, so it is not counted twice.) Holm's
    step-down adjustment is applied over the whole family and reported. The verdict needs the *adjusted*
    KS and MW p-values in the claimed direction, while the reverse tests and the crossing check (both KS
    directions) use the *raw* p-values: adjusting them would make "no reverse evidence" and "no crossing"
    easier to satisfy, i.e. the correction would create dominance claims. So ``compare_many`` calls a pair
    'crossing' exactly when :func:`compare` does, and claims dominance only where :func:`compare` does.

    ASO: with ``aso_correction='bonferroni'`` (default) eps_min is computed at confidence
    ``1 - alpha / m`` for the m = k (k - 1) / 2 unordered pairs (deep-significance's ``num_comparisons``,
    as ``multi_aso`` counts them); ``'none'`` keeps ``1 - alpha`` (eps_min not corrected across pairs).
    A12 and Cliff's delta are not adjusted. Pair i (in sorted order) gets the bootstrap seed derived from
    ``(seed, i)``, so the result is deterministic and independent of the mapping's insertion order.
    """
    if len(samples) < 2:
        raise ValueError(f"need at least two algorithms to compare, got {len(samples)}")
    if aso_correction not in ("bonferroni", "none"):
        raise ValueError(f"aso_correction must be 'bonferroni' or 'none', got {aso_correction!r}")
    names = tuple(sorted(samples))
    arrays = {name: sample(samples[name], f"samples[{name!r}]") for name in names}
    check_alpha(alpha)
    pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    aso_m = len(pairs) if aso_correction == "bonferroni" else 1
    raw = [
        compare(arrays[p], arrays[q], higher_is_better, alpha, _pair_seed(seed, idx), n_bootstrap, aso_m)
        for idx, (p, q) in enumerate(pairs)
    ]
    flat = np.array([c.pvalues.as_tuple() for c in raw])
    adjusted = holm(flat.ravel()).reshape(flat.shape)
    label = f"holm(m={flat.size})"
    out: dict[tuple[str, str], Comparison] = {}
    for (p, q), c, adj in zip(pairs, raw, adjusted, strict=True):
        adjusted_c = _adjusted(c, OneSidedPValues(*(float(v) for v in adj)), alpha, label)
        out[(p, q)] = adjusted_c
        out[(q, p)] = _mirror(adjusted_c)
    ordered = {(r, s): out[(r, s)] for r in names for s in names if r != s}
    return PairwiseMatrix(
        names=names,
        comparisons=ordered,
        family_size=int(flat.size),
        alpha=float(alpha),
        higher_is_better=higher_is_better,
        aso_correction=aso_correction,
        aso_comparisons=aso_m,
        aso_confidence=raw[0].aso_confidence,
    )
