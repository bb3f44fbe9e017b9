"""`evonas cache verify`: recompute every derived identity in the cache and check every reference."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cache.hashing import training_seed
from cache.records import STATUSES
from cache.store import Cache
from harness.errors import EvonasError
from harness.spaces.base import canonical_json


def verify(cache: Cache, limit: int = 1000) -> list[str]:
    """Every problem found, one line each (empty when the cache is consistent)."""
    problems: list[str] = []
    problems += _architectures(cache)
    problems += _tasks(cache)
    problems += _evaluations(cache)
    problems += _trajectories(cache)
    return problems[:limit]


def _architectures(cache: Cache) -> list[str]:
    from harness.spaces import get_space

    out = []
    spaces: dict[tuple[str, str], Any] = {}
    rows = cache.execute(
        "SELECT arch_hash, space, space_version, encoding, canonical, space_params FROM architectures"
    ).fetchall()
    for arch, space_name, version, encoding, canonical, params in rows:
        key = (space_name, params or "{}")
        try:
            if key not in spaces:
                spaces[key] = get_space(space_name, **json.loads(params or "{}"))
            space = spaces[key]
            if space.version != version:
                out.append(
                    f"architecture {arch[:12]}: stored space version {version}, code has {space.version}"
                )
                continue
            genome = space.decode(encoding)
        except (EvonasError, ValueError) as exc:
            out.append(f"architecture {arch[:12]}: cannot rebuild {space_name} {encoding!r}: {exc}")
            continue
        if space.hash(genome) != arch:
            out.append(f"architecture {arch[:12]}: hash of {encoding!r} is {space.hash(genome)[:12]}")
        if space.canonical(genome) != canonical:
            out.append(f"architecture {arch[:12]}: canonical form differs from the stored one")
    return out


def _tasks(cache: Cache) -> list[str]:
    out = []
    for task_key, name, spec in cache.execute("SELECT task_key, name, spec FROM tasks").fetchall():
        digest = hashlib.sha256(canonical_json(json.loads(spec)).encode("utf-8")).hexdigest()[: len(task_key)]
        if digest != task_key:
            out.append(f"task {name} ({task_key}): its spec hashes to {digest}")
    return out


def _evaluations(cache: Cache) -> list[str]:
    out = []
    orphans = cache.execute(
        "SELECT arch_hash, task_key, replicate FROM evaluations e "
        "WHERE NOT EXISTS (SELECT 1 FROM architectures a WHERE a.arch_hash = e.arch_hash) "
        "OR NOT EXISTS (SELECT 1 FROM tasks t WHERE t.task_key = e.task_key)"
    ).fetchall()
    out += [f"evaluation {a[:12]}/{t}/{r}: unknown architecture or task" for a, t, r in orphans]
    rows = cache.execute(
        "SELECT arch_hash, task_key, replicate, seed, status, val_acc, test_acc FROM evaluations"
    ).fetchall()
    for arch, task, rep, seed, status, val, test in rows:
        where = f"evaluation {arch[:12]}/{task}/{rep}"
        if seed != training_seed(task, arch, rep):
            out.append(f"{where}: seed {seed} is not the derived training seed")
        if status not in STATUSES:
            out.append(f"{where}: unknown status {status!r}")
        for label, value in (("val_acc", val), ("test_acc", test)):
            if value is not None and not 0.0 <= value <= 1.0:
                out.append(f"{where}: {label} {value} outside [0, 1]")
    return out


def _trajectories(cache: Cache) -> list[str]:
    missing_runs = cache.execute(
        "SELECT DISTINCT run_id FROM trajectories t "
        "WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = t.run_id)"
    ).fetchall()
    out = [f"trajectory of unknown run {r[0]}" for r in missing_runs]
    dangling = cache.execute(
        "SELECT t.run_id, t.step FROM trajectories t JOIN runs r USING (run_id) "
        "WHERE NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.arch_hash = t.arch_hash "
        "AND e.task_key = r.task_key AND e.replicate = t.replicate)"
    ).fetchall()
    out += [f"trajectory {run} step {step}: its evaluation is not stored" for run, step in dangling]
    gaps = cache.execute(
        "SELECT run_id, count(*), max(step) FROM trajectories "
        "GROUP BY run_id HAVING count(*) != max(step) + 1"
    ).fetchall()
    out += [f"trajectory {run}: {n} rows but last step {last}" for run, n, last in gaps]
    return out
