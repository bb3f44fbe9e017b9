"""Checks of runs and trajectories against the evaluations they were computed from.

What the runner (`harness.runner`) records for step s of a run:

- `fitness` is the stored evaluation's metric under the run's objective (`EvalRecord.metric`: 0 for an
  invalid or failed evaluation), the evaluation being (arch_hash, the run's task, replicate);
- `cached` is false exactly at the first query of an evaluation that was not stored when the run's attempt
  started: one this run trained (the evaluation's `run_id` is the run id, or the run's attempt
  `run_id@started_at`) or one stored after `started_at` (`created_at` later), whichever run trained it; true
  otherwise;
- `sim_seconds` never decreases; with one simulated worker it is the sum of the train seconds of the
  evaluations queried so far; `wall_seconds` never decreases;
- `encoding` (the genome as proposed) hashes to `arch_hash` in the run's space;
- steps run 0, 1, ..., n - 1, and the run id is experiment/algorithm/trial.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cache.base import resolve_space
from cache.errors import EvonasError
from cache.hashing import run_id as make_run_id
from cache.records import EvalRecord

if TYPE_CHECKING:
    from cache.verify import Queryable

OBJECTIVES = ("val_acc", "test_acc")
CLOCK_TOLERANCE = 1e-6  # seconds: fixtures and old caches store the clock rounded to microseconds


def run_problems(db: Queryable) -> list[str]:
    """Run ids, objectives and task references of every run."""
    out = []
    rows = db.execute(
        "SELECT run_id, experiment, algorithm, trial, objective, task_key, "
        "EXISTS (SELECT 1 FROM tasks t WHERE t.task_key = r.task_key) FROM runs r ORDER BY run_id"
    ).fetchall()
    for run, experiment, algorithm, trial, objective, task_key, known_task in rows:
        if trial is None or run != make_run_id(experiment, algorithm, trial):
            expected = f"{experiment}/{algorithm}/{trial}"
            out.append(f"run {run}: its id is not {expected} (experiment/algorithm/trial)")
        if objective not in OBJECTIVES:
            out.append(f"run {run}: unknown objective {objective!r}")
        if not known_task:
            out.append(f"run {run}: unknown task {task_key}")
    return out


def trajectory_problems(db: Queryable) -> list[str]:
    """References and steps of every trajectory, then every row against its evaluation."""
    missing_runs = db.execute(
        "SELECT DISTINCT run_id FROM trajectories t "
        "WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = t.run_id) ORDER BY ALL"
    ).fetchall()
    out = [f"trajectory of unknown run {r[0]}" for r in missing_runs]
    dangling = db.execute(
        "SELECT t.run_id, t.step FROM trajectories t JOIN runs r USING (run_id) "
        "WHERE NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.arch_hash = t.arch_hash "
        "AND e.task_key = r.task_key AND e.replicate = t.replicate) ORDER BY ALL"
    ).fetchall()
    out += [f"trajectory {run} step {step}: its evaluation is not stored" for run, step in dangling]
    gaps = db.execute(
        "SELECT run_id, count(*), min(step), max(step) FROM trajectories "
        "GROUP BY run_id HAVING count(*) != max(step) + 1 OR min(step) != 0 ORDER BY ALL"
    ).fetchall()
    out += [f"trajectory {run}: {n} rows but steps {first}..{last}" for run, n, first, last in gaps]
    hashes = _Hashes()
    for run in _runs_with_rows(db):
        out += run.problems(hashes)
    return out


def generation_problems(db: Queryable) -> list[str]:
    """The run log's generations: a known run, a stored evaluation, a step its trajectory holds."""
    has_table = db.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'generations'"
    ).fetchone()
    if not has_table or not has_table[0]:  # a cache written before the table (opened read-only)
        return []
    unknown = db.execute(
        "SELECT DISTINCT run_id FROM generations g "
        "WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = g.run_id) ORDER BY ALL"
    ).fetchall()
    out = [f"generations of unknown run {r[0]}" for r in unknown]
    dangling = db.execute(
        "SELECT g.run_id, g.generation, g.role, g.member FROM generations g JOIN runs r USING (run_id) "
        "WHERE NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.arch_hash = g.arch_hash "
        "AND e.task_key = r.task_key AND e.replicate = g.replicate) ORDER BY ALL LIMIT 100"
    ).fetchall()
    out += [
        f"generation {g} of run {run}: {role} {m}'s evaluation is not stored" for run, g, role, m in dangling
    ]
    ahead = db.execute(
        "SELECT g.run_id, max(g.step), (SELECT count(*) FROM trajectories t WHERE t.run_id = g.run_id) "
        "FROM generations g GROUP BY g.run_id HAVING max(g.step) >= "
        "(SELECT count(*) FROM trajectories t WHERE t.run_id = g.run_id) ORDER BY ALL"
    ).fetchall()
    out += [
        f"generations of run {run} reach step {step}, its trajectory has {n} rows" for run, step, n in ahead
    ]
    return out


