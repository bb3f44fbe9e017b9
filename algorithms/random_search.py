"""Random search: independent draws from the space's own sampling distribution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from algorithms.base import Algorithm, AlgorithmConfig, Candidate, Observation, rng_state, set_rng_state
from harness.spaces.base import SearchSpace


@dataclass(frozen=True)
class RandomSearchConfig(AlgorithmConfig):
    """Random search has no hyper-parameters."""


class RandomSearch(Algorithm):
    name = "random_search"
    description = (
        "independent samples from the space's initial distribution (the baseline every report needs)"
    )

    Config = RandomSearchConfig

    def __init__(
        self, space: SearchSpace, rng: np.random.Generator, config: RandomSearchConfig | None = None
    ) -> None:
        super().__init__(space, rng)
        self.config = self.make_config(config, {})

    def ask(self, n: int) -> list[Candidate]:
        return [self.issue(self.space.sample(self.rng)) for _ in range(n)]

    def tell(self, observations: Sequence[Observation]) -> None:
        """Random search learns nothing from results."""

    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_state(self.rng), "tickets": self.tickets}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])
        self.tickets = int(state["tickets"])
