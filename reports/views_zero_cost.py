"""Zero-cost views of a page: `zero_cost_ga`'s search (paper Figs. 5 and 6, final Pareto front) and proxies
against trained accuracy.

- Scores per generation (Fig. 5): the best (lowest) of each of the three minimised scores among each
  generation's survivors, one line per run: NTK condition number, the authors' third score (gradient
  correlation x NTK x ln parameters) and -log|det K| (NASWOT).
- Toward the origin (Fig. 6): each survivor's three scores rescaled to shares (the share of all survivors
  of the run that beat it on the axis, 0 = best; the paper rescales to [0, 1] and cuts outliers, shares do
  that robustly) and its distance = norm / sqrt(3); per generation the survivor nearest the origin.
- Final population: its three scores and its non-dominated set (minimising all three).
- Proxies vs accuracy: for every proxy stored for the page's task, the networks of the page's space that
  have it and a measured training (replicates averaged), Kendall tau-b and Spearman rho with percentile
  bootstrap 95% intervals (networks resampled, seeded).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure as MplFigure

from harness.proxies_analysis import paper_scores, rank_correlations
from reports.colors import PALETTE
from reports.data import Block, CacheData
from reports.data_zero_cost import SearchHistory, ZeroCostData
from reports.document import Dataset, Figure, Section, Table, Text
from reports.figures import margins, render

AXES = ("ntk_cond", "third_score", "neg_log_det_k")
AXIS_TITLES = ("NTK condition number", "third score (grad corr x NTK x ln params)", "-log|det K| (NASWOT)")
BOOTSTRAP = 500
SEED = 0
MIN_NETWORKS = 8


def _stem(block: Block, view: str) -> str:
    return f"{block.slug}__{view}"


def _finite(value: object) -> float:
    v = float(value) if isinstance(value, int | float) else math.nan
    return v if math.isfinite(v) else math.nan


def _g(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"


def non_dominated(points: Sequence[Sequence[float]]) -> list[bool]:
    """Whether each point is on the front when every coordinate is minimised (inf = worst)."""
    arr = np.asarray(points, dtype=float)
    out = []
    for p in arr:
        beaten = np.all(arr <= p, axis=1) & np.any(arr < p, axis=1)
        out.append(not bool(beaten.any()))
    return out


def origin_rows(history: SearchHistory) -> list[tuple[object, ...]]:
    """Per generation, the survivor nearest the origin of the three share-rescaled scores."""
    points = [(r["generation"], s) for r in history.generations for s in r.get("scores", [])]
    if not points:
        return []
    ref = np.asarray([s for _, s in points], dtype=float)
    rows = []
    for g in sorted({gen for gen, _ in points}):
        best = None
        for gen, s in points:
            if gen != g:
                continue
            shares = [float(np.mean(ref[:, k] < float(s[k]))) for k in range(3)]
            distance = float(np.linalg.norm(shares) / math.sqrt(3))
            if best is None or distance < best[-1]:
                best = (*shares, distance)
        assert best is not None
        rows.append((history.label, history.trial, g, *best))
    return rows


def _lines_figure(stem: str, title: str, caption: str, data: Dataset, runs: Sequence[str]) -> Figure:
    colors = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(runs)}

    def draw(fig: MplFigure) -> None:
        axes = fig.subplots(1, 3)
        margins(fig, wspace=0.45)
        for ax, axis, axis_title in zip(axes, AXES, AXIS_TITLES, strict=True):
            for run in runs:
                rows = data.where(run=run)
                ax.plot(
                    rows.floats("generation"), rows.floats(axis), marker="o", color=colors[run], label=run
                )
            if axis != "neg_log_det_k" and all(v > 0 for v in data.floats(axis) if math.isfinite(v)):
                ax.set_yscale("log")
            ax.set_title(axis_title, fontsize=8)
            ax.set_xlabel("generation")
        axes[0].legend(fontsize=7)

    return Figure(stem, title, caption, render(stem, draw, 10.5, 3.2), data)


def _origin_figure(stem: str, title: str, caption: str, data: Dataset, runs: Sequence[str]) -> Figure:
    colors = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(runs)}

    def draw(fig: MplFigure) -> None:
        left, right = fig.subplots(1, 2)
        margins(fig, wspace=0.35)
        for run in runs:
            rows = data.where(run=run)
            left.plot(
                rows.floats("generation"), rows.floats("distance"), marker="o", color=colors[run], label=run
            )
            right.plot(rows.floats("ntk_share"), rows.floats("naswot_share"), marker="o", color=colors[run])
            xs, ys = rows.floats("ntk_share"), rows.floats("naswot_share")
            if xs:
                right.annotate("last", (xs[-1], ys[-1]), fontsize=7)
        left.set_xlabel("generation")
        left.set_ylabel("distance from the origin (0 = best)")
        left.set_ylim(0, 1)
        left.legend(fontsize=7)
        right.set_xlabel("NTK condition share")
        right.set_ylabel("-log|det K| share")
        right.set_xlim(-0.02, 1)
        right.set_ylim(-0.02, 1)

    return Figure(stem, title, caption, render(stem, draw, 9.0, 3.4), data)


def _pareto_figure(stem: str, title: str, caption: str, data: Dataset) -> Figure:
    def draw(fig: MplFigure) -> None:
        ax = fig.subplots()
        margins(fig)
        for on_front, style in ((False, {"facecolors": "none"}), (True, {})):
            rows = data.where(on_front=on_front)
            ax.scatter(
                rows.floats("ntk_cond"), rows.floats("neg_log_det_k"), s=28, edgecolors=PALETTE[0], **style
            )
        if all(v > 0 for v in data.floats("ntk_cond") if math.isfinite(v)):
            ax.set_xscale("log")
        ax.set_xlabel("NTK condition number (lower is better)")
        ax.set_ylabel("-log|det K| (lower is better)")

    return Figure(stem, title, caption, render(stem, draw, 5.5, 3.6), data)


def search_section(block: Block, histories: Sequence[SearchHistory]) -> Section:
    """Figs. 5 and 6 and the final populations' Pareto fronts of the page's zero_cost_ga runs."""
    names = [f"{h.label} #{h.trial}" for h in histories]
    best_rows = []
    for name, h in zip(names, histories, strict=True):
        for r in h.generations:
            best = [_finite(v) for v in r.get("best", [math.nan] * 3)]
            best_rows.append((name, int(r["generation"]), str(r.get("kind", "")), *best))
    best = Dataset(("run", "generation", "kind", *AXES), tuple(best_rows))
    table_rows = []
    for g in sorted({int(r[1]) for r in best_rows}):
        rows = best.where(generation=g)
        kinds = sorted({str(k) for k in rows.column("kind")})
        medians = [float(np.nanmedian(rows.floats(a))) if rows.rows else math.nan for a in AXES]
        table_rows.append((str(g), "/".join(kinds), *(_g(m) for m in medians), str(len(rows.rows))))
    fig5 = _lines_figure(
        _stem(block, "zero-cost-scores"),
        "Best score per generation (paper Fig. 5)",
        "The lowest value of each minimised score among each generation's survivors, one line per run; "
        "'darts' generations chose survivors by a DARTS tournament, the others by Pareto selection with "
        "aging (a parent's scores worsen with age, so the best can get worse).",
        best,
        names,
    )
    table5 = Table(
        _stem(block, "zero-cost-scores-table"),
        "Best score per generation, median over runs",
        ("generation", "kind", "NTK condition", "third score", "-log|det K|", "runs"),
        tuple(table_rows),
        data=best,
    )
    origin = Dataset(
        ("run", "trial", "generation", "ntk_share", "third_share", "naswot_share", "distance"),
        tuple((name, *row[1:]) for name, h in zip(names, histories, strict=True) for row in origin_rows(h)),
    )
    fig6 = _origin_figure(
        _stem(block, "zero-cost-origin"),
        "The best survivors move toward the origin (paper Fig. 6)",
        "Each score rescaled to the share of all the run's survivors (all generations) that beat it "
        "(0 = best); distance = norm of the three shares / sqrt(3). Left: per generation, the survivor "
        "nearest the origin; right: its NTK and -log|det K| shares, generation after generation.",
        origin,
        names,
    )
    final_rows = []
    for name, h in zip(names, histories, strict=True):
        if not h.generations:
            continue
        last = h.generations[-1]
        scores = [[_finite(v) if math.isfinite(_finite(v)) else math.inf for v in s] for s in last["scores"]]
        for enc, s, on_front in zip(last["population"], scores, non_dominated(scores), strict=True):
            final_rows.append((name, str(enc), *s, on_front))
    final = Dataset(("run", "encoding", *AXES, "on_front"), tuple(final_rows))
    pareto = _pareto_figure(
        _stem(block, "zero-cost-pareto"),
        "Final population and its Pareto front",
        "Every cell of each run's final population (all minimised); filled: non-dominated on the three "
        "scores (the third is in the table), open: dominated. The final network trained for the "
        "comparison is these cells concatenated (paper Fig. 3).",
        final,
    )
    final_table = Table(
        _stem(block, "zero-cost-final"),
        "Final populations",
        ("run", "cell", "NTK condition", "third score", "-log|det K|", "non-dominated"),
        tuple((r[0], r[1], _g(r[2]), _g(r[3]), _g(r[4]), "yes" if r[5] else "no") for r in final_rows),
        data=final,
        wrap=True,
    )
    return Section(
        "zero-cost-search",
        "Zero-cost search (GA + DARTS)",
        (fig5, table5, fig6, pareto, final_table),
    )


def _accuracies(data: CacheData, block: Block) -> dict[str, float]:
    """Measured (not predicted) accuracy of each network of the page's space, replicates averaged."""
    metric = block.objective
    values: dict[str, list[float]] = {}
    for (arch, task_key, _), ev in data.evaluations.items():
        if task_key != block.task.task_key or ev.status != "ok" or ev.predicted:
            continue
        a = data.architectures.get(arch)
        value = ev.metric(metric)
        if a is None or a.space != block.space or value is None:
            continue
        values.setdefault(arch, []).append(value)
    return {arch: float(np.mean(v)) for arch, v in values.items()}