@dataclass(frozen=True)
class _Row:
    step: int
    arch_hash: str
    replicate: int
    fitness: float | None
    cached: bool | None
    sim_seconds: float | None
    wall_seconds: float | None
    encoding: str | None
    evaluation: EvalRecord


@dataclass(frozen=True)
class _Run:
    run_id: str
    objective: str
    workers: int | None
    space: str
    space_params: str | None
    started_at: datetime | None
    rows: tuple[_Row, ...]

    def trained_here(self, evaluation_run: str | None) -> bool:
        attempt = f"{self.run_id}@{self.started_at.isoformat()}" if self.started_at is not None else None
        return evaluation_run is not None and evaluation_run in (self.run_id, attempt)

    def new_to_run(self, record: EvalRecord) -> bool:
        """Not stored when the run's attempt started: trained by it, or stored later by any run."""
        if self.trained_here(record.run_id):
            return True
        return (
            self.started_at is not None
            and record.created_at is not None
            and record.created_at > self.started_at
        )

    def problems(self, hashes: _Hashes) -> list[str]:
        out: list[str] = []
        seen: set[tuple[str, int]] = set()
        clock, last_sim, last_wall = 0.0, -math.inf, -math.inf
        for row in self.rows:
            where = f"trajectory {self.run_id} step {row.step}"
            record = row.evaluation
            if self.objective in OBJECTIVES and row.fitness != record.metric(self.objective):
                out.append(
                    f"{where}: fitness {row.fitness} is not its evaluation's {self.objective} "
                    f"({record.metric(self.objective)}, status {record.status})"
                )
            key = (row.arch_hash, row.replicate)
            repeated = key in seen
            should_be_cached = repeated or not self.new_to_run(record)
            seen.add(key)
            if row.cached is not should_be_cached:
                out.append(f"{where}: cached is {row.cached}, but {_why(should_be_cached, repeated)}")
            clock += float(record.train_seconds or 0.0)
            out += self._clock(where, row, clock, last_sim, last_wall)
            last_sim = row.sim_seconds if row.sim_seconds is not None else last_sim
            last_wall = row.wall_seconds if row.wall_seconds is not None else last_wall
            if row.encoding is not None:
                problem = hashes.check(self.space, self.space_params, row.encoding, row.arch_hash)
                if problem:
                    out.append(f"{where}: {problem}")
        return out

    def _clock(self, where: str, row: _Row, clock: float, last_sim: float, last_wall: float) -> list[str]:
        out = []
        if row.sim_seconds is None or row.sim_seconds < last_sim:
            out.append(f"{where}: sim_seconds {row.sim_seconds} is before the previous step's")
        elif self.workers == 1 and not math.isclose(
            row.sim_seconds, clock, rel_tol=1e-9, abs_tol=CLOCK_TOLERANCE
        ):
            out.append(
                f"{where}: sim_seconds {row.sim_seconds} is not the sum of the train seconds so far ({clock})"
            )
        if row.wall_seconds is None or row.wall_seconds < last_wall:
            out.append(f"{where}: wall_seconds {row.wall_seconds} is before the previous step's")
        return out


