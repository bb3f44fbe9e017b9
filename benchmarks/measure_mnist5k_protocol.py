"""Measure the mnist5k protocols (README, "The mnist5k protocol"): a script, not a test.

    python benchmarks/measure_mnist5k_protocol.py invalid                     # ~1 CPU-minute
    python benchmarks/measure_mnist5k_protocol.py protocol macro_re           # ~4 CPU-minutes (6 networks)
    python benchmarks/measure_mnist5k_protocol.py protocol de_sequential --protocols 1       # ~1.5 minutes
    python benchmarks/measure_mnist5k_protocol.py protocol de_sequential --de-variant pools4 --protocols 0,1
    python benchmarks/measure_mnist5k_protocol.py configs                     # runs both configs (long)

`invalid`: the share of seeded samples (`space.sample`, 2,000 by default) that `space.is_valid` refuses,
per dataset (digits vs mnist5k), with the two most common reasons.

`protocol SPACE`: every candidate protocol (or those given by index with `--protocols`) trains the same
networks (the space's named references where the space admits them, then seeded random samples that are
valid on mnist5k) with replicate seeds 1000 and 1001, on one CPU thread, and prints one Markdown row per
protocol: mean validation accuracy, seed std (mean over networks of the std of a network's two replicates),
std of the network means, Spearman rank correlation of replicate 0 vs 1 across networks, and mean seconds per
training; then each network's mean accuracy per protocol. The protocol the harness uses is the `mnist5k_re`
/ `mnist5k_de` preset (marked in bold; the script checks that its candidate has the preset's task key).
`--de-variant` picks the de_sequential space: `pools3` (de_mnist5k.toml) or the measured alternatives
`pools4` (the paper's 4 poolings) and `pools4_fc64` (4 poolings, a 64-wide head, dropout 0.1).

`configs`: wall time of `evonas run` on benchmarks/configs/re_macro_mnist5k.toml and de_mnist5k.toml with a
fresh cache (process executor, 2 workers, as in the files).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.spaces import get_space  # noqa: E402
from harness.tasks import Optimizer, Schedule, Split, Task, preset  # noqa: E402
from harness.training import train_genome  # noqa: E402

#: The spaces as the mnist5k configs search them.
RE_SPACE = {"channels": 16}
DE_SPACE = {"min_length": 7, "max_length": 15, "max_pools": 3, "max_channels": 16}
#: Also measured (`--de-variant`): 4 poolings (28x28 allows them: 1x1 maps) with the paper's head, and
#: with a 64-wide head and dropout 0.1. Both left almost every network at chance (README).
DE_VARIANTS = {
    "pools3": {},
    "pools4": {"max_pools": 4},
    "pools4_fc64": {"max_pools": 4, "head_width": 64, "dropout": 0.1},
}
DE_DIGITS_SPACE = {"min_length": 3, "max_length": 7, "max_pools": 2, "max_channels": 16, "head_width": 64}
MNIST_NORM = ((0.1313,), (0.3086,))


def _task(name: str, train: int, epochs: int, batch: int, optimizer: Optimizer, **kw: Any) -> Task:
    return Task(
        name=name,
        dataset="mnist5k",
        split=Split(train=train, val=1000, test=1000, seed=0),
        epochs=epochs,
        batch_size=batch,
        optimizer=optimizer,
        description=name,
        **kw,
    )


def candidates(space: str) -> list[tuple[str, Task, str | None]]:
    """(label, task, preset it stands for) for every candidate protocol of `space`."""
    if space == "macro_re":
        adam = Optimizer("adam", lr=3e-3)
        cos = Schedule("cosine")
        return [
            (
                "500 images, 6 epochs, batch 25, Adam 3e-3 cosine",
                _task("r1", 500, 6, 25, adam, schedule=cos),
                None,
            ),
            (
                "1,000 images, 4 epochs, batch 50, Adam 3e-3 cosine",
                _task("r2", 1000, 4, 50, adam, schedule=cos),
                "mnist5k_re",
            ),
            (
                "1,000 images, 6 epochs, batch 50, Adam 3e-3 cosine",
                _task("r3", 1000, 6, 50, adam, schedule=cos),
                None,
            ),
        ]
    adam = Optimizer("adam", lr=1e-3)
    return [
        (
            "1,000 images, 4 epochs, batch 20, Adam 1e-3",
            _task("d1", 1000, 4, 20, adam, normalize=MNIST_NORM),
            None,
        ),
        (
            "1,000 images, 6 epochs, batch 20, Adam 1e-3",
            _task("d2", 1000, 6, 20, adam, normalize=MNIST_NORM),
            "mnist5k_de",
        ),
        (
            "2,000 images, 3 epochs, batch 20, Adam 1e-3",
            _task("d3", 2000, 3, 20, adam, normalize=MNIST_NORM),
            None,
        ),
    ]


def networks(
    space_name: str, count: int, seed: int = 0, variant: str = "pools3"
) -> tuple[Any, list[tuple[str, Any]]]:
    """The space (as the configs search it) and `count` networks valid on mnist5k: named ones first."""
    params = RE_SPACE if space_name == "macro_re" else {**DE_SPACE, **DE_VARIANTS[variant]}
    space = get_space(space_name, **params)
    probe = _task("probe", 1000, 1, 50, Optimizer())
    chosen: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for name in space.named_architectures():
        genome = space.named(name)
        if space.is_valid(genome, probe) and space.hash(genome) not in seen:
            chosen.append((name, genome))
            seen.add(space.hash(genome))
    rng = np.random.default_rng(seed)
    while len(chosen) < count:
        genome = space.sample(rng)
        if space.is_valid(genome, probe) and space.hash(genome) not in seen:
            chosen.append((space.encode(genome), genome))
            seen.add(space.hash(genome))
    return space, chosen[:count]


def measure_protocols(
    space_name: str, count: int, seeds: int = 2, variant: str = "pools3", which: list[int] | None = None
) -> None:
    space, nets = networks(space_name, count, variant=variant)
    print(f"{space_name} {space.params}: {len(nets)} networks x {seeds} seeds, one CPU thread")
    for label, _ in nets:
        print(f"  network: {label}")
    print()
    per_network: list[str] = []
    print(
        "| protocol | networks | mean val acc | seed std (within network) | std of network means "
        "| rank corr. rep 0 vs 1 | s per training |"
    )
    print("|---|---|---|---|---|---|---|")
    chosen = candidates(space_name)
    for label, task, preset_name in [chosen[i] for i in which] if which else chosen:
        if preset_name is not None:
            assert preset(preset_name).key() == task.key(), f"{label} is not the {preset_name} preset"
            label = f"**`{preset_name}`**: {label}"
        accs = np.zeros((len(nets), seeds))
        secs = []
        for i, (_, genome) in enumerate(nets):
            for r in range(seeds):
                result = train_genome(space, genome, task, seed=1000 + r, device="cpu", threads=1)
                assert result.status == "ok", result.error
                accs[i, r] = result.val_acc
                secs.append(result.train_seconds)
        seed_std = float(np.mean(np.std(accs, axis=1, ddof=1)))
        spread = float(np.std(accs.mean(axis=1), ddof=1))
        rho = float(spearmanr(accs[:, 0], accs[:, 1]).statistic)
        print(
            f"| {label} | {len(nets)} | {accs.mean():.3f} | {seed_std:.3f} | {spread:.3f} | {rho:.2f} "
            f"| {np.mean(secs):.1f} |",
            flush=True,
        )
        per_network.append(f"{label}: " + " ".join(f"{a:.2f}" for a in accs.mean(axis=1)))
    print("\nmean val acc per network (in the order listed above):")
    for line in per_network:
        print(f"  {line}")


def _reason(text: str) -> str:
    if "larger than" in text:
        return "a kernel larger than its input"
    if "reach the head" in text:
        return "fewer than 8 features reach the head"
    if "poolings are too many" in text:
        return "more poolings than the input allows"
    return text[:40]


def invalid_share(samples: int = 2000) -> None:
    digits = preset("digits")
    mnist = _task("probe", 1000, 1, 50, Optimizer())
    setups = [
        ("macro_re", RE_SPACE),  # channels do not change validity (C = 64 gives the same shares)
        ("de_sequential", {**DE_SPACE, **DE_VARIANTS["pools4"]}),
        ("de_sequential", DE_SPACE),
        ("de_sequential", DE_DIGITS_SPACE),
    ]
    print(
        f"| space | parameters | invalid on digits (8x8) | invalid on mnist5k (28x28) | ({samples} samples) |"
    )
    print("|---|---|---|---|---|")
    for name, params in setups:
        space = get_space(name, **params)
        rng = np.random.default_rng(0)
        genomes = [space.sample(rng) for _ in range(samples)]
        shares, reasons = [], []
        for task in (digits, mnist):
            counts: collections.Counter[str] = collections.Counter()
            for genome in genomes:
                validity = space.is_valid(genome, task)
                if not validity:
                    counts[_reason(str(validity.reason))] += 1
            shares.append(sum(counts.values()) / samples)
            reasons.append(", ".join(f"{k} ({v})" for k, v in counts.most_common(2)) or "-")
        print(
            f"| {name} | {params} | {shares[0]:.1%} | {shares[1]:.1%} | {' / '.join(reasons)} |", flush=True
        )


def time_configs() -> None:
    for name in ("re_macro_mnist5k", "de_mnist5k"):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "harness",
                    "run",
                    str(ROOT / "benchmarks" / "configs" / f"{name}.toml"),
                    "--cache",
                    f"{tmp}/c.duckdb",
                    "--out",
                    f"{tmp}/report",
                    "--quiet",
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            seconds = time.perf_counter() - start
        tail = (done.stdout or done.stderr).strip().splitlines()
        print(
            f"{name}: exit {done.returncode}, {seconds / 60:.1f} min wall; {tail[-1] if tail else ''}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("invalid", "protocol", "configs"))
    parser.add_argument("space", nargs="?", choices=("macro_re", "de_sequential"), default="macro_re")
    parser.add_argument("--networks", type=int, help="networks (named ones first; 6 for macro_re, else 4)")
    parser.add_argument("--samples", type=int, default=2000, help="genomes sampled for the invalid share")
    parser.add_argument("--de-variant", choices=sorted(DE_VARIANTS), default="pools3", help="de_sequential")
    parser.add_argument("--protocols", help="candidate protocols to run, by index (e.g. 1,2); default all")
    args = parser.parse_args()
    if args.part == "invalid":
        invalid_share(args.samples)
    elif args.part == "protocol":
        which = [int(i) for i in args.protocols.split(",")] if args.protocols else None
        count = args.networks or (6 if args.space == "macro_re" else 4)
        measure_protocols(args.space, count, variant=args.de_variant, which=which)
    else:
        time_configs()


if __name__ == "__main__":
    main()
