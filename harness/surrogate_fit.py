"""Fitting a surrogate on a table: the measured evaluations of one (space, task), read from a cache.

The table is every stored, measured evaluation of the task whose architecture belongs to the space (its
encoding decodes in the space and hashes to the stored hash). Its digest names exactly those rows, so a
model records the table it saw and is refitted when the table changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cache.store import Cache
from harness.errors import CacheError
from harness.spaces.base import SearchSpace
from harness.surrogate_features import Featurizer, featurizer_for
from harness.surrogate_model import NoiseModel, SurrogateInfo, SurrogateModel, fit_noise
from harness.surrogate_trees import TreeEnsemble, from_sklearn

log = logging.getLogger(__name__)

KINDS = ("gbr", "forest", "extra_trees")
DEFAULT_KIND = "gbr"  # chosen by `evonas surrogate evaluate` on the shipped digits table (README)
MIN_NETWORKS = 20


@dataclass(frozen=True)
class TableNetwork:
    """One network of the table: its hash, genome and ok replicates as (val, test, seconds)."""

    arch_hash: str
    genome: Any
    replicates: tuple[tuple[int, float, float, float], ...]  # (replicate, val, test, seconds)

    @property
    def mean_val(self) -> float:
        return float(np.mean([r[1] for r in self.replicates]))

    @property
    def mean_test(self) -> float:
        return float(np.mean([r[2] for r in self.replicates]))

    @property
    def mean_log_seconds(self) -> float:
        return float(np.mean([np.log(max(r[3], 1e-6)) for r in self.replicates]))


@dataclass(frozen=True)
class Table:
    space: SearchSpace
    task_key: str
    networks: tuple[TableNetwork, ...]
    evaluations: int
    digest: str


def read_table(cache: Cache, space: SearchSpace, task_key: str) -> Table:
    """The measured ok evaluations of `task_key` on `space`, grouped by network, with their digest."""
    rows = cache.execute(
        "SELECT e.arch_hash, a.encoding, e.replicate, e.status, e.val_acc, e.test_acc, e.train_seconds "
        "FROM evaluations e JOIN architectures a USING (arch_hash) "
        "WHERE e.task_key = ? AND a.space = ? AND NOT coalesce(e.predicted, false) "
        "ORDER BY e.arch_hash, e.replicate",
        [task_key, space.name],
    ).fetchall()
    digest = hashlib.sha256()
    grouped: dict[str, list[tuple[int, float, float, float]]] = {}
    genomes: dict[str, Any] = {}
    count = 0
    for arch, encoding, replicate, status, val, test, seconds in rows:
        if arch not in genomes:
            try:
                genome = space.decode(encoding)
            except Exception:  # another configuration of the space: not this table
                genome = None
            genomes[arch] = genome if genome is not None and space.hash(genome) == arch else None
        if genomes[arch] is None:
            continue
        digest.update(json.dumps([arch, replicate, status, val, test, seconds]).encode() + b"\n")
        count += 1
        if status == "ok" and val is not None and test is not None:
            grouped.setdefault(arch, []).append(
                (int(replicate), float(val), float(test), float(seconds or 0))
            )
    networks = tuple(TableNetwork(a, genomes[a], tuple(r)) for a, r in grouped.items())
    return Table(space, task_key, networks, count, digest.hexdigest())


def make_regressor(kind: str, seed: int) -> Any:
    from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor

    if kind == "gbr":
        return GradientBoostingRegressor(
            n_estimators=400, max_depth=4, learning_rate=0.05, subsample=0.8, random_state=seed
        )
    if kind == "forest":
        return RandomForestRegressor(n_estimators=200, min_samples_leaf=3, random_state=seed, n_jobs=1)
    if kind == "extra_trees":
        return ExtraTreesRegressor(n_estimators=200, min_samples_leaf=3, random_state=seed, n_jobs=1)
    raise CacheError(f"surrogate kind {kind!r} not in {KINDS}")


def fit_ensemble(kind: str, x: np.ndarray, y: np.ndarray, seed: int) -> TreeEnsemble:
    model = make_regressor(kind, seed)
    model.fit(x, y)
    return from_sklearn(model, x.shape[1])


def fit_networks(
    space: SearchSpace,
    task_key: str,
    networks: Sequence[TableNetwork],
    kind: str = DEFAULT_KIND,
    seed: int = 0,
    featurizer: Featurizer | None = None,
) -> tuple[Featurizer, dict[str, TreeEnsemble], NoiseModel]:
    """The mean models and noise model of `networks` (a table or a training part of one)."""
    if len(networks) < MIN_NETWORKS:
        raise CacheError(
            f"a surrogate needs at least {MIN_NETWORKS} networks with an ok evaluation, the table has "
            f"{len(networks)} for {space.name} on task {task_key[:12]}"
        )
    featurizer = featurizer or featurizer_for(space, [n.genome for n in networks])
    x = featurizer.matrix(space, [n.genome for n in networks])
    targets = {
        "val": np.array([n.mean_val for n in networks]),
        "test": np.array([n.mean_test for n in networks]),
        "seconds": np.array([n.mean_log_seconds for n in networks]),
    }
    means = {name: fit_ensemble(kind, x, y, seed) for name, y in targets.items()}
    noise = fit_noise([[(r[1], r[2]) for r in n.replicates] for n in networks])
    return featurizer, means, noise


def fit_table(
    table: Table, kind: str = DEFAULT_KIND, seed: int = 0, quality: dict[str, Any] | None = None
) -> SurrogateModel:
    featurizer, means, noise = fit_networks(table.space, table.task_key, table.networks, kind, seed)
    info = SurrogateInfo(
        space=table.space.name,
        space_params=json.loads(json.dumps(table.space.params)),
        task_key=table.task_key,
        table_digest=table.digest,
        kind=kind,
        networks=len(table.networks),
        evaluations=table.evaluations,
        seed=seed,
        quality=quality or {},
    )
    log.info(
        "fitted a %s surrogate on %d networks (%d evaluations; noise from %d networks with replicates)",
        kind,
        len(table.networks),
        table.evaluations,
        noise.networks,
    )
    return SurrogateModel(info, featurizer, means, noise)
