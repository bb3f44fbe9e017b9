"""The final results of a page: a summary per algorithm and every run's final incumbent."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reports import analysis as an
from reports.analysis import RunResult
from reports.document import Dataset, Section, Table, num, pct
from reports.views.context import PageContext, iqr_text, mean_sem_text, objective_words

RUN_COLUMNS_HEAD = ("algorithm", "trial", "seed", "status", "evaluations", "sim_seconds", "cache_hits")
RUN_COLUMNS_TAIL = (
    "final_test_of_incumbent",
    "incumbent_step",
    "incumbent_arch_hash",
    "incumbent_replicate",
    "incumbent_encoding",
)


def final_results(ctx: PageContext) -> Section:
    sel, _ = objective_words(ctx.objective)
    run_rows = _run_rows(ctx)
    runs_data = Dataset((*RUN_COLUMNS_HEAD, f"final_best_{sel}", *RUN_COLUMNS_TAIL), tuple(run_rows))
    return Section("results", "Final results", (_summary(ctx, runs_data), _per_run(ctx, run_rows, runs_data)))


def _run_rows(ctx: PageContext) -> list[tuple[object, ...]]:
    """One row per run (the CSV): its final incumbent and the run's counts."""
    run_rows: list[tuple[object, ...]] = []
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
    return run_rows


def _summary(ctx: PageContext, runs_data: Dataset) -> Table:
    sel, sel_phrase = objective_words(ctx.objective)
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
                iqr_text([r.final_best for r in rs]),
                iqr_text([r.final_reported for r in rs]),
                mean_sem_text([r.final_reported for r in rs]),
                pct(float(np.nanmax([r.final_reported for r in rs]))) if _any_finite(rs) else "n/a",
                f"{hits / queries:.0%}" if queries else "n/a",
            )
        )
    return Table(
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


def _per_run(ctx: PageContext, run_rows: Sequence[tuple[object, ...]], runs_data: Dataset) -> Table:
    sel, _ = objective_words(ctx.objective)
    return Table(
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


def _any_finite(rs: Sequence[RunResult]) -> bool:
    return any(math.isfinite(r.final_reported) for r in rs)
