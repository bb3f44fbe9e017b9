"""The zero-cost GA's selection (authors' Pareto rank 1 + rank sums) and its DARTS tournament."""

from __future__ import annotations

import pytest
import torch

from algorithms.zero_cost_ga_selection import (
    dominates,
    fill_order,
    rank_sum_order,
    select,
    weak_pareto_front,
)
from algorithms.zero_cost_ga_tournament import TournamentNet, darts_tournament
from harness.spaces import get_space
from harness.tasks import preset
from harness.training import device_split, torch_threads

SPACE = get_space("darts_cell")


def test_weak_pareto_front_drops_only_networks_beaten_on_every_score() -> None:
    scores = [(1, 5, 5), (2, 2, 2), (3, 3, 3), (2, 2, 9), (0, 9, 9)]
    assert dominates((2, 2, 2), (3, 3, 3)) and not dominates((2, 2, 2), (2, 2, 9))
    assert weak_pareto_front(scores) == [0, 1, 3, 4]  # (2,2,9) ties (2,2,2) on two scores: kept
    assert fill_order(scores, {0, 1, 3, 4}) == [2]


def test_rank_sum_thinning_keeps_each_scores_best() -> None:
    scores = [(0, 9, 9), (5, 5, 5), (4, 4, 4), (9, 0, 9), (6, 6, 0), (3, 3, 3)]
    order = rank_sum_order(scores, range(6))
    assert set(order[:3]) == {0, 3, 4}  # the best on each score first
    assert order[3:] == [5, 2, 1]
    survivors = select(scores, 4)  # front: 0, 3, 4, 5 (5 dominates 1 and 2)
    assert set(survivors[:3]) == {0, 3, 4} and survivors[3] == 5
    assert set(select(scores, 2)) < {0, 3, 4}


def test_select_fills_a_small_front_with_the_least_beaten() -> None:
    scores = [(1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4)]
    assert select(scores, 3) == [0, 1, 2]
    assert len(select(scores, 10)) == 4


def _cells(n: int) -> list:
    names = ["single_conv", "resnet_like", "vgg_like"]
    return [SPACE.named(names[i % 3]).cells[0] for i in range(n)]


def test_tournament_net_weights_branches_by_softmax_alpha() -> None:
    cells = _cells(2)
    net = TournamentNet(cells, 2, (1, 8, 8), 10).eval()
    with torch.no_grad():
        net.alphas.copy_(torch.tensor([[0.0, 1.0]]))
    x = torch.randn(3, 1, 8, 8)
    w = torch.softmax(torch.tensor([0.0, 1.0]), 0)
    expected = net.classifier(torch.cat([net.branches[0](x) * w[0], net.branches[1](x) * w[1]], dim=1))
    torch.testing.assert_close(net(x), expected)
    with torch.no_grad():
        net.alphas.copy_(torch.tensor([[-10.0, 10.0]]))  # branch 0's weight < 0.01: zeros, as the authors'
    zeros = torch.zeros(3, net.branches[0].c_out, 8, 8)
    torch.testing.assert_close(net(x), net.classifier(torch.cat([zeros, net.branches[1](x)], dim=1)))
    with pytest.raises(ValueError):
        TournamentNet(_cells(3), 2, (1, 8, 8), 10)


def test_tournament_is_seeded_and_picks_one_cell_per_group() -> None:
    data = device_split(preset("digits_quick"), torch.device("cpu"))
    cells = _cells(4)
    with torch_threads(1):
        first = darts_tournament(
            cells, 2, data.x_train, data.y_train, 10, seed=3, warmup_steps=3, joint_steps=3
        )
        again = darts_tournament(
            cells, 2, data.x_train, data.y_train, 10, seed=3, warmup_steps=3, joint_steps=3
        )
        other = darts_tournament(
            cells, 2, data.x_train, data.y_train, 10, seed=4, warmup_steps=3, joint_steps=3
        )
    assert first == again
    assert first.winners[0] in (0, 1) and first.winners[1] in (2, 3)
    assert any(a != 0.0 for row in first.alphas for a in row)  # alpha was learned
    assert other.alphas != first.alphas
