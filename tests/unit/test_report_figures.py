"""Reports: every figure is drawn from exactly the numbers of its CSV, deterministically.

The drawing is captured (the SVG step replaced by keeping the matplotlib figure) and its artists' data
compared with the dataset written as CSV; the datasets themselves are checked against numbers computed
independently from the cache (plain SQL, scipy).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
import scipy.stats as sps
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure as MplFigure

from cache.store import Cache
from harness.spaces import ArchGraph
from reports import analysis as an
from reports import drawings, figure_axes, figures, stats, views
from reports.data import blocks, load
from reports.document import Dataset
from tests.reportfixtures import AlgoSpec, ExperimentSpec, build_report_cache

SPEC = ExperimentSpec(
    name="fig",
    space="genetic_cnn",
    space_params={},
    task="digits_quick",
    algorithms=(
        AlgoSpec("random_search"),
        AlgoSpec("regularized_evolution", params={"population": 4, "sample_size": 2}),
        AlgoSpec("genetic_cnn_ga", params={"population": 4, "generations": 2}),
    ),
    trials=5,
    budget=12,
)


@pytest.fixture(scope="module")
def cache_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report_cache(tmp_path_factory.mktemp("fig") / "fig.duckdb", [SPEC])


@pytest.fixture(scope="module")
def ctx(cache_path: Path) -> views.PageContext:
    with Cache(cache_path, read_only=True) as cache:
        data = load(cache)
    block = blocks(data)[0]
    results = an.block_results(data, block)
    return views.PageContext(data, block, results, figures.palette(list(results)), block.objective, None)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MplFigure]]:
    """Keep the matplotlib figures instead of turning them into SVG."""
    kept: list[MplFigure] = []

    def keep(stem: str, draw: Callable[[MplFigure], None], width: float, height: float) -> str:
        fig = MplFigure(figsize=(width, height))
        draw(fig)
        kept.append(fig)
        return f'<svg width="{72 * width}pt"></svg>'

    monkeypatch.setattr(figures, "render", keep)
    monkeypatch.setattr(drawings, "render", keep)
    yield kept


def _csv_rows(data: Dataset) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.to_csv())))


def test_anytime_lines_are_the_csv_rows(ctx: views.PageContext, captured: list[MplFigure]) -> None:
    section = views.anytime_section(ctx)
    fig_evals = captured[0]
    figure = next(b for b in section.blocks if getattr(b, "stem", "").endswith("anytime-evaluations"))
    rows = _csv_rows(figure.data)  # type: ignore[union-attr]
    ax = fig_evals.axes[0]  # median + IQR of the best validation so far
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    assert len(solid) == len(ctx.results)
    for line, label in zip(solid, ctx.results, strict=True):
        expected = [
            r
            for r in rows
            if r["panel"] == "median/selection" and r["algorithm"] == label and r["series"] == "median"
        ]
        assert list(line.get_xdata()) == [float(r["x"]) for r in expected]
        assert list(line.get_ydata()) == [float(r["y"]) for r in expected]
    traces = [c for c in ax.collections if isinstance(c, LineCollection)]
    first = ctx.labels[0]
    seed0 = [
        r for r in rows if r["panel"] == "median/selection" and r["algorithm"] == first and r["trial"] == "0"
    ]
    vertices = traces[0].get_segments()[0]
    assert [tuple(v) for v in vertices[::2]] == [(float(r["x"]), float(r["y"])) for r in seed0]


def test_anytime_median_at_the_budget_is_the_median_of_final_bests(
    ctx: views.PageContext, cache_path: Path, captured: list[MplFigure]
) -> None:
    """Independent check from SQL: max validation accuracy per run, median over the algorithm's runs."""
    section = views.anytime_section(ctx)
    data = section.blocks[1].data  # type: ignore[union-attr]
    con = duckdb.connect(str(cache_path), read_only=True)
    finals = con.execute(
        "SELECT r.algorithm, max(t.fitness) FROM trajectories t JOIN runs r USING (run_id) GROUP BY "
        "r.algorithm, r.run_id"
    ).fetchall()
    con.close()
    for label in ctx.results:
        best = [v for a, v in finals if a == label]
        medians = data.where(panel="median/selection", algorithm=label, series="median")
        assert medians.floats("y")[-1] == pytest.approx(100 * float(np.median(best)))
        assert medians.floats("x")[-1] == 12.0


