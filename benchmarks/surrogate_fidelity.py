"""Fidelity of the surrogate benchmark (NAS-Bench-301's test): do algorithms rank the same on the table
and on the surrogate?

The same algorithms, seeds and budgets run twice on the shipped digits table's networks: in tabular mode
(measured answers; a network the table lacks is invalid) and in surrogate mode with scope `table` (the same
networks, predicted answers; the rest invalid). Printed: each algorithm's median final test accuracy of the
incumbent in both, the Kendall tau between the two rankings, and every pairwise dominance verdict in both.

    .venv/bin/python benchmarks/surrogate_fidelity.py --cache /tmp/fid.duckdb [--trials 10] [--budget 100]
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy import stats

from cache import Cache
from cache.parquet import import_into
from harness.config import AlgorithmEntry, EvaluationSettings
from harness.demo import demo_configs, shipped_table
from harness.experiment import run_experiment
from harness.runner import Budget
from reports.analysis import block_results, final_samples
from reports.data import blocks, load
from reports.stats_dominance import compare

ALGORITHMS = (
    AlgorithmEntry("random_search", "random_search"),
    AlgorithmEntry("regularized_evolution", "regularized_evolution", {"population": 20, "sample_size": 5}),
    AlgorithmEntry("genetic_cnn_ga", "genetic_cnn_ga", {"population": 20, "generations": 4}),
    AlgorithmEntry("optuna_tpe", "optuna_tpe", {"n_startup_trials": 10}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    path = Path(args.cache)
    if not path.exists():
        import_into(path, shipped_table())
    base, _ = demo_configs()
    common = {"trials": args.trials, "budget": Budget(evaluations=args.budget), "algorithms": ALGORITHMS}
    tabular = replace(
        base,
        name="fidelity-tabular",
        evaluation=EvaluationSettings(mode="tabular", out_of_table="invalid", replicates="independent"),
        **common,
    )
    surrogate = replace(
        base,
        name="fidelity-surrogate",
        evaluation=EvaluationSettings(mode="surrogate", surrogate_scope="table", replicates="independent"),
        **common,
    )
    with Cache(path) as cache:
        for config in (tabular, surrogate):
            run_experiment(config, cache, resume=False, restart=True, progress=False)
    with Cache(path, read_only=True) as cache:
        data = load(cache, [tabular.name, surrogate.name])
    samples = {}
    for block in blocks(data):
        samples[block.experiment.name] = final_samples(block_results(data, block))
    labels = [a.label for a in ALGORITHMS]
    medians = {name: [float(np.median(s[label])) for label in labels] for name, s in samples.items()}
    tau = float(stats.kendalltau(medians[tabular.name], medians[surrogate.name]).statistic)
    verdicts = []
    for a, b in combinations(labels, 2):
        pair = {}
        for name, s in samples.items():
            pair[name] = compare(s[a], s[b]).verdict
        verdicts.append({"pair": f"{a} vs {b}", **pair, "agree": len(set(pair.values())) == 1})
    out = {
        "trials": args.trials,
        "budget": args.budget,
        "median_final_test": {
            label: {name: round(medians[name][i], 4) for name in medians} for i, label in enumerate(labels)
        },
        "ranking_kendall_tau": round(tau, 3),
        "verdicts": verdicts,
        "verdict_agreement": sum(v["agree"] for v in verdicts) / len(verdicts),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{args.trials} seeds x {args.budget} evaluations; median final test accuracy of the incumbent:")
    for label, row in out["median_final_test"].items():
        print(f"  {label:24s} tabular {row[tabular.name]:.4f}   surrogate {row[surrogate.name]:.4f}")
    print(f"ranking agreement (Kendall tau of the medians): {tau:.3f}")
    for v in verdicts:
        print(f"  {v['pair']:50s} tabular {v[tabular.name]:9s} surrogate {v[surrogate.name]:9s}")
    print(f"pairwise verdicts that agree: {out['verdict_agreement']:.0%}")


if __name__ == "__main__":
    main()
