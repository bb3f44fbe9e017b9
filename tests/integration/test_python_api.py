"""The README's Python API section runs as written (each code block, in order, in a fresh directory), and
the API's answers agree with the cache and the command line's runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Each README block executed in order in one fresh directory; their namespaces."""
    where = tmp_path_factory.mktemp("api")
    blocks = readme_blocks()
    assert len(blocks) == 4
    namespaces = []
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(where)
        for i, block in enumerate(blocks, start=1):
            namespace: dict = {"__name__": "readme"}
            exec(compile(block, f"<README.md, Python API block {i}>", "exec"), namespace)
            namespaces.append(namespace)
    return namespaces


@pytest.mark.slow
def test_readme_query_answers_from_the_table(readme_run: list[dict]) -> None:
    query = readme_run[1]
    result, table = query["result"], query["table"]
    assert result.status == "ok" and not result.predicted
    row = table[(table.arch_hash == result.arch_hash) & (table.replicate == 0)]
    assert len(row) == 1 and row.val_acc.iloc[0] == result.val_acc and row.test_acc.iloc[0] == result.test_acc
    assert len(table) == 4507  # the shipped table: 4,095 networks, 206 of them with 3 replicates


@pytest.mark.slow
def test_readme_ask_tell_loop(readme_run: list[dict]) -> None:
    history = readme_run[2]["history"]
    assert len(history) == 60
    assert all(outcome.predicted and 0 < outcome.fitness <= 1 for _, outcome in history)


@pytest.mark.slow
def test_readme_experiments_and_results(readme_run: list[dict]) -> None:
    experiments = readme_run[3]
    assert experiments["summary"]["runs"] == 2 and experiments["summary"]["queries"] == 60
    frame = experiments["frame"]
    assert sorted(set(frame["label"])) == ["random_search", "re"]
    assert sorted(set(frame["algorithm"])) == ["random_search", "regularized_evolution"]
    assert len(frame) == 2 * 2 * 30 and frame["predicted"].all()
    ok = frame[frame["status"] == "ok"]
    assert len(ok) > 0 and (ok["fitness"] == ok["val_acc"]).all()  # the objective is validation accuracy
    arrow = experiments["experiment"].results(arrow=True)
    assert arrow.num_rows == len(frame) and arrow.column_names == list(frame.columns)


def test_experiment_in_python_equals_its_toml(tmp_path: Path) -> None:
    """The same experiment built in Python and read from TOML has one config, so byte-identical runs."""
    from harness import Experiment

    toml = Experiment.from_toml(_tiny_toml(tmp_path))
    built = Experiment(
        "tiny",
        "genetic_cnn",
        algorithms=["random_search"],
        space_params={"stages": [3, 4, 5], "channels": [8, 8, 16]},
        trials=2,
        sim_workers=2,
        budget=30,
        evaluation={"mode": "surrogate"},
    )
    assert toml.config.run_specs() == built.config.run_specs()
    assert toml.config.evaluation == built.config.evaluation


def _tiny_toml(tmp_path: Path) -> Path:
    block = readme_blocks()[3]
    text = block.split('"""', 2)[1]
    path = tmp_path / "tiny.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_python_values_are_config_errors() -> None:
    from harness import Experiment
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match=r"Experiment\('x'\): .*budget"):
        Experiment("x", "genetic_cnn", algorithms=["random_search"], budget=0)
    with pytest.raises(ConfigError, match="unknown algorithm"):
        Experiment("x", "genetic_cnn", algorithms=["no_such_algorithm"])


def test_import_harness_stays_light() -> None:
    code = (
        "import sys, harness; "
        "heavy = [m for m in ('torch', 'duckdb', 'pyarrow', 'numpy') if m in sys.modules]; "
        "print(heavy); assert not heavy; assert harness.Benchmark.__name__ == 'Benchmark'"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
