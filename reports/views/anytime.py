"""View 1 of a page: anytime curves (vs evaluations and vs simulated seconds; regret where the space is
fully tabulated)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from reports import analysis as an
from reports import figures
from reports.analysis import RunResult
from reports.document import Dataset, Figure, Section, Text, pct
from reports.views.context import PageContext, objective_words

REGRET_FLOOR = 1e-3  # percentage points: zero regret on a log axis

Quantity = tuple[str, str, str]  # (panel key, 'best' or 'reported', title)


def _anytime_rows(
    results: Mapping[str, Sequence[RunResult]],
    grid_of: Callable[[Sequence[RunResult]], np.ndarray],
    cost: str,
    values: Callable[[RunResult], np.ndarray],
    panel: str,
    traces: bool,
) -> list[tuple[object, ...]]:
    """Rows (figures.ANYTIME_COLUMNS) of one panel: per algorithm the statistic named by the panel
    ('median/...' -> median, q25, q75; 'mean/...' -> mean, mean-sem, mean+sem) on the algorithm's grid
    (`grid_of(runs)`), and each run's own step curve when `traces`. `values(r)` gives the plotted value
    after each query of run r."""
    rows: list[tuple[object, ...]] = []
    stat = panel.split("/")[0]
    for label, rs in results.items():
        grid = grid_of(rs)
        matrix = []
        for r in rs:
            xs = r.evaluations if cost == "evaluations" else r.seconds
            ys = values(r)
            matrix.append(an.values_at(xs, ys, grid))
            if traces:
                rows.extend(
                    (panel, label, "trace", r.run.trial, float(x), float(y))
                    for x, y in zip(xs, ys, strict=True)
                )
        summary = an.summarize(np.vstack(matrix), grid)
        keep = np.isfinite(summary.median)
        if stat == "median":
            series = (("median", summary.median), ("q25", summary.q25), ("q75", summary.q75))
        else:
            series = (
                ("mean", summary.mean),
                ("mean-sem", summary.mean - summary.sem),
                ("mean+sem", summary.mean + summary.sem),
            )
        for name, vals in series:
            rows.extend(
                (panel, label, name, "", float(x), float(y))
                for x, y in zip(grid[keep], vals[keep], strict=True)
            )
    return rows


def anytime_section(ctx: PageContext) -> Section:
    sel, _ = objective_words(ctx.objective)
    quantities: tuple[Quantity, ...]
    if ctx.objective == "val_acc":
        quantities = (
            ("selection", "best", "best validation so far (selection)"),
            ("reported", "reported", "test accuracy of the incumbent (reported)"),
        )
    else:
        quantities = (("reported", "best", "best test so far (selected AND reported on test)"),)
    blocks: list[Text | Figure] = [
        Text(
            (
                "Best-so-far curves per algorithm: solid = median with the interquartile band (thin lines: "
                "each seed), dashed = mean ± standard error of the mean (NASLib style). Forward fill only: "
                "a run has no value before its first result. A statistic is drawn only where every run of "
                "the algorithm has a value.",
                f"The incumbent is chosen on {sel} accuracy and reported on test accuracy; "
                "the reported curve can drop when a new validation best tests worse.",
            )
        )
    ]
    for cost, grid, xlabel, view in (
        ("evaluations", an.evaluation_grid, "evaluations", "anytime-evaluations"),
        ("seconds", an.seconds_grid, "simulated seconds", "anytime-seconds"),
    ):
        blocks.append(_cost_figure(ctx, quantities, cost, grid, xlabel, view))
    blocks.append(_regret(ctx))
    return Section("anytime", "Anytime curves", tuple(blocks))


def _cost_figure(
    ctx: PageContext,
    quantities: Sequence[Quantity],
    cost: str,
    grid: Callable[[Sequence[RunResult]], np.ndarray],
    xlabel: str,
    view: str,
) -> Figure:
    """The anytime figure against one cost (evaluations or simulated seconds)."""
    panels = []
    rows: list[tuple[object, ...]] = []
    for stat, stat_title in (("median", "median + IQR"), ("mean", "mean ± SEM")):
        for key, quantity, title in quantities:
            panel = f"{stat}/{key}"
            panels.append((panel, f"{stat_title}: {title}"))
            rows.extend(
                _anytime_rows(
                    ctx.results,
                    grid,
                    cost,
                    (lambda r: 100.0 * r.best) if quantity == "best" else (lambda r: 100.0 * r.reported),
                    panel,
                    stat == "median",
                )
            )
    data = Dataset(figures.ANYTIME_COLUMNS, tuple(rows))
    zeros = any(y == 0.0 for y in data.column("y"))
    return figures.anytime_figure(
        ctx.stem(view),
        f"Anytime performance vs {xlabel}",
        f"Accuracy (%) of the incumbent against {xlabel}; the CSV holds every plotted point "
        "(series: median, q25, q75, mean, mean-sem, mean+sem, trace)."
        + (" Zero (no valid network found yet) lies below the plotted range." if zeros else ""),
        data,
        panels,
        len(quantities),
        xlabel,
        "accuracy (%)",
        ctx.colors,
    )


def _regret(ctx: PageContext) -> Figure | Text:
    """Test regret against the table's best where the space is fully tabulated, else a note."""
    best = an.fully_tabulated(ctx.data, ctx.block)
    if best is None:
        return Text(
            (
                "Regret against the table's best is not shown: the space is not fully tabulated on this "
                "task (only a complete table has a known optimum).",
            ),
            kind="note",
        )
    rows = []
    panels = [
        ("median/regret", "median + IQR: test regret of the incumbent"),
        ("mean/regret", "mean ± SEM: test regret"),
    ]
    for panel, _ in panels:
        rows.extend(
            _anytime_rows(
                ctx.results,
                an.evaluation_grid,
                "evaluations",
                lambda r: np.maximum(100.0 * (best - r.reported), REGRET_FLOOR),
                panel,
                panel.startswith("median"),
            )
        )
    return figures.anytime_figure(
        ctx.stem("regret-evaluations"),
        "Test regret vs evaluations (fully tabulated space)",
        f"Regret = best test accuracy in the table ({pct(best)}%) minus the incumbent's test "
        "accuracy, "
        f"in percentage points, log axis (zero regret drawn at {REGRET_FLOOR:g}).",
        Dataset(figures.ANYTIME_COLUMNS, tuple(rows)),
        panels,
        2,
        "evaluations",
        "test regret (percentage points)",
        ctx.colors,
        log_y=True,
    )
