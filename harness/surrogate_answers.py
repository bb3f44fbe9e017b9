"""Surrogate mode's answers: predicted evaluations of networks, flagged, charged a predicted train time.

The evaluator hands its misses here in `mode = "surrogate"`. Each answer is an EvalRecord with
`predicted = True`: the model's replicate r of the network (drawn from the network's training seed, so it
is the same for every caller), charged the model's predicted train seconds on the simulated clock. A genome
that cannot build a network for the task is `invalid`, as training would find. Answers are written to the
cache's `predictions` table (never to `evaluations`: the table stays measurements) when the runner
commits, so a report can show them and the share of queries that were predicted.

Policies (`surrogate_policy`):
- `predicted` (default, NAS-Bench-301's choice): every query is predicted, measured or not. One noise model
  for every network, so no algorithm is favoured by where the table happens to hold measurements.
- `measured_first`: a stored measurement where the table has one, else a prediction.
Scope (`surrogate_scope`): `space` (any network of the space) or `table` (networks the table lacks are
invalid: the surrogate's view of exactly the tabular benchmark, for the fidelity check against it).
"""

from __future__ import annotations

import logging
from typing import Any

from cache.hashing import training_seed
from cache.records import EvalRecord
from cache.store import Cache
from cache.surrogate_store import POLICIES, PredictionRow, put_predictions
from harness.errors import ConfigError
from harness.spaces.base import SearchSpace
from harness.surrogate_current import current_model
from harness.surrogate_fit import DEFAULT_KIND
from harness.surrogate_model import SurrogateModel
from harness.tasks import Task

log = logging.getLogger(__name__)

SCOPES = ("space", "table")


class SurrogateAnswerer:
    """Predicted answers for one (space, task) from the current model of its table."""

    def __init__(
        self,
        cache: Cache,
        space: SearchSpace,
        task: Task,
        policy: str = "predicted",
        kind: str = DEFAULT_KIND,
        scope: str = "space",
    ) -> None:
        if policy not in POLICIES:
            raise ConfigError(f"surrogate policy {policy!r} not in {POLICIES}")
        if scope not in SCOPES:
            raise ConfigError(f"surrogate scope {scope!r} not in {SCOPES}")
        self.cache = cache
        self.space = space
        self.task = task
        self.task_key = task.key()
        self.policy = policy
        self.scope = scope
        self.model: SurrogateModel = current_model(cache, space, self.task_key, kind=kind)
        self.model_id = self.model.model_id
        self.members: set[str] | None = None
        if scope == "table":
            rows = cache.execute(
                "SELECT DISTINCT arch_hash FROM evaluations "
                "WHERE task_key = ? AND NOT coalesce(predicted, false)",
                [self.task_key],
            ).fetchall()
            self.members = {r[0] for r in rows}
        self._means: dict[str, tuple[float, float, float]] = {}
        self._pending: list[PredictionRow] = []
        self.answered = 0

    def answer(self, requests: dict[tuple[str, int], Any]) -> list[EvalRecord]:
        """One predicted record per (arch, replicate) -> request (with its genome)."""
        valid: list[tuple[str, int]] = []
        records: list[EvalRecord] = []
        for (arch, replicate), request in requests.items():
            reason = self._invalid(arch, request.genome)
            if reason:
                records.append(self._record(arch, replicate, "invalid", reason, None))
            else:
                valid.append((arch, replicate))
        todo = sorted({arch for arch, _ in valid if arch not in self._means})
        if todo:
            genomes = {k[0]: requests[k].genome for k in valid}
            x = self.model.featurizer.matrix(self.space, [genomes[a] for a in todo])
            means = self.model.predict_means(x)
            for i, arch in enumerate(todo):
                self._means[arch] = (
                    float(means["val"][i]),
                    float(means["test"][i]),
                    float(means["seconds"][i]),
                )
        for arch, replicate in valid:
            val, test, seconds = self._means[arch]
            p = self.model.replicate(arch, replicate, val, test, seconds)
            records.append(self._record(arch, replicate, "ok", None, p))
        self.answered += len(records)
        return records

    def _invalid(self, arch: str, genome: Any) -> str:
        if self.members is not None and arch not in self.members:
            return "not in the table (surrogate mode, scope 'table')"
        validity = self.space.is_valid(genome, self.task)
        return "" if validity else validity.reason or "invalid for this task"

    def _record(self, arch: str, replicate: int, status: str, error: str | None, p: Any) -> EvalRecord:
        val = None if p is None else p.val_acc
        test = None if p is None else p.test_acc
        seconds = 0.0 if p is None else p.train_seconds
        self._pending.append((arch, replicate, status, val, test, seconds))
        return EvalRecord(
            arch_hash=arch,
            task_key=self.task_key,
            replicate=replicate,
            seed=training_seed(self.task_key, arch, replicate),
            status=status,
            error=error,
            val_acc=val,
            test_acc=test,
            train_seconds=seconds,
            device="surrogate",
            predicted=True,
        )

    def flush(self) -> None:
        """Write the answers given since the last flush (inside the caller's transaction)."""
        rows, self._pending = self._pending, []
        put_predictions(self.cache, self.model_id, rows)

    def describe(self) -> dict[str, Any]:
        info = self.model.info
        return {
            "model_id": self.model_id,
            "kind": info.kind,
            "policy": self.policy,
            "scope": self.scope,
            "networks": info.networks,
            "table_digest": info.table_digest,
            "noise_networks": self.model.noise.networks,
        }
