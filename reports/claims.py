"""The papers' search claims, tested on a report block: paper value, ours, verdict and the power we had.

A claim is checked where the block has what it needs (the algorithms, the space, the replicates):

- Genetic CNN, Sec. 4.1.3: the GA beats random search at equal budget (paper: 77.19% vs 76.94%).
- Genetic CNN, Sec. 4.1: the all-ones (dense) network is not the best the GA finds (paper: 76.84% vs 77.19%).
- RE paper, Fig. 3: regularized evolution's ECDF dominates random search's at equal budget
  (paper: best found 93.62% vs 91.91%).
- RE paper: the replicate noise of one network (about 0.2% there): ours measured on the block's table.
- Baseline: Optuna TPE against random search at equal budget (no paper figure).

Verdicts: *reproduced* when our test says what the paper says at alpha = 0.05; *not reproduced* when it says
the opposite (or, for a measured figure, when ours is far from the paper's); *inconclusive* when the test is
not significant. Comparisons of algorithms use the report's dominance verdict (one-sided KS and
Mann-Whitney, no crossing) on the final test accuracy of the incumbent, one value per seed; the power we
had is stated as the smallest A12 a one-sided Mann-Whitney test detects with 80% power at that many seeds
(normal approximation: A12 = 0.5 + (z_0.95 + z_0.8) sqrt((n + m + 1) / (12 n m))).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as sstats

from harness.paper_figures import GCNN_NUMBERS, RE_NUMBERS, fraction, number
from reports.analysis import RunResult
from reports.data import Block, CacheData
from reports.document import Section, Table, Text
from reports.stats_dominance import compare

Verdict = Literal["reproduced", "not reproduced", "inconclusive"]
ALPHA = 0.05
_GA = number(GCNN_NUMBERS, "ga_best").value
_RS = number(GCNN_NUMBERS, "random_search_best").value
_DENSE = number(GCNN_NUMBERS, "all_ones").value
_ES = number(RE_NUMBERS, "es_best").value
_RE_RS = number(RE_NUMBERS, "rs_best").value
_NOISE = number(RE_NUMBERS, "replicate_std").value
PAPER_NOISE = fraction(_NOISE)  # "about 0.2%": the RE paper's replicate noise of one network


@dataclass(frozen=True)
class Claim:
    paper: str
    section: str
    statement: str
    paper_value: str
    ours: str
    verdict: Verdict
    power: str


def detectable_a12(n: int, m: int, alpha: float = ALPHA, power: float = 0.8) -> float:
    """The smallest A12 a one-sided Mann-Whitney test detects with `power` at n and m seeds."""
    z = sstats.norm.ppf(1 - alpha) + sstats.norm.ppf(power)
    return min(1.0, 0.5 + z * math.sqrt((n + m + 1) / (12.0 * n * m)))


def _by_algorithm(
    block: Block, results: Mapping[str, Sequence[RunResult]], samples: Mapping[str, np.ndarray]
) -> dict[str, tuple[str, np.ndarray]]:
    """algorithm name -> (label, final samples), the first label of each algorithm."""
    out: dict[str, tuple[str, np.ndarray]] = {}
    for label, rs in results.items():
        if not rs or label not in samples:
            continue
        name = rs[0].run.algorithm
        if name == "regularized_evolution" and int(rs[0].run.params.get("sample_size", 0) or 0) == 1:
            name = "random_search_re"  # the RE paper's random baseline: sample size 1
        out.setdefault(name, (label, samples[label]))
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _versus(algos: Mapping[str, tuple[str, np.ndarray]], a: str, b: str) -> tuple[str, Verdict, str] | None:
    if a not in algos or b not in algos:
        return None
    (la, xa), (lb, xb) = algos[a], algos[b]
    if len(xa) < 2 or len(xb) < 2:
        return None
    c = compare(xa, xb)
    verdict: Verdict = (
        "reproduced" if c.verdict == "a" else "not reproduced" if c.verdict == "b" else "inconclusive"
    )
    word = {"a": f"{la} dominates", "b": f"{lb} dominates", "crossing": "ECDFs cross", "none": "no dominance"}
    ours = (
        f"median {_pct(float(np.median(xa)))} ({la}) vs {_pct(float(np.median(xb)))} ({lb}); "
        f"A12 {c.a12:.2f}; {word.get(c.verdict, c.verdict)} (one-sided Mann-Whitney p {c.mw_p_a_better:.3g})"
    )
    power = (
        f"{len(xa)} vs {len(xb)} seeds: detects A12 >= {detectable_a12(len(xa), len(xb)):.2f} with 80% power"
    )
    return ours, verdict, power


def _dense_claim(data: CacheData, block: Block, algos: Mapping[str, tuple[str, np.ndarray]]) -> Claim | None:
    if block.space != "genetic_cnn" or "genetic_cnn_ga" not in algos:
        return None
    from harness.spaces import get_space

    space = get_space("genetic_cnn", **dict(block.runs[0].space_params))
    dense = space.hash(space.named("densenet"))
    task = block.runs[0].task_key
    base = task.split("~")[0]
    values = [
        ev.test_acc
        for (arch, key, _), ev in data.evaluations.items()
        if arch == dense and key in (task, base) and ev.status == "ok" and ev.test_acc is not None
    ]
    if not values:
        return None
    dense_acc = float(np.mean(values))
    label, ga = algos["genetic_cnn_ga"]
    above = int(np.sum(ga > dense_acc))
    below = int(np.sum(ga < dense_acc))
    n = above + below
    if n == 0:
        return None
    p_above = sstats.binomtest(above, n, 0.5, alternative="greater").pvalue
    p_below = sstats.binomtest(below, n, 0.5, alternative="greater").pvalue
    verdict: Verdict = (
        "reproduced" if p_above < ALPHA else "not reproduced" if p_below < ALPHA else "inconclusive"
    )
    return Claim(
        "Xie & Yuille 2017 (Genetic CNN)",
        "Sec. 4.1",
        "the all-ones (dense) network is not the best the GA finds",
        f"dense {_DENSE:.2f}% vs GA best {_GA:.2f}%",
        f"dense {_pct(dense_acc)} (mean test over {len(values)} replicate(s)); the {label} incumbent beats "
        f"it in {above} of {n} seeds (sign test p {p_above:.3g})",
        verdict,
        f"{n} seeds: a sign test at alpha 0.05 needs {_sign_needed(n)} of {n}",
    )


def _sign_needed(n: int) -> int:
    for k in range(n + 1):
        if sstats.binomtest(k, n, 0.5, alternative="greater").pvalue < ALPHA:
            return k
    return n + 1


def _noise_claim(data: CacheData, block: Block) -> Claim | None:
    base = block.runs[0].task_key.split("~")[0]
    per: dict[str, list[float]] = {}
    for (arch, key, _), ev in data.evaluations.items():
        if key == base and ev.status == "ok" and ev.val_acc is not None and not ev.predicted:
            per.setdefault(arch, []).append(float(ev.val_acc))
    stds = [float(np.std(v, ddof=1)) for v in per.values() if len(v) >= 2]
    if len(stds) < 10:
        return None
    median = float(np.median(stds))
    verdict: Verdict = "reproduced" if median <= 2 * PAPER_NOISE else "not reproduced"
    lo, hi = np.quantile(stds, [0.25, 0.75])
    return Claim(
        "Kyriakides & Margaritis 2020 (RE macro NAS)",
        "Sec. 5 (replicate noise)",
        "the same network trained with different seeds varies by about 0.2%",
        f"about {_NOISE:.1f}%",
        f"median per-network std {_pct(median)} (quartiles {_pct(float(lo))}-{_pct(float(hi))}) of "
        f"validation accuracy over {len(stds)} networks with >= 2 replicates",
        verdict,
        f"{len(stds)} networks measured",
    )


def block_claims(
    data: CacheData,
    block: Block,
    results: Mapping[str, Sequence[RunResult]],
    samples: Mapping[str, np.ndarray],
) -> list[Claim]:
    """The claims a surrogate benchmark's page can test (none for live or tabular pages: a live digits run
    is too small to test a claim, and a partial table leaves algorithms outside it)."""
    if "surrogate" not in block.task.spec:
        return []
    algos = _by_algorithm(block, results, samples)
    out: list[Claim] = []
    rs = "random_search" if "random_search" in algos else "random_search_re"
    checks = (
        (
            "genetic_cnn_ga",
            "Xie & Yuille 2017 (Genetic CNN)",
            "Sec. 4.1.3",
            "the GA beats random search at equal budget",
            f"{_GA:.2f}% vs {_RS:.2f}%",
        ),
        (
            "regularized_evolution",
            "Kyriakides & Margaritis 2020 (RE macro NAS)",
            "Fig. 3",
            "regularized evolution's ECDF dominates random search's at equal budget",
            f"{_ES:.2f}% vs {_RE_RS:.2f}% (best found)",
        ),
        ("optuna_tpe", "baseline (no paper)", "-", "Optuna TPE beats random search at equal budget", "-"),
    )
    for algo, paper, section, statement, value in checks:
        if algo == "genetic_cnn_ga" and block.space != "genetic_cnn":
            continue
        found = _versus(algos, algo, rs)
        if found is not None:
            ours, verdict, power = found
            out.append(Claim(paper, section, statement, value, ours, verdict, power))
    dense = _dense_claim(data, block, algos)
    if dense is not None:
        out.append(dense)
    noise = _noise_claim(data, block)
    if noise is not None:
        out.append(noise)
    return out


def claims_section(claims: Sequence[Claim]) -> Section | None:
    if not claims:
        return None
    rows = tuple((c.paper, c.section, c.statement, c.paper_value, c.ours, c.verdict, c.power) for c in claims)
    return Section(
        "paper-claims",
        "Claims of the papers, tested on this benchmark",
        (
            Table(
                "paper-claims",
                "Claims",
                ("paper", "where", "claim", "paper value", "ours", "verdict", "power"),
                rows,
                caption="Final test accuracy of the incumbent, one value per seed; alpha = 0.05. A claim "
                "that does not reproduce here is reported with its numbers (digits is not the papers' data).",
                wrap=True,
            ),
            Text(
                ("Verdicts come from the same one-sided tests as the dominance table (reports.claims).",),
                "note",
            ),
        ),
    )
