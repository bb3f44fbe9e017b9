"""View 7 of a page: the best network of each algorithm, drawn from `space.graph()`, and its table."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from harness.errors import EvonasError
from reports import analysis as an
from reports import analysis_generations as ag
from reports import drawings
from reports.document import Dataset, Figure, Section, Table, Text, pct
from reports.views.context import PageContext, objective_words

log = logging.getLogger(__name__)


@dataclass
class _Drawn:
    """What the best networks of a page give: graph rows, panels, table rows, and notes on failures."""

    rows: list[tuple[object, ...]] = field(default_factory=list)
    panels: list[tuple[str, str]] = field(default_factory=list)
    table_rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def architecture_section(ctx: PageContext) -> Section:
    sel, _ = objective_words(ctx.objective)
    drawn = _best_networks(ctx)
    blocks: list[Table | Figure | Text] = []
    if drawn.panels:
        blocks.append(
            drawings.graphs_figure(
                ctx.stem("architectures"),
                "Best network of each algorithm",
                f"The network with the best {sel} accuracy over all runs of each algorithm (the table below "
                "gives its run and notation), drawn from space.graph(), input at the top, layers by "
                "longest path.",
                Dataset(drawings.GRAPH_COLUMNS, tuple(drawn.rows)),
                drawn.panels,
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
                rows=tuple(drawn.table_rows),
                data=Dataset(
                    ("algorithm", "trial", "step", "objective", "test", "params", "encoding"),
                    tuple(drawn.table_rows),
                ),
            )
        )
    if drawn.notes:
        blocks.append(Text(tuple(drawn.notes), kind="warning"))
    return Section("architectures", "Architectures", tuple(blocks))


def _best_networks(ctx: PageContext) -> _Drawn:
    sel, _ = objective_words(ctx.objective)
    space = an.space_of(ctx.block)
    out = _Drawn()
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
            out.notes.append(f"{label}: the best network cannot be drawn ({exc}).")
            continue
        test = an.reported_value(ctx.data, result.run, q)
        params = ag.params_of(ctx.data, result.run, q)
        scores = f"{sel} {pct(q.fitness)}%" + (f", test {pct(test)}%" if ctx.objective != "test_acc" else "")
        out.panels.append((label, f"{label}\n{scores}"))
        out.rows.extend(drawings.graph_rows(label, graph))
        out.table_rows.append(
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
    return out
