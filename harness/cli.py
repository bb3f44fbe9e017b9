"""The `evonas` command.

Every failure the user can cause (bad config, unknown name, malformed genome, missing dataset, locked or
corrupt cache) ends as one line `evonas: error: ...` on stderr and exit status 2; an interrupted run says how
to resume and exits 130.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import EvonasError

log = logging.getLogger("evonas")

DEFAULT_OUT = "evonas-report"


def _add_cache(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", help="DuckDB cache file (default: $EVONAS_CACHE or ./evonas.duckdb)")


def _add_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=DEFAULT_OUT, help=f"report directory (default: {DEFAULT_OUT})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evonas", description="Benchmark-and-reproduction harness for evolutionary NAS."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    # the same flags after the verb (`evonas run x.toml -q`); SUPPRESS keeps the global value when absent
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("-v", "--verbose", action="count", help="more logging (-vv for debug)")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    original_add_parser = sub.add_parser

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return original_add_parser(name, parents=[common], **kwargs)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    p = sub.add_parser("demo", help="the main job on digits (CPU): four algorithm families, then the report")
    _add_cache(p)
    _add_out(p)
    p.add_argument(
        "--processes",
        "--workers",
        type=int,
        help="training processes (default: CPU cores; old name --workers)",
    )

    p = sub.add_parser("run", help="run an experiment file (TOML)")
    p.add_argument("config", help="experiment file")
    _add_cache(p)
    _add_out(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue unfinished runs of the experiment")
    group.add_argument(
        "--restart", action="store_true", help="forget the experiment's runs and run them again"
    )
    p.add_argument("--no-report", action="store_true", help="do not write the report afterwards")
    p.add_argument("--executor", choices=("inline", "process", "ray"), help="override [evaluation] executor")
    p.add_argument(
        "--processes", "--workers", type=int, help="override [evaluation] processes (old name --workers)"
    )
    p.add_argument("--device", help="override [evaluation] device (cpu, cuda, cuda:1, auto)")
    p.add_argument("--data-root", help="dataset directory (default: $EVONAS_DATA or ~/.cache/evonas/data)")

    p = sub.add_parser("report", help="write the report from the cache alone")
    _add_cache(p)
    _add_out(p)
    p.add_argument("--experiment", action="append", help="only this experiment (repeatable)")

    p = sub.add_parser("cache", help="inspect, query, export, import and verify the cache")
    csub = p.add_subparsers(dest="cache_verb", required=True, metavar="ACTION")
    c = csub.add_parser("stats", help="counts per space and task")
    _add_cache(c)
    c.add_argument("--json", action="store_true")
    c = csub.add_parser("query", help="stored replicates of one network, or raw SQL")
    _add_cache(c)
    c.add_argument("--space", help="space name, e.g. genetic_cnn")
    c.add_argument(
        "--space-params", default="{}", help="JSON space parameters, e.g. '{\"stages\": [3, 4, 5]}'"
    )
    c.add_argument("--arch", help="the network in the space's notation (any isomorphic string finds it)")
    c.add_argument("--named", help="a named reference architecture of the space instead of --arch")
    c.add_argument("--task", help="task preset name or task key (default: every task)")
    c.add_argument("--sql", help="raw read-only SQL over the schema (tables: see README)")
    c.add_argument("--json", action="store_true")
    c = csub.add_parser("export", help="write every table as Parquet")
    _add_cache(c)
    c.add_argument("directory")
    c = csub.add_parser("import", help="check a Parquet export, then merge it into the cache")
    _add_cache(c)
    c.add_argument("directory")
    c.add_argument(
        "--on-conflict",
        choices=("error", "skip", "report"),
        default="error",
        help="a key stored with other values: refuse the import (error, default), keep the stored rows "
        "and import the rest (skip), or list the conflicts and change nothing (report)",
    )
    c = csub.add_parser("verify", help="check every derivable fact (hashes, seeds, metrics, trajectories)")
    _add_cache(c)
    c.add_argument(
        "--retrain",
        type=int,
        default=0,
        metavar="N",
        help="also train N stored evaluations again and compare",
    )
    c.add_argument("--seed", type=int, default=0, help="seed of the choice of evaluations to retrain")
    c.add_argument("--device", default="cpu", help="where to retrain (exact comparison on the CPU only)")
    c.add_argument("--data-root", help="dataset directory for retraining")

    p = sub.add_parser("reproduce", help="re-run a paper's setting (see `evonas reproduce --list`)")
    p.add_argument("name", nargs="?")
    p.add_argument("--list", action="store_true")
    _add_cache(p)
    _add_out(p)
    p.add_argument("--data-root", help="dataset directory")
    p.add_argument("--device", help="cpu, cuda, auto")
    p.add_argument("--download", action="store_true", help="let torchvision download the dataset")
    p.add_argument("--replicates", type=int, default=1, help="trainings of a final network (seeds)")
    p.add_argument("--epochs", type=int, help="shorten the protocol (a smoke test, not the paper's protocol)")

    p = sub.add_parser(
        "bench", help="side by side: fused vs single trainer vs plain loop, tabular/surrogate runs, lookups"
    )
    p.add_argument("--device", default="auto", help="cpu, cuda, auto")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads, the same for every contestant")
    p.add_argument("--repeats", type=int, default=1, help="timed rounds of each training contestant (median)")
    p.add_argument("--peak-gflops", type=float, help="fp32 peak (default: 96 per core x threads)")
    p.add_argument("--quick", action="store_true", help="fused N = 1, 8, short simulations (same protocol)")
    p.add_argument(
        "--only", action="append", choices=("training", "simulation", "cache"), help="measure only this part"
    )
    p.add_argument("--json", action="store_true", help="the results as JSON on stdout (no table)")

    from harness import cli_proxies, cli_surrogate, cli_tabulate

    cli_tabulate.add_parser(sub)
    cli_proxies.add_parser(sub)
    cli_surrogate.add_parser(sub)
    sub.add_parser("spaces", help="list search spaces")
    sub.add_parser("algorithms", help="list algorithms")
    return parser


# --- verbs ---
def cmd_tabulate(args: argparse.Namespace) -> int:
    from harness.cli_tabulate import cmd_tabulate as run

    return run(args)


def cmd_surrogate(args: argparse.Namespace) -> int:
    from harness.cli_surrogate import cmd_surrogate as run

    return run(args)


def cmd_proxies(args: argparse.Namespace) -> int:
    from harness.cli_proxies import cmd_proxies as run

    return run(args)


def cmd_spaces(args: argparse.Namespace) -> int:
    from harness.spaces import space_class, space_names

    for name in space_names():
        print(f"{name:16s} {space_class(name).description}")
    return 0


def cmd_algorithms(args: argparse.Namespace) -> int:
    from algorithms import algorithm_class, algorithm_names

    for name in algorithm_names():
        print(f"{name:24s} {algorithm_class(name).description}")
    return 0


def _open_cache(path: str | None, read_only: bool = False) -> Any:
    from harness.experiment import open_cache

    return open_cache(path, read_only=read_only)


def _summary_line(summary: dict[str, Any]) -> str:
    hit_rate = summary["cache_hits"] / summary["queries"] if summary["queries"] else 0.0
    return (
        f"{summary['experiment']}: {summary['runs']} runs, {summary['queries']} queries, "
        f"{summary['trained']} networks trained, cache hit rate {hit_rate:.0%}, "
        + (f"{summary['predicted']} predicted by the surrogate, " if summary.get("predicted") else "")
        + (f"{summary['not_in_table']} not in the table (invalid), " if summary.get("not_in_table") else "")
        + f"{summary['wall_seconds']:.1f} s"
    )


def cmd_run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from harness.config import load_config
    from harness.experiment import run_experiment

    config = load_config(args.config)
    if not args.no_report:
        check_out_dir(args.out)
    overrides = {
        k: v
        for k, v in (
            ("executor", args.executor),
            ("processes", args.processes),
            ("device", args.device),
            ("data_root", args.data_root),
        )
        if v is not None
    }
    if overrides:
        config = replace(config, evaluation=replace(config.evaluation, **overrides))
    with _open_cache(args.cache) as cache:
        summary = run_experiment(
            config, cache, args.resume, args.restart, progress=not args.quiet and sys.stderr.isatty()
        )
    print(_summary_line(summary))
    if not args.no_report:
        _write_report(args.cache, args.out, [config.name])
    return 0


def check_out_dir(out: str) -> Path:
    """The report directory, checked before any work: an existing file or an unwritable place is refused."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise EvonasError(f"--out {str(out)[:200]!r} is a file, not a directory")
    probe = path
    while not probe.exists():  # the nearest existing ancestor must let us create the directory
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise EvonasError(f"--out {str(out)[:200]!r}: cannot write under {str(probe)[:200]!r}")
    return path


