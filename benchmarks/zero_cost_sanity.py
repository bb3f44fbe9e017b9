"""The paper's sanity check (Reolon, Sec. III, Fig. 4) on digits: do known designs score nearer the origin?

    python benchmarks/zero_cost_sanity.py --random 40 --seed 0 --cache /tmp/zero-cost-sanity.duckdb

Scores the `darts_cell` references (`resnet_like`, `vgg_like`, and the small handcrafted `single_conv`) and
`--random` random genotypes (the space's sample, then `--mutations` further mutations: the paper's
"randomly mutated genotypes") with the paper's three scores on the task's seeded batch, stores them in the
cache's `proxies` table, and prints each reference's share-of-random-networks-beating-it on every axis
and its distance from the origin (`harness.proxies_analysis.standings`), beside the random networks' own
median distance. The paper claims the references sit near the origin and random genotypes far from it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cache import Cache  # noqa: E402
from harness.proxies_analysis import Standing, paper_scores, standings  # noqa: E402
from harness.proxies_store import proxy_values, score_genomes  # noqa: E402
from harness.spaces import SearchSpace, get_space  # noqa: E402
from harness.tasks import preset  # noqa: E402

NAMES = ("ntk_cond", "naswot", "grad_corr", "params")
log = logging.getLogger("zero_cost_sanity")


def random_genomes(space: SearchSpace, n: int, mutations: int, seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    out: dict[str, object] = {}
    while len(out) < n:
        genome = space.sample(rng)
        for _ in range(mutations):
            genome = space.mutate(genome, rng)
        out.setdefault(space.hash(genome), genome)
    return list(out.values())


def measure(args: argparse.Namespace) -> list[Standing]:
    space = get_space("darts_cell")
    task = preset(args.task)
    named = {n: space.named(n) for n in sorted(space.named_architectures())}
    randoms = random_genomes(space, args.random, args.mutations, args.seed)
    with Cache(args.cache) as cache:
        score_genomes(cache, space, task, [*named.values(), *randoms], NAMES, seed=args.proxy_seed)
        values = proxy_values(cache, task.key(), NAMES, seed=args.proxy_seed)
    sample = [paper_scores(values[space.hash(g)]) for g in randoms]
    own = standings(sample, {f"r{i}": s for i, s in enumerate(sample)}, {})
    rows = standings(sample, {n: paper_scores(values[space.hash(g)]) for n, g in named.items()}, {})
    distances = sorted(r.distance for r in own)
    rows.append(Standing("random (median)", float("nan"), *(float("nan"),) * 3, float(np.median(distances))))
    rows.append(
        Standing("random (25th pct)", float("nan"), *(float("nan"),) * 3, float(np.percentile(distances, 25)))
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="digits")
    p.add_argument("--cache", required=True)
    p.add_argument("--random", type=int, default=40)
    p.add_argument("--mutations", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--proxy-seed", type=int, default=0)
    p.add_argument("--json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    rows = measure(args)
    lines = ["| network | NTK share | third-score share | NASWOT share | distance |", "|---|---|---|---|---|"]
    for r in rows:
        cells = ["-" if np.isnan(v) else f"{v:.2f}" for v in (r.ntk_cond_pct, r.third_pct, r.naswot_pct)]
        lines.append(f"| {r.network} | {' | '.join(cells)} | {r.distance:.2f} |")
    sys.stdout.write("\n".join(lines) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
