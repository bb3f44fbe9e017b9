"""Reproduction checks for Pei, Chang, Tian, "Neural Architecture Search Based on Differential Evolution for
Image Classification Problems" (docs/methods.md, DE-NAS)."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from algorithms import get_algorithm
from algorithms.differential_evolution import DifferentialEvolution, selection_scores
from harness.spaces import Shape, get_space
from harness.spaces.de_sequential import ConvLayer, DeSequentialSpace, PoolLayer

CIFAR = Shape((3, 32, 32), 10)

# Param # column of the paper's layer tables, in order of the layers that have parameters.
MODEL1_TABLE = [196, 34_320, 1_978_092, 2_383_840, 2_775_356, 7_436_296, 1_859_556, 9_650]
MODEL2_TABLE = [196, 34_320, 1_067_844, 1_029_488, 4_525_536, 1_131_760, 7_530]


def per_layer_params(module: nn.Module) -> list[int]:
    return [
        sum(p.numel() for p in m.parameters())
        for m in module.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]


def test_model1_has_16477306_parameters() -> None:
    """Pei, Chang, Tian, Results, Figure 8 (Model 1 layer table): "Total params: 16,477,306" on 3x32x32
    with 10 classes (Table 3: "16.4 million"); every per-layer count of the table matches too."""
    space = get_space("de_sequential")
    module = space.build(space.named("model1"), CIFAR)
    assert per_layer_params(module) == MODEL1_TABLE
    assert sum(p.numel() for p in module.parameters()) == 16_477_306
    assert space.count_params(space.named("model1"), CIFAR) == 16_477_306


def test_model2_has_7796674_parameters() -> None:
    """Pei, Chang, Tian, Results, Figure 10 (Model 2 layer table): "Total params: 7,796,674" on 3x32x32
    with 10 classes (Table 3: "7.79 million"); every per-layer count of the table matches too."""
    space = get_space("de_sequential")
    module = space.build(space.named("model2"), CIFAR)
    assert per_layer_params(module) == MODEL2_TABLE
    assert sum(p.numel() for p in module.parameters()) == 7_796_674
    assert space.count_params(space.named("model2"), CIFAR) == 7_796_674


def test_head_widths_follow_the_flattened_features() -> None:
    """Pei, Chang, Tian, Figures 8 and 10: Flatten 3856 -> Linear 1928 -> 964 -> 10 (Model 1) and
    3008 -> 1504 -> 752 -> 10 (Model 2): the head is F -> F/2 -> F/4 -> classes with two Dropouts."""
    space = get_space("de_sequential")
    for name, widths in (("model1", (3856, 1928, 964, 10)), ("model2", (3008, 1504, 752, 10))):
        module = space.build(space.named(name), CIFAR)
        linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
        assert [lin.in_features for lin in linears] + [linears[-1].out_features] == list(widths)
        assert sum(isinstance(m, nn.Dropout) for m in module.modules()) == 2


def test_selection_score_hand_example() -> None:
    """Pei, Chang, Tian, section "3. Natural selection": min-max normalisation x* = (x - min) / (max - min),
    score = 0.7 * error rate + 0.3 * parameters, lower kept. Hand computation: errors (0.5, 0.1, 0.3) ->
    (1, 0, 0.5); params (100, 300, 200) -> (0, 1, 0.5); scores 0.7, 0.3, 0.5."""
    scores = selection_scores([0.5, 0.1, 0.3], [100, 300, 200])
    np.testing.assert_allclose(scores, [0.7, 0.3, 0.5])
    assert list(np.argsort(scores)) == [1, 2, 0]
    # a second hand example with the paper's two models and two made-up networks
    errors = [1 - 0.9214, 1 - 0.8853, 0.5, 0.2]
    params = [16_477_306, 7_796_674, 1_000_000, 30_000_000]
    expected = [
        0.7 * (0.0786 - 0.0786) / (0.5 - 0.0786) + 0.3 * (16_477_306 - 1_000_000) / 29_000_000,
        0.7 * (0.1147 - 0.0786) / (0.5 - 0.0786) + 0.3 * (7_796_674 - 1_000_000) / 29_000_000,
        0.7 * 1.0 + 0.3 * 0.0,
        0.7 * (0.2 - 0.0786) / (0.5 - 0.0786) + 0.3 * 1.0,
    ]
    np.testing.assert_allclose(selection_scores(errors, params), expected, rtol=1e-9)


def test_algorithm_defaults_are_table_1() -> None:
    """Pei, Chang, Tian, Table 1: population size 20, 9 generations, 10 new individuals after mutation
    (m = n/2), evaluation score 0.7 * error rate + 0.3 * number of parameters. The 9 generations are 9
    populations, the initial one + 8 rounds (dl_final.ipynb: `range(2, 10)`), so `generations` = 8."""
    algo = get_algorithm("differential_evolution", get_space("de_sequential"), rng=0)
    assert isinstance(algo, DifferentialEvolution)
    assert algo.params["population"] == 20 and algo.params["children"] == 10
    assert algo.params["generations"] == 8
    assert (algo.params["error_weight"], algo.params["params_weight"]) == (0.7, 0.3)


def test_space_defaults_are_table_1() -> None:
    """Pei, Chang, Tian, Table 1: part 1 of size 7 to 15, at most 256 kernels per convolution, probability
    0.5 of adding a convolution, 0.8 max pooling / 0.2 average pooling; section 1: at most 4 poolings on
    CIFAR-10 (32 -> 2), kernels 1, 3, 5, 7 with padding 0, 1, 2, 3."""
    params = get_space("de_sequential").params
    assert (params["min_length"], params["max_length"], params["max_channels"]) == (7, 15, 256)
    assert (params["p_conv"], params["p_max_pool"], params["max_pools"]) == (0.5, 0.8, 4)


def test_initialisation_frequencies_match_table_1() -> None:
    """Pei, Chang, Tian, Table 1 and section 1: lengths uniform over 7..15, a convolution with probability
    0.5 and, for a pooling, max with 0.8 / avg with 0.2 (measured over 3000 sampled genomes)."""
    space = DeSequentialSpace()
    rng = np.random.default_rng(2022)
    lengths, conv_draws, free_draws, max_pools, all_pools = [], 0, 0, 0, 0
    for _ in range(3000):
        genome = space.sample(rng)
        lengths.append(len(genome.layers))
        pools = 0
        for layer in genome.layers[1:]:
            if pools < 4:  # while a pooling is still allowed, the draw is the paper's coin
                free_draws += 1
                conv_draws += isinstance(layer, ConvLayer)
            if isinstance(layer, PoolLayer):
                pools += 1
                all_pools += 1
                max_pools += layer.kind == "max"
    counts = np.bincount(lengths, minlength=16)[7:16]
    assert min(lengths) == 7 and max(lengths) == 15
    assert counts.min() > 3000 / 9 * 0.8 and counts.max() < 3000 / 9 * 1.2
    assert conv_draws / free_draws == pytest.approx(0.5, abs=0.02)
    assert max_pools / all_pools == pytest.approx(0.8, abs=0.02)
