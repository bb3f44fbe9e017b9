"""Training-free fitness: the seam through which a search algorithm reads proxy scores instead of accuracies.

The Evaluator (`harness.evaluation`) answers "what accuracy does replicate r of this network reach under
this task" and trains on a miss. A zero-cost algorithm asks a different question, "what are this untrained
network's proxy scores", so it gets its own small evaluator rather than a mode of the training one:

- `ProxyFitness.scores(genomes)` returns one {proxy: value} per genome, read from the cache's `proxies`
  table or computed (`harness.proxies_store.score_genomes`) and stored there first;
- every query is charged the seconds recorded when the score was computed, cached or not (the same
  simulated-clock rule as trainings), in `charged_seconds`, so a zero-cost run and a training run can be
  compared at equal simulated cost;
- the final network of such a run is trained through the ordinary Evaluator, so its accuracy enters the
  same comparison as every other algorithm's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from cache.store import Cache
from harness.proxies_store import proxy_key, score_genomes
from harness.spaces.base import SearchSpace
from harness.tasks import Task


class ProxyFitness:
    def __init__(
        self,
        cache: Cache,
        space: SearchSpace,
        task: Task,
        names: Sequence[str],
        seed: int = 0,
        device: str | torch.device = "cpu",
        data_root: str | None = None,
        threads: int | None = 1,
    ) -> None:
        self.cache = cache
        self.space = space
        self.task = task
        self.names = tuple(names)
        self.seed = seed
        self.device = device
        self.data_root = data_root
        self.threads = threads
        self.keys = {proxy_key(n, seed): n for n in self.names}
        self.charged_seconds = 0.0
        self.computed = 0
        self.queries = 0
        self._known: dict[str, dict[str, tuple[float | None, float]]] = {}
        self._load()

    def _load(self, hashes: Sequence[str] | None = None) -> None:
        marks = ", ".join("?" for _ in self.keys)
        sql = (
            f"SELECT arch_hash, proxy, value, seconds FROM proxies WHERE task_key = ? AND proxy IN ({marks})"
        )
        params: list[Any] = [self.task.key(), *self.keys]
        if hashes is not None:
            sql += f" AND arch_hash IN ({', '.join('?' for _ in hashes)})"
            params += list(hashes)
        for arch, key, value, seconds in self.cache.execute(sql, params).fetchall():
            self._known.setdefault(arch, {})[self.keys[key]] = (value, float(seconds or 0.0))

    def _complete(self, arch: str) -> bool:
        return len(self._known.get(arch, {})) == len(self.names)

    def charge(self, seconds: float) -> None:
        """Charge other training-free work of the algorithm (e.g. `zero_cost_ga`'s DARTS tournament, timed
        as it runs: unlike a stored score, a search repeated after a kill re-measures it)."""
        self.charged_seconds += float(seconds)

    def scores(self, genomes: Sequence[Any]) -> list[dict[str, float | None]]:
        """Proxy values of each genome (None where a proxy is undefined for the network; every value None
        for a network the space refuses for the task)."""
        hashes = [self.space.hash(g) for g in genomes]
        missing = {h: g for h, g in zip(hashes, genomes, strict=True) if not self._complete(h)}
        if missing:
            summary = score_genomes(
                self.cache,
                self.space,
                self.task,
                list(missing.values()),
                self.names,
                seed=self.seed,
                device=self.device,
                data_root=self.data_root,
                threads=self.threads,
            )
            self.computed += summary.computed
            self._load(list(missing))
        out = []
        for h in hashes:
            row = self._known.get(h, {})
            self.queries += 1
            if not self._complete(h):  # the space refuses the network for this task: nothing is stored
                out.append(dict.fromkeys(self.names))
                continue
            self.charged_seconds += sum(seconds for _, seconds in row.values())
            out.append({n: row[n][0] for n in self.names})
        return out
