"""The report's views, assembled into pages: one page per (experiment, space, task) and an index.

Views of a page (numbered as in docs/statistics.md): the headline (who won: `reports.headline`); summary and
warnings; final results; 1. anytime curves (vs evaluations and vs simulated seconds; regret where the space is
fully tabulated); 2. ECDFs (final best, all evaluated); 3. runtime ECDF with its area; 4. dominance matrix
(table and heatmap: `reports.views_dominance`); 6. the papers' tables (Genetic CNN Table 1, RE macro numbers
and Table 2, DE-NAS Table 3 and Pareto fronts); 7. architecture drawings (and the macro_re overlay with node
counts); 8. noise; then the metadata block. The index carries 5. the ranking across (space, task) blocks with
its critical-difference diagram.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import ConfigError, EvonasError
from reports import analysis as an
from reports import claims, drawings, figures, headline, paper_numbers, stats
from reports.analysis import RunResult
from reports.data import Block, CacheData, safe_name
from reports.document import Dataset, Figure, Link, Page, Section, Table, Text, num, pct
from reports.views_dominance import ALPHA, dominance_section, page_matrix
from reports.views_dominance import BOOTSTRAP as BOOTSTRAP
from reports.views_dominance import SEED as SEED

log = logging.getLogger(__name__)

N_TARGETS = 15
NOISE_TABLE_ROWS = 20
REGRET_FLOOR = 1e-3  # percentage points: zero regret on a log axis


def _objective_words(objective: str) -> tuple[str, str]:
    """(short name, phrase) of the selection objective."""
    return ("validation", "validation accuracy") if objective == "val_acc" else ("test", "test accuracy")


def _p(value: float) -> str:
    return "n/a" if not math.isfinite(value) else ("<1e-4" if value < 1e-4 else f"{value:.4f}")


def _iqr(values: Sequence[float]) -> str:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return "n/a"
    q25, q50, q75 = np.quantile(arr, [0.25, 0.5, 0.75])
    return f"{pct(q50)} [{pct(q25)}, {pct(q75)}]"


def _mean_sem(values: Sequence[float]) -> str:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return "n/a"
    sem = float(np.std(arr, ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else 0.0
    return f"{pct(float(arr.mean()))} ± {pct(sem)}"


@dataclass(frozen=True)
class PageContext:
    """What every view of a page needs."""

    data: CacheData
    block: Block
    results: Mapping[str, Sequence[RunResult]]
    colors: Mapping[str, str]
    objective: str
    setting: str | None

    def stem(self, view: str) -> str:
        return f"{self.block.slug}__{view}"

    @property
    def labels(self) -> list[str]:
        return list(self.results)


# ------------------------------------------------------------------------------------------------------
# final results
# ------------------------------------------------------------------------------------------------------


def final_results(ctx: PageContext) -> Section:
    sel, sel_phrase = _objective_words(ctx.objective)
    run_rows = []
    for label, rs in ctx.results.items():
        for r in rs:
            q = r.final_query
            run_rows.append(
                (
                    label,
                    r.run.trial,
                    r.run.seed,
                    r.run.status,
                    r.n,
                    float(r.seconds[-1]),
                    r.run.hits,
                    r.final_best,
                    r.final_reported,
                    q.step,
                    q.arch_hash,
                    q.replicate,
                    an.encoding_of(ctx.data, q),
                )
            )
    runs_data = Dataset(
        (
            "algorithm",
            "trial",
            "seed",
            "status",
            "evaluations",
            "sim_seconds",
            "cache_hits",
            f"final_best_{sel}",
            "final_test_of_incumbent",
            "incumbent_step",
            "incumbent_arch_hash",
            "incumbent_replicate",
            "incumbent_encoding",
        ),
        tuple(run_rows),
    )
    summary_rows = []
    for label, rs in ctx.results.items():
        hits, queries = an.hit_rate([r.run for r in rs])
        evals = sorted({r.n for r in rs})
        summary_rows.append(
            (
                label,
                str(len(rs)),
                str(evals[0]) if len(evals) == 1 else f"{evals[0]}-{evals[-1]}",
                num(float(np.median([r.seconds[-1] for r in rs])), ".4g"),
                _iqr([r.final_best for r in rs]),
                _iqr([r.final_reported for r in rs]),
                _mean_sem([r.final_reported for r in rs]),
                pct(float(np.nanmax([r.final_reported for r in rs]))) if _any_finite(rs) else "n/a",
                f"{hits / queries:.0%}" if queries else "n/a",
            )
        )
    summary = Table(
        stem=ctx.stem("final-results"),
        title="Final results per algorithm",
        columns=(
            "algorithm",
            "runs",
            "evaluations",
            "sim. seconds (median)",
            f"best {sel} %: median [IQR]",
            "test % of incumbent: median [IQR]",
            "test %: mean ± SEM",
            "test %: best run",
            "cache hit rate",
        ),
        rows=tuple(summary_rows),
        caption=f"Incumbent = the query with the best {sel_phrase} in the run (selected on {sel}), "
        "reported on test: the test accuracy stored for that network and replicate. "
        "The CSV lists every run's final incumbent.",
        data=runs_data,
    )
    per_run = Table(
        stem=ctx.stem("final-results-runs"),
        title="Final incumbent of every run",
        columns=(
            "algorithm",
            "trial",
            "seed",
            "evaluations",
            f"best {sel} %",
            "test % (reported)",
            "incumbent",
        ),
        rows=tuple(
            (
                str(row[0]),
                str(row[1]),
                str(row[2]),
                str(row[4]),
                pct(float(row[7])),  # type: ignore[arg-type]
                pct(float(row[8])),  # type: ignore[arg-type]
                f"step {row[9]}: {row[12]}",
            )
            for row in run_rows
        ),
        data=runs_data,
    )
    return Section("results", "Final results", (summary, per_run))


def _any_finite(rs: Sequence[RunResult]) -> bool:
    return any(math.isfinite(r.final_reported) for r in rs)


# ------------------------------------------------------------------------------------------------------
# 1. anytime curves
# ------------------------------------------------------------------------------------------------------


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
    sel, _ = _objective_words(ctx.objective)
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
        blocks.append(
            figures.anytime_figure(
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
        )
    best = an.fully_tabulated(ctx.data, ctx.block)
    if best is None:
        blocks.append(
            Text(
                (
                    "Regret against the table's best is not shown: the space is not fully tabulated on this "
                    "task (only a complete table has a known optimum).",
                ),
                kind="note",
            )
        )
    else:
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
        blocks.append(
            figures.anytime_figure(
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
        )
    return Section("anytime", "Anytime curves", tuple(blocks))


# ------------------------------------------------------------------------------------------------------
# 2. ECDFs
# ------------------------------------------------------------------------------------------------------


def _ok_fitness(ctx: PageContext, rs: Sequence[RunResult]) -> list[float]:
    out = []
    for r in rs:
        for q in r.run.queries:
            ev = ctx.data.evaluation(q.arch_hash, r.run.task_key, q.replicate)
            if ev is not None and ev.status == "ok":
                out.append(float(q.fitness))
    return out


def ecdf_section(ctx: PageContext, samples: Mapping[str, np.ndarray]) -> Section:
    sel, sel_phrase = _objective_words(ctx.objective)
    rows: list[tuple[object, ...]] = []
    excluded = 0
    for label, rs in ctx.results.items():
        if label in samples:
            e = stats.ecdf(samples[label])
            for x, p, lo, hi in zip(e.x, e.p, e.lower, e.upper, strict=True):
                rows.append(("final", label, 100.0 * float(x), float(p), float(lo), float(hi)))
        values = _ok_fitness(ctx, rs)
        excluded += sum(len(r.run.queries) for r in rs) - len(values)
        if values:
            e = stats.ecdf(values)
            for x, p, lo, hi in zip(e.x, e.p, e.lower, e.upper, strict=True):
                rows.append(("all", label, 100.0 * float(x), float(p), float(lo), float(hi)))
    fig = figures.ecdf_figure(
        ctx.stem("ecdf"),
        "ECDFs of final best and of all evaluated networks",
        "Left: empirical CDF over seeds of the final incumbent's test accuracy. Right: empirical CDF of "
        f"the {sel_phrase} of every ok query (RE paper Fig. 3 right; {excluded} invalid or failed queries "
        "left out). Bands: pointwise 95% confidence (scipy.stats.ecdf, Greenwood). A curve further right "
        "is better; one curve entirely below-right of another is first-order stochastic dominance.",
        Dataset(figures.ECDF_COLUMNS, tuple(rows)),
        (("final", "final incumbent, test accuracy"), ("all", f"all evaluated networks, {sel} accuracy")),
        "accuracy (%)",
        ctx.colors,
    )
    return Section("ecdf", "ECDFs", (fig,))


# ------------------------------------------------------------------------------------------------------
# 3. runtime ECDF
# ------------------------------------------------------------------------------------------------------


def runtime_section(ctx: PageContext) -> Section:
    sel, sel_phrase = _objective_words(ctx.objective)
    pooled = [v for rs in ctx.results.values() for v in _ok_fitness(ctx, rs)]
    if not pooled:
        return Section(
            "runtime", "Runtime ECDF", (Text(("No ok evaluation: no targets can be set.",), kind="note"),)
        )
    targets = stats.make_targets(pooled, N_TARGETS, "quantile")
    rows: list[tuple[object, ...]] = []
    area_rows = []
    budget_evals = an.budgets(ctx.results, "evaluations")
    budget_secs = an.budgets(ctx.results, "seconds")
    max_evals = max(budget_evals.values())
    max_secs = max(budget_secs.values())
    first_secs = min(float(r.seconds[0]) for rs in ctx.results.values() for r in rs)
    min_secs = (
        first_secs
        if first_secs > 0
        else min(
            (float(s) for rs in ctx.results.values() for r in rs for s in r.seconds if s > 0), default=1.0
        )
    )
    for label, rs in ctx.results.items():
        per_cost = {}
        for panel, start, end in (("evaluations", 1.0, max_evals), ("seconds", min_secs, max_secs)):
            runs = [(r.evaluations if panel == "evaluations" else r.seconds, r.fitness) for r in rs]
            run_budgets = [
                float(r.run.budget_evaluations or r.n)
                if panel == "evaluations"
                else float(r.run.budget_seconds or r.seconds[-1])
                for r in rs
            ]
            ecdf = stats.runtime_ecdf(runs, targets, run_budgets)
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
    data = Dataset(figures.RUNTIME_COLUMNS, tuple(rows))
    fig = figures.runtime_figure(
        ctx.stem("runtime-ecdf"),
        "Fixed-target runtime ECDF",
        f"Fraction of (run, target) pairs whose best {sel_phrase} reached the target, against the cost "
        f"(cocopp style, log axis). {len(targets)} targets at the quantiles 1/n..1 of the {sel} accuracy of "
        "all ok queries of this page; a run that never reaches a target within its budget is censored there "
        "(counts as unsolved).",
        data,
        (
            ("evaluations", "cost = evaluations", "evaluations"),
            ("seconds", "cost = simulated seconds", "simulated seconds"),
        ),
        ctx.colors,
    )
    area_data = Dataset(
        (
            "algorithm",
            "runs",
            "targets",
            "solved_fraction_at_budget",
            "area_evaluations_log",
            "area_evaluations_linear",
            "area_seconds_linear",
        ),
        tuple(area_rows),
    )
    table = Table(
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
        data=area_data,
    )
    return Section("runtime", "Runtime ECDF", (fig, table))


# ------------------------------------------------------------------------------------------------------
# 6. paper tables
# ------------------------------------------------------------------------------------------------------


def _labels_of(ctx: PageContext, algorithm: str) -> list[str]:
    return [label for label, rs in ctx.results.items() if rs and rs[0].run.algorithm == algorithm]


GCNN_TABLE1_COLUMNS = (
    "source",
    "generation",
    "fitness_metric",
    "max",
    "min",
    "avg",
    "median",
    "std",
    "best_structure",
    "test_max",
    "test_min",
    "test_avg",
    "test_median",
    "test_std",
    "best_test",
)


def _preset_description(task_name: str, task_key: str) -> str | None:
    """The description (with its assumptions) of the task preset this page's task is, if it is one."""
    from harness.tasks import preset

    try:
        task = preset(task_name)
    except EvonasError:
        return None
    return task.description if task.key() == task_key else None


