"""Everything a report needs, read from the evaluation cache alone (read-only SELECTs, never a write).

`load(cache, experiments)` returns a `CacheData` value: the experiments, their runs with trajectories, and
the evaluations, architectures and tasks those runs touch. `blocks(data)` groups the runs into report
pages: one per (experiment, space, task). Every query orders its rows, so two loads of one cache are equal.

Older caches may lack columns added since (e.g. `trajectories.encoding`); missing columns read as NULL.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cache.generations import GenerationRow
from cache.generations import generations as read_generations
from cache.store import Cache
from harness.errors import CacheError, unknown

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    """One trajectory row: a query of a run, in simulated completion order."""

    step: int
    arch_hash: str
    replicate: int
    fitness: float
    cached: bool
    sim_seconds: float
    generation: int | None
    encoding: str | None


@dataclass(frozen=True)
class Run:
    """One (algorithm, trial) of an experiment with its trajectory."""

    run_id: str
    experiment: str
    label: str
    algorithm: str
    params: Mapping[str, Any]
    space: str
    space_params: Mapping[str, Any]
    task_key: str
    trial: int
    seed: int
    budget_evaluations: int | None
    budget_seconds: float | None
    status: str
    objective: str
    workers: int
    started_at: str | None
    finished_at: str | None
    queries: tuple[Query, ...]
    #: the run log's generations (cache.generations), empty for runs and caches without them
    generations: tuple[GenerationRow, ...] = ()

    @property
    def hits(self) -> int:
        return sum(1 for q in self.queries if q.cached)


@dataclass(frozen=True)
class Evaluation:
    """One stored training result of (architecture, task, replicate)."""

    arch_hash: str
    task_key: str
    replicate: int
    status: str
    error: str | None
    val_acc: float | None
    test_acc: float | None
    train_seconds: float | None
    params: int | None
    device: str | None
    versions: str | None
    predicted: bool

    def metric(self, name: str) -> float | None:
        """`val_acc` or `test_acc` (0.0 when the evaluation is not ok, None when the metric is missing)."""
        if self.status != "ok":
            return 0.0
        value = self.val_acc if name == "val_acc" else self.test_acc if name == "test_acc" else None
        return None if value is None else float(value)


@dataclass(frozen=True)
class Architecture:
    arch_hash: str
    space: str
    encoding: str
    params: int | None
    flops: int | None
    summary: Mapping[str, float]


@dataclass(frozen=True)
class TaskInfo:
    task_key: str
    name: str
    spec: Mapping[str, Any]
    dataset: str


@dataclass(frozen=True)
class Experiment:
    """An experiment's recorded config (ExperimentConfig.to_json, parsed), code version and hardware."""

    name: str
    config: Mapping[str, Any]
    code_version: str | None
    hardware: Mapping[str, Any]
    updated_at: str | None

    @property
    def algorithm_order(self) -> tuple[str, ...]:
        return tuple(str(a.get("label") or a.get("name")) for a in self.config.get("algorithms", ()))


@dataclass(frozen=True)
class CacheData:
    """The part of a cache a report reads."""

    cache_name: str
    experiments: tuple[Experiment, ...]
    runs: tuple[Run, ...]
    evaluations: Mapping[tuple[str, str, int], Evaluation]
    architectures: Mapping[str, Architecture]
    tasks: Mapping[str, TaskInfo]

    def evaluation(self, arch_hash: str, task_key: str, replicate: int) -> Evaluation | None:
        return self.evaluations.get((arch_hash, task_key, replicate))

    def experiment(self, name: str) -> Experiment:
        for exp in self.experiments:
            if exp.name == name:
                return exp
        raise unknown("experiment", name, [e.name for e in self.experiments])


@dataclass(frozen=True)
class Block:
    """One report page: the runs of one experiment on one (space, task)."""

    experiment: Experiment
    space: str
    space_params: Mapping[str, Any]
    task: TaskInfo
    runs: tuple[Run, ...]
    algorithms: tuple[str, ...]
    slug: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.experiment.name, self.space, self.task.task_key)

    @property
    def objective(self) -> str:
        objectives = sorted({r.objective for r in self.runs})
        return "test_acc" if "test_acc" in objectives else objectives[0] if objectives else "val_acc"

    def runs_of(self, label: str) -> tuple[Run, ...]:
        return tuple(r for r in self.runs if r.label == label)


