"""DE-NAS (Pei, Chang & Tian): accuracy/parameter Pareto fronts (of all evaluated networks per algorithm,
and of each DE run's final population) and, in its paper setting, Table 3 beside ours.

Applies to a page on the `de_sequential` space, with a differential_evolution or optuna_nsga2 run, or in
the DE-NAS paper setting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from reports import analysis_generations as ag
from reports import figures, paper_numbers
from reports.document import Dataset, Figure, Table, Text, pct
from reports.papers.common import named_accuracy
from reports.views.context import PageContext, objective_words

SPACE = "de_sequential"
ALGORITHMS = ("differential_evolution", "optuna_nsga2")
TABLE3_COLUMNS = ("model", "test_accuracy", "search_accuracy", "paper_params", "params", "note")


def applies(page: PageContext) -> bool:
    return (
        page.block.space == SPACE
        or any(page.labels_of(a) for a in ALGORITHMS)
        or page.setting == paper_numbers.DE_NAS
    )


def build(page: PageContext) -> list[Table | Figure | Text]:
    return pareto_section(page)


@dataclass
class _Fronts:
    """The Pareto view's CSV rows, the shown (on-front) rows, and each DE run's Table 3 picks."""

    rows: list[tuple[object, ...]] = field(default_factory=list)
    table_rows: list[tuple[str, ...]] = field(default_factory=list)
    de_models: list[tuple[int, int, ag.DeTable3Picks]] = field(default_factory=list)

    def add(
        self, label: str, set_name: str, shown_set: str, trial: object, members: list, front: set
    ) -> None:
        """CSV rows for every member, table rows for the members on the front."""
        for m in members:
            on = (m.arch_hash, m.fitness) in front
            self.rows.append(
                (set_name, label, trial, m.arch_hash, m.encoding, m.params, 100 * m.fitness, 100 * m.test, on)
            )
            if on:
                self.table_rows.append(
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


def pareto_section(ctx: PageContext) -> list[Table | Figure | Text]:
    """Accuracy/parameter Pareto fronts: of all evaluated networks per algorithm, and of each DE run's final
    population (replayed selection); DE-NAS Table 3 beside when a paper setting."""
    sel, _ = objective_words(ctx.objective)
    fronts = _fronts(ctx)
    if not fronts.rows:
        return [Text(("No ok network with a parameter count: no Pareto front.",), kind="note")]
    data = Dataset(figures.PARETO_COLUMNS, tuple(fronts.rows))
    out: list[Table | Figure | Text] = [
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
        ),
        Table(
            stem=ctx.stem("pareto-table"),
            title="Pareto-optimal networks",
            columns=("algorithm", "set", "trial", "parameters", f"{sel} %", "test %", "network"),
            rows=tuple(fronts.table_rows),
            data=data,
        ),
    ]
    if ctx.setting == paper_numbers.DE_NAS:
        out.append(de_table3(ctx, fronts.de_models))
    return out


def _fronts(ctx: PageContext) -> _Fronts:
    fronts = _Fronts()
    for label, rs in ctx.results.items():
        members = ag.evaluated_members(ctx.data, [r.run for r in rs])
        front = {(m.arch_hash, m.fitness) for m in ag.pareto(members)}
        finite = [
            m for m in sorted(members, key=lambda m: (m.params, m.arch_hash)) if math.isfinite(m.params)
        ]
        fronts.add(label, "all evaluated", "all evaluated", "", finite, front)
        for r in rs:
            if r.run.algorithm != "differential_evolution":
                continue
            generation, population = ag.de_final_population(ctx.data, r.run)
            if not population:
                continue
            pfront = {(m.arch_hash, m.fitness) for m in ag.pareto(population)}
            shown = f"final population (population {generation + 1})"
            fronts.add(label, "final population", shown, r.run.trial, population, pfront)
            picks = ag.de_table3_picks(population)
            if picks is not None:
                fronts.de_models.append((r.run.trial, generation, picks))
    return fronts


def de_table3(ctx: PageContext, de_models: Sequence[tuple[int, int, ag.DeTable3Picks]]) -> Table:
    """DE-NAS Table 3 beside ours: per DE run, Model 1 = the best selection score of the final population
    (entry [0]) and Model 2 = its entry [7] by score, as the authors picked them from population-9.bin;
    the text's readings (best accuracy, fewest parameters) are listed where they are other networks."""
    sel, _ = objective_words(ctx.objective)
    t3 = [
        (m.model, f"{m.accuracy:.2f}", "", m.params_text, f"{m.params:,}", "paper (after 200 epochs)")
        for m in paper_numbers.DE_TABLE3
    ]
    for trial, generation, picks in de_models:
        t3.extend(_ours_rows(sel, trial, generation, picks))
    for named in ("model1", "model2"):
        t3.append(
            (
                f"paper's {named} on this task's protocol",
                named_accuracy(ctx, named),
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
        data=Dataset(TABLE3_COLUMNS, tuple(t3)),
    )


def _ours_rows(sel: str, trial: int, generation: int, picks: ag.DeTable3Picks) -> list[tuple[str, ...]]:
    """Table 3 rows of one DE run: its Model 1 and Model 2 picks, and the text's readings where they
    differ."""
    population = f"population {generation + 1} (the initial one + {generation} rounds)"
    shown = [
        (f"Model 1: best score (0.7 error + 0.3 params), entry [0] of {population}", picks.model1),
        (
            f"Model 2: entry [{ag.DE_MODEL2_ENTRY}] by score of {population}, the authors' pick",
            picks.model2,
        ),
    ]
    if picks.most_accurate is not picks.model1:
        shown.append((f"best {sel} of {population} (the paper's text for Model 1)", picks.most_accurate))
    if picks.fewest is not None and picks.fewest is not picks.model2:
        shown.append((f"fewest parameters of {population} (the paper's text for Model 2)", picks.fewest))
    rows: list[tuple[str, ...]] = []
    for name, m in shown:
        if m is None:
            rows.append((f"ours, trial {trial}: {name}", "", "", "", "", "population smaller than 8"))
            continue
        rows.append(
            (f"ours, trial {trial}: {name}", pct(m.test), pct(m.fitness), "", f"{m.params:,.0f}", m.encoding)
        )
    return rows
