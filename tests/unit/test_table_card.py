"""A shipped table: export + recipe + card, imported into a fresh cache, and run on in tabular mode."""

from __future__ import annotations

import json

from cache import Cache
from cache.parquet import import_into
from harness.runner import Budget, Runner, RunSpec
from harness.spaces import get_space
from harness.table_card import table_stats, write_table
from harness.tabulate import select_genomes, tabulate
from harness.tasks import preset
from tests.fakes import FakeExecutor

SPACE = get_space("genetic_cnn", stages=(2, 3, 3))
TASK = preset("digits_quick")


def _table(tmp_path):
    genomes, how = select_genomes(SPACE, all_classes=True)
    with Cache(tmp_path / "build.duckdb") as cache:
        tabulate(cache, SPACE, TASK, genomes, 3, FakeExecutor(), progress=False)
        named = {n: SPACE.hash(SPACE.named(n)) for n in SPACE.named_architectures()}
        stats = write_table(cache, tmp_path / "table", TASK.key(), {"command": "evonas tabulate ..."}, named)
    return genomes, how, stats


def test_the_card_states_what_the_table_holds(tmp_path):
    genomes, _, stats = _table(tmp_path)
    assert stats.networks == len(genomes) == SPACE.distinct_count()
    assert stats.replicates == {3: len(genomes)} and stats.ok == 3 * len(genomes)
    assert stats.noise_std_median is not None and set(stats.rank_correlation) == {"0-1", "0-2", "1-2"}
    recipe = json.loads((tmp_path / "table" / "recipe.json").read_text())
    assert recipe["command"].startswith("evonas tabulate") and "torch" in recipe["versions"]
    text = (tmp_path / "table" / "README.md").read_text()
    assert f"{stats.networks} distinct networks" in text and "Rank correlation" in text


def test_a_fresh_cache_imports_the_table_and_runs_tabular(tmp_path):
    _table(tmp_path)
    target = tmp_path / "fresh.duckdb"
    import_into(target, tmp_path / "table")
    spec = RunSpec(
        experiment="on-table",
        label="re",
        algorithm="regularized_evolution",
        params=(("population", 4), ("sample_size", 2)),
        trial=0,
        space_name="genetic_cnn",
        space_params=(("stages", (2, 3, 3)),),
        task=TASK,
        budget=Budget(evaluations=30),
    )
    with Cache(target) as cache:
        before = cache.stats()["tables"]["evaluations"]
        [summary] = Runner(cache, mode="tabular", progress=False).run([spec])
        assert summary.steps == 30 and summary.trained == 0
        assert cache.stats()["tables"]["evaluations"] == before  # the table stays the table
        assert table_stats(cache, TASK.key()).networks == SPACE.distinct_count()
