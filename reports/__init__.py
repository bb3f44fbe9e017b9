"""Reports: statistics, figures, paper tables and Markdown/HTML rendering, from the evaluation cache alone.

`write_report(cache, out, experiments)` is the entry point (the CLI's `evonas report`, `run` and `demo`);
`reports.stats` holds the statistics, `reports.render` documents the report's file layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from cache.store import Cache

__all__ = ["write_report"]


def write_report(cache: Cache, out: Path, experiments: list[str] | None = None) -> Path:
    """Write the report (HTML + Markdown + figures with their CSVs) into `out`; returns `out/index.html`.

    Matplotlib and jinja2 are imported on first use, so `import reports` stays light.
    """
    from reports.render import write_report as _write

    return _write(cache, out, experiments)
