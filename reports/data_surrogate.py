"""Surrogate-mode runs as the report sees them: their own benchmark, answers flagged as predicted.

A run in surrogate mode asked a model, not the table. Its answers live in the cache's `predictions` table
under the model's id; its `run_surrogates` row names the model and the policy. Here each such run is moved
to a task of its own, `<task key>~<model id>~<policy>` (named e.g. "digits (surrogate gbr 44da08ef,
predicted)"), whose evaluations are the model's answers (`predicted = True`) and, under the policy
`measured_first`, the table's measurements where it has them. So a surrogate comparison is a report block
of its own, never pooled with live or tabular runs of the same task, and every view that looks an answer
up finds the one the run was given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from cache.store import Cache
from cache.surrogate_store import predictions, run_surrogates
from reports.data import Evaluation, Run, TaskInfo

Key = tuple[str, str, int]


def virtual_task_key(task_key: str, model_id: str, policy: str) -> str:
    return f"{task_key}~{model_id}~{policy}"


def surrogate_view(
    cache: Cache, runs: Sequence[Run], evaluations: dict[Key, Evaluation], tasks: dict[str, TaskInfo]
) -> tuple[list[Run], dict[Key, Evaluation], dict[str, TaskInfo]]:
    marks = run_surrogates(cache, [r.run_id for r in runs])
    if not marks:
        return list(runs), evaluations, tasks
    answers = predictions(cache, {m for m, _ in marks.values()})
    kinds = _kinds(cache, {m for m, _ in marks.values()})
    out_runs, out_evals, out_tasks = [], dict(evaluations), dict(tasks)
    for run in runs:
        if run.run_id not in marks:
            out_runs.append(run)
            continue
        model_id, policy = marks[run.run_id]
        key = virtual_task_key(run.task_key, model_id, policy)
        if key not in out_tasks:
            base = tasks[run.task_key]
            out_tasks[key] = TaskInfo(
                task_key=key,
                name=f"{base.name} (surrogate {kinds.get(model_id, '?')} {model_id[:8]}, {policy})",
                spec={**base.spec, "surrogate": {"model_id": model_id, "policy": policy}},
                dataset=base.dataset,
            )
            if policy == "measured_first":
                for (arch, task_key, rep), ev in evaluations.items():
                    if task_key == run.task_key:
                        out_evals[(arch, key, rep)] = replace(ev, task_key=key)
        for (mid, arch, rep), row in answers.items():
            if mid == model_id and (arch, key, rep) not in out_evals:
                out_evals[(arch, key, rep)] = _evaluation(key, row)
        out_runs.append(replace(run, task_key=key))
    return out_runs, out_evals, out_tasks


def _evaluation(task_key: str, row: tuple) -> Evaluation:
    arch, rep, status, val, test, seconds = row
    return Evaluation(
        arch_hash=arch,
        task_key=task_key,
        replicate=rep,
        status=status,
        error=None if status == "ok" else "invalid (surrogate mode)",
        val_acc=val,
        test_acc=test,
        train_seconds=seconds,
        params=None,
        device="surrogate",
        versions=None,
        predicted=True,
    )


def _kinds(cache: Cache, model_ids: set[str]) -> Mapping[str, str]:
    ids = sorted(model_ids)
    marks = ", ".join("?" for _ in ids)
    rows = cache.execute(f"SELECT model_id, kind FROM surrogates WHERE model_id IN ({marks})", ids).fetchall()
    return {r[0]: r[1] for r in rows}


def predicted_share(run: Run, evaluations: Mapping[Key, Evaluation]) -> float:
    """The share of a run's queries that were answered by the surrogate."""
    if not run.queries:
        return 0.0
    hits = sum(
        1
        for q in run.queries
        if (ev := evaluations.get((q.arch_hash, run.task_key, q.replicate))) is not None and ev.predicted
    )
    return hits / len(run.queries)


__all__ = ["predicted_share", "surrogate_view", "virtual_task_key"]
