"""Running experiments as a library: `run_experiment` (what `evonas run` calls) and the `Experiment` class.

```python
from harness import Experiment

experiment = Experiment.from_toml("examples/gcnn.toml", cache="evonas.duckdb")
summary = experiment.run()
frame = experiment.results()  # one row per evaluation of every run (pandas; arrow=True for pyarrow)
```

`Experiment(...)` builds the same thing from Python values: the arguments are the TOML file's sections, and
they go through the same validation (`harness.config.parse_config`), so a bad value is the same one-line
ConfigError either way.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import EvonasError

if TYPE_CHECKING:
    from cache.store import Cache
    from harness.config import EvaluationSettings, ExperimentConfig
    from harness.executors import Executor


def open_cache(path: str | Path | None, read_only: bool = False) -> Cache:
    """The cache at `path` (default: `$EVONAS_CACHE` or the per-user default), opened."""
    from cache.store import Cache, default_cache_path

    return Cache(default_cache_path(str(path) if path is not None else None), read_only=read_only)


def make_executor_for(settings: EvaluationSettings) -> Executor:
    """The executor an experiment's [evaluation] section asks for."""
    from harness.executors import make_executor

    return make_executor(
        settings.executor,
        workers=settings.processes,
        slots_per_gpu=settings.slots_per_gpu,
        threads=settings.threads,
        address=settings.address,
    )


def run_experiment(config: Any, cache: Any, resume: bool, restart: bool, progress: bool) -> dict[str, Any]:
    """Run every (algorithm, trial) of `config` against an open cache; returns a summary."""
    from harness.runner import Runner

    specs = config.run_specs()
    existing = {r.run_id for r in cache.runs(config.name)}
    wanted = {s.run_id for s in specs}
    if existing and restart:
        for run_id in sorted(existing):
            cache.delete_run(run_id)
    elif existing & wanted and not resume:
        raise EvonasError(
            f"experiment {config.name!r} already has {len(existing & wanted)} run(s) in {cache.path}: "
            "pass --resume to continue unfinished runs or --restart to run it again (evaluations stay cached)"
        )
    if config.evaluation.table:  # tabular mode on a table directory: checked now, answers every lookup
        cache.attach_table(config.evaluation.table)
    cache.put_experiment(config.name, config.to_json(), code_version(), hardware())
    start = time.perf_counter()
    with make_executor_for(config.evaluation) as executor:
        runner = Runner(
            cache,
            executor,
            mode=config.evaluation.mode,
            out_of_table=config.evaluation.out_of_table,
            replicates=config.evaluation.replicates,
            surrogate_policy=config.evaluation.surrogate_policy,
            surrogate_scope=config.evaluation.surrogate_scope,
            device=config.evaluation.device,
            data_root=config.evaluation.data_root,
            progress=progress,
        )
        summaries = runner.run(specs, resume=resume)
        trained, hits, predicted, absent = runner.trained, runner.hits, runner.predicted, runner.absent
    return {
        "experiment": config.name,
        "runs": len(summaries),
        "trained": trained,
        "queries": trained + hits + predicted + absent,
        "cache_hits": hits,
        "predicted": predicted,
        "not_in_table": absent,
        "wall_seconds": time.perf_counter() - start,
        "best": {s.run_id: s.best_fitness for s in summaries},
    }


def code_version() -> str:
    """evonas's version, with the git revision (and `.dirty`) when it runs from a checkout."""
    import subprocess

    from cache.base import VERSION

    here = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return VERSION
    if rev.returncode != 0:
        return VERSION
    return f"{VERSION}+g{rev.stdout.strip()}{'.dirty' if dirty.stdout.strip() else ''}"


def hardware() -> str:
    """JSON of the machine an experiment ran on (stored with the experiment)."""
    import platform

    import torch

    info = {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if torch.cuda.is_available()
        else [],
        "system": platform.system(),
    }
    return json.dumps(info, sort_keys=True)


# The columns of `Experiment.results()`: the trajectory row, its run, and the answer it got: the stored
# evaluation, or in surrogate mode the model's stored prediction (`predicted` true). `label` is the
# algorithm's label in the experiment (column `runs.algorithm` in the cache), `algorithm` the registered
# algorithm name (`runs.algorithm_name`), `param_count` the network's parameter count (`evaluations.params`).
RESULTS_SQL = """
WITH answers AS (
    SELECT r.experiment, t.run_id, r.algorithm AS label, r.algorithm_name AS algorithm, r.trial, t.step,
           t.arch_hash, t.encoding, t.replicate, t.fitness, t.cached, t.sim_seconds, t.wall_seconds,
           t.generation, e.status AS e_status, e.val_acc AS e_val, e.test_acc AS e_test,
           e.train_seconds AS e_seconds, e.params AS param_count, e.flops,
           p.model_id IS NOT NULL AND (s.policy = 'predicted' OR e.status IS NULL) AS predicted,
           p.status AS p_status, p.val_acc AS p_val, p.test_acc AS p_test, p.train_seconds AS p_seconds
    FROM trajectories t JOIN runs r USING (run_id)
    LEFT JOIN evaluations e
        ON e.arch_hash = t.arch_hash AND e.task_key = r.task_key AND e.replicate = t.replicate
    LEFT JOIN run_surrogates s ON s.run_id = t.run_id
    LEFT JOIN predictions p
        ON p.model_id = s.model_id AND p.arch_hash = t.arch_hash AND p.replicate = t.replicate
    WHERE r.experiment = ?
)
SELECT experiment, run_id, label, algorithm, trial, step, arch_hash, encoding, replicate, fitness, cached,
       sim_seconds, wall_seconds, generation,
       CASE WHEN predicted THEN p_status ELSE e_status END AS status,
       CASE WHEN predicted THEN p_val ELSE e_val END AS val_acc,
       CASE WHEN predicted THEN p_test ELSE e_test END AS test_acc,
       CASE WHEN predicted THEN p_seconds ELSE e_seconds END AS train_seconds,
       param_count, flops, predicted
FROM answers
ORDER BY label, trial, step
"""