def _json(text: str | None, default: Any) -> Any:
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CacheError(f"cache holds malformed JSON ({exc.msg}): {text[:60]!r}") from exc


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    return str(value)


def _columns(cache: Cache, table: str) -> set[str]:
    rows = cache.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    return {r[0] for r in rows}


def _select(cache: Cache, table: str, wanted: Sequence[str]) -> str:
    """A SELECT list of `wanted` columns, NULL for those the table lacks (older caches)."""
    have = _columns(cache, table)
    if not have:
        raise CacheError(f"cache {cache.path.name} has no table {table!r}: not an evonas cache")
    return ", ".join(c if c in have else f"NULL AS {c}" for c in wanted)


def _in_list(values: Sequence[str]) -> tuple[str, list[str]]:
    return "(" + ", ".join("?" for _ in values) + ")", list(values)


def _budget(text: str | None) -> tuple[int | None, float | None]:
    budget = _json(text, {})
    evaluations = budget.get("evaluations")
    seconds = budget.get("seconds")
    return (
        None if evaluations is None else int(evaluations),
        None if seconds is None else float(seconds),
    )


EXPERIMENT_COLUMNS = ["experiment", "config", "code_version", "hardware", "updated_at"]
RUN_COLUMNS = [
    "run_id",
    "experiment",
    "algorithm",
    "algorithm_name",
    "params",
    "space",
    "space_params",
    "task_key",
    "trial",
    "seed",
    "budget",
    "status",
    "objective",
    "workers",
    "started_at",
    "finished_at",
]
TRAJECTORY_COLUMNS = [
    "run_id",
    "step",
    "arch_hash",
    "replicate",
    "fitness",
    "cached",
    "sim_seconds",
    "generation",
    "encoding",
]
EVALUATION_COLUMNS = [
    "arch_hash",
    "task_key",
    "replicate",
    "status",
    "error",
    "val_acc",
    "test_acc",
    "train_seconds",
    "params",
    "device",
    "versions",
    "predicted",
]
ARCHITECTURE_COLUMNS = ["arch_hash", "space", "encoding", "params", "flops", "summary"]


def load(cache: Cache, experiments: Sequence[str] | None = None) -> CacheData:
    """Read the experiments (all when None), their runs and everything those runs touch."""
    exps = _experiments(cache, experiments)
    names = [e.name for e in exps]
    runs = _runs(cache, names)
    task_keys = sorted({r.task_key for r in runs})
    evaluations = _evaluations(cache, task_keys)
    architectures = _architectures(cache, task_keys, names)
    tasks = _tasks(cache, task_keys)
    from reports.data_surrogate import surrogate_view  # it builds this module's records

    runs, evaluations, tasks = surrogate_view(cache, runs, evaluations, tasks)
    return CacheData(
        cache_name=cache.path.name,
        experiments=tuple(exps),
        runs=tuple(runs),
        evaluations=evaluations,
        architectures=architectures,
        tasks=tasks,
    )


def _experiments(cache: Cache, experiments: Sequence[str] | None) -> list[Experiment]:
    """The experiments to report (all with runs when None), sorted; one clear error for an unknown name."""
    known_runs = [r[0] for r in cache.execute("SELECT DISTINCT experiment FROM runs ORDER BY 1").fetchall()]
    exp_rows = cache.execute(
        f"SELECT {_select(cache, 'experiments', EXPERIMENT_COLUMNS)} FROM experiments ORDER BY experiment"
    ).fetchall()
    recorded = {row[0]: row for row in exp_rows}
    names = sorted(set(known_runs) | set(recorded))
    if experiments:
        for name in experiments:
            if name not in names:
                raise unknown(f"experiment in cache {cache.path.name}", name, names)
        names = sorted(set(experiments))
    names = [n for n in names if n in known_runs]
    if not names:
        raise CacheError(
            f"cache {cache.path.name} holds no runs"
            + (f" of {', '.join(experiments)}" if experiments else "")
            + ": run an experiment first (evonas run CONFIG)"
        )
    exps = []
    for name in names:
        row = recorded.get(name)
        exps.append(
            Experiment(
                name=name,
                config=_json(row[1], {}) if row else {},
                code_version=row[2] if row else None,
                hardware=_json(row[3], {}) if row else {},
                updated_at=_iso(row[4]) if row else None,
            )
        )
    return exps


