"""Reports: loading the cache and the numbers behind the views (no rendering).

Hand-made runs (`write_manual_run`) give exact expectations; the standard fixture (real genomes from the
real algorithms, fake training) checks the same rules on realistic data against plain SQL.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from algorithms import Outcome, get_algorithm
from cache.store import Cache
from harness.errors import CacheError, ConfigError, UnknownNameError
from harness.spaces import get_space
from reports import analysis as an
from reports import analysis_generations as ag
from reports import paper_numbers, views
from reports.data import Block, CacheData, Experiment, TaskInfo, blocks, load
from tests.reportfixtures import (
    AlgoSpec,
    ExperimentSpec,
    ManualQuery,
    build_report_cache,
    put_manual_experiment,
    write_experiment,
    write_manual_run,
)

A = "0-00 0-00-000 0-00-000-0000"
B = "1-00 0-00-000 0-00-000-0000"
C = "1-11 0-00-000 0-00-000-0000"
D = "1-11 1-11-111 0-00-000-0000"


@pytest.fixture(scope="module")
def standard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report_cache(tmp_path_factory.mktemp("std") / "fx.duckdb")


def _one_run(tmp_path: Path, queries: list[ManualQuery], **kw: Any) -> tuple[CacheData, an.RunResult]:
    path = tmp_path / "c.duckdb"
    with Cache(path) as cache:
        put_manual_experiment(cache, "m")
        write_manual_run(cache, "m", "random_search", 0, queries, **kw)
    with Cache(path, read_only=True) as cache:
        data = load(cache)
    result = an.run_result(data, data.runs[0])
    assert result is not None
    return data, result


def test_incumbent_is_selected_on_validation_and_reported_on_test(tmp_path: Path) -> None:
    _, r = _one_run(
        tmp_path,
        [
            ManualQuery(A, val_acc=0.90, test_acc=0.91),
            ManualQuery(B, val_acc=0.97, test_acc=0.70),  # the validation best tests worse
            ManualQuery(C, val_acc=0.93, test_acc=0.95),  # better on test, never the incumbent
        ],
    )
    assert list(r.best) == [0.90, 0.97, 0.97]
    assert list(r.reported) == [0.91, 0.70, 0.70]
    assert r.final_reported == 0.70
    assert r.final_query.encoding == B


def test_ties_keep_the_first_incumbent_and_invalid_counts_as_zero(tmp_path: Path) -> None:
    _, r = _one_run(
        tmp_path,
        [
            ManualQuery(A, val_acc=None, test_acc=None, status="invalid"),
            ManualQuery(B, val_acc=0.80, test_acc=0.60),
            ManualQuery(C, val_acc=0.80, test_acc=0.99),
        ],
    )
    assert list(r.fitness) == [0.0, 0.80, 0.80]
    assert list(r.incumbent) == [0, 1, 1]
    assert r.final_reported == 0.60


def test_selection_on_test_reports_the_selected_value(tmp_path: Path) -> None:
    _, r = _one_run(
        tmp_path,
        [ManualQuery(A, val_acc=0.99, test_acc=0.80), ManualQuery(B, val_acc=0.10, test_acc=0.85)],
        task_name="fashion_mnist_re_paper",
    )
    assert r.run.objective == "test_acc"
    assert list(r.reported) == [0.80, 0.85]


def test_forward_fill_only_never_backward() -> None:
    costs = np.array([10.0, 20.0, 30.0])
    values = np.array([0.5, 0.6, 0.7])
    out = an.values_at(costs, values, np.array([0.0, 9.99, 10.0, 15.0, 30.0, 99.0]))
    assert math.isnan(out[0]) and math.isnan(out[1])  # before the first result: no value
    assert list(out[2:]) == [0.5, 0.5, 0.7, 0.7]


def test_summary_only_where_every_run_has_a_value() -> None:
    grid = np.array([1.0, 2.0, 3.0])
    matrix = np.array([[np.nan, 0.4, 0.6], [0.2, 0.2, 0.8]])
    s = an.summarize(matrix, grid)
    assert math.isnan(s.median[0]) and list(s.n) == [1, 2, 2]
    assert s.median[1] == pytest.approx(0.3) and s.median[2] == pytest.approx(0.7)
    assert s.sem[2] == pytest.approx(np.std([0.6, 0.8], ddof=1) / math.sqrt(2))


def test_seconds_grid_holds_every_result_time(tmp_path: Path) -> None:
    _, r = _one_run(
        tmp_path,
        [ManualQuery(A, 0.5, 0.5, train_seconds=3.0), ManualQuery(B, 0.6, 0.6, train_seconds=2.0)],
    )
    assert list(an.seconds_grid([r])) == [3.0, 5.0]
    assert list(an.evaluation_grid([r])) == [1.0, 2.0]


def test_genetic_table_averages_occurrences_up_to_each_generation(tmp_path: Path) -> None:
    data, r = _one_run(
        tmp_path,
        [
            ManualQuery(A, 0.80, 0.8, generation=0),
            ManualQuery(B, 0.60, 0.6, generation=0),
            ManualQuery(A, 0.90, 0.9, replicate=1, generation=1),  # A again: fitness (0.8 + 0.9) / 2
            ManualQuery(C, 0.70, 0.7, generation=1),
        ],
        algorithm_name="genetic_cnn_ga",
        params={"population": 2},
    )
    rows = ag.genetic_table(data, r.run)
    assert [g.generation for g in rows] == [0, 1]
    assert (rows[0].max, rows[0].min, rows[0].avg) == pytest.approx((0.8, 0.6, 0.7))
    g1 = rows[1]
    assert (g1.max, g1.min, g1.avg, g1.median) == pytest.approx((0.85, 0.7, 0.775, 0.775))
    assert g1.std == pytest.approx(0.075)  # population std (ddof 0)
    assert g1.best_encoding == A


def test_generations_by_position_when_unlabelled(tmp_path: Path) -> None:
    _, r = _one_run(tmp_path, [ManualQuery(e, 0.5, 0.5) for e in (A, B, C, D, A)])
    assert ag.generations(r.run, 2, 1) == [[0, 1], [2], [3], [4]]
    assert ag.generations(r.run, 2) == [[0, 1], [2, 3]]  # the incomplete last generation is dropped


def test_de_final_population_replays_the_algorithm(tmp_path: Path) -> None:
    """The replayed selection ends with exactly the population the real algorithm holds."""
    spec = ExperimentSpec(
        name="de",
        space="de_sequential",
        space_params={},
        task="cifar10_de",
        algorithms=(
            AlgoSpec("differential_evolution", params={"population": 5, "children": 3, "generations": 2}),
        ),
        trials=1,
        budget=11,
        noise_networks=0,
    )
    path = tmp_path / "de.duckdb"
    with Cache(path) as cache:
        write_experiment(cache, spec)
    with Cache(path, read_only=True) as cache:
        data = load(cache)
    run = data.runs[0]
    assert [q.generation for q in run.queries] == [0] * 5 + [1] * 3 + [2] * 3  # DE labels its generations
    generation, population = ag.de_final_population(data, run)
    space = get_space("de_sequential")
    algo = get_algorithm("differential_evolution", space, rng=np.random.default_rng(run.seed), **run.params)
    for q in run.queries:
        (cand,) = algo.ask(1)
        assert space.encode(cand.genome) == q.encoding
        ev = data.evaluation(q.arch_hash, run.task_key, q.replicate)
        assert ev is not None
        algo.tell([(cand, Outcome(q.arch_hash, q.fitness, ev.status, params=ev.params))])
    assert generation == 2
    assert [m.encoding for m in population] == [m.encoding for m in algo.population]  # type: ignore[attr-defined]
    front = ag.pareto(population)
    assert front and all(
        not (o.fitness >= f.fitness and o.params < f.params) for f in front for o in population
    )


def test_noise_std_and_rank_correlation(tmp_path: Path) -> None:
    path = tmp_path / "n.duckdb"
    with Cache(path) as cache:
        put_manual_experiment(cache, "m")
        queries = []
        for enc, base in ((A, 0.6), (B, 0.7), (C, 0.8), (D, 0.9)):
            queries.append(ManualQuery(enc, base, base))
            queries.append(ManualQuery(enc, base + 0.02, base, replicate=1))
        write_manual_run(cache, "m", "random_search", 0, queries)
    with Cache(path, read_only=True) as cache:
        data = load(cache)
    noise = an.noise(data, blocks(data)[0])
    assert noise is not None and len(noise.rows) == 4
    assert noise.mean_std == pytest.approx(np.std([0.0, 0.02], ddof=1))
    assert noise.spearman == pytest.approx(1.0) and noise.pairs == 4


def test_every_run_of_the_standard_fixture_reports_the_test_accuracy_of_its_validation_best(
    standard: Path,
) -> None:
    """Checked against plain SQL: the first query with the run's maximal objective, its stored test_acc."""
    with Cache(standard, read_only=True) as cache:
        data = load(cache)
    con = duckdb.connect(str(standard), read_only=True)
    sql = """
        SELECT t.run_id, r.objective, t.step, e.status, e.val_acc, e.test_acc
        FROM trajectories t JOIN runs r USING (run_id)
        LEFT JOIN evaluations e ON e.arch_hash = t.arch_hash AND e.task_key = r.task_key
             AND e.replicate = t.replicate
        ORDER BY t.run_id, t.step"""
    rows: dict[str, list[tuple]] = {}
    for run_id, objective, step, status, val, test in con.execute(sql).fetchall():
        metric = (val if objective == "val_acc" else test) if status == "ok" else 0.0
        rows.setdefault(run_id, []).append((metric or 0.0, step, test if status == "ok" else 0.0))
    con.close()
    checked = 0
    overfit = 0
    for run in data.runs:
        r = an.run_result(data, run)
        assert r is not None
        best = max(rows[run.run_id], key=lambda t: (t[0], -t[1]))
        assert r.final_reported == pytest.approx(best[2]), run.run_id
        assert r.final_best == pytest.approx(best[0])
        overfit += r.final_reported < max(t[2] for t in rows[run.run_id])
        checked += 1
    assert checked == len(data.runs) == 43
    assert overfit > 0  # the fixture does contain runs whose validation best is not the test best