def _why(should_be_cached: bool, repeated: bool) -> str:
    if not should_be_cached:
        return (
            "this run trained the evaluation, or it was stored after the run started, and this is its "
            "first query"
        )
    if repeated:
        return "the evaluation was queried before in this run"
    return "it was stored before the run started, by another run"


class _Hashes:
    """`space.hash(space.decode(encoding))`, memoised per (space, params, encoding)."""

    def __init__(self) -> None:
        self._spaces: dict[tuple[str, str], Any] = {}
        self._hashes: dict[tuple[str, str, str], str] = {}

    def check(self, space_name: str, params: str | None, encoding: str, arch_hash: str) -> str | None:
        key = (space_name, params or "{}", encoding)
        if key not in self._hashes:
            try:
                self._hashes[key] = self._space(space_name, params or "{}").hash(self._decode(key))
            except (EvonasError, ValueError, TypeError, KeyError) as exc:
                return f"cannot rebuild {space_name} {encoding!r}: {exc}"
        if self._hashes[key] != arch_hash:
            return f"encoding {encoding!r} hashes to {self._hashes[key][:12]}, not {arch_hash[:12]}"
        return None

    def _decode(self, key: tuple[str, str, str]) -> Any:
        return self._space(key[0], key[1]).decode(key[2])

    def _space(self, name: str, params: str) -> Any:
        if (name, params) not in self._spaces:
            self._spaces[(name, params)] = resolve_space(name, json.loads(params))
        return self._spaces[(name, params)]


_ROW_SQL = (
    "SELECT t.run_id, r.objective, r.workers, r.space, r.space_params, r.started_at, "
    "t.step, t.arch_hash, t.replicate, t.fitness, t.cached, t.sim_seconds, t.wall_seconds, t.encoding, "
    "e.status, e.val_acc, e.test_acc, e.train_seconds, e.run_id, e.created_at "
    "FROM trajectories t JOIN runs r USING (run_id) JOIN evaluations e "
    "ON e.arch_hash = t.arch_hash AND e.task_key = r.task_key AND e.replicate = t.replicate "
    "ORDER BY t.run_id, t.step"
)


def _runs_with_rows(db: Queryable) -> Iterator[_Run]:
    """Every run with its trajectory rows joined to their evaluations (rows without one are skipped)."""
    current: list[tuple[Any, ...]] = []
    for row in db.execute(_ROW_SQL).fetchall():
        if current and row[0] != current[0][0]:
            yield _make_run(current)
            current = []
        current.append(row)
    if current:
        yield _make_run(current)


def _make_run(rows: list[tuple[Any, ...]]) -> _Run:
    run_id, objective, workers, space, space_params, started_at = rows[0][:6]
    return _Run(
        run_id=run_id,
        objective=objective,
        workers=workers,
        space=space,
        space_params=space_params,
        started_at=started_at,
        rows=tuple(_row(r) for r in rows),
    )


def _row(r: tuple[Any, ...]) -> _Row:
    step, arch, replicate, fitness, cached, sim, wall, encoding = r[6:14]
    status, val_acc, test_acc, train_seconds, trained_by, created_at = r[14:]
    record = EvalRecord(
        arch_hash=arch,
        task_key="",
        replicate=replicate,
        seed=0,
        status=status,
        val_acc=val_acc,
        test_acc=test_acc,
        train_seconds=train_seconds or 0.0,
        run_id=trained_by,
        created_at=created_at,
    )
    return _Row(step, arch, replicate, fitness, cached, sim, wall, encoding, record)
