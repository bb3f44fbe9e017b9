"""The surrogate: tree export, safe storage, invariant features, seeded replicates, noise, fit quality."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache.hashing import training_seed
from harness.errors import CacheError
from harness.surrogate_current import current_model, load_model
from harness.surrogate_features import featurizer_for
from harness.surrogate_fit import fit_table, read_table
from harness.surrogate_model import SurrogateModel, fit_noise
from harness.surrogate_quality import evaluate
from harness.surrogate_trees import from_sklearn
from tests.surrogatefixtures import SPACE, TASK, TRUE_STD, synthetic_table


@pytest.fixture(scope="module")
def table_cache(tmp_path_factory):
    cache = synthetic_table(tmp_path_factory.mktemp("surrogate") / "t.duckdb")
    yield cache
    cache.close()


@pytest.fixture(scope="module")
def model(table_cache) -> SurrogateModel:
    return fit_table(read_table(table_cache, SPACE, TASK.key()), kind="gbr", seed=0)


@pytest.mark.parametrize("kind", ["gbr", "forest"])
def test_exported_trees_predict_like_sklearn(kind: str) -> None:
    from harness.surrogate_fit import make_regressor

    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, size=(300, 6)).astype(float)
    y = x[:, 0] - 0.5 * x[:, 1] * x[:, 2] + rng.normal(0, 0.1, 300)
    fitted = make_regressor(kind, 0).fit(x, y)
    ensemble = from_sklearn(fitted, 6)
    probe = rng.integers(0, 3, size=(100, 6)).astype(float)
    np.testing.assert_allclose(ensemble.predict(probe), fitted.predict(probe), rtol=0, atol=1e-9)


def test_model_bytes_round_trip_and_id(model: SurrogateModel) -> None:
    blob = model.to_bytes()
    back = SurrogateModel.from_bytes(blob)
    assert back.model_id == model.model_id and back.to_bytes() == blob
    x = model.featurizer.matrix(SPACE, [SPACE.sample(np.random.default_rng(3)) for _ in range(20)])
    for name in ("val", "test", "seconds"):
        np.testing.assert_array_equal(back.predict_means(x)[name], model.predict_means(x)[name])


def test_stored_bytes_are_never_code(model: SurrogateModel) -> None:
    with pytest.raises(CacheError):
        SurrogateModel.from_bytes(pickle.dumps({"format": "evonas-surrogate"}))
    blob = bytearray(model.to_bytes())
    header_len = int.from_bytes(blob[:8], "little")
    with pytest.raises(CacheError):
        SurrogateModel.from_bytes(bytes(blob[: 8 + header_len // 2]))  # truncated
    text = bytes(blob[8 : 8 + header_len]).decode()
    forged = text.replace('"reduce\\": \\"sum\\"', '"reduce\\": \\"xyz\\"', 1)
    assert forged != text
    with pytest.raises(CacheError, match="reduction"):
        SurrogateModel.from_bytes(bytes(blob[:8]) + forged.encode() + bytes(blob[8 + header_len :]))


def test_tampered_stored_model_is_refused(tmp_path) -> None:
    cache = synthetic_table(tmp_path / "t.duckdb", networks=60, replicates=2)
    with cache:
        good = current_model(cache, SPACE, TASK.key())
        other = fit_table(read_table(cache, SPACE, TASK.key()), kind="forest")
        cache.execute("UPDATE surrogates SET model = ? WHERE model_id = ?", [other.to_bytes(), good.model_id])
        with pytest.raises(CacheError, match="does not match its id"):
            load_model(cache, good.model_id)


def relabelled(genome, rng: np.random.Generator):
    """An isomorphic genome: each stage's nodes renumbered by a random topological order of its edges."""
    from harness.spaces.genetic_cnn import edge_order, stage_edges

    stages = []
    for k, bits in zip(SPACE.nodes, genome.stages, strict=True):
        edges = stage_edges(k, bits)
        indeg = {v: sum(1 for _, j in edges if j == v) for v in range(1, k + 1)}
        order: list[int] = []
        while len(order) < k:
            ready = sorted(v for v in indeg if indeg[v] == 0 and v not in order)
            v = ready[int(rng.integers(len(ready)))]
            order.append(v)
            for i, j in edges:
                if i == v:
                    indeg[j] -= 1
        new = {v: p + 1 for p, v in enumerate(order)}
        moved = {(new[i], new[j]) for i, j in edges}
        stages.append(tuple(int(e in moved) for e in edge_order(k)))
    return type(genome)(tuple(stages))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=SPACE.length, max_size=SPACE.length), st.integers(0, 2**32 - 1))
