"""Search strategies by name: `get_algorithm("regularized_evolution", space, rng=rng, population=100)`."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from algorithms.base import Algorithm, Candidate, Observation, Outcome
from harness.errors import EvonasError, unknown
from harness.spaces.base import SearchSpace

# name -> "module:Class"; imported on first use (Optuna is only imported when an Optuna sampler is asked for).
_REGISTRY: dict[str, str] = {
    "random_search": "algorithms.random_search:RandomSearch",
    "regularized_evolution": "algorithms.regularized_evolution:RegularizedEvolution",
    "genetic_cnn_ga": "algorithms.genetic_cnn_ga:GeneticCnnGA",
    "differential_evolution": "algorithms.differential_evolution:DifferentialEvolution",
    "optuna_tpe": "algorithms.optuna_samplers:OptunaTPE",
    "optuna_random": "algorithms.optuna_samplers:OptunaRandom",
    "optuna_nsga2": "algorithms.optuna_samplers:OptunaNSGA2",
    "renas": "algorithms.renas:Renas",
    "zero_cost_ga": "algorithms.zero_cost_ga:ZeroCostGA",
}


def algorithm_names() -> list[str]:
    return sorted(_REGISTRY)


def algorithm_class(name: str) -> type[Algorithm]:
    if name not in _REGISTRY:
        raise unknown("algorithm", name, algorithm_names())
    module_name, class_name = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def get_algorithm(
    name: str, space: SearchSpace, rng: np.random.Generator | int | None = None, **params: Any
) -> Algorithm:
    """Instantiate algorithm `name` on `space`. `rng` is a Generator or an int seed (default seed 0)."""
    cls = algorithm_class(name)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng or 0)
    try:
        return cls(space, generator, **params)
    except TypeError as exc:
        raise EvonasError(f"bad parameters for algorithm {name!r}: {exc}") from exc


__all__ = [
    "Algorithm",
    "Candidate",
    "Observation",
    "Outcome",
    "algorithm_class",
    "algorithm_names",
    "get_algorithm",
]
