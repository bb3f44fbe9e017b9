"""RENAS (Chen et al. 2019): the efficiency view of Fig. 4 / Sec. 5.3 as a registry entry.

The view itself is `reports.views_renas`; this entry reads the renas runs' population histories from their
checkpoints in the load phase (`load`, while the report holds the cache) and gives the page its section
"RENAS efficiency (Fig. 4)", after the other papers' sections and before the architectures.
"""

from __future__ import annotations

from cache.store import Cache
from reports import views_renas
from reports.data import CacheData
from reports.document import Section
from reports.views.context import PageContext


def load(cache: Cache, data: CacheData) -> views_renas.Histories:
    """The Fig. 4 histories of `data`'s renas runs (from their checkpoints)."""
    return views_renas.load(cache, data)


def applies(page: PageContext) -> bool:
    """A page with a renas run, built with the load phase."""
    return __name__ in page.loaded and any(r.algorithm == views_renas.ALGORITHM for r in page.block.runs)


def build(page: PageContext) -> list[Section]:
    histories = page.loaded[__name__]
    if not isinstance(histories, views_renas.Histories):
        raise TypeError(f"{__name__}: the loaded data are not RENAS histories")
    section = views_renas.efficiency_section(page.data, page.block, histories)
    return [] if section is None else [section]
