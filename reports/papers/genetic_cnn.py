"""Genetic CNN (Xie & Yuille, ICCV 2017): the Table 1 layout per generation, its Fig. 3 style figure, and
the paper's other numbers (random search, the GA's best, the all-ones network) in its paper setting.

Applies to a page with a `genetic_cnn_ga` run or in the Genetic CNN paper setting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from harness.errors import EvonasError
from reports import analysis_generations as ag
from reports import figures, paper_numbers
from reports.data import safe_name
from reports.document import Dataset, Figure, Table, Text, pct
from reports.papers.common import best_reported, named_accuracy
from reports.views.context import PageContext, objective_words

ALGORITHM = "genetic_cnn_ga"
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
STAT_NAMES = ("Max", "Min", "Avg", "Med", "Std")

Tables = Mapping[int, Sequence[ag.GenerationStats]]


def applies(page: PageContext) -> bool:
    return bool(page.labels_of(ALGORITHM)) or page.setting == paper_numbers.GENETIC_CNN


def build(page: PageContext) -> list[Table | Figure | Text]:
    """Genetic CNN Table 1 layout for every genetic_cnn_ga label: the fitness used for selection and, beside
    it, the test accuracy of the same individuals, each labelled (paper figures beside in a paper setting:
    Table 1 prints test accuracy, while Sec. 4.1 selects on 10,000 held-out training images)."""
    out: list[Table | Figure | Text] = []
    for label in page.labels_of(ALGORITHM):
        out.extend(_label_blocks(page, label))
    if page.setting == paper_numbers.GENETIC_CNN:
        out.append(_gcnn_numbers(page))
    return out


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


def _label_blocks(ctx: PageContext, label: str) -> list[Table | Figure | Text]:
    tables = {r.run.trial: ag.genetic_table(ctx.data, r.run) for r in ctx.results[label]}
    tables = {t: rows for t, rows in tables.items() if rows}
    if not tables:
        return [Text((f"{label}: no complete generation recorded.",), kind="note")]
    out: list[Table | Figure | Text] = []
    first = min(tables)
    all_rows = _csv_rows(ctx, tables)
    out.append(_table1(ctx, label, tables, first, all_rows))
    described = _preset_description(ctx.block.task.name, ctx.block.task.task_key)
    if described:
        out.append(Text((f"Task {ctx.block.task.name}: {described}.",), kind="note"))
    out.append(_generations_figure(ctx, label, first, all_rows))
    return out


def _shown_rows(ctx: PageContext, generations: Sequence[ag.GenerationStats]) -> list[tuple[str, ...]]:
    """The shown Table 1 rows of one trial: ours (fitness, and test beside unless selected on test) and
    the paper's rows beside in its setting."""
    paper = ctx.setting == paper_numbers.GENETIC_CNN
    on_test = ctx.objective == "test_acc"
    paper_rows = {row.generation: row for row in paper_numbers.GCNN_TABLE1}
    gens = sorted({g.generation for g in generations} | (set(paper_rows) if paper else set()))
    ours = {g.generation: g for g in generations}
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
    return rows


def _csv_rows(ctx: PageContext, tables: Tables) -> list[tuple[object, ...]]:
    """The CSV of Table 1: every trial's generations, and the paper's rows in its setting."""
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
    if ctx.setting == paper_numbers.GENETIC_CNN:
        nan = math.nan
        for p in paper_numbers.GCNN_TABLE1:  # the paper's fitness (validation) is not reported
            fitness_cells = ("not reported", nan, nan, nan, nan, nan, p.best_structure)
            test_cells = (p.max, p.min, p.avg, p.median, p.std, p.max)
            all_rows.append(("paper", p.generation, *fitness_cells, *test_cells))
    return all_rows


def _table1(
    ctx: PageContext, label: str, tables: Tables, first: int, all_rows: Sequence[tuple[object, ...]]
) -> Table:
    paper = ctx.setting == paper_numbers.GENETIC_CNN
    sel, _ = objective_words(ctx.objective)
    on_test = ctx.objective == "test_acc"
    columns = ["Gen", *(f"fitness ({sel}) {n}" for n in STAT_NAMES), "best structure (by fitness)"]
    if not on_test:
        columns += [*(f"test {n} (same individuals)" for n in STAT_NAMES), "test of the best structure"]
    if paper:
        columns += [*(f"paper test {n}" for n in STAT_NAMES), "paper best structure"]
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
    return Table(
        stem=ctx.stem(f"table1-{safe_name(label)}"),
        title=f"Genetic CNN Table 1 layout: {label}, trial {first}",
        columns=tuple(columns),
        rows=tuple(_shown_rows(ctx, tables[first])),
        caption=f"Per generation, {fitness_words}, %: max, min, average, median and standard "
        "deviation over the population (ddof 0). An individual's fitness, and its test accuracy, "
        "is the mean over all its occurrences in the run so far, as in the paper's GA (Sec. 3.2.4). "
        f"Best structure in the paper's notation. The CSV holds every trial. {where}",
        data=Dataset(GCNN_TABLE1_COLUMNS, tuple(all_rows)),
    )


def _generations_figure(
    ctx: PageContext, label: str, first: int, all_rows: Sequence[tuple[object, ...]]
) -> Figure:
    paper = ctx.setting == paper_numbers.GENETIC_CNN
    sel, _ = objective_words(ctx.objective)
    ours_source = f"ours, trial {first}"
    fitness_source = f"{ours_source}: fitness ({sel})"
    mine = [r for r in all_rows if r[0] == ours_source]
    fig_rows: list[tuple[object, ...]] = [(fitness_source, r[1], *r[3:9]) for r in mine]
    sources = [fitness_source]
    if ctx.objective != "test_acc":
        fig_rows += [(f"{ours_source}: test", r[1], *r[9:14], r[8]) for r in mine]
        sources.append(f"{ours_source}: test")
    if paper:
        fig_rows += [
            ("paper: test", p.generation, p.max, p.min, p.avg, p.median, p.std, p.best_structure)
            for p in paper_numbers.GCNN_TABLE1
        ]
        sources.append("paper: test")
    return figures.generations_figure(
        ctx.stem(f"generations-{safe_name(label)}"),
        f"Fitness per generation: {label} (Genetic CNN Fig. 3 style)",
        "Average per generation with bars from the lowest to the highest individual: our fitness "
        f"({sel}) and, where it differs, the test accuracy of the same individuals"
        + ("; paper: Table 1 values (test)." if paper else "; not a paper setting: ours only."),
        Dataset(figures.GENERATION_COLUMNS, tuple(fig_rows)),
        sources,
    )


def _gcnn_numbers(ctx: PageContext) -> Table:
    rs_best, rs_median, rs_n = best_reported(ctx, "random_search")
    ga_best, ga_median, ga_n = best_reported(ctx, ALGORITHM)
    ours = {
        "random_search_best": f"{pct(rs_best)} (best of {rs_n} runs; median {pct(rs_median)})"
        if rs_n
        else "no random_search runs",
        "ga_best": f"{pct(ga_best)} (best of {ga_n} runs; median {pct(ga_median)})"
        if ga_n
        else "no genetic_cnn_ga runs",
        "all_ones": named_accuracy(ctx, "densenet"),
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