def test_ecdf_csv_is_scipy_ecdf_of_the_final_samples(
    ctx: views.PageContext, captured: list[MplFigure]
) -> None:
    samples = an.final_samples(ctx.results)
    section = views.ecdf_section(ctx, samples)
    fig = section.blocks[0]
    label = ctx.labels[1]
    rows = fig.data.where(panel="final", algorithm=label)  # type: ignore[union-attr]
    ref = sps.ecdf(samples[label]).cdf
    assert rows.floats("x") == pytest.approx(list(100 * ref.quantiles))
    assert rows.floats("p") == pytest.approx(list(ref.probabilities))
    line = captured[0].axes[0].lines[1]  # second algorithm's curve, rising from 0 at its first point
    assert list(line.get_ydata()) == [0.0, *rows.floats("p")]


def test_runtime_csv_is_the_runtime_ecdf(ctx: views.PageContext, captured: list[MplFigure]) -> None:
    section = views.runtime_section(ctx)
    fig, table = section.blocks
    label = ctx.labels[0]
    rs = ctx.results[label]
    pooled = [v for rr in ctx.results.values() for v in views._ok_fitness(ctx, rr)]
    targets = stats.make_targets(pooled, views.N_TARGETS, "quantile")
    ref = stats.runtime_ecdf([(r.evaluations, r.fitness) for r in rs], targets, [12.0] * len(rs))
    rows = fig.data.where(panel="evaluations", algorithm=label)  # type: ignore[union-attr]
    for cost, fraction in zip(rows.floats("cost"), rows.floats("fraction"), strict=True):
        assert fraction == pytest.approx(ref.fraction_at(cost))
    area = table.data.where(algorithm=label).rows[0]  # type: ignore[union-attr]
    assert area[4] == pytest.approx(ref.area(12.0, log=True, min_cost=1.0))
    drawn = captured[0].axes[0].lines[0]
    assert list(drawn.get_ydata()) == rows.floats("fraction")


def test_dominance_table_is_compare_many(ctx: views.PageContext, captured: list[MplFigure]) -> None:
    samples = an.final_samples(ctx.results)
    section = views.dominance_section(ctx, samples)
    data = section.blocks[1].data  # type: ignore[union-attr]
    ref = stats.compare_many(samples, seed=views.SEED, n_bootstrap=views.BOOTSTRAP)
    a, b = ctx.labels[0], ctx.labels[1]
    row = dict(zip(data.columns, data.where(row=a, col=b).rows[0], strict=True))
    assert row["a12"] == ref[(a, b)].a12 and row["eps_min_row_over_col"] == ref[(a, b)].eps_min_a_over_b
    assert row["mw_p_row_better"] == ref[(a, b)].mw_p_a_better and row["p_adjustment"].startswith("holm")
    image = captured[0].axes[0].images[0].get_array()
    assert image[0, 1] == pytest.approx(ref[(a, b)].a12) and image[1, 0] == pytest.approx(ref[(b, a)].a12)


def test_svg_is_deterministic_with_prefixed_unique_ids() -> None:
    data = Dataset(
        figures.CD_COLUMNS, (("rank", "a", 1.5, ""), ("rank", "b", 1.5, ""), ("cd", "CD", 1.2, ""))
    )
    one = figures.cd_figure("p1__cd", "t", "c", data).svg
    two = figures.cd_figure("p1__cd", "t", "c", data).svg
    assert one == two
    ids = re.findall(r'\bid="([^"]+)"', one)
    assert ids and all(i.startswith("p1__cd-") for i in ids) and len(ids) == len(set(ids))
    refs = re.findall(r'(?:href="#|url\(#)([^")]+)', one)
    assert set(refs) <= set(ids)
    assert "<dc:date>" not in one and one.startswith("<svg")


def test_csv_floats_round_trip_exactly() -> None:
    values = (0.1 + 0.2, 1 / 3, 93.62, float("nan"), None, True, 7)
    text = Dataset(tuple("abcdefg"), (values,)).to_csv()
    row = next(csv.reader(io.StringIO(text.splitlines()[1])))
    assert float(row[0]) == 0.1 + 0.2 and float(row[1]) == 1 / 3 and row[3:] == ["", "", "true", "7"]


def test_graph_layout_by_longest_path() -> None:
    graph = ArchGraph(
        nodes=(("in", "input"), ("a", "conv"), ("b", "conv"), ("c", "pool"), ("out", "output")),
        edges=(("in", "a"), ("a", "b"), ("in", "c"), ("b", "out"), ("c", "out")),
    )
    assert drawings.depths(graph) == {"in": 0, "a": 1, "c": 1, "b": 2, "out": 3}
    rows = drawings.graph_rows("p", graph)
    nodes = {r[2]: (r[4], r[5]) for r in rows if r[1] == "node"}
    assert nodes["out"][1] == -3.0 and nodes["a"][1] == nodes["c"][1] == -1.0 and nodes["a"] != nodes["c"]
    assert sum(1 for r in rows if r[1] == "edge") == 5


