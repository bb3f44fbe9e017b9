"""RENAS: reinforced evolutionary NAS (Chen et al., CVPR 2019), Algorithm 1 with the mutation controller.

A population of #P = 20 cells is initialised at random. Each step samples S members, the best B is the
parent and the worst W is removed; the child C is B changed by the controller's 2#B actions (one per
block); when C's fitness arrives, W leaves the population (push-pop), C joins, and the controller takes
one REINFORCE step with reward tan(f_C * pi / 2) + 0.1 x the entropy of its decisions, against a moving-
average baseline (decay `baseline_decay`, 0.95; the paper names none), with Adam (lr 1e-3).

Variants (`variant=`, the ablation of Fig. 4 / Sec. 5.3): `renas` (bidirectional encoder), `nonbi`
(unidirectional LSTM), `ea` (the same loop, random mutation: per block one of i1, i2, o1, o2 set to a
uniform value), `rl` (no population: an autoregressive LSTM writes each cell from scratch and learns from
the same reward; see `renas_controller.CellGenerator`).

Where the paper is silent (documented in docs/renas.md): the sample size S (default 5, a quarter of P as in
AmoebaNet's 25 of 100); ties (the oldest of the best is the parent, the oldest of the worst is removed); the
baseline and its decay; f_C is clipped to 0.99 before the tangent (tan(pi/2) is infinite); a W that another
child already removed (W asynchronous workers) is replaced by the current worst. Every action may keep its
current value, as the controller's softmax allows, so a child can equal its parent (it then gets the stored
result). The controller state (weights and Adam moments, base64 float32 in the JSON state) is part of
`state_dict`, so a resumed run continues the controller's trajectory bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from algorithms.base import Algorithm, AlgorithmConfig, Candidate, Observation, rng_state, set_rng_state
from algorithms.renas_controller import (
    CellGenerator,
    ControllerConfig,
    Decisions,
    MutationController,
    replayer,
    sampler,
)
from algorithms.renas_tensors import adam_to_json, load_adam_json, load_module_json, module_to_json
from harness.errors import EvonasError
from harness.spaces.base import SearchSpace
from harness.spaces.renas_cell_genome import Action, RenasCellGenome

VARIANTS = ("renas", "nonbi", "ea", "rl")
INHERIT_UNSUPPORTED = (
    "inherit = true needs each child's parent weights, which evonas run does not pass: use inherit = false "
    "or the Python API renas_search.InheritSearch (docs/renas.md)"
)


def reward(fitness: float, clip: float = 0.99) -> float:
    """Sec. 4.3: gamma = tan(f_C * pi / 2), f_C clipped to [0, clip]."""
    return math.tan(min(max(float(fitness), 0.0), clip) * math.pi / 2)


@dataclass(frozen=True)
class RenasConfig(AlgorithmConfig):
    """#P (`population`), S (`sample_size`), the cycles after the initial population, the variant, and
    the controller's and REINFORCE's settings (see the module docstring)."""

    variant: str = "renas"
    population: int = 20
    sample_size: int = 5
    cycles: int | None = None
    embedding: int = 100
    hidden: int = 100
    lr: float = 1e-3
    tanh_constant: float = 2.5
    temperature: float = 5.0
    entropy_weight: float = 0.1
    baseline_decay: float = 0.95
    reward_clip: float = 0.99
    inherit: bool = False  # true (parameter inheritance) is the Python API's InheritSearch, not `evonas run`

    def validate(self) -> None:
        if self.inherit:
            raise EvonasError(INHERIT_UNSUPPORTED)
        if self.variant not in VARIANTS:
            raise EvonasError(f"renas variant {self.variant!r} not in {VARIANTS}")
        if self.population < 1 or self.sample_size < 1 or (self.cycles is not None and self.cycles < 0):
            raise EvonasError("renas needs population >= 1, sample_size >= 1 and cycles >= 0")
        if not (
            0.0 <= self.baseline_decay < 1.0
            and 0.0 < self.reward_clip < 1.0
            and self.lr > 0
            and self.temperature > 0
        ):
            raise EvonasError(
                "renas needs 0 <= baseline_decay < 1, 0 < reward_clip < 1, lr > 0, temperature > 0"
            )

    def hyper(self) -> dict[str, Any]:
        """The controller's and the learning's settings, typed."""
        return {
            "embedding": int(self.embedding),
            "hidden": int(self.hidden),
            "lr": float(self.lr),
            "tanh_constant": float(self.tanh_constant),
            "temperature": float(self.temperature),
            "entropy_weight": float(self.entropy_weight),
            "baseline_decay": float(self.baseline_decay),
            "reward_clip": float(self.reward_clip),
        }

    def params(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "population": int(self.population),
            "sample_size": int(self.sample_size),
            "cycles": None if self.cycles is None else int(self.cycles),
            **self.hyper(),
            "inherit": bool(self.inherit),
        }


class Renas(Algorithm):
    name = "renas"
    description = "RENAS (Chen et al. 2019): tournament evolution whose mutations come from an RL controller"

    Config = RenasConfig

    def __init__(
        self, space: SearchSpace, rng: np.random.Generator, config: RenasConfig | None = None, **params: Any
    ) -> None:
        super().__init__(space, rng)
        self.config = self.make_config(config, params)
        if space.name != "renas_cell":
            raise EvonasError(f"renas searches the renas_cell space, not {space.name!r}")
        c = self.config
        variant = c.variant
        self.variant = variant
        self.population_size = int(c.population)
        self.sample_size = int(c.sample_size)
        self.cycles = None if c.cycles is None else int(c.cycles)
        self.hyper = c.hyper()
        embedding, hidden, lr = self.hyper["embedding"], self.hyper["hidden"], self.hyper["lr"]
        tanh_constant, temperature = self.hyper["tanh_constant"], self.hyper["temperature"]
        self.controller: MutationController | CellGenerator | None = None
        self.optimizer: torch.optim.Adam | None = None
        if variant != "ea":
            cfg = ControllerConfig(
                blocks=space.blocks,  # type: ignore[attr-defined]
                ops=tuple(space.ops),  # type: ignore[attr-defined]
                embedding=int(embedding),
                hidden=int(hidden),
                bidirectional=variant != "nonbi",
                tanh_constant=float(tanh_constant),
                temperature=float(temperature),
            )
            generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
            cls = CellGenerator if variant == "rl" else MutationController
            with torch.random.fork_rng(devices=[]):  # torch's own default init would draw from the global RNG
                self.controller = cls(cfg, generator)
            self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=float(lr))
        self.population: list[tuple[int, str, float]] = []  # (member id, encoding, fitness), oldest first
        self.pending: list[dict[str, Any]] = []  # children handed out, not yet told
        self.next_id = 0
        self.asked = 0
        self.told = 0
        self.baseline: float | None = None
        self.updates = 0
        self.best = float("-inf")
        self.recent: list[float] = []  # rl: the last P fitnesses (its 'population' for the view)
        self.history: list[list[float]] = []  # per told candidate: [population mean, variance, best so far]

    @property
    def limit(self) -> int | None:
        return None if self.cycles is None else self.population_size + self.cycles

    @property
    def finished(self) -> bool:
        return self.limit is not None and self.told >= self.limit

    # --- ask ---
    def ask(self, n: int) -> list[Candidate]:
        out: list[Candidate] = []
        for _ in range(n):
            if self.limit is not None and self.asked >= self.limit:
                break
            entry = self._propose()
            if entry is None:
                break
            candidate = self.issue(self._dec(entry["child"]))
            entry["ticket"] = candidate.ticket
            self.pending.append(entry)
            out.append(candidate)
            self.asked += 1
        return out

    def _propose(self) -> dict[str, Any] | None:
        if self.variant == "rl":
            assert isinstance(self.controller, CellGenerator)
            with torch.no_grad():
                decisions = self.controller.decide(sampler(self.rng))
            genome = self.controller.genome(decisions.actions)
            return {"child": self._enc(genome), "parent": None, "actions": _plain(decisions), "worst": None}
        if self.asked < self.population_size:
            return {
                "child": self._enc(self.space.sample(self.rng)),
                "parent": None,
                "actions": None,
                "worst": None,
            }
        if len(self.population) < self.population_size:
            return None  # Algorithm 1 starts evolving once the initial population is evaluated
        size = len(self.population)
        drawn = sorted(self.rng.choice(size, size=min(self.sample_size, size), replace=False).tolist())
        best = max(drawn, key=lambda i: (self.population[i][2], -i))  # the oldest of the best
        worst = min(drawn, key=lambda i: (self.population[i][2], i))  # the oldest of the worst
        parent: RenasCellGenome = self._dec(self.population[best][1])
        if self.variant == "ea":
            actions = [
                (a.block, a.position, self._value_index(a))
                for a in self.space.random_actions(parent, self.rng)  # type: ignore[attr-defined]
            ]
        else:
            assert isinstance(self.controller, MutationController)
            with torch.no_grad():
                actions = list(self.controller.decide(parent, sampler(self.rng)).actions)
        child = self.space.apply(parent, [self._action(a) for a in actions])  # type: ignore[attr-defined]
        return {
            "child": self._enc(child),
            "parent": self.population[best][1],
            "parent_id": self.population[best][0],
            "actions": [list(a) for a in actions],
            "worst": self.population[worst][0],
        }

    def _value_index(self, action: Action) -> int:
        return int(action.value) if action.position < 2 else list(self.space.ops).index(action.value)  # type: ignore[attr-defined]

    def _action(self, action: Sequence[int]) -> Action:
        block, position, value = (int(v) for v in action)
        return Action(block, position, value if position < 2 else self.space.ops[value])  # type: ignore[attr-defined]

    # --- tell ---
    def tell(self, observations: Sequence[Observation]) -> None:
        for candidate, outcome in observations:
            waiting = {e["ticket"]: k for k, e in enumerate(self.pending)}
            entry = self.pending.pop(waiting[self.ticket_of(candidate, waiting)])
            encoding = entry["child"]
            fitness = float(outcome.fitness)
            self._push_pop(entry, encoding, fitness)
            if self.controller is not None and entry["actions"] is not None:
                self._learn(entry, fitness)
            self.told += 1
            self.best = max(self.best, fitness)
            self._record()

    def _push_pop(self, entry: dict[str, Any], encoding: str, fitness: float) -> None:
        if self.variant == "rl":
            self.recent = [*self.recent, fitness][-self.population_size :]
            return
        if entry["parent"] is not None:
            ids = [m[0] for m in self.population]
            if entry["worst"] in ids:
                self.population.pop(ids.index(entry["worst"]))
            elif self.population:  # removed by another child already: the current worst leaves
                worst = min(range(len(self.population)), key=lambda i: (self.population[i][2], i))
                self.population.pop(worst)
        self.population.append((self.next_id, encoding, fitness))
        self.next_id += 1

    def _learn(self, entry: dict[str, Any], fitness: float) -> None:
        """One REINFORCE step: (R - baseline) * log pi(actions), R = reward + entropy bonus."""
        assert self.controller is not None and self.optimizer is not None
        actions = [tuple(int(v) for v in a) for a in entry["actions"]]
        if isinstance(self.controller, CellGenerator):
            decisions: Decisions = self.controller.decide(replayer(actions, generates=True))
        else:
            decisions = self.controller.decide(self._dec(entry["parent"]), replayer(actions, generates=False))
        value = reward(fitness, self.hyper["reward_clip"]) + self.hyper["entropy_weight"] * float(
            decisions.entropy.detach()
        )
        decay = self.hyper["baseline_decay"]
        self.baseline = value if self.baseline is None else decay * self.baseline + (1 - decay) * value
        loss = -(value - self.baseline) * decisions.log_prob
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.updates += 1

    def _record(self) -> None:
        values = self.recent if self.variant == "rl" else [m[2] for m in self.population]
        mean = float(np.mean(values)) if values else 0.0
        var = float(np.var(values)) if values else 0.0
        self.history.append([mean, var, self.best])

    # --- persistence ---
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "rng": rng_state(self.rng),
            "population": [list(m) for m in self.population],
            "pending": [dict(e) for e in self.pending],
            "next_id": self.next_id,
            "asked": self.asked,
            "told": self.told,
            "tickets": self.tickets,
            "baseline": self.baseline,
            "updates": self.updates,
            "best": None if self.best == float("-inf") else self.best,
            "recent": list(self.recent),
            "history": [list(h) for h in self.history],
        }
        if self.controller is not None and self.optimizer is not None:
            state["controller"] = module_to_json(self.controller)
            state["optimizer"] = adam_to_json(self.optimizer)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])
        self.population = [(int(i), str(enc), float(f)) for i, enc, f in state["population"]]
        self.pending = [
            {
                "child": str(e["child"]),
                "parent": None if e["parent"] is None else str(e["parent"]),
                "actions": None if e["actions"] is None else [[int(v) for v in a] for a in e["actions"]],
                "worst": None if e["worst"] is None else int(e["worst"]),
                "ticket": int(e["ticket"]),
                **({"parent_id": int(e["parent_id"])} if "parent_id" in e else {}),
            }
            for e in state["pending"]
        ]
        for e in self.pending:  # every stored genome must decode in this space
            self._dec(e["child"])
        self.next_id = int(state["next_id"])
        self.asked = int(state["asked"])
        self.told = int(state["told"])
        self.tickets = int(state["tickets"])
        self.baseline = None if state["baseline"] is None else float(state["baseline"])
        self.updates = int(state["updates"])
        self.best = float("-inf") if state["best"] is None else float(state["best"])
        self.recent = [float(v) for v in state["recent"]]
        self.history = [[float(v) for v in h] for h in state["history"]]
        if self.controller is not None and self.optimizer is not None:
            load_module_json(self.controller, state["controller"])
            load_adam_json(self.optimizer, state["optimizer"])


def _plain(decisions: Decisions) -> list[list[int]]:
    return [list(a) for a in decisions.actions]
