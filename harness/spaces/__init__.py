"""Search spaces by name: `get_space("genetic_cnn", stages=(3, 4, 5))`."""

from __future__ import annotations

import importlib
from typing import Any

from cache.base import register_space_resolver
from harness.errors import EvonasError, unknown
from harness.spaces.base import VALID, ArchGraph, InputSpec, SearchSpace, Shape, Validity

# name -> "module:Class"; modules are imported on first use so that a space's heavy imports stay lazy.
_REGISTRY: dict[str, str] = {
    "genetic_cnn": "harness.spaces.genetic_cnn:GeneticCnnSpace",
    "macro_re": "harness.spaces.macro_re:MacroReSpace",
    "de_sequential": "harness.spaces.de_sequential:DeSequentialSpace",
    "renas_cell": "harness.spaces.renas_cell:RenasCellSpace",
    "darts_cell": "harness.spaces.darts_cell:DartsCellSpace",
}


def space_names() -> list[str]:
    """Every registered space name, sorted."""
    return sorted(_REGISTRY)


def space_class(name: str) -> type[SearchSpace]:
    """The class registered under `name`."""
    if name not in _REGISTRY:
        raise unknown("search space", name, space_names())
    module_name, class_name = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def get_space(name: str, **params: Any) -> SearchSpace:
    """Instantiate the space `name` with its keyword parameters."""
    cls = space_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise EvonasError(f"bad parameters for search space {name!r}: {exc}") from exc


register_space_resolver(get_space)  # the cache rebuilds stored architectures through it (`cache.base`)


__all__ = [
    "VALID",
    "ArchGraph",
    "InputSpec",
    "SearchSpace",
    "Shape",
    "Validity",
    "get_space",
    "space_class",
    "space_names",
]
