"""The mnist5k configs of the RE-macro and DE-NAS spaces, and the CPU-sized REMNet reproduction on mnist5k:
parsed as shipped, and a small RE run end to end through `evonas run` (real file, no network, < 1 minute)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import harness.reproduce
from cache import Cache
from harness.cli import main
from harness.config import load_config
from harness.spaces import get_space
from harness.tasks import Split, preset

CONFIGS = Path(__file__).resolve().parents[2] / "benchmarks" / "configs"


def test_re_config_as_shipped() -> None:
    config = load_config(CONFIGS / "re_macro_mnist5k.toml")
    assert config.space == "macro_re" and config.task.name == "mnist5k_re"
    assert config.task.dataset == "mnist5k" and config.task.input_shape == (1, 28, 28)
    labels = {a.label: a for a in config.algorithms}
    assert set(labels) == {"regularized_evolution", "random_search_s1"}
    assert labels["random_search_s1"].params["sample_size"] == 1  # the paper's random-search baseline
    assert labels["regularized_evolution"].params["sample_size"] > 1
    assert config.trials >= 5


def test_de_config_keeps_the_papers_genome_rules() -> None:
    config = load_config(CONFIGS / "de_mnist5k.toml")
    assert config.space == "de_sequential" and config.task.name == "mnist5k_de"
    space = get_space(config.space, **config.space_params)
    assert (space.min_length, space.max_length) == (7, 15)  # Table 1, as on CIFAR-10
    assert space.head.width is None and space.head.dropout == 0.5  # the paper's F/2, F/4 head
    # measured: 4 poolings (1x1 maps on 28x28) stay at chance; 256 channels are GPU-sized
    assert (space.max_pools, space.max_channels) == (3, 16)
    assert {a.name for a in config.algorithms} == {"differential_evolution", "optuna_nsga2", "random_search"}


def test_reproduce_lists_the_mnist5k_remnet_run(capsys) -> None:
    assert main(["reproduce", "--list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("remnet_mnist5k"))
    assert "mnist5k" in line and "NOT the paper's dataset" in line


@pytest.mark.slow
def test_reproduce_remnet_on_mnist5k_is_labelled(tmp_path, monkeypatch, capsys) -> None:
    """The CPU-sized REMNet run trains through `evonas reproduce` (here on 40 of its 4,000 images) and says
    that mnist5k is not the paper's dataset instead of printing a paper figure."""
    monkeypatch.setattr(
        harness.reproduce,
        "preset",
        lambda name: replace(preset(name), split=Split(train=40, val=0, test=40, seed=0), batch_size=20),
    )
    args = ["reproduce", "remnet_mnist5k", "--epochs", "1", "--cache", str(tmp_path / "c.duckdb"), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "NOT the paper's dataset: mnist5k; there is no paper figure to compare with" in out
    assert "test_acc: ours " in out and "paper 0." not in out
    assert "parameters: ours " in out and "NOT the paper's protocol: 1 epoch(s) instead of 10" in out


TINY_RE = """
[experiment]
name = "re_mnist5k_tiny"
trials = 2
budget = { evaluations = 6 }

[space]
name = "macro_re"
params = { channels = 8 }

[task]
preset = "mnist5k_re"
epochs = 1
split = { train = 200, val = 200, test = 200 }

[evaluation]
executor = "inline"
threads = 1

[[algorithms]]
name = "regularized_evolution"
params = { population = 3, sample_size = 2, replacement = true }

[[algorithms]]
name = "regularized_evolution"
label = "random_search_s1"
params = { population = 3, sample_size = 1, replacement = true }
"""


@pytest.mark.slow
def test_small_re_run_on_mnist5k(tmp_path, capsys) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_RE)
    cache = tmp_path / "c.duckdb"
    code = main(["run", str(config), "--cache", str(cache), "--out", str(tmp_path / "report"), "--quiet"])
    assert code == 0
    assert "re_mnist5k_tiny: " in capsys.readouterr().out
    with Cache(cache, read_only=True) as c:
        runs = c.runs()
        assert len(runs) == 4 and {r.status for r in runs} == {"finished"}
        ((dataset,),) = c.execute("SELECT DISTINCT dataset FROM tasks").fetchall()
        assert dataset == "mnist5k"
        ok = c.execute("SELECT val_acc FROM evaluations WHERE status = 'ok'").fetchall()
        assert ok and all(0.0 <= v <= 1.0 for (v,) in ok)
        assert c.execute("SELECT count(*) FROM trajectories").fetchone()[0] == 4 * 6
    page = tmp_path / "report" / "re_mnist5k_tiny"
    assert any(page.glob("macro_re__*.html"))