def _queries(cache: Cache, names: Sequence[str]) -> dict[str, list[Query]]:
    """The trajectory of every run of the experiments `names`, by run id, in step order."""
    placeholders, params = _in_list(names)
    traj_rows = cache.execute(
        f"SELECT {_select(cache, 'trajectories', TRAJECTORY_COLUMNS)} FROM trajectories WHERE run_id IN "
        f"(SELECT run_id FROM runs WHERE experiment IN {placeholders}) ORDER BY run_id, step",
        params,
    ).fetchall()
    queries: dict[str, list[Query]] = {}
    for row in traj_rows:
        queries.setdefault(row[0], []).append(
            Query(
                step=int(row[1]),
                arch_hash=str(row[2]),
                replicate=int(row[3]),
                fitness=float(row[4]) if row[4] is not None else 0.0,
                cached=bool(row[5]),
                sim_seconds=float(row[6]) if row[6] is not None else 0.0,
                generation=None if row[7] is None else int(row[7]),
                encoding=row[8],
            )
        )
    return queries


def _runs(cache: Cache, names: Sequence[str]) -> list[Run]:
    """The runs of the experiments `names`, with their trajectories."""
    placeholders, params = _in_list(names)
    run_rows = cache.execute(
        f"SELECT {_select(cache, 'runs', RUN_COLUMNS)} FROM runs WHERE experiment IN {placeholders} "
        "ORDER BY experiment, algorithm, trial, run_id",
        params,
    ).fetchall()
    queries = _queries(cache, names)
    logged = read_generations(cache, [str(r[RUN_COLUMNS.index("run_id")]) for r in run_rows])
    return [_run(dict(zip(RUN_COLUMNS, row, strict=True)), queries, logged) for row in run_rows]


def _run(
    values: Mapping[str, Any], queries: Mapping[str, list[Query]], logged: Mapping[str, Sequence[Any]]
) -> Run:
    evaluations_budget, seconds_budget = _budget(values["budget"])
    return Run(
        run_id=values["run_id"],
        experiment=values["experiment"],
        label=values["algorithm"],
        algorithm=values["algorithm_name"] or values["algorithm"],
        params=_json(values["params"], {}),
        space=values["space"],
        space_params=_json(values["space_params"], {}),
        task_key=values["task_key"],
        trial=int(values["trial"]),
        seed=int(values["seed"]),
        budget_evaluations=evaluations_budget,
        budget_seconds=seconds_budget,
        status=values["status"] or "unknown",
        objective=values["objective"] or "val_acc",
        workers=int(values["workers"] or 1),
        started_at=_iso(values["started_at"]),
        finished_at=_iso(values["finished_at"]),
        queries=tuple(queries.get(values["run_id"], ())),
        generations=tuple(logged.get(values["run_id"], ())),
    )


def _evaluations(cache: Cache, task_keys: Sequence[str]) -> dict[tuple[str, str, int], Evaluation]:
    """Every stored evaluation on the tasks `task_keys`, by (arch hash, task key, replicate)."""
    tk_placeholders, tk_params = _in_list(task_keys)
    evaluations = {}
    for row in cache.execute(
        f"SELECT {_select(cache, 'evaluations', EVALUATION_COLUMNS)} FROM evaluations WHERE task_key IN "
        f"{tk_placeholders} "
        "ORDER BY task_key, arch_hash, replicate",
        tk_params,
    ).fetchall():
        ev = Evaluation(
            arch_hash=row[0],
            task_key=row[1],
            replicate=int(row[2]),
            status=row[3],
            error=row[4],
            val_acc=None if row[5] is None else float(row[5]),
            test_acc=None if row[6] is None else float(row[6]),
            train_seconds=None if row[7] is None else float(row[7]),
            params=None if row[8] is None else int(row[8]),
            device=row[9],
            versions=row[10],
            predicted=bool(row[11]),
        )
        evaluations[(ev.arch_hash, ev.task_key, ev.replicate)] = ev
    return evaluations


