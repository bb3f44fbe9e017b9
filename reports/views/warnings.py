"""The warnings of a page: selection on test data, unequal or unfinished budgets, missing values."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from reports import analysis as an
from reports import stats
from reports.views.context import PageContext


def page_warnings(ctx: PageContext, samples: Mapping[str, np.ndarray]) -> list[str]:
    out: list[str] = []
    if ctx.objective == "test_acc":
        out.append(
            "result selected on test data: incumbents are chosen on test accuracy (objective test_acc), so "
            "the "
            "reported accuracies are optimistically biased (no held-out data)"
        )
    if samples:
        out.extend(_budget_warnings(ctx, samples))
    for label in ctx.results:
        out.extend(_label_warnings(ctx, label))
    empty = [r.run_id for r in ctx.block.runs if not r.queries]
    if empty:
        out.append(f"{len(empty)} run(s) without any trajectory row left out: {', '.join(empty)}")
    return out


def _budget_warnings(ctx: PageContext, samples: Mapping[str, np.ndarray]) -> list[str]:
    """The statistics' warnings on the final samples, and unequal budgets in simulated seconds."""
    out: list[str] = []
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
    return out


def _label_warnings(ctx: PageContext, label: str) -> list[str]:
    """Unequal, short or unfinished runs of one algorithm, and runs without a reported value."""
    out: list[str] = []
    rs = ctx.results[label]
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
    return out