def _five(values: Sequence[float]) -> list[str]:
    return [pct(v) for v in values]


def genetic_section(ctx: PageContext) -> list[Table | Figure | Text]:
    """Genetic CNN Table 1 layout for every genetic_cnn_ga label: the fitness used for selection and, beside
    it, the test accuracy of the same individuals, each labelled (paper figures beside in a paper setting:
    Table 1 prints test accuracy, while Sec. 4.1 selects on 10,000 held-out training images)."""
    out: list[Table | Figure | Text] = []
    paper = ctx.setting == paper_numbers.GENETIC_CNN
    sel, _ = _objective_words(ctx.objective)
    on_test = ctx.objective == "test_acc"
    stat_names = ("Max", "Min", "Avg", "Med", "Std")
    for label in _labels_of(ctx, "genetic_cnn_ga"):
        tables = {r.run.trial: an.genetic_table(ctx.data, r.run) for r in ctx.results[label]}
        tables = {t: rows for t, rows in tables.items() if rows}
        if not tables:
            out.append(Text((f"{label}: no complete generation recorded.",), kind="note"))
            continue
        first = min(tables)
        paper_rows = {row.generation: row for row in paper_numbers.GCNN_TABLE1}
        columns = ["Gen", *(f"fitness ({sel}) {n}" for n in stat_names), "best structure (by fitness)"]
        if not on_test:
            columns += [*(f"test {n} (same individuals)" for n in stat_names), "test of the best structure"]
        if paper:
            columns += [*(f"paper test {n}" for n in stat_names), "paper best structure"]
        gens = sorted({g.generation for g in tables[first]} | (set(paper_rows) if paper else set()))
        ours = {g.generation: g for g in tables[first]}
        rows = []
        for gen in gens:
            row = [f"{gen:02d}"]
            g = ours.get(gen)
            if g:
                row += [*_five((g.max, g.min, g.avg, g.median, g.std)), g.best_encoding]
            else:
                row += ["", "", "", "", "", "(not run)"]
            if not on_test and g:
                row += [*_five((g.test_max, g.test_min, g.test_avg, g.test_median, g.test_std))]
                row.append(pct(g.best_test))
            elif not on_test:
                row += [""] * 6
            if paper:
                p = paper_rows.get(gen)
                if p:
                    row += [*(f"{v:.2f}" for v in (p.max, p.min, p.avg, p.median, p.std)), p.best_structure]
                else:
                    row += [""] * 6
            rows.append(tuple(row))
        all_rows: list[tuple[object, ...]] = []
        for trial in sorted(tables):
            for g in tables[trial]:
                test_values = (g.test_max, g.test_min, g.test_avg, g.test_median, g.test_std, g.best_test)
                all_rows.append(
                    (
                        f"ours, trial {trial}",
                        g.generation,
                        ctx.objective,
                        *(100 * v for v in (g.max, g.min, g.avg, g.median, g.std)),
                        g.best_encoding,
                        *(100 * v for v in test_values),
                    )
                )
        if paper:
            nan = math.nan
            for p in paper_numbers.GCNN_TABLE1:  # the paper's fitness (validation) is not reported
                fitness_cells = ("not reported", nan, nan, nan, nan, nan, p.best_structure)
                test_cells = (p.max, p.min, p.avg, p.median, p.std, p.max)
                all_rows.append(("paper", p.generation, *fitness_cells, *test_cells))
        where = (
            f"Paper: {paper_numbers.GCNN_TABLE1_SOURCE.cite()}; the paper's own fitness (on its 10,000 "
            "held-out images) is not reported, so its Table 1 numbers sit beside our test columns."
            if paper
            else "Not a paper setting: no paper figures beside (the layout of Genetic CNN Table 1 with our "
            "numbers only)."
        )
        fitness_words = (
            "fitness = TEST accuracy (this task selects on the test set, which Sec. 4.1 avoids)"
            if on_test
            else f"fitness = {sel} accuracy (used for selection) and test = the test accuracy of the same "
            "individuals (not seen by the GA)"
        )
        out.append(
            Table(
                stem=ctx.stem(f"table1-{safe_name(label)}"),
                title=f"Genetic CNN Table 1 layout: {label}, trial {first}",
                columns=tuple(columns),
                rows=tuple(rows),
                caption=f"Per generation, {fitness_words}, %: max, min, average, median and standard "
                "deviation over the population (ddof 0). An individual's fitness, and its test accuracy, "
                "is the mean over all its occurrences in the run so far, as in the paper's GA (Sec. 3.2.4). "
                f"Best structure in the paper's notation. The CSV holds every trial. {where}",
                data=Dataset(GCNN_TABLE1_COLUMNS, tuple(all_rows)),
            )
        )
        described = _preset_description(ctx.block.task.name, ctx.block.task.task_key)
        if described:
            out.append(Text((f"Task {ctx.block.task.name}: {described}.",), kind="note"))
        ours_source = f"ours, trial {first}"
        fitness_source = f"{ours_source}: fitness ({sel})"
        mine = [r for r in all_rows if r[0] == ours_source]
        fig_rows: list[tuple[object, ...]] = [(fitness_source, r[1], *r[3:9]) for r in mine]
        sources = [fitness_source]
        if not on_test:
            fig_rows += [(f"{ours_source}: test", r[1], *r[9:14], r[8]) for r in mine]
            sources.append(f"{ours_source}: test")
        if paper:
            fig_rows += [
                ("paper: test", p.generation, p.max, p.min, p.avg, p.median, p.std, p.best_structure)
                for p in paper_numbers.GCNN_TABLE1
            ]
            sources.append("paper: test")
        out.append(
            figures.generations_figure(
                ctx.stem(f"generations-{safe_name(label)}"),
                f"Fitness per generation: {label} (Genetic CNN Fig. 3 style)",
                "Average per generation with bars from the lowest to the highest individual: our fitness "
                f"({sel}) and, where it differs, the test accuracy of the same individuals"
                + ("; paper: Table 1 values (test)." if paper else "; not a paper setting: ours only."),
                Dataset(figures.GENERATION_COLUMNS, tuple(fig_rows)),
                sources,
            )
        )
    if paper:
        out.append(_gcnn_numbers(ctx))
    return out


