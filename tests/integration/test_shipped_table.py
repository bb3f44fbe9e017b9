"""The shipped digits table: a fresh cache imports it, it verifies clean, and tabular runs read it."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from cache import Cache
from cache.verify import verify
from harness.cli import main
from harness.spaces import get_space
from harness.tasks import preset

TABLE = Path(__file__).resolve().parents[2] / "benchmarks" / "tables" / "genetic_cnn-digits"
SPACE = get_space("genetic_cnn")
TASK = preset("digits")

CONFIG = """
[experiment]
name = "on-the-table"
trials = 2
budget = { evaluations = 30 }

[space]
name = "genetic_cnn"

[task]
preset = "digits"

[evaluation]
mode = "tabular"
out_of_table = "invalid"

[[algorithms]]
name = "random_search"

[[algorithms]]
name = "regularized_evolution"
params = { population = 10, sample_size = 3 }
"""


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("table") / "fresh.duckdb"
    assert main(["cache", "import", str(TABLE), "--cache", str(target)]) == 0
    return target


def test_the_table_is_there_with_its_recipe_and_card():
    recipe = json.loads((TABLE / "recipe.json").read_text())
    assert recipe["command"].startswith("evonas tabulate --space genetic_cnn --task digits")
    manifest = json.loads((TABLE / "manifest.json").read_text())
    assert manifest["tables"]["evaluations"]["rows"] >= 1000
    assert "Replicate noise" in (TABLE / "README.md").read_text()


def test_a_fresh_cache_imports_it_and_it_verifies_clean(imported):
    with Cache(imported, read_only=True) as cache:
        assert verify(cache) == []
        chain = cache.replicates(SPACE.hash(SPACE.named("chain")), TASK.key())
        assert chain and all(r.status == "ok" for r in chain)


def test_a_tabular_experiment_runs_on_it_without_training(imported, tmp_path, capsys):
    config = tmp_path / "on-table.toml"
    config.write_text(textwrap.dedent(CONFIG))
    code = main(["run", str(config), "--cache", str(imported), "--no-report", "-q"])
    assert code == 0
    assert "0 networks trained" in capsys.readouterr().out


def test_tabular_mode_runs_on_the_table_directory_without_importing_it(imported, tmp_path):
    """`table = <directory>`: the same trajectories as on the imported table, no evaluation copied."""
    text = textwrap.dedent(CONFIG).replace('name = "on-the-table"', 'name = "on-the-directory"')
    plain, direct = tmp_path / "plain.toml", tmp_path / "direct.toml"
    plain.write_text(text)
    direct.write_text(
        text.replace('out_of_table = "invalid"', f'out_of_table = "invalid"\ntable = "{TABLE}"')
    )
    copied, fresh = tmp_path / "imported.duckdb", tmp_path / "fresh.duckdb"
    shutil.copy(imported, copied)
    assert main(["run", str(plain), "--cache", str(copied), "--no-report", "-q"]) == 0
    assert main(["run", str(direct), "--cache", str(fresh), "--no-report", "-q"]) == 0
    columns = "run_id, step, arch_hash, replicate, fitness, cached, sim_seconds, generation, encoding"
    rows = []
    for path in (copied, fresh):
        with Cache(path, read_only=True) as cache:
            rows.append(
                cache.execute(
                    f"SELECT {columns} FROM trajectories WHERE run_id LIKE 'on-the-directory/%' ORDER BY ALL"
                ).fetchall()
            )
            if path == fresh:
                assert cache.execute("SELECT count(*) FROM evaluations").fetchone()[0] == 0
    assert len(rows[0]) == 4 * 30 and rows[0] == rows[1]


def test_a_table_directory_is_for_tabular_mode_only(tmp_path, capsys):
    config = tmp_path / "live.toml"
    text = textwrap.dedent(CONFIG).replace('mode = "tabular"', 'mode = "live"')
    config.write_text(text.replace('out_of_table = "invalid"', f'table = "{TABLE}"'))
    assert main(["run", str(config), "--cache", str(tmp_path / "c.duckdb"), "--no-report", "-q"]) == 2
    assert "evaluation.table is for mode 'tabular', not 'live'" in capsys.readouterr().err
