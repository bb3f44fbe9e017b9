"""Optuna baselines through each space's define-by-run `suggest()`: TPE, random, NSGA-II.

Optuna's ask/tell interface drives an in-memory study; the sampler is seeded from the run's Generator, so
Optuna runs reproduce exactly. NSGA-II optimises two objectives (accuracy up, parameters down) so that it
can be set against differential evolution; its trajectory fitness is still the accuracy.
"""

from __future__ import annotations

import logging
import pickle
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from algorithms.base import Algorithm, Candidate, Observation
from harness.errors import EvonasError
from harness.spaces.base import SearchSpace

log = logging.getLogger(__name__)


class _OptunaAlgorithm(Algorithm):
    multi_objective = False

    def __init__(self, space: SearchSpace, rng: np.random.Generator, **sampler_params: Any) -> None:
        super().__init__(space, rng)
        import optuna

        self._optuna = optuna
        self.sampler_params = dict(sampler_params)
        seed = int(rng.integers(0, 2**31 - 1))
        try:
            sampler = self._make_sampler(seed, **sampler_params)
        except TypeError as exc:
            raise EvonasError(f"bad parameters for {self.name}: {exc}") from exc
        directions = ["maximize", "minimize"] if self.multi_objective else ["maximize"]
        self.study = optuna.create_study(directions=directions, sampler=sampler)
        self.open_trials: dict[int, Any] = {}  # trial number -> optuna Trial awaiting its result
        self.pending: dict[tuple[str, int], list[int]] = {}  # (encoding, replicate) -> trial numbers

    def _make_sampler(self, seed: int, **params: Any) -> Any:
        raise EvonasError(f"{type(self).__name__} defines no sampler")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.sampler_params)

    def ask(self, n: int) -> list[Candidate]:
        out = []
        for _ in range(n):
            trial = self.study.ask()
            genome = self.space.suggest(trial)
            self.open_trials[trial.number] = trial
            self.pending.setdefault((self._enc(genome), 0), []).append(trial.number)
            out.append(Candidate(genome))
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        for candidate, outcome in observations:
            numbers = self.pending.get((self._enc(candidate.genome), candidate.replicate))
            if not numbers:
                raise EvonasError(f"{self.name} was told about a candidate it did not ask for")
            number = numbers.pop(0)
            trial = self.open_trials.pop(number)
            if self.multi_objective:
                params = float(outcome.params) if outcome.params is not None else float("inf")
                values: Any = [float(outcome.fitness), params if outcome.ok else float("inf")]
            else:
                values = float(outcome.fitness)
            self.study.tell(trial, values)

    def state_dict(self) -> dict[str, Any]:
        blob = pickle.dumps((self.study, self.open_trials, self.pending))
        return {"study": blob}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.study, self.open_trials, self.pending = pickle.loads(state["study"])


class OptunaTPE(_OptunaAlgorithm):
    name = "optuna_tpe"
    description = "Optuna's tree-structured Parzen estimator on the space's define-by-run encoding"

    def _make_sampler(self, seed: int, **params: Any) -> Any:
        params.setdefault("multivariate", True)
        params.setdefault("group", True)
        with warnings.catch_warnings():  # multivariate/group TPE is marked experimental; it is the better TPE
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            return self._optuna.samplers.TPESampler(seed=seed, **params)


class OptunaRandom(_OptunaAlgorithm):
    name = "optuna_random"
    description = "Optuna's random sampler on the space's define-by-run encoding"

    def _make_sampler(self, seed: int, **params: Any) -> Any:
        return self._optuna.samplers.RandomSampler(seed=seed, **params)


class OptunaNSGA2(_OptunaAlgorithm):
    name = "optuna_nsga2"
    description = "Optuna's NSGA-II on (accuracy up, parameters down), comparable with differential evolution"
    multi_objective = True

    def _make_sampler(self, seed: int, **params: Any) -> Any:
        return self._optuna.samplers.NSGAIISampler(seed=seed, **params)
