"""Differential evolution for NAS (Pei, Chang, Tian), on any space with a `de_mutation` operator.

The loop of the paper (sections 1-3, Table 1):

1. Initialisation: `population` (20) genomes sampled with the space's initialisation and evaluated.
2. Mutation: `children` = m = n/2 (10) new genomes per generation, each v = x_best + F (x_r2 - x_r3)
   (`space.de_mutation`), where x_best is drawn uniformly from the `top_k` best-scored members (the paper's
   "randomly from the top performer"; `top_k` = 5 as in the authors' notebook) and r2, r3 are two distinct
   other members (i != r1 != r2 != r3); a `top_k` above the population size means the whole population.
3. Natural selection: parents and children are merged, error (1 - fitness) and parameter count are min-max
   normalised over the merged set, score = 0.7 * error + 0.3 * params, and the n lowest scores survive
   (ties: lower error, then fewer parameters, then parents before children in their order).

`generations` rounds of 2-3 follow the initial population. The paper's "9 generations" (Table 1) are 9
populations: the authors' notebook runs `for g in range(2, 10)`, 8 rounds after the initial population, and
saves population-1.bin (the initial one) to population-9.bin. So the default is 8 and a run evaluates
population + generations x children genomes (20 + 8 x 10 = 100); the report calls the last one
"population 9".

Interpretations beyond the paper: with `distinct_children` (default) a child whose canonical hash repeats
an earlier child of the same generation is redrawn, up to `max_redraws` times (the authors' notebook does
the same, without a limit). With `distinct_from_population` (default; ours) a child equal to a current
member, and an initial genome equal to an earlier one, is redrawn too (the cache would return the same
result, so a repeat only wastes a slot); the notebook does neither (its population-9.bin holds one network
four times): `distinct_from_population=False` is the notebook's behaviour, used by the paper config.
A constant objective over the merged set normalises to 0. An outcome without a parameter count (an invalid
network) counts as the largest count of the merged set; its fitness is 0 by the Outcome contract.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

import numpy as np

from algorithms.base import (
    Algorithm,
    AlgorithmConfig,
    Candidate,
    GenerationEntry,
    Observation,
    rng_state,
    set_rng_state,
)
from algorithms.capabilities import DeMutationSpace
from harness.errors import EvonasError
from harness.spaces.base import SearchSpace

logger = logging.getLogger(__name__)


def selection_scores(
    errors: Sequence[float] | np.ndarray,
    params: Sequence[float] | np.ndarray,
    error_weight: float = 0.7,
    params_weight: float = 0.3,
) -> np.ndarray:
    """The paper's selection score (section 3): weighted sum of min-max normalised error and parameters.

    x* = (x - min) / (max - min) per objective over the given set; an objective with max == min
    normalises to 0. Lower is better.
    """
    e = np.asarray(errors, dtype=float)
    p = np.asarray(params, dtype=float)
    if e.shape != p.shape or e.ndim != 1:
        raise EvonasError(f"selection_scores needs two 1-d arrays of one length, got {e.shape} and {p.shape}")
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(p))):
        raise EvonasError("selection_scores needs finite errors and parameter counts")

    def normalise(x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return x
        span = float(x.max() - x.min())
        return (x - x.min()) / span if span > 0 else np.zeros_like(x)

    return error_weight * normalise(e) + params_weight * normalise(p)


def pareto_front(
    accuracies: Sequence[float] | np.ndarray, params: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Indices (ascending) of the non-dominated points: no other point has accuracy >= and params <= with
    one of them strict. Equal points are all kept."""
    acc = np.asarray(accuracies, dtype=float)
    par = np.asarray(params, dtype=float)
    if acc.shape != par.shape or acc.ndim != 1:
        raise EvonasError(f"pareto_front needs two 1-d arrays of one length, got {acc.shape} and {par.shape}")
    keep = [
        i
        for i in range(acc.size)
        if not np.any((acc >= acc[i]) & (par <= par[i]) & ((acc > acc[i]) | (par < par[i])))
    ]
    return np.asarray(keep, dtype=int)


