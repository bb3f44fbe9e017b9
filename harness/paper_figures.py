"""The papers' own figures, as data, each with its paper and table or section: the one source of truth.

Both the reports (`reports.papers`, `reports.claims`, printed beside ours when an experiment reproduces a
paper setting) and `evonas reproduce` (`harness.reproduce`, a paper's final network beside its figure) read
them from here; this module sits in `harness` so that `harness.reproduce` never imports `reports`.
Accuracies are percentages as the papers print them; parameter counts are plain integers (or the paper's
rounded figure where that is all it gives).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """Where a number comes from."""

    paper: str
    where: str

    def cite(self) -> str:
        return f"{self.paper}, {self.where}"


GCNN_PAPER = "Xie & Yuille, Genetic CNN, ICCV 2017"
RE_PAPER = "Kyriakides & Margaritis, Regularized evolution for macro neural architecture search, AIAI 2020"
DE_PAPER = "Pei, Chang & Tian, Neural architecture search based on differential evolution"


@dataclass(frozen=True)
class GenerationRow:
    """One row of Genetic CNN Table 1: population statistics of one generation (accuracy, %)."""

    generation: int
    max: float
    min: float
    avg: float
    median: float
    std: float
    best_structure: str


GCNN_TABLE1_SOURCE = Source(GCNN_PAPER, "Table 1 (CIFAR10 test accuracy, one of two GA runs, N=20, T=50)")
_SAME = "0-01 0-01-111 0-11-010-0111"
GCNN_TABLE1: tuple[GenerationRow, ...] = (
    GenerationRow(0, 75.96, 71.81, 74.39, 74.53, 0.91, _SAME),
    GenerationRow(1, 75.96, 73.93, 75.01, 75.17, 0.57, _SAME),
    GenerationRow(2, 75.96, 73.95, 75.32, 75.48, 0.57, _SAME),
    GenerationRow(3, 76.06, 73.47, 75.37, 75.62, 0.70, "1-01 0-01-111 0-11-010-0111"),
    GenerationRow(5, 76.24, 72.60, 75.32, 75.65, 0.89, "1-01 0-01-111 0-11-010-0011"),
    GenerationRow(8, 76.59, 74.75, 75.77, 75.86, 0.53, "1-01 0-01-111 0-11-010-1011"),
    GenerationRow(10, 76.72, 73.92, 75.68, 75.80, 0.88, "1-01 0-01-110 0-11-111-0001"),
    GenerationRow(20, 76.83, 74.91, 76.45, 76.79, 0.61, "1-01 1-01-110 0-11-111-0001"),
    GenerationRow(30, 76.95, 74.38, 76.42, 76.53, 0.46, "1-01 0-01-100 0-11-111-0001"),
    GenerationRow(50, 77.19, 75.34, 76.58, 76.81, 0.55, "1-01 0-01-100 0-11-101-0001"),
)


@dataclass(frozen=True)
class PaperNumber:
    """One number a paper reports, with what it measures."""

    key: str
    label: str
    value: float
    unit: str
    source: Source
    spread: float | None = None  # a +/- where the paper gives one


GCNN_NUMBERS: tuple[PaperNumber, ...] = (
    PaperNumber(
        "random_search_best",
        "best of random search over 1,020 networks",
        76.94,
        "%",
        Source(GCNN_PAPER, "Sec. 4.1.3"),
    ),
    PaperNumber(
        "ga_best",
        "best individual after 50 generations (GA)",
        77.19,
        "%",
        Source(GCNN_PAPER, "Table 1, generation 50"),
    ),
    PaperNumber(
        "all_ones",
        "all-ones (densely connected) network",
        76.84,
        "%",
        Source(GCNN_PAPER, "Sec. 4.1.4"),
    ),
)

RE_NUMBERS: tuple[PaperNumber, ...] = (
    PaperNumber(
        "es_best",
        "best found during search, regularized evolution (ES)",
        93.62,
        "%",
        Source(RE_PAPER, "Sec. 4.2, Fig. 3"),
    ),
    PaperNumber(
        "rs_best",
        "best found during search, random search (sample size 1)",
        91.91,
        "%",
        Source(RE_PAPER, "Sec. 4.2, Fig. 3"),
    ),
    PaperNumber(
        "nodes",
        "node count of valid evolved genomes (mean +/- std)",
        5.5,
        "nodes",
        Source(RE_PAPER, "Sec. 4.2, Fig. 4"),
        spread=1.1,
    ),
    PaperNumber(
        "replicate_std",
        "mean per-network std of accuracy over replicates",
        0.2,
        "%",
        Source(RE_PAPER, "Sec. 4.2 (about 0.2% on average)"),
    ),
    PaperNumber(
        "remnet_128",
        "REMNet, C=128 (791,338 parameters), final training",
        94.26,
        "%",
        Source(RE_PAPER, "Sec. 4.2, Table 2"),
    ),
    PaperNumber(
        "remnet_256",
        "REMNet, C=256 (3.1 million parameters), final training",
        94.46,
        "%",
        Source(RE_PAPER, "Sec. 4.2, Table 2"),
    ),
)
REMNET_PARAMS_C128 = 791_338


@dataclass(frozen=True)
class ComparisonRow:
    """A row of a paper's comparison table: final accuracy (%) and its context."""

    method: str
    accuracy: float
    search_epochs: str
    training_epochs: str


