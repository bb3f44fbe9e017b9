"""View 2 of a page: ECDFs of the final best and of every evaluated network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from reports import figures, stats
from reports.analysis import RunResult
from reports.document import Dataset, Section
from reports.views.context import PageContext, objective_words


def ok_fitness(ctx: PageContext, rs: Sequence[RunResult]) -> list[float]:
    """The fitness of every query of the runs `rs` whose evaluation is ok."""
    out = []
    for r in rs:
        for q in r.run.queries:
            ev = ctx.data.evaluation(q.arch_hash, r.run.task_key, q.replicate)
            if ev is not None and ev.status == "ok":
                out.append(float(q.fitness))
    return out


def ecdf_section(ctx: PageContext, samples: Mapping[str, np.ndarray]) -> Section:
    sel, sel_phrase = objective_words(ctx.objective)
    rows: list[tuple[object, ...]] = []
    excluded = 0
    for label, rs in ctx.results.items():
        if label in samples:
            e = stats.ecdf(samples[label])
            for x, p, lo, hi in zip(e.x, e.p, e.lower, e.upper, strict=True):
                rows.append(("final", label, 100.0 * float(x), float(p), float(lo), float(hi)))
        values = ok_fitness(ctx, rs)
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
