"""`evonas bench` as readable text: the settings, then one table per part (the CLI prints it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns aligned (text left, numbers right), a rule under the header."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = [all(_is_number(r[i]) for r in rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _is_number(text: str) -> bool:
    cleaned = text.rstrip("x%").replace(",", "")
    try:
        float(cleaned)
    except ValueError:
        return text == "-"
    return True


def _num(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "-" if value is None else f"{value:,.{digits}f}{suffix}"


def format_report(results: dict[str, Any]) -> str:
    settings, host = results["settings"], results["machine"]
    peak = settings.get("peak_gflops")
    out = [
        f"evonas bench on {host['device']} ({host['cpus']} CPUs, {host['processor']}), torch {host['torch']}",
        f"torch threads: {settings['threads']} for every contestant (interop {settings['interop_threads']}); "
        f"load average before {host['load_average']}, after {host.get('load_average_after')}",
        f"task {settings['task']}: {settings['task_protocol']}",
    ]
    if "training" in results:
        out += ["", f"Training ({settings['epochs']} epochs; fp32 peak {_num(peak, 0)} GFLOP/s)"]
        rows = [
            [
                r["contestant"],
                str(r["networks"]),
                _num(r["seconds_per_network"]),
                _num(r["networks_per_hour"], 0),
                _num(r["speedup_vs_single"], 2, "x"),
                _num(r["gflops"]),
                _num(None if r["peak_fraction"] is None else 100 * r["peak_fraction"], 1, "%"),
                _num(r["mean_accuracy"], 4),
                str(r["threads"]),
                _num(r["warmup_seconds"], 1),
            ]
            for r in results["training"]
        ]
        headers = [
            "contestant",
            "nets",
            "s/net",
            "nets/h",
            "vs single",
            "GFLOP/s",
            "of peak",
            "mean acc",
            "threads",
            "warm-up s",
        ]
        out += table(headers, rows)
        out.append(
            "vs single: the single trainer's seconds per network / this one's; past the list's first "
            f"{settings['baseline_networks']} networks (the baselines') the mix differs, GFLOP/s does not "
            "depend on it. FLOPs = 3 x forward FLOPs x training images x epochs"
        )
    if "simulation" in results:
        out += [
            "",
            f"Simulation on the table ({results['table_networks']} networks, "
            f"{results['table_evaluations']} evaluations; imported in "
            f"{results['table_import_seconds']:.1f} s)",
        ]
        rows = [
            [
                r["contestant"],
                str(r["evaluations"]),
                _num(r["seconds"]),
                _num(r["evaluations_per_second"], 0),
                _num(100 * r["in_table"], 1, "%"),
                _num(r["setup_seconds"], 1),
                str(r["threads"]),
            ]
            for r in results["simulation"]
        ]
        out += table(["contestant", "evals", "seconds", "evals/s", "in table", "setup s", "threads"], rows)
    if "lookup" in results or "warm_cache" in results:
        out += ["", "Cache"]
        rows = []
        if "lookup" in results:
            lk = results["lookup"]
            rows.append(
                [
                    "warm lookup (Evaluator.evaluate, 1 network)",
                    _num(lk["p50_us"], 1),
                    _num(lk["p90_us"], 1),
                    _num(lk["mean_us"], 1),
                    _num(lk["lookups_per_second"], 0),
                    str(int(lk["threads"])),
                ]
            )
        if "warm_cache" in results:
            wc = results["warm_cache"]
            rows.append(
                [
                    "runner, warm cache (synthetic executor)",
                    "-",
                    "-",
                    _num(1000 * wc["warm_ms_per_query"], 1),
                    _num(wc["warm_queries_per_second"], 0),
                    str(int(wc["threads"])),
                ]
            )
        out += table(["contestant", "p50 us", "p90 us", "mean us", "per second", "threads"], rows)
    out += ["", f"bench wall time {results.get('wall_seconds', 0.0):.1f} s"]
    return "\n".join(out)


def contestants(results: dict[str, Any]) -> list[str]:
    """Every contestant's name, as the table shows it (what a test checks the table for)."""
    names = [r["contestant"] for r in results.get("training", [])]
    names += [r["contestant"] for r in results.get("simulation", [])]
    if "lookup" in results:
        names.append("warm lookup")
    if "warm_cache" in results:
        names.append("runner, warm cache")
    return names
