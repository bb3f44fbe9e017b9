"""`zero_cost_ga`: Reolon's GA with training-free fitness and a DARTS tournament (docs/zero_cost.md).

The search itself trains nothing: cells (single-cell `darts_cell` genomes) are scored with the paper's three
values (NTK condition, the authors' second value grad_corr x NTK x ln(params), -log|det K|; all minimised)
through a `harness.proxy_fitness.ProxyFitness` bound with `bind()` (by the runner's hook,
`harness.proxy_hook`, over the run's cache and task; every score lands in the `proxies` table, computed
once with seed `proxy_seed`, and its recorded seconds are charged on the run's simulated clock). Per
generation:

- offspring: `offsprings` children, spread over the parents; each is the parent mutated with the learned
  operation weights (below), crossed with probability `p_crossover` with the previous parent (the
  authors' mate), as in `Population.evolve_genotype`;
- selection (mu + lambda): parents compete with the offspring; a parent's scores are worsened by the
  aging factor, (1 + aging)^age, so an old parent can die (Fig. 5's oscillations; the paper gives no
  formula, this is ours); survivors = the weak Pareto front, filled or thinned by rank sums
  (`zero_cost_ga_selection.select`);
- every `darts_every`-th generation instead: `pop_size x tourn_size` candidates are selected that way,
  shuffled into `pop_size` groups, and each group's DARTS tournament winner survives
  (`zero_cost_ga_tournament`);
- the "global evolution strategy": per-operation counts of mutations used and of those that survived;
  operation weights (1 - e) x success/used + e x (1 - used/max used) + 0.2 with exploration e decaying by
  0.996 per mutation (the authors' `Mutations.mutate_one_edge`).

After `generations` (or earlier: with `search_seconds`, a generation after the first starts only if the
seconds charged so far plus the costliest generation's charge stay within it, so the search ends before
the run's time budget and its final network still starts inside it), `ask()` hands out one candidate:
the final network, the population's cells
concatenated (Fig. 3) in selection order, trained by the runner with the task's protocol so its accuracy
enters the same comparison as every other algorithm's. The search runs inside that first `ask()`; it is
deterministic in the generator's state, and every score is cached, so an interrupted run repeats it
without recomputing a score. Every generation's scores and every tournament's alphas are in
`history` (and `state_dict()`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from algorithms.base import Algorithm, Candidate, Observation, rng_state, set_rng_state
from algorithms.zero_cost_ga_selection import Scores, select
from harness.errors import EvonasError
from harness.proxies_analysis import paper_scores
from harness.spaces.darts_cell_genome import OPS, DartsCellGenome

SCORE_NAMES = ("ntk_cond", "naswot", "grad_corr", "params")


def _grown_ops(parent: DartsCellGenome, child: DartsCellGenome) -> set[int]:
    """Operations whose channel count the child raised in a block it shares with its parent."""
    grown: set[int] = set()
    for old, new in zip(parent.cells[0].blocks, child.cells[0].blocks, strict=False):
        grown |= {op for op, (a, b) in enumerate(zip(old, new, strict=True)) if b > a}
    return grown


class ZeroCostGA(Algorithm[DartsCellGenome]):
    name = "zero_cost_ga"
    description = (
        "Reolon: GA on darts_cell with NTK/NASWOT/gradient-correlation fitness and DARTS tournaments"
    )
    generational = True

    def __init__(
        self,
        space: Any,
        rng: np.random.Generator,
        pop_size: int = 5,
        offsprings: int = 20,
        tourn_size: int = 4,
        generations: int = 6,
        darts_every: int = 3,
        aging: float = 0.1,
        p_crossover: float = 0.3,
        explore: float = 0.5,
        tournament_steps: tuple[int, int] = (30, 10),
        proxy_seed: int = 0,
        search_seconds: float | None = None,
    ) -> None:
        super().__init__(space, rng)
        if space.name != "darts_cell":
            raise EvonasError(f"zero_cost_ga searches the darts_cell space, not {space.name}")
        if pop_size < 1 or offsprings < pop_size or tourn_size < 1 or generations < 1 or darts_every < 1:
            raise EvonasError("zero_cost_ga: need pop_size >= 1, offsprings >= pop_size, positive sizes")
        self.pop_size, self.offsprings, self.tourn_size = int(pop_size), int(offsprings), int(tourn_size)
        self.generations, self.darts_every = int(generations), int(darts_every)
        self.aging, self.p_crossover, self.explore = float(aging), float(p_crossover), float(explore)
        self.tournament_steps = (int(tournament_steps[0]), int(tournament_steps[1]))
        self.proxy_seed = int(proxy_seed)
        if search_seconds is not None and search_seconds <= 0:
            raise EvonasError("zero_cost_ga: search_seconds must be > 0")
        self.search_seconds = None if search_seconds is None else float(search_seconds)
        self.fitness: Any = None
        self.population: list[DartsCellGenome] = []
        self.ages: list[int] = []
        self.used = np.full(len(OPS), 2.0)
        self.success = np.ones(len(OPS))
        self.history: list[dict[str, Any]] = []
        self.final: DartsCellGenome | None = None
        self.asked = False
        self.told = False

    @property
    def params(self) -> dict[str, Any]:
        return {
            "pop_size": self.pop_size,
            "offsprings": self.offsprings,
            "tourn_size": self.tourn_size,
            "generations": self.generations,
            "darts_every": self.darts_every,
            "aging": self.aging,
            "p_crossover": self.p_crossover,
            "explore": self.explore,
            "tournament_steps": list(self.tournament_steps),
            "proxy_seed": self.proxy_seed,
            "search_seconds": self.search_seconds,
        }

    @property
    def proxy_names(self) -> tuple[str, ...]:
        """The proxies the runner's fitness must provide (`harness.proxy_hook`)."""
        return SCORE_NAMES

    def bind(self, fitness: Any) -> None:
        """Give the algorithm its training-free fitness (a `ProxyFitness` over at least SCORE_NAMES)."""
        missing = set(SCORE_NAMES) - set(fitness.names)
        if missing:
            raise EvonasError(f"zero_cost_ga needs the proxies {sorted(missing)} in its fitness")
        self.fitness = fitness

    # --- the search ---
    def _scores(self, genomes: Sequence[DartsCellGenome]) -> list[Scores]:
        return [paper_scores(row) for row in self.fitness.scores(genomes)]

    def _op_weights(self) -> np.ndarray:
        e = self.explore
        return (1 - e) * self.success / self.used + e * (1 - self.used / self.used.max()) + 0.2

    def _offspring(self) -> tuple[list[DartsCellGenome], list[set[int]]]:
        children, ops = [], []
        per_parent = max(1, self.offsprings // len(self.population))
        mate = self.population[-1]
        for parent in self.population:
            for _ in range(per_parent):
                child = self.space.mutate_with(parent, self.rng, op_weights=self._op_weights())
                self.explore *= 0.996
                if self.rng.random() < self.p_crossover:
                    child = self.space.crossover(child, mate, self.rng)[0]
                children.append(child)
                ops.append(_grown_ops(parent, child))
            mate = parent
        return children, ops

    def _generation(self, g: int) -> None:
        children, ops = self._offspring()
        pool = self.population + children
        ages = self.ages + [0] * len(children)
        raw = self._scores(pool)
        aged = [tuple(s * (1 + self.aging) ** a for s in sc) for sc, a in zip(raw, ages, strict=True)]
        tournament = g % self.darts_every == 0
        keep = self.pop_size * self.tourn_size if tournament else self.pop_size
        # one genome per network: the first occurrence (parents first) stands for its copies
        first: dict[str, int] = {}
        for i, genome in enumerate(pool):
            first.setdefault(self.space.hash(genome), i)
        distinct = sorted(first.values())
        chosen = [distinct[k] for k in select([aged[i] for i in distinct], min(keep, len(distinct)))]
        record: dict[str, Any] = {"generation": g, "kind": "darts" if tournament else "scores"}
        if tournament and len(chosen) >= 2 * self.tourn_size:
            order = [chosen[int(k)] for k in self.rng.permutation(len(chosen))]
            groups = len(order) // self.tourn_size
            order = order[: groups * self.tourn_size]
            start = time.perf_counter()
            result = self._tournament([pool[i] for i in order])
            # the supernet's training is paid on the clock too (measured: not part of the history)
            self.fitness.charge(time.perf_counter() - start)
            chosen = [order[w] for w in result.winners]
            record["alphas"] = [list(a) for a in result.alphas]
            record["contestants"] = [self._enc(pool[i]) for i in order]
        for i in chosen:
            for op in ops[i - len(self.population)] if i >= len(self.population) else ():
                self.success[op] += 1
        for grown in ops:
            for op in grown:
                self.used[op] += 1
        self.population = [pool[i] for i in chosen]
        self.ages = [ages[i] + 1 if i < len(self.ages) else 0 for i in chosen]
        record["population"] = [self._enc(pool[i]) for i in chosen]
        record["scores"] = [list(raw[i]) for i in chosen]
        record["best"] = [min(raw[i][k] for i in chosen) for k in range(3)]
        self.history.append(record)

    def _tournament(self, genomes: Sequence[DartsCellGenome]) -> Any:
        import torch

        from algorithms.zero_cost_ga_tournament import darts_tournament
        from harness.training import device_split, resolve_device, torch_threads

        task = self.fitness.task
        data = device_split(task, resolve_device(self.fitness.device), self.fitness.data_root)
        seed = int(self.rng.integers(2**31))
        # the proxies' thread count (1 by default): on a loaded CPU, torch's default costs 50x here
        with torch.enable_grad(), torch_threads(getattr(self.fitness, "threads", 1)):
            return darts_tournament(
                [g.cells[0] for g in genomes],
                self.tourn_size,
                data.x_train,
                data.y_train,
                task.num_classes,
                seed=seed,
                warmup_steps=self.tournament_steps[0],
                joint_steps=self.tournament_steps[1],
            )

    def search(self) -> DartsCellGenome:
        """Run every generation (training-free) and return the final network of Fig. 3."""
        if self.fitness is None:
            raise EvonasError("zero_cost_ga has no fitness: the runner must call bind(ProxyFitness(...))")
        if not self.population:
            self.population = [self.space.sample(self.rng) for _ in range(self.pop_size)]
            self.ages = [0] * self.pop_size
        costs: list[float] = []  # charged seconds of each generation of this search
        for g in range(len(self.history) + 1, self.generations + 1):
            spent = self._charged()
            if costs and self.search_seconds is not None and spent + max(costs) > self.search_seconds:
                break  # the next generation would likely end past search_seconds
            self._generation(g)
            costs.append(self._charged() - spent)
        cells = tuple(c for genome in self.population for c in genome.cells)
        return DartsCellGenome(cells)

    def _charged(self) -> float:
        return float(getattr(self.fitness, "charged_seconds", 0.0))

    # --- ask / tell ---
    def ask(self, n: int) -> list[Candidate[DartsCellGenome]]:
        if self.asked or n < 1:
            return []
        self.final = self.search()
        self.asked = True
        return [self.issue(self.final, 0, len(self.history))]

    def tell(self, observations: Sequence[Observation]) -> None:
        self.told = self.told or bool(observations)

    @property
    def finished(self) -> bool:
        return self.told

    # --- persistence ---
    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": rng_state(self.rng),
            "tickets": self.tickets,
            "population": [self._enc(g) for g in self.population],
            "ages": list(self.ages),
            "used": self.used.tolist(),
            "success": self.success.tolist(),
            "explore": self.explore,
            "history": self.history,
            "final": None if self.final is None else self._enc(self.final),
            "asked": self.asked,
            "told": self.told,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])
        self.tickets = int(state["tickets"])
        self.population = [self._dec(t) for t in state["population"]]
        self.ages = [int(a) for a in state["ages"]]
        self.used = np.asarray(state["used"], dtype=float)
        self.success = np.asarray(state["success"], dtype=float)
        self.explore = float(state["explore"])
        self.history = list(state["history"])
        self.final = None if state["final"] is None else self._dec(state["final"])
        self.asked, self.told = bool(state["asked"]), bool(state["told"])
