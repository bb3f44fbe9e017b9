"""The genetic process of Genetic CNN (Xie & Yuille 2017, Algorithm 1).

Initialisation: N individuals, bits ~ Bernoulli(0.5) (or all zeros, Sec. 4.1.2). Each of T generations:
  selection  -- Russian roulette: N independent draws with P(n) proportional to r_n - min_m r_m, so the
                worst individual never survives;
  crossover  -- pairs (2n-1, 2n), n = 1..floor(N/2), with probability p_C; each pair of stages is
                swapped with probability q_C;
  mutation   -- every individual that took no part in a crossover is mutated with probability p_M; each
                bit flips with probability q_M;
  evaluation -- every individual is evaluated; one seen before is trained again as its next replicate,
                and its fitness is the mean over all its occurrences.
So the run asks for exactly N (T + 1) evaluations (1,020 in the paper).

Where Algorithm 1 is silent, our readings: when every fitness is equal the roulette is uniform (the paper's
weights would all be 0); "seen before" means the same network (the same canonical form: strings that differ
only in isolated nodes, or are isomorphic, count as one individual), and its occurrences are counted over
the whole run; a crossed pair is not mutated in the same generation (Algorithm 1, line 6). The fitness is
the task's objective: validation accuracy in the paper preset (Sec. 4.1 holds out 10,000 training images).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from algorithms.capabilities import BinaryStageSpace
from harness.errors import EvonasError
from harness.spaces.base import SearchSpace


def roulette_probabilities(fitness: Sequence[float]) -> np.ndarray:
    """P(n) proportional to r_n - min r (Sec. 3.2.2); uniform when every fitness is equal."""
    r = np.asarray(fitness, dtype=float)
    weights = r - r.min()
    total = weights.sum()
    if total <= 0:
        return np.full(len(r), 1.0 / len(r))
    return weights / total


@dataclass(frozen=True)
class GeneticCnnConfig(AlgorithmConfig):
    """N = `population`, T = `generations`, p_M, q_M, p_C, q_C of Algorithm 1; `init`: "random" or
    "zeros" (Sec. 4.1.2)."""

    population: int = 20
    generations: int = 50
    p_mutation: float = 0.8
    q_mutation: float = 0.05
    p_crossover: float = 0.2
    q_crossover: float = 0.2
    init: str = "random"

    def validate(self) -> None:
        if self.init not in ("random", "zeros"):
            raise EvonasError(f"genetic_cnn_ga init must be 'random' or 'zeros', not {self.init!r}")
        if self.population < 2 or self.generations < 0:
            raise EvonasError("genetic_cnn_ga needs population >= 2 and generations >= 0")

    def params(self) -> dict[str, Any]:
        return {
            "population": int(self.population),
            "generations": int(self.generations),
            "p_mutation": float(self.p_mutation),
            "q_mutation": float(self.q_mutation),
            "p_crossover": float(self.p_crossover),
            "q_crossover": float(self.q_crossover),
            "init": self.init,
        }


class GeneticCnnGA(Algorithm):
    name = "genetic_cnn_ga"
    description = "Genetic CNN's GA (Xie & Yuille 2017): roulette selection, stage crossover, bit mutation"
    generational = True

    Config = GeneticCnnConfig

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        config: GeneticCnnConfig | None = None,
        **params: Any,
    ) -> None:
        super().__init__(space, rng)
        self.config = self.make_config(config, params)
        if not isinstance(space, BinaryStageSpace):
            raise EvonasError(
                f"genetic_cnn_ga needs a binary stage space such as genetic_cnn, not {space.name}"
            )
        self.stages: BinaryStageSpace = space
        settings = self.config.params()
        self.population_size: int = settings["population"]
        self.generations: int = settings["generations"]
        self.p_mutation: float = settings["p_mutation"]
        self.q_mutation: float = settings["q_mutation"]
        self.p_crossover: float = settings["p_crossover"]
        self.q_crossover: float = settings["q_crossover"]
        self.init: str = settings["init"]
        self.generation = -1  # index of the generation being evaluated
        self.members: list[str] = []  # encodings of the current generation
        self.replicates: list[int] = []
        self.handed = 0
        self.member_tickets: list[int] = []  # ticket of each member handed out, in member order
        self.results: dict[
            int, tuple[str, float]
        ] = {}  # member index -> (arch hash, this occurrence's result)
        self.occurrences: dict[str, list[float]] = {}  # arch hash -> results of all its occurrences so far
        self.asked_occurrences: dict[str, int] = {}  # arch hash -> replicates handed out so far
        self.fitness: list[float] = []  # mean-over-occurrences fitness of the last complete generation
        self.history: list[dict[str, Any]] = []  # per generation: encodings and fitness (Table 1)
        # the last selection and variation: parents, crossed pairs, mutated members (Fig. 4 diagnostics)
        self.last_variation: dict[str, list[int]] = {}

    @property
    def finished(self) -> bool:
        return self.generation >= self.generations and self._generation_complete()

    def _generation_complete(self) -> bool:
        return self.generation >= 0 and len(self.results) == self.population_size

    # --- generations ---
    def _start_generation(self, genomes: list[Any]) -> None:
        self.generation += 1
        self.members = [self._enc(g) for g in genomes]
        self.replicates = []
        for genome in genomes:
            arch = self.space.hash(genome)
            k = self.asked_occurrences.get(arch, 0)
            self.replicates.append(k)
            self.asked_occurrences[arch] = k + 1
        self.handed = 0
        self.member_tickets = []
        self.results = {}

    def _initial(self) -> list[Any]:
        if self.init == "zeros":
            return [self.stages.zeros() for _ in range(self.population_size)]
        return [self.space.sample(self.rng) for _ in range(self.population_size)]

    def _next_generation(self) -> list[Any]:
        n = self.population_size
        probs = roulette_probabilities(self.fitness)
        chosen = self.rng.choice(n, size=n, replace=True, p=probs)
        genomes = [self._dec(self.members[i]) for i in chosen]
        crossed = [False] * n
        for a in range(0, n - 1, 2):
            if self.rng.random() < self.p_crossover:
                genomes[a], genomes[a + 1] = self.stages.swap_stages(
                    genomes[a], genomes[a + 1], self.q_crossover, self.rng
                )
                crossed[a] = crossed[a + 1] = True
        mutated = []
        for i in range(n):
            if not crossed[i] and self.rng.random() < self.p_mutation:
                genomes[i] = self.stages.flip_bits(genomes[i], self.q_mutation, self.rng)
                mutated.append(i)
        self.last_variation = {
            "parents": chosen.tolist(),
            "crossed_pairs": [a for a in range(0, n - 1, 2) if crossed[a]],
            "mutated": mutated,
        }
        return genomes

    # --- ask / tell ---
    def ask(self, n: int) -> list[Candidate]:
        if self.generation < 0:
            self._start_generation(self._initial())
        elif self._generation_complete() and self.generation < self.generations:
            self._start_generation(self._next_generation())
        out = []
        while self.handed < len(self.members) and len(out) < n:
            i = self.handed
            candidate = self.issue(self._dec(self.members[i]), self.replicates[i], self.generation)
            self.member_tickets.append(int(candidate.ticket))  # type: ignore[arg-type]
            out.append(candidate)
            self.handed += 1
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        for candidate, outcome in observations:
            index = self._member_index(candidate)
            self.results[index] = (outcome.arch_hash, float(outcome.fitness))
            self.occurrences.setdefault(outcome.arch_hash, []).append(float(outcome.fitness))
        if self._generation_complete():
            self.fitness = [
                float(np.mean(self.occurrences[self.results[i][0]])) for i in range(self.population_size)
            ]
            self.history.append(
                {
                    "generation": self.generation,
                    "members": list(self.members),
                    "fitness": list(self.fitness),
                    "hashes": [self.results[i][0] for i in range(self.population_size)],
                    "replicates": list(self.replicates),
                }
            )

    def generations_completed(self) -> int:
        return len(self.history)

    def generation_log(self, since: int = 0) -> list[GenerationEntry]:
        """Every member of each completed generation, its fitness the mean over its occurrences so far."""
        return [
            GenerationEntry(
                generation=int(h["generation"]),
                role="member",
                member=i,
                arch_hash=h["hashes"][i],
                encoding=h["members"][i],
                fitness=float(h["fitness"][i]),
                replicate=int(h["replicates"][i]),
            )
            for h in self.history[since:]
            for i in range(len(h["members"]))
        ]

    def _member_index(self, candidate: Candidate) -> int:
        waiting = {t: i for i, t in enumerate(self.member_tickets) if i not in self.results}
        return waiting[self.ticket_of(candidate, waiting)]

    # --- persistence ---
    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": rng_state(self.rng),
            "generation": self.generation,
            "members": list(self.members),
            "replicates": list(self.replicates),
            "handed": self.handed,
            "member_tickets": list(self.member_tickets),
            "tickets": self.tickets,
            "results": {int(k): list(v) for k, v in self.results.items()},
            "occurrences": {k: list(v) for k, v in self.occurrences.items()},
            "asked_occurrences": dict(self.asked_occurrences),
            "fitness": list(self.fitness),
            "history": [dict(h) for h in self.history],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])
        self.generation = state["generation"]
        self.members = list(state["members"])
        self.replicates = list(state["replicates"])
        self.handed = state["handed"]
        self.member_tickets = [int(t) for t in state["member_tickets"]]
        self.tickets = int(state["tickets"])
        self.results = {int(k): (v[0], float(v[1])) for k, v in state["results"].items()}
        self.occurrences = {k: list(v) for k, v in state["occurrences"].items()}
        self.asked_occurrences = dict(state["asked_occurrences"])
        self.fitness = list(state["fitness"])
        self.history = [dict(h) for h in state["history"]]