def query_frame(cache: Cache, sql: str, params: Sequence[Any], arrow: bool) -> Any:
    """A query's rows as a pyarrow Table (`arrow=True`) or a pandas DataFrame (needs pandas installed)."""
    result = cache.execute(sql, list(params))
    with warnings.catch_warnings():  # DuckDB 2 warns that a DB-API result copies once into Arrow: fine here
        warnings.simplefilter("ignore")
        fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table  # DuckDB 2 | 1
        table = fetch()
    if arrow:
        return table
    try:
        import pandas  # noqa: F401 -- pyarrow converts through it
    except ImportError as exc:
        raise EvonasError(
            "results as a DataFrame need pandas (pip install pandas), or pass arrow=True"
        ) from exc
    return table.to_pandas()


def _absolute(cache: str | Path | None) -> Path:
    """The cache file, resolved now: an Experiment keeps its file when the working directory changes."""
    from cache.store import default_cache_path

    return default_cache_path(str(cache) if cache is not None else None).resolve()


class Experiment:
    """An experiment (space, task, algorithms x trials, budget, evaluation) bound to a cache file."""

    cache_path: Path

    def __init__(
        self,
        name: str,
        space: str,
        algorithms: Sequence[str | Mapping[str, Any]],
        task: str | Mapping[str, Any] = "digits",
        *,
        space_params: Mapping[str, Any] | None = None,
        trials: int = 5,
        seed: int = 0,
        sim_workers: int = 1,
        budget: int | Mapping[str, Any] = 20,
        evaluation: Mapping[str, Any] | None = None,
        cache: str | Path | None = None,
    ) -> None:
        """Build an experiment from Python values, the same sections as an experiment file.

        `algorithms`: names, or tables like `{"name": "regularized_evolution", "label": "re", "params": ..}`;
        `task`: a preset name or a [task] table; `budget`: evaluations per run, or `{"evaluations": ..,
        "seconds": ..}`; `evaluation`: the [evaluation] table (e.g. `{"mode": "tabular"}`); `sim_workers`:
        the simulated asynchronous workers of each run.
        """
        from harness.config import parse_config

        document = {
            "experiment": {
                "name": name,
                "trials": trials,
                "seed": seed,
                "sim_workers": sim_workers,
                "budget": {"evaluations": budget} if isinstance(budget, int) else dict(budget),
            },
            "space": {"name": space, "params": dict(space_params or {})},
            "task": {"preset": task} if isinstance(task, str) else dict(task),
            "evaluation": dict(evaluation or {}),
            "algorithms": [{"name": a} if isinstance(a, str) else dict(a) for a in algorithms],
        }
        self.config = parse_config(document, source=f"Experiment({name!r})")
        self.cache_path = _absolute(cache)

    @classmethod
    def from_config(cls, config: ExperimentConfig, cache: str | Path | None = None) -> Experiment:
        """An experiment of a parsed ExperimentConfig."""
        experiment = cls.__new__(cls)
        experiment.config = config
        experiment.cache_path = _absolute(cache)
        return experiment

    @classmethod
    def from_toml(cls, path: str | Path, cache: str | Path | None = None) -> Experiment:
        """The experiment of a TOML file (`evonas run` reads the same files)."""
        from harness.config import load_config

        return cls.from_config(load_config(path), cache)

    @property
    def name(self) -> str:
        return self.config.name

    def with_evaluation(self, **settings: Any) -> Experiment:
        """A copy with [evaluation] settings replaced (e.g. `executor="process", processes=4`)."""
        evaluation = replace(self.config.evaluation, **settings)
        return Experiment.from_config(replace(self.config, evaluation=evaluation), self.cache_path)

    def run(self, resume: bool = False, restart: bool = False, progress: bool = False) -> dict[str, Any]:
        """Run every (algorithm, trial); the summary `evonas run` prints. See `run_experiment`."""
        with open_cache(self.cache_path) as cache:
            return run_experiment(self.config, cache, resume=resume, restart=restart, progress=progress)

    def results(self, arrow: bool = False) -> Any:
        """Every evaluation of every run of this experiment, one row each (pandas; pyarrow with arrow=True).

        Columns: experiment, run_id, label (the algorithm's label here), algorithm (its registered name),
        trial, step, arch_hash, encoding, replicate, fitness, cached, sim_seconds, wall_seconds, generation,
        status, val_acc, test_acc, train_seconds, param_count, flops, predicted.
        """
        with open_cache(self.cache_path, read_only=True) as cache:
            return query_frame(cache, RESULTS_SQL, [self.name], arrow)
