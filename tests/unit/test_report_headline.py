"""Reports: the headline (who won, by how much, how sure), the random-search baseline detected by algorithm
name, and one color per algorithm label across the whole report.

The headline is checked against the pairwise matrix it is given (the dominance table's numbers): a winner
only where dominance holds against every other algorithm, a tie or a crossing named as such otherwise.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cache.store import Cache
from harness.spaces import get_space
from reports import colors, figures, headline, render, stats, views
from reports.data import blocks, load
from reports.headline import a12_magnitude
from tests.reportfixtures import ManualQuery, put_manual_experiment, write_manual_run

N_BOOT = 200


def _matrix(samples: Mapping[str, np.ndarray]) -> stats.PairwiseMatrix:
    return stats.compare_many(samples, higher_is_better=True, alpha=0.05, seed=0, n_bootstrap=N_BOOT)


def _headline(samples: dict[str, np.ndarray], runs: dict[str, int] | None = None) -> headline.Headline:
    return headline.headline(samples, _matrix(samples), runs)


# ------------------------------------------------------------------------------------------------------
# the headline
# ------------------------------------------------------------------------------------------------------


def test_a_clear_winner_is_named_with_its_margin_effect_size_and_seeds() -> None:
    rng = np.random.default_rng(3)
    samples = {
        "rs": rng.normal(0.90, 0.004, 12),
        "re": rng.normal(0.95, 0.004, 12),  # clearly best
        "ga": rng.normal(0.92, 0.004, 12),
    }
    matrix = _matrix(samples)
    top = headline.headline(samples, matrix)
    assert top.outcome == "winner"
    assert top.best == ("re",) and top.leader == "re"
    assert [p.other for p in top.pairs] == ["ga", "rs"]  # runner-up first
    runner = top.pairs[0]
    assert runner.verdict == "dominates"
    assert runner.median_difference == pytest.approx(np.median(samples["re"]) - np.median(samples["ga"]))
    assert runner.a12 == matrix[("re", "ga")].a12 == 1.0
    assert runner.mw_p == matrix[("re", "ga")].mw_p_a_better < 0.05
    assert runner.eps_min == matrix[("re", "ga")].eps_min_a_over_b < stats.ASO_TAU
    diff = 100 * runner.median_difference
    assert top.lead.startswith("re wins: it stochastically dominates all 2 other algorithms")
    assert f"+{diff:.2f} points over the runner-up ga" in top.lead
    assert "12 seeds each" in top.lead and "A12 1.00, large" in top.lead and "ASO agrees" in top.lead
    assert len(top.points) == 2 and top.points[0].startswith("re vs ga (runner-up): median")
    assert "re dominates ga" in top.points[0] and "Holm-adjusted" in top.points[0]


def test_a_tie_names_the_top_group_and_claims_no_winner() -> None:
    rng = np.random.default_rng(4)
    samples = {
        "rs": rng.normal(0.900, 0.01, 10),
        "re": rng.normal(0.902, 0.01, 10),  # indistinguishable from rs
        "ga": rng.normal(0.800, 0.01, 10),  # clearly worse than both
    }
    matrix = _matrix(samples)
    assert matrix[("rs", "re")].verdict == "none"
    top = headline.headline(samples, matrix)
    leader = "re" if np.median(samples["re"]) > np.median(samples["rs"]) else "rs"
    other = "rs" if leader == "re" else "re"
    assert top.outcome == "tie"
    assert top.leader == leader and top.best == (leader, other)
    assert "wins" not in top.lead
    assert top.lead.startswith("No single winner on the final test accuracy of the incumbent (10 seeds each)")
    assert f"{other} is not significantly different from {leader}" in top.lead
    assert f"{leader} dominates ga." in top.lead
    verdicts = {p.other: p.verdict for p in top.pairs}
    assert verdicts == {other: "none", "ga": "dominates"}


def test_crossing_ecdfs_are_no_winner() -> None:
    """Same centre, very different spread (as the statistics' crossing fixture): each is better somewhere."""
    rng = np.random.default_rng(7)
    samples = {"narrow": 0.9 + rng.normal(0.0, 0.001, 200), "wide": 0.9 + rng.normal(0.0, 0.03, 200)}
    matrix = _matrix(samples)
    assert matrix[("narrow", "wide")].verdict == "crossing"
    top = headline.headline(samples, matrix)
    assert top.outcome == "crossing"
    assert set(top.best) == {"narrow", "wide"}
    assert "wins" not in top.lead and "No single winner" in top.lead
    other = next(x for x in top.best if x != top.leader)
    assert f"the ECDF of {other} crosses {top.leader}'s (each is better somewhere)" in top.lead
    assert "crossing ECDFs" in top.points[0]


@pytest.mark.parametrize("seed", range(12))
def test_a_winner_is_claimed_only_where_it_dominates_every_other(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(4, 14))
    samples = {f"alg{i}": rng.normal(0.9 + rng.uniform(0.0, 0.02), 0.01, n) for i in range(3)}
    matrix = _matrix(samples)
    top = headline.headline(samples, matrix)
    dominant = [a for a in samples if all(matrix[(a, b)].verdict == "a" for b in samples if b != a)]
    if top.outcome == "winner":
        assert dominant == [top.leader] and "wins" in top.lead
    else:
        assert top.outcome in ("tie", "crossing") and dominant == [] and "wins" not in top.lead
        assert len(top.best) >= 2 and top.best[0] == top.leader
        for other in top.best[1:]:
            assert matrix[(top.leader, other)].verdict != "a"
    assert top.leader == max(
        (a for a in samples if not any(matrix[(b, a)].verdict == "a" for b in samples if b != a)),
        key=lambda a: (np.median(samples[a]), np.mean(samples[a])),
    )


def test_a_cycle_of_verdicts_is_no_winner() -> None:
    """Pairwise tests need not be transitive: with a > b, b > c and c > a nobody wins."""
    rng = np.random.default_rng(8)
    samples = {name: rng.normal(0.9, 0.01, 8) for name in ("a", "b", "c")}
    matrix = _matrix(samples)
    cycle = {("a", "b"), ("b", "c"), ("c", "a")}
    forced = {
        pair: dataclasses.replace(comp, verdict="a" if pair in cycle else "b")
        for pair, comp in matrix.comparisons.items()
    }
    top = headline.headline(samples, dataclasses.replace(matrix, comparisons=forced))
    assert top.outcome == "tie" and "wins" not in top.lead
    above = {"a": "c", "b": "a", "c": "b"}[top.leader]  # the one that dominates the leader
    assert top.best == (top.leader, above)
    assert f"{above} dominates {top.leader} while being dominated by another" in top.lead
    assert "form a cycle" in top.lead


def test_one_algorithm_or_none_is_no_comparison() -> None:
    top = headline.headline({"rs": np.array([0.9, 0.91, 0.92])}, None)
    assert top.outcome == "single" and top.best == ("rs",)
    assert "Only rs has results (3 seeds; median final test accuracy of the incumbent 91.00%)" in top.lead
    assert "no winner" in top.lead
    empty = headline.headline({"rs": np.array([np.nan])}, None)
    assert empty.outcome == "none" and empty.best == () and empty.leader is None


def test_the_matrix_must_compare_exactly_the_samples() -> None:
    samples = {"a": np.array([0.1, 0.2, 0.3]), "b": np.array([0.2, 0.3, 0.4])}
    with pytest.raises(ValueError, match="must compare exactly the algorithms"):
        headline.headline(samples, None)
    with pytest.raises(ValueError, match="must compare exactly the algorithms"):
        headline.headline({**samples, "c": np.array([0.5, 0.6, 0.7])}, _matrix(samples))


def test_seeds_and_left_out_runs_and_few_seeds_are_said() -> None:
    rng = np.random.default_rng(5)
    samples = {"rs": rng.normal(0.9, 0.01, 3), "re": rng.normal(0.9, 0.01, 9)}
    top = _headline(samples, {"rs": 3, "re": 10})
    assert "(seeds: rs 3, re 9 of 10)" in top.lead
    assert top.seeds == (("rs", 3, 3), ("re", 9, 10))
    assert any("Fewer than 5 seeds for rs" in p for p in top.points)
    assert any("left out: re 1 of 10" in p for p in top.points)


def test_a12_magnitude_words() -> None:
    assert [a12_magnitude(v) for v in (0.5, 0.555, 0.57, 0.65, 0.72, 0.2, 1.0)] == [
        "negligible",
        "negligible",
        "small",
        "medium",
        "large",
        "large",
        "large",
    ]


# ------------------------------------------------------------------------------------------------------
# the random-search baseline, by algorithm name
# ------------------------------------------------------------------------------------------------------


def test_random_baseline_by_algorithm_name_not_label() -> None:
    assert stats.is_random_baseline("random_search") and stats.is_random_baseline("optuna_random")
    assert stats.is_random_baseline("regularized_evolution", {"sample_size": 1})
    assert stats.is_random_baseline("regularized_evolution", {"preset": "kyriakides2020_random"})
    assert not stats.is_random_baseline("regularized_evolution", {"sample_size": 3})
    assert not stats.is_random_baseline("random_walk")  # a name that merely contains "random"
    rng = np.random.default_rng(6)
    samples = {"RS": rng.normal(size=6), "evo": rng.normal(size=6)}
    assert not any("baseline" in w for w in stats.warnings_for(samples, baselines=["RS"]))
    assert any("no random-search baseline" in w for w in stats.warnings_for(samples, baselines=[]))
    # without `baselines` the labels are taken as registry names: "random_thing" is not one
    fake = {"random_thing": rng.normal(size=6), "evo": rng.normal(size=6)}
    assert any("no random-search baseline" in w for w in stats.warnings_for(fake))


def _genomes(n: int, seed: int = 0) -> list[str]:
    space = get_space("genetic_cnn")
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < n:
        encoding = space.encode(space.sample(rng))
        if encoding not in out:
            out.append(encoding)
    return out


def _manual_cache(path: Path, experiments: Mapping[str, list[tuple[str, str, dict[str, Any]]]]) -> Path:
    """Per experiment, runs of (label, algorithm name, params): 5 trials of 3 queries each; the accuracy of
    a query rises with its genome's index, so labels differ in the networks they get."""
    genomes = _genomes(40)
    with Cache(path) as cache:
        for exp, algos in experiments.items():
            put_manual_experiment(cache, exp)
            for k, (label, algorithm, params) in enumerate(algos):
                for trial in range(5):
                    queries = [
                        ManualQuery(
                            genomes[(k * 7 + trial + 2 * j) % len(genomes)],
                            val_acc=0.80 + 0.003 * ((k * 7 + trial + 2 * j) % len(genomes)),
                            test_acc=0.79 + 0.003 * ((k * 7 + trial + 2 * j) % len(genomes)),
                        )
                        for j in range(3)
                    ]
                    write_manual_run(
                        cache, exp, label, trial, queries, algorithm_name=algorithm, params=params, budget=3
                    )
    return path


def _pages(path: Path) -> dict[str, tuple[views.Page, dict[str, np.ndarray]]]:
    with Cache(path, read_only=True) as cache:
        data = load(cache)
    return {b.experiment.name: views.block_page(data, b) for b in blocks(data)}


def test_page_warning_finds_the_baseline_by_its_algorithm(tmp_path: Path) -> None:
    path = _manual_cache(
        tmp_path / "b.duckdb",
        {
            "labelled": [("RS", "random_search", {}), ("evo", "regularized_evolution", {"sample_size": 2})],
            "misleading": [
                ("random_walk", "regularized_evolution", {"sample_size": 2}),
                ("ga", "genetic_cnn_ga", {}),
            ],
            "optuna": [("baseline", "optuna_random", {}), ("ga", "genetic_cnn_ga", {})],
        },
    )
    pages = _pages(path)
    assert not any("random-search baseline" in w for w in pages["labelled"][0].warnings)
    assert not any("random-search baseline" in w for w in pages["optuna"][0].warnings)
    assert any("no random-search baseline" in w for w in pages["misleading"][0].warnings)


# ------------------------------------------------------------------------------------------------------
# one color per label for the whole report
# ------------------------------------------------------------------------------------------------------


def test_report_palette_depends_on_the_label_set_only() -> None:
    labels = ["rs", "re", "ga", "tpe"]
    one = colors.report_palette(labels)
    assert one == colors.report_palette(list(reversed(labels))) == colors.report_palette([*labels, "re"])
    assert len(set(one.values())) == 4
    assert list(colors.page_colors(one, ["tpe", "rs"])) == ["tpe", "rs"]  # the page's (legend) order
    assert colors.page_colors(one, ["tpe", "rs"]) == {"tpe": one["tpe"], "rs": one["rs"]}
    many = colors.report_palette([f"alg{i:02d}" for i in range(20)])
    assert len(set(many.values())) == 20
    with pytest.raises(ValueError, match="without a report color"):
        colors.page_colors(one, ["de"])


def test_an_algorithm_has_one_color_on_every_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _manual_cache(
        tmp_path / "c.duckdb",
        {
            "first": [("rs", "random_search", {}), ("tpe", "optuna_tpe", {})],
            "second": [("tpe", "optuna_tpe", {}), ("ga", "genetic_cnn_ga", {}), ("rs", "random_search", {})],
        },
    )
    seen: list[dict[str, str]] = []
    original = figures.ecdf_figure

    def record(*args: Any, **kwargs: Any) -> Any:
        seen.append(dict(args[6]))
        return original(*args, **kwargs)

    monkeypatch.setattr(figures, "ecdf_figure", record)
    _pages(path)
    first, second = seen
    # each page keeps its own (legend) order: labels outside the config's list sort by name
    assert list(first) == ["rs", "tpe"] and list(second) == ["ga", "rs", "tpe"]
    assert first["rs"] == second["rs"] and first["tpe"] == second["tpe"]
    assert len({second["tpe"], second["ga"], second["rs"]}) == 3


# ------------------------------------------------------------------------------------------------------
# rendering: the index and every page open with the headline
# ------------------------------------------------------------------------------------------------------


def test_index_and_pages_open_with_the_headline(tmp_path: Path) -> None:
    path = _manual_cache(
        tmp_path / "r.duckdb",
        {"hx": [("rs", "random_search", {}), ("re", "regularized_evolution", {"sample_size": 2})]},
    )
    with Cache(path, read_only=True) as cache:
        files = render.build(cache)
    page_html = files["hx/genetic_cnn__digits_quick.html"]
    first = re.search(r'<section id="([^"]+)">\s*<h2>([^<]+)</h2>\s*<div class="headline (\w+)"', page_html)
    assert first is not None and first.group(1) == "headline" and first.group(3) in ("winner", "tie")
    assert page_html.index('id="headline"') < page_html.index('id="summary"')
    index_html = files["index.html"]
    assert index_html.index('id="headline"') < index_html.index('id="warnings"')
    assert (
        '<p class="scope"><a href="hx/genetic_cnn__digits_quick.html">hx: genetic_cnn on digits_quick</a>'
        in (index_html)
    )
    md = files["hx/genetic_cnn__digits_quick.md"]
    assert md.index("## Headline") < md.index("## Summary")
    section = md[md.index("## Headline") : md.index("## Summary")]
    assert re.match(r"## Headline\n\n\*\*.+5 seeds each.+\*\*\n\n- r[es] vs r[es]: median ", section)
    assert "[hx: genetic\\_cnn on digits\\_quick](hx/genetic_cnn__digits_quick.md): **" in files["README.md"]
