"""How good a surrogate is, measured on networks it did not see (`evonas surrogate evaluate`).

The table's networks are split by a seeded permutation into a training part and a held-out part; each
model kind is fitted on the first and scored on the second:

- mean accuracy: Kendall's tau, Spearman's rho and R^2 of the predicted against the measured mean
  validation (and test) accuracy of each held-out network (NAS-Bench-301 reports the same three);
- train time: R^2 of log seconds;
- noise calibration, on held-out networks with >= 2 replicates: a replicate's deviation from its network's
  mean, divided by the predicted replicate std (times sqrt((n-1)/n), the std of such a deviation), should be
  within +-1 about 68.3% of the time and within +-2 about 95.4%; `std_ratio` is the measured pooled std
  over the predicted one (1 is calibrated). `interval_2sd` is the share of held-out replicates inside the
  predicted mean +- 2 predicted std: what a user of predicted replicates sees, model error included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from harness.errors import CacheError
from harness.surrogate_fit import DEFAULT_KIND, KINDS, Table, TableNetwork, fit_networks


@dataclass(frozen=True)
class Quality:
    kind: str
    train_networks: int
    heldout_networks: int
    kendall_tau: float
    spearman: float
    r2: float
    test_kendall_tau: float
    test_r2: float
    seconds_r2: float
    noise_networks: int
    within_1sd: float
    within_2sd: float
    std_ratio: float
    interval_2sd: float

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def split(
    networks: Sequence[TableNetwork], holdout: float, seed: int
) -> tuple[list[TableNetwork], list[TableNetwork]]:
    if not 0.0 < holdout < 1.0:
        raise CacheError(f"held-out share must be in (0, 1), got {holdout}")
    order = np.random.default_rng(seed).permutation(len(networks))
    cut = round(len(networks) * (1.0 - holdout))
    return [networks[i] for i in order[:cut]], [networks[i] for i in order[cut:]]


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    ss = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - p) ** 2).sum()) / ss if ss > 0 else float("nan")


def evaluate(
    table: Table, kinds: Sequence[str] = KINDS, holdout: float = 0.2, seed: int = 0
) -> list[Quality]:
    """One Quality per kind, all on the same split."""
    train, test = split(table.networks, holdout, seed)
    if len(test) < 10:
        raise CacheError(f"too few held-out networks ({len(test)}) to measure a surrogate")
    out = []
    for kind in kinds:
        featurizer, means, noise = fit_networks(table.space, table.task_key, train, kind, seed)
        x = featurizer.matrix(table.space, [n.genome for n in test])
        pv = np.clip(means["val"].predict(x), 0, 1)
        pt = np.clip(means["test"].predict(x), 0, 1)
        ps = means["seconds"].predict(x)
        yv = np.array([n.mean_val for n in test])
        yt = np.array([n.mean_test for n in test])
        ys = np.array([n.mean_log_seconds for n in test])
        z, inside, observed_sq, predicted_sq = [], [], 0.0, 0.0
        multi = 0
        for n, mean_pred in zip(test, pv, strict=True):
            sigma = float(noise.std(np.array([mean_pred]))[0][0])
            vals = np.array([r[1] for r in n.replicates])
            inside += [abs(v - mean_pred) <= 2 * sigma for v in vals]
            if len(vals) < 2 or sigma <= 0:
                continue
            multi += 1
            k = len(vals)
            dev = vals - vals.mean()
            z += list(dev / (sigma * math.sqrt((k - 1) / k)))
            observed_sq += float((dev**2).sum())
            predicted_sq += sigma**2 * (k - 1)
        za = np.abs(np.array(z))
        out.append(
            Quality(
                kind=kind,
                train_networks=len(train),
                heldout_networks=len(test),
                kendall_tau=float(stats.kendalltau(yv, pv).statistic),
                spearman=float(stats.spearmanr(yv, pv).statistic),
                r2=_r2(yv, pv),
                test_kendall_tau=float(stats.kendalltau(yt, pt).statistic),
                test_r2=_r2(yt, pt),
                seconds_r2=_r2(ys, ps),
                noise_networks=multi,
                within_1sd=float((za <= 1).mean()) if len(za) else float("nan"),
                within_2sd=float((za <= 2).mean()) if len(za) else float("nan"),
                std_ratio=math.sqrt(observed_sq / predicted_sq) if predicted_sq > 0 else float("nan"),
                interval_2sd=float(np.mean(inside)) if inside else float("nan"),
            )
        )
    return out


def best_kind(qualities: Sequence[Quality]) -> str:
    """The kind with the highest held-out Kendall tau (ties: the default)."""
    if not qualities:
        return DEFAULT_KIND
    top = max(q.kendall_tau for q in qualities)
    winners = [q.kind for q in qualities if q.kendall_tau == top]
    return DEFAULT_KIND if DEFAULT_KIND in winners else winners[0]
