"""The efficiency view of RENAS (Fig. 4 / Sec. 5.3): population accuracy vs search iterations, and speedups.

Fig. 4 plots, against search iterations, the mean and variance of the accuracy of the models in the
population for RENAS and EA (and RENAS (non-bi)), and the best model so far for RL. Every `renas` run
records that curve in its algorithm state (`history`: per told candidate the population mean, variance and
best so far; for `rl` the mean and variance of its last P samples), which the runner stores in the run's
checkpoint; `curves` reads it back for an experiment, from a cache opened read-only (it works while a run
writes). The speedup of A over B is the paper's "iterations to reach the same population mean": with a
target T (by default the lowest of the variants' median final values, so that every variant can reach it),
the mean over trials of B's first iteration at or above T divided by A's; its uncertainty is a percentile
bootstrap over trials (seeded). Runs that never reach T count with their length (a lower bound, flagged).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cache.store import Cache
from harness.runner import decode_checkpoint

BOOTSTRAP = 2000


@dataclass(frozen=True)
class Curves:
    """Per variant label: one array per trial, rows = told candidates, columns = mean, variance, best."""

    by_label: Mapping[str, tuple[np.ndarray, ...]]
    variant: Mapping[str, str]

    def metric(self, label: str) -> tuple[np.ndarray, ...]:
        """The curve Fig. 4 plots for a label: best so far for rl, population mean otherwise."""
        column = 2 if self.variant[label] == "rl" else 0
        return tuple(run[:, column] for run in self.by_label[label])


@dataclass(frozen=True)
class Speedup:
    label: str
    reference: str
    target: float
    ratio: float
    low: float
    high: float
    censored: int  # trials (of either label) that never reached the target


def curves(cache: Cache, experiment: str) -> Curves:
    rows = cache.execute(
        "SELECT run_id, algorithm, params FROM runs WHERE experiment = ? AND algorithm_name = 'renas' "
        "ORDER BY algorithm, trial",
        [experiment],
    ).fetchall()
    by_label: dict[str, list[np.ndarray]] = {}
    variant: dict[str, str] = {}
    for run_id, label, params in rows:
        history = run_history(cache, run_id)
        if history is None:
            continue
        by_label.setdefault(label, []).append(history)
        variant[label] = str(json.loads(params or "{}").get("variant", "renas"))
    return Curves({k: tuple(v) for k, v in by_label.items()}, variant)


def run_history(cache: Cache, run_id: str) -> np.ndarray | None:
    """A renas run's Fig. 4 history from its checkpoint in the cache (rows = told candidates; columns =
    population mean, variance, best so far), or None when the cache holds no checkpoint of it (checkpoints
    are not exported) or the checkpoint has no history yet."""
    stored = cache.load_checkpoint(run_id)
    if stored is None:
        return None
    history = decode_checkpoint(stored[1], run_id)["algorithm"].get("history") or []
    return np.asarray(history, dtype=float).reshape(-1, 3) if history else None


def first_reach(curve: np.ndarray, target: float) -> tuple[int, bool]:
    """1-based iteration at which `curve` first reaches `target`, and whether it did (else its length)."""
    hits = np.flatnonzero(curve >= target - 1e-12)
    return (int(hits[0]) + 1, True) if hits.size else (len(curve), False)


def default_target(data: Curves) -> float:
    finals = [float(np.median([c[-1] for c in data.metric(label)])) for label in data.by_label]
    return min(finals)


def speedup(data: Curves, label: str, reference: str, target: float | None = None, seed: int = 0) -> Speedup:
    """Iterations `reference` needs to reach `target`, over those `label` needs (mean over trials)."""
    goal = default_target(data) if target is None else float(target)
    a = [first_reach(c, goal) for c in data.metric(label)]
    b = [first_reach(c, goal) for c in data.metric(reference)]
    ia = np.array([n for n, _ in a], dtype=float)
    ib = np.array([n for n, _ in b], dtype=float)
    ratio = float(ib.mean() / ia.mean())
    rng = np.random.default_rng(seed)
    boot = [rng.choice(ib, ib.size).mean() / rng.choice(ia, ia.size).mean() for _ in range(BOOTSTRAP)]
    low, high = (float(v) for v in np.percentile(boot, [2.5, 97.5]))
    censored = sum(not ok for _, ok in a) + sum(not ok for _, ok in b)
    return Speedup(label, reference, goal, ratio, low, high, censored)


def efficiency_table(data: Curves, reference: str = "renas", target: float | None = None) -> str:
    """Markdown: per variant the final population mean +/- sd over trials, variance, best, and the
    speedup of `reference` over it (Sec. 5.3's claim: 1.5 - 2.0x over EA and RL)."""
    goal = default_target(data) if target is None else float(target)
    lines = [
        f"Target population mean (Fig. 4 metric) T = {goal:.4f}",
        "",
        "| variant | trials | iterations | final mean (sd) | final variance | best | "
        f"speedup of {reference} (95% CI) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in sorted(data.by_label):
        runs = data.by_label[label]
        finals = np.array([r[-1, 0] for r in runs])
        variances = np.array([r[-1, 1] for r in runs])
        best = np.array([r[-1, 2] for r in runs])
        if label == reference or reference not in data.by_label:
            cell = "-"
        else:
            s = speedup(data, reference, label, goal)
            flag = f", {s.censored} censored" if s.censored else ""
            cell = f"{s.ratio:.2f} ({s.low:.2f}-{s.high:.2f}{flag})"
        lines.append(
            f"| {label} ({data.variant[label]}) | {len(runs)} | {len(runs[0])} | {finals.mean():.4f} "
            f"({finals.std(ddof=1) if len(finals) > 1 else 0.0:.4f}) | {variances.mean():.5f} | "
            f"{best.mean():.4f} | {cell} |"
        )
    return "\n".join(lines)


def plot_efficiency(data: Curves, path: Path, labels: Sequence[str] | None = None) -> Path:
    """Fig. 4's picture: per variant the trial-mean of its metric with a +/- 1 sd band over trials."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label in labels or sorted(data.by_label):
        metric = data.metric(label)
        n = min(len(c) for c in metric)
        stack = np.stack([c[:n] for c in metric])
        mean, sd = stack.mean(axis=0), stack.std(axis=0)
        steps = np.arange(1, n + 1)
        ax.plot(
            steps,
            mean,
            label=f"{label} ({'best so far' if data.variant[label] == 'rl' else 'population mean'})",
        )
        ax.fill_between(steps, mean - sd, mean + sd, alpha=0.2)
    ax.set_xlabel("search iterations (evaluations)")
    ax.set_ylabel("validation accuracy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
