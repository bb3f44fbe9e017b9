"""Figures as deterministic SVG, each drawn only from its `Dataset` (the CSV written beside it).

Every plotting function takes the dataset and draws exactly its numbers, so the CSV is what the figure
shows. Matplotlib runs headless (Agg, the object API without pyplot's global figure registry) inside an
`rc_context` with a fixed SVG hash salt, glyphs embedded as paths, no date and a fixed creator, so the same
data gives byte-identical SVG. Element ids inside each SVG are prefixed with the figure's stem, so that
several SVGs inlined in one HTML page never share an id.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import MaxNLocator, NullLocator

from reports.colors import LABEL_COLORS as LABEL_COLORS
from reports.colors import PALETTE
from reports.colors import page_colors as page_colors
from reports.colors import palette as palette
from reports.colors import report_palette as report_palette
from reports.document import Dataset, Figure
from reports.figure_axes import degenerate_limits, no_data, set_log_x

RC: dict[str, Any] = {
    "svg.hashsalt": "evonas",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 9.5,
    "axes.titley": 1.0,  # a fixed title position: matplotlib's automatic one measures every tick label
    "axes.titlepad": 5.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 72,
    "savefig.dpi": 72,
    "path.simplify": False,
}
CREATOR = "evonas report (matplotlib)"
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(href="#|url\(#)([^")]+)')


def render(stem: str, draw: Callable[[MplFigure], None], width: float, height: float) -> str:
    """Draw with `draw(fig)` on a new figure of width x height inches and return its SVG text (ids
    prefixed with the stem, no XML prolog)."""
    with rc_context(RC):
        fig = MplFigure(figsize=(width, height))
        draw(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": CREATOR})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", stem)
    text = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    return text.strip() + "\n"


def margins(
    fig: MplFigure,
    left: float = 0.75,
    right: float = 0.2,
    top: float = 0.35,
    bottom: float = 0.55,
    wspace: float = 0.3,
    hspace: float = 0.6,
) -> None:
    """Fixed margins in inches (a constrained layout would measure every label: slow)."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / width,
        right=1.0 - right / width,
        top=1.0 - top / height,
        bottom=bottom / height,
        wspace=wspace,
        hspace=hspace,
    )


LEGEND_HEIGHT = 0.3  # inches per legend row


def legend_rows(n: int) -> int:
    return math.ceil(n / 4) if n else 0


def _steps(x: Sequence[float], y: Sequence[float]) -> list[tuple[float, float]]:
    """Vertices of a right-continuous step function through (x, y) (as drawstyle 'steps-post')."""
    out: list[tuple[float, float]] = []
    for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
        if i:
            out.append((xi, out[-1][1]))
        out.append((xi, yi))
    return out


