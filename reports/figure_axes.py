"""Readable axes for the report's figures: single-valued data, log ticks, empty panels.

Matplotlib's defaults fail on degenerate data: a zero-width range is widened by 5% of the value (an axis
from -0.055 to 0.055 around an accuracy of 0), a log axis over less than a decade shows one or two
ticks, and a panel without data still draws an axis around nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

__all__ = ["degenerate_limits", "log_ticks", "no_data", "set_log_x"]


def degenerate_limits(
    values: Sequence[float], pad: float = 1.0, floor: float | None = None
) -> tuple[float, float] | None:
    """Axis limits for single-valued data (None when the finite values span a range, or there are none).

    Matplotlib widens a zero-width range by 5% of the value (to -0.055..0.055 around zero): unreadable
    ticks for an accuracy in percent. Here the value gets `pad` units either side; with `floor` (e.g. 0
    for an accuracy), the range starts just below the floor instead of crossing it."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return None
    lo, hi = min(finite), max(finite)
    if hi - lo > 1e-9 * max(1.0, abs(hi)):
        return None
    pad = max(pad, 0.02 * abs(lo))
    if floor is not None and lo >= floor and lo - pad < floor:
        return floor - 0.05 * 2 * pad, floor + 2 * pad
    return lo - pad, hi + pad


def log_ticks(lo: float, hi: float, most: int = 8) -> list[float]:
    """Readable major ticks for a log axis from lo to hi (both > 0): the densest of 1-9, 1-2-5, 1-3, 1 per
    decade (then every 2nd, 3rd, ... decade) with at most `most` ticks, at least two where the range
    allows; a range inside one step gets its rounded ends."""
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
        raise ValueError(f"log axis needs 0 < lo <= hi, got {lo}, {hi}")
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    eps = 1e-9
    chosen: list[float] = []
    for mantissas in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1, 3), (1,)):
        ticks = [
            float(f"{m * 10.0**e:.12g}")
            for e in range(e0, e1 + 1)
            for m in mantissas
            if lo * (1 - eps) <= m * 10.0**e <= hi * (1 + eps)
        ]
        if len(ticks) <= most:
            chosen = ticks
            break
    else:
        stride = 2
        while True:
            ticks = [
                10.0**e
                for e in range(e0, e1 + 1)
                if e % stride == 0 and lo * (1 - eps) <= 10.0**e <= hi * (1 + eps)
            ]
            if len(ticks) <= most:
                chosen = ticks
                break
            stride += 1
    if len(chosen) < 2:
        ends = sorted({float(f"{lo:.2g}"), float(f"{hi:.2g}")} | set(chosen))
        chosen = [t for t in ends if lo * (1 - 0.05) <= t <= hi * (1 + 0.05)] or [lo]
    return chosen


def set_log_x(ax: Axes, values: Sequence[float]) -> None:
    """A log x axis over the positive finite `values`, with :func:`log_ticks` labelled as plain numbers."""
    positive = [float(v) for v in values if math.isfinite(v) and v > 0]
    ax.set_xscale("log")
    ax.xaxis.set_minor_locator(NullLocator())
    if not positive:
        return
    lo, hi = min(positive), max(positive)
    ax.xaxis.set_major_locator(FixedLocator(log_ticks(lo, hi)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    if hi > lo:
        margin = (hi / lo) ** 0.03
        ax.set_xlim(lo / margin, hi * margin)
    else:
        ax.set_xlim(lo / 2.0, hi * 2.0)


def no_data(ax: Axes, text: str) -> None:
    """Mark an empty panel: a centred note instead of an axis around nothing."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=8.5, color="#57606a")
    ax.set_yticks([])
    ax.grid(False)
