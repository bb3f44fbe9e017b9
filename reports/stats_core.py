"""Shared input helpers and thresholds of the statistics modules (``reports.stats_*``).

Every statistics function validates its inputs through :func:`sample` (1-D, non-empty, finite) and maps
minimisation problems onto maximisation with :func:`oriented`; results hold read-only arrays
(:func:`readonly`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "MIN_SEEDS",
    "TIES_HEAVY_FRACTION",
    "FloatArray",
    "check_alpha",
    "oriented",
    "readonly",
    "sample",
    "ties_fraction",
]

#: Fewer seeds than this per algorithm triggers a warning in the report.
MIN_SEEDS: int = 5
#: More than this fraction of tied values triggers the "ties-heavy data" warning.
TIES_HEAVY_FRACTION: float = 0.25

FloatArray = npt.NDArray[np.float64]


def sample(values: npt.ArrayLike, name: str = "values") -> FloatArray:
    """A 1-D, non-empty, finite float array (a copy), or ValueError."""
    arr = np.array(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: at least one value is needed")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def oriented(values: FloatArray, higher_is_better: bool) -> FloatArray:
    """Values on a higher-is-better scale (minimisation problems are negated)."""
    return values if higher_is_better else -values


def check_alpha(alpha: float) -> None:
    """ValueError unless ``alpha`` lies in (0, 1)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")


def readonly(arr: npt.ArrayLike) -> FloatArray:
    """A read-only float copy of ``arr``."""
    out = np.array(arr, dtype=np.float64)
    out.setflags(write=False)
    return out


def ties_fraction(values: npt.ArrayLike) -> float:
    """Fraction of values that are equal to at least one other value (exact equality).

    ``[1, 1, 2, 3]`` -> 0.5; all distinct -> 0.0; all equal -> 1.0 (for n >= 2); a single value -> 0.0.
    """
    arr = sample(values)
    _, counts = np.unique(arr, return_counts=True)
    return float(counts[counts > 1].sum() / arr.size)
