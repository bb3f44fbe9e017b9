"""Unit tests of the de_sequential space (Pei, Chang, Tian): encoding, building, validity, operators."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import torch
from torch import nn

from harness.errors import EvonasError, InvalidGenomeError, UnknownNameError
from harness.spaces import Shape, get_space
from harness.spaces.de_sequential import (
    SAME,
    ConvLayer,
    DeDifference,
    DeGenome,
    DeHead,
    DeSequentialSpace,
    PoolLayer,
    pools_allowed,
)

CIFAR = Shape((3, 32, 32), 10)
FMNIST = Shape((1, 28, 28), 10)
DIGITS = Shape((1, 8, 8), 10)


@pytest.fixture
def space() -> DeSequentialSpace:
    return DeSequentialSpace()


def test_registry_and_params_round_trip() -> None:
    space = get_space("de_sequential", max_channels=64, max_pools=3)
    assert isinstance(space, DeSequentialSpace)
    assert space.params["max_channels"] == 64 and space.params["max_pools"] == 3
    assert get_space("de_sequential", **space.params) == space
    assert get_space("de_sequential") != space


@pytest.mark.parametrize(
    "params",
    [
        {"min_length": 10, "max_length": 5},
        {"max_channels": 0},
        {"max_pools": -1},
        {"p_conv": 1.5},
        {"p_max_pool": -0.1},
        {"dropout": 1.0},
        {"head_width": 1},
        {"first_channels_min": 9, "first_channels_max": 4},
        {"differential_weight": 0.0},
    ],
)
def test_bad_space_parameters_are_one_line_errors(params: dict[str, object]) -> None:
    with pytest.raises(EvonasError) as info:
        get_space("de_sequential", **params)
    assert "\n" not in str(info.value)


def test_encode_decode_model1_text(space: DeSequentialSpace) -> None:
    text = "C3x7 C5x195 C7x207 C7x235 AP C7x241 MP MP | FC D0.5"
    genome = space.decode(text)
    assert genome.layers[0] == ConvLayer(3, 7)
    assert genome.layers[4] == PoolLayer("avg")
    assert genome.layers[-1] == PoolLayer("max")
    assert genome.head == DeHead(None, 0.5)
    assert space.encode(genome) == text
    assert space.named("model1") == genome


def test_decode_explicit_head_and_dropout_normalisation(space: DeSequentialSpace) -> None:
    genome = space.decode("C1x16   MP C7x32 | FC512 D0.25")
    assert genome.head == DeHead(512, 0.25)
    assert space.encode(genome) == "C1x16 MP C7x32 | FC512 D0.25"
    # same network, different spelling: one canonical form and one hash
    a = space.decode("C3x8 MP | FC D0.50")
    b = space.decode("C3x8 MP | FC D.5")
    assert space.canonical(a) == space.canonical(b)
    assert space.hash(a) == space.hash(b)
    assert space.hash(a) != space.hash(space.decode("C3x8 MP | FC D0.4"))
    assert space.hash(a) != space.hash(space.decode("C3x8 AP | FC D0.5"))
    assert space.hash(a) != space.hash(space.decode("C3x8 MP | FC64 D0.5"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "C3x8 MP",
        "| FC D0.5",
        "MP C3x8 | FC D0.5",
        "C4x8 | FC D0.5",
        "C3x0 | FC D0.5",
        "C3x8 XP | FC D0.5",
        "C3x8 c3x8 | FC D0.5",
        "C3x8 | FC",
        "C3x8 | FC D1.0",
        "C3x8 | FC1 D0.5",
        "C3x8 | FC D0.5 extra",
        "C3x8 | FC D0.5 | FC D0.5",
        "C3x8 | FCx D0.5",
        "C3x8 | FC Dabc",
    ],
)
def test_decode_is_strict_with_one_line_errors(space: DeSequentialSpace, text: str) -> None:
    with pytest.raises(InvalidGenomeError) as info:
        space.decode(text)
    assert str(info.value) and "\n" not in str(info.value)


def test_genome_constructor_checks() -> None:
    with pytest.raises(InvalidGenomeError):
        DeGenome(())
    with pytest.raises(InvalidGenomeError):
        DeGenome((PoolLayer("max"), ConvLayer(3, 8)))
    with pytest.raises(InvalidGenomeError):
        ConvLayer(2, 8)
    with pytest.raises(InvalidGenomeError):
        ConvLayer(3, True)
    with pytest.raises(InvalidGenomeError):
        PoolLayer("min")
    genome = DeGenome([ConvLayer(np.int64(3), np.int64(8))])  # type: ignore[arg-type]
    assert isinstance(genome.layers, tuple) and type(genome.layers[0].channels) is int


def test_build_shapes_and_layers(space: DeSequentialSpace) -> None:
    genome = space.decode("C3x4 MP C5x6 AP C1x8 | FC D0.5")
    for task in (CIFAR, FMNIST, DIGITS):
        module = space.build(genome, task)
        out = module(torch.zeros(2, *task.input_shape))
        assert out.shape == (2, task.num_classes)
    module = space.build(genome, CIFAR)
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (3, 4, (3, 3), (1, 1)),
        (4, 6, (5, 5), (2, 2)),
        (6, 8, (1, 1), (0, 0)),
    ]
    assert sum(isinstance(m, nn.ReLU) for m in module.modules()) == 3 + 2  # one per conv + two in the head
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(512, 256), (256, 128), (128, 10)]
    dropouts = [m for m in module.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 2 and all(d.p == 0.5 for d in dropouts)


def test_explicit_head_width(space: DeSequentialSpace) -> None:
    module = space.build(space.decode("C3x4 MP | FC100 D0.1"), FMNIST)
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [
        (4 * 14 * 14, 100),
        (100, 50),
        (50, 10),
    ]


def test_tiny_feature_maps_keep_head_widths_positive(space: DeSequentialSpace) -> None:
    genome = space.decode("C3x2 MP MP MP MP | FC D0.5")  # 28 -> 14 -> 7 -> 3 -> 1: two features
    assert space.is_valid(genome, FMNIST)
    out = space.build(genome, FMNIST)(torch.zeros(1, 1, 28, 28))
    assert out.shape == (1, 10)


def test_pools_allowed() -> None:
    assert [pools_allowed(s, s) for s in (1, 2, 3, 7, 8, 28, 32, 33)] == [0, 1, 1, 2, 3, 4, 5, 5]
    assert pools_allowed(32, 8) == 3


def test_is_valid_reasons(space: DeSequentialSpace) -> None:
    four_pools = space.decode("C3x8 MP MP MP MP | FC D0.5")
    assert space.is_valid(four_pools, CIFAR) and space.is_valid(four_pools, FMNIST)
    bad = space.is_valid(four_pools, DIGITS)
    assert not bad and "too many for a 8x8 input" in bad.reason
    with pytest.raises(InvalidGenomeError, match="8x8"):
        space.build(four_pools, DIGITS)
    five = space.decode("C3x8 MP MP MP MP MP | FC D0.5")
    assert "exceed max_pools 4" in space.is_valid(five, CIFAR).reason
    wide = space.decode("C3x300 | FC D0.5")
    assert "above max_channels 256" in space.is_valid(wide, CIFAR).reason
    long = space.decode(" ".join(["C3x8"] * 16) + " | FC D0.5")
    assert "exceed max_length 15" in space.is_valid(long, CIFAR).reason
    short = space.decode("C3x8 MP | FC D0.5")  # below min_length: a DE child may be this short
    assert space.is_valid(short, CIFAR)
    digits_space = DeSequentialSpace(max_pools=3)
    assert "exceed max_pools 3" in digits_space.is_valid(four_pools, CIFAR).reason


def test_sample_follows_the_initialisation(space: DeSequentialSpace) -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        genome = space.sample(rng)
        assert 7 <= len(genome.layers) <= 15
        assert isinstance(genome.layers[0], ConvLayer) and 5 <= genome.layers[0].channels <= 12
        assert genome.pools <= 4
        channels = [layer.channels for layer in genome.layers if isinstance(layer, ConvLayer)]
        assert channels == sorted(channels) and channels[-1] <= 256
        assert space.is_valid(genome, CIFAR) and space.is_valid(genome, FMNIST)
        assert genome.head == DeHead(None, 0.5)


def test_sample_is_deterministic_per_seed(space: DeSequentialSpace) -> None:
    a = [space.sample(np.random.default_rng(3)) for _ in range(3)]
    b = [space.sample(np.random.default_rng(3)) for _ in range(3)]
    c = space.sample(np.random.default_rng(4))
    assert a == b and a[0] != c


def test_sample_without_monotone_channels_and_small_max_channels() -> None:
    space = DeSequentialSpace(max_channels=4, monotone_channels=False, head_width=64, dropout=0.2)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(100):
        genome = space.sample(rng)
        seen.update(layer.channels for layer in genome.layers if isinstance(layer, ConvLayer))
        assert genome.head == DeHead(64, 0.2)
    assert seen == {1, 2, 3, 4}


def test_mutate_always_changes_and_respects_bounds(space: DeSequentialSpace) -> None:
    rng = np.random.default_rng(11)
    kinds = set()
    for _ in range(400):
        parent = space.sample(rng)
        child = space.mutate(parent, rng)
        assert child != parent
        assert 7 <= len(child.layers) <= 15 and child.pools <= 4
        assert child.head == parent.head
        assert space.is_valid(child, CIFAR)
        kinds.add(len(child.layers) - len(parent.layers))
    assert kinds == {-1, 0, 1}  # deletions, in-place changes and insertions all happen


def test_mutate_outside_the_bounds_never_raises(space: DeSequentialSpace) -> None:
    rng = np.random.default_rng(0)
    for text in ("C3x1 | FC D0.5", " ".join(["C3x300"] + ["MP"] * 6) + " | FC D0.0"):
        genome = space.decode(text)
        for _ in range(50):
            genome = space.mutate(genome, rng)
            assert isinstance(genome, DeGenome)


def test_difference_hand_example(space: DeSequentialSpace) -> None:
    """Own example (the paper's Figure 3 is an image): same type -> '=', different -> a's, longer tail."""
    a = space.decode("C3x16 C5x32 MP C3x64 AP C1x8 | FC D0.5")
    b = space.decode("C3x8 MP MP C5x64 | FC D0.5")
    diff = space.difference(a, b)
    assert diff == DeDifference((SAME, ConvLayer(5, 32), SAME, SAME, PoolLayer("avg"), ConvLayer(1, 8)))
    assert str(diff) == "= C5x32 = = AP C1x8"
    assert str(space.difference(b, a)) == "= MP = = AP C1x8"  # b's layer where the types differ
    assert str(space.difference(a, space.decode("C3x8 C3x8 AP | FC D0.5"))) == "= = MP C3x64 AP C1x8"


def test_add_difference_hand_example(space: DeSequentialSpace) -> None:
    """Own example for Figure 4: '=' keeps the base's layer, others replace it, entries past the base end
    are ignored."""
    rng = np.random.default_rng(0)
    diff = space.difference(
        space.decode("C3x16 C5x32 MP C3x64 AP C1x8 | FC D0.5"), space.decode("C3x8 MP MP C5x64 | FC D0.5")
    )
    base = space.decode("C3x7 C3x9 C3x11 MP MP | FC64 D0.3")
    child = space.add_difference(base, diff, rng)
    assert space.encode(child) == "C3x7 C5x32 C3x11 MP AP | FC64 D0.3"
    longer = space.decode("C3x7 C3x9 C3x11 MP MP C7x20 C7x30 C7x40 | FC D0.5")
    assert space.encode(space.add_difference(longer, diff, rng)) == (
        "C3x7 C5x32 C3x11 MP AP C1x8 C7x30 C7x40 | FC D0.5"
    )


def test_add_difference_drops_excess_pools(space: DeSequentialSpace) -> None:
    base = space.decode("C3x8 MP MP MP MP C3x16 C3x16 | FC D0.5")
    r2 = space.decode("C3x8 C3x8 C3x8 C3x8 C3x8 AP C3x8 | FC D0.5")
    r3 = space.decode("C3x8 C3x8 C3x8 C3x8 C3x8 C3x8 C3x8 | FC D0.5")
    child = space.de_mutation(base, r2, r3, np.random.default_rng(0))
    assert space.encode(child) == "C3x8 MP MP MP MP C3x16 | FC D0.5"  # the fifth pooling is dropped
    assert len(child.layers) == 6 and space.is_valid(child, CIFAR)
    three = DeSequentialSpace(max_pools=3)
    assert three.encode(three.add_difference(base, DeDifference(()), np.random.default_rng(0))) == (
        "C3x8 MP MP MP C3x16 C3x16 | FC D0.5"
    )


def test_differential_weight_below_one_applies_entries_at_random() -> None:
    space = DeSequentialSpace(differential_weight=0.5, max_pools=20)
    base = space.decode(" ".join(["C3x8"] * 12) + " | FC D0.5")
    entries = tuple([SAME] + [PoolLayer("avg") if i % 3 else ConvLayer(7, 9) for i in range(11)])
    diff = DeDifference(entries)
    applied = 0
    children = set()
    for seed in range(40):
        child = space.add_difference(base, diff, np.random.default_rng(seed))
        assert len(child.layers) == 12 and child.layers[0] == base.layers[0]
        for i in range(1, 12):
            assert child.layers[i] in (base.layers[i], entries[i])
            applied += child.layers[i] == entries[i]
        children.add(child)
    assert 0.35 < applied / (40 * 11) < 0.65 and len(children) > 20
    full = DeSequentialSpace(max_pools=20).add_difference(base, diff, np.random.default_rng(0))
    assert full.layers[1:] == entries[1:]  # F = 1: the paper's operator applies every entry


def test_suggest_with_optuna(space: DeSequentialSpace) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        genome = space.suggest(trial)
        assert 7 <= len(genome.layers) <= 15 and genome.pools <= 4
        assert space.is_valid(genome, CIFAR)
        study.tell(trial, 0.5)
    fixed = optuna.trial.FixedTrial(
        {
            "length": 7,
            "kernel_0": 3,
            "channels_0": 8,
            **{f"layer_{i}": "max" for i in range(1, 5)},
            "kernel_5": 5,
            "channels_5": 32,
            "kernel_6": 1,
            "channels_6": 16,
        }
    )
    genome = space.suggest(fixed)  # after four poolings, layers 5 and 6 are convolutions without asking
    assert space.encode(genome) == "C3x8 MP MP MP MP C5x32 C1x16 | FC D0.5"


def test_graph_summary_and_named(space: DeSequentialSpace) -> None:
    genome = space.named("model1")
    graph = space.graph(genome)
    assert len(graph.nodes) == 8 + 3 and len(graph.edges) == len(graph.nodes) - 1
    assert graph.edges[0] == ("input", "l0") and graph.edges[-1] == ("head", "output")
    assert space.summary(genome) == {"layers": 8, "convs": 5, "pools": 3}
    assert space.summary(space.named("model2")) == {"layers": 7, "convs": 4, "pools": 3}
    assert set(space.named_architectures()) == {"model1", "model2"}
    with pytest.raises(UnknownNameError, match="model1"):
        space.named("model3")


def test_count_params_matches_built_module(space: DeSequentialSpace) -> None:
    rng = np.random.default_rng(5)
    small = DeSequentialSpace(max_channels=24)
    for _ in range(10):
        genome = small.sample(rng)
        for task in (FMNIST, Shape((3, 16, 16), 7)):
            built = sum(p.numel() for p in small.build(genome, task).parameters())
            assert small.count_params(genome, task) == built
    with pytest.raises(InvalidGenomeError):
        space.count_params(space.decode("C3x8 MP MP MP MP | FC D0.5"), DIGITS)
