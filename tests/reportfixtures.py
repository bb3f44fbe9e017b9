"""Realistic evaluation caches for the report tests, written without training (fast).

Genomes are real: they come from the real search spaces, proposed by the real algorithms through their
ask/tell interface (seeded), so generations, replicates of repeated networks (Genetic CNN GA), invalid
networks (macro_re's structural checks) and parameter counts (de_sequential's exact count) are what a run
would produce. Only the training is fake: a network's accuracies are drawn from a seeded function of its
architecture hash and replicate, and its training time likewise. Everything is written through the Cache
API the runner uses (put_task, put_architecture, put_evaluation, put_run, append_trajectory,
put_experiment), in the runner's semantics: a query is `cached` unless this run trained it, the simulated
clock charges every query its recorded train seconds, `fitness` is the run's objective (0 when invalid).

`build_report_cache(path)` writes the standard fixture: three experiments, three (space, task) blocks,
every view of the report applies somewhere; `write_manual_run` writes hand-made trajectories for tests that
need exact numbers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from algorithms import Candidate, Outcome, get_algorithm
from cache.generations import GenerationRow, append_generations
from cache.hashing import run_id as make_run_id
from cache.hashing import run_seed, training_seed
from cache.records import EvalRecord, RunRecord, TrajectoryRow
from cache.store import Cache
from harness.config import AlgorithmEntry, ExperimentConfig
from harness.runner import Budget
from harness.spaces import SearchSpace, get_space
from harness.tasks import Task, preset

VERSIONS = json.dumps(
    {"evonas": "0.1.0", "numpy": "2.0", "python": "3.11.7", "torch": "2.14.1"}, sort_keys=True
)
HARDWARE = json.dumps({"cpus": 2, "gpus": [], "machine": "x86_64", "system": "Linux"}, sort_keys=True)
CODE_VERSION = "0.1.0+gfixture"
EPOCH = datetime(2026, 1, 2, 3, 4, 5)


@dataclass(frozen=True)
class AlgoSpec:
    """One algorithm of a fixture experiment (budget and trials override the experiment's)."""

    name: str
    label: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    trials: int | None = None
    budget: int | None = None

    @property
    def run_label(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class ExperimentSpec:
    """A fixture experiment: one space, one task preset, several algorithms x trials."""

    name: str
    space: str
    space_params: dict[str, Any]
    task: str
    algorithms: tuple[AlgoSpec, ...]
    trials: int = 5
    budget: int = 12
    seed: int = 0
    paper: str | None = None
    description: str = ""
    noise_networks: int = 6  # networks that get replicates 1 and 2 besides their first training


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts (sha256; no RNG involved)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def fake_record(
    space: SearchSpace, genome: Any, task: Task, arch_hash: str, replicate: int, run_id: str | None
) -> EvalRecord:
    """The stored evaluation of (network, replicate): seeded fake accuracies, the real validity and size."""
    seconds = round(2.0 + 8.0 * unit(arch_hash, "seconds", replicate), 3)
    status, error, params = "ok", None, None
    if space.name == "macro_re":
        validity = space.structural_validity(genome, task)  # type: ignore[attr-defined]
        if not validity:
            status, error = "invalid", validity.reason
    elif space.name == "de_sequential":
        validity = space.is_valid(genome, task)
        if validity:
            params = int(space.count_params(genome, task))  # type: ignore[attr-defined]
        else:
            status, error = "invalid", validity.reason
    elif unit(arch_hash, "failed") < 0.03:
        status, error = "failed", "RuntimeError: out of memory (fixture)"
    if status != "ok":
        return EvalRecord(
            arch_hash=arch_hash,
            task_key=task.key(),
            replicate=replicate,
            seed=training_seed(task.key(), arch_hash, replicate),
            status=status,
            error=error,
            train_seconds=0.5,
            device="cpu:1t",
            versions=VERSIONS,
            created_at=EPOCH,
            run_id=run_id,
        )
    if params is None:
        params = 10_000 + int(90_000 * unit(arch_hash, "params"))
    quality = 0.80 + 0.15 * unit(arch_hash, "quality")
    noise = 0.02 * (unit(arch_hash, "noise", replicate) - 0.5)
    val = quality + noise
    test = quality + 0.5 * noise - 0.005 + 0.01 * (unit(arch_hash, "test", replicate) - 0.5)
    if unit(arch_hash, "overfit") < 0.1:  # lucky on validation, poor on test: the incumbent trap
        val, test = min(0.999, val + 0.06), test - 0.05
    return EvalRecord(
        arch_hash=arch_hash,
        task_key=task.key(),
        replicate=replicate,
        seed=training_seed(task.key(), arch_hash, replicate),
        status="ok",
        val_acc=round(val, 6),
        test_acc=round(test, 6),
        train_loss=round(1.0 - val, 6),
        curve=(round(val - 0.1, 6), round(val - 0.03, 6), round(val, 6)),
        train_seconds=seconds,
        device="cpu:1t",
        versions=VERSIONS,
        created_at=EPOCH,
        params=params,
        flops=params * 30,
        run_id=run_id,
    )


def _task(spec: ExperimentSpec) -> Task:
    return preset(spec.task)


class Store:
    """What the fixture has stored so far, written to the cache in bulk at the end.

    DuckDB pays about 5 ms per single-row INSERT, so the standard fixture (several hundred evaluations)
    collects its architectures and evaluations here (the first stored result of a (hash, task, replicate)
    wins, as in `Cache.put_evaluation`) and `flush` inserts them with one statement per table, by column
    name, with the values `Cache.put_architecture` / `put_evaluation` / `set_architecture_size` write.
    Runs, trajectories, tasks and experiments go through the Cache API directly.
    """

    def __init__(self) -> None:
        self.architectures: dict[str, dict[str, Any]] = {}
        self.evaluations: dict[tuple[str, str, int], EvalRecord] = {}

    def register(self, space: SearchSpace, genome: Any, arch_hash: str) -> None:
        if arch_hash in self.architectures:
            return
        self.architectures[arch_hash] = {
            "arch_hash": arch_hash,
            "space": space.name,
            "space_version": space.version,
            "encoding": space.encode(genome),
            "canonical": space.canonical(genome),
            "params": None,
            "flops": None,
            "space_params": json.dumps(space.params, sort_keys=True),
            "summary": json.dumps(space.summary(genome), sort_keys=True),
            "params_task_key": None,
            "created_at": EPOCH,
        }

    def evaluate(
        self, space: SearchSpace, task: Task, genome: Any, replicate: int, run_id: str | None
    ) -> tuple[EvalRecord, bool]:
        """The stored record of (genome, replicate), faking its training on a miss; True when trained here."""
        arch_hash = space.hash(genome)
        self.register(space, genome, arch_hash)
        key = (arch_hash, task.key(), replicate)
        if key in self.evaluations:
            return self.evaluations[key], False
        record = fake_record(space, genome, task, arch_hash, replicate, run_id)
        self.evaluations[key] = record
        arch = self.architectures[arch_hash]
        if record.params is not None and arch["params"] is None:
            arch.update(params=record.params, flops=record.flops, params_task_key=task.key())
        return record, True

    def flush(self, cache: Cache) -> None:
        evaluations = [{**asdict(r), "curve": list(r.curve)} for _, r in sorted(self.evaluations.items())]
        architectures = [self.architectures[h] for h in sorted(self.architectures)]
        for table, rows in (("architectures", architectures), ("evaluations", evaluations)):
            if not rows:
                continue
            data = pa.Table.from_pylist(rows)
            cache.con.register("fixture_rows", data)
            cache.con.execute(f"INSERT OR IGNORE INTO {table} BY NAME SELECT * FROM fixture_rows")
            cache.con.unregister("fixture_rows")


def _run(
    cache: Cache,
    store: Store,
    spec: ExperimentSpec,
    algo: AlgoSpec,
    trial: int,
    space: SearchSpace,
    task: Task,
) -> None:
    """One (algorithm, trial): a sequential ask/tell loop with one simulated worker."""
    label = algo.run_label
    rid = make_run_id(spec.name, label, trial)
    seed = run_seed(f"{spec.name}#{spec.seed}", label, trial)
    budget = algo.budget or spec.budget
    algorithm = get_algorithm(algo.name, space, rng=np.random.default_rng(seed), **algo.params)
    start = EPOCH + timedelta(minutes=trial)
    cache.put_run(
        RunRecord(
            run_id=rid,
            experiment=spec.name,
            algorithm=label,
            params=json.dumps(algo.params, sort_keys=True),
            space=space.name,
            task_key=task.key(),
            trial=trial,
            seed=seed,
            budget=Budget(evaluations=budget).to_json(),
            status="running",
            started_at=start,
            space_params=json.dumps(spec.space_params, sort_keys=True),
            algorithm_name=algo.name,
            objective=task.objective,
            workers=1,
        )
    )
    rows: list[TrajectoryRow] = []
    generation_rows: list[GenerationRow] = []
    seen: set[tuple[str, int]] = set()
    clock = 0.0
    while len(rows) < budget:
        candidates: list[Candidate[Any]] = algorithm.ask(1)
        if not candidates:
            break
        cand = candidates[0]
        record, trained = store.evaluate(space, task, cand.genome, cand.replicate, rid)
        key = (record.arch_hash, record.replicate)
        cached = not (trained and key not in seen)
        seen.add(key)
        clock += float(record.train_seconds)
        fitness = record.metric(task.objective)
        algorithm.tell(
            [
                (
                    cand,
                    Outcome(
                        arch_hash=record.arch_hash,
                        fitness=fitness,
                        status=record.status,
                        val_acc=record.val_acc,
                        test_acc=record.test_acc,
                        params=record.params,
                        flops=record.flops,
                        train_seconds=float(record.train_seconds),
                    ),
                )
            ]
        )
        if algorithm.generations_completed() > len({g.generation for g in generation_rows}):
            done = len({g.generation for g in generation_rows})
            generation_rows += [
                GenerationRow(rid, step=len(rows), **asdict(e)) for e in algorithm.generation_log(done)
            ]
        rows.append(
            TrajectoryRow(
                run_id=rid,
                step=len(rows),
                arch_hash=record.arch_hash,
                replicate=record.replicate,
                fitness=fitness,
                cached=cached,
                sim_seconds=round(clock, 6),
                wall_seconds=round(0.01 * (len(rows) + 1), 6),
                generation=cand.generation,
                encoding=space.encode(cand.genome),
            )
        )
    cache.append_trajectory(rows)
    append_generations(cache, generation_rows)  # the run log, as the runner writes it
    cache.set_run_status(rid, "finished", finished=True)
    cache.execute("UPDATE runs SET finished_at = ? WHERE run_id = ?", [start + timedelta(seconds=30), rid])


def _add_noise_replicates(store: Store, spec: ExperimentSpec, space: SearchSpace, task: Task) -> None:
    """Replicates 1 and 2 for the first `noise_networks` ok networks (by hash) that have only replicate 0."""
    counts: dict[str, int] = {}
    for (arch_hash, task_key, _), record in store.evaluations.items():
        if task_key == task.key() and store.architectures[arch_hash]["space"] == space.name:
            counts[arch_hash] = counts.get(arch_hash, 0) + (1 if record.status == "ok" else 2)
    chosen = [h for h in sorted(counts) if counts[h] == 1][: spec.noise_networks]
    for arch_hash in chosen:
        genome = space.decode(store.architectures[arch_hash]["encoding"])
        for replicate in (1, 2):
            store.evaluate(space, task, genome, replicate, None)


def experiment_config(spec: ExperimentSpec) -> ExperimentConfig:
    return ExperimentConfig(
        name=spec.name,
        space=spec.space,
        space_params=dict(spec.space_params),
        task=_task(spec),
        algorithms=tuple(
            AlgorithmEntry(
                name=a.name,
                label=a.run_label,
                params=dict(a.params),
                budget=Budget(evaluations=a.budget) if a.budget else None,
                trials=a.trials,
            )
            for a in spec.algorithms
        ),
        trials=spec.trials,
        seed=spec.seed,
        budget=Budget(evaluations=spec.budget),
        description=spec.description,
        paper=spec.paper,
    )


def write_experiment(cache: Cache, spec: ExperimentSpec, store: Store | None = None) -> None:
    """Every (algorithm, trial) of `spec`, then the noise replicates and the experiment row."""
    own = store is None
    store = store or Store()
    space = get_space(spec.space, **spec.space_params)
    task = _task(spec)
    cache.put_task(task.key(), task.name, task.protocol(), task.dataset)
    config = experiment_config(spec)
    cache.put_experiment(spec.name, config.to_json(), CODE_VERSION, HARDWARE)
    for algo in spec.algorithms:
        for trial in range(algo.trials or spec.trials):
            _run(cache, store, spec, algo, trial, space, task)
    _add_noise_replicates(store, spec, space, task)
    if own:
        store.flush(cache)


def standard_experiments() -> tuple[ExperimentSpec, ...]:
    """Three experiments that together exercise every view and every warning of the report.

    - `fx_gcnn`: genetic_cnn on digits (not a paper setting), four algorithm families x 5 trials, the GA
      with 4 generations of 4 (Table 1 layout), equal budgets, a random baseline, validation objective;
    - `fx_re`: macro_re on `fashion_mnist_re_paper` (the RE paper's protocol: selected on TEST data),
      random search, regularized evolution and TPE (shared with fx_gcnn: the ranking has two blocks);
    - `fx_de`: de_sequential on cifar10_de (DE-NAS Table 3), differential evolution (5 trials) and NSGA-II
      (3 trials, a larger budget): fewer than 5 seeds, unequal budgets, no random baseline.
    """
    return (
        ExperimentSpec(
            name="fx_gcnn",
            space="genetic_cnn",
            space_params={"stages": [3, 4, 5], "channels": [8, 8, 16]},
            task="digits_quick",
            algorithms=(
                AlgoSpec("random_search"),
                AlgoSpec("regularized_evolution", params={"population": 4, "sample_size": 2}),
                AlgoSpec("genetic_cnn_ga", params={"population": 4, "generations": 3}),
                AlgoSpec("optuna_tpe", params={"n_startup_trials": 4}),
            ),
            description="fixture: Genetic CNN space on digits",
        ),
        ExperimentSpec(
            name="fx_re",
            space="macro_re",
            space_params={"channels": 16},
            task="fashion_mnist_re_paper",
            algorithms=(
                AlgoSpec("random_search"),
                AlgoSpec("regularized_evolution", params={"population": 4, "sample_size": 2}),
                AlgoSpec("optuna_tpe", params={"n_startup_trials": 4}),
            ),
            description="fixture: macro_re with the RE paper's protocol",
        ),
        ExperimentSpec(
            name="fx_de",
            space="de_sequential",
            space_params={},
            task="cifar10_de",
            algorithms=(
                AlgoSpec("differential_evolution", params={"population": 6, "children": 3, "generations": 3}),
                AlgoSpec("optuna_nsga2", params={"population_size": 4}, trials=3, budget=18),
            ),
            budget=15,
            description="fixture: DE-NAS space on CIFAR-10",
        ),
    )


def build_report_cache(path: Path, experiments: Sequence[ExperimentSpec] | None = None) -> Path:
    """Write the fixture cache at `path` (a new DuckDB file) and return the path."""
    store = Store()
    with Cache(path) as cache, cache.transaction():
        for spec in experiments if experiments is not None else standard_experiments():
            write_experiment(cache, spec, store)
        store.flush(cache)
    return path


@dataclass(frozen=True)
class ManualQuery:
    """One hand-made query: the network (an encoding), its replicate and what its training recorded."""

    encoding: str
    val_acc: float | None
    test_acc: float | None
    train_seconds: float = 1.0
    replicate: int = 0
    status: str = "ok"
    generation: int | None = None


def write_manual_run(
    cache: Cache,
    experiment: str,
    label: str,
    trial: int,
    queries: Sequence[ManualQuery],
    space_name: str = "genetic_cnn",
    space_params: dict[str, Any] | None = None,
    task_name: str = "digits_quick",
    objective: str | None = None,
    budget: int | None = None,
    algorithm_name: str | None = None,
    params: dict[str, Any] | None = None,
) -> str:
    """A run with exactly the given queries (stored evaluations are reused, as a cache would); its run id."""
    space_params = space_params or {}
    space = get_space(space_name, **space_params)
    task = preset(task_name)
    objective = objective or task.objective
    cache.put_task(task.key(), task.name, task.protocol(), task.dataset)
    rid = make_run_id(experiment, label, trial)
    cache.put_run(
        RunRecord(
            run_id=rid,
            experiment=experiment,
            algorithm=label,
            params=json.dumps(params or {}, sort_keys=True),
            space=space.name,
            task_key=task.key(),
            trial=trial,
            seed=run_seed(experiment, label, trial),
            budget=Budget(evaluations=budget or max(1, len(queries))).to_json(),
            status="finished",
            started_at=EPOCH,
            finished_at=EPOCH + timedelta(seconds=10),
            space_params=json.dumps(space_params, sort_keys=True),
            algorithm_name=algorithm_name or label,
            objective=objective,
            workers=1,
        )
    )
    rows = []
    clock = 0.0
    for step, q in enumerate(queries):
        genome = space.decode(q.encoding)
        arch_hash = space.hash(genome)
        if cache.architecture(arch_hash) is None:
            cache.put_architecture(
                arch_hash,
                space.name,
                space.version,
                q.encoding,
                space.canonical(genome),
                space.params,
                space.summary(genome),
            )
        stored = cache.get_evaluation(arch_hash, task.key(), q.replicate)
        record = stored or EvalRecord(
            arch_hash=arch_hash,
            task_key=task.key(),
            replicate=q.replicate,
            seed=training_seed(task.key(), arch_hash, q.replicate),
            status=q.status,
            val_acc=q.val_acc,
            test_acc=q.test_acc,
            train_seconds=q.train_seconds,
            device="cpu:1t",
            versions=VERSIONS,
            created_at=EPOCH,
            params=20_000,
            run_id=rid,
        )
        if stored is None:
            cache.put_evaluation(record)
        clock += float(record.train_seconds)
        rows.append(
            TrajectoryRow(
                run_id=rid,
                step=step,
                arch_hash=arch_hash,
                replicate=q.replicate,
                fitness=record.metric(objective),
                cached=stored is not None,
                sim_seconds=clock,
                wall_seconds=0.01 * (step + 1),
                generation=q.generation,
                encoding=q.encoding,
            )
        )
    cache.append_trajectory(rows)
    return rid


def put_manual_experiment(
    cache: Cache, name: str, task_name: str = "digits_quick", paper: str | None = None, trials: int = 5
) -> None:
    """An experiments row for hand-made runs (genetic_cnn on a task preset)."""
    config = ExperimentConfig(
        name=name,
        space="genetic_cnn",
        space_params={},
        task=preset(task_name),
        algorithms=(AlgorithmEntry(name="random_search", label="random_search"),),
        trials=trials,
        paper=paper,
    )
    cache.put_experiment(name, config.to_json(), CODE_VERSION, HARDWARE)
