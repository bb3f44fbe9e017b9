"""Zero-cost proxies against trained accuracy on a shipped table: Kendall tau and Spearman rho per proxy.

    python benchmarks/proxy_correlation.py --sample 300 --seed 0 --cache /tmp/proxy-corr.duckdb

Imports the table (default `benchmarks/tables/genetic_cnn-digits`) into the cache if its evaluations are
not there, draws `--sample` of its evaluated networks with `--seed`, computes every proxy (stored in the
cache's `proxies` table, so a second run computes nothing), and prints a Markdown table of the rank
correlations with the per-network mean validation accuracy, with percentile bootstrap intervals
(networks resampled with replacement, `--bootstrap` times, from the same seed). `--json PATH` also writes
the numbers. Everything is reproducible from (table version, sample, seed, proxy seed): the sample is
drawn from the table's evaluated networks in hash order, so a table that has grown gives another sample
(the output names the evaluations file's row count and digest).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cache import Cache  # noqa: E402
from cache.parquet import import_parquet, read_manifest  # noqa: E402
from harness.proxies import PROXIES, paper_third_score, proxy_names  # noqa: E402
from harness.proxies_analysis import Standing, paper_scores, rank_correlations, standings  # noqa: E402
from harness.proxies_store import evaluated_genomes, proxy_values, score_genomes  # noqa: E402
from harness.spaces import get_space  # noqa: E402
from harness.tasks import preset  # noqa: E402

log = logging.getLogger("proxy_correlation")

DEFAULT_TABLE = ROOT / "benchmarks" / "tables" / "genetic_cnn-digits"
PAPER_COMBINED = "grad_corr x ntk_cond x ln(params)"


@dataclass(frozen=True)
class Correlation:
    proxy: str
    n: int
    kendall: float
    kendall_lo: float
    kendall_hi: float
    spearman: float
    spearman_lo: float
    spearman_hi: float
    expected_sign: int  #: +1 when higher proxy values should mean higher accuracy
    seconds_per_network: float


def mean_accuracy(cache: Cache, task_key: str) -> dict[str, float]:
    rows = cache.execute(
        "SELECT arch_hash, avg(val_acc) FROM evaluations WHERE task_key = ? AND status = 'ok' GROUP BY 1",
        [task_key],
    ).fetchall()
    return {a: float(v) for a, v in rows}


def ensure_table(cache: Cache, table: Path) -> None:
    want = int(read_manifest(table)["tables"]["evaluations"]["rows"])
    have = cache.execute("SELECT count(*) FROM evaluations").fetchone()[0]
    if have < want:
        log.info("importing %s", table)
        import_parquet(cache, table, on_conflict="skip")


def measure(args: argparse.Namespace) -> tuple[list[Correlation], list[Standing]]:
    space = get_space(args.space)
    task = preset(args.task)
    names = proxy_names()
    with Cache(args.cache) as cache:
        ensure_table(cache, Path(args.table))
        genomes = evaluated_genomes(cache, space, task, sample=args.sample, seed=args.seed)
        named = {n: space.named(n) for n in sorted(space.named_architectures())} if args.named else {}
        start = time.perf_counter()
        summary = score_genomes(
            cache, space, task, [*genomes, *named.values()], names, seed=args.proxy_seed, threads=args.threads
        )
        log.info("scored %d networks in %.0f s", summary.computed, time.perf_counter() - start)
        seconds = dict(
            cache.execute(
                "SELECT split_part(proxy, '@', 1), avg(seconds) FROM proxies WHERE task_key = ? GROUP BY 1",
                [task.key()],
            ).fetchall()
        )
        acc = mean_accuracy(cache, task.key())
        values = proxy_values(cache, task.key(), names, seed=args.proxy_seed)
    hashes = [space.hash(g) for g in genomes]
    rng = np.random.default_rng(np.random.SeedSequence([args.seed, args.proxy_seed, 0xB007]))
    columns: dict[str, list[float]] = {n: [] for n in [*names, PAPER_COMBINED]}
    accuracy = []
    for h in hashes:
        row = values.get(h, {})
        if h not in acc or any(row.get(n) is None for n in names):
            continue
        accuracy.append(acc[h])
        for n in names:
            columns[n].append(float(row[n]))
        columns[PAPER_COMBINED].append(
            paper_third_score(row["grad_corr"], row["ntk_cond"], int(row["params"]))
        )
    y = np.asarray(accuracy)
    out = []
    for name, col in columns.items():
        sign = PROXIES[name].higher_is_better if name in PROXIES else False
        secs = seconds.get(name, math.nan) if name in PROXIES else math.nan
        corr = rank_correlations(np.asarray(col), y, rng, args.bootstrap)
        out.append(Correlation(name, len(y), *corr, 1 if sign else -1, float(secs)))
    sample_scores = [paper_scores(values[h]) for h in hashes if h in acc and h in values]
    sample_acc = {f"sample {i}": acc[h] for i, h in enumerate(hashes) if h in acc and h in values}
    named_hashes = {n: space.hash(g) for n, g in named.items()}
    others = {n: paper_scores(values[h]) for n, h in named_hashes.items() if h in values}
    named_acc = {n: acc.get(h, math.nan) for n, h in named_hashes.items()}
    own = standings(sample_scores, {f"sample {i}": sc for i, sc in enumerate(sample_scores)}, sample_acc)
    median = float(np.median([st.distance for st in own]))
    rows = standings(sample_scores, others, named_acc)
    rows.append(Standing("random sample (median)", float(np.median(y)), math.nan, math.nan, math.nan, median))
    return out, rows


def markdown(rows: list[Correlation]) -> str:
    lines = [
        "| proxy | better | Kendall tau [95% CI] | Spearman rho [95% CI] | CPU ms / network |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        ms = "-" if math.isnan(r.seconds_per_network) else f"{r.seconds_per_network * 1000:.0f}"
        lines.append(
            f"| {r.proxy} | {'higher' if r.expected_sign > 0 else 'lower'} | "
            f"{r.kendall:+.3f} [{r.kendall_lo:+.3f}, {r.kendall_hi:+.3f}] | "
            f"{r.spearman:+.3f} [{r.spearman_lo:+.3f}, {r.spearman_hi:+.3f}] | {ms} |"
        )
    lines.append(f"\nn = {rows[0].n} networks" if rows else "")
    return "\n".join(lines)


def standings_markdown(rows: list[Standing]) -> str:
    lines = [
        "| network | val_acc | NTK share | third-score share | NASWOT share | distance from origin |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = ["-" if math.isnan(v) else f"{v:.2f}" for v in (r.ntk_cond_pct, r.third_pct, r.naswot_pct)]
        lines.append(f"| {r.network} | {r.val_acc:.3f} | {' | '.join(cells)} | {r.distance:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", default=str(DEFAULT_TABLE))
    p.add_argument("--space", default="genetic_cnn")
    p.add_argument("--task", default="digits")
    p.add_argument("--cache", required=True, help="DuckDB file (created; the table is imported into it)")
    p.add_argument("--sample", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--proxy-seed", type=int, default=0)
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--named", action="store_true", help="also score the named references (Fig. 4 check)")
    p.add_argument("--json", help="also write the numbers here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    rows, named = measure(args)
    entry = read_manifest(Path(args.table))["tables"]["evaluations"]
    text = (
        markdown(rows)
        + f" of {args.table} (evaluations: {entry['rows']} rows, sha256 {entry['sha256'][:16]})"
    )
    if args.named:
        text += "\n\n" + standings_markdown(named)
    sys.stdout.write(text + "\n")
    if args.json:
        payload = {"correlations": [asdict(r) for r in rows], "standings": [asdict(r) for r in named]}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
