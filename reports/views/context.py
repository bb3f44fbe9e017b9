"""What every view of a page needs (`PageContext`), and the small formatting helpers the views share."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from reports import analysis as an
from reports.analysis import RunResult
from reports.data import Block, CacheData
from reports.document import pct


def objective_words(objective: str) -> tuple[str, str]:
    """(short name, phrase) of the selection objective."""
    return ("validation", "validation accuracy") if objective == "val_acc" else ("test", "test accuracy")


def p_text(value: float) -> str:
    return "n/a" if not math.isfinite(value) else ("<1e-4" if value < 1e-4 else f"{value:.4f}")


def iqr_text(values: Sequence[float]) -> str:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return "n/a"
    q25, q50, q75 = np.quantile(arr, [0.25, 0.5, 0.75])
    return f"{pct(q50)} [{pct(q25)}, {pct(q75)}]"


def mean_sem_text(values: Sequence[float]) -> str:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return "n/a"
    sem = float(np.std(arr, ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else 0.0
    return f"{pct(float(arr.mean()))} ± {pct(sem)}"


@dataclass(frozen=True)
class PageContext:
    """What every view of a page needs."""

    data: CacheData
    block: Block
    results: Mapping[str, Sequence[RunResult]]
    colors: Mapping[str, str]
    objective: str
    setting: str | None
    #: what the paper registry's load phase read from the cache, by entry module name
    #: (`reports.papers.load_papers`); empty for a page built without it
    loaded: Mapping[str, object] = field(default_factory=dict)

    def stem(self, view: str) -> str:
        return f"{self.block.slug}__{view}"

    @property
    def labels(self) -> list[str]:
        return list(self.results)

    @cached_property
    def samples(self) -> dict[str, np.ndarray]:
        """The final samples of the page (the final incumbent's test accuracy per seed, per algorithm)."""
        return an.final_samples(self.results)

    def labels_of(self, algorithm: str) -> list[str]:
        """The labels whose runs are of the registry algorithm `algorithm`."""
        return [label for label, rs in self.results.items() if rs and rs[0].run.algorithm == algorithm]

    def first_label(self, algorithm: str) -> str | None:
        labels = self.labels_of(algorithm)
        return labels[0] if labels else None
