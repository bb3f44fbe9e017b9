"""The trainer: FLOP counts, schedules, augmentation on the device, seeded determinism."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from harness.spaces import Shape, get_space
from harness.tasks import Optimizer, Schedule, preset
from harness.training import (
    _crop_gather,
    _hflip,
    _pad,
    _random_erasing,
    count_flops,
    learning_rate,
    train_genome,
)


@pytest.mark.parametrize(
    ("space_name", "params", "shape"),
    [
        ("genetic_cnn", {}, (1, 8, 8)),
        ("macro_re", {"channels": 16}, (1, 28, 28)),
        ("de_sequential", {}, (3, 32, 32)),
    ],
)
def test_flops_equal_torch_flop_counter(space_name, params, shape):
    space = get_space(space_name, **params)
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(6):
        genome = space.sample(rng)
        if not space.is_valid(genome, Shape(shape, 10)):
            continue
        model = space.build(genome, Shape(shape, 10)).eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, *shape))
        assert count_flops(model, shape) == counter.get_total_flops()
        checked += 1
    assert checked >= 2


def test_schedules():
    task = preset("cifar10_gcnn")  # 1e-2 for 120 epochs, then 1e-3, 1e-4, 1e-5 (Genetic CNN Sec. 4.1.1)
    assert [learning_rate(task, e, 0, 1) for e in (0, 119, 120, 179, 180, 219, 220, 239)] == pytest.approx(
        [1e-2, 1e-2, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5]
    )
    cos = replace(task, schedule=Schedule("cosine"), optimizer=Optimizer("sgd", lr=0.1))
    assert learning_rate(cos, 0, 0, 100) == pytest.approx(0.1)
    assert learning_rate(cos, 0, 50, 100) == pytest.approx(0.05)
    assert learning_rate(cos, 0, 100, 100) == pytest.approx(0.0, abs=1e-12)
    const = replace(task, schedule=Schedule("constant"))
    assert learning_rate(const, 200, 7, 9) == task.optimizer.lr
    assert math.isclose(learning_rate(const, 0, 0, 1), 1e-2)


def test_augmentations_are_seeded_and_shape_preserving():
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(_hflip(x, g1), _hflip(x, g2))
    flipped = _hflip(x.repeat(64, 1, 1, 1), torch.Generator().manual_seed(0))
    n_flipped = sum(torch.equal(f, x[i % 2].flip(2)) for i, f in enumerate(flipped))
    assert 40 < n_flipped < 88  # 128 images, p = 0.5
    pad_value = torch.tensor([-1.0, -2.0, -3.0])
    padded = _pad(x, 2, pad_value)
    assert padded.shape == (2, 3, 10, 10) and padded[0, 1, 0, 0] == -2.0
    same = _crop_gather(padded, torch.tensor([2, 2]), torch.tensor([2, 2]), 6, 6)
    assert torch.equal(same, x)
    shifted = _crop_gather(padded, torch.tensor([0, 4]), torch.tensor([4, 0]), 6, 6)
    assert torch.equal(shifted[0, :, 2:, :4], x[0, :, :4, 2:])
    erased = _random_erasing(torch.ones(200, 1, 28, 28), torch.Generator().manual_seed(0))
    fraction_erased = (erased.view(200, -1) == 0).any(1).float().mean().item()
    assert 0.35 < fraction_erased < 0.65  # p = 0.5
    areas = (erased.view(200, -1) == 0).float().sum(1)
    assert areas.max() <= 0.33 * 28 * 28 + 28 and areas[areas > 0].min() >= 1


@pytest.mark.slow
def test_same_seed_same_training_different_seed_different():
    space = get_space("genetic_cnn")
    task = replace(preset("digits_quick"), epochs=2, augmentation=("hflip", "crop"))
    genome = space.named("resnet")
    a = train_genome(space, genome, task, seed=5, device="cpu", threads=1)
    b = train_genome(space, genome, task, seed=5, device="cpu", threads=1)
    c = train_genome(space, genome, task, seed=6, device="cpu", threads=1)
    assert a.status == "ok"
    assert (a.val_acc, a.test_acc, a.train_loss, a.curve) == (b.val_acc, b.test_acc, b.train_loss, b.curve)
    assert (a.val_acc, a.train_loss) != (c.val_acc, c.train_loss)
    before = torch.random.get_rng_state()
    train_genome(space, genome, task, seed=7, device="cpu", threads=1)
    assert torch.equal(before, torch.random.get_rng_state())  # training leaves the global RNG alone


def test_test_accuracy_is_the_fitness_when_there_is_no_validation_split():
    space = get_space("genetic_cnn")
    task = replace(
        preset("digits_quick"),
        epochs=1,
        split=replace(preset("digits_quick").split, val=0),
        objective="test_acc",
    )
    result = train_genome(space, space.named("chain"), task, seed=0, device="cpu", threads=1)
    assert result.val_acc is None and result.test_acc is not None
    assert result.extra["curve_split"] == "test"