def _is_sample_size_one(ctx: PageContext, label: str) -> bool:
    """The RE paper's random-search baseline: regularized evolution whose tournament has one member."""
    params = ctx.results[label][0].run.params
    return params.get("sample_size") == 1 or params.get("preset") == "kyriakides2020_random"


def _re_roles(ctx: PageContext) -> tuple[list[str], list[str]]:
    """(evolution labels, random-search labels) as the RE paper compares them: its random search is
    regularized evolution with sample size 1; a plain random_search counts as random search too."""
    evolution = [lb for lb in _labels_of(ctx, "regularized_evolution") if not _is_sample_size_one(ctx, lb)]
    random = [lb for lb in _labels_of(ctx, "regularized_evolution") if _is_sample_size_one(ctx, lb)]
    return evolution, random + _labels_of(ctx, "random_search")


def _best_reported(ctx: PageContext, algorithm: str | list[str]) -> tuple[float, float, int]:
    """(best over runs, median over runs, runs) of the final reported accuracy of an algorithm's runs
    (an algorithm name, or a list of labels)."""
    labels = _labels_of(ctx, algorithm) if isinstance(algorithm, str) else algorithm
    values = [r.final_reported for label in labels for r in ctx.results[label]]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return math.nan, math.nan, 0
    return max(values), float(np.median(values)), len(values)


def _best_found_row(
    number: paper_numbers.PaperNumber, best: float, median: float, n: int, missing: str
) -> tuple[str, str, str, str]:
    """A 'what / paper / ours / source' row for a best-found-during-search figure."""
    ours = f"{pct(best)} (best of {n} runs; median {pct(median)})" if n else missing
    return (number.label, f"{number.value:.2f}", ours, number.source.cite())


def _named_accuracy(ctx: PageContext, name: str) -> str:
    """Mean test accuracy (replicates) of a space's named architecture on this task, if the cache has it."""
    space = an.space_of(ctx.block)
    try:
        arch_hash = space.hash(space.named(name))  # type: ignore[attr-defined]
    except EvonasError as exc:
        log.info("named architecture %s: %s", name, exc)
        return f"n/a ({exc})"
    values = [
        e.test_acc
        for (h, task, _), e in ctx.data.evaluations.items()
        if h == arch_hash and task == ctx.block.task.task_key and e.status == "ok" and e.test_acc is not None
    ]
    if not values:
        return "not evaluated in this cache"
    return f"{pct(float(np.mean(values)))} (mean of {len(values)} replicate(s))"


def _gcnn_numbers(ctx: PageContext) -> Table:
    rs_best, rs_median, rs_n = _best_reported(ctx, "random_search")
    ga_best, ga_median, ga_n = _best_reported(ctx, "genetic_cnn_ga")
    ours = {
        "random_search_best": f"{pct(rs_best)} (best of {rs_n} runs; median {pct(rs_median)})"
        if rs_n
        else "no random_search runs",
        "ga_best": f"{pct(ga_best)} (best of {ga_n} runs; median {pct(ga_median)})"
        if ga_n
        else "no genetic_cnn_ga runs",
        "all_ones": _named_accuracy(ctx, "densenet"),
    }
    rows = tuple(
        (n.label, f"{n.value:.2f}", ours[n.key], n.source.cite()) for n in paper_numbers.GCNN_NUMBERS
    )
    return Table(
        stem=ctx.stem("gcnn-numbers"),
        title="Genetic CNN: other numbers of the paper",
        columns=("what", "paper %", "ours (test %)", "source"),
        rows=rows,
        caption="Ours: the final incumbent's test accuracy (selected on the run objective).",
        data=Dataset(("what", "paper", "ours", "source"), rows),
    )


