"""The `evonas proxies` verb: compute zero-cost proxies of a space's networks and store them in the cache."""

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
        "proxies",
        help="score untrained networks with zero-cost proxies (NTK, NASWOT, ...) into the cache",
    )
    p.add_argument("--cache", help="DuckDB cache file (default: $EVONAS_CACHE or ./evonas.duckdb)")
    p.add_argument("--space", required=True, help="space name, e.g. genetic_cnn")
    p.add_argument("--space-params", default="{}", help="space parameters as JSON")
    p.add_argument("--task", required=True, help="task preset, e.g. digits (input shape and batch)")
    p.add_argument("--sample", type=int, metavar="N", help="N networks (default: 100)")
    p.add_argument(
        "--evaluated",
        action="store_true",
        help="draw from the networks the cache holds evaluations of for the task (to compare with accuracy)",
    )
    p.add_argument("--include-named", action="store_true", help="add the space's named reference networks")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample of networks")
    p.add_argument("--proxy-seed", type=int, default=0, help="seed of the proxies' initialisation and batch")
    p.add_argument(
        "--proxies",
        default="all",
        help="comma-separated proxy names, or all (default): ntk_cond, naswot, grad_corr, synflow, "
        "grad_norm, snip, params, flops",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, auto")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads while scoring (default 1)")
    p.add_argument("--data-root", help="dataset directory (default: $EVONAS_DATA or ~/.cache/evonas/data)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _genomes(args: argparse.Namespace, space: Any, task: Any, cache: Any) -> tuple[list[Any], str]:
    from harness.proxies_store import evaluated_genomes
    from harness.tabulate import select_genomes

    sample = 100 if args.sample is None else args.sample
    if sample < 1:
        raise EvonasError(f"--sample must be >= 1, got {sample}")
    if args.evaluated:
        genomes = evaluated_genomes(cache, space, task, sample=sample, seed=args.seed)
        if not genomes:
            raise EvonasError(
                f"the cache holds no ok evaluation of a {space.name} network for task {task.name}; "
                "import a table first (`evonas cache import DIR`)"
            )
        how = f"{len(genomes)} evaluated networks drawn from the cache (seed {args.seed})"
        if args.include_named:
            genomes = [space.named(n) for n in sorted(space.named_architectures())] + genomes
            how += ", plus every named reference"
        return genomes, how
    return select_genomes(space, sample=sample, seed=args.seed, include_named=args.include_named)


def cmd_proxies(args: argparse.Namespace) -> int:
    from cache import Cache, default_cache_path
    from harness.proxies import proxy_names, spec
    from harness.proxies_store import score_genomes
    from harness.spaces import get_space
    from harness.tasks import preset

    try:
        space_params = json.loads(args.space_params)
    except json.JSONDecodeError as exc:
        raise EvonasError(f"--space-params is not JSON: {exc}") from exc
    if not isinstance(space_params, dict):
        raise EvonasError("--space-params must be a JSON object")
    names = [n.strip() for n in args.proxies.split(",") if n.strip()]
    if names == ["all"]:
        names = proxy_names()
    if not names:
        raise EvonasError("--proxies names no proxy")
    for name in names:
        spec(name)
    if str(args.device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise EvonasError(f"--device {args.device}: CUDA is not available on this machine")
    space = get_space(args.space, **space_params)
    task = preset(args.task)
    with Cache(default_cache_path(args.cache)) as cache:
        genomes, how = _genomes(args, space, task, cache)
        bar = _progress(len(genomes)) if not getattr(args, "quiet", False) and sys.stderr.isatty() else None
        try:
            summary = score_genomes(
                cache,
                space,
                task,
                genomes,
                names,
                seed=args.proxy_seed,
                device=args.device,
                data_root=args.data_root,
                threads=args.threads,
                on_network=(lambda _i: bar.update(1)) if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()
    if args.json:
        print(json.dumps({"how": how, **summary.__dict__}, sort_keys=True))
    else:
        timing = ", ".join(f"{n} {s * 1000:.0f} ms" for n, s in summary.seconds_per_proxy.items())
        print(
            f"proxies {space.name} x {task.name} (seed {args.proxy_seed}): {how}; "
            f"{summary.networks} networks, "
            f"{summary.already_stored} already stored, {summary.computed} scored, {summary.invalid} invalid, "
            f"in {summary.wall_seconds:.1f} s" + (f"; per network: {timing}" if timing else "")
        )
    return 0


def _progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="net", dynamic_ncols=True, file=sys.stderr)
