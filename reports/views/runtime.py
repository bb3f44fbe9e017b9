"""View 3 of a page: the fixed-target runtime ECDF (cocopp style) and the area under it."""

from __future__ import annotations

from collections.abc import Sequence

from reports import analysis as an
from reports import figures, stats
from reports.analysis import RunResult
from reports.document import Dataset, Section, Table, Text
from reports.views.context import PageContext, objective_words
from reports.views.ecdf import ok_fitness

N_TARGETS = 15
AREA_COLUMNS = (
    "algorithm",
    "runs",
    "targets",
    "solved_fraction_at_budget",
    "area_evaluations_log",
    "area_evaluations_linear",
    "area_seconds_linear",
)


def runtime_section(ctx: PageContext) -> Section:
    sel, sel_phrase = objective_words(ctx.objective)
    pooled = [v for rs in ctx.results.values() for v in ok_fitness(ctx, rs)]
    if not pooled:
        return Section(
            "runtime", "Runtime ECDF", (Text(("No ok evaluation: no targets can be set.",), kind="note"),)
        )
    targets = stats.make_targets(pooled, N_TARGETS, "quantile")
    rows: list[tuple[object, ...]] = []
    area_rows = []
    max_evals = max(an.budgets(ctx.results, "evaluations").values())
    max_secs = max(an.budgets(ctx.results, "seconds").values())
    min_secs = _min_seconds(ctx)
    for label, rs in ctx.results.items():
        per_cost = {}
        for panel, start, end in (("evaluations", 1.0, max_evals), ("seconds", min_secs, max_secs)):
            ecdf = _runtime_ecdf(rs, panel, targets)
            per_cost[panel] = ecdf
            rows.append((panel, label, start, ecdf.fraction_at(start)))
            for c, f in zip(ecdf.costs, ecdf.fraction, strict=True):
                if start < c < end:
                    rows.append((panel, label, float(c), float(f)))
            rows.append((panel, label, end, ecdf.fraction_at(end)))
        ev, sec = per_cost["evaluations"], per_cost["seconds"]
        area_rows.append(
            (
                label,
                ev.n_runs,
                ev.n_targets,
                ev.solved_fraction,
                ev.area(max_evals, log=True, min_cost=1.0) if max_evals > 1 else ev.area(max_evals),
                ev.area(max_evals),
                sec.area(max_secs),
            )
        )
    fig = figures.runtime_figure(
        ctx.stem("runtime-ecdf"),
        "Fixed-target runtime ECDF",
        f"Fraction of (run, target) pairs whose best {sel_phrase} reached the target, against the cost "
        f"(cocopp style, log axis). {len(targets)} targets at the quantiles 1/n..1 of the {sel} accuracy of "
        "all ok queries of this page; a run that never reaches a target within its budget is censored there "
        "(counts as unsolved).",
        Dataset(figures.RUNTIME_COLUMNS, tuple(rows)),
        (
            ("evaluations", "cost = evaluations", "evaluations"),
            ("seconds", "cost = simulated seconds", "simulated seconds"),
        ),
        ctx.colors,
    )
    return Section(
        "runtime", "Runtime ECDF", (fig, _area_table(ctx, area_rows, targets, max_evals, max_secs))
    )


def _min_seconds(ctx: PageContext) -> float:
    """The left end of the seconds axis: the first query's time, else the smallest positive time."""
    first_secs = min(float(r.seconds[0]) for rs in ctx.results.values() for r in rs)
    if first_secs > 0:
        return first_secs
    return min((float(s) for rs in ctx.results.values() for r in rs for s in r.seconds if s > 0), default=1.0)


def _runtime_ecdf(rs: Sequence[RunResult], panel: str, targets: Sequence[float]) -> stats.RuntimeEcdf:
    runs = [(r.evaluations if panel == "evaluations" else r.seconds, r.fitness) for r in rs]
    run_budgets = [
        float(r.run.budget_evaluations or r.n)
        if panel == "evaluations"
        else float(r.run.budget_seconds or r.seconds[-1])
        for r in rs
    ]
    return stats.runtime_ecdf(runs, targets, run_budgets)


def _area_table(
    ctx: PageContext,
    area_rows: Sequence[tuple[object, ...]],
    targets: Sequence[float],
    max_evals: float,
    max_secs: float,
) -> Table:
    return Table(
        stem=ctx.stem("runtime-area"),
        title="Area under the runtime ECDF",
        columns=(
            "algorithm",
            "runs",
            "targets",
            "solved at budget",
            "area (evaluations, log)",
            "area (evaluations)",
            "area (sim. seconds)",
        ),
        rows=tuple(
            (str(r[0]), str(r[1]), str(r[2]), f"{r[3]:.2f}", f"{r[4]:.3f}", f"{r[5]:.3f}", f"{r[6]:.3f}")
            for r in area_rows
        ),
        caption=f"Normalised area in [0, 1] (1: every target solved at once) up to the largest budget: "
        f"{max_evals:g} evaluations (log area from 1) and {max_secs:.4g} simulated seconds (linear). "
        "Targets (%): " + ", ".join(f"{100 * t:.2f}" for t in targets) + ".",
        data=Dataset(AREA_COLUMNS, tuple(area_rows)),
    )