def re_section(ctx: PageContext) -> list[Table | Figure | Text]:
    """RE macro paper: best found during search, node counts, noise, REMNet, Table 2 style; overlay."""
    out: list[Table | Figure | Text] = []
    paper = ctx.setting == paper_numbers.RE_MACRO
    space = an.space_of(ctx.block)
    numbers = {n.key: n for n in paper_numbers.RE_NUMBERS}
    node_rows = []
    node_data = []
    for label, rs in ctx.results.items():
        counts = an.node_counts(ctx.data, [r.run for r in rs], space)
        if counts:
            mean, std = float(np.mean(counts)), float(np.std(counts, ddof=1)) if len(counts) > 1 else 0.0
            node_rows.append(
                (
                    label,
                    str(len(counts)),
                    f"{mean:.2f} ± {std:.2f}",
                    "5.5 ± 1.1" if paper and label == _first(ctx, "regularized_evolution") else "",
                )
            )
            node_data.append((label, len(counts), mean, std))
    if node_rows:
        out.append(
            Table(
                stem=ctx.stem("node-counts"),
                title="Node count of valid evolved genomes",
                columns=("algorithm", "valid genomes", "nodes: mean ± std", "paper (RE)"),
                rows=tuple(node_rows),
                caption="Active hidden nodes (space.summary()['nodes']) of every ok query. "
                + (
                    f"Paper: {numbers['nodes'].source.cite()}."
                    if paper
                    else "Not a paper setting: no paper figures beside."
                ),
                data=Dataset(("algorithm", "valid_genomes", "mean_nodes", "std_nodes"), tuple(node_data)),
            )
        )
    if paper:
        evolution, random = _re_roles(ctx)
        es_best, es_median, es_n = _best_reported(ctx, evolution)
        rs_best, rs_median, rs_n = _best_reported(ctx, random)
        rows = (
            _best_found_row(numbers["es_best"], es_best, es_median, es_n, "no regularized_evolution runs"),
            _best_found_row(numbers["rs_best"], rs_best, rs_median, rs_n, "no random_search runs"),
            (
                numbers["remnet_128"].label,
                f"{numbers['remnet_128'].value:.2f}",
                _named_accuracy(ctx, "remnet") + " (this task's protocol, this space's channels)",
                numbers["remnet_128"].source.cite(),
            ),
            (
                numbers["remnet_256"].label,
                f"{numbers['remnet_256'].value:.2f}",
                "see REMNet above",
                numbers["remnet_256"].source.cite(),
            ),
        )
        noise = an.noise(ctx.data, ctx.block)
        rows += (
            (
                numbers["replicate_std"].label,
                f"{numbers['replicate_std'].value:.1f}",
                f"{100 * noise.mean_std:.3f} over {len(noise.rows)} networks"
                if noise
                else "no network with 2 replicates",
                numbers["replicate_std"].source.cite(),
            ),
        )
        out.append(
            Table(
                stem=ctx.stem("re-numbers"),
                title="RE macro paper: best architectures and search results",
                columns=("what", "paper %", "ours (test %)", "source"),
                rows=rows,
                caption="Ours: the final incumbent's test accuracy over runs.",
                data=Dataset(("what", "paper", "ours", "source"), rows),
            )
        )
        task_epochs = str(ctx.block.task.spec.get("epochs", "?"))
        t2 = [
            (r.method, f"{r.accuracy:.2f}", r.search_epochs, r.training_epochs)
            for r in paper_numbers.RE_TABLE2
        ]
        t2.append(
            (
                f"ours: best found during search ({_first(ctx, 'regularized_evolution') or 'no RE runs'})",
                pct(es_best),
                task_epochs,
                "(no final training)",
            )
        )
        out.append(
            Table(
                stem=ctx.stem("re-table2"),
                title="RE macro paper Table 2 style comparison",
                columns=("method", "final accuracy %", "search epochs", "training epochs"),
                rows=tuple(t2),
                caption=f"Paper rows: {paper_numbers.RE_TABLE2_SOURCE.cite()}.",
                data=Dataset(("method", "accuracy", "search_epochs", "training_epochs"), tuple(t2)),
            )
        )
    out.append(_overlay(ctx, space))
    return out


def _first(ctx: PageContext, algorithm: str) -> str | None:
    labels = _labels_of(ctx, algorithm)
    return labels[0] if labels else None


def _overlay(ctx: PageContext, space: object) -> Figure | Text:
    from harness.spaces.macro_re import LAYER_CHOICES

    rows_order = ["input", *LAYER_CHOICES, "output"]
    rows: list[tuple[object, ...]] = []
    panels = []
    for label, rs in ctx.results.items():
        graphs = []
        for r in rs:
            for q in r.run.queries:
                genome = space.decode(an.encoding_of(ctx.data, q))  # type: ignore[attr-defined]
                graph = space.graph(genome)  # type: ignore[attr-defined]
                if graph.edges:
                    graphs.append(graph)
        if graphs:
            panels.append((label, f"{label}: {len(graphs)} genomes, alpha 1/{len(graphs)}"))
            rows.extend(drawings.overlay_rows(label, graphs, rows_order))
    if not panels:
        return Text(("No genome with an input-output path to overlay.",), kind="note")
    return drawings.overlay_figure(
        ctx.stem("overlay"),
        "Overlay of all evolved genomes (RE paper Fig. 4)",
        "Every queried genome with at least one active connection, each drawn with opacity 1/n (n genomes "
        "per panel), on a grid of depth (longest path from the input) x operation; darker = more genomes "
        "share "
        "the segment. The CSV lists each distinct segment with its count and resulting opacity.",
        Dataset(drawings.OVERLAY_COLUMNS, tuple(rows)),
        panels,
        rows_order,
    )


def pareto_section(ctx: PageContext) -> list[Table | Figure | Text]:
    """Accuracy/parameter Pareto fronts: of all evaluated networks per algorithm, and of each DE run's final
    population (replayed selection); DE-NAS Table 3 beside when a paper setting."""
    sel, _ = _objective_words(ctx.objective)
    rows: list[tuple[object, ...]] = []
    table_rows = []
    de_models: list[tuple[int, int, an.DeTable3Picks]] = []

    def add(label: str, set_name: str, shown_set: str, trial: object, members: list, front: set) -> None:
        """CSV rows for every member, table rows for the members on the front."""
        for m in members:
            on = (m.arch_hash, m.fitness) in front
            rows.append(
                (set_name, label, trial, m.arch_hash, m.encoding, m.params, 100 * m.fitness, 100 * m.test, on)
            )
            if on:
                table_rows.append(
                    (
                        label,
                        shown_set,
                        str(trial),
                        f"{m.params:,.0f}",
                        pct(m.fitness),
                        pct(m.test),
                        m.encoding,
                    )
                )

    for label, rs in ctx.results.items():
        members = an.evaluated_members(ctx.data, [r.run for r in rs])
        front = {(m.arch_hash, m.fitness) for m in an.pareto(members)}
        finite = [
            m for m in sorted(members, key=lambda m: (m.params, m.arch_hash)) if math.isfinite(m.params)
        ]
        add(label, "all evaluated", "all evaluated", "", finite, front)
        for r in rs:
            if r.run.algorithm != "differential_evolution":
                continue
            generation, population = an.de_final_population(ctx.data, r.run)
            if not population:
                continue
            pfront = {(m.arch_hash, m.fitness) for m in an.pareto(population)}
            add(
                label,
                "final population",
                f"final population (population {generation + 1})",
                r.run.trial,
                population,
                pfront,
            )
            picks = an.de_table3_picks(population)
            if picks is not None:
                de_models.append((r.run.trial, generation, picks))
    out: list[Table | Figure | Text] = []
    if not rows:
        return [Text(("No ok network with a parameter count: no Pareto front.",), kind="note")]
    data = Dataset(figures.PARETO_COLUMNS, tuple(rows))
    out.append(
        figures.pareto_figure(
            ctx.stem("pareto"),
            "Accuracy / parameters Pareto fronts",
            f"Every ok network evaluated ({sel} accuracy vs parameters); lines: each algorithm's front "
            "over all "
            "its networks (algorithms.differential_evolution.pareto_front); diamonds: the front of each DE "
            "run's "
            "final population, recomputed by replaying DE's selection (0.7 error + 0.3 params, min-max "
            "normalised) over the recorded generations.",
            data,
            ctx.colors,
            f"{sel} accuracy (%)",
        )
    )
    out.append(
        Table(
            stem=ctx.stem("pareto-table"),
            title="Pareto-optimal networks",
            columns=("algorithm", "set", "trial", "parameters", f"{sel} %", "test %", "network"),
            rows=tuple(table_rows),
            data=data,
        )
    )
    if ctx.setting == paper_numbers.DE_NAS:
        out.append(de_table3(ctx, de_models))
    return out