def _write_report(cache_path: str | None, out: str, experiments: list[str] | None) -> None:
    from reports import write_report

    with _open_cache(cache_path, read_only=True) as cache:
        index = write_report(cache, Path(out), experiments)
    print(f"report: {index}")


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from cache import default_cache_path
    from harness.demo import demo_configs, import_table
    from harness.experiment import run_experiment

    check_out_dir(args.out)
    comparison, live = demo_configs()
    if args.processes is not None:
        live = replace(live, evaluation=replace(live.evaluation, processes=args.processes))
    for line in import_table(default_cache_path(args.cache)):
        print(line)
    progress = not args.quiet and sys.stderr.isatty()
    with _open_cache(args.cache) as cache:
        for config in (comparison, live):
            summary = run_experiment(config, cache, resume=False, restart=True, progress=progress)
            print(_summary_line(summary))
    _write_report(args.cache, args.out, [comparison.name, live.name])
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    check_out_dir(args.out)
    _write_report(args.cache, args.out, args.experiment)
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from cache import default_cache_path, export_parquet
    from cache.parquet import import_into
    from cache.verify import verify
    from harness.verify_retrain import retrain, retrain_summary

    verb = args.cache_verb
    if verb == "stats":
        with _open_cache(args.cache, read_only=True) as cache:
            stats = cache.stats()
        if args.json:
            print(json.dumps(stats, indent=2, default=str))
        else:
            print(format_stats(stats))
        return 0
    if verb == "query":
        return cache_query(args)
    if verb == "export":
        with _open_cache(args.cache, read_only=True) as cache:
            counts = export_parquet(cache, args.directory)
        print(f"exported to {args.directory}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return 0
    if verb == "import":  # the export is checked before the cache is opened (or created)
        result = import_into(default_cache_path(args.cache), args.directory, args.on_conflict)
        print("\n".join(result.lines(args.directory)))
        return 0
    with _open_cache(args.cache, read_only=True) as cache:
        problems = verify(cache)
        if problems:
            print("\n".join(problems[:50]))
            raise EvonasError(f"cache verification found {len(problems)} problem(s)")
        checks = retrain(cache, args.retrain, args.seed, args.device, args.data_root) if args.retrain else []
    print("\n".join([c.describe() for c in checks] + [retrain_summary(checks)]))
    forged = [c for c in checks if c.forged]
    if forged:
        raise EvonasError(
            f"{len(forged)} of {len(checks)} retrained evaluation(s) differ from the stored result under the "
            f"same library versions and device (forged or changed); first: {forged[0].describe()}"
        )
    return 0


def format_stats(stats: dict[str, Any]) -> str:
    lines = [f"cache {stats['path']}"]
    lines.append("  " + ", ".join(f"{k} {v}" for k, v in stats["tables"].items() if k not in ("meta",)))
    if stats["queries"]:
        lines.append(
            f"  trajectory queries {stats['queries']}, answered from the cache {stats['cache_hits']} "
            f"({stats['cache_hits'] / stats['queries']:.0%})"
        )
    for row in stats["per_task"]:
        best = f"{row['best_val']:.4f}" if row["best_val"] is not None else "-"
        lines.append(
            f"  {row['space']:14s} {row['task'] or row['task_key']:24s} {row['architectures']:6d} networks "
            f"{row['evaluations']:6d} evaluations ({row['ok']} ok) {row['train_seconds'] or 0:9.1f} s  "
            f"best val {best}"
        )
    return "\n".join(lines)


def cache_query(args: argparse.Namespace) -> int:
    from harness.spaces import get_space
    from harness.tasks import preset as task_preset
    from harness.tasks import preset_names

    with _open_cache(args.cache, read_only=True) as cache:
        if args.sql:
            cur = cache.execute_untrusted(args.sql)  # read-only, no file or network access
            columns = [d[0] for d in cur.description] if cur.description else []
            rows = cur.fetchall()
            if args.json:
                print(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str, indent=2))
            else:
                print("\t".join(columns))
                for row in rows:
                    print("\t".join("" if v is None else str(v) for v in row))
            return 0
        if not args.space or not (args.arch or args.named):
            raise EvonasError("cache query needs --space and --arch (or --named), or --sql")
        try:
            space_params = json.loads(args.space_params)
        except json.JSONDecodeError as exc:
            raise EvonasError(f"--space-params is not JSON: {exc}") from exc
        space = get_space(args.space, **space_params)
        genome = space.named(args.named) if args.named else space.decode(args.arch)
        arch = space.hash(genome)
        task_key = None
        if args.task:
            keys = cache.task_keys(args.task)
            if not keys and args.task in preset_names():
                keys = [task_preset(args.task).key()]
            if not keys:
                raise EvonasError(f"no task {args.task!r} in the cache")
            task_key = keys
        records = [r for r in cache.replicates(arch) if task_key is None or r.task_key in task_key]
        names = dict(cache.execute("SELECT task_key, name FROM tasks").fetchall())
        stored = cache.architecture(arch)
    if args.json:
        print(
            json.dumps(
                {
                    "arch_hash": arch,
                    "encoding": space.encode(genome),
                    "stored_as": stored["encoding"] if stored else None,
                    "evaluations": [dict(r.__dict__, task=names.get(r.task_key)) for r in records],
                },
                default=str,
                indent=2,
            )
        )
        return 0
    print(f"{space.name} {space.encode(genome)!r}  hash {arch[:16]}")
    if stored and stored["encoding"] != space.encode(genome):
        print(f"  stored under the isomorphic string {stored['encoding']!r}")
    if not records:
        print("  no stored evaluations")
        return 1
    print(f"  {'task':24s} {'rep':>3s} {'status':7s} {'val_acc':>8s} {'test_acc':>8s} {'seconds':>8s} device")
    for r in records:
        val = f"{r.val_acc:.4f}" if r.val_acc is not None else "-"
        test = f"{r.test_acc:.4f}" if r.test_acc is not None else "-"
        print(
            f"  {names.get(r.task_key, r.task_key):24s} {r.replicate:3d} {r.status:7s} {val:>8s} {test:>8s} "
            f"{r.train_seconds:8.2f} {r.device}"
        )
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from harness.reproduce import REPRODUCTIONS, reproduce, reproduction_names

    if args.list or not args.name:
        for name in reproduction_names():
            print(f"{name:20s} {REPRODUCTIONS[name].description}")
        return 0
    if args.name not in REPRODUCTIONS:
        raise EvonasError(f"unknown reproduction {args.name!r}; known: {', '.join(reproduction_names())}")
    with _open_cache(args.cache) as cache:
        lines = reproduce(
            args.name,
            cache,
            data_root=args.data_root,
            device=args.device,
            download=args.download,
            replicates=args.replicates,
            progress=not args.quiet,
            epochs=args.epochs,
        )
    for line in lines:
        print(line)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from harness.bench import PARTS, BenchSettings, run_benchmarks
    from harness.bench_report import format_report

    if not args.quiet:  # one progress line per contestant on stderr
        logging.getLogger("harness.bench").setLevel(min(logging.INFO, logging.getLogger().level))
    make = BenchSettings.quick if args.quick else BenchSettings
    settings = make(
        device=args.device,
        threads=args.threads,
        repeats=args.repeats,
        peak_gflops=args.peak_gflops,
        parts=tuple(args.only) if args.only else PARTS,
    )
    results = run_benchmarks(settings)
    print(json.dumps(results, indent=2) if args.json else format_report(results))
    return 0


VERBS = {
    "demo": cmd_demo,
    "run": cmd_run,
    "report": cmd_report,
    "cache": cmd_cache,
    "reproduce": cmd_reproduce,
    "bench": cmd_bench,
    "spaces": cmd_spaces,
    "algorithms": cmd_algorithms,
    "tabulate": cmd_tabulate,
    "proxies": cmd_proxies,
    "surrogate": cmd_surrogate,
}


_RESUME_HINTS = {  # how to go on after Ctrl-C, by verb (nothing stored is trained again)
    "run": "continue with `evonas run CONFIG --resume`",
    "demo": "run `evonas demo` again to continue",
    "tabulate": "run the same `evonas tabulate` command again to continue",
    "proxies": "run the same `evonas proxies` command again to continue",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING if args.verbose < 2 else optuna.logging.DEBUG)
    except ImportError:
        pass
    try:
        return VERBS[args.verb](args)
    except EvonasError as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"evonas: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "evonas: interrupted; stored evaluations are kept; "
            + _RESUME_HINTS.get(args.verb, "nothing stored is lost"),
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
