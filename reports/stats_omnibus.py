"""Ranking of k algorithms over N blocks: Friedman's chi^2, Iman-Davenport's F_F, Nemenyi's CD.

Demsar (2006), "Statistical Comparisons of Classifiers over Multiple Data Sets", JMLR 7, Sec. 3.2.2:

- Friedman: chi2_F = 12 N / (k (k+1)) * (sum_j R_j^2 - k (k+1)^2 / 4), chi^2 with k - 1 dof (here
  ``scipy.stats.friedmanchisquare``, which also corrects for ties within a block);
- Iman-Davenport: F_F = (N - 1) chi2_F / (N (k - 1) - chi2_F), F-distributed with (k - 1, (k - 1)(N - 1))
  dof; Demsar recommends it because chi2_F is "undesirably conservative";
- Nemenyi: CD = q_alpha sqrt(k (k+1) / (6 N)), q_alpha = q(1 - alpha; k, inf) / sqrt(2).

Blocks are (space, task) pairs, never seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from reports.stats_core import FloatArray, check_alpha, oriented, readonly

__all__ = ["RankingResult", "friedman_nemenyi", "iman_davenport", "nemenyi_q", "posthoc_warning"]

Omnibus = Literal["friedman", "wilcoxon"]


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

    ``iman_davenport_f`` / ``iman_davenport_pvalue`` / ``iman_davenport_df``: Iman-Davenport's F_F
    computed from ``statistic`` (chi2_F), its p-value and its (k - 1, (k - 1)(N - 1)) degrees of freedom,
    offered beside Friedman's test (Demsar 2006, Sec. 3.2.2); None for the Wilcoxon case (k == 2).
    ``significant`` (the gate for post-hoc claims) stays on Friedman's chi2_F p-value.
    """

    names: tuple[str, ...]
    average_ranks: FloatArray
    n_blocks: int
    omnibus: Omnibus
    statistic: float
    pvalue: float
    alpha: float
    critical_difference: float
    q_alpha: float
    significant: bool
    groups: tuple[tuple[str, ...], ...] = field(default=())
    different_pairs: tuple[tuple[str, str], ...] = field(default=())
    iman_davenport_f: float | None = None
    iman_davenport_pvalue: float | None = None
    iman_davenport_df: tuple[int, int] | None = None

    @property
    def k(self) -> int:
        return len(self.names)


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Demsar's q_alpha for the Nemenyi test: studentized range quantile q(1-alpha; k, inf) / sqrt(2).

    scipy evaluates the studentized range with ``df=np.inf`` directly (0.05, k=4 -> 2.569).
    """
    if k < 2:
        raise ValueError(f"the Nemenyi test needs k >= 2 algorithms, got {k}")
    check_alpha(alpha)
    return float(sps.studentized_range.ppf(1.0 - alpha, k, np.inf) / math.sqrt(2.0))


def iman_davenport(chi2: float, n_blocks: int, k: int) -> tuple[float, float, tuple[int, int]]:
    """Iman-Davenport's F_F from Friedman's chi2_F: ``(F_F, p-value, (df1, df2))`` (Demsar 2006, Sec. 3.2.2).

    F_F = (N - 1) chi2_F / (N (k - 1) - chi2_F), F-distributed with (k - 1, (k - 1)(N - 1)) dof; the
    p-value is ``scipy.stats.f.sf(F_F, k - 1, (k - 1)(N - 1))``. Demsar's example (N = 14, k = 4,
    chi2_F = 9.28) gives F_F = 3.69. chi2_F reaches its maximum N (k - 1) when every block ranks the
    algorithms the same way; then F_F is infinite and p = 0.
    """
    if n_blocks < 2 or k < 2:
        raise ValueError(f"Iman-Davenport needs N >= 2 blocks and k >= 2 algorithms, got N={n_blocks}, k={k}")
    if not (math.isfinite(chi2) and chi2 >= 0.0):
        raise ValueError(f"chi2 must be finite and non-negative, got {chi2}")
    df = (k - 1, (k - 1) * (n_blocks - 1))
    denominator = n_blocks * (k - 1) - chi2
    if denominator <= 1e-12 * n_blocks * (k - 1):  # perfect agreement of all blocks
        return math.inf, 0.0, df
    f_f = (n_blocks - 1) * chi2 / denominator
    return float(f_f), float(sps.f.sf(f_f, *df)), df


def _check_scores(scores: npt.ArrayLike) -> FloatArray:
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
    return s


def _labels(names: Sequence[str] | None, k: int) -> tuple[str, ...]:
    label = tuple(str(n) for n in names) if names is not None else tuple(f"alg{i}" for i in range(k))
    if len(label) != k or len(set(label)) != k:
        raise ValueError(f"names must be {k} distinct labels, got {label}")
    return label


def _omnibus_test(o: FloatArray) -> tuple[Omnibus, float, float]:
    """(test name, statistic, p-value) on oriented scores: Wilcoxon for k == 2, Friedman otherwise."""
    k = o.shape[1]
    if k == 2:
        if np.all(o[:, 0] == o[:, 1]):
            return "wilcoxon", 0.0, 1.0
        res = sps.wilcoxon(o[:, 0], o[:, 1], alternative="two-sided")
        return "wilcoxon", float(res.statistic), float(res.pvalue)
    if np.all(o == o[:, :1]):  # every block fully tied: no evidence at all (scipy would give NaN)
        return "friedman", 0.0, 1.0
    res = sps.friedmanchisquare(*(o[:, j] for j in range(k)))
    return "friedman", float(res.statistic), float(res.pvalue)


def _posthoc(
    label: tuple[str, ...], average: FloatArray, cd: float
) -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, str], ...]]:
    """Nemenyi groups (maximal, best first, rank spread < CD) and the pairs at least CD apart."""
    k = len(label)
    order = np.argsort(average, kind="stable")
    sorted_ranks = average[order]
    found: list[tuple[str, ...]] = []
    last_end = -1
    for i in range(k):
        end = int(np.searchsorted(sorted_ranks, sorted_ranks[i] + cd, side="left")) - 1
        if end > last_end:  # not contained in the previous (larger-or-equal) group
            found.append(tuple(label[j] for j in order[i : end + 1]))
            last_end = end
    pairs = tuple(
        (label[order[i]], label[order[j]])
        for i in range(k)
        for j in range(i + 1, k)
        if sorted_ranks[j] - sorted_ranks[i] >= cd
    )
    return tuple(found), pairs


def friedman_nemenyi(
    scores: npt.ArrayLike,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    names: Sequence[str] | None = None,
) -> RankingResult:
    """Friedman omnibus test, Iman-Davenport's F_F and Nemenyi critical difference on a (blocks x
    algorithms) score matrix.

    CD = q_alpha * sqrt(k (k+1) / (6 N)) with q_alpha = q(1-alpha; k, inf) / sqrt(2) (Demsar 2006); identical
    to docs/statistics.md's ``q(1-alpha; k, inf) * sqrt(k (k+1) / (12 N))``. F_F (k >= 3) is computed from the
    (tie-corrected) chi2_F, see :func:`iman_davenport`; post-hoc groups are gated on chi2_F's p-value.
    """
    s = _check_scores(scores)
    n_blocks, k = s.shape
    check_alpha(alpha)
    label = _labels(names, k)
    o = oriented(s, higher_is_better)
    average = sps.rankdata(-o, axis=1, method="average").mean(axis=0)  # rank 1 = best
    omnibus, stat, pval = _omnibus_test(o)
    f_f, f_p, f_df = iman_davenport(stat, n_blocks, k) if omnibus == "friedman" else (None, None, None)
    q = nemenyi_q(k, alpha)
    cd = q * math.sqrt(k * (k + 1) / (6.0 * n_blocks))
    significant = bool(pval < alpha)
    groups, pairs = _posthoc(label, average, cd) if significant else ((), ())
    return RankingResult(
        names=label,
        average_ranks=readonly(average),
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
        iman_davenport_f=f_f,
        iman_davenport_pvalue=f_p,
        iman_davenport_df=f_df,
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
