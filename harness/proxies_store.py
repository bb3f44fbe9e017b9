"""Zero-cost proxies of a space's networks on a task, computed once and stored in the cache's `proxies` table.

A stored score is keyed by (arch_hash, task_key, proxy) in the public schema; the proxy column carries the
proxy's name and the seed of its initialisation and batch, `"<name>@s<seed>"` (e.g. `naswot@s0`), so the
cache holds one value per (architecture, task, proxy, seed) without a schema change. A NULL value means
the proxy is undefined for that network (e.g. NASWOT without ReLUs); it is stored so it is not retried.
Each proxy's recipe (batch size, initialisation, mode) is fixed by its name (see `harness.proxies`).

The batch: the first images of one permutation of the task's training split drawn from the seed
(`harness.proxies.draw_batch`); the network: `space.build` under the same seed, then re-initialised by
each proxy from the seed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cache.store import Cache
from harness.errors import EvonasError
from harness.proxies import batch_size_needed, compute_proxies, draw_batch, spec
from harness.proxies_kernels import ProxyError
from harness.spaces.base import SearchSpace
from harness.tasks import Task

log = logging.getLogger(__name__)

SEED_MARK = "@s"


def proxy_key(name: str, seed: int) -> str:
    """The value of the `proxy` column for proxy `name` at `seed`."""
    spec(name)
    return f"{name}{SEED_MARK}{int(seed)}"


def split_key(key: str) -> tuple[str, int]:
    """(name, seed) of a stored `proxy` column value."""
    name, mark, seed = key.rpartition(SEED_MARK)
    if not mark or not seed.isdigit():
        raise EvonasError(f"proxy key {key!r} is not of the form <name>{SEED_MARK}<seed>")
    return name, int(seed)


@dataclass(frozen=True)
class ProxySummary:
    networks: int
    computed: int  #: networks that had at least one proxy computed now
    already_stored: int  #: networks whose every requested proxy was stored
    invalid: int  #: networks the space refuses for the task (nothing stored)
    wall_seconds: float
    seconds_per_proxy: dict[str, float]  #: mean seconds per network of each proxy computed now


def stored(cache: Cache, task_key: str) -> set[tuple[str, str]]:
    """Every (arch_hash, proxy key) stored for a task."""
    rows = cache.execute("SELECT arch_hash, proxy FROM proxies WHERE task_key = ?", [task_key]).fetchall()
    return {(a, p) for a, p in rows}


def build_network(space: SearchSpace, genome: Any, task: Task, seed: int) -> torch.nn.Module:
    """`space.build` on the CPU under `seed`, inside a forked RNG scope (nothing global changes)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return space.build(genome, task)


def score_genomes(
    cache: Cache,
    space: SearchSpace,
    task: Task,
    genomes: Sequence[Any],
    names: Sequence[str],
    seed: int = 0,
    device: str | torch.device = "cpu",
    data_root: str | None = None,
    on_network: Callable[[int], None] | None = None,
    threads: int | None = 1,
) -> ProxySummary:
    """Compute and store every proxy in `names` for every genome; what is stored already is skipped.

    `threads`: torch's intra-op CPU threads while scoring (1 by default: these networks are small, and
    on a shared CPU more threads than free cores cost far more than they give).
    """
    from harness.training import torch_threads

    with torch_threads(threads):
        return _score_genomes(cache, space, task, genomes, names, seed, device, data_root, on_network)


def _score_genomes(
    cache: Cache,
    space: SearchSpace,
    task: Task,
    genomes: Sequence[Any],
    names: Sequence[str],
    seed: int,
    device: str | torch.device,
    data_root: str | None,
    on_network: Callable[[int], None] | None,
) -> ProxySummary:
    from harness.training import device_split, resolve_device

    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    task_key = task.key()
    keys = {n: proxy_key(n, seed) for n in names}
    have = stored(cache, task_key)
    data = device_split(task, dev, data_root)
    x, y = draw_batch(data.x_train, data.y_train, batch_size_needed(names), seed)
    cache.put_task(task_key, task.name, task.protocol(), task.dataset)
    start = time.perf_counter()
    computed = already = invalid = 0
    totals: dict[str, float] = dict.fromkeys(names, 0.0)
    counts: dict[str, int] = dict.fromkeys(names, 0)
    seen: set[str] = set()
    for i, genome in enumerate(genomes):
        if on_network is not None:
            on_network(i)
        arch = space.hash(genome)
        if arch in seen:
            continue
        seen.add(arch)
        todo = [n for n in names if (arch, keys[n]) not in have]
        if not todo:
            already += 1
        elif not space.is_valid(genome, task):
            invalid += 1
        else:
            rows = _score_one(space, genome, task, seed, x, y, todo)
            with cache.transaction():
                cache.put_architecture(
                    arch,
                    space.name,
                    space.version,
                    space.encode(genome),
                    space.canonical(genome),
                    space.params,
                    space.summary(genome),
                )
                for name, (value, seconds) in rows.items():
                    cache.put_proxy(arch, task_key, keys[name], value, seconds)
                    totals[name] += seconds
                    counts[name] += 1
            cache.idle(min_interval=2.0)
            computed += 1
    return ProxySummary(
        networks=len(seen),
        computed=computed,
        already_stored=already,
        invalid=invalid,
        wall_seconds=time.perf_counter() - start,
        seconds_per_proxy={n: totals[n] / counts[n] for n in names if counts[n]},
    )


def _score_one(
    space: SearchSpace,
    genome: Any,
    task: Task,
    seed: int,
    x: torch.Tensor,
    y: torch.Tensor,
    names: Sequence[str],
) -> dict[str, tuple[float | None, float]]:
    model = build_network(space, genome, task, seed)
    out: dict[str, tuple[float | None, float]] = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            value = compute_proxies(model, x, y, seed, [name])[name]
            out[name] = (value.value, value.seconds)
        except ProxyError as exc:
            log.info("%s: %s undefined: %s", space.encode(genome), name, exc)
            out[name] = (None, time.perf_counter() - t0)
    return out


def evaluated_genomes(
    cache: Cache, space: SearchSpace, task: Task, sample: int | None = None, seed: int = 0
) -> list[Any]:
    """The space's networks with an `ok` evaluation for the task (all, or `sample` drawn by `seed`)."""
    rows = cache.execute(
        "SELECT DISTINCT a.arch_hash, a.encoding FROM evaluations e JOIN architectures a USING (arch_hash) "
        "WHERE e.task_key = ? AND e.status = 'ok' AND a.space = ? AND a.space_version = ? "
        "ORDER BY a.arch_hash",
        [task.key(), space.name, space.version],
    ).fetchall()
    if sample is not None and sample < len(rows):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x434F5252]))  # 'CORR'
        picked = sorted(rng.choice(len(rows), size=sample, replace=False).tolist())
        rows = [rows[i] for i in picked]
    return [space.decode(encoding) for _, encoding in rows]


def proxy_values(
    cache: Cache, task_key: str, names: Iterable[str], seed: int = 0
) -> dict[str, dict[str, float | None]]:
    """Stored scores as {arch_hash: {proxy name: value}} for the given names at `seed`."""
    keys = {proxy_key(n, seed): n for n in names}
    marks = ", ".join("?" for _ in keys)
    rows = cache.execute(
        f"SELECT arch_hash, proxy, value FROM proxies WHERE task_key = ? AND proxy IN ({marks})",
        [task_key, *keys],
    ).fetchall()
    out: dict[str, dict[str, float | None]] = {}
    for arch, key, value in rows:
        out.setdefault(arch, {})[keys[key]] = value
    return out
