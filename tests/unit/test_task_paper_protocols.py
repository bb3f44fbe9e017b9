"""Task fields the paper presets need (DE-NAS authors' train_final_model.ipynb: per-epoch cosine with
T_max = 200 over 201 epochs, the best test checkpoint) and the cache contract: presets that did not change
keep their task keys, so stored results (the shipped digits table among them) stay valid."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from harness.errors import ConfigError
from harness.spaces import get_space
from harness.tasks import Schedule, Split, Task, preset
from harness.training import apply_test_checkpoint, learning_rate, train_genome

# task keys recorded before the paper-fidelity changes (cifar10_de_final changed on purpose: batch 64)
KEYS = {
    "cifar10_de": "00ebcd6bebf36b5d",
    "cifar10_gcnn": "ee0d3e288a4bc3bd",
    "cifar10_gcnn_paper": "ee0d3e288a4bc3bd",
    "digits": "42f6cfcab16412d9",
    "digits_long": "1de149a405c3c23c",
    "digits_quick": "51e67ec559cde733",
    "fashion_mnist_re": "36f9eaef8dbb011a",
    "fashion_mnist_re_paper": "8465789836a67f6d",
    "mnist5k_de": "75f17e1bc9550b5c",
    "mnist5k_re": "df734d9c5dc57bed",
    "mnist5k_remnet": "4e34128c51d9ab2f",
    "remnet_final": "69bb424c7540183b",
    "synthetic": "147c1cd760b5de70",
}


@pytest.mark.parametrize(("name", "key"), sorted(KEYS.items()))
def test_unchanged_presets_keep_their_keys(name: str, key: str) -> None:
    assert preset(name).key() == key


def test_new_fields_enter_the_key_only_when_set() -> None:
    base = preset("cifar10_de_final")
    spec = base.protocol()
    assert "test_checkpoint" not in spec and "period" not in spec["schedule"]
    best = replace(base, test_checkpoint="best")
    periodic = replace(base, schedule=Schedule("cosine", period=200))
    assert len({base.key(), best.key(), periodic.key()}) == 3
    assert best.protocol()["test_checkpoint"] == "best" and periodic.protocol()["schedule"]["period"] == 200


def test_per_epoch_cosine_is_torchs_cosine_annealing() -> None:
    """train_final_model.ipynb: CosineAnnealingLR(optimizer, T_max=200), `scheduler.step()` once per epoch,
    201 epochs: epoch e trains at 0.01 (1 + cos(pi e / 200)) / 2 (epoch 200 at 0)."""
    task = preset("cifar10_de_final_paper")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.01, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=200)
    for epoch in range(task.epochs):
        ours = learning_rate(task, epoch, step=epoch * 782 + 5, total_steps=task.epochs * 782)
        assert ours == pytest.approx(optimizer.param_groups[0]["lr"], abs=1e-12)
        optimizer.step()
        scheduler.step()


def test_best_checkpoint_reports_the_best_epoch_of_the_test_curve() -> None:
    metrics = {"val_acc": None, "test_acc": 0.5, "curve": (0.4, 0.7, 0.5), "curve_split": "test"}
    assert apply_test_checkpoint(preset("cifar10_de_final"), metrics) is metrics
    assert apply_test_checkpoint(preset("cifar10_de_final_paper"), metrics)["test_acc"] == 0.7
    with pytest.raises(ValueError, match="per-epoch test curve"):
        apply_test_checkpoint(preset("cifar10_de_final_paper"), {**metrics, "curve_split": "val"})


def test_best_checkpoint_in_a_real_training() -> None:
    """A short training with test_checkpoint 'best' stores the highest per-epoch test accuracy."""
    task = Task(
        name="synthetic_best",
        dataset="synthetic",
        split=Split(train=200, val=0, test=200, seed=0),
        epochs=3,
        batch_size=50,
        objective="test_acc",
        test_checkpoint="best",
    )
    space = get_space("de_sequential", min_length=2, max_length=2, max_channels=4, head_width=8)
    genome = space.decode("C3x4 MP | FC8 D0.1")
    result = train_genome(space, genome, task, seed=3, device="cpu", threads=1)
    assert result.status == "ok" and len(result.curve) == 3
    assert result.test_acc == max(result.curve)
    last = train_genome(space, genome, replace(task, test_checkpoint="last"), seed=3, device="cpu", threads=1)
    assert last.curve == result.curve and last.test_acc == pytest.approx(result.curve[-1])
    assert np.isfinite(result.test_acc)


def test_invalid_checkpoint_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"needs split\.val == 0"):
        replace(preset("cifar10_gcnn"), test_checkpoint="best")
    with pytest.raises(ConfigError, match="test_checkpoint"):
        replace(preset("cifar10_de_final"), test_checkpoint="latest")
    with pytest.raises(ConfigError, match="cosine schedule only"):
        replace(preset("cifar10_gcnn"), schedule=Schedule("step", (120,), 0.1, period=3))
