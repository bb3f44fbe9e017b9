"""Analysis of proxy scores: rank correlation with accuracy, and the paper's distance-from-origin check.

- `rank_correlations`: Kendall tau-b and Spearman rho of a proxy with accuracy, with percentile bootstrap
  95% intervals (networks resampled with replacement from a passed numpy Generator).
- `paper_scores` / `standings`: Fig. 4 of the paper plots each network's three scores (all minimised),
  rescaled to [0, 1] with outliers cut, and reads closeness to the origin as quality. Here each axis is
  rescaled by the share of a reference sample of random networks that beats the network on it (0: better
  than every random network), which is that rescaling made robust to the NTK score's heavy tail; the
  distance is the Euclidean norm of the three shares divided by sqrt(3), so it lies in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from harness.proxies_kernels import paper_third_score


def rank_correlations(
    values: np.ndarray, accuracy: np.ndarray, rng: np.random.Generator, bootstrap: int
) -> tuple[float, float, float, float, float, float]:
    """Kendall tau-b and Spearman rho with percentile bootstrap 95% intervals (networks resampled)."""
    tau = float(stats.kendalltau(values, accuracy).statistic)
    rho = float(stats.spearmanr(values, accuracy).statistic)
    taus, rhos = [], []
    n = len(values)
    for _ in range(bootstrap):
        idx = rng.integers(0, n, size=n)
        taus.append(stats.kendalltau(values[idx], accuracy[idx]).statistic)
        rhos.append(stats.spearmanr(values[idx], accuracy[idx]).statistic)
    t_lo, t_hi = np.nanpercentile(taus, [2.5, 97.5])
    r_lo, r_hi = np.nanpercentile(rhos, [2.5, 97.5])
    return tau, float(t_lo), float(t_hi), rho, float(r_lo), float(r_hi)


@dataclass(frozen=True)
class Standing:
    """Fig. 4's check for one network: its distance from the origin of the three paper scores."""

    network: str
    val_acc: float
    ntk_cond_pct: float  #: share of the random sample with a better (lower) NTK condition number
    third_pct: float  #: ... a better (lower) third score (grad_corr x ntk_cond x ln params)
    naswot_pct: float  #: ... a better (higher) NASWOT score
    distance: float  #: Euclidean norm of the three shares / sqrt(3): 0 = best on every axis


def paper_scores(row: Mapping[str, float | None]) -> tuple[float, float, float]:
    """The three values the paper's GA minimises: NTK condition, its third score, -log|det K|.

    An undefined score (None: e.g. NASWOT of a network without ReLUs) is the worst value, +inf, as in the
    authors' code, where an empty kernel gives log det = -inf.
    """
    ntk, corr, naswot, params = (row.get(k) for k in ("ntk_cond", "grad_corr", "naswot", "params"))
    third = math.inf if None in (ntk, corr, params) else paper_third_score(corr, ntk, int(params))
    return (math.inf if ntk is None else ntk), third, (math.inf if naswot is None else -naswot)


def standings(
    sample: list[tuple[float, float, float]],
    others: dict[str, tuple[float, float, float]],
    acc: dict[str, float],
) -> list[Standing]:
    """Each network's share of the sample that beats it on each axis (the paper rescales axes to [0, 1]
    and cuts outliers; shares are that rescaling made robust to the heavy tails of the NTK score)."""
    ref = np.asarray(sample)
    out = []
    for name, scores in others.items():
        pct = [float(np.mean(ref[:, k] < scores[k])) for k in range(3)]
        out.append(Standing(name, acc.get(name, math.nan), *pct, float(np.linalg.norm(pct) / math.sqrt(3))))
    return out
