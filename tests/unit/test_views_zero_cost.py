"""The zero-cost report views' computations: fronts, distances to the origin, correlations; their registry
entry (`reports.papers.zero_cost`) places them before the metadata."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from reports import papers
from reports.data_zero_cost import SearchHistory, ZeroCostData
from reports.document import Table
from reports.papers import zero_cost
from reports.views_zero_cost import (
    correlation_section,
    non_dominated,
    origin_rows,
    search_section,
)

BLOCK = SimpleNamespace(
    slug="s", task=SimpleNamespace(name="digits"), space="darts_cell", objective="val_acc"
)


def test_non_dominated_minimises_every_coordinate() -> None:
    points = [(1, 5, 3), (2, 2, 2), (2, 6, 4), (1, 5, 3), (3, 1, math.inf), (4, 4, 4)]
    assert non_dominated(points) == [True, True, False, True, True, False]


def history() -> SearchHistory:
    gens = [
        {"generation": 1, "kind": "scores", "scores": [[9, 9, 9], [5, 8, 7]], "best": [5, 8, 7]},
        {"generation": 2, "kind": "scores", "scores": [[5, 8, 7], [3, 3, 1]], "best": [3, 3, 1]},
        {"generation": 3, "kind": "darts", "scores": [[1, 1, 1], [3, 3, 1]], "best": [1, 1, 1],
         "population": ["a", "b"]},
    ]  # fmt: skip
    gens[0]["population"] = gens[1]["population"] = ["x", "y"]
    return SearchHistory("r", "zero_cost_ga", 0, tuple(gens))


def test_origin_distance_by_shares_of_the_runs_survivors() -> None:
    rows = origin_rows(history())
    assert [r[2] for r in rows] == [1, 2, 3]
    # 6 survivors: [5,8,7] is beaten on each axis by 3, 3 and 3 of them (the copy of itself does not count)
    assert rows[0][3:] == pytest.approx((3 / 6, 3 / 6, 3 / 6, 0.5))
    assert rows[2][-1] == 0.0  # [1,1,1] is the best on every axis
    assert rows[0][-1] > rows[1][-1] > rows[2][-1]


def test_search_section_has_the_three_views() -> None:
    section = search_section(BLOCK, [history()])
    titles = [b.title for b in section.blocks]
    assert any("Fig. 5" in t for t in titles) and any("Fig. 6" in t for t in titles)
    final = next(b for b in section.blocks if isinstance(b, Table) and b.title == "Final populations")
    assert [r[-1] for r in final.rows] == ["yes", "no"]  # [1,1,1] dominates [3,3,1]


def test_correlation_matches_scipy_and_needs_enough_networks() -> None:
    rng = np.random.default_rng(3)
    acc = {f"a{i}": float(v) for i, v in enumerate(rng.random(30))}
    scores = {a: {("synflow", 0): v + 0.3 * rng.random(), ("naswot", 0): None} for a, v in acc.items()}
    scores["a0"][("ntk_cond", 0)] = 1.0
    section = correlation_section(BLOCK, scores, acc)
    assert section is not None
    table = next(b for b in section.blocks if isinstance(b, Table))
    by_name = {r[0]: r for r in table.rows}
    x = np.asarray([scores[a][("synflow", 0)] for a in sorted(acc)])
    y = np.asarray([acc[a] for a in sorted(acc)])
    tau = stats.kendalltau(x, y).statistic
    assert by_name["synflow@s0"][2].startswith(f"{tau:+.3f} [")
    assert by_name["ntk_cond@s0"][1:3] == ("1", "too few") and "naswot@s0" not in by_name
    assert correlation_section(BLOCK, {"a": {("naswot", 0): None}}, acc) is None


def test_registry_entry_stands_before_the_metadata_and_needs_the_load_phase() -> None:
    assert zero_cost in papers.PAPERS and zero_cost.PLACE == "end"
    page = SimpleNamespace(block=SimpleNamespace(task=SimpleNamespace(task_key="t"), runs=()), loaded={})
    assert not zero_cost.applies(page)  # type: ignore[arg-type]
    page.loaded = {zero_cost.__name__: ZeroCostData(proxies={"other": {}})}
    assert not zero_cost.applies(page)  # type: ignore[arg-type]
    page.loaded = {zero_cost.__name__: ZeroCostData(proxies={"t": {}})}
    assert zero_cost.applies(page)  # type: ignore[arg-type]