def _legend(
    fig: MplFigure, colors: Mapping[str, str], labels: Sequence[str], extra: Sequence[Any] = ()
) -> None:
    """A legend of the algorithms' colors along the bottom edge (4 per row)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[label], lw=2, label=label) for label in labels]
    handles.extend(extra)
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=min(4, max(1, len(handles))),
        frameon=False,
    )


# ------------------------------------------------------------------------------------------------------
# anytime curves (long format: panel, algorithm, series, trial, x, y)
# ------------------------------------------------------------------------------------------------------

ANYTIME_COLUMNS = ("panel", "algorithm", "series", "trial", "x", "y")


def anytime_figure(
    stem: str,
    title: str,
    caption: str,
    data: Dataset,
    panels: Sequence[tuple[str, str]],
    ncols: int,
    xlabel: str,
    ylabel: str,
    colors: Mapping[str, str],
    log_x: bool = False,
    log_y: bool = False,
) -> Figure:
    """Step curves per panel: 'trace' rows as faint per-seed lines, 'median' with a 'q25'-'q75' band,
    'mean' (dashed) with a 'mean-sem'-'mean+sem' band. On a linear axis, a panel holding zeros (a run
    whose queries were all invalid so far) is scaled to its positive values; the zeros lie below it."""
    groups = data.groups("panel", "algorithm", "series")
    labels = [a for a in colors if any(k[1] == a for k in groups)]
    nrows = math.ceil(len(panels) / ncols)
    empty = Dataset(data.columns, ())

    def draw(fig: MplFigure) -> None:
        from matplotlib.collections import LineCollection

        axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
        for k, (panel, panel_title) in enumerate(panels):
            ax: Axes = axes[k // ncols][k % ncols]
            plotted: list[float] = []
            for label in labels:
                color = colors[label]

                def rows(series: str, label: str = label, panel: str = panel) -> Dataset:
                    return groups.get((panel, label, series), empty)

                traces = rows("trace")
                if traces.rows:
                    lines = [
                        _steps(tr.floats("x"), tr.floats("y"))
                        for _, tr in sorted(traces.groups("trial").items(), key=lambda kv: int(str(kv[0][0])))
                    ]
                    ax.add_collection(LineCollection(lines, colors=color, linewidths=0.6, alpha=0.3))
                    plotted.extend(traces.floats("y"))
                for centre, low, high, style in (
                    ("median", "q25", "q75", "-"),
                    ("mean", "mean-sem", "mean+sem", "--"),
                ):
                    line = rows(centre)
                    if not line.rows:
                        continue
                    x = line.floats("x")
                    lower, upper = rows(low).floats("y"), rows(high).floats("y")
                    ax.fill_between(x, lower, upper, step="post", color=color, alpha=0.18, lw=0)
                    ax.plot(x, line.floats("y"), drawstyle="steps-post", color=color, lw=1.8, ls=style)
                    plotted.extend(lower + upper)
            ax.autoscale_view()
            finite = [v for v in plotted if math.isfinite(v)]
            positive = [v for v in finite if v > 0]
            flat = degenerate_limits(finite, pad=1.0, floor=0.0)
            if not finite:
                no_data(ax, "no value: a statistic is drawn only where every run has one")
            elif not log_y and positive and len(positive) < len(finite):
                lo, hi = min(positive), max(positive)
                pad = 0.05 * (hi - lo) if hi > lo else 1.0
                ax.set_ylim(lo - pad, hi + pad)  # zeros (no valid network yet) lie below the axis
            elif not log_y and flat is not None:
                ax.set_ylim(*flat)  # single-valued: a readable range around the value
            ax.tick_params(axis="x", labelbottom=True)  # shared x: every panel keeps its tick labels
            ax.set_title(panel_title)
            if k // ncols == nrows - 1 or k + ncols >= len(panels):
                ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            if log_x:
                ax.set_xscale("log")
            if log_y:
                ax.set_yscale("log")
        for k in range(len(panels), nrows * ncols):
            axes[k // ncols][k % ncols].set_visible(False)
        _legend(fig, colors, labels)
        margins(fig, bottom=0.55 + LEGEND_HEIGHT * legend_rows(len(labels)), hspace=0.45)

    height = 2.7 * nrows + 0.5 + LEGEND_HEIGHT * legend_rows(len(labels))
    svg = render(stem, draw, 10.0, height)
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)


# ------------------------------------------------------------------------------------------------------
# ECDFs (panel, algorithm, x, p, lower, upper)
# ------------------------------------------------------------------------------------------------------

ECDF_COLUMNS = ("panel", "algorithm", "x", "p", "lower", "upper")


def ecdf_figure(
    stem: str,
    title: str,
    caption: str,
    data: Dataset,
    panels: Sequence[tuple[str, str]],
    xlabel: str,
    colors: Mapping[str, str],
) -> Figure:
    """Right-continuous ECDF steps with their pointwise confidence band; each curve rises from 0 at its
    first support point."""
    labels = [a for a in colors if data.where(algorithm=a).rows]

    def draw(fig: MplFigure) -> None:
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (panel, panel_title) in zip(axes, panels, strict=True):
            sub = data.where(panel=panel)
            if not sub.rows:
                no_data(ax, "no value")
            flat = degenerate_limits(sub.floats("x"), pad=1.0, floor=0.0)
            if flat is not None:
                ax.set_xlim(*flat)  # every value equal: a readable range around it
            for label in labels:
                rows = sub.where(algorithm=label)
                if not rows.rows:
                    continue
                x = rows.floats("x")
                xs = [x[0], *x]
                ax.fill_between(
                    xs,
                    [0.0, *rows.floats("lower")],
                    [0.0, *rows.floats("upper")],
                    step="post",
                    color=colors[label],
                    alpha=0.15,
                    lw=0,
                )
                ax.plot(xs, [0.0, *rows.floats("p")], drawstyle="steps-post", color=colors[label], lw=1.6)
            ax.set_title(panel_title)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("fraction of values <= x")
            ax.set_ylim(-0.02, 1.02)
        _legend(fig, colors, labels)
        margins(fig, bottom=0.55 + LEGEND_HEIGHT * legend_rows(len(labels)))

    svg = render(stem, draw, 10.0, 3.4 + LEGEND_HEIGHT * legend_rows(len(labels)))
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)


# ------------------------------------------------------------------------------------------------------
# runtime ECDF (panel, algorithm, cost, fraction)
# ------------------------------------------------------------------------------------------------------

RUNTIME_COLUMNS = ("panel", "algorithm", "cost", "fraction")


def runtime_figure(
    stem: str,
    title: str,
    caption: str,
    data: Dataset,
    panels: Sequence[tuple[str, str, str]],
    colors: Mapping[str, str],
) -> Figure:
    """Fraction of (run, target) pairs solved vs cost, log x axis (cocopp style)."""
    labels = [a for a in colors if data.where(algorithm=a).rows]

    def draw(fig: MplFigure) -> None:
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (panel, panel_title, xlabel) in zip(axes, panels, strict=True):
            sub = data.where(panel=panel)
            for label in labels:
                rows = sub.where(algorithm=label)
                if rows.rows:
                    ax.plot(
                        rows.floats("cost"),
                        rows.floats("fraction"),
                        drawstyle="steps-post",
                        color=colors[label],
                        lw=1.6,
                    )
            set_log_x(ax, sub.floats("cost"))
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(panel_title)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("fraction of (run, target) pairs")
        _legend(fig, colors, labels)
        margins(fig, bottom=0.55 + LEGEND_HEIGHT * legend_rows(len(labels)))

    svg = render(stem, draw, 10.0, 3.4 + LEGEND_HEIGHT * legend_rows(len(labels)))
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)


# ------------------------------------------------------------------------------------------------------
# dominance heatmap (row, col, verdict, ..., a12, ...)
# ------------------------------------------------------------------------------------------------------


def heatmap_figure(stem: str, title: str, caption: str, data: Dataset, names: Sequence[str]) -> Figure:
    """A12 of row over column as colors (blue: row better), with the verdict written in each cell."""
    import numpy as np

    k = len(names)
    a12 = np.full((k, k), np.nan)
    marks = [["" for _ in names] for _ in names]
    for row in data.rows:
        values = dict(zip(data.columns, row, strict=True))
        i, j = names.index(str(values["row"])), names.index(str(values["col"]))
        a12[i, j] = float(values["a12"])  # type: ignore[arg-type]
        verdict = str(values["verdict"])
        eps = float(values["eps_min_row_over_col"])  # type: ignore[arg-type]
        mark = {"row": "dominates", "col": "dominated", "crossing": "crossing", "none": "none"}[verdict]
        marks[i][j] = f"{mark}\nA12 {a12[i, j]:.2f}\neps {eps:.2f}"

    def draw(fig: MplFigure) -> None:
        ax = fig.subplots()
        margins(fig, left=name_width + 0.6, right=1.1, top=0.15, bottom=name_width * 0.6 + 0.55)
        image = ax.imshow(a12, cmap="RdBu", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(k), labels=list(names), rotation=30, ha="right")
        ax.set_yticks(range(k), labels=list(names))
        ax.grid(False)
        for i in range(k):
            for j in range(k):
                if i != j:
                    shade = a12[i, j]
                    color = "white" if shade < 0.2 or shade > 0.8 else "black"
                    ax.text(j, i, marks[i][j], ha="center", va="center", fontsize=7, color=color)
        ax.set_xlabel("column algorithm")
        ax.set_ylabel("row algorithm")
        ax.apply_aspect()
        box = ax.get_position()
        cax = fig.add_axes(
            (box.x1 + 0.15 / fig.get_size_inches()[0], box.y0, 0.18 / fig.get_size_inches()[0], box.height)
        )
        fig.colorbar(image, cax=cax, label="A12 (row better than column)")

    name_width = 0.07 * max(len(n) for n in names)
    size = max(2.8, 0.95 * k)
    svg = render(stem, draw, size + name_width + 2.0, size + name_width * 0.6 + 0.7)
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)


# ------------------------------------------------------------------------------------------------------
# critical-difference diagram (kind, name, value, value2)
# ------------------------------------------------------------------------------------------------------

CD_COLUMNS = ("kind", "name", "value", "value2")


def cd_figure(stem: str, title: str, caption: str, data: Dataset) -> Figure:
    """Demsar's critical-difference diagram: average ranks on an axis (1 = best, left), the CD as a bar,
    and groups of algorithms not significantly different joined by thick lines (only when the omnibus
    test rejects)."""
    ranks = [(str(r[1]), float(r[2])) for r in data.rows if r[0] == "rank"]  # type: ignore[arg-type]
    cd = next(float(r[2]) for r in data.rows if r[0] == "cd")  # type: ignore[arg-type]
    groups = [(float(r[2]), float(r[3])) for r in data.rows if r[0] == "group"]  # type: ignore[arg-type]
    k = len(ranks)
    ordered = sorted(ranks, key=lambda t: (t[1], t[0]))

    def draw(fig: MplFigure) -> None:
        ax = fig.subplots()
        ax.set_xlim(0.5, k + 0.5)
        ax.set_ylim(-(math.ceil(k / 2) + 0.6), 2.1)
        ax.axis("off")
        ax.hlines(0, 1, k, color="black", lw=1)
        for r in range(1, k + 1):
            ax.vlines(r, 0, 0.25, color="black", lw=1)
            ax.text(r, 0.4, str(r), ha="center", va="bottom", fontsize=9)
        ax.hlines(1.4, 1, 1 + cd, color="black", lw=2)
        ax.text(1 + cd / 2, 1.55, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
        half = math.ceil(k / 2)
        for n, (name, rank) in enumerate(ordered):
            if n < half:
                y = -(n + 1)
                ax.plot([rank, rank, 0.6], [0, y, y], color="black", lw=0.8)
                ax.text(0.55, y, f"{name} ({rank:.2f})", ha="left", va="bottom", fontsize=9)
            else:
                y = -(k - n)
                ax.plot([rank, rank, k + 0.4], [0, y, y], color="black", lw=0.8)
                ax.text(k + 0.45, y, f"({rank:.2f}) {name}", ha="right", va="bottom", fontsize=9)
        for g, (lo, hi) in enumerate(groups):
            ax.hlines(-0.25 - 0.2 * g, lo - 0.03, hi + 0.03, color="#444444", lw=4)
        margins(fig, left=0.1, right=0.1, top=0.1, bottom=0.1)

    svg = render(stem, draw, max(6.0, 1.6 * k + 2.0), 0.5 + 0.42 * (math.ceil(k / 2) + 2.7))
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)


# ------------------------------------------------------------------------------------------------------
# Genetic CNN generations (source, generation, max, min, avg, median, std, best)
# ------------------------------------------------------------------------------------------------------

GENERATION_COLUMNS = ("source", "generation", "max", "min", "avg", "median", "std", "best_structure")


def generations_figure(stem: str, title: str, caption: str, data: Dataset, sources: Sequence[str]) -> Figure:
    """Average fitness per generation with bars from the lowest to the highest (Genetic CNN Fig. 3)."""
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sources)}

    def draw(fig: MplFigure) -> None:
        ax = fig.subplots()
        generations: list[float] = []
        values: list[float] = []
        for n, source in enumerate(sources):
            rows = data.where(source=source)
            g = [v + 0.12 * n for v in rows.floats("generation")]
            generations.extend(g)
            values.extend(rows.floats("min") + rows.floats("max") + rows.floats("avg"))
            avg, lo, hi = rows.floats("avg"), rows.floats("min"), rows.floats("max")
            ax.errorbar(
                g,
                avg,
                yerr=[  # clipped at 0: a mean of equal values can exceed them by a rounding error
                    [max(0.0, a - b) for a, b in zip(avg, lo, strict=True)],
                    [max(0.0, c - a) for a, c in zip(avg, hi, strict=True)],
                ],
                color=colors[source],
                marker="o",
                ms=3.5,
                capsize=3,
                lw=1.4,
                label=source,
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        flat_y = degenerate_limits(values, pad=1.0, floor=0.0)
        if flat_y is not None:
            ax.set_ylim(*flat_y)  # one value (one generation, or a flat population): not -0.055..0.055
        if generations and max(generations) - min(generations) < 0.5:  # a single generation
            ax.set_xlim(min(generations) - 0.5, max(generations) + 0.5)
            ax.set_xticks([float(round(min(generations)))])  # not -0.045, ..., 0.045
        ax.set_xlabel("generation")
        ax.set_ylabel("fitness (%): average, bars min to max")
        ax.legend(loc="best", frameon=False)  # the series decide where the legend hides nothing
        margins(fig, bottom=0.5)

    svg = render(stem, draw, 8.0, 3.4)
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)


# ------------------------------------------------------------------------------------------------------
# noise (arch_hash, encoding, replicates, mean, std, rep0, rep1)
# ------------------------------------------------------------------------------------------------------

NOISE_COLUMNS = ("arch_hash", "encoding", "replicates", "mean", "std", "rep0", "rep1")


def noise_figure(stem: str, title: str, caption: str, data: Dataset, mean_std: float, unit: str) -> Figure:
    """Replicate 0 vs replicate 1 (left) and per-network std vs mean (right), in percent."""

    def draw(fig: MplFigure) -> None:
        left, right = fig.subplots(1, 2)
        r0, r1 = data.floats("rep0"), data.floats("rep1")
        pairs = [(a, b) for a, b in zip(r0, r1, strict=True) if math.isfinite(a) and math.isfinite(b)]
        if pairs:
            xs, ys = zip(*pairs, strict=True)
            left.scatter(xs, ys, s=14, color=PALETTE[0], alpha=0.8)
            lo, hi = min(*xs, *ys), max(*xs, *ys)
            left.plot([lo, hi], [lo, hi], color="#888888", lw=0.8, ls=":")
        left.set_xlabel(f"replicate 0 ({unit})")
        left.set_ylabel(f"replicate 1 ({unit})")
        left.set_title("replicate 0 vs replicate 1")
        right.scatter(data.floats("mean"), data.floats("std"), s=14, color=PALETTE[1], alpha=0.8)
        right.axhline(mean_std, color="#444444", lw=1, ls="--")
        right.set_xlabel(f"mean over replicates ({unit})")
        right.set_ylabel(f"std over replicates ({unit})")
        right.set_title(f"per-network std (dashed: mean {mean_std:.3g})")
        margins(fig, bottom=0.5)

    svg = render(stem, draw, 10.0, 3.4)
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)


# ------------------------------------------------------------------------------------------------------
# Pareto fronts (set, algorithm, trial, arch_hash, encoding, params, objective, test, on_front)
# ------------------------------------------------------------------------------------------------------

PARETO_COLUMNS = (
    "set",
    "algorithm",
    "trial",
    "arch_hash",
    "encoding",
    "params",
    "objective",
    "test",
    "on_front",
)


def pareto_figure(
    stem: str, title: str, caption: str, data: Dataset, colors: Mapping[str, str], ylabel: str
) -> Figure:
    """Every evaluated network (dots), each algorithm's front over all its networks (step line), and each
    run's final-population front (open diamonds), accuracy vs parameters (log)."""
    labels = [a for a in colors if data.where(algorithm=a).rows]
    from matplotlib.lines import Line2D

    def draw(fig: MplFigure) -> None:
        ax = fig.subplots()
        for label in labels:
            rows = data.where(algorithm=label, set="all evaluated")
            ax.scatter(
                rows.floats("params"), rows.floats("objective"), s=9, color=colors[label], alpha=0.35, lw=0
            )
            front = rows.where(on_front=True)
            if front.rows:
                ax.plot(
                    front.floats("params"),
                    front.floats("objective"),
                    drawstyle="steps-post",
                    color=colors[label],
                    lw=1.6,
                )
            final = data.where(algorithm=label, set="final population", on_front=True)
            if final.rows:
                ax.scatter(
                    final.floats("params"),
                    final.floats("objective"),
                    s=34,
                    facecolors="none",
                    edgecolors=colors[label],
                    marker="D",
                    lw=1.1,
                )
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("parameters")
        ax.set_ylabel(ylabel)
        extra = [
            Line2D([], [], color="#555555", lw=1.6, label="front of all evaluated"),
            Line2D(
                [],
                [],
                color="#555555",
                lw=0,
                marker="D",
                markerfacecolor="none",
                label="final-population front",
            ),
        ]
        _legend(fig, colors, labels, extra)
        margins(fig, bottom=0.55 + LEGEND_HEIGHT * legend_rows(len(labels) + 2))

    svg = render(stem, draw, 9.0, 4.0 + LEGEND_HEIGHT * legend_rows(len(labels) + 2))
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)
