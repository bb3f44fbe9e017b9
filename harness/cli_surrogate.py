"""`evonas surrogate fit|evaluate`: fit a table's surrogate; measure surrogates on held-out networks."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from harness.errors import EvonasError

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "surrogate", help="fit a table's surrogate model, or measure surrogates on held-out networks"
    )
    ssub = p.add_subparsers(dest="surrogate_cmd", required=True)
    for name, text in (
        ("fit", "fit (or find) the model of the table as stored now; print its id and figures"),
        ("evaluate", "fit every model kind on a seeded split and score it on the held-out networks"),
    ):
        c = ssub.add_parser(name, help=text)
        c.add_argument("--cache", help="DuckDB cache file (default: $EVONAS_CACHE or ./evonas.duckdb)")
        c.add_argument("--space", default="genetic_cnn", help="space name (default genetic_cnn)")
        c.add_argument("--space-params", default="{}", help="space parameters as JSON")
        c.add_argument("--task", default="digits", help="task preset (default digits)")
        c.add_argument("--seed", type=int, default=0, help="seed of the fit (and of the split)")
        c.add_argument("--json", action="store_true", help="print JSON")
        if name == "fit":
            c.add_argument("--kind", default=None, help="gbr | forest | extra_trees (default gbr)")
        else:
            c.add_argument(
                "--holdout", type=float, default=0.2, help="held-out share of networks (default 0.2)"
            )


def _space(args: argparse.Namespace) -> Any:
    from harness.spaces import get_space

    try:
        params = json.loads(args.space_params)
    except json.JSONDecodeError as exc:
        raise EvonasError(f"--space-params is not JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise EvonasError("--space-params must be a JSON object")
    return get_space(args.space, **params)


def cmd_surrogate(args: argparse.Namespace) -> int:
    from cache import Cache, default_cache_path
    from harness.surrogate_current import current_model
    from harness.surrogate_fit import DEFAULT_KIND, read_table
    from harness.surrogate_quality import best_kind, evaluate
    from harness.tasks import preset

    space = _space(args)
    task = preset(args.task)
    if args.surrogate_cmd == "fit":
        with Cache(default_cache_path(args.cache)) as cache:
            model = current_model(cache, space, task.key(), kind=args.kind or DEFAULT_KIND, seed=args.seed)
        out = {"model_id": model.model_id, **model.info.to_json(), "noise": model.noise.to_json()}
        if args.json:
            print(json.dumps(out, indent=2, sort_keys=True))
        else:
            n = model.noise
            print(
                f"surrogate {model.model_id}: {model.info.kind} on {model.info.networks} networks "
                f"({model.info.evaluations} evaluations) of {space.name} on {task.name}; "
                f"replicate noise from {n.networks} networks with >= 2 replicates: val std "
                + ", ".join(f"{s:.4f}" for s in n.std_val)
                + f" by bin of mean accuracy (edges {', '.join(f'{e:.3f}' for e in n.edges) or 'none'}), "
                f"val/test correlation {n.rho:.2f}"
            )
        return 0
    with Cache(default_cache_path(args.cache), read_only=True) as cache:
        table = read_table(cache, space, task.key())
    qualities = evaluate(table, holdout=args.holdout, seed=args.seed)
    rows = [q.to_json() for q in qualities]
    if args.json:
        print(
            json.dumps({"table_digest": table.digest, "models": rows, "best": best_kind(qualities)}, indent=2)
        )
        return 0
    head = (
        "kind",
        "tau",
        "rho",
        "R2",
        "test tau",
        "test R2",
        "time R2",
        "noise n",
        "+-1sd",
        "+-2sd",
        "std ratio",
        "in 2sd",
    )
    keys = (
        "kind",
        "kendall_tau",
        "spearman",
        "r2",
        "test_kendall_tau",
        "test_r2",
        "seconds_r2",
        "noise_networks",
        "within_1sd",
        "within_2sd",
        "std_ratio",
        "interval_2sd",
    )
    sys.stdout.write(
        f"{len(table.networks)} networks ({table.evaluations} evaluations); "
        f"held out {qualities[0].heldout_networks}\n"
    )
    sys.stdout.write("  ".join(f"{h:>9s}" for h in head) + "\n")
    for r in rows:
        sys.stdout.write(
            "  ".join(f"{r[k]:>9.4f}" if isinstance(r[k], float) else f"{r[k]!s:>9s}" for k in keys) + "\n"
        )
    sys.stdout.write(f"best by held-out Kendall tau: {best_kind(qualities)} (default {DEFAULT_KIND})\n")
    return 0