def correlation_section(
    block: Block, scores: Mapping[str, Mapping[tuple[str, int], float | None]], accuracy: Mapping[str, float]
) -> Section | None:
    """Kendall tau and Spearman rho of each stored proxy with trained accuracy (None: no proxy stored)."""
    keys = sorted({k for row in scores.values() for k in row if row.get(k) is not None})
    if not keys:
        return None
    rows, data_rows = [], []
    rng = np.random.default_rng(SEED)
    series: list[tuple[str, dict[str, float]]] = [
        (
            f"{name}@s{seed}",
            {a: float(v) for a, row in scores.items() if (v := row.get((name, seed))) is not None},
        )
        for name, seed in keys
    ]
    for seed in sorted({s for _, s in keys}):
        third = {}
        for arch, row in scores.items():
            named = {n: v for (n, s), v in row.items() if s == seed}
            if {"ntk_cond", "grad_corr", "params"} <= {n for n, v in named.items() if v is not None}:
                third[arch] = paper_scores(named)[1]
        if third:
            series.append((f"third score@s{seed}", third))
    for name, values in series:
        common = sorted(a for a in values if a in accuracy and math.isfinite(values[a]))
        if len(common) < MIN_NETWORKS:
            rows.append((name, str(len(common)), "too few", "", ""))
            continue
        x = np.asarray([values[a] for a in common])
        y = np.asarray([accuracy[a] for a in common])
        tau, t_lo, t_hi, rho, r_lo, r_hi = rank_correlations(x, y, rng, BOOTSTRAP)
        data_rows.append((name, len(common), tau, t_lo, t_hi, rho, r_lo, r_hi))
        rows.append(
            (
                name,
                str(len(common)),
                f"{tau:+.3f} [{t_lo:+.3f}, {t_hi:+.3f}]",
                f"{rho:+.3f} [{r_lo:+.3f}, {r_hi:+.3f}]",
                "",
            )
        )
    dataset = Dataset(
        ("proxy", "networks", "kendall_tau", "tau_lo", "tau_hi", "spearman_rho", "rho_lo", "rho_hi"),
        tuple(data_rows),
    )
    intro = Text(
        (
            f"Every proxy stored for {block.task.name}, against the {block.objective} of the same networks "
            f"of "
            f"{block.space} trained in this cache (replicates averaged; predicted answers left out). 95% "
            f"intervals: percentile bootstrap over networks, {BOOTSTRAP} resamples, seed {SEED}. A proxy "
            f"with fewer than {MIN_NETWORKS} such networks is listed as too few. Lower-is-better proxies "
            "(NTK condition, the third score) predict well with a negative sign.",
        )
    )
    table = Table(
        _stem(block, "proxy-correlation"),
        "Proxies against trained accuracy",
        ("proxy@seed", "networks", "Kendall tau [95% CI]", "Spearman rho [95% CI]", "note"),
        tuple(rows),
        data=dataset,
    )
    return Section("proxy-correlation", "Zero-cost proxies vs trained accuracy", (intro, table))


def zero_cost_sections(zero: ZeroCostData, data: CacheData, block: Block) -> list[Section]:
    """The page's zero-cost sections (none when it has no zero_cost_ga run and no stored proxy)."""
    run_ids = [r.run_id for r in block.runs]
    histories = [zero.histories[r] for r in run_ids if r in zero.histories]
    sections = [search_section(block, histories)] if histories else []
    scores = {
        a: row
        for a, row in zero.proxies.get(block.task.task_key, {}).items()
        if (arch := data.architectures.get(a)) is not None and arch.space == block.space
    }
    correlation = correlation_section(block, scores, _accuracies(data, block)) if scores else None
    if correlation is not None:
        sections.append(correlation)
    return sections
