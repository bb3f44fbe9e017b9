"""RENAS parameter inheritance: weight store, weight mapping, lineage keys, the resumable search."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from algorithms.renas_inherit import (
    InheritingEvaluator,
    InheritProtocol,
    changed_operands,
    inherit_state,
    lineage_spec,
    spec_key,
)
from algorithms.renas_search import InheritSearch
from algorithms.renas_weights import EvalId, WeightStore, load_safetensors, save_safetensors
from cache.store import Cache
from harness.spaces import get_space
from harness.spaces.base import canonical_json
from harness.spaces.renas_cell_genome import Action
from harness.tasks import Split, preset
from harness.training import train_genome

TINY = {"blocks": 3, "filters": 2, "cells": 1, "stages": 1}
PARAMS = {"population": 3, "sample_size": 2, "embedding": 8, "hidden": 8}


def tiny_task():
    return replace(
        preset("digits_renas"), split=Split(train=40, val=30, test=30, seed=0), epochs=1, batch_size=20
    )


def test_safetensors_files_round_trip_and_bad_files_are_refused(tmp_path: Path):
    tensors = {"a": torch.randn(2, 3), "b": torch.arange(4)}
    size = save_safetensors(tmp_path / "x.safetensors", tensors, {"evaluation": "k/h/0"})
    assert size == (tmp_path / "x.safetensors").stat().st_size
    back, meta = load_safetensors(tmp_path / "x.safetensors")
    assert meta == {"evaluation": "k/h/0"} and all(torch.equal(back[k], v) for k, v in tensors.items())
    blob = (tmp_path / "x.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(blob[:-4])
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    for name in ("cut", "junk"):
        with pytest.raises(ValueError):
            load_safetensors(tmp_path / f"{name}.safetensors")


def test_weight_store_evicts_least_recently_used_but_never_pinned(tmp_path: Path):
    one = {"w": torch.zeros(1000)}  # about 4 kB per file
    store = WeightStore(tmp_path, max_bytes=10_000)
    ids = [EvalId("t", f"a{i}", 0) for i in range(4)]
    store.put(ids[0], one)
    store.put(ids[1], one)
    store.put(ids[2], one, pinned=[ids[0]])  # over budget: a1, the oldest unpinned, goes
    assert store.has(ids[0]) and not store.has(ids[1]) and store.has(ids[2])
    store.put(ids[3], one, pinned=[ids[0]])
    assert store.has(ids[0]) and store.has(ids[3]) and not store.has(ids[2])
    assert store.total_bytes() <= 10_000 and store.evicted == 2


def test_the_child_inherits_everything_but_the_changed_operands():
    space = get_space("renas_cell", filters=4, cells=1, stages=2)
    task = tiny_task()
    parent = space.named("renasnet")
    # block 1's i1 (c-2 -> c-1, its sep5 stays) and block 4's o2 (sep3 -> sep7) change
    child = space.apply(parent, [Action(0, 0, 1), Action(3, 3, "sep7")])
    assert changed_operands(parent, child) == {(0, 1), (3, 2)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        p_model = space.build(parent, task)
        c_model = space.build(child, task)
    p_state = p_model.state_dict()
    inherited = inherit_state(p_state, c_model, parent, child)
    c_state = c_model.state_dict()
    assert not any(".blocks.0.op1." in n or ".blocks.3.op2." in n for n in inherited)
    assert any(".blocks.3.op1." in n for n in inherited) and "stem.0.weight" in inherited
    assert all(torch.equal(c_state[n], p_state[n]) for n in inherited)
    moved = "cells.0.blocks.0.op1.1.weight"  # same shape, new input: freshly initialised
    assert c_state[moved].shape == p_state[moved].shape and not torch.equal(c_state[moved], p_state[moved])


def test_lineage_keys_name_the_parent_and_pass_the_cache_verify_rule():
    task = tiny_task()
    a, b = EvalId(task.key(), "a" * 64, 0), EvalId(task.key(), "b" * 64, 0)
    spec = lineage_spec(task, InheritProtocol(), a)
    assert spec["inherit"]["parent"] == a.text() and spec["dataset"] == task.dataset
    assert spec["inherit"]["lr_new"] == 10 * spec["inherit"]["lr_inherited"] == 0.01  # Sec. 4.3
    assert spec_key(spec) == hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]
    assert spec_key(spec) != spec_key(lineage_spec(task, InheritProtocol(), b)) != task.key()


def test_scratch_members_are_the_plain_evaluations_and_children_are_stored_apart(tmp_path: Path):
    space = get_space("renas_cell", **TINY)
    task = tiny_task()
    cache = Cache(tmp_path / "c.duckdb")
    store = WeightStore(tmp_path / "w")
    ev = InheritingEvaluator(cache, space, task, store)
    parent = space.sample(np.random.default_rng(0))
    record, ident, cached = ev.scratch(parent)
    plain = train_genome(space, parent, task, record.seed, threads=1)
    assert not cached and record.val_acc == plain.val_acc and record.train_loss == plain.train_loss
    assert store.has(ident) and ident == EvalId(task.key(), space.hash(parent), 0)
    child = space.apply(parent, [Action(2, 2, "max3")])
    _, c_ident, _ = ev.child(child, parent, ident)
    assert c_ident.task_key != task.key()  # a lineage key: never mixed with the plain task's results
    assert cache.get_evaluation(space.hash(child), task.key(), 0) is None
    row = cache.execute("SELECT spec, dataset FROM tasks WHERE task_key = ?", [c_ident.task_key]).fetchone()
    assert json.loads(row[0])["inherit"]["parent"] == ident.text() and row[1] == task.dataset
    assert ev.child(child, parent, ident)[2]  # asked again: a cache hit
    # evicted weights are regenerated from the lineage, bit for bit
    kept = store.get(c_ident)
    store.path(c_ident).unlink()
    store.path(ident).unlink()
    again = ev.weights(c_ident, child)
    assert ev.regenerated == 2 and all(torch.equal(again[k], v) for k, v in kept.items())


def test_inherit_search_resumes_exactly_and_inherit_false_trains_from_scratch(tmp_path: Path):
    space = get_space("renas_cell", **TINY)
    task = tiny_task()

    def search(root: Path, inherit: bool = True) -> InheritSearch:
        root.mkdir()
        return InheritSearch(
            Cache(root / "c.duckdb"),
            space,
            task,
            WeightStore(root / "w"),
            seed=4,
            params=PARAMS,
            inherit=inherit,
        )

    whole = search(tmp_path / "whole").run(6)
    ckpt = tmp_path / "ck.json"
    search(tmp_path / "part").run(4, checkpoint=ckpt)
    resumed = InheritSearch(
        Cache(tmp_path / "part" / "c.duckdb"),
        space,
        task,
        WeightStore(tmp_path / "part" / "w"),
        seed=123,
        params=PARAMS,
    ).run(6, checkpoint=ckpt)
    assert [(r.identity, r.fitness) for r in resumed.rows] == [(r.identity, r.fitness) for r in whole.rows]
    assert [r.kind for r in whole.rows] == ["scratch"] * 3 + ["inherit"] * 3
    plain = search(tmp_path / "plain", inherit=False).run(5)
    assert [r.kind for r in plain.rows] == ["scratch"] * 5
    assert all(r.identity.startswith(task.key()) for r in plain.rows)
