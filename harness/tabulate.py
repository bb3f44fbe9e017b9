"""`evonas tabulate`: fill a cache with a space's networks x R replicates, so that it is a tabular benchmark.

Which networks: every canonical class of the space (`--all`), or a seeded uniform sample *over classes*
(`--sample N`): a uniform draw over bit strings would over-weight the classes that many strings build.
For Genetic CNN the classes are the product of each stage's classes (6 x 31 x 302 = 56,172 for stages
(3, 4, 5)), so class i is found by mixed-radix arithmetic, without enumerating the whole space. The sample
is the first N entries of one seeded permutation of all classes, so a larger N extends a smaller one.
Spaces without an enumeration of their classes can only be sampled through `space.sample` (uniform over
genomes, deduplicated by hash), and say so.

How: replicate-major (every network's replicate 0 before any replicate 1, so a table cut short is still
a table), skipping what is stored, trained through the Evaluator (the cache's one writer) and its
executor. Everything trained is stored as it finishes, so a killed tabulation resumes by running the same
command again.
"""

from __future__ import annotations

import itertools
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cache.store import Cache
from harness.errors import EvonasError
from harness.evaluation import Evaluator, Request
from harness.executors import Executor
from harness.spaces.base import SearchSpace
from harness.tasks import Task

log = logging.getLogger(__name__)

TABULATE_RUN = "tabulate"
CHUNK = 256  # requests handed to the evaluator at once (the executor fuses and spreads them)


@dataclass(frozen=True)
class ClassIndex:
    """The canonical classes of a Genetic CNN space as a mixed-radix number: one digit per stage."""

    space: Any
    stage_classes: tuple[tuple[tuple[int, ...], ...], ...]  # per stage: one bit string per class, sorted

    @property
    def count(self) -> int:
        return int(np.prod([len(c) for c in self.stage_classes], dtype=object))

    def at(self, index: int) -> Any:
        if not 0 <= index < self.count:
            raise EvonasError(f"class index {index} outside [0, {self.count})")
        bits: list[int] = []
        digits = []
        for classes in reversed(self.stage_classes):
            index, digit = divmod(index, len(classes))
            digits.append(digit)
        for classes, digit in zip(self.stage_classes, reversed(digits), strict=True):
            bits.extend(classes[digit])
        return self.space.from_bits(bits)


def class_index(space: SearchSpace) -> ClassIndex | None:
    """The class enumeration of `space`, or None when the space has none (only Genetic CNN has one)."""
    if space.name != "genetic_cnn":
        return None
    from harness.spaces.genetic_cnn import canonical_stage, stage_bit_count

    per_stage = []
    for nodes in space.nodes:
        first: dict[str, tuple[int, ...]] = {}
        for bits in itertools.product((0, 1), repeat=stage_bit_count(nodes)):
            first.setdefault(canonical_stage(nodes, bits), bits)  # the smallest string of each class
        per_stage.append(tuple(first[form] for form in sorted(first)))
    return ClassIndex(space, tuple(per_stage))


def select_genomes(
    space: SearchSpace,
    *,
    all_classes: bool = False,
    sample: int | None = None,
    seed: int = 0,
    include_named: bool = False,
) -> tuple[list[Any], str]:
    """The networks to tabulate (distinct by hash, in a fixed order) and a line saying how they were drawn."""
    if all_classes == (sample is not None):
        raise EvonasError("tabulate needs exactly one of --all or --sample N")
    if sample is not None and sample < 1:
        raise EvonasError(f"--sample must be >= 1, got {sample}")
    index = class_index(space)
    rng = np.random.default_rng(seed)
    if index is not None:
        order = (
            range(index.count) if all_classes else rng.permutation(index.count)[: min(sample, index.count)]
        )
        genomes = [index.at(int(i)) for i in order]
        how = (
            f"all {index.count} classes"
            if all_classes
            else f"{len(genomes)} of {index.count} classes, uniform over classes (seed {seed})"
        )
    elif all_classes:
        raise EvonasError(f"space {space.name} has no enumeration of its classes; use --sample N")
    else:
        genomes = _sample_distinct(space, int(sample), rng)
        how = f"{len(genomes)} distinct networks from {space.name}.sample (uniform over genomes, seed {seed})"
    if include_named:  # first, so that a table cut short holds them
        genomes = [space.named(name) for name in sorted(space.named_architectures())] + genomes
        how += ", plus every named reference (first)"
    return _distinct(space, genomes), how


def _sample_distinct(space: SearchSpace, n: int, rng: np.random.Generator) -> list[Any]:
    seen: dict[str, Any] = {}
    attempts = 0
    while len(seen) < n and attempts < 50 * n:
        genome = space.sample(rng)
        seen.setdefault(space.hash(genome), genome)
        attempts += 1
    if len(seen) < n:
        log.warning("only %d distinct networks after %d draws", len(seen), attempts)
    return list(seen.values())


def _distinct(space: SearchSpace, genomes: Sequence[Any]) -> list[Any]:
    out: dict[str, Any] = {}
    for genome in genomes:
        out.setdefault(space.hash(genome), genome)
    return list(out.values())


@dataclass(frozen=True)
class TabulateSummary:
    networks: int
    replicates: int
    wanted: int
    already_stored: int
    trained: int
    wall_seconds: float
    how: str

    @property
    def per_hour(self) -> float:
        return 3600.0 * self.trained / self.wall_seconds if self.wall_seconds > 0 else 0.0


def tabulate(
    cache: Cache,
    space: SearchSpace,
    task: Task,
    genomes: Sequence[Any],
    replicates: int,
    executor: Executor,
    *,
    how: str = "",
    device: str | None = None,
    data_root: str | None = None,
    progress: bool | None = None,
    chunk: int = CHUNK,
    on_chunk: Callable[[int], None] | None = None,
) -> TabulateSummary:
    """Train (replicate-major) every (genome, replicate < R) the cache lacks; returns what was done."""
    if replicates < 1:
        raise EvonasError(f"--replicates must be >= 1, got {replicates}")
    evaluator = Evaluator(cache, space, task, "live", executor, device=device, data_root=data_root)
    hashes = [space.hash(g) for g in genomes]
    wanted = [
        Request(g, r, run_id=TABULATE_RUN)
        for r in range(replicates)
        for g, h in zip(genomes, hashes, strict=True)
        if evaluator.lookup(h, r) is None
    ]
    stored = len(genomes) * replicates - len(wanted)
    log.info("tabulate %s on %s: %s; %d stored, %d to train", space.name, task.name, how, stored, len(wanted))
    bar = _bar(len(wanted), progress)
    start = time.perf_counter()
    try:
        for n, begin in enumerate(range(0, len(wanted), chunk)):
            part = wanted[begin : begin + chunk]
            evaluator.evaluate(part, on_stored=(lambda _: bar.update(1)) if bar is not None else None)
            if on_chunk is not None:
                on_chunk(n)
    finally:
        if bar is not None:
            bar.close()
    return TabulateSummary(
        networks=len(genomes),
        replicates=replicates,
        wanted=len(genomes) * replicates,
        already_stored=stored,
        trained=evaluator.trained,
        wall_seconds=time.perf_counter() - start,
        how=how,
    )


def _bar(total: int, enabled: bool | None) -> Any:
    if not (sys.stderr.isatty() if enabled is None else enabled):
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="net", dynamic_ncols=True, file=sys.stderr, smoothing=0.05)