RE_TABLE2_SOURCE = Source(RE_PAPER, "Table 2 (Fashion-MNIST test accuracy of similar macro-NAS methods)")
RE_TABLE2: tuple[ComparisonRow, ...] = (
    ComparisonRow("macro-NAS method [1] (94.70% with test-set augmentation)", 94.23, "10", "400"),
    ComparisonRow("macro-NAS method (name not legible in our copy of Table 2)", 93.28, "200", "200"),
    ComparisonRow("macro-NAS method (name not legible in our copy of Table 2)", 93.56, "50", "100"),
    ComparisonRow("macro-NAS method (name not legible in our copy of Table 2)", 91.95, "20-105", "205"),
    ComparisonRow("REMNet, C=256 (this paper)", 94.46, "10", "20"),
    ComparisonRow("REMNet, C=128 (this paper)", 94.26, "10", "20"),
)


@dataclass(frozen=True)
class ModelRow:
    """A row of DE-NAS Table 3: a model's CIFAR-10 accuracy (%) and parameter count."""

    model: str
    accuracy: float
    params: int
    params_text: str
    named: str | None = None  # the de_sequential named architecture of this model, if any


DE_TABLE3_SOURCE = Source(DE_PAPER, "Table 3 (CIFAR-10 accuracy after 200 epochs; parameters)")
DE_TABLE3: tuple[ModelRow, ...] = (
    ModelRow("AlexNet", 86.5, 62_300_000, "62.3 million"),
    ModelRow("VGG16", 92.64, 138_000_000, "138 million"),
    ModelRow(
        "Our Model 1 (text: best accuracy; authors' file: best score, population 9 entry [0])",
        92.14,
        16_477_306,
        "16.4 million",
        "model1",
    ),
    ModelRow(
        "Our Model 2 (text: fewest parameters; authors' file: population 9 entry [7])",
        88.53,
        7_796_674,
        "7.79 million",
        "model2",
    ),
)
DE_PARAMS_SOURCE = Source(DE_PAPER, "Figures 8 and 10 (layer tables: 16,477,306 and 7,796,674 parameters)")
DE_POPULATION9_SOURCE = Source(
    DE_PAPER,
    "authors' repository gamingzhang/ece7123_final_project, populations/population-9.bin (the 9th population "
    "= the initial one + 8 rounds, sorted by score) and train_final_model.ipynb (load_p[0], load_p[7])",
)
DE_PICKS_NOTE = (
    "The paper's text calls Model 1 the best accuracy and Model 2 the fewest parameters of the 9th "
    "population; the authors' population-9.bin, sorted by the selection score, has Model 1 at entry [0] "
    "(best score; 54.26% after 10 epochs, while entry [9] had 55.33% with 154 million parameters) and Model "
    "2 at entry [7] (7,796,674 parameters, while entries [17] and [19] have 1,584,827), so Table 3 here "
    "takes entry [0] and entry [7] by score."
)


def number(numbers: tuple[PaperNumber, ...], key: str) -> PaperNumber:
    """The figure `key` of a paper's numbers (a KeyError names a figure no paper module has)."""
    return {n.key: n for n in numbers}[key]


def named_model(name: str) -> ModelRow:
    """The DE-NAS Table 3 row of a de_sequential named architecture (`model1`, `model2`)."""
    return next(row for row in DE_TABLE3 if row.named == name)


def fraction(percent: float) -> float:
    """A paper's percentage as a fraction (94.26 -> 0.9426, without float noise)."""
    return round(percent / 100.0, 8)
