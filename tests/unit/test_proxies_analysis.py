"""Rank correlations with bootstrap intervals and the Fig. 4 distance from the origin."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.proxies_analysis import paper_scores, rank_correlations, standings


def test_rank_correlations_of_a_monotone_and_a_reversed_proxy() -> None:
    acc = np.linspace(0.5, 0.9, 40)
    tau, lo, _, rho, _, _ = rank_correlations(acc**3, acc, np.random.default_rng(0), 200)
    assert tau == pytest.approx(1.0) and rho == pytest.approx(1.0) and lo == pytest.approx(1.0)
    tau, _, hi, _, _, _ = rank_correlations(-acc, acc, np.random.default_rng(0), 200)
    assert tau == pytest.approx(-1.0) and hi == pytest.approx(-1.0)


def test_bootstrap_interval_covers_the_estimate_and_is_seeded() -> None:
    rng = np.random.default_rng(3)
    acc = rng.random(60)
    proxy = acc + rng.normal(0, 0.3, 60)
    first = rank_correlations(proxy, acc, np.random.default_rng(9), 300)
    assert first == rank_correlations(proxy, acc, np.random.default_rng(9), 300)
    tau, lo, hi, rho, rlo, rhi = first
    assert lo < tau < hi and rlo < rho < rhi and lo > 0


def test_paper_scores_and_standings_by_hand() -> None:
    row = {"ntk_cond": 100.0, "grad_corr": 2.0, "naswot": 50.0, "params": 1000.0}
    assert paper_scores(row) == pytest.approx((100.0, 200.0 * math.log(1000), -50.0), rel=1e-12)
    assert paper_scores({**row, "naswot": None})[2] == math.inf  # undefined: the worst, as the authors'
    sample = [(1.0, 1.0, 1.0), (2.0, 2.0, 2.0), (3.0, 3.0, 3.0), (4.0, 4.0, 4.0)]
    best, worst, mixed = standings(sample, {"b": (0.5, 0.5, 0.5), "w": (9, 9, 9), "m": (2.5, 0, 9)}, {})
    assert best.distance == 0.0 and worst.distance == pytest.approx(1.0)
    assert (mixed.ntk_cond_pct, mixed.third_pct, mixed.naswot_pct) == (0.5, 0.0, 1.0)
    assert mixed.distance == pytest.approx(math.sqrt(0.25 + 1.0) / math.sqrt(3))
