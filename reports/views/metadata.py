"""The metadata block of a page: the experiment, the task protocol, versions, devices, and every run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from reports import analysis as an
from reports import paper_numbers
from reports.data import Run
from reports.document import Dataset, Section, Table
from reports.views.context import PageContext

RUN_COLUMNS = (
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
)
RUN_DATA_COLUMNS = (
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
)


def json_text(value: object) -> str:
    return json.dumps(value, sort_keys=True) if value not in (None, {}, []) else "not recorded"


def flat_text(value: Mapping[str, object], prefix: str = "") -> str:
    """A nested mapping as 'key: value; a.b: value' (sorted keys), e.g. a task protocol."""
    if not value:
        return "not recorded"
    parts = []
    for key in sorted(value):
        item = value[key]
        if isinstance(item, Mapping):
            parts.append(flat_text(item, f"{prefix}{key}."))
        else:
            parts.append(f"{prefix}{key}: {json.dumps(item)}")
    return "; ".join(parts)


def metadata_section(ctx: PageContext) -> Section:
    runs = [r.run for rs in ctx.results.values() for r in rs]
    kv = _items(ctx, runs)
    table = Table(
        stem=ctx.stem("metadata"),
        title="Metadata",
        columns=("item", "value"),
        rows=tuple(kv),
        data=Dataset(("item", "value"), tuple(kv)),
        wrap=True,
    )
    return Section("metadata", "Metadata", (table, _runs_table(ctx, runs)))


def _evaluation_counts(
    ctx: PageContext, runs: Sequence[Run]
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """(library versions, devices) over the distinct (network, replicate) pairs the runs queried, and the
    answers of all their queries (invalid, predicted, unstored, all)."""
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
    return versions, devices, answers


def _items(ctx: PageContext, runs: Sequence[Run]) -> list[tuple[str, str]]:
    """The (item, value) rows of the metadata table."""
    block = ctx.block
    exp = block.experiment
    config = exp.config
    versions, devices, answers = _evaluation_counts(ctx, runs)
    return [
        ("experiment", exp.name),
        ("description", str(config.get("description") or "")),
        ("paper setting", paper_numbers.title(ctx.setting) if ctx.setting else "none (not a paper setting)"),
        ("search space", f"{block.space} {json_text(dict(block.space_params))}"),
        ("task", f"{block.task.name} (key {block.task.task_key}, dataset {block.task.dataset or 'n/a'})"),
        ("task protocol", flat_text(block.task.spec)),
        ("objective", f"{ctx.objective} (selection); reported on test_acc"),
        (
            "seeds",
            f"experiment seed {config.get('seed', 'n/a')}; run seeds derived from (experiment, algorithm, "
            "trial), listed below",
        ),
        ("budget (config)", json_text(config.get("budget"))),
        ("simulated workers", ", ".join(sorted({str(r.workers) for r in runs}))),
        ("evaluation settings", flat_text(config.get("evaluation") or {})),
        ("code version", exp.code_version or "not recorded"),
        ("hardware", flat_text(exp.hardware)),
        ("devices (evaluations)", "; ".join(f"{k} ({v})" for k, v in sorted(devices.items())) or "none"),
        (
            "library versions (evaluations)",
            "; ".join(f"{k} ({v})" for k, v in sorted(versions.items())) or "none",
        ),
        ("cache hit rate", _hit_rate_text(ctx, runs)),
        ("recorded times", _times_text(ctx, runs)),
        ("cache", ctx.data.cache_name),
        ("answers", _answers_text(answers)),
    ]


def _hit_rate_text(ctx: PageContext, runs: Sequence[Run]) -> str:
    hits, queries = an.hit_rate(runs)
    per_alg_hits = []
    for label, rs in ctx.results.items():
        h, n = an.hit_rate([r.run for r in rs])
        per_alg_hits.append(f"{label} {h}/{n}")
    return (
        (f"{hits / queries:.1%} ({hits} of {queries} queries)" if queries else "n/a")
        + "; "
        + ", ".join(per_alg_hits)
    )


def _times_text(ctx: PageContext, runs: Sequence[Run]) -> str:
    started = sorted(r.started_at for r in runs if r.started_at)
    finished = sorted(r.finished_at for r in runs if r.finished_at)
    return (
        f"experiment updated {ctx.block.experiment.updated_at or 'n/a'}; runs started "
        f"{started[0] if started else 'n/a'} to finished {finished[-1] if finished else 'n/a'}"
    )


def _answers_text(answers: Mapping[str, int]) -> str:
    if not answers["all"]:
        return "n/a"
    return (
        f"of {answers['all']} queries: invalid {answers['invalid'] / answers['all']:.1%} (builds no "
        f"network for the task); no stored answer {answers['unstored'] / answers['all']:.1%} "
        f"(tabular mode: not in the table, answered invalid); predicted by a surrogate "
        f"{answers['predicted'] / answers['all']:.1%}"
    )


def _runs_table(ctx: PageContext, runs: Sequence[Run]) -> Table:
    run_rows = tuple(
        (
            r.label,
            r.algorithm,
            an.describe_params(r.params),
            str(r.trial),
            str(r.seed),
            r.status,
            budget_text(r.budget_evaluations, r.budget_seconds),
            str(len(r.queries)),
            f"{r.queries[-1].sim_seconds:.4g}" if r.queries else "0",
            f"{r.hits}",
            r.started_at or "",
            r.finished_at or "",
        )
        for r in runs
    )
    return Table(
        stem=ctx.stem("runs"),
        title="Runs: seeds, budgets, status",
        columns=RUN_COLUMNS,
        rows=run_rows,
        data=Dataset(RUN_DATA_COLUMNS, run_rows),
    )


def budget_text(evaluations: int | None, seconds: float | None) -> str:
    parts = []
    if evaluations is not None:
        parts.append(f"{evaluations} evaluations")
    if seconds is not None:
        parts.append(f"{seconds:g} sim. seconds")
    return ", ".join(parts) or "none"
