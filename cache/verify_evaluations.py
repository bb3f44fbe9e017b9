"""Checks of stored evaluations: derived seeds, status/metric consistency as the trainer records it, sizes.

What the trainer (`harness.training.train_genome`, stored by `harness.evaluation.Evaluator`) records:

- `ok`: no error; a learning curve with one accuracy per epoch on the validation split (on the test split
  when the task has none); `val_acc` is the curve's last value (NULL without a validation split, and then
  `test_acc` is the curve's last value); a parameter count; train seconds;
- `invalid` (rejected before training) and `failed` (an exception while training): an error message and
  no metrics, curve or size.

The parameter count and FLOPs of a network depend on the task only (input shape and classes), so every ok
evaluation of one (network, task) has the same size, and the architecture's recorded size is the one
measured for `params_task_key`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from cache.hashing import training_seed
from cache.records import STATUSES

if TYPE_CHECKING:
    from cache.verify import Queryable

METRICS = ("val_acc", "test_acc", "train_loss", "params", "flops")
COLUMNS = (
    "arch_hash",
    "task_key",
    "replicate",
    "seed",
    "status",
    "error",
    "val_acc",
    "test_acc",
    "train_loss",
    "curve",
    "train_seconds",
    "params",
    "flops",
)


def evaluation_problems(db: Queryable, specs: dict[str, dict[str, Any] | None]) -> list[str]:
    """Orphans, seeds, value ranges and status/metric consistency of every evaluation."""
    orphans = db.execute(
        "SELECT arch_hash, task_key, replicate FROM evaluations e "
        "WHERE NOT EXISTS (SELECT 1 FROM architectures a WHERE a.arch_hash = e.arch_hash) "
        "OR NOT EXISTS (SELECT 1 FROM tasks t WHERE t.task_key = e.task_key) ORDER BY ALL"
    ).fetchall()
    out = [f"evaluation {a[:12]}/{t}/{r}: unknown architecture or task" for a, t, r in orphans]
    rows = db.execute(
        f"SELECT {', '.join(COLUMNS)} FROM evaluations ORDER BY arch_hash, task_key, replicate"
    ).fetchall()
    for row in rows:
        values = dict(zip(COLUMNS, row, strict=True))
        where = f"evaluation {values['arch_hash'][:12]}/{values['task_key']}/{values['replicate']}"
        out += [f"{where}: {p}" for p in check_evaluation(values, _has_val(specs.get(values["task_key"])))]
    return out


def _has_val(spec: dict[str, Any] | None) -> bool | None:
    """Whether the task's split has a validation part (None when the spec is unknown)."""
    if spec is None:
        return None
    split = spec.get("split")
    val = split.get("val") if isinstance(split, dict) else None
    return val > 0 if isinstance(val, int | float) else None


def check_evaluation(row: dict[str, Any], has_val: bool | None) -> list[str]:
    """The problems of one evaluation row (a dict of its columns), without the `evaluation ...:` prefix."""
    out: list[str] = []
    replicate = row["replicate"]
    if replicate < 0 or row["seed"] != training_seed(row["task_key"], row["arch_hash"], replicate):
        out.append(f"seed {row['seed']} is not the derived training seed")
    status = row["status"]
    if status not in STATUSES:
        return [*out, f"unknown status {status!r}"]
    curve = list(row["curve"] or [])
    out += _ranges(row, curve)
    if status == "ok":
        out += _ok(row, curve, has_val)
    else:
        if not row["error"]:
            out.append(f"status {status!r} without an error message")
        out += [f"status {status!r} with {name} set" for name in METRICS if row[name] is not None]
        if curve:
            out.append(f"status {status!r} with a learning curve")
    return out


def _ranges(row: dict[str, Any], curve: list[float]) -> list[str]:
    out = []
    for label in ("val_acc", "test_acc"):
        value = row[label]
        if value is not None and not 0.0 <= value <= 1.0:
            out.append(f"{label} {value} outside [0, 1]")
    if any(v is None or not 0.0 <= v <= 1.0 for v in curve):
        out.append("a curve value outside [0, 1]")
    loss = row["train_loss"]
    if loss is not None and not (math.isfinite(loss) and loss >= 0):
        out.append(f"train_loss {loss} is not a finite non-negative number")
    seconds = row["train_seconds"]
    if seconds is None or not (math.isfinite(seconds) and seconds >= 0):
        out.append(f"train_seconds {seconds} is not a finite non-negative number")
    for label in ("params", "flops"):
        if row[label] is not None and row[label] < 0:
            out.append(f"{label} {row[label]} is negative")
    return out


def _ok(row: dict[str, Any], curve: list[float], has_val: bool | None) -> list[str]:
    out = []
    if row["error"] is not None:
        out.append(f"status 'ok' with an error message {row['error']!r}")
    if row["params"] is None:
        out.append("status 'ok' without a parameter count")
    if not curve:
        return [*out, "status 'ok' without a learning curve"]
    if has_val is True:
        if row["val_acc"] is None:
            out.append("status 'ok' without val_acc (the task has a validation split)")
        elif row["val_acc"] != curve[-1]:
            out.append(f"val_acc {row['val_acc']} is not the last value of its curve ({curve[-1]})")
    elif has_val is False:
        if row["val_acc"] is not None:
            out.append("val_acc set although the task has no validation split")
        if row["test_acc"] != curve[-1]:
            out.append(
                f"test_acc {row['test_acc']} is not the last value of its curve ({curve[-1]}; "
                "the task has no validation split)"
            )
    return out


def size_problems(db: Queryable) -> list[str]:
    """Sizes: one per (network, task) over its ok evaluations, and the architecture's is one of them."""
    out = []
    split = db.execute(
        "SELECT arch_hash, task_key FROM evaluations WHERE status = 'ok' GROUP BY ALL "
        "HAVING count(DISTINCT (coalesce(params, -1), coalesce(flops, -1))) > 1 ORDER BY ALL"
    ).fetchall()
    out += [f"evaluations {a[:12]}/{t}: replicates disagree on params/flops" for a, t in split]
    unrecorded = db.execute(
        "SELECT arch_hash FROM architectures a WHERE params IS NULL AND EXISTS (SELECT 1 FROM evaluations e "
        "WHERE e.arch_hash = a.arch_hash AND e.status = 'ok' AND e.params IS NOT NULL) ORDER BY ALL"
    ).fetchall()
    out += [f"architecture {a[:12]}: evaluated ok with a size, but no size recorded" for (a,) in unrecorded]
    rows = db.execute(
        "SELECT a.arch_hash, a.params, a.flops, a.params_task_key, "
        "count(e.arch_hash), "
        "count(*) FILTER (WHERE e.params = a.params AND e.flops IS NOT DISTINCT FROM a.flops) "
        "FROM architectures a LEFT JOIN evaluations e ON e.arch_hash = a.arch_hash "
        "AND e.task_key = a.params_task_key AND e.status = 'ok' "
        "WHERE a.params IS NOT NULL GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    for arch, params, flops, task_key, evaluated, agreeing in rows:
        where = f"architecture {arch[:12]}"
        if task_key is None:
            out.append(f"{where}: size {params}/{flops} recorded without the task that measured it")
        elif evaluated == 0:
            out.append(f"{where}: size recorded for task {task_key}, which has no ok evaluation of it")
        elif agreeing != evaluated:
            out.append(f"{where}: size {params}/{flops} differs from its evaluations' under task {task_key}")
    return out
