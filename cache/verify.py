"""`evonas cache verify`: recompute every fact the cache stores that can be derived from other stored facts.

- architectures: the canonical form and the hash of the stored encoding (under the stored space version);
- tasks: the key is the hash of the spec, the dataset column is the spec's;
- evaluations (`cache.verify_evaluations`): the seed is the derived training seed; status and metrics agree
  the way the trainer records them; the curve ends at the recorded metric; sizes agree per (network, task)
  and with the architecture's recorded size;
- runs and trajectories (`cache.verify_runs`): references, steps, fitness = the evaluation's metric under
  the run's objective, the cached flags, the simulated clock, and the proposed encoding's hash.

`verify` takes anything with DuckDB's `execute(sql, params)`: an open `Cache`, or the in-memory database in
which an import is checked before it touches its target. It never writes. Retraining stored evaluations
(`cache verify --retrain N`) is `harness.verify_retrain`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Protocol

from cache.base import canonical_json, resolve_space
from cache.errors import EvonasError
from cache.verify_evaluations import evaluation_problems, size_problems
from cache.verify_runs import generation_problems, run_problems, trajectory_problems

TASK_KEY_CHARS = 16  # harness.tasks.Task.key()


class Queryable(Protocol):
    """A DuckDB connection, or a Cache (whose `execute` wraps it)."""

    def execute(self, sql: str, params: Sequence[Any] | None = ..., /) -> Any: ...


def verify(db: Queryable, limit: int = 1000) -> list[str]:
    """Every problem found, one line each (empty when the cache is consistent)."""
    specs = task_specs(db)
    problems: list[str] = []
    problems += _architectures(db)
    problems += _tasks(db)
    problems += evaluation_problems(db, specs)
    problems += size_problems(db)
    problems += _proxies(db)
    problems += run_problems(db)
    problems += trajectory_problems(db)
    problems += generation_problems(db)
    return problems[:limit]


def task_specs(db: Queryable) -> dict[str, dict[str, Any] | None]:
    """Every stored task's spec (None where it is not a JSON object)."""
    out: dict[str, dict[str, Any] | None] = {}
    for task_key, spec in db.execute("SELECT task_key, spec FROM tasks").fetchall():
        try:
            value = json.loads(spec) if spec is not None else None
        except json.JSONDecodeError:
            value = None
        out[task_key] = value if isinstance(value, dict) else None
    return out


def _architectures(db: Queryable) -> list[str]:
    out = []
    spaces: dict[tuple[str, str], Any] = {}
    rows = db.execute(
        "SELECT arch_hash, space, space_version, encoding, canonical, space_params FROM architectures "
        "ORDER BY arch_hash"
    ).fetchall()
    for arch, space_name, version, encoding, canonical, params in rows:
        key = (space_name, params or "{}")
        try:
            if key not in spaces:
                spaces[key] = resolve_space(space_name, json.loads(params or "{}"))
            space = spaces[key]
            if space.version != version:
                out.append(
                    f"architecture {arch[:12]}: stored space version {version}, code has {space.version}"
                )
                continue
            genome = space.decode(encoding)
        except (EvonasError, ValueError, TypeError, KeyError) as exc:
            out.append(f"architecture {arch[:12]}: cannot rebuild {space_name} {encoding!r}: {exc}")
            continue
        if space.hash(genome) != arch:
            out.append(f"architecture {arch[:12]}: hash of {encoding!r} is {space.hash(genome)[:12]}")
        if space.canonical(genome) != canonical:
            out.append(f"architecture {arch[:12]}: canonical form differs from the stored one")
    return out


def _tasks(db: Queryable) -> list[str]:
    out = []
    rows = db.execute("SELECT task_key, name, spec, dataset FROM tasks ORDER BY task_key").fetchall()
    for task_key, name, spec, dataset in rows:
        try:
            parsed = json.loads(spec)
        except (TypeError, json.JSONDecodeError):
            out.append(f"task {name} ({task_key}): its spec is not JSON")
            continue
        digest = hashlib.sha256(canonical_json(parsed).encode("utf-8")).hexdigest()[:TASK_KEY_CHARS]
        if digest != task_key:
            out.append(f"task {name} ({task_key}): its spec hashes to {digest}")
        if not isinstance(parsed, dict) or parsed.get("dataset") != dataset:
            out.append(f"task {name} ({task_key}): dataset {dataset!r} is not its spec's")
    return out


def _proxies(db: Queryable) -> list[str]:
    orphans = db.execute(
        "SELECT arch_hash, task_key, proxy FROM proxies p "
        "WHERE NOT EXISTS (SELECT 1 FROM architectures a WHERE a.arch_hash = p.arch_hash) "
        "OR NOT EXISTS (SELECT 1 FROM tasks t WHERE t.task_key = p.task_key) ORDER BY ALL"
    ).fetchall()
    return [f"proxy {p} of {arch[:12]}/{task}: unknown architecture or task" for arch, task, p in orphans]
