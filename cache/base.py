"""The base layer's identities: the package version, canonical JSON, and the search-space hook.

Base-layer modules (`cache.base`, `cache.errors`, `cache.hashing`) import no other evonas module; every
package may import them. Seeds and run ids are in `cache.hashing`. The import order of the packages is
stated, and enforced, in `tests/unit/test_layering.py`.

The cache stores architectures by hash, and `cache verify` rebuilds each one from its encoding, which needs
the search spaces; they live in `harness.spaces`, above the cache. Importing `harness` (any of its modules)
therefore registers `get_space` here (`register_space_resolver`), and the cache asks through
`resolve_space`: the cache knows the interface it needs, never the module that provides it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

VERSION = "0.1.0"  #: evonas's version (`harness.__version__`; recorded with every evaluation)

SpaceResolver = Callable[..., Any]  #: `get_space(name, **params)` -> a search space
_space_resolver: SpaceResolver | None = None


def canonical_json(value: Any) -> str:
    """Deterministic compact JSON used for canonical forms and hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def register_space_resolver(resolver: SpaceResolver) -> None:
    """Install the function that builds a search space from its name and parameters (`harness.spaces`)."""
    global _space_resolver
    _space_resolver = resolver


def resolve_space(name: str, params: dict[str, Any]) -> Any:
    """The search space `name` with `params`, built by the registered resolver.

    No resolver is a programming error (nothing imported `harness`), not a problem of the cache, so it
    raises RuntimeError, which `cache verify` does not report as a broken architecture.
    """
    if _space_resolver is None:
        raise RuntimeError("the cache rebuilds architectures with the search spaces: import harness first")
    return _space_resolver(name, **params)
