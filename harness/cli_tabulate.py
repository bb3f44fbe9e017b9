"""The `evonas tabulate` verb: argument parsing and output around `harness.tabulate`."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from harness.errors import EvonasError

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tabulate",
        help="train a space's networks x R replicates into the cache (a tabular benchmark); resumable",
    )
    p.add_argument("--cache", help="DuckDB cache file (default: $EVONAS_CACHE or ./evonas.duckdb)")
    p.add_argument("--space", required=True, help="space name, e.g. genetic_cnn")
    p.add_argument(
        "--space-params", default="{}", help="space parameters as JSON, e.g. '{\"stages\": [3,4,5]}'"
    )
    p.add_argument("--task", required=True, help="task preset, e.g. digits")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every canonical class of the space")
    which.add_argument("--sample", type=int, metavar="N", help="N classes drawn uniformly over classes")
    p.add_argument("--replicates", type=int, default=1, metavar="R", help="trainings per network (seeds)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample")
    p.add_argument("--include-named", action="store_true", help="add the space's named reference networks")
    p.add_argument("--executor", choices=("inline", "process", "ray"), default="inline")
    p.add_argument("--workers", type=int, help="training processes (process executor)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, auto")
    p.add_argument("--data-root", help="dataset directory (default: $EVONAS_DATA or ~/.cache/evonas/data)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def cmd_tabulate(args: argparse.Namespace) -> int:
    from cache import Cache, default_cache_path
    from harness.executors import make_executor
    from harness.spaces import get_space
    from harness.tabulate import select_genomes, tabulate
    from harness.tasks import preset

    try:
        space_params = json.loads(args.space_params)
    except json.JSONDecodeError as exc:
        raise EvonasError(f"--space-params is not JSON: {exc}") from exc
    if not isinstance(space_params, dict):
        raise EvonasError("--space-params must be a JSON object")
    space = get_space(args.space, **space_params)
    task = preset(args.task)
    genomes, how = select_genomes(
        space,
        all_classes=args.all,
        sample=args.sample,
        seed=args.seed,
        include_named=args.include_named,
    )
    with (
        Cache(default_cache_path(args.cache)) as cache,
        make_executor(args.executor, workers=args.workers) as executor,
    ):
        summary = tabulate(
            cache,
            space,
            task,
            genomes,
            args.replicates,
            executor,
            how=how,
            device=args.device,
            data_root=args.data_root,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    if args.json:
        print(json.dumps({**summary.__dict__, "per_hour": summary.per_hour}, sort_keys=True))
    else:
        print(
            f"tabulate {space.name} x {task.name}: {summary.how}; {summary.networks} networks x "
            f"{summary.replicates} replicates, {summary.already_stored} already stored, {summary.trained} "
            f"trained in {summary.wall_seconds:.1f} s ({summary.per_hour:.0f} networks/hour)"
        )
    return 0
