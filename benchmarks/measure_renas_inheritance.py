"""Measure RENAS parameter inheritance on digits (docs/renas.md, "Parameter inheritance"): a script.

    python benchmarks/measure_renas_inheritance.py                  # ~10 CPU-minutes on a quiet laptop
    python benchmarks/measure_renas_inheritance.py --evaluations 30 --seeds 0,1,2

Runs `InheritSearch` with `inherit = true` and with `inherit = false` (children trained from scratch, the
plain cache entries) on the same seeds, space and task as benchmarks/configs/renas_digits.toml, each in a
fresh temporary cache, and prints one Markdown row per setting: mean seconds of a from-scratch training,
mean seconds of an inherited child (one pass at lr 0.01 / 0.001), mean child fitness, final population
mean, and wall seconds.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from algorithms.renas_search import InheritSearch
from algorithms.renas_weights import WeightStore
from cache import Cache
from harness.spaces import get_space
from harness.tasks import preset

log = logging.getLogger("measure_renas_inheritance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=16)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--population", type=int, default=6)
    parser.add_argument("--sample-size", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    space = get_space("renas_cell", filters=4, cells=1, stages=2)
    task = preset("digits_renas")
    params = {"population": args.population, "sample_size": args.sample_size}
    rows = []
    for inherit in (True, False):
        scratch, child, child_fit, final, walls = [], [], [], [], []
        for seed in (int(s) for s in args.seeds.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                with Cache(Path(tmp) / "c.duckdb") as cache:
                    search = InheritSearch(
                        cache,
                        space,
                        task,
                        WeightStore(Path(tmp) / "w"),
                        seed=seed,
                        params=params,
                        inherit=inherit,
                    )
                    result = search.run(args.evaluations)
                walls.append(time.perf_counter() - start)
            initial = result.rows[: args.population]
            later = result.rows[args.population :]
            scratch.extend(r.seconds for r in (initial if inherit else result.rows) if not r.cached)
            child.extend(r.seconds for r in later if not r.cached)
            child_fit.extend(r.fitness for r in later)
            final.append(result.history[-1][0])
        rows.append(
            f"| {'inherit' if inherit else 'from scratch'} | {np.mean(scratch):.2f} | {np.mean(child):.2f} | "
            f"{np.mean(child_fit):.4f} | {np.mean(final):.4f} | {np.mean(walls):.0f} |"
        )
    log.info("| children | s per scratch training | s per child | child fitness | final pop. mean | wall s |")
    log.info("|---|---|---|---|---|---|")
    for row in rows:
        log.info("%s", row)


if __name__ == "__main__":
    main()
