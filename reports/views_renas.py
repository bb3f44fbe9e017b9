"""The RENAS efficiency view of a report page (Chen et al. 2019, Fig. 4 / Sec. 5.3).

Fig. 4 plots, against search iterations, the mean and variance of the accuracy of the models in the
population for RENAS, RENAS (non-bi) and EA, and the best model so far for RL; Sec. 5.3 reads a 1.5-2x
speedup of RENAS from it. On a page with `renas` runs this view shows that data: a figure (the Fig. 4 metric,
trial mean +/- sd, and the population variance), a table (final values per variant and the speedup of
RENAS over each other variant with its bootstrap interval) and the CSVs of both.

Data, from the cache only: which members a RENAS population holds after each step depends on tournament
draws that the trajectory does not record, so the population curves come from each run's Fig. 4 history,
which the algorithm keeps in its state and the runner stores in the run's checkpoint (`checkpoints` table,
read with the rest of the report before the cache is released). The trajectory cross-checks it (the best
so far must be the running maximum of the trajectory's fitness) and is the source of the `rl` variant's
curve when its checkpoint is absent (its 'population' is its last P samples, a function of the trajectory).
Checkpoints are not exported: a page made from an exported-and-imported cache says which runs lack one.
On the pages through the paper registry's entry `reports.papers.renas` (`load` in the registry's load
phase, before the report releases the cache; `efficiency_section` when each page is built).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure as MplFigure

from cache.store import Cache
from reports import figures
from reports.data import Block, CacheData, Run
from reports.document import Dataset, Figure, Section, Table, Text, pct
from reports.renas_efficiency import Curves, default_target, run_history, speedup

ALGORITHM = "renas"
REFERENCE = "renas"  # the variant whose speedup over the others the paper claims
SEED = 0
COLUMNS = (
    "algorithm",
    "variant",
    "trial",
    "iteration",
    "population_mean",
    "population_variance",
    "best_so_far",
    "fig4_metric",
    "source",
)
TABLE_COLUMNS = (
    "algorithm",
    "variant",
    "trials",
    "iterations",
    "final_metric_mean",
    "final_metric_sd",
    "final_population_variance",
    "best_so_far",
    "target",
    "speedup_of_reference",
    "speedup_low",
    "speedup_high",
    "censored",
)


@dataclass(frozen=True)
class Histories:
    """The Fig. 4 histories of the renas runs of a report, by run id (runs with a checkpoint only)."""

    by_run: Mapping[str, np.ndarray]


def load(cache: Cache, data: CacheData) -> Histories:
    """Read the histories of `data`'s renas runs (call before the cache is released)."""
    out: dict[str, np.ndarray] = {}
    for run in data.runs:
        if run.algorithm == ALGORITHM:
            history = run_history(cache, run.run_id)
            if history is not None:
                out[run.run_id] = history
    return Histories(out)


def variant_of(run: Run) -> str:
    return str(run.params.get("variant", "renas"))


def trajectory_history(run: Run) -> np.ndarray:
    """The `rl` variant's history from its trajectory: mean and variance of its last P fitnesses and the
    best so far, per query (the algorithm's own record, recomputed)."""
    size = int(run.params.get("population", 20))
    fits = [q.fitness for q in run.queries]
    rows = []
    for i in range(len(fits)):
        window = fits[max(0, i + 1 - size) : i + 1]
        rows.append([float(np.mean(window)), float(np.var(window)), max(fits[: i + 1])])
    return np.asarray(rows, dtype=float).reshape(-1, 3)