def de_table3(ctx: PageContext, de_models: Sequence[tuple[int, int, an.DeTable3Picks]]) -> Table:
    """DE-NAS Table 3 beside ours: per DE run, Model 1 = the best selection score of the final population
    (entry [0]) and Model 2 = its entry [7] by score, as the authors picked them from population-9.bin;
    the text's readings (best accuracy, fewest parameters) are listed where they are other networks."""
    sel, _ = _objective_words(ctx.objective)
    t3 = [
        (m.model, f"{m.accuracy:.2f}", "", m.params_text, f"{m.params:,}", "paper (after 200 epochs)")
        for m in paper_numbers.DE_TABLE3
    ]
    for trial, generation, picks in de_models:
        population = f"population {generation + 1} (the initial one + {generation} rounds)"
        shown = [
            (f"Model 1: best score (0.7 error + 0.3 params), entry [0] of {population}", picks.model1),
            (
                f"Model 2: entry [{an.DE_MODEL2_ENTRY}] by score of {population}, the authors' pick",
                picks.model2,
            ),
        ]
        if picks.most_accurate is not picks.model1:
            shown.append((f"best {sel} of {population} (the paper's text for Model 1)", picks.most_accurate))
        if picks.fewest is not None and picks.fewest is not picks.model2:
            shown.append((f"fewest parameters of {population} (the paper's text for Model 2)", picks.fewest))
        for name, m in shown:
            if m is None:
                t3.append((f"ours, trial {trial}: {name}", "", "", "", "", "population smaller than 8"))
                continue
            t3.append(
                (
                    f"ours, trial {trial}: {name}",
                    pct(m.test),
                    pct(m.fitness),
                    "",
                    f"{m.params:,.0f}",
                    m.encoding,
                )
            )
    for named in ("model1", "model2"):
        t3.append(
            (
                f"paper's {named} on this task's protocol",
                _named_accuracy(ctx, named),
                "",
                "",
                "",
                "named architecture",
            )
        )
    return Table(
        stem=ctx.stem("de-table3"),
        title="DE-NAS Table 3: accuracy and parameters",
        columns=(
            "model",
            "accuracy % (test)",
            f"search {sel} %",
            "paper parameters",
            "parameters",
            "network / note",
        ),
        rows=tuple(t3),
        caption=f"Paper: {paper_numbers.DE_TABLE3_SOURCE.cite()}; exact counts from "
        f"{paper_numbers.DE_PARAMS_SOURCE.where}. {paper_numbers.DE_PICKS_NOTE} Ours: the same picks from "
        "each DE run's final population (selection replayed over the recorded generations), at "
        "search-protocol accuracies (no 200-epoch final training).",
        data=Dataset(
            ("model", "test_accuracy", "search_accuracy", "paper_params", "params", "note"), tuple(t3)
        ),
    )


def paper_section(ctx: PageContext) -> Section | None:
    blocks: list[Table | Figure | Text] = []
    if ctx.setting is not None:
        blocks.append(Text((f"Paper setting: {paper_numbers.title(ctx.setting)}.",)))
    if _labels_of(ctx, "genetic_cnn_ga") or ctx.setting == paper_numbers.GENETIC_CNN:
        blocks.extend(genetic_section(ctx))
    if ctx.block.space == "macro_re":
        blocks.extend(re_section(ctx))
    if (
        ctx.block.space == "de_sequential"
        or _labels_of(ctx, "differential_evolution")
        or _labels_of(ctx, "optuna_nsga2")
        or ctx.setting == paper_numbers.DE_NAS
    ):
        blocks.extend(pareto_section(ctx))
    if len(blocks) <= 1 and ctx.setting is None:
        return None
    return Section("papers", "Paper tables and figures", tuple(blocks))


# ------------------------------------------------------------------------------------------------------
# 7. architectures
# ------------------------------------------------------------------------------------------------------


def architecture_section(ctx: PageContext) -> Section:
    sel, _ = _objective_words(ctx.objective)
    space = an.space_of(ctx.block)
    rows: list[tuple[object, ...]] = []
    panels = []
    table_rows = []
    notes = []
    for label, rs in ctx.results.items():
        found = an.best_query(rs)
        if found is None:
            continue
        result, q = found
        encoding = an.encoding_of(ctx.data, q)
        try:
            graph = space.graph(space.decode(encoding))  # type: ignore[attr-defined]
        except EvonasError as exc:
            log.warning("cannot draw %s's best network %r: %s", label, encoding, exc)
            notes.append(f"{label}: the best network cannot be drawn ({exc}).")
            continue
        test = an.reported_value(ctx.data, result.run, q)
        params = an.params_of(ctx.data, result.run, q)
        scores = f"{sel} {pct(q.fitness)}%" + (f", test {pct(test)}%" if ctx.objective != "test_acc" else "")
        panels.append((label, f"{label}\n{scores}"))
        rows.extend(drawings.graph_rows(label, graph))
        table_rows.append(
            (
                label,
                str(result.run.trial),
                str(q.step),
                pct(q.fitness),
                pct(test),
                f"{params:,}" if params else "n/a",
                encoding,
            )
        )
    blocks: list[Table | Figure | Text] = []
    if panels:
        blocks.append(
            drawings.graphs_figure(
                ctx.stem("architectures"),
                "Best network of each algorithm",
                f"The network with the best {sel} accuracy over all runs of each algorithm (the table below "
                "gives its run and notation), drawn from space.graph(), input at the top, layers by "
                "longest path.",
                Dataset(drawings.GRAPH_COLUMNS, tuple(rows)),
                panels,
            )
        )
        blocks.append(
            Table(
                stem=ctx.stem("best-networks"),
                title="Best networks",
                columns=(
                    "algorithm",
                    "trial",
                    "step",
                    f"{sel} %",
                    "test %",
                    "parameters",
                    "network (space notation)",
                ),
                rows=tuple(table_rows),
                data=Dataset(
                    ("algorithm", "trial", "step", "objective", "test", "params", "encoding"),
                    tuple(table_rows),
                ),
            )
        )
    if notes:
        blocks.append(Text(tuple(notes), kind="warning"))
    return Section("architectures", "Architectures", tuple(blocks))


# ------------------------------------------------------------------------------------------------------
# 8. noise
# ------------------------------------------------------------------------------------------------------


