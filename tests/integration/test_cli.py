"""The `evonas` command: listings, queries, and one clear error line for every kind of bad input."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from cache import Cache
from harness.cli import main

CONFIG = """
[experiment]
name = "cli"
trials = 1
budget = { evaluations = 3 }

[space]
name = "genetic_cnn"

[task]
preset = "digits_quick"
epochs = 1

[evaluation]
executor = "inline"

[[algorithms]]
name = "random_search"
"""


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("evonas: error: ")
    return err[0]


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_spaces_and_algorithms_are_listed(capsys):
    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    for name in ("genetic_cnn", "macro_re", "de_sequential"):
        assert name in out
    assert main(["algorithms"]) == 0
    out = capsys.readouterr().out
    for name in (
        "random_search",
        "regularized_evolution",
        "genetic_cnn_ga",
        "optuna_tpe",
        "optuna_random",
        "optuna_nsga2",
        "differential_evolution",
    ):
        assert name in out


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[experiment\nname=", "not valid TOML"),
        (CONFIG.replace('name = "genetic_cnn"', 'name = "nasbench"'), "unknown search space 'nasbench'"),
        (CONFIG.replace('name = "random_search"', 'name = "hill_climb"'), "unknown algorithm 'hill_climb'"),
        (CONFIG.replace('preset = "digits_quick"', 'preset = "imagenet"'), "unknown task preset 'imagenet'"),
        (CONFIG.replace("epochs = 1", "epochs = 0"), "epochs must be >= 1"),
        (CONFIG.replace("trials = 1", "trials = 1\nbogus = 2"), "unknown key(s) bogus"),
        (
            CONFIG.replace("budget = { evaluations = 3 }", "budget = { evaluations = 0 }"),
            "evaluations must be",
        ),
        (CONFIG.replace('[[algorithms]]\nname = "random_search"', ""), "at least one [[algorithms]]"),
        (
            CONFIG + '\n[[algorithms]]\nname = "regularized_evolution"\nparams = { populaton = 4 }\n',
            "populaton",
        ),
    ],
)
def test_broken_configs_give_one_line(tmp_path, capsys, text, needle):
    path = write(tmp_path, text)
    assert main(["run", str(path), "--cache", str(tmp_path / "c.duckdb")]) == 2
    assert needle in error_line(capsys)
    assert not (tmp_path / "c.duckdb").exists()


def test_missing_config_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "none.toml")]) == 2
    assert "does not exist" in error_line(capsys)


@pytest.mark.parametrize(
    ("arch", "needle"),
    [
        ("1-0 0-01-100 0-11-101-0001", "stage 1"),
        ("banana", "has 1 stage(s)"),
        ("1-01 0-01-100", "2 stage(s)"),
    ],
)
def test_malformed_genome_string(tmp_path, capsys, arch, needle):
    Cache(tmp_path / "c.duckdb").close()
    code = main(
        ["cache", "query", "--cache", str(tmp_path / "c.duckdb"), "--space", "genetic_cnn", "--arch", arch]
    )
    assert code == 2
    assert needle in error_line(capsys)


def test_missing_dataset(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EVONAS_DATA", str(tmp_path / "data"))
    path = write(
        tmp_path, CONFIG.replace('preset = "digits_quick"\nepochs = 1', 'preset = "fashion_mnist_re"')
    )
    assert main(["run", str(path), "--cache", str(tmp_path / "c.duckdb"), "--no-report"]) == 2
    line = error_line(capsys)
    assert "fashion_mnist" in line and "train-images-idx3-ubyte" in line


def test_corrupt_cache(tmp_path, capsys):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"\x00garbage" * 64)
    assert main(["cache", "stats", "--cache", str(bad)]) == 2
    assert "not a readable DuckDB database" in error_line(capsys)
    assert bad.read_bytes() == b"\x00garbage" * 64


def test_locked_cache_from_another_process(tmp_path, capsys, monkeypatch):
    """A file held past the lock timeout (EVONAS_LOCK_TIMEOUT; readers wait 60 s by default) is one line."""
    monkeypatch.setenv("EVONAS_LOCK_TIMEOUT", "0.5")
    path = tmp_path / "locked.duckdb"
    Cache(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ok', flush=True); "
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        assert main(["cache", "stats", "--cache", str(path)]) == 2
        assert "held by another process" in error_line(capsys)
    finally:
        holder.kill()
        holder.wait()


def test_unknown_space_in_query(tmp_path, capsys):
    Cache(tmp_path / "c.duckdb").close()
    assert (
        main(["cache", "query", "--cache", str(tmp_path / "c.duckdb"), "--space", "nope", "--arch", "x"]) == 2
    )
    assert "unknown search space 'nope'" in error_line(capsys)


@pytest.mark.slow
def test_run_then_query_any_isomorphic_string(tmp_path, capsys):
    """`evonas cache query` prints every stored replicate; an isomorphic string finds the same rows."""
    path = write(tmp_path, CONFIG.replace("[[algorithms]]", '[[algorithms]]\nlabel = "rs"', 1))
    cache_path = str(tmp_path / "c.duckdb")
    assert main(["run", str(path), "--cache", cache_path, "--no-report", "-q"]) == 0
    capsys.readouterr()
    with Cache(cache_path, read_only=True) as cache:
        encoding = cache.execute("SELECT encoding FROM trajectories ORDER BY step LIMIT 1").fetchone()[0]
    assert (
        main(
            [
                "cache",
                "query",
                "--cache",
                cache_path,
                "--space",
                "genetic_cnn",
                "--arch",
                encoding,
                "--task",
                "digits_quick+epochs",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "digits_quick+epochs" in out and "  0 ok" in out
    assert main(["run", str(path), "--cache", cache_path, "--no-report"]) == 2
    assert "--resume" in error_line(capsys)
    assert main(["cache", "verify", "--cache", cache_path]) == 0
