"""The zero-cost GA (Reolon et al.): its search views (paper Figs. 5 and 6, the final Pareto front) and the
stored proxies against trained accuracy, as a registry entry placed at the end of the page (before the
metadata).

The views themselves are `reports.views_zero_cost`; what they read (the `zero_cost_ga` runs' search
histories from their checkpoints, the proxy scores of the report's tasks) is `reports.data_zero_cost`,
read in the load phase (`load`, while the report holds the cache).
"""

from __future__ import annotations

from cache.store import Cache
from reports import data_zero_cost, views_zero_cost
from reports.data import CacheData
from reports.data_zero_cost import ZeroCostData
from reports.document import Section
from reports.views.context import PageContext

PLACE = "end"


def load(cache: Cache, data: CacheData) -> ZeroCostData:
    """The search histories of `data`'s zero_cost_ga runs and the proxy scores of its tasks."""
    return data_zero_cost.load(cache, data)


def _loaded(page: PageContext) -> ZeroCostData:
    zero = page.loaded[__name__]
    if not isinstance(zero, ZeroCostData):
        raise TypeError(f"{__name__}: the loaded data are not zero-cost data")
    return zero


def applies(page: PageContext) -> bool:
    """A page (built with the load phase) with a zero_cost_ga run's history or proxies stored for its task."""
    if __name__ not in page.loaded:
        return False
    zero = _loaded(page)
    runs = page.block.runs
    return page.block.task.task_key in zero.proxies or any(r.run_id in zero.histories for r in runs)


def build(page: PageContext) -> list[Section]:
    return views_zero_cost.zero_cost_sections(_loaded(page), page.data, page.block)