def test_overlay_opacity_is_stacked_one_over_n() -> None:
    g1 = ArchGraph(
        nodes=(("-2", "input"), ("0", "CONV_3.N"), ("99", "output")), edges=(("-2", "0"), ("0", "99"))
    )
    g2 = ArchGraph(nodes=(("-2", "input"), ("99", "output")), edges=(("-2", "99"),))
    order = ["input", "CONV_3.N", "output"]
    rows = drawings.overlay_rows("p", [g1, g1, g2, g1], order)
    edges = {(r[3], r[4], r[5], r[6]): (r[7], r[8]) for r in rows if r[1] == "edge"}
    assert edges[(0.0, 0.0, 1.0, 1.0)] == (3, pytest.approx(1 - (1 - 1 / 4) ** 3))
    assert edges[(0.0, 0.0, 1.0, 2.0)] == (1, pytest.approx(1 / 4))


def test_regret_is_drawn_only_for_a_fully_tabulated_space(tmp_path: Path, captured: list[MplFigure]) -> None:
    """genetic_cnn with stages (2, 2) has 4 networks; once all 4 are in the cache, regret is defined."""
    from tests.reportfixtures import ManualQuery, put_manual_experiment, write_manual_run

    params = {"stages": [2, 2], "channels": [4, 4]}
    tests = {"0 0": 0.80, "1 0": 0.90, "0 1": 0.85, "1 1": 0.70}
    path = tmp_path / "tab.duckdb"
    with Cache(path) as cache:
        put_manual_experiment(cache, "tab")
        for trial, order in enumerate((["0 0", "1 0"], ["1 1", "0 1"])):
            queries = [ManualQuery(e, val_acc=tests[e], test_acc=tests[e]) for e in order]
            write_manual_run(cache, "tab", "random_search", trial, queries, space_params=params)
    with Cache(path, read_only=True) as cache:
        data = load(cache)
    block = blocks(data)[0]
    assert an.fully_tabulated(data, block) == pytest.approx(0.90)
    results = an.block_results(data, block)
    ctx = views.PageContext(data, block, results, figures.palette(list(results)), block.objective, None)
    section = views.anytime_section(ctx)
    regret = next(b for b in section.blocks if getattr(b, "stem", "").endswith("regret-evaluations"))
    traces = regret.data.where(panel="median/regret", series="trace", trial=1)  # type: ignore[union-attr]
    assert traces.floats("y") == pytest.approx([100 * (0.90 - 0.70), 100 * (0.90 - 0.85)])
    zero = regret.data.where(panel="median/regret", series="trace", trial=0)  # type: ignore[union-attr]
    assert zero.floats("y")[-1] == views.REGRET_FLOOR  # zero regret, drawn at the floor of the log axis
    assert captured[-1].axes[0].get_yscale() == "log"
    partial = tmp_path / "partial.duckdb"
    with Cache(partial) as cache:
        put_manual_experiment(cache, "tab")
        queries = [ManualQuery(e, val_acc=tests[e], test_acc=tests[e]) for e in ("0 0", "1 0", "0 1")]
        write_manual_run(cache, "tab", "random_search", 0, queries, space_params=params)
    with Cache(partial, read_only=True) as cache:
        data = load(cache)
    assert an.fully_tabulated(data, blocks(data)[0]) is None  # 3 of 4 networks: no known optimum


# ------------------------------------------------------------------------------------------------------
# readable axes: shared x keeps its labels, log ticks, single-valued data, empty panels
# ------------------------------------------------------------------------------------------------------


def test_every_anytime_panel_keeps_its_x_tick_labels(
    ctx: views.PageContext, captured: list[MplFigure]
) -> None:
    views.anytime_section(ctx)
    fig = captured[0]
    assert len(fig.axes) == 4  # two rows of panels sharing x
    for ax in fig.axes:
        ticks = ax.xaxis.get_major_ticks()
        assert ticks and all(t.label1.get_visible() for t in ticks), ax.get_title()


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (1.0, 6.0, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        (1.0, 100.0, [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]),
        (0.3, 40.0, [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]),
        (0.3, 900.0, [0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0]),
        (1.0, 1e6, [1.0, 10.0, 100.0, 1000.0, 1e4, 1e5, 1e6]),
        (1.0, 1e12, [1.0, 100.0, 1e4, 1e6, 1e8, 1e10, 1e12]),
        (15.0, 15.76, [15.0, 16.0]),
    ],
)
def test_log_ticks_are_readable(lo: float, hi: float, expected: list[float]) -> None:
    assert figure_axes.log_ticks(lo, hi) == pytest.approx(expected)


