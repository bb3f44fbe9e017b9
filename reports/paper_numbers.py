"""Which paper setting a report page reproduces (`paper_setting`, `title`), and the papers' figures.

The figures themselves live once, in `harness.paper_figures` (read by `evonas reproduce` too); they are
re-exported here for the report's modules and tests. Each paper's tables are built by its module in
`reports.papers`.
"""

from __future__ import annotations

from harness.errors import ConfigError
from harness.paper_figures import (
    DE_PAPER,
    DE_PARAMS_SOURCE,
    DE_PICKS_NOTE,
    DE_POPULATION9_SOURCE,
    DE_TABLE3,
    DE_TABLE3_SOURCE,
    GCNN_NUMBERS,
    GCNN_PAPER,
    GCNN_TABLE1,
    GCNN_TABLE1_SOURCE,
    RE_NUMBERS,
    RE_PAPER,
    RE_TABLE2,
    RE_TABLE2_SOURCE,
    REMNET_PARAMS_C128,
    ComparisonRow,
    GenerationRow,
    ModelRow,
    PaperNumber,
    Source,
)

__all__ = [
    "DE_NAS",
    "DE_PAPER",
    "DE_PARAMS_SOURCE",
    "DE_PICKS_NOTE",
    "DE_POPULATION9_SOURCE",
    "DE_TABLE3",
    "DE_TABLE3_SOURCE",
    "GCNN_NUMBERS",
    "GCNN_PAPER",
    "GCNN_TABLE1",
    "GCNN_TABLE1_SOURCE",
    "GENETIC_CNN",
    "PAPER_SETTINGS",
    "REMNET_PARAMS_C128",
    "RE_MACRO",
    "RE_NUMBERS",
    "RE_PAPER",
    "RE_TABLE2",
    "RE_TABLE2_SOURCE",
    "ComparisonRow",
    "GenerationRow",
    "ModelRow",
    "PaperNumber",
    "Source",
    "paper_setting",
    "title",
]

GENETIC_CNN = "genetic_cnn_table1"
RE_MACRO = "re_macro"
DE_NAS = "de_nas_table3"
PAPER_SETTINGS = (GENETIC_CNN, RE_MACRO, DE_NAS)


def paper_setting(paper: str | None, task_name: str) -> str | None:
    """Which paper setting an experiment reproduces: its config's `paper` key when set, else by task name.

    Task names: `cifar10_gcnn*` -> Genetic CNN Table 1, `fashion_mnist_re*` -> the RE macro paper,
    `cifar10_de*` -> DE-NAS. A `paper` value is matched loosely (e.g. "genetic_cnn_table1", "re_macro",
    "de_nas_table3", or a task preset name); an unknown one raises ConfigError.
    """
    if paper:
        value = paper.lower()
        if value in PAPER_SETTINGS:
            return value
        if "gcnn" in value or "genetic_cnn" in value:
            return GENETIC_CNN
        if any(
            k in value
            for k in ("re_macro", "macro_re", "regularized_evolution", "remnet", "fashion_mnist_re")
        ):
            return RE_MACRO
        if any(k in value for k in ("de_nas", "differential_evolution", "cifar10_de", "de_sequential")):
            return DE_NAS
        raise ConfigError(f"unknown paper setting {paper!r}; known: {', '.join(PAPER_SETTINGS)}")
    name = task_name.lower()
    if name.startswith("cifar10_gcnn"):
        return GENETIC_CNN
    if name.startswith("fashion_mnist_re"):
        return RE_MACRO
    if name.startswith("cifar10_de"):
        return DE_NAS
    return None


def title(setting: str) -> str:
    """A human title for a paper setting."""
    return {
        GENETIC_CNN: f"{GCNN_PAPER}, Table 1",
        RE_MACRO: f"{RE_PAPER}, Sec. 4.2, Fig. 3-4, Table 2",
        DE_NAS: f"{DE_PAPER}, Table 3",
    }[setting]
