"""Regularized (aging) evolution, steady state, generic over any space's `mutate`.

Real et al. (2019), as used for macro search by Kyriakides & Margaritis (2020): a population of P
networks; each cycle draws S members (with replacement in the macro-search paper, without in Real et
al.), mutates the best into a child, adds the child and removes the oldest member. The first P proposals
are the space's random samples. With W asynchronous workers the tournament runs over the members told so
far, as in Real et al.'s distributed setting.

Two settings come with the presets (they are not constructor keywords): ties in the tournament
(`tie_break`): "oldest" (default) takes the oldest of the best drawn members, "first_drawn" the first of
them in drawing order, as the reference code's `np.argmax` over its sample does (NORD, branch AIAI2020,
`nord/rem.py`); neither paper says. `redraw_io` (default false; only for spaces with `supports_redraw_io`,
i.e. `macro_re`, elsewhere ignored): the mutation's layer re-draw picks among all node genes, input and
output included, as the reference code's `Genome.mutate` does; a draw of the input or output leaves the
child equal to its parent.

Presets (`preset=`): `kyriakides2020` (the settings of Sec. 4.1 of the paper: P = 100, S = 25 with
replacement, 400 cycles; the paper does not say how ties are broken, so the default applies),
`kyriakides2020_code` (the reference code `nord/rem.py`: 1,000 cycles, `tie_break = "first_drawn"`,
`redraw_io = true`; the code's networks are the space's business: `macro_re` with
`builder = "reference"`), `kyriakides2020_random` (the paper's random-search baseline: sample size 1, i.e.
a random member is mutated), `real2019` (P = 100, S = 25 without replacement). `params` lists `tie_break`
and `redraw_io` only where they differ from the defaults. Not reproduced by any preset: the reference code
trains every proposed child anew, a repeat of a network it has seen (an identity mutation, a re-draw that
changes nothing) included, while here every candidate asks for replicate 0 and a repeat gets the stored
result; its fitness is test accuracy, which is a task setting here (`fashion_mnist_re_paper`).

Proxy pre-filter (ours, an option: `prefilter = "<proxy>"`, `prefilter_k = k`): every proposal, random
or child, is the best of k draws by that zero-cost proxy of `harness.proxies` (its own direction; an
undefined score loses; ties go to the first drawn). Under `evonas run` the proxy fitness is bound and its
seconds charged on the run's simulated clock by `harness.proxy_hook`, so a pre-filtered run pays for
every draw it scores and is compared with the plain one at equal simulated cost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from algorithms.base import Algorithm, AlgorithmConfig, Candidate, Observation, rng_state, set_rng_state
from algorithms.capabilities import RedrawIoSpace
from harness.errors import EvonasError, unknown
from harness.spaces.base import SearchSpace

DEFAULTS: dict[str, Any] = {
    "population": 20,
    "sample_size": 5,
    "cycles": None,
    "replacement": True,
    "tie_break": "oldest",  # or "first_drawn"
    "redraw_io": False,
}
PRESETS: dict[str, dict[str, Any]] = {
    "kyriakides2020": {"population": 100, "sample_size": 25, "cycles": 400, "replacement": True},
    "kyriakides2020_code": {
        "population": 100,
        "sample_size": 25,
        "cycles": 1000,
        "replacement": True,
        "tie_break": "first_drawn",
        "redraw_io": True,
    },
    "kyriakides2020_random": {"population": 100, "sample_size": 1, "cycles": 400, "replacement": True},
    "real2019": {"population": 100, "sample_size": 25, "cycles": None, "replacement": False},
}


@dataclass(frozen=True)
class RegularizedEvolutionConfig(AlgorithmConfig):
    """The keywords as given: a `preset` and the settings that override it (None: the preset's, else the
    default). `resolved()` is the settings in force."""

    preset: str | None = None
    population: int | None = None
    sample_size: int | None = None
    cycles: int | None = None
    replacement: bool | None = None
    prefilter: str | None = None  # a zero-cost proxy: each proposal is the best of `prefilter_k` draws by it
    prefilter_k: int = 4

    def resolved(self) -> dict[str, Any]:
        base: dict[str, Any] = dict(DEFAULTS)
        if self.preset is not None:
            if self.preset not in PRESETS:
                raise unknown("regularized_evolution preset", self.preset, list(PRESETS))
            base.update(PRESETS[self.preset])
        for key in ("population", "sample_size", "cycles", "replacement"):
            if getattr(self, key) is not None:
                base[key] = getattr(self, key)
        return base

    def validate(self) -> None:
        base = self.resolved()
        if int(base["population"]) < 1 or int(base["sample_size"]) < 1:
            raise EvonasError("regularized_evolution needs population >= 1 and sample_size >= 1")
        if not base["replacement"] and int(base["sample_size"]) > int(base["population"]):
            raise EvonasError("sample_size > population needs replacement = true")
        if self.prefilter is not None and int(self.prefilter_k) < 2:
            raise EvonasError("regularized_evolution: prefilter_k must be >= 2")

    def params(self) -> dict[str, Any]:
        """The keywords as given; the pre-filter's only where one is set (runs without one record what
        they always did)."""
        out = super().params()
        if self.prefilter is None:
            del out["prefilter"], out["prefilter_k"]
        return out


class RegularizedEvolution(Algorithm):
    name = "regularized_evolution"
    description = "aging evolution (Real et al. 2019): tournament parent, one mutation, oldest member removed"

    Config = RegularizedEvolutionConfig

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        config: RegularizedEvolutionConfig | None = None,
        **params: Any,
    ) -> None:
        super().__init__(space, rng)
        self.config = self.make_config(config, params)
        base = self.config.resolved()
        self.preset = self.config.preset
        self.population_size = int(base["population"])
        self.sample_size = int(base["sample_size"])
        self.cycles = None if base["cycles"] is None else int(base["cycles"])
        self.replacement = bool(base["replacement"])
        self.tie_break = str(base["tie_break"])
        # the preset's redraw_io applies where the space has that re-draw (macro_re)
        self.redraw_io = bool(base["redraw_io"]) and (
            isinstance(space, RedrawIoSpace) and bool(space.supports_redraw_io)
        )
        self.prefilter = None if self.config.prefilter is None else str(self.config.prefilter)
        self.prefilter_k = int(self.config.prefilter_k)
        if self.prefilter is not None:
            from harness.proxies import spec

            self._higher = spec(self.prefilter).higher_is_better  # an unknown proxy: one clear error
        self.fitness: Any = None
        self.population: deque[tuple[str, float]] = deque()  # (encoding, fitness), oldest first
        self.asked = 0
        self.told = 0

    @property
    def params(self) -> dict[str, Any]:
        """The resolved config; `redraw_io` only where the space has that re-draw (it is the space's)."""
        return {
            "preset": self.preset,
            "population": self.population_size,
            "sample_size": self.sample_size,
            "cycles": self.cycles,
            "replacement": self.replacement,
            **{k: getattr(self, k) for k in ("tie_break", "redraw_io") if getattr(self, k) != DEFAULTS[k]},
            **({"prefilter": self.prefilter, "prefilter_k": self.prefilter_k} if self.prefilter else {}),
        }

    # --- the optional proxy pre-filter (`harness.proxy_hook` binds its fitness and charges its seconds) ---
    @property
    def proxy_names(self) -> tuple[str, ...]:
        return () if self.prefilter is None else (self.prefilter,)

    @property
    def proxy_seed(self) -> int:
        return 0

    def bind(self, fitness: Any) -> None:
        self.fitness = fitness

    def _draw(self, make: Any) -> Any:
        """One genome from `make()`; with a pre-filter, the best of `prefilter_k` draws by the proxy
        (undefined scores last, ties to the first drawn)."""
        if self.prefilter is None:
            return make()
        if self.fitness is None:
            raise EvonasError(
                "regularized_evolution with a prefilter needs a proxy fitness (run it with evonas run)"
            )
        draws = [make() for _ in range(self.prefilter_k)]
        values = [row[self.prefilter] for row in self.fitness.scores(draws)]
        sign = 1.0 if self._higher else -1.0
        keys = [float("-inf") if v is None else sign * float(v) for v in values]
        return draws[keys.index(max(keys))]

    @property
    def limit(self) -> int | None:
        return None if self.cycles is None else self.population_size + self.cycles

    @property
    def finished(self) -> bool:
        return self.limit is not None and self.told >= self.limit

    def ask(self, n: int) -> list[Candidate]:
        out: list[Candidate] = []
        for _ in range(n):
            if self.limit is not None and self.asked >= self.limit:
                break
            if self.asked < self.population_size:
                genome = self._draw(lambda: self.space.sample(self.rng))
            elif self.population:
                genome = self._draw(self._child)
            else:
                break  # the whole initial population is still being evaluated
            out.append(self.issue(genome))
            self.asked += 1
        return out

    def _child(self) -> Any:
        if self.redraw_io:
            assert isinstance(self.space, RedrawIoSpace)
            return self.space.mutate(self._parent(), self.rng, redraw_io=True)
        return self.space.mutate(self._parent(), self.rng)

    def _parent(self) -> Any:
        members = list(self.population)
        size = len(members)
        if self.replacement:
            picks = self.rng.integers(0, size, self.sample_size)
        else:
            picks = self.rng.choice(size, size=min(self.sample_size, size), replace=False)
        drawn = picks.tolist()
        if self.tie_break == "first_drawn":
            fitness = [members[i][1] for i in drawn]
            best = drawn[fitness.index(max(fitness))]
        else:
            best = max(drawn, key=lambda i: (members[i][1], -i))  # the oldest of the best drawn
        return self._dec(members[best][0])

    def tell(self, observations: Sequence[Observation]) -> None:
        for candidate, outcome in observations:
            self.population.append((self._enc(candidate.genome), float(outcome.fitness)))
            if len(self.population) > self.population_size:
                self.population.popleft()
            self.told += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": rng_state(self.rng),
            "population": list(self.population),
            "asked": self.asked,
            "told": self.told,
            "tickets": self.tickets,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])
        self.population = deque((enc, fit) for enc, fit in state["population"])
        self.asked = state["asked"]
        self.told = state["told"]
        self.tickets = int(state["tickets"])
