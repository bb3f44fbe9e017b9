"""The RE macro paper (Kyriakides & Margaritis, AIAI 2020): node counts of evolved genomes and the Fig. 4
overlay on every macro_re page; in its paper setting also the best found during search, REMNet, the
replicate noise and a Table 2 style comparison.

Applies to a page on the `macro_re` space.
"""

from __future__ import annotations

import numpy as np

from reports import analysis as an
from reports import drawings, paper_numbers
from reports.document import Dataset, Figure, Table, Text, pct
from reports.papers.common import best_reported, named_accuracy
from reports.views.context import PageContext

SPACE = "macro_re"
_NUMBERS = {n.key: n for n in paper_numbers.RE_NUMBERS}


def applies(page: PageContext) -> bool:
    return page.block.space == SPACE


def build(page: PageContext) -> list[Table | Figure | Text]:
    """RE macro paper: best found during search, node counts, noise, REMNet, Table 2 style; overlay."""
    out: list[Table | Figure | Text] = []
    nodes = _node_counts(page)
    if nodes is not None:
        out.append(nodes)
    if page.setting == paper_numbers.RE_MACRO:
        numbers, es_best = _re_numbers(page)
        out.extend((numbers, _table2(page, es_best)))
    out.append(_overlay(page))
    return out


def _is_sample_size_one(ctx: PageContext, label: str) -> bool:
    """The RE paper's random-search baseline: regularized evolution whose tournament has one member."""
    params = ctx.results[label][0].run.params
    return params.get("sample_size") == 1 or params.get("preset") == "kyriakides2020_random"


def _re_roles(ctx: PageContext) -> tuple[list[str], list[str]]:
    """(evolution labels, random-search labels) as the RE paper compares them: its random search is
    regularized evolution with sample size 1; a plain random_search counts as random search too."""
    re_labels = ctx.labels_of("regularized_evolution")
    evolution = [lb for lb in re_labels if not _is_sample_size_one(ctx, lb)]
    random = [lb for lb in re_labels if _is_sample_size_one(ctx, lb)]
    return evolution, random + ctx.labels_of("random_search")


def _best_found_row(
    number: paper_numbers.PaperNumber, best: float, median: float, n: int, missing: str
) -> tuple[str, str, str, str]:
    """A 'what / paper / ours / source' row for a best-found-during-search figure."""
    ours = f"{pct(best)} (best of {n} runs; median {pct(median)})" if n else missing
    return (number.label, f"{number.value:.2f}", ours, number.source.cite())


def _node_counts(ctx: PageContext) -> Table | None:
    paper = ctx.setting == paper_numbers.RE_MACRO
    space = an.space_of(ctx.block)
    nodes = _NUMBERS["nodes"]
    paper_nodes = f"{nodes.value:.1f} ± {nodes.spread:.1f}"
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
                    paper_nodes if paper and label == ctx.first_label("regularized_evolution") else "",
                )
            )
            node_data.append((label, len(counts), mean, std))
    if not node_rows:
        return None
    return Table(
        stem=ctx.stem("node-counts"),
        title="Node count of valid evolved genomes",
        columns=("algorithm", "valid genomes", "nodes: mean ± std", "paper (RE)"),
        rows=tuple(node_rows),
        caption="Active hidden nodes (space.summary()['nodes']) of every ok query. "
        + (f"Paper: {nodes.source.cite()}." if paper else "Not a paper setting: no paper figures beside."),
        data=Dataset(("algorithm", "valid_genomes", "mean_nodes", "std_nodes"), tuple(node_data)),
    )


def _re_numbers(ctx: PageContext) -> tuple[Table, float]:
    """The paper's best found during search, REMNet and replicate noise beside ours; and RE's best."""
    numbers = _NUMBERS
    evolution, random = _re_roles(ctx)
    es_best, es_median, es_n = best_reported(ctx, evolution)
    rs_best, rs_median, rs_n = best_reported(ctx, random)
    noise = an.noise(ctx.data, ctx.block)
    rows = (
        _best_found_row(numbers["es_best"], es_best, es_median, es_n, "no regularized_evolution runs"),
        _best_found_row(numbers["rs_best"], rs_best, rs_median, rs_n, "no random_search runs"),
        (
            numbers["remnet_128"].label,
            f"{numbers['remnet_128'].value:.2f}",
            named_accuracy(ctx, "remnet") + " (this task's protocol, this space's channels)",
            numbers["remnet_128"].source.cite(),
        ),
        (
            numbers["remnet_256"].label,
            f"{numbers['remnet_256'].value:.2f}",
            "see REMNet above",
            numbers["remnet_256"].source.cite(),
        ),
        (
            numbers["replicate_std"].label,
            f"{numbers['replicate_std'].value:.1f}",
            f"{100 * noise.mean_std:.3f} over {len(noise.rows)} networks"
            if noise
            else "no network with 2 replicates",
            numbers["replicate_std"].source.cite(),
        ),
    )
    table = Table(
        stem=ctx.stem("re-numbers"),
        title="RE macro paper: best architectures and search results",
        columns=("what", "paper %", "ours (test %)", "source"),
        rows=rows,
        caption="Ours: the final incumbent's test accuracy over runs.",
        data=Dataset(("what", "paper", "ours", "source"), rows),
    )
    return table, es_best


def _table2(ctx: PageContext, es_best: float) -> Table:
    task_epochs = str(ctx.block.task.spec.get("epochs", "?"))
    t2 = [
        (r.method, f"{r.accuracy:.2f}", r.search_epochs, r.training_epochs) for r in paper_numbers.RE_TABLE2
    ]
    t2.append(
        (
            f"ours: best found during search ({ctx.first_label('regularized_evolution') or 'no RE runs'})",
            pct(es_best),
            task_epochs,
            "(no final training)",
        )
    )
    return Table(
        stem=ctx.stem("re-table2"),
        title="RE macro paper Table 2 style comparison",
        columns=("method", "final accuracy %", "search epochs", "training epochs"),
        rows=tuple(t2),
        caption=f"Paper rows: {paper_numbers.RE_TABLE2_SOURCE.cite()}.",
        data=Dataset(("method", "accuracy", "search_epochs", "training_epochs"), tuple(t2)),
    )


def _overlay(ctx: PageContext) -> Figure | Text:
    from harness.spaces.macro_re import LAYER_CHOICES

    space = an.space_of(ctx.block)
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