def noise_section(ctx: PageContext) -> Section:
    result = an.noise(ctx.data, ctx.block)
    sel, sel_phrase = _objective_words(ctx.objective)
    if result is None:
        return Section(
            "noise", "Noise", (Text(("No network has two ok replicates on this task.",), kind="note"),)
        )
    rows = tuple(
        (
            r.arch_hash,
            r.encoding,
            len(r.values),
            100 * r.mean,
            100 * r.std,
            100 * r.values[r.replicates.index(0)] if 0 in r.replicates else math.nan,
            100 * r.values[r.replicates.index(1)] if 1 in r.replicates else math.nan,
        )
        for r in result.rows
    )
    data = Dataset(figures.NOISE_COLUMNS, rows)
    rho = (
        f"Spearman's rho of replicate 0 vs replicate 1: {result.spearman:.3f} (p = {_p(result.spearman_p)}, "
        f"{result.pairs} networks)"
        if math.isfinite(result.spearman)
        else f"Spearman's rho of replicate 0 vs 1: n/a ({result.pairs} pair(s); needs 3 with varying values)"
    )
    text = Text(
        (
            f"{len(result.rows)} networks have at least two ok replicates on this task (from any run). "
            f"Mean per-network standard deviation of {sel_phrase}: {100 * result.mean_std:.3f} percentage "
            "points "
            "(RE macro paper: about 0.2% on average). " + rho + ".",
        )
    )
    fig = figures.noise_figure(
        ctx.stem("noise"),
        "Replicate noise",
        f"{sel} accuracy (%) of networks with several replicates; std with ddof 1.",
        data,
        100 * result.mean_std,
        "%",
    )
    shown = sorted(result.rows, key=lambda r: (-len(r.values), r.arch_hash))[:NOISE_TABLE_ROWS]
    table = Table(
        stem=ctx.stem("noise-table"),
        title="Networks with several replicates",
        columns=("network", "replicates", f"mean {sel} %", "std (pp)"),
        rows=tuple((r.encoding, str(len(r.values)), pct(r.mean), f"{100 * r.std:.3f}") for r in shown),
        caption=f"{len(shown)} of {len(result.rows)} networks (most replicates first); all in the CSV.",
        data=data,
    )
    return Section("noise", "Noise", (text, fig, table))


# ------------------------------------------------------------------------------------------------------
# metadata and warnings
# ------------------------------------------------------------------------------------------------------


def _json_text(value: object) -> str:
    return json.dumps(value, sort_keys=True) if value not in (None, {}, []) else "not recorded"


def _flat_text(value: Mapping[str, object], prefix: str = "") -> str:
    """A nested mapping as 'key: value; a.b: value' (sorted keys), e.g. a task protocol."""
    if not value:
        return "not recorded"
    parts = []
    for key in sorted(value):
        item = value[key]
        if isinstance(item, Mapping):
            parts.append(_flat_text(item, f"{prefix}{key}."))
        else:
            parts.append(f"{prefix}{key}: {json.dumps(item)}")
    return "; ".join(parts)


def metadata_section(ctx: PageContext) -> Section:
    block = ctx.block
    exp = block.experiment
    config = exp.config
    runs = [r.run for rs in ctx.results.values() for r in rs]
    hits, queries = an.hit_rate(runs)
    versions: dict[str, int] = {}
    devices: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    answers = {"invalid": 0, "predicted": 0, "unstored": 0, "all": 0}
    for run in runs:
        for q in run.queries:
            ev = ctx.data.evaluation(q.arch_hash, run.task_key, q.replicate)
            answers["all"] += 1
            if ev is None:
                answers["unstored"] += 1
            else:
                answers["invalid"] += ev.status == "invalid"
                answers["predicted"] += ev.predicted
            if ev is None or (q.arch_hash, q.replicate) in seen:
                continue
            seen.add((q.arch_hash, q.replicate))
            versions[ev.versions or "not recorded"] = versions.get(ev.versions or "not recorded", 0) + 1
            devices[ev.device or "not recorded"] = devices.get(ev.device or "not recorded", 0) + 1
    started = sorted(r.started_at for r in runs if r.started_at)
    finished = sorted(r.finished_at for r in runs if r.finished_at)
    per_alg_hits = []
    for label, rs in ctx.results.items():
        h, n = an.hit_rate([r.run for r in rs])
        per_alg_hits.append(f"{label} {h}/{n}")
    kv = [
        ("experiment", exp.name),
        ("description", str(config.get("description") or "")),
        ("paper setting", paper_numbers.title(ctx.setting) if ctx.setting else "none (not a paper setting)"),
        ("search space", f"{block.space} {_json_text(dict(block.space_params))}"),
        ("task", f"{block.task.name} (key {block.task.task_key}, dataset {block.task.dataset or 'n/a'})"),
        ("task protocol", _flat_text(block.task.spec)),
        ("objective", f"{ctx.objective} (selection); reported on test_acc"),
        (
            "seeds",
            f"experiment seed {config.get('seed', 'n/a')}; run seeds derived from (experiment, algorithm, "
            "trial), listed below",
        ),
        ("budget (config)", _json_text(config.get("budget"))),
        ("simulated workers", ", ".join(sorted({str(r.workers) for r in runs}))),
        ("evaluation settings", _flat_text(config.get("evaluation") or {})),
        ("code version", exp.code_version or "not recorded"),
        ("hardware", _flat_text(exp.hardware)),
        ("devices (evaluations)", "; ".join(f"{k} ({v})" for k, v in sorted(devices.items())) or "none"),
        (
            "library versions (evaluations)",
            "; ".join(f"{k} ({v})" for k, v in sorted(versions.items())) or "none",
        ),
        (
            "cache hit rate",
            (f"{hits / queries:.1%} ({hits} of {queries} queries)" if queries else "n/a")
            + "; "
            + ", ".join(per_alg_hits),
        ),
        (
            "recorded times",
            f"experiment updated {exp.updated_at or 'n/a'}; runs started "
            f"{started[0] if started else 'n/a'} to finished {finished[-1] if finished else 'n/a'}",
        ),
        ("cache", ctx.data.cache_name),
        (
            "answers",
            (
                f"of {answers['all']} queries: invalid {answers['invalid'] / answers['all']:.1%} (builds no "
                f"network for the task); no stored answer {answers['unstored'] / answers['all']:.1%} "
                f"(tabular mode: not in the table, answered invalid); predicted by a surrogate "
                f"{answers['predicted'] / answers['all']:.1%}"
            )
            if answers["all"]
            else "n/a",
        ),
    ]
    table = Table(
        stem=ctx.stem("metadata"),
        title="Metadata",
        columns=("item", "value"),
        rows=tuple(kv),
        data=Dataset(("item", "value"), tuple(kv)),
        wrap=True,
    )
    run_rows = tuple(
        (
            r.label,
            r.algorithm,
            an.describe_params(r.params),
            str(r.trial),
            str(r.seed),
            r.status,
            _budget_text(r.budget_evaluations, r.budget_seconds),
            str(len(r.queries)),
            f"{r.queries[-1].sim_seconds:.4g}" if r.queries else "0",
            f"{r.hits}",
            r.started_at or "",
            r.finished_at or "",
        )
        for r in runs
    )
    runs_table = Table(
        stem=ctx.stem("runs"),
        title="Runs: seeds, budgets, status",
        columns=(
            "algorithm",
            "registry name",
            "params",
            "trial",
            "seed",
            "status",
            "budget",
            "evaluations",
            "sim. seconds",
            "cache hits",
            "started",
            "finished",
        ),
        rows=run_rows,
        data=Dataset(
            (
                "algorithm",
                "name",
                "params",
                "trial",
                "seed",
                "status",
                "budget",
                "evaluations",
                "sim_seconds",
                "cache_hits",
                "started_at",
                "finished_at",
            ),
            run_rows,
        ),
    )
    return Section("metadata", "Metadata", (table, runs_table))


def _budget_text(evaluations: int | None, seconds: float | None) -> str:
    parts = []
    if evaluations is not None:
        parts.append(f"{evaluations} evaluations")
    if seconds is not None:
        parts.append(f"{seconds:g} sim. seconds")
    return ", ".join(parts) or "none"


