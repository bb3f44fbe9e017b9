"""Space `darts_cell` (Reolon GA + DARTS): the paper's string, canonical form, networks, variation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.errors import InvalidGenomeError
from harness.proxies import compute_proxies
from harness.spaces import get_space
from harness.spaces.base import Shape
from harness.spaces.darts_cell_genome import Cell, DartsCellGenome, block_index, edge_of
from harness.tasks import preset
from harness.training import torch_threads

SPACE = get_space("darts_cell")
DIGITS = preset("digits")


def cell(
    edges: dict[tuple[int, int], dict[int, int]], depth: int, use_shared: int = 1, dataset: int = 5
) -> Cell:
    blocks = [[0] * 8 for _ in range(depth * (depth + 1) // 2)]
    for (i, j), ops in edges.items():
        for op, c in ops.items():
            blocks[block_index(i, j)][op] = c
    return Cell(tuple(tuple(b) for b in blocks), use_shared, dataset)


def one(c: Cell) -> DartsCellGenome:
    return DartsCellGenome((c,))


def test_the_papers_string_round_trips() -> None:
    text = "0|0|16|0|0|0|0|0  4|0|0|0|0|0|0|0  0|0|0|8|0|0|0|0--1  5"
    genome = SPACE.decode(text)
    assert genome.cells[0].depth == 2
    assert genome.cells[0].blocks[1] == (4, 0, 0, 0, 0, 0, 0, 0)  # edge 0 -> 2
    assert SPACE.encode(genome) == text
    two = f"{text} / 1|0|0|0|0|0|0|0--0  3"
    assert SPACE.encode(SPACE.decode(two)) == two


@pytest.mark.parametrize(
    "bad",
    [
        "0|0|16|0|0|0|0--1  5",  # 7 counts
        "0|0|16|0|0|0|0|0  1|0|0|0|0|0|0|0--1  5",  # 2 blocks: not D(D+1)/2
        "0|0|16|0|0|0|0|0",  # no strategy genes
        "0|0|16|0|0|0|0|0--2  5",  # use_shared not 0/1
        "0|0|x|0|0|0|0|0--1  5",
        "0|0|-1|0|0|0|0|0--1  5",
    ],
)
def test_malformed_strings_are_one_clear_error(bad: str) -> None:
    with pytest.raises(InvalidGenomeError, match="darts_cell"):
        SPACE.decode(bad)


def test_block_order_is_by_target_then_source() -> None:
    assert [edge_of(k) for k in range(6)] == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    assert all(block_index(i, j) == k for k, (j, i) in enumerate(edge_of(k) for k in range(36)))


def test_canonical_ignores_dead_and_empty_nodes_and_strategy_genes() -> None:
    base = cell({(1, 0): {0: 8}, (3, 1): {3: 4}}, 3)  # node 2 is empty
    dead = cell({(1, 0): {0: 8}, (3, 1): {3: 4}, (2, 0): {1: 16}}, 3)  # node 2 feeds nothing
    empty_source = cell({(1, 0): {0: 8}, (3, 1): {3: 4}, (3, 2): {6: 2}}, 3)  # from the empty node 2
    genes = cell({(1, 0): {0: 8}, (3, 1): {3: 4}}, 3, use_shared=0, dataset=9)
    forms = {SPACE.canonical(one(c)) for c in (base, dead, empty_source, genes)}
    assert len(forms) == 1
    shorter = cell({(1, 0): {0: 8}, (2, 1): {3: 4}}, 2)  # the same chain at depth 2
    assert SPACE.hash(one(shorter)) == SPACE.hash(one(base))
    assert SPACE.hash(one(cell({(1, 0): {0: 8}, (2, 1): {3: 5}}, 2))) != SPACE.hash(one(shorter))


def test_interchangeable_nodes_hash_alike() -> None:
    a = cell({(1, 0): {0: 8}, (2, 0): {3: 4}, (3, 1): {6: 2}, (3, 2): {7: 2}}, 3)
    b = cell({(1, 0): {3: 4}, (2, 0): {0: 8}, (3, 1): {7: 2}, (3, 2): {6: 2}}, 3)  # nodes 1 and 2 swapped
    assert SPACE.hash(one(a)) == SPACE.hash(one(b))
    chain = cell({(1, 0): {0: 8}, (2, 1): {3: 4}, (3, 2): {6: 2}}, 3)
    swapped = cell({(1, 0): {3: 4}, (2, 1): {0: 8}, (3, 2): {6: 2}}, 3)  # a chain's order matters
    assert SPACE.hash(one(chain)) != SPACE.hash(one(swapped))


def test_an_empty_output_is_invalid_and_clinc_7x7_needs_7_pixels() -> None:
    empty = one(cell({(2, 0): {0: 8}}, 3))
    assert not SPACE.is_valid(empty, DIGITS)
    with pytest.raises(InvalidGenomeError):
        SPACE.build(empty, DIGITS)
    clinc = one(cell({(1, 0): {5: 4}}, 1))
    assert SPACE.is_valid(clinc, DIGITS)
    assert not SPACE.is_valid(clinc, Shape((1, 6, 6), 10))


def test_node_widths_and_parameters_by_hand() -> None:
    model = SPACE.build(SPACE.named("single_conv"), DIGITS)
    # separable 3x3 (1 -> 8): depthwise 9 + pointwise 8 + BatchNorm 16; classifier: BatchNorm(8 + 1) 18,
    # linear (9 -> 10) 100
    assert sum(p.numel() for p in model.parameters()) == 9 + 8 + 16 + 18 + 100
    wide = one(cell({(1, 0): {0: 8, 3: 4}, (2, 1): {6: 12}, (2, 0): {7: 3}}, 2))
    net = SPACE.build(wide, DIGITS)
    assert net.cells[0].c_out == 12 + 3 and net.classifier[-1].in_features == 15 + 1
    assert net(torch.randn(2, *DIGITS.input_shape)).shape == (2, 10)


def test_named_references_build_for_any_input_shape() -> None:
    for name in SPACE.named_architectures():
        for shape in (DIGITS.input_shape, (3, 64, 64)):
            model = SPACE.build(SPACE.named(name), Shape(shape, 10))
            assert model(torch.randn(2, *shape)).shape == (2, 10)
    big = SPACE.build(SPACE.named("vgg_like"), Shape((3, 64, 64), 10))
    assert big.cells[0].pools  # a cell still larger than 50 pixels halves its resolution, as the authors'


def test_variation_keeps_genomes_valid_and_decodable() -> None:
    space = get_space("darts_cell", cells=2, max_depth=3)
    rng = np.random.default_rng(1)
    pool = [space.sample(rng) for _ in range(6)]
    for _ in range(60):
        a, b = pool[int(rng.integers(len(pool)))], pool[int(rng.integers(len(pool)))]
        child, other = space.crossover(a, b, rng)
        for g in (space.mutate(child, rng), other):
            assert space.is_valid(g, DIGITS) and space.decode(space.encode(g)) == g
            assert all(c.depth <= 3 for c in g.cells)
            pool.append(g)
    assert len({space.hash(g) for g in pool}) > 30
    assert max(c.depth for g in pool for c in g.cells) > 1  # the resize mutation adds levels


def test_op_weights_steer_the_add_channels_mutation() -> None:
    space = get_space("darts_cell", p_mutation=1.0, p_resize=0.0, p_swap=0.0)
    start = one(cell({(1, 0): {0: 1}}, 1))
    rng = np.random.default_rng(0)
    only_max_pool = [0, 0, 0, 0, 0, 0, 0, 1.0]
    for _ in range(20):
        block = space.mutate_with(start, rng, op_weights=only_max_pool).cells[0].blocks[0]
        assert block[7] >= 1 and block[:7] == (1, 0, 0, 0, 0, 0, 0)
    picked: set[int] = set()
    for _ in range(60):
        block = space.mutate(start, rng).cells[0].blocks[0]
        picked |= {op for op in range(1, 8) if block[op] > 0}
    assert len(picked) > 3  # uniform weights reach the other operations


def test_cheap_proxies_score_a_darts_cell_network() -> None:
    model = SPACE.build(SPACE.named("resnet_like"), DIGITS)
    x = torch.randn(128, *DIGITS.input_shape, generator=torch.Generator().manual_seed(0))
    y = torch.arange(128) % 10
    with torch_threads(1):
        values = compute_proxies(model, x, y, 0, ["params", "naswot", "grad_corr", "synflow"])
    assert values["params"].value == sum(p.numel() for p in model.parameters())
    assert all(np.isfinite(v.value) for v in values.values())


def test_optuna_suggest_gives_valid_genomes() -> None:
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    depths = set()
    for _ in range(20):
        genome = get_space("darts_cell", max_depth=3).suggest(study.ask())
        assert SPACE.is_valid(genome, DIGITS) and SPACE.decode(SPACE.encode(genome)) == genome
        depths.add(genome.cells[0].depth)
    assert len(depths) > 1
