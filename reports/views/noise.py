"""View 8 of a page: replicate noise of networks trained more than once."""

from __future__ import annotations

import math

from harness.paper_figures import RE_NUMBERS, number
from reports import analysis as an
from reports import figures
from reports.document import Dataset, Section, Table, Text, pct
from reports.views.context import PageContext, objective_words, p_text

NOISE_TABLE_ROWS = 20
_PAPER_NOISE = number(RE_NUMBERS, "replicate_std").value  # RE macro paper, percentage points


def noise_section(ctx: PageContext) -> Section:
    result = an.noise(ctx.data, ctx.block)
    sel, sel_phrase = objective_words(ctx.objective)
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
        f"Spearman's rho of replicate 0 vs replicate 1: {result.spearman:.3f} "
        f"(p = {p_text(result.spearman_p)}, "
        f"{result.pairs} networks)"
        if math.isfinite(result.spearman)
        else f"Spearman's rho of replicate 0 vs 1: n/a ({result.pairs} pair(s); needs 3 with varying values)"
    )
    text = Text(
        (
            f"{len(result.rows)} networks have at least two ok replicates on this task (from any run). "
            f"Mean per-network standard deviation of {sel_phrase}: {100 * result.mean_std:.3f} percentage "
            "points "
            f"(RE macro paper: about {_PAPER_NOISE:.1f}% on average). " + rho + ".",
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