def page_warnings(ctx: PageContext, samples: Mapping[str, np.ndarray]) -> list[str]:
    out: list[str] = []
    if ctx.objective == "test_acc":
        out.append(
            "result selected on test data: incumbents are chosen on test accuracy (objective test_acc), so "
            "the "
            "reported accuracies are optimistically biased (no held-out data)"
        )
    if samples:
        budget_evals = an.budgets(ctx.results, "evaluations")
        baselines = [
            label
            for label, rs in ctx.results.items()
            if stats.is_random_baseline(rs[0].run.algorithm, rs[0].run.params)
        ]
        out.extend(
            stats.warnings_for(samples, {k: v for k, v in budget_evals.items() if k in samples}, baselines)
        )
        secs = {label: {rs.run.budget_seconds for rs in ctx.results[label]} for label in samples}
        configured = {k: v for k, v in secs.items() if v != {None}}
        if len({tuple(sorted(v, key=lambda x: (x is None, x or 0))) for v in configured.values()}) > 1:
            out.append(
                "unequal budgets (simulated seconds): "
                + ", ".join(f"{k}={sorted(v, key=str)}" for k, v in sorted(configured.items()))
            )
    for label, rs in ctx.results.items():
        lengths = {r.run.budget_evaluations or r.n for r in rs}
        if len(lengths) > 1:
            out.append(f"unequal budgets within {label!r}: evaluations {sorted(lengths)}")
        unfinished = [r.run.run_id for r in rs if r.run.status != "finished"]
        short = [
            r.n
            for r in rs
            if r.run.status == "finished" and r.run.budget_evaluations and r.n < r.run.budget_evaluations
        ]
        if short:
            out.append(
                f"{len(short)} run(s) of {label!r} ended before their evaluation budget "
                f"({min(short)}-{max(short)} of {rs[0].run.budget_evaluations} evaluations: the algorithm "
                "finished); their final values are compared at fewer evaluations"
            )
        if unfinished:
            out.append(
                f"{len(unfinished)} run(s) of {label!r} not finished (status recorded in the cache): "
                f"{', '.join(unfinished)}"
            )
        missing = [r.run.run_id for r in rs if not math.isfinite(r.final_reported)]
        if missing:
            out.append(
                f"{len(missing)} run(s) of {label!r} have no test accuracy for their incumbent: left out "
                "of the statistics"
            )
    empty = [r.run_id for r in ctx.block.runs if not r.queries]
    if empty:
        out.append(f"{len(empty)} run(s) without any trajectory row left out: {', '.join(empty)}")
    return out


# ------------------------------------------------------------------------------------------------------
# pages
# ------------------------------------------------------------------------------------------------------


def experiment_dir(block: Block) -> str:
    return safe_name(block.experiment.name)


def block_page(data: CacheData, block: Block) -> tuple[Page, dict[str, np.ndarray]]:
    """The page of one (experiment, space, task) and its final samples (for the ranking)."""
    results = an.block_results(data, block)
    warnings: list[str] = []
    setting = None
    try:
        setting = paper_numbers.paper_setting(block.experiment.config.get("paper"), block.task.name)
    except ConfigError as exc:
        log.warning("%s: %s", block.experiment.name, exc)
        warnings.append(f"{exc}: no paper figures shown")
    title = f"{block.experiment.name}: {block.space} on {block.task.name}"
    up = "index"
    if not results:
        page = Page(
            path=f"{experiment_dir(block)}/{block.slug}",
            title=title,
            subtitle="no run of this page has a trajectory",
            sections=(
                headline.headline_section(headline.headline({}, None)),
                Section("summary", "Summary", (Text(("No run has any trajectory row.",), kind="warning"),)),
            ),
            warnings=("no run of this page has a trajectory",),
            figure_dir=f"{experiment_dir(block)}/figures",
            up=up,
        )
        return page, {}
    ctx = PageContext(
        data=data,
        block=block,
        results=results,
        colors=figures.page_colors(figures.report_palette([r.label for r in data.runs]), list(results)),
        objective=block.objective,
        setting=setting,
    )
    samples = an.final_samples(results)
    matrix = page_matrix(samples)
    top = headline.headline(samples, matrix, {label: len(rs) for label, rs in results.items()})
    warnings.extend(page_warnings(ctx, samples))
    sel, sel_phrase = _objective_words(ctx.objective)
    n_runs = sum(len(v) for v in results.values())
    summary = Section(
        "summary",
        "Summary",
        (
            Text(
                (
                    f"{len(results)} algorithms ({', '.join(results)}), {n_runs} runs on {block.space} / "
                    f"{block.task.name}. "
                    + (
                        "Incumbents are selected on validation, reported on test."
                        if ctx.objective == "val_acc"
                        else "Incumbents are selected on test data and reported on test (see warnings)."
                    ),
                    "Paper setting: "
                    + (paper_numbers.title(setting) if setting else "none (not a paper setting)")
                    + ".",
                )
            ),
            Text(tuple(warnings) if warnings else ("No warnings.",), kind="warning" if warnings else "note"),
        ),
    )
    sections = [
        headline.headline_section(top),
        summary,
        final_results(ctx),
        anytime_section(ctx),
        ecdf_section(ctx, samples),
        runtime_section(ctx),
        dominance_section(ctx, samples, matrix),
    ]
    papers = paper_section(ctx)
    if papers is not None:
        sections.append(papers)
    checked = claims.claims_section(claims.block_claims(data, block, results, samples))
    if checked is not None:
        sections.append(checked)
    sections.extend([architecture_section(ctx), noise_section(ctx), metadata_section(ctx)])
    page = Page(
        path=f"{experiment_dir(block)}/{block.slug}",
        title=title,
        subtitle=f"selected on {sel} ({sel_phrase}), reported on test",
        sections=tuple(sections),
        warnings=tuple(warnings),
        figure_dir=f"{experiment_dir(block)}/figures",
        up=up,
    )
    return page, samples


# ------------------------------------------------------------------------------------------------------
# 5. ranking across blocks, and the index
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankingInput:
    algorithms: tuple[str, ...]
    blocks: tuple[str, ...]  # block titles
    scores: tuple[tuple[float, ...], ...]  # blocks x algorithms: median final test accuracy
    skipped: tuple[str, ...]


def ranking_input(pages: Sequence[tuple[Block, Mapping[str, np.ndarray]]]) -> RankingInput | None:
    """Blocks = distinct (space, task) pairs (never seeds); algorithms = the largest label set shared by
    the most blocks (at least 2 blocks and 2 algorithms), else None."""
    by_key: dict[tuple[str, str], tuple[Block, Mapping[str, np.ndarray]]] = {}
    skipped = []
    for block, samples in pages:
        key = (block.space, block.task.task_key)
        if key in by_key:
            skipped.append(
                f"{block.experiment.name}: {block.space} / {block.task.name} (same block as "
                f"{by_key[key][0].experiment.name})"
            )
            continue
        if samples:
            by_key[key] = (block, samples)
    entries = list(by_key.values())
    candidates: set[frozenset[str]] = set()
    for i in range(len(entries)):
        for j in range(i + 1, len(entries)):
            shared = frozenset(entries[i][1]) & frozenset(entries[j][1])
            if len(shared) >= 2:
                candidates.add(shared)
    if not candidates:
        return None

    def covered(algs: frozenset[str]) -> list[tuple[Block, Mapping[str, np.ndarray]]]:
        return [e for e in entries if algs <= set(e[1])]

    best = max(candidates, key=lambda a: (len(covered(a)), len(a), sorted(a)))
    chosen = covered(best)
    algorithms = tuple(sorted(best))
    return RankingInput(
        algorithms=algorithms,
        blocks=tuple(f"{b.space} / {b.task.name}" for b, _ in chosen),
        scores=tuple(tuple(float(np.median(s[a])) for a in algorithms) for _, s in chosen),
        skipped=tuple(skipped),
    )


