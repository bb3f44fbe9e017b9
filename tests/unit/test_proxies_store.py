"""Proxies in the cache (harness.proxies_store) and the `evonas proxies` verb."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cache import Cache
from cache.records import EvalRecord
from cache.verify import verify
from harness.cli import main
from harness.errors import EvonasError
from harness.proxies import compute_proxies, draw_batch
from harness.proxies_store import (
    build_network,
    evaluated_genomes,
    proxy_key,
    proxy_values,
    score_genomes,
    split_key,
)
from harness.spaces import get_space
from harness.tasks import preset
from harness.training import device_split, torch_threads

SPACE = get_space("genetic_cnn", stages=(2, 3), channels=(4, 4))
TASK = preset("digits_quick")
FAST = ["params", "flops", "naswot", "snip"]


def genomes(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out: dict[str, object] = {}
    while len(out) < n:
        g = SPACE.sample(rng)
        out.setdefault(SPACE.hash(g), g)
    return list(out.values())


def test_proxy_keys_carry_the_seed() -> None:
    assert proxy_key("naswot", 7) == "naswot@s7"
    assert split_key("grad_corr@s12") == ("grad_corr", 12)
    with pytest.raises(EvonasError):
        split_key("naswot")
    with pytest.raises(EvonasError, match="unknown proxy"):
        proxy_key("nope", 0)


def test_scores_are_stored_once_and_equal_a_direct_computation(tmp_path) -> None:
    nets = genomes(3)
    with Cache(tmp_path / "c.duckdb") as cache:
        first = score_genomes(cache, SPACE, TASK, nets, FAST, seed=4)
        assert (first.networks, first.computed, first.already_stored) == (3, 3, 0)
        assert set(first.seconds_per_proxy) == set(FAST)
        again = score_genomes(cache, SPACE, TASK, [*nets, nets[0]], FAST, seed=4)
        assert (again.networks, again.computed, again.already_stored) == (3, 0, 3)
        other_seed = score_genomes(cache, SPACE, TASK, nets[:1], ["naswot"], seed=5)
        assert other_seed.computed == 1
        stored = proxy_values(cache, TASK.key(), FAST, seed=4)
        assert verify(cache.con) == []
        keys = {r[0] for r in cache.execute("SELECT DISTINCT proxy FROM proxies").fetchall()}
    assert keys == {f"{n}@s4" for n in FAST} | {"naswot@s5"}
    data = device_split(TASK, torch.device("cpu"))
    x, y = draw_batch(data.x_train, data.y_train, 128, 4)
    with torch_threads(1):  # the store scores on one thread; float sums depend on the thread count
        direct = compute_proxies(build_network(SPACE, nets[1], TASK, 4), x, y, 4, FAST)
    assert stored[SPACE.hash(nets[1])] == {n: v.value for n, v in direct.items()}


def test_evaluated_genomes_draws_from_ok_evaluations(tmp_path) -> None:
    nets = genomes(6, seed=1)
    with Cache(tmp_path / "c.duckdb") as cache:
        for i, g in enumerate(nets):
            h = SPACE.hash(g)
            cache.put_architecture(
                h, SPACE.name, SPACE.version, SPACE.encode(g), SPACE.canonical(g), SPACE.params
            )
            status = "ok" if i < 5 else "invalid"
            cache.put_evaluation(EvalRecord(h, TASK.key(), 0, 0, status, val_acc=0.5 if i < 5 else None))
        every = evaluated_genomes(cache, SPACE, TASK)
        some = evaluated_genomes(cache, SPACE, TASK, sample=3, seed=2)
    assert {SPACE.hash(g) for g in every} == {SPACE.hash(g) for g in nets[:5]}
    assert len(some) == 3 and {SPACE.hash(g) for g in some} <= {SPACE.hash(g) for g in every}


def test_cli_scores_and_reports(tmp_path, capsys) -> None:
    path = str(tmp_path / "c.duckdb")
    argv = [
        "proxies",
        "--cache",
        path,
        "--space",
        "genetic_cnn",
        "--space-params",
        '{"stages": [2, 3], "channels": [4, 4]}',
    ]
    argv += ["--task", "digits_quick", "--sample", "2", "--proxies", "params,naswot", "--json", "-q"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["computed"] == 2 and summary["networks"] == 2
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["already_stored"] == 2
    with Cache(path, read_only=True) as cache:
        assert cache.execute("SELECT count(*) FROM proxies").fetchone()[0] == 4
    bad = [*argv[:-4], "--proxies", "params,nope"]
    assert main(bad) == 2
    assert "unknown proxy 'nope'" in capsys.readouterr().err
    empty = ["proxies", "--cache", str(tmp_path / "e.duckdb"), "--space", "genetic_cnn", "--task", "digits"]
    assert main([*empty, "--evaluated", "-q"]) == 2
    assert "no ok evaluation" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main([*empty, "--device", "cuda", "-q"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err


def test_proxy_fitness_reads_computes_and_charges_recorded_seconds(tmp_path) -> None:
    from harness.proxy_fitness import ProxyFitness

    nets = genomes(3, seed=2)
    with Cache(tmp_path / "c.duckdb") as cache:
        score_genomes(cache, SPACE, TASK, nets[:1], FAST, seed=0)
        fitness = ProxyFitness(cache, SPACE, TASK, FAST, seed=0)
        first = fitness.scores(nets)
        assert fitness.computed == 2  # the first one was stored already
        charged = fitness.charged_seconds
        assert charged > 0
        again = fitness.scores(nets)
        assert again == first and fitness.computed == 2
        assert fitness.charged_seconds == pytest.approx(
            2 * charged
        )  # cached queries cost their recorded time
        fresh = ProxyFitness(cache, SPACE, TASK, FAST, seed=0)
        assert fresh.scores(nets) == first and fresh.computed == 0
    assert first[1] == proxy_values_of(tmp_path / "c.duckdb", nets[1])


def proxy_values_of(path, genome) -> dict:
    with Cache(path, read_only=True) as cache:
        return proxy_values(cache, TASK.key(), FAST, seed=0)[SPACE.hash(genome)]
