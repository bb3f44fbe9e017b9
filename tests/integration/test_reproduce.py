"""`evonas reproduce`: a paper's final network under its protocol, from fixture files in the real formats."""

from __future__ import annotations

import pytest

from cache import Cache
from harness.cli import main
from tests.datafixtures import write_cifar10, write_fashion_mnist

pytestmark = pytest.mark.slow


def test_list(capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("remnet", "remnet256", "de_model1", "de_model2", "genetic_cnn_best", "genetic_cnn_dense"):
        assert name in out


def test_remnet_on_fashion_mnist_files(tmp_path, capsys):
    """REMNet (C = 128) trains on Fashion-MNIST IDX files; the parameter count matches the paper's 791,338."""
    write_fashion_mnist(tmp_path / "data", n_train=64, n_test=32)
    args = [
        "reproduce",
        "remnet",
        "--data-root",
        str(tmp_path / "data"),
        "--cache",
        str(tmp_path / "c.duckdb"),
    ]
    assert main([*args, "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "parameters: paper 791,338, ours 791,338 (matches)" in out
    assert "NOT the paper's protocol: 1 epoch(s) instead of 20" in out
    assert "test_acc: paper 0.9426, ours" in out
    with Cache(tmp_path / "c.duckdb", read_only=True) as cache:
        ((status, epochs_task),) = cache.execute(
            "SELECT e.status, t.name FROM evaluations e JOIN tasks t USING (task_key)"
        ).fetchall()
    assert status == "ok" and epochs_task == "remnet_final+epochs1"
    assert main([*args, "--epochs", "1"]) == 0  # the second call reads the stored training back
    assert capsys.readouterr().out == out


def test_de_model2_on_cifar_batches(tmp_path, capsys):
    """DE-NAS Model 2 trains on CIFAR-10 pickled batches; 7,796,674 parameters as in the paper's table."""
    write_cifar10(tmp_path / "data", n_per_batch=8, n_test=16)
    code = main(
        [
            "reproduce",
            "de_model2",
            "--data-root",
            str(tmp_path / "data"),
            "--cache",
            str(tmp_path / "c.duckdb"),
            "--epochs",
            "1",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "test_acc: paper 0.8853, ours" in out
    assert "parameters: paper 7,796,674, ours 7,796,674 (matches)" in out


def test_missing_dataset_is_one_line(tmp_path, capsys):
    code = main(
        [
            "reproduce",
            "de_model1",
            "--data-root",
            str(tmp_path / "empty"),
            "--cache",
            str(tmp_path / "c.duckdb"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cifar10" in err[0] and "data_batch_1" in err[0]


def test_unknown_reproduction(capsys, tmp_path):
    assert main(["reproduce", "alexnet", "--cache", str(tmp_path / "c.duckdb")]) == 2
    assert "unknown reproduction 'alexnet'" in capsys.readouterr().err
    assert not (tmp_path / "c.duckdb").exists()