def _architectures(cache: Cache, task_keys: Sequence[str], names: Sequence[str]) -> dict[str, Architecture]:
    """The architectures evaluated on `task_keys` or queried by a run of the experiments `names`."""
    tk_placeholders, tk_params = _in_list(task_keys)
    placeholders, params = _in_list(names)
    architectures = {}
    for row in cache.execute(
        f"SELECT {_select(cache, 'architectures', ARCHITECTURE_COLUMNS)} FROM architectures "
        "WHERE arch_hash IN "
        f"(SELECT DISTINCT arch_hash FROM evaluations WHERE task_key IN {tk_placeholders} UNION "
        "SELECT DISTINCT arch_hash FROM trajectories WHERE run_id IN "
        f"(SELECT run_id FROM runs WHERE experiment IN {placeholders})) ORDER BY arch_hash",
        [*tk_params, *params],
    ).fetchall():
        architectures[row[0]] = Architecture(
            arch_hash=row[0],
            space=row[1],
            encoding=row[2],
            params=None if row[3] is None else int(row[3]),
            flops=None if row[4] is None else int(row[4]),
            summary={str(k): float(v) for k, v in _json(row[5], {}).items()},
        )
    return architectures


def _tasks(cache: Cache, task_keys: Sequence[str]) -> dict[str, TaskInfo]:
    """The tasks `task_keys` (one missing from the tasks table is named by its key, with a warning)."""
    tk_placeholders, tk_params = _in_list(task_keys)
    tasks = {}
    for row in cache.execute(
        f"SELECT {_select(cache, 'tasks', ['task_key', 'name', 'spec', 'dataset'])} FROM tasks "
        f"WHERE task_key IN {tk_placeholders} ORDER BY task_key",
        tk_params,
    ).fetchall():
        tasks[row[0]] = TaskInfo(
            task_key=row[0], name=row[1] or row[0], spec=_json(row[2], {}), dataset=row[3] or ""
        )
    for key in task_keys:
        if key not in tasks:
            log.warning("task %s of some runs is not in the tasks table", key)
            tasks[key] = TaskInfo(task_key=key, name=key, spec={}, dataset="")
    return tasks


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(text: str) -> str:
    """A file-name-safe version of `text` (letters, digits, '_', '.', '-')."""
    cleaned = _SAFE.sub("-", text).strip("-.")
    return cleaned or "unnamed"


def blocks(data: CacheData) -> list[Block]:
    """The report pages: runs grouped by (experiment, space, space parameters, task), in a fixed order."""
    groups: dict[tuple[str, str, str, str], list[Run]] = {}
    for run in data.runs:
        key = (run.experiment, run.space, json.dumps(run.space_params, sort_keys=True), run.task_key)
        groups.setdefault(key, []).append(run)
    out: list[Block] = []
    used: set[tuple[str, str]] = set()
    for key in sorted(groups, key=lambda k: (k[0], k[1], data.tasks[k[3]].name, k[2], k[3])):
        experiment_name, space, space_params, task_key = key
        experiment = data.experiment(experiment_name)
        task = data.tasks[task_key]
        runs = groups[key]
        order = experiment.algorithm_order
        labels = sorted(
            {r.label for r in runs}, key=lambda x: (order.index(x) if x in order else len(order), x)
        )
        runs_sorted = tuple(sorted(runs, key=lambda r: (labels.index(r.label), r.trial, r.run_id)))
        slug = safe_name(f"{space}__{task.name}")
        if (experiment_name, slug) in used:
            slug = safe_name(f"{space}__{task.name}__{task_key[:8]}")
        n = 2
        base = slug
        while (experiment_name, slug) in used:
            slug = f"{base}-{n}"
            n += 1
        used.add((experiment_name, slug))
        out.append(
            Block(
                experiment=experiment,
                space=space,
                space_params=json.loads(space_params),
                task=task,
                runs=runs_sorted,
                algorithms=tuple(labels),
                slug=slug,
            )
        )
    return out