def ranking_section(rin: RankingInput) -> tuple[Section, list[str]]:
    result = stats.friedman_nemenyi(
        np.array(rin.scores), higher_is_better=True, alpha=ALPHA, names=rin.algorithms
    )
    warnings = []
    posthoc = stats.posthoc_warning(result)
    if posthoc:
        warnings.append(posthoc)
    rank_of = dict(zip(result.names, result.average_ranks, strict=True))
    rows: list[tuple[object, ...]] = [("rank", n, float(rank_of[n]), "") for n in result.names]
    rows.append(("cd", "CD", result.critical_difference, ""))
    for group in result.groups:
        ranks = [float(rank_of[n]) for n in group]
        if len(group) > 1:
            rows.append(("group", ",".join(group), min(ranks), max(ranks)))
    data = Dataset(figures.CD_COLUMNS, tuple(rows))
    fig = figures.cd_figure(
        "ranking__cd-diagram",
        "Critical-difference diagram",
        f"Average ranks (1 = best) of the median final test accuracy over {result.n_blocks} blocks; bar: "
        f"Nemenyi critical difference CD = {result.critical_difference:.3f} (alpha {ALPHA}). "
        + (
            "Thick lines join algorithms not significantly different."
            if result.significant
            else "No groups: the omnibus test is not significant."
        ),
        data,
    )
    score_rows = tuple((b, *[pct(v) for v in s]) for b, s in zip(rin.blocks, rin.scores, strict=True))
    scores = Table(
        stem="ranking__scores",
        title="Median final test accuracy (%) per block",
        columns=("block (space / task)", *rin.algorithms),
        rows=score_rows,
        data=Dataset(
            ("block", *rin.algorithms), tuple((b, *s) for b, s in zip(rin.blocks, rin.scores, strict=True))
        ),
    )
    omnibus_text = (
        f"{result.omnibus} omnibus test: statistic {result.statistic:.3f}, p = {_p(result.pvalue)}; "
    )
    f_f, f_p, f_df = result.iman_davenport_f, result.iman_davenport_pvalue, result.iman_davenport_df
    if f_f is not None and f_p is not None and f_df is not None:
        omnibus_text = (
            f"Friedman chi2_F = {result.statistic:.3f} (df {result.k - 1}), p = {_p(result.pvalue)}; "
            f"Iman-Davenport F_F = (N-1) chi2_F / (N(k-1) - chi2_F) = {f_f:.3f} (df {f_df[0]}, {f_df[1]}), "
            f"p = {_p(f_p)}; post-hoc gated on Friedman's p; "
        )
    cd_text = (
        f"q_alpha = {result.q_alpha:.3f}, CD = q_alpha sqrt(k(k+1)/(6N)) = {result.critical_difference:.3f}. "
    )
    ranks = Table(
        stem="ranking__ranks",
        title="Average ranks",
        columns=("algorithm", "average rank"),
        rows=tuple((n, f"{rank_of[n]:.3f}") for n in sorted(result.names, key=lambda n: (rank_of[n], n))),
        caption=omnibus_text
        + cd_text
        + (
            "Significantly different pairs: " + ", ".join(f"{a} > {b}" for a, b in result.different_pairs)
            if result.different_pairs
            else "No post-hoc claim."
        ),
        data=data,
    )
    text = Text(
        (
            f"Blocks are (space, task) pairs, never seeds: {len(rin.blocks)} blocks share the algorithms "
            f"{', '.join(rin.algorithms)}. Friedman test (Wilcoxon signed-rank for two algorithms), with "
            "Iman-Davenport's less conservative F_F beside it (reported, not the gate), then Nemenyi "
            "post-hoc only when the omnibus test rejects (Demsar 2006).",
            *([f"Not a separate block: {s}." for s in rin.skipped]),
        )
    )
    return Section("ranking", "Ranking across spaces and tasks", (text, scores, ranks, fig)), warnings


def index_page(
    data: CacheData,
    pages: Sequence[tuple[Block, Page]],
    ranking: RankingInput | None,
    cache_name: str,
) -> Page:
    warnings: list[str] = []
    links = []
    page_rows = []
    for block, page in pages:
        links.append((page.title, page.path, f"{len(block.runs)} runs"))
        setting = None
        try:
            setting = paper_numbers.paper_setting(block.experiment.config.get("paper"), block.task.name)
        except ConfigError as exc:
            log.info("%s", exc)
        page_rows.append(
            (
                block.experiment.name,
                block.space,
                block.task.name,
                ", ".join(block.algorithms),
                str(len(block.runs)),
                setting or "none",
            )
        )
        warnings.extend(
            f"{block.experiment.name} / {block.space} / {block.task.name}: {w}" for w in page.warnings
        )
    sections = [
        Section(
            "pages",
            "Pages",
            (
                Link(tuple(links)),
                Table(
                    stem="index__pages",
                    title="Experiments and their (space, task) pages",
                    columns=("experiment", "space", "task", "algorithms", "runs", "paper setting"),
                    rows=tuple(page_rows),
                ),
            ),
        )
    ]
    exp_rows = []
    for exp in data.experiments:
        runs = [r for r in data.runs if r.experiment == exp.name]
        hits, queries = an.hit_rate(runs)
        exp_rows.append(
            (
                exp.name,
                str(exp.config.get("description") or ""),
                exp.code_version or "not recorded",
                _flat_text(exp.hardware),
                f"{hits / queries:.1%}" if queries else "n/a",
                exp.updated_at or "n/a",
            )
        )
    sections.append(
        Section(
            "experiments",
            "Experiments",
            (
                Table(
                    stem="index__experiments",
                    title="Metadata per experiment",
                    columns=(
                        "experiment",
                        "description",
                        "code version",
                        "hardware",
                        "cache hit rate",
                        "recorded (updated at)",
                    ),
                    rows=tuple(exp_rows),
                    caption=f"Cache: {cache_name}. Seeds, budgets, task protocols and library versions "
                    "are on each page.",
                ),
            ),
        )
    )
    if ranking is not None:
        section, rank_warnings = ranking_section(ranking)
        sections.append(section)
        warnings.extend(f"ranking: {w}" for w in rank_warnings)
    else:
        sections.append(
            Section(
                "ranking",
                "Ranking across spaces and tasks",
                (
                    Text(
                        (
                            "Not shown: it needs at least two (space, task) blocks with at least two "
                            "algorithms in common.",
                        ),
                        kind="note",
                    ),
                ),
            )
        )
    sections[:0] = [
        headline.index_section([p for _, p in pages]),
        Section(
            "warnings",
            "Warnings",
            (
                Text(
                    tuple(warnings) if warnings else ("No warnings.",), kind="warning" if warnings else "note"
                ),
            ),
        ),
    ]
    sections.append(
        Section(
            "conventions",
            "How to read this report",
            (
                Text(
                    (
                        "Incumbent: the best query of a run on its objective (validation accuracy unless a "
                        "page says "
                        "otherwise), reported on test accuracy. Anytime curves fill forward only. Samples "
                        "for the "
                        "statistics: the final incumbent's test accuracy, one per seed. Every figure has "
                        "its CSV "
                        "beside it (same name), holding exactly the plotted numbers.",
                    )
                ),
            ),
        )
    )
    return Page(
        path="index",
        title="evonas report",
        subtitle=f"{len(data.experiments)} experiment(s), {len(pages)} page(s), from the cache {cache_name}",
        sections=tuple(sections),
        warnings=tuple(warnings),
        figure_dir="figures",
        up=None,
    )
