"""A shipped table: the cache's export, its recipe (how to rebuild it) and a README card with its statistics.

Modelled on Syne Tune's blackbox recipes: the recipe records the exact command, code version, hardware,
library versions and wall time, so anyone can rebuild or extend the table (`evonas tabulate` skips what is
stored: the same command with a larger `--sample` or `--replicates` extends it). The card states what the
table holds, the replicate noise (per-network std of the metric, rank correlation between replicates) and
the distribution of accuracies, all computed from the stored rows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from cache.parquet import export_parquet
from cache.store import Cache, library_versions

log = logging.getLogger(__name__)

RECIPE = "recipe.json"
CARD = "README.md"


@dataclass(frozen=True)
class TableStats:
    space: str
    task: str
    networks: int
    evaluations: int
    ok: int
    replicates: dict[int, int]  # replicates per network -> how many networks
    quantiles: dict[str, float]  # of the per-network mean metric
    noise_std_median: float | None
    noise_std_mean: float | None
    rank_correlation: dict[str, float]  # "0-1": Spearman rho between replicates 0 and 1 over networks
    train_seconds: float
    named: dict[str, float]


def table_stats(
    cache: Cache, task_key: str, metric: str = "val_acc", named: dict[str, str] | None = None
) -> TableStats:
    """Statistics of one task's evaluations in `cache` (metric of 'ok' rows; invalid/failed counted)."""
    rows = cache.execute(
        f"SELECT e.arch_hash, e.replicate, e.status, e.{metric}, e.train_seconds, a.space, t.name "
        "FROM evaluations e JOIN architectures a USING (arch_hash) JOIN tasks t USING (task_key) "
        "WHERE e.task_key = ? ORDER BY e.arch_hash, e.replicate",
        [task_key],
    ).fetchall()
    if not rows:
        raise ValueError(f"no evaluations of task {task_key}")
    per_net: dict[str, dict[int, float]] = {}
    for arch, rep, status, value, _, _, _ in rows:
        if status == "ok" and value is not None:
            per_net.setdefault(arch, {})[int(rep)] = float(value)
    counts: dict[int, int] = {}
    for reps in per_net.values():
        counts[len(reps)] = counts.get(len(reps), 0) + 1
    means = np.array([np.mean(list(r.values())) for r in per_net.values()])
    stds = np.array([np.std(list(r.values()), ddof=1) for r in per_net.values() if len(r) >= 2])
    corr = {}
    for a, b in ((0, 1), (0, 2), (1, 2)):
        pairs = [(r[a], r[b]) for r in per_net.values() if a in r and b in r]
        if len(pairs) >= 10:
            corr[f"{a}-{b}"] = float(stats.spearmanr(*zip(*pairs, strict=True)).statistic)
    names = {}
    for label, arch in (named or {}).items():
        if arch in per_net:
            names[label] = float(np.mean(list(per_net[arch].values())))
    qs = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
    return TableStats(
        space=rows[0][5],
        task=rows[0][6],
        networks=len({r[0] for r in rows}),
        evaluations=len(rows),
        ok=sum(1 for r in rows if r[2] == "ok"),
        replicates=dict(sorted(counts.items())),
        quantiles={f"q{int(q * 100):02d}": float(np.quantile(means, q)) for q in qs} if len(means) else {},
        noise_std_median=float(np.median(stds)) if len(stds) else None,
        noise_std_mean=float(np.mean(stds)) if len(stds) else None,
        rank_correlation=corr,
        train_seconds=float(sum(r[4] or 0.0 for r in rows)),
        named=names,
    )


def write_table(
    cache: Cache,
    directory: str | Path,
    task_key: str,
    recipe: dict[str, Any],
    named: dict[str, str] | None = None,
) -> TableStats:
    """Export `cache` into `directory` with `recipe.json` and a README card; returns the statistics."""
    out = Path(directory)
    counts = export_parquet(cache, out)
    summary = table_stats(cache, task_key, named=named)
    full = {**recipe, "versions": json.loads(library_versions()), "rows": counts}
    (out / RECIPE).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    (out / CARD).write_text(card(summary, full))
    log.info("table written to %s (%d networks, %d evaluations)", out, summary.networks, summary.evaluations)
    return summary


def card(s: TableStats, recipe: dict[str, Any]) -> str:
    reps = ", ".join(f"{n} network(s) with {r}" for r, n in s.replicates.items())
    quant = " | ".join(f"{v:.4f}" for v in s.quantiles.values())
    heads = " | ".join(k for k in s.quantiles)
    corr = ", ".join(f"replicates {k}: {v:.3f}" for k, v in s.rank_correlation.items()) or "n/a"
    named = "\n".join(f"| {k} | {v:.4f} |" for k, v in sorted(s.named.items()))
    noise = (
        f"median per-network std {s.noise_std_median:.4f}, mean {s.noise_std_mean:.4f}"
        if s.noise_std_median is not None
        else "n/a (one replicate per network)"
    )
    return f"""# {s.space} x {s.task}: a tabular benchmark

Written by `evonas tabulate` and `cache export` (Parquet, one file per table, with `manifest.json` carrying a
sha256 and row count per file). Load it with `evonas cache import <this directory>` and run any experiment
on it with `mode = "tabular"` in its `[evaluation]` section; or read the Parquet files with DuckDB,
pyarrow or pandas, without evonas.

## What it holds

- {s.networks} distinct networks (canonical classes), {s.evaluations} evaluations, {s.ok} of them `ok`.
- Replicates: {reps}.
- How they were drawn: {recipe.get("selection", "see recipe.json")}.
- Stored training time: {s.train_seconds / 3600:.2f} h of single-network CPU time.

## Accuracy (per-network mean of the validation accuracy)

| {heads} |
|{"---|" * len(s.quantiles)}
| {quant} |

## Replicate noise

- Seed noise: {noise} (validation accuracy, over networks with at least 2 replicates).
- Rank correlation (Spearman) between replicates across networks: {corr}.

## Named references

| network | mean val_acc |
|---|---|
{named}

## Recipe

`recipe.json` holds the exact command, the code version, the hardware, the library versions and the wall
time. Running the command again trains nothing; a larger `--sample` or `--replicates` extends the table.

```
{recipe.get("command", "")}
```
"""