def test_runtime_log_axis_has_readable_plain_number_ticks(
    ctx: views.PageContext, captured: list[MplFigure]
) -> None:
    views.runtime_section(ctx)
    evaluations = captured[0].axes[0]
    assert evaluations.get_xscale() == "log"
    lo, hi = evaluations.get_xlim()
    ticks = [t for t in evaluations.xaxis.get_major_locator()() if lo <= t <= hi]
    assert ticks == [1.0, 2.0, 5.0, 10.0]  # budget 12: 1-2-5 per decade, not just 10^0 and 10^1
    text = evaluations.xaxis.get_major_formatter()
    assert [text(t, i) for i, t in enumerate(ticks)] == ["1", "2", "5", "10"]
    seconds = captured[0].axes[1]
    lo, hi = seconds.get_xlim()
    assert len([t for t in seconds.xaxis.get_major_locator()() if lo <= t <= hi]) >= 2


def test_degenerate_limits() -> None:
    limits = figure_axes.degenerate_limits
    assert limits([0.0, 0.0], pad=1.0, floor=0.0) == (-0.1, 2.0)
    assert limits([89.25, 89.25], pad=1.0, floor=0.0) == pytest.approx((87.465, 91.035))
    assert limits([5.0, 5.0], pad=1.0) == (4.0, 6.0)
    assert limits([-3.0], pad=1.0, floor=0.0) == (-4.0, -2.0)  # already below the floor: centred
    assert limits([1.0, 2.0]) is None
    assert limits([math.nan]) is None


def test_a_single_generation_gets_a_readable_axis(captured: list[MplFigure]) -> None:
    """One generation whose individuals all scored 0 (all invalid): not matplotlib's -0.055..0.055."""
    rows = (("ours, trial 0", 0, 0.0, 0.0, 0.0, 0.0, 0.0, "0-00"),)
    figures.generations_figure("g", "t", "c", Dataset(figures.GENERATION_COLUMNS, rows), ["ours, trial 0"])
    ax = captured[0].axes[0]
    bottom, top = ax.get_ylim()
    assert -0.2 <= bottom < 0.0 and top >= 1.0
    assert ax.get_xlim() == (-0.5, 0.5)  # not -0.055..0.055 with ticks at -0.045, ..., 0.045
    assert [t for t in ax.xaxis.get_major_locator()() if -0.5 <= t <= 0.5] == [0.0]
    flat = (("ours, trial 0", 0, 91.0, 91.0, 91.0, 91.0, 0.0, "0-00"),)
    figures.generations_figure("g", "t", "c", Dataset(figures.GENERATION_COLUMNS, flat), ["ours, trial 0"])
    bottom, top = captured[1].axes[0].get_ylim()
    assert bottom < 91.0 - 0.9 and top > 91.0 + 0.9
    # the mean of equal values can exceed them by a rounding error (91.75000000000001 > 91.75)
    rounded = (("ours, trial 0", 0, 91.75, 91.75, 91.75000000000001, 91.75, 0.0, "0-00"),)
    figures.generations_figure("g", "t", "c", Dataset(figures.GENERATION_COLUMNS, rounded), ["ours, trial 0"])


def test_flat_and_empty_anytime_panels(captured: list[MplFigure]) -> None:
    rows = tuple(
        ("median/x", "rs", series, "", float(x), 90.0) for series in ("median", "q25", "q75") for x in (1, 2)
    )
    panels = [("median/x", "flat"), ("mean/x", "empty")]
    figures.anytime_figure(
        "a", "t", "c", Dataset(figures.ANYTIME_COLUMNS, rows), panels, 2, "evaluations", "%", {"rs": "#000"}
    )
    flat, empty = captured[0].axes[:2]
    assert flat.get_ylim() == pytest.approx((88.2, 91.8))
    assert [t.get_text() for t in empty.texts] == [
        "no value: a statistic is drawn only where every run has one"
    ]


def test_dominance_notes_column_wraps(ctx: views.PageContext, captured: list[MplFigure]) -> None:
    section = views.dominance_section(ctx, an.final_samples(ctx.results))
    table = section.blocks[1]
    assert table.columns[-1] == "notes" and table.wrap  # type: ignore[union-attr]