def block_dataset(block: Block, histories: Histories) -> tuple[Dataset, list[str]]:
    """The long-format Fig. 4 data of a page's renas runs, and notes on runs left out or shortened."""
    rows: list[tuple[object, ...]] = []
    notes: list[str] = []
    for run in block.runs:
        if run.algorithm != ALGORITHM:
            continue
        variant = variant_of(run)
        history, source = histories.by_run.get(run.run_id), "checkpoint"
        if history is None and variant == "rl" and run.queries:
            history, source = trajectory_history(run), "trajectory"
        if history is None:
            notes.append(
                f"{run.label} trial {run.trial}: no population history in this cache (checkpoints are not "
                "exported); left out."
            )
            continue
        fits = np.array([q.fitness for q in run.queries], dtype=float)
        n = min(len(history), len(fits))
        if len(history) != len(fits):
            notes.append(
                f"{run.label} trial {run.trial}: {len(history)} history rows for {len(fits)} trajectory rows "
                f"(a run in progress); the first {n} are shown."
            )
        if n and not np.allclose(history[:n, 2], np.maximum.accumulate(fits[:n]), rtol=0, atol=1e-12):
            notes.append(
                f"{run.label} trial {run.trial}: its history's best so far is not the running maximum of its "
                "trajectory; left out."
            )
            continue
        for i in range(n):
            mean, var, best = (float(v) for v in history[i])
            metric = best if variant == "rl" else mean
            rows.append((run.label, variant, run.trial, i + 1, mean, var, best, metric, source))
    return Dataset(COLUMNS, tuple(rows)), notes


def curves_of(data: Dataset) -> Curves:
    """The dataset as `renas_efficiency.Curves` (per label, one (iterations x 3) array per trial)."""
    by_label: dict[str, list[np.ndarray]] = {}
    variant: dict[str, str] = {}
    for (label, _trial), rows in data.groups("algorithm", "trial").items():
        arr = np.column_stack(
            [rows.floats("population_mean"), rows.floats("population_variance"), rows.floats("best_so_far")]
        )
        by_label.setdefault(str(label), []).append(arr)
        variant[str(label)] = str(rows.column("variant")[0])
    return Curves({k: tuple(v) for k, v in by_label.items()}, variant)


def summary_dataset(curves: Curves, labels: Sequence[str]) -> Dataset:
    """Per variant: final Fig. 4 metric (mean, sd over trials), variance, best, and the speedup of the
    reference variant over it (iterations to reach the target, 95% bootstrap interval over trials)."""
    target = default_target(curves)
    reference = next((lb for lb in labels if curves.variant[lb] == REFERENCE), None)
    rows = []
    for label in labels:
        metric = curves.metric(label)
        finals = np.array([c[-1] for c in metric])
        ratio = low = high = math.nan
        censored: int | None = None
        if reference is not None and label != reference:
            s = speedup(curves, reference, label, target, seed=SEED)
            ratio, low, high, censored = s.ratio, s.low, s.high, s.censored
        rows.append(
            (
                label,
                curves.variant[label],
                len(metric),
                min(len(c) for c in metric),
                float(finals.mean()),
                float(finals.std(ddof=1)) if finals.size > 1 else math.nan,
                float(np.mean([r[-1, 1] for r in curves.by_label[label]])),
                float(np.mean([r[-1, 2] for r in curves.by_label[label]])),
                target,
                ratio,
                low,
                high,
                censored,
            )
        )
    return Dataset(TABLE_COLUMNS, tuple(rows))


def efficiency_figure(stem: str, data: Dataset, labels: Sequence[str], colors: Mapping[str, str]) -> Figure:
    """Two panels drawn from `data` only: the Fig. 4 metric and the population variance, trial mean with a
    +/- 1 sd band, against search iterations."""

    def draw(fig: MplFigure) -> None:
        axes = fig.subplots(1, 2)
        for label in labels:
            rows = data.where(algorithm=label)
            per_step: dict[int, list[tuple[float, float]]] = {}
            for it, m, v in zip(
                rows.column("iteration"),
                rows.floats("fig4_metric"),
                rows.floats("population_variance"),
                strict=True,
            ):
                per_step.setdefault(int(it), []).append((m, v))  # type: ignore[call-overload]
            steps = sorted(per_step)
            for ax, k in zip(axes, (0, 1), strict=True):
                values = [np.array([p[k] for p in per_step[s]]) for s in steps]
                mean = np.array([v.mean() for v in values])
                sd = np.array([v.std() for v in values])
                ax.plot(steps, 100 * mean if k == 0 else mean, color=colors[label], lw=1.6)
                lo, hi = (mean - sd, mean + sd) if k == 1 else (100 * (mean - sd), 100 * (mean + sd))
                ax.fill_between(steps, lo, hi, color=colors[label], alpha=0.15, lw=0)
        axes[0].set_ylabel("accuracy (%): population mean\n(rl: best so far), +/- sd")
        axes[1].set_ylabel("population variance (fraction^2)")
        for ax in axes:
            ax.set_xlabel("search iterations (told candidates)")
        figures._legend(fig, colors, labels)
        figures.margins(fig, left=0.9, bottom=0.55 + figures.LEGEND_HEIGHT * figures.legend_rows(len(labels)))

    svg = figures.render(stem, draw, 9.0, 3.6 + figures.LEGEND_HEIGHT * figures.legend_rows(len(labels)))
    caption = (
        "Per variant, the trial mean (line) and +/- 1 sd over trials (band) of the population's mean "
        "validation accuracy (RENAS, non-bi, EA; for RL the best model so far, as in Fig. 4) and of the "
        "population's variance, after each told candidate."
    )
    return Figure(stem=stem, title="Efficiency (RENAS Fig. 4)", caption=caption, svg=svg, data=data)


