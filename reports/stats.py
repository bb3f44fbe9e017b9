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

Modules (one job each; this module re-exports their public names):

- :mod:`reports.stats_core`: input validation, orientation, ``ties_fraction``, thresholds;
- :mod:`reports.stats_ecdf`: ECDFs with confidence bands, fixed-target runtime ECDFs, targets;
- :mod:`reports.stats_tests`: one-sided Mann-Whitney and KS tests, A12 / Cliff's delta, Holm;
- :mod:`reports.stats_aso`: Almost Stochastic Order (eps_min, its grid and Bonferroni level);
- :mod:`reports.stats_omnibus`: Friedman, Iman-Davenport, Nemenyi CD;
- :mod:`reports.stats_dominance`: the pairwise dominance verdicts (``compare``, ``compare_many``);
- :mod:`reports.stats_warnings`: the data-level warnings of a report.
"""

from __future__ import annotations

from reports.stats_aso import (
    ASO_QUANTILE_POINTS,
    ASO_TAU,
    AsoResult,
    aso,
    aso_epsilon_min,
    aso_grid_text,
    bonferroni_confidence,
)
from reports.stats_core import MIN_SEEDS, TIES_HEAVY_FRACTION, FloatArray, ties_fraction
from reports.stats_dominance import (
    AsoCorrection,
    Comparison,
    OneSidedPValues,
    PairwiseMatrix,
    Verdict,
    compare,
    compare_many,
)
from reports.stats_ecdf import EcdfResult, RuntimeEcdf, ecdf, make_targets, runtime_ecdf
from reports.stats_omnibus import RankingResult, friedman_nemenyi, iman_davenport, nemenyi_q, posthoc_warning
from reports.stats_tests import (
    MannWhitneyResult,
    cliffs_delta,
    holm,
    ks_one_sided,
    mann_whitney,
    vargha_delaney_a12,
)
from reports.stats_warnings import RANDOM_BASELINES, is_random_baseline, warnings_for

__all__ = [
    "ASO_QUANTILE_POINTS",
    "ASO_TAU",
    "MIN_SEEDS",
    "RANDOM_BASELINES",
    "TIES_HEAVY_FRACTION",
    "AsoCorrection",
    "AsoResult",
    "Comparison",
    "EcdfResult",
    "FloatArray",
    "MannWhitneyResult",
    "OneSidedPValues",
    "PairwiseMatrix",
    "RankingResult",
    "RuntimeEcdf",
    "Verdict",
    "aso",
    "aso_epsilon_min",
    "aso_grid_text",
    "bonferroni_confidence",
    "cliffs_delta",
    "compare",
    "compare_many",
    "ecdf",
    "friedman_nemenyi",
    "holm",
    "iman_davenport",
    "is_random_baseline",
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
