"""RENAS (Chen et al., CVPR 2019): every number of the paper this code can check.

- Sec. 3.3: search space size (6^5 x (5+1)!)^2 = 3.1 x 10^13; 5#B tokens per cell, 4#B of them variable.
- Sec. 3.1: six operations; inputs from the b - 1 earlier blocks and the two previous cells.
- Sec. 4.3: #B = 5, #F = 24, #N = 2, population #P = 20; reward tan(f_C pi / 2); inherited weights train at
  1/10 of the new ones' learning rate 0.01.
- Sec. 5.1.3: controller embedding and LSTM hidden size 100, init N(0, 0.01), Adam 1e-3, tanh constant 2.5,
  temperature 5.0, entropy weight 0.1.
- Table 1: RENASNet (6, 32) on CIFAR-10 has 3.5M parameters (measured here on our build of Fig. 2's
  network with the cell of the official code; auxiliary head excluded).
"""

from __future__ import annotations

import math

import pytest
import torch

from algorithms import get_algorithm
from algorithms.renas import reward
from algorithms.renas_inherit import InheritProtocol
from harness.spaces import Shape, get_space
from harness.spaces.renas_cell_genome import OPS, input_choices


def test_sec_3_3_space_size_is_3_1e13():
    space = get_space("renas_cell")
    assert space.blocks == 5
    assert space.size() == (6**5 * math.factorial(5 + 1)) ** 2 == 31_345_665_638_400
    assert round(space.size() / 1e13, 1) == 3.1


def test_sec_3_3_tokens_and_sec_3_1_choices():
    space = get_space("renas_cell")
    assert space.token_count == 25 and space.variable_token_count == 20
    assert len(OPS) == 6 and set(OPS) == {"sep3", "sep5", "sep7", "avg3", "max3", "id"}
    assert [input_choices(b) for b in range(5)] == [2, 3, 4, 5, 6]  # b + 1 choices for block b = 1..5


def test_sec_4_3_search_settings_and_reward():
    space = get_space("renas_cell")
    assert (space.blocks, space.filters, space.cells) == (5, 24, 2)
    algo = get_algorithm("renas", space, rng=0)
    assert algo.population_size == 20
    assert reward(0.5) == pytest.approx(math.tan(0.25 * math.pi)) == pytest.approx(1.0)
    assert reward(0.9) == pytest.approx(math.tan(0.45 * math.pi))
    protocol = InheritProtocol()
    assert protocol.lr_new == 0.01 and protocol.lr_new == pytest.approx(10 * protocol.lr_inherited)
    assert protocol.passes == 1


def test_sec_5_1_3_controller_sizes_and_hyper_parameters():
    algo = get_algorithm("renas", get_space("renas_cell"), rng=0)
    ctrl = algo.controller
    assert ctrl.embedding.embedding_dim == 100
    assert ctrl.encoder.hidden_size == 100 and ctrl.encoder.bidirectional
    assert (ctrl.cfg.tanh_constant, ctrl.cfg.temperature) == (2.5, 5.0)
    assert algo.hyper["entropy_weight"] == 0.1 and algo.hyper["lr"] == 1e-3
    assert algo.optimizer.param_groups[0]["lr"] == 1e-3
    weights = torch.cat([p.detach().flatten() for p in ctrl.parameters()])
    assert abs(float(weights.mean())) < 1e-3 and float(weights.std()) == pytest.approx(0.01, rel=0.02)
    nonbi = get_algorithm("renas", get_space("renas_cell"), rng=0, variant="nonbi")
    assert not nonbi.controller.encoder.bidirectional


def test_table_1_renasnet_6_32_has_3_5m_parameters():
    space = get_space("renas_cell", cells=6, filters=32, dropout=0.5)
    with torch.random.fork_rng(devices=[]):
        model = space.build(space.named("renasnet"), Shape((3, 32, 32), 10))
    params = sum(p.numel() for p in model.parameters())
    assert round(params / 1e6, 1) == 3.5  # measured: 3,512,042