def _num(value: object, fmt: str) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and not math.isfinite(value))
        else format(value, fmt)
    )


def efficiency_section(data: CacheData, block: Block, histories: Histories) -> Section | None:
    """The view, or None when the page has no renas run."""
    if not any(r.algorithm == ALGORITHM for r in block.runs):
        return None
    dataset, notes = block_dataset(block, histories)
    blocks: list[Text | Table | Figure] = []
    if not dataset.rows:
        blocks.append(Text(("No renas run of this page has a population history.", *notes), kind="warning"))
        return Section("renas-efficiency", "RENAS efficiency (Fig. 4)", tuple(blocks))
    curves = curves_of(dataset)
    labels = [lb for lb in block.algorithms if lb in curves.by_label]
    labels += sorted(set(curves.by_label) - set(labels))
    summary = summary_dataset(curves, labels)
    target = float(summary.rows[0][TABLE_COLUMNS.index("target")])
    blocks.append(
        Text(
            (
                "Fig. 4's metric after each told candidate: the mean validation accuracy of the population "
                "(for the rl variant, which has no population, the best model so far), and the population's "
                "variance. Speedup of renas over a variant (Sec. 5.3 claims 1.5-2x over EA and RL): the "
                "variant's mean over trials of the first iteration at which the metric reaches the target T, "
                f"divided by renas's; T = {pct(target)}% (the lowest of the variants' median final values, "
                "so that every variant can reach it). 95% interval: percentile bootstrap over trials (2,000 "
                "resamples, seed 0). Runs that never reach T count with their length (censored: a lower "
                "bound of their iterations).",
                "Source: each run's population history stored in its checkpoint, checked against its "
                "trajectory (for rl without a checkpoint, recomputed from the trajectory).",
            )
        )
    )
    colors = figures.page_colors(figures.report_palette([r.label for r in data.runs]), labels)
    blocks.append(efficiency_figure(f"{block.slug}__renas-efficiency", dataset, labels, colors))
    table_rows = []
    for row in summary.rows:
        r = dict(zip(TABLE_COLUMNS, row, strict=True))
        speed = "-"
        if r["censored"] is not None:
            speed = f"{_num(r['speedup_of_reference'], '.2f')} ({_num(r['speedup_low'], '.2f')}-"
            speed += f"{_num(r['speedup_high'], '.2f')})" + (
                f", {r['censored']} censored" if r["censored"] else ""
            )
        table_rows.append(
            (
                str(r["algorithm"]),
                str(r["variant"]),
                str(r["trials"]),
                str(r["iterations"]),
                f"{pct(r['final_metric_mean'])} ({pct(r['final_metric_sd'])})",  # type: ignore[arg-type]
                _num(r["final_population_variance"], ".5f"),
                pct(r["best_so_far"]),  # type: ignore[arg-type]
                speed,
            )
        )
    blocks.append(
        Table(
            stem=f"{block.slug}__renas-efficiency-table",
            title="RENAS efficiency: final values and speedup (Sec. 5.3)",
            columns=(
                "algorithm",
                "variant",
                "trials",
                "iterations",
                "final Fig. 4 metric % (sd)",
                "final population variance",
                "best so far %",
                "speedup of renas (95% CI)",
            ),
            rows=tuple(table_rows),
            data=summary,
        )
    )
    if notes:
        blocks.append(Text(tuple(notes), kind="warning"))
    return Section("renas-efficiency", "RENAS efficiency (Fig. 4)", tuple(blocks))
