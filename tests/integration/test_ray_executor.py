"""The Ray executor on a private local Ray instance bound to 127.0.0.1: same results as inline."""

from __future__ import annotations

import os

import pytest

from harness.executors import InlineExecutor
from harness.spaces import get_space
from harness.tasks import preset
from harness.training import TrainingJob, freeze_params

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # before Ray is imported: bind to 127.0.0.1
ray = pytest.importorskip("ray", reason="Ray is optional: pip install 'evonas[ray]'")
pytestmark = pytest.mark.slow


def test_ray_trains_like_inline():
    from harness.executors import RayExecutor

    space = get_space("genetic_cnn")
    task = preset("digits_quick")
    jobs = [
        TrainingJob("genetic_cnn", freeze_params(space.params), space.encode(space.named(n)), task, seed)
        for seed, n in enumerate(("chain", "all_zeros", "resnet"))
    ]
    executor = RayExecutor(slots=2)
    try:
        assert ray.is_initialized()
        assert all(node["NodeManagerAddress"] == "127.0.0.1" for node in ray.nodes())
        remote = dict(executor.run(jobs))
    finally:
        executor.close()
    assert not ray.is_initialized()
    local = dict(InlineExecutor(threads=1).run(jobs))
    assert sorted(remote) == [0, 1, 2]
    for i in range(3):
        assert remote[i].status == "ok"
        assert (remote[i].val_acc, remote[i].test_acc, remote[i].curve) == (
            local[i].val_acc,
            local[i].test_acc,
            local[i].curve,
        )