def test_blocks_pages_and_algorithm_order(standard: Path) -> None:
    with Cache(standard, read_only=True) as cache:
        data = load(cache)
        only = load(cache, ["fx_re"])
    pages = blocks(data)
    assert [(b.experiment.name, b.slug) for b in pages] == [
        ("fx_de", "de_sequential__cifar10_de"),
        ("fx_gcnn", "genetic_cnn__digits_quick"),
        ("fx_re", "macro_re__fashion_mnist_re_paper"),
    ]
    assert pages[1].algorithms == ("random_search", "regularized_evolution", "genetic_cnn_ga", "optuna_tpe")
    assert pages[2].objective == "test_acc"
    assert [b.experiment.name for b in blocks(only)] == ["fx_re"]


def test_unknown_experiment_and_empty_cache_are_one_line_errors(tmp_path: Path, standard: Path) -> None:
    with Cache(standard, read_only=True) as cache, pytest.raises(UnknownNameError, match="fx_nope"):
        load(cache, ["fx_nope"])
    with Cache(tmp_path / "empty.duckdb") as cache, pytest.raises(CacheError, match="holds no runs") as err:
        load(cache)
    assert "\n" not in str(err.value)


def test_an_older_cache_without_the_encoding_column_loads(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with Cache(path) as cache:
        put_manual_experiment(cache, "m")
        write_manual_run(cache, "m", "random_search", 0, [ManualQuery(B, 0.5, 0.5)])
        cache.execute("ALTER TABLE trajectories DROP COLUMN encoding")
    with Cache(path, read_only=True) as cache:
        data = load(cache)
    q = data.runs[0].queries[0]
    assert q.encoding is None
    assert an.encoding_of(data, q) == B  # from the architectures table


def test_paper_settings_by_config_key_and_task_name() -> None:
    ps = paper_numbers.paper_setting
    assert ps(None, "cifar10_gcnn_paper") == paper_numbers.GENETIC_CNN
    assert ps(None, "fashion_mnist_re") == paper_numbers.RE_MACRO
    assert ps(None, "cifar10_de") == paper_numbers.DE_NAS
    assert ps(None, "digits") is None
    assert ps("genetic_cnn_table1", "digits") == paper_numbers.GENETIC_CNN  # the config key wins
    with pytest.raises(ConfigError, match="unknown paper setting"):
        ps("alexnet_2012", "digits")


def test_paper_numbers_are_the_papers() -> None:
    """Genetic CNN Table 1 (Xie & Yuille 2017), generations 0 and 50; DE-NAS Table 3 parameters."""
    rows = {r.generation: r for r in paper_numbers.GCNN_TABLE1}
    assert (rows[0].max, rows[0].min, rows[0].avg, rows[0].median, rows[0].std) == (
        75.96,
        71.81,
        74.39,
        74.53,
        0.91,
    )
    assert rows[50].best_structure == "1-01 0-01-100 0-11-101-0001"
    assert [r.params for r in paper_numbers.DE_TABLE3 if r.named] == [16_477_306, 7_796_674]


def test_ranking_blocks_share_the_largest_algorithm_set() -> None:
    def block(space: str, task: str) -> Block:
        return Block(
            Experiment("e", {}, None, {}, None), space, {}, TaskInfo(task, task, {}, ""), (), (), "s"
        )

    s = {"a": np.array([0.5]), "b": np.array([0.6]), "c": np.array([0.7])}
    rin = views.ranking_input(
        [
            (block("x", "t1"), s),
            (block("y", "t2"), {"a": s["a"], "b": s["b"]}),
            (block("x", "t1"), s),  # the same (space, task) again: not a new block
            (block("z", "t3"), {"a": s["a"]}),
        ]
    )
    assert rin is not None
    assert rin.algorithms == ("a", "b") and len(rin.blocks) == 2 and len(rin.skipped) == 1
    assert rin.scores == ((0.5, 0.6), (0.5, 0.6))
    assert views.ranking_input([(block("x", "t1"), s)]) is None


def test_generation_views_read_the_run_log_and_agree_with_the_trajectory(tmp_path: Path) -> None:
    """DE's final population and the GA's table come from the `generations` table the run wrote; the
    fallback for runs without it (the algorithm's selection over the trajectory) gives the same result."""
    import dataclasses

    spec = ExperimentSpec(
        name="gens",
        space="de_sequential",
        space_params={},
        task="cifar10_de",
        algorithms=(
            AlgoSpec("differential_evolution", params={"population": 5, "children": 3, "generations": 2}),
        ),
        trials=1,
        budget=11,
        noise_networks=0,
    )
    path = tmp_path / "de.duckdb"
    with Cache(path) as cache:
        write_experiment(cache, spec)
    with Cache(path, read_only=True) as cache:
        data = load(cache)
    run = data.runs[0]
    roles = {(g.generation, g.role) for g in run.generations}
    assert roles == {(g, r) for g in range(3) for r in ("child", "survivor")}
    logged = ag.de_final_population(data, run)
    replayed = ag.de_final_population(data, dataclasses.replace(run, generations=()))
    assert logged[0] == replayed[0] == 2
    assert [m.encoding for m in logged[1]] == [m.encoding for m in replayed[1]]
    assert [m.params for m in logged[1]] == [m.params for m in replayed[1]]
    # the table, not the trajectory, decides: drop the last generation's survivors and the answer moves
    trimmed = tuple(g for g in run.generations if not (g.generation == 2 and g.role == "survivor"))
    assert ag.de_final_population(data, dataclasses.replace(run, generations=trimmed))[0] == 1
