"""The `evonas tabulate` verb: argument parsing and output around `harness.tabulate`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING

from harness.errors import EvonasError

if TYPE_CHECKING:
    from cache import Cache
    from harness.spaces.base import SearchSpace
    from harness.tabulate import TabulateSummary
    from harness.tasks import Task

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
    p.add_argument(
        "--processes", "--workers", dest="workers", type=int, help="training processes (process executor)"
    )
    p.add_argument("--device", help="cpu, cuda, cuda:1, auto")
    p.add_argument("--data-root", help="dataset directory (default: $EVONAS_DATA or ~/.cache/evonas/data)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--export",
        metavar="DIR",
        help="afterwards, write the cache as a shipped table: Parquet export + recipe.json + README card",
    )


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
        if args.export:
            _export(args, cache, space, task, summary)
    if args.json:
        print(json.dumps({**summary.__dict__, "per_hour": summary.per_hour}, sort_keys=True))
    else:
        print(
            f"tabulate {space.name} x {task.name}: {summary.how}; {summary.networks} networks x "
            f"{summary.replicates} replicates, {summary.already_stored} already stored, {summary.trained} "
            f"trained in {summary.wall_seconds:.1f} s ({summary.per_hour:.0f} networks/hour)"
        )
    return 0


def command_line(args: argparse.Namespace) -> str:
    """The tabulate command that rebuilds (or, run again, extends) the table."""
    parts = ["evonas tabulate", f"--space {args.space}", f"--task {args.task}"]
    if args.space_params != "{}":
        parts.append(f"--space-params '{args.space_params}'")
    parts.append("--all" if args.all else f"--sample {args.sample} --seed {args.seed}")
    parts.append(f"--replicates {args.replicates}")
    if args.include_named:
        parts.append("--include-named")
    return " ".join(parts)


def _export(
    args: argparse.Namespace, cache: Cache, space: SearchSpace, task: Task, summary: TabulateSummary
) -> None:
    from harness.experiment import code_version, hardware
    from harness.table_card import write_table

    named = {name: space.hash(space.named(name)) for name in space.named_architectures()}
    recipe = {
        "command": command_line(args),
        "selection": summary.how,
        "code_version": code_version(),
        "hardware": json.loads(hardware()),
        "executor": {"kind": args.executor, "workers": args.workers},
        "wall_seconds_last_invocation": round(summary.wall_seconds, 1),
        "trained_last_invocation": summary.trained,
    }
    stats = write_table(cache, args.export, task.key(), recipe, named=named)
    log.info("table: %d networks, %d evaluations in %s", stats.networks, stats.evaluations, args.export)
