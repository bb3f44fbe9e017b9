"""The runner's hook for algorithms that read zero-cost proxy scores (training-free fitness).

An algorithm declares the capability by having `proxy_names`, `proxy_seed` and `bind(fitness)`
(`UsesProxies`, detected structurally: no base class to inherit). For such an algorithm the run's driver
builds a `harness.proxy_fitness.ProxyFitness` on the run's cache, space and task (the driver process is
the only writer of the `proxies` table, as of every other table) and binds it; after every `ask()` the
driver charges the proxy seconds spent since the previous `ask()` on the run's simulated clock
(`ProxyCharge.take`), before the candidates it proposed start. A proxy score costs the seconds recorded
when it was first computed, cached or not, the same rule as trainings, so the charge is a function of the
cache state and a resumed run repeats it exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from harness.proxy_fitness import ProxyFitness


@runtime_checkable
class UsesProxies(Protocol):
    """An algorithm whose fitness (or part of it) is zero-cost proxy scores."""

    @property
    def proxy_names(self) -> Sequence[str]:
        """The proxies it reads (names of `harness.proxies`); empty: it reads none in this setting."""
        ...

    @property
    def proxy_seed(self) -> int:
        """The seed of the proxies' initialisation and batch (part of the stored key)."""
        ...

    def bind(self, fitness: ProxyFitness) -> None: ...


class ProxyCharge:
    """Hands out, once each, the proxy seconds a fitness has charged since the last `take()`."""

    def __init__(self, fitness: ProxyFitness) -> None:
        self.fitness = fitness
        self.taken = fitness.charged_seconds

    def take(self) -> float:
        delta = self.fitness.charged_seconds - self.taken
        self.taken = self.fitness.charged_seconds
        return delta


def attach_proxies(algorithm: Any, evaluator: Any) -> ProxyCharge | None:
    """Bind a ProxyFitness over the evaluator's cache, space and task to an algorithm that uses proxies;
    None (nothing bound) for every other algorithm."""
    if not isinstance(algorithm, UsesProxies) or not algorithm.proxy_names:
        return None
    fitness = ProxyFitness(
        evaluator.cache,
        evaluator.space,
        evaluator.task,
        tuple(algorithm.proxy_names),
        seed=int(algorithm.proxy_seed),
        device=evaluator.device or "cpu",
        data_root=evaluator.data_root,
    )
    algorithm.bind(fitness)
    return ProxyCharge(fitness)
