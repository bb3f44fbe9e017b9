"""Optuna baselines through each space's define-by-run `suggest()`: TPE, random, NSGA-II.

Optuna's ask/tell interface drives an in-memory study. Its state is plain data: the study is rebuilt on
resume from the trials it holds (`optuna.trial.create_trial` + `add_trial`: params, distributions,
values, the samplers' own trial and study attributes), so no sampler internals are ever serialised
(optuna 5's NSGA-II sampler holds a thread lock and cannot be pickled anyway). To make that rebuild exact,
the sampler of trial k is a fresh one seeded from (the run's seed, k): what it proposes is a function of
the stored trials and k alone, never of how many times a sampler object was asked before.
NSGA-II optimises two objectives (accuracy up, parameters down) so that it can be set against
differential evolution; its trajectory fitness is still the accuracy.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from algorithms.base import Algorithm, Candidate, Observation
from harness.errors import EvonasError
from harness.spaces.base import SearchSpace

log = logging.getLogger(__name__)

STATE_FORMAT = "optuna-trials-2"


def _finite_or_none(value: float) -> float | None:
    """JSON has no infinities: an infinite objective (a failed network's size) is stored as null."""
    return None if math.isinf(value) or math.isnan(value) else value


class _OptunaAlgorithm(Algorithm):
    multi_objective = False

    def __init__(self, space: SearchSpace, rng: np.random.Generator, **sampler_params: Any) -> None:
        super().__init__(space, rng)
        import optuna

        self._optuna = optuna
        self.sampler_params = dict(sampler_params)
        self.seed = int(rng.integers(0, 2**31 - 1))
        try:
            self._make_sampler(self.seed, **self.sampler_params)
        except TypeError as exc:
            raise EvonasError(f"bad parameters for {self.name}: {exc}") from exc
        self._new_study()
        self.pending: dict[int, int] = {}  # ticket of a candidate handed out -> its trial number

    def _new_study(self) -> None:
        self.storage = self._optuna.storages.InMemoryStorage()
        directions = ["maximize", "minimize"] if self.multi_objective else ["maximize"]
        self.study = self._optuna.create_study(
            storage=self.storage, directions=directions, sampler=self._trial_sampler(0)
        )
        self.study_id = self.storage.get_study_id_from_name(self.study.study_name)

    def _make_sampler(self, seed: int, **params: Any) -> Any:
        raise EvonasError(f"{type(self).__name__} defines no sampler")

    def _trial_sampler(self, number: int) -> Any:
        seed = int(np.random.SeedSequence([self.seed, number]).generate_state(1)[0] & 0x7FFFFFFF)
        return self._make_sampler(seed, **self.sampler_params)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.sampler_params)

    def ask(self, n: int) -> list[Candidate]:
        out = []
        for _ in range(n):
            self.study.sampler = self._trial_sampler(len(self.study.get_trials(deepcopy=False)))
            trial = self.study.ask()
            genome = self.space.suggest(trial)
            candidate = self.issue(genome)
            self.pending[int(candidate.ticket)] = trial.number  # type: ignore[arg-type]
            out.append(candidate)
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        for candidate, outcome in observations:
            number = self.pending.pop(self.ticket_of(candidate, self.pending))
            if self.multi_objective:
                params = float(outcome.params) if outcome.params is not None else float("inf")
                values: Any = [float(outcome.fitness), params if outcome.ok else float("inf")]
            else:
                values = float(outcome.fitness)
            self.study.sampler = self._trial_sampler(number)
            self.study.tell(number, values)

    # --- persistence: the trials as data ---
    def state_dict(self) -> dict[str, Any]:
        from optuna.distributions import distribution_to_json

        trials = []
        for t in self.study.get_trials(deepcopy=False):
            trials.append(
                {
                    "number": t.number,
                    "state": t.state.name,
                    "params": dict(t.params),
                    "distributions": {k: distribution_to_json(d) for k, d in t.distributions.items()},
                    "values": None if t.values is None else [_finite_or_none(v) for v in t.values],
                    "user_attrs": dict(t.user_attrs),
                    "system_attrs": dict(t.system_attrs),
                }
            )
        return {
            "format": STATE_FORMAT,
            "seed": self.seed,
            "trials": trials,
            "study_system_attrs": dict(self.storage.get_study_system_attrs(self.study_id)),
            "pending": [[ticket, number] for ticket, number in sorted(self.pending.items())],
            "tickets": self.tickets,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        from optuna.distributions import json_to_distribution
        from optuna.trial import TrialState, create_trial

        if state.get("format") != STATE_FORMAT:
            raise EvonasError(f"{self.name} state has format {state.get('format')!r}, not {STATE_FORMAT}")
        self.seed = int(state["seed"])
        self._new_study()
        for index, row in enumerate(state["trials"]):
            if row["number"] != index:
                raise EvonasError(f"{self.name} state: trial {index} is numbered {row['number']}")
            kind = TrialState[row["state"]]
            values = row["values"]
            if values is not None:
                values = [float("inf") if v is None else float(v) for v in values]
            frozen = create_trial(
                state=kind,
                values=values,
                params=row["params"],
                distributions={k: json_to_distribution(d) for k, d in row["distributions"].items()},
                user_attrs=row["user_attrs"],
                system_attrs=row["system_attrs"],
            )
            self.study.add_trial(frozen)
        for key, value in state["study_system_attrs"].items():
            self.storage.set_study_system_attr(self.study_id, key, value)
        self.pending = {int(ticket): int(number) for ticket, number in state["pending"]}
        self.tickets = int(state["tickets"])


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