def natural_selection(
    fitness: Sequence[float],
    params: Sequence[int | None],
    survivors: int,
    error_weight: float = 0.7,
    params_weight: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's natural selection over a merged set (parents first, then children): the indices of
    the `survivors` lowest scores (ties: lower error, then fewer parameters, then earlier in the set) and
    every member's score. A member without a parameter count counts as the largest count of the set."""
    known = [p for p in params if p is not None]
    worst = max(known) if known else 0
    if not known:
        logger.warning("no outcome carries a parameter count: DE selection ranks by error only")
    errors = np.array([1.0 - f for f in fitness], dtype=float)
    counts = np.array([float(worst if p is None else p) for p in params], dtype=float)
    scores = selection_scores(errors, counts, error_weight, params_weight)
    order = np.lexsort((np.arange(len(errors)), counts, errors, scores))[:survivors]
    return order, scores


@dataclass(frozen=True)
class Member:
    """An evaluated genome: its encoding, fitness, parameter count and score at its last selection."""

    encoding: str
    fitness: float
    params: int | None
    score: float | None = None
    arch_hash: str = ""


@dataclass(frozen=True)
class GenerationRecord:
    """The population after selection `generation` (0 = the initial one) and the children evaluated in it."""

    generation: int
    population: tuple[Member, ...]
    children: tuple[Member, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "population": [asdict(m) for m in self.population],
            "children": [asdict(m) for m in self.children],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRecord:
        return cls(
            generation=int(data["generation"]),
            population=tuple(Member(**m) for m in data["population"]),
            children=tuple(Member(**m) for m in data["children"]),
        )


@dataclass(frozen=True)
class DeConfig(AlgorithmConfig):
    """The paper's n (`population`), m (`children`), rounds after the initial population (`generations`),
    the top performers x_best is drawn from (`top_k`), the selection weights, and our redraw settings."""

    population: int = 20
    children: int = 10
    generations: int = 8
    top_k: int = 5
    error_weight: float = 0.7
    params_weight: float = 0.3
    distinct_children: bool = True
    max_redraws: int = 50
    distinct_from_population: bool = True

    def validate(self) -> None:
        name = "differential_evolution"
        if self.population < 3:
            raise EvonasError(f"{name}: population must be >= 3 (best, r2, r3), got {self.population}")
        if self.children < 1:
            raise EvonasError(f"{name}: children must be >= 1, got {self.children}")
        if self.generations < 0:
            raise EvonasError(f"{name}: generations must be >= 0, got {self.generations}")
        if self.top_k < 1:
            raise EvonasError(f"{name}: top_k must be >= 1, got {self.top_k}")
        ew, pw = self.error_weight, self.params_weight
        if ew < 0 or pw < 0 or ew + pw <= 0:
            raise EvonasError(
                f"{name}: error_weight and params_weight must be >= 0 and not both 0, got {ew} and {pw}"
            )
        if self.max_redraws < 0:
            raise EvonasError(f"{name}: max_redraws must be >= 0, got {self.max_redraws}")

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "population": int(self.population),
            "children": int(self.children),
            "generations": int(self.generations),
            "top_k": int(self.top_k),
            "error_weight": float(self.error_weight),
            "params_weight": float(self.params_weight),
            "distinct_children": bool(self.distinct_children),
            "max_redraws": int(self.max_redraws),
        }
        if not self.distinct_from_population:  # listed only when set: older states keep their params
            params["distinct_from_population"] = False
        return params


@dataclass
class _Slot:
    """One genome of the generation being evaluated (mutable bookkeeping, never exposed)."""

    genome: Any
    encoding: str
    handed_out: bool = False
    done: bool = False
    fitness: float = 0.0
    params: int | None = None
    ticket: int | None = None  # set when handed out
    arch_hash: str = ""


class DifferentialEvolution(Algorithm[Any]):
    """Generational DE of Pei, Chang, Tian (see the module docstring)."""

    name: ClassVar[str] = "differential_evolution"
    description: ClassVar[str] = (
        "Differential evolution NAS (Pei, Chang, Tian): v = x_best + F(x_r2 - x_r3) on layer sequences, "
        "selection by 0.7 * error + 0.3 * params (min-max normalised)"
    )
    generational: ClassVar[bool] = True
    Config = DeConfig

    def __init__(
        self, space: SearchSpace[Any], rng: np.random.Generator, config: DeConfig | None = None, **params: Any
    ) -> None:
        super().__init__(space, rng)
        self.config = self.make_config(config, params)
        if not isinstance(space, DeMutationSpace):
            raise EvonasError(
                f"differential_evolution needs a space with de_mutation(best, r2, r3, rng); "
                f"{space.name!r} has none (use 'de_sequential')"
            )
        self.de_space: DeMutationSpace = space
        c = self.config
        self.population_size = int(c.population)
        self.children = int(c.children)
        self.generations = int(c.generations)
        self.top_k = int(c.top_k)
        self.error_weight = float(c.error_weight)
        self.params_weight = float(c.params_weight)
        self.distinct_children = bool(c.distinct_children)
        self.max_redraws = int(c.max_redraws)
        self.distinct_from_population = bool(c.distinct_from_population)
        self._population: list[tuple[Any, Member]] = []  # sorted by score, best first
        self._batch: list[_Slot] | None = None
        self._completed = 0  # selections done: 1 after the initial population, generations + 1 at the end
        self._history: list[GenerationRecord] = []

    # --- views ---
    @property
    def finished(self) -> bool:
        return self._completed > self.generations

    @property
    def generation(self) -> int:
        """The generation being proposed or evaluated (0 = the initial population)."""
        return self._completed

    @property
    def population(self) -> tuple[Member, ...]:
        """The current population, best score first."""
        return tuple(member for _, member in self._population)

    @property
    def history(self) -> tuple[GenerationRecord, ...]:
        """One record per completed selection: the surviving population and that generation's children."""
        return tuple(self._history)

    # --- proposing ---
    def _draw_distinct(self, draw: Callable[[], Any], seen: set[str], distinct: bool) -> Any:
        """`draw()` again while it repeats a hash in `seen` (at most max_redraws times) if `distinct`, then
        record it."""
        genome = draw()
        redraws = 0
        while distinct and self.space.hash(genome) in seen and redraws < self.max_redraws:
            genome = draw()
            redraws += 1
        digest = self.space.hash(genome)
        if distinct and digest in seen:
            logger.debug("no new genome after %d redraws; keeping a repeat", self.max_redraws)
        seen.add(digest)
        return genome

    def _child(self) -> Any:
        genomes = [genome for genome, _ in self._population]
        n = len(genomes)
        best = int(self.rng.integers(min(self.top_k, n)))
        others = [i for i in range(n) if i != best]
        r2, r3 = (int(i) for i in self.rng.choice(others, size=2, replace=False))
        return self.de_space.de_mutation(genomes[best], genomes[r2], genomes[r3], self.rng)

    def _new_batch(self) -> list[_Slot]:
        ours = self.distinct_from_population
        seen = {self.space.hash(genome) for genome, _ in self._population} if ours else set()
        if self._completed == 0:
            genomes = [
                self._draw_distinct(
                    lambda: self.space.sample(self.rng), seen, self.distinct_children and ours
                )
                for _ in range(self.population_size)
            ]
        else:
            genomes = [
                self._draw_distinct(self._child, seen, self.distinct_children) for _ in range(self.children)
            ]
        return [_Slot(genome, self.space.encode(genome)) for genome in genomes]

    def ask(self, n: int) -> list[Candidate[Any]]:
        """Up to `n` not yet handed-out genomes of the current generation; [] while waiting for results."""
        if self.finished or n <= 0:
            return []
        if self._batch is None:
            self._batch = self._new_batch()
        out: list[Candidate[Any]] = []
        for slot in self._batch:
            if len(out) >= n:
                break
            if not slot.handed_out:
                slot.handed_out = True
                candidate = self.issue(slot.genome, 0, self._completed)  # generation 0 = initial population
                slot.ticket = candidate.ticket
                out.append(candidate)
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        for candidate, outcome in observations:
            waiting = {s.ticket: s for s in (self._batch or []) if s.handed_out and not s.done}
            slot = waiting[self.ticket_of(candidate, waiting)]
            fitness = float(outcome.fitness)
            if not math.isfinite(fitness):
                logger.warning("non-finite fitness %r for %s counted as 0", outcome.fitness, slot.encoding)
                fitness = 0.0
            slot.fitness = fitness
            slot.params = None if outcome.params is None else int(outcome.params)
            slot.arch_hash = outcome.arch_hash
            slot.done = True
        if self._batch is not None and all(slot.done for slot in self._batch):
            self._select()

    # --- selection ---
    def _select(self) -> None:
        batch = self._batch or []
        kids = [(s.genome, Member(s.encoding, s.fitness, s.params, arch_hash=s.arch_hash)) for s in batch]
        merged = self._population + kids
        order, scores = natural_selection(
            [m.fitness for _, m in merged],
            [m.params for _, m in merged],
            self.population_size,
            self.error_weight,
            self.params_weight,
        )
        self._population = [(merged[i][0], replace(merged[i][1], score=float(scores[i]))) for i in order]
        self._history.append(
            GenerationRecord(self._completed, self.population, tuple(member for _, member in kids))
        )
        self._batch = None
        self._completed += 1
        best = self._population[0][1]
        logger.info(
            "DE generation %d: best score %.4f (fitness %.4f, %s params)",
            self._completed - 1,
            best.score,
            best.fitness,
            best.params,
        )

    def generations_completed(self) -> int:
        return len(self._history)

    def generation_log(self, since: int = 0) -> list[GenerationEntry]:
        """Per completed generation: its children (the initial population in generation 0), in the order
        they were proposed, and the survivors of its selection, best score first."""
        out = []
        for record in self._history[since:]:
            for role, members in (("child", record.children), ("survivor", record.population)):
                out += [
                    GenerationEntry(
                        generation=record.generation,
                        role=role,
                        member=i,
                        arch_hash=m.arch_hash,
                        encoding=m.encoding,
                        fitness=m.fitness,
                        params=m.params,
                        score=m.score,
                    )
                    for i, m in enumerate(members)
                ]
        return out

    # --- persistence ---
    def state_dict(self) -> dict[str, Any]:
        batch = None
        if self._batch is not None:
            batch = [
                {
                    "encoding": s.encoding,
                    "handed_out": s.handed_out,
                    "done": s.done,
                    "fitness": s.fitness,
                    "params": s.params,
                    "ticket": s.ticket,
                    "arch_hash": s.arch_hash,
                }
                for s in self._batch
            ]
        return {
            "algorithm": self.name,
            "params": self.params,
            "rng": rng_state(self.rng),
            "tickets": self.tickets,
            "completed": self._completed,
            "population": [asdict(member) for _, member in self._population],
            "batch": batch,
            "history": [record.to_dict() for record in self._history],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("algorithm") != self.name:
            raise EvonasError(f"state is for algorithm {state.get('algorithm')!r}, not {self.name!r}")
        if state.get("params") != self.params:
            raise EvonasError(
                f"state was saved with parameters {state.get('params')}, this run has {self.params}"
            )
        set_rng_state(self.rng, state["rng"])
        self.tickets = int(state["tickets"])
        self._completed = int(state["completed"])
        self._population = [(self._dec(m["encoding"]), Member(**m)) for m in state["population"]]
        if state["batch"] is None:
            self._batch = None
        else:
            self._batch = [
                _Slot(
                    self._dec(s["encoding"]),
                    s["encoding"],
                    bool(s["handed_out"]),
                    bool(s["done"]),
                    float(s["fitness"]),
                    s["params"],
                    None if s["ticket"] is None else int(s["ticket"]),
                    str(s["arch_hash"]),
                )
                for s in state["batch"]
            ]
        self._history = [GenerationRecord.from_dict(record) for record in state["history"]]
