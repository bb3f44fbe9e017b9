"""The report's colors: one fixed color per algorithm label for the whole report.

`report_palette` maps every distinct label of a report (sorted) to a color, so an algorithm has the same
color on every page; `page_colors` takes one page's labels from it in the page's (legend) order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["LABEL_COLORS", "PALETTE", "PALETTE_EXTRA", "page_colors", "palette", "report_palette"]

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
# after the ten above: their lighter twins (matplotlib's tab20), so that up to 20 labels stay distinct
PALETTE_EXTRA = (
    "#aec7e8",
    "#ff9896",
    "#98df8a",
    "#ffbb78",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#9edae5",
    "#c7c7c7",
    "#dbdb8d",
)
LABEL_COLORS = PALETTE + PALETTE_EXTRA


def palette(labels: Sequence[str]) -> dict[str, str]:
    """One fixed color per algorithm label, in the given order."""
    return {label: LABEL_COLORS[i % len(LABEL_COLORS)] for i, label in enumerate(labels)}


def report_palette(labels: Sequence[str]) -> dict[str, str]:
    """The report's one mapping from algorithm label to color: every distinct label of the report, sorted,
    takes the next color. It depends on the set of labels only (not on their order, nor on the page), so
    an algorithm has the same color on every page of a report."""
    return palette(sorted(set(labels)))


def page_colors(report: Mapping[str, str], labels: Sequence[str]) -> dict[str, str]:
    """The report's colors of one page's labels, in the page's order (the order of its legends)."""
    missing = [label for label in labels if label not in report]
    if missing:
        raise ValueError(f"labels without a report color: {missing}")
    return {label: report[label] for label in labels}