def test_features_are_equal_for_one_hash(bits: list[int], seed: int) -> None:
    featurizer = featurizer_for(SPACE, [])
    genome = SPACE.from_bits(bits)
    other = relabelled(genome, np.random.default_rng(seed))
    assert SPACE.hash(other) == SPACE.hash(genome)
    np.testing.assert_array_equal(featurizer.row(SPACE, other), featurizer.row(SPACE, genome))
    assert len(featurizer.row(SPACE, genome)) == len(featurizer.names)


def test_isomorphic_genomes_get_equal_features() -> None:
    """2,000 random genomes grouped by hash: one row per class, and different classes get different rows."""
    featurizer = featurizer_for(SPACE, [])
    rows: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(0)
    for _ in range(2000):
        genome = SPACE.sample(rng)
        arch, row = SPACE.hash(genome), featurizer.row(SPACE, genome)
        if arch in rows:
            np.testing.assert_array_equal(rows[arch], row)
        rows[arch] = row
    distinct = {tuple(r) for r in rows.values()}
    assert len(distinct) == len(rows)  # and different classes are told apart here


def test_replicates_are_seeded_and_drawn_from_measured_deviations(model: SurrogateModel) -> None:
    arch = "a" * 64
    first = model.replicate(arch, 0, 0.8, 0.79, 3.0)
    assert model.replicate(arch, 0, 0.8, 0.79, 3.0) == first
    draws = np.array([model.replicate(arch, r, 0.8, 0.79, 3.0).val_acc for r in range(2000)])
    index = int(np.searchsorted(np.asarray(model.noise.edges), 0.8, side="right"))
    pool = {round(0.8 + v, 12) for v, _ in model.noise.residuals[index]}
    assert {round(d, 12) for d in draws} <= pool and len(set(draws)) > 0.5 * len(pool)
    sv, _ = model.noise.std(np.array([0.8]))
    assert abs(draws.std() - sv[0]) < 0.2 * sv[0]
    rng = np.random.default_rng(training_seed(model.info.task_key, arch, 5))
    dv, _ = model.noise.residuals[index][int(rng.integers(len(model.noise.residuals[index])))]
    assert model.replicate(arch, 5, 0.8, 0.79, 3.0).val_acc == pytest.approx(0.8 + dv)


def test_noise_model_recovers_the_replicate_std() -> None:
    rng = np.random.default_rng(4)
    groups = []
    for _ in range(300):
        mean = rng.uniform(0.5, 0.9)
        dev = rng.normal(0, 0.03, size=3)
        groups.append([(mean + d, mean + 0.5 * d + rng.normal(0, 0.01)) for d in dev])
    noise = fit_noise(groups)
    assert noise.networks == 300 and len(noise.std_val) == 4
    assert all(abs(s - 0.03) < 0.006 for s in noise.std_val)
    assert 0.6 < noise.rho < 0.95
    assert fit_noise([[(0.5, 0.5)]]).std_val == (0.0,)  # no replicates: no noise claimed
    skewed = [[(0.9, 0.9), (0.9, 0.9), (0.6, 0.62)] for _ in range(30)]  # a seed that fails
    pool = fit_noise(skewed).residuals[0]
    assert max(v for v, _ in pool) < 0.15 < -min(v for v, _ in pool)  # the shape is kept


def test_model_learns_the_synthetic_benchmark(table_cache) -> None:
    table = read_table(table_cache, SPACE, TASK.key())
    qualities = {q.kind: q for q in evaluate(table, kinds=("gbr",), holdout=0.25, seed=0)}
    q = qualities["gbr"]
    assert q.kendall_tau > 0.5 and q.r2 > 0.5
    assert q.noise_networks == q.heldout_networks
    assert 0.8 < q.std_ratio < 1.25 and abs(q.within_2sd - 0.954) < 0.06


def test_a_changed_table_gets_a_new_model(tmp_path) -> None:
    cache = synthetic_table(tmp_path / "t.duckdb", networks=60, replicates=2)
    with cache:
        first = current_model(cache, SPACE, TASK.key())
        assert current_model(cache, SPACE, TASK.key()).model_id == first.model_id  # stored, not refitted
        cache.execute("UPDATE evaluations SET val_acc = val_acc + 0.01 WHERE replicate = 0")
        second = current_model(cache, SPACE, TASK.key())
        assert second.model_id != first.model_id
        assert second.info.table_digest != first.info.table_digest
        stored = cache.execute("SELECT count(*) FROM surrogates").fetchall()[0][0]
        assert stored == 2


def test_too_small_a_table_is_one_clear_error(tmp_path) -> None:
    cache = synthetic_table(tmp_path / "t.duckdb", networks=5, replicates=1)
    with cache, pytest.raises(CacheError, match="at least 20 networks"):
        current_model(cache, SPACE, TASK.key())


def test_info_is_json(model: SurrogateModel) -> None:
    data = json.loads(json.dumps(model.info.to_json()))
    assert data["networks"] == 240 and data["evaluations"] == 720
    assert math.isclose(model.noise.std_val[0], TRUE_STD, rel_tol=0.35)
