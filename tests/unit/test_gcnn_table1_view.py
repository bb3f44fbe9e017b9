"""Genetic CNN Table 1 view (Xie & Yuille 2017, Table 1 and Sec. 4.1): the fitness used for selection
(validation: Sec. 4.1 holds out 10,000 training images "to avoid seeing the testing data in the genetic
process") and, beside it, the test accuracy of the same individuals, each labelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache.store import Cache
from reports import analysis as an
from reports import analysis_generations as ag
from reports import paper_numbers, views
from reports.data import blocks, load
from reports.document import Table, Text
from reports.papers import genetic_cnn
from tests.reportfixtures import ManualQuery, put_manual_experiment, write_manual_run

A = "0-00 0-00-000 0-00-000-0000"
B = "1-00 0-00-000 0-00-000-0000"
C = "1-11 0-00-000 0-00-000-0000"


def _page(tmp_path: Path, task: str) -> views.PageContext:
    path = tmp_path / "c.duckdb"
    with Cache(path) as cache:
        put_manual_experiment(cache, "g", task_name=task, paper="genetic_cnn_table1", trials=1)
        write_manual_run(
            cache,
            "g",
            "genetic_cnn_ga",
            0,
            [
                ManualQuery(A, 0.80, 0.70, generation=0),
                ManualQuery(B, 0.60, 0.75, generation=0),
                ManualQuery(A, 0.90, 0.60, replicate=1, generation=1),  # A again: means over occurrences
                ManualQuery(C, 0.70, 0.72, generation=1),
            ],
            task_name=task,
            algorithm_name="genetic_cnn_ga",
            params={"population": 2},
        )
    with Cache(path, read_only=True) as cache:
        data = load(cache)
    (block,) = blocks(data)
    return views.PageContext(
        data=data,
        block=block,
        results=an.block_results(data, block),
        colors={"genetic_cnn_ga": "#000000"},
        objective=block.objective,
        setting=paper_numbers.paper_setting("genetic_cnn_table1", block.task.name),
    )


def test_table1_rows_carry_the_test_accuracy_of_the_same_individuals(tmp_path: Path) -> None:
    """Table 1 statistics per generation: fitness (validation) and the same individuals' test accuracy,
    both averaged over an individual's occurrences (Sec. 3.2.4)."""
    ctx = _page(tmp_path, "cifar10_gcnn_paper")
    rows = ag.genetic_table(ctx.data, ctx.results["genetic_cnn_ga"][0].run)
    g0, g1 = rows
    assert (g0.max, g0.min) == pytest.approx((0.80, 0.60))
    assert (g0.test_max, g0.test_min, g0.best_test) == pytest.approx((0.75, 0.70, 0.70))
    # generation 1: A's fitness (0.8 + 0.9) / 2 = 0.85 is the best; its test (0.70 + 0.60) / 2 = 0.65
    assert g1.max == pytest.approx(0.85) and g1.best_encoding == A
    assert (g1.test_max, g1.test_min, g1.best_test) == pytest.approx((0.72, 0.65, 0.65))
    assert g1.test_avg == pytest.approx((0.65 + 0.72) / 2)


def test_paper_preset_view_labels_fitness_test_and_paper_columns(tmp_path: Path) -> None:
    """cifar10_gcnn_paper selects on validation (Sec. 4.1); the view labels the validation fitness, the
    test accuracy of the same individuals and the paper's (test) Table 1 columns, and states the task's
    assumptions (batch, momentum, weight decay, normalisation are not in the paper)."""
    ctx = _page(tmp_path, "cifar10_gcnn_paper")
    assert ctx.objective == "val_acc"
    blocks_out = genetic_cnn.build(ctx)
    (table,) = [b for b in blocks_out if isinstance(b, Table) and "table1" in b.stem]
    assert table.columns[1] == "fitness (validation) Max"
    assert "test Max (same individuals)" in table.columns
    assert "test of the best structure" in table.columns
    assert "paper test Max" in table.columns
    row = dict(zip(table.columns, table.rows[1], strict=True))  # generation 01
    assert row["fitness (validation) Max"] == "85.00"
    assert row["test Max (same individuals)"] == "72.00"
    assert row["test of the best structure"] == "65.00"
    assert row["paper test Max"] == "75.96"
    csv = table.data
    assert csv is not None and "test_max" in csv.columns and "fitness_metric" in csv.columns
    notes = " ".join(p for b in blocks_out if isinstance(b, Text) for p in b.paragraphs)
    for assumption in ("batch 100", "momentum 0.9", "weight decay 4e-3", "normalised", "Caffe"):
        assert assumption in notes


def test_a_test_selecting_task_says_so_and_drops_the_duplicate_columns(tmp_path: Path) -> None:
    """With test accuracy as the fitness (not the paper's protocol) the view says the GA selected on test."""
    ctx = _page(tmp_path, "cifar10_gcnn_paper")
    ctx = views.PageContext(ctx.data, ctx.block, ctx.results, ctx.colors, "test_acc", ctx.setting)
    (table,) = [b for b in genetic_cnn.build(ctx) if isinstance(b, Table) and "table1" in b.stem]
    assert table.columns[1] == "fitness (test) Max"
    assert not any(c.startswith("test ") for c in table.columns)
    assert "selects on the test set" in (table.caption or "")
