"""A RENAS search with parameter inheritance: Algorithm 1 end to end, resumable (the `inherit` path).

`evonas run` evaluates every candidate as a plain (arch, task, replicate) evaluation, which is RENAS with
`inherit = false` (children trained from scratch: the like-for-like comparison with the other algorithms).
Inheritance needs each child's parent *evaluation*, which the generic runner does not pass, so this module
drives the same `Renas` algorithm itself: initial members from scratch through the plain cache entries,
children through `InheritingEvaluator.child` (lineage task keys, weight store). One candidate at a time
(the paper's sequential loop), a JSON checkpoint after every step (atomic rename), so a killed search
resumes where it stopped with the same controller trajectory.

    from algorithms.renas_search import InheritSearch
    search = InheritSearch(cache, space, task, store, seed=0, params={"population": 6}, inherit=True)
    result = search.run(evaluations=30, checkpoint=Path("renas.ckpt.json"))
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from algorithms.base import Outcome
from algorithms.renas import Renas
from algorithms.renas_inherit import InheritingEvaluator, InheritProtocol
from algorithms.renas_weights import EvalId, WeightStore
from cache.records import EvalRecord
from cache.store import Cache
from harness.errors import CheckpointError, EvonasError
from harness.spaces.base import SearchSpace
from harness.tasks import Task

log = logging.getLogger(__name__)
CHECKPOINT_FORMAT = "evonas-renas-inherit"


@dataclass(frozen=True)
class StepRow:
    """One evaluation of the search: what it was, what it scored, what it cost."""

    step: int
    kind: str  # 'scratch' (initial member or inherit = false) or 'inherit'
    identity: str
    fitness: float
    seconds: float
    cached: bool
    population_mean: float


@dataclass(frozen=True)
class SearchResult:
    rows: tuple[StepRow, ...]
    history: tuple[tuple[float, float, float], ...]
    trained: int
    finetuned: int
    regenerated: int

    def mean_seconds(self, kind: str) -> float:
        values = [r.seconds for r in self.rows if r.kind == kind and not r.cached]
        return float(np.mean(values)) if values else float("nan")


def outcome_of(record: EvalRecord, objective: str) -> Outcome:
    return Outcome(
        arch_hash=record.arch_hash,
        fitness=record.metric(objective),
        status=record.status,
        val_acc=record.val_acc,
        test_acc=record.test_acc,
        params=record.params,
        flops=record.flops,
        train_seconds=float(record.train_seconds or 0.0),
    )


class InheritSearch:
    def __init__(
        self,
        cache: Cache,
        space: SearchSpace,
        task: Task,
        store: WeightStore,
        seed: int,
        params: Mapping[str, Any] | None = None,
        inherit: bool = True,
        protocol: InheritProtocol | None = None,
        device: str = "cpu",
        data_root: str | None = None,
    ) -> None:
        params = dict(params or {})
        if params.get("variant", "renas") == "rl":
            raise EvonasError("parameter inheritance needs a parent: variant 'rl' has none")
        self.algorithm = Renas(space, np.random.default_rng(seed), **params)
        self.evaluator = InheritingEvaluator(cache, space, task, store, protocol, device, data_root)
        self.space = space
        self.task = task
        self.inherit = bool(inherit)
        self.members: dict[int, EvalId] = {}
        self.rows: list[StepRow] = []

    # --- persistence ---
    def state(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "inherit": self.inherit,
            "algorithm": self.algorithm.state_dict(),
            "members": {str(k): v.text() for k, v in self.members.items()},
            "rows": [list(r.__dict__.values()) for r in self.rows],
        }

    def load(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError("not a RENAS inheritance checkpoint")
        if bool(state["inherit"]) != self.inherit:
            raise CheckpointError("the checkpoint was written with another inherit setting")
        self.algorithm.load_state_dict(state["algorithm"])
        self.members = {int(k): EvalId.parse(v) for k, v in state["members"].items()}
        self.rows = [
            StepRow(int(a), str(b), str(c), float(d), float(e), bool(f), float(g))
            for a, b, c, d, e, f, g in state["rows"]
        ]

    # --- the loop ---
    def run(self, evaluations: int, checkpoint: Path | None = None) -> SearchResult:
        if checkpoint is not None and checkpoint.exists():
            try:
                self.load(json.loads(checkpoint.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError) as exc:
                raise CheckpointError(f"{checkpoint}: not a usable RENAS checkpoint ({exc})") from exc
            log.info("resuming the RENAS search at step %d", len(self.rows))
        while self.algorithm.told < evaluations and not self.algorithm.finished:
            self.step()
            if checkpoint is not None:
                tmp = checkpoint.with_suffix(f".tmp{os.getpid()}")
                tmp.write_text(json.dumps(self.state(), allow_nan=False), encoding="utf-8")
                os.replace(tmp, checkpoint)
        return SearchResult(
            tuple(self.rows),
            tuple((h[0], h[1], h[2]) for h in self.algorithm.history),
            self.evaluator.trained,
            self.evaluator.finetuned,
            self.evaluator.regenerated,
        )

    def step(self) -> None:
        candidates = self.algorithm.ask(1)
        if not candidates:
            raise EvonasError("renas proposed nothing in a sequential loop")
        candidate = candidates[0]
        entry = self.algorithm.pending[-1]
        pinned = list(self.members.values())
        if entry["parent"] is not None and self.inherit:
            parent = self.members[int(entry["parent_id"])]
            record, ident, cached = self.evaluator.child(
                candidate.genome, self.space.decode(entry["parent"]), parent, pinned
            )
            kind = "inherit"
        else:
            record, ident, cached = self.evaluator.scratch(candidate.genome, 0, pinned)
            kind = "scratch"
        self.algorithm.tell([(candidate, outcome_of(record, self.task.objective))])
        self.members[self.algorithm.next_id - 1] = ident
        alive = {m[0] for m in self.algorithm.population}
        self.members = {k: v for k, v in self.members.items() if k in alive}
        self.rows.append(
            StepRow(
                step=len(self.rows),
                kind=kind,
                identity=ident.text(),
                fitness=record.metric(self.task.objective),
                seconds=float(record.train_seconds or 0.0),
                cached=cached,
                population_mean=self.algorithm.history[-1][0],
            )
        )
