"""`zero_cost_ga` end to end on digits, outside the runner: search without training, then train the result.

    python benchmarks/zero_cost_ga_digits.py --cache /tmp/zero-cost-ga.duckdb --seed 0

Binds a `ProxyFitness` (scores stored in the cache's `proxies` table) to the algorithm, runs its
generations, prints the best of each of the three scores per generation (the paper's Fig. 5) and every
tournament's alphas, then trains the final network (the population's cells concatenated, Fig. 3) through
the ordinary Evaluator with the task's protocol and prints its accuracy, the simulated seconds charged for
the proxy scores and the training seconds. Small defaults so it finishes in minutes on a CPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from algorithms.zero_cost_ga import SCORE_NAMES, ZeroCostGA  # noqa: E402
from cache import Cache  # noqa: E402
from harness.evaluation import Evaluator, Request  # noqa: E402
from harness.proxy_fitness import ProxyFitness  # noqa: E402
from harness.spaces import get_space  # noqa: E402
from harness.tasks import preset  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", required=True)
    p.add_argument("--task", default="digits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pop-size", type=int, default=3)
    p.add_argument("--offsprings", type=int, default=6)
    p.add_argument("--tourn-size", type=int, default=2)
    p.add_argument("--generations", type=int, default=3)
    p.add_argument("--json")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    space = get_space("darts_cell", max_depth=4)
    task = preset(args.task)
    algo = ZeroCostGA(
        space,
        np.random.default_rng(args.seed),
        pop_size=args.pop_size,
        offsprings=args.offsprings,
        tourn_size=args.tourn_size,
        generations=args.generations,
    )
    with Cache(args.cache) as cache:
        fitness = ProxyFitness(cache, space, task, SCORE_NAMES, seed=0)
        algo.bind(fitness)
        (candidate,) = algo.ask(1)
        record = Evaluator(cache, space, task).evaluate([Request(candidate.genome, 0)])[0]
    lines = [
        "| generation | kind | best NTK cond | best third score | best -log det K |",
        "|---|---|---|---|---|",
    ]
    for r in algo.history:
        lines.append(
            f"| {r['generation']} | {r['kind']} | " + " | ".join(f"{v:.4g}" for v in r["best"]) + " |"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    for r in algo.history:
        if "alphas" in r:
            sys.stdout.write(f"generation {r['generation']} tournament alphas: {r['alphas']}\n")
    summary = {
        "final": space.encode(candidate.genome),
        "val_acc": record.val_acc,
        "test_acc": record.test_acc,
        "train_seconds": record.train_seconds,
        "proxy_seconds_charged": fitness.charged_seconds,
        "proxy_queries": fitness.queries,
        "networks_scored": fitness.computed,
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "history": algo.history}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
