"""The genetic_cnn space: notation, canonical forms, networks, operators."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import torch

from harness.errors import InvalidGenomeError, OperationNotSupported
from harness.spaces import Shape, get_space
from harness.spaces.genetic_cnn import (
    GeneticCnnGenome,
    canonical_stage,
    distinct_stage_count,
    stage_bit_count,
    stage_edges,
)

DIGITS = Shape((1, 8, 8), 10)
CIFAR = Shape((3, 32, 32), 10)


@pytest.fixture(scope="module")
def space():
    return get_space("genetic_cnn")


def test_paper_notation_round_trip(space):
    text = "1-01 0-01-100 0-11-101-0001"
    genome = space.decode(text)
    assert space.encode(genome) == text
    assert genome.stages[0] == (1, 0, 1)
    assert genome.stages[2] == (0, 1, 1, 1, 0, 1, 0, 0, 0, 1)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1-01 0-01-100",  # two stages for a three-stage space
        "1-01 0-01-100 0-11-101-0001 1",
        "1-012 0-01-100 0-11-101-0001",  # group too long
        "1-0 0-01-100 0-11-101-0001",  # group too short
        "1-0a 0-01-100 0-11-101-0001",
        "10 0-01-100 0-11-101-0001",  # missing '-'
    ],
)
def test_malformed_strings_raise_one_line(space, bad):
    with pytest.raises(InvalidGenomeError) as info:
        space.decode(bad)
    assert "\n" not in str(info.value)
    assert "genetic_cnn" in str(info.value)


def test_non_string_is_rejected(space):
    with pytest.raises(InvalidGenomeError):
        space.decode(None)  # type: ignore[arg-type]


def test_stage_layouts_other_than_the_paper(space):
    other = get_space("genetic_cnn", stages=(4, 5), channels=(16, 32))
    assert other.length == 6 + 10
    genome = other.sample(np.random.default_rng(0))
    assert other.decode(other.encode(genome)) == genome
    net = other.build(genome, CIFAR)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(InvalidGenomeError):
        other.decode("1-01 0-01-100 0-11-101-0001")
    assert other.hash(genome) != space.hash(space.zeros())


def test_bad_space_parameters():
    from harness.errors import EvonasError

    with pytest.raises(EvonasError):
        get_space("genetic_cnn", stages=(3, 1))
    with pytest.raises(EvonasError):
        get_space("genetic_cnn", stages=(3, 4), channels=(8,))


@pytest.mark.parametrize("nodes", [3, 4, 5])
def test_canonical_stage_matches_networkx_isomorphism(nodes):
    """Two strings share a canonical form iff their graphs of non-isolated nodes are isomorphic."""
    classes: list[tuple[nx.DiGraph, str]] = []
    for bits in itertools.product((0, 1), repeat=stage_bit_count(nodes)):
        graph = nx.DiGraph(stage_edges(nodes, bits))
        form = canonical_stage(nodes, bits)
        match = [f for g, f in classes if nx.is_isomorphic(g, graph)]
        if match:
            assert match[0] == form
        else:
            assert form not in [f for _, f in classes]
            classes.append((graph, form))
    assert len(classes) == distinct_stage_count(nodes)


def test_distinct_counts():
    """(3, 4, 5): 6 x 31 x 302 = 56,172 distinct networks among 2^19 strings."""
    assert [distinct_stage_count(k) for k in (2, 3, 4, 5)] == [2, 6, 31, 302]
    assert get_space("genetic_cnn").distinct_count() == 56_172


def test_isolated_nodes_do_not_change_the_hash(space):
    # stage 2 (K=4): a single edge 1->2 (nodes 3, 4 isolated) vs a single edge 3->4 (nodes 1, 2 isolated)
    a = space.decode("0-00 1-00-000 0-00-000-0000")
    b = space.decode("0-00 0-00-001 0-00-000-0000")
    assert a != b
    assert space.hash(a) == space.hash(b)
    c = space.decode("0-00 1-10-000 0-00-000-0000")  # 1->2, 1->3: a different network
    assert space.hash(c) != space.hash(a)


def test_hash_is_sha256_hex_and_depends_on_channels(space):
    genome = space.named("table1_best")
    h = space.hash(genome)
    assert len(h) == 64 and int(h, 16) >= 0
    wider = get_space("genetic_cnn", channels=(16, 16, 32))
    assert wider.hash(genome) != h


def test_empty_stage_is_one_conv(space):
    net = space.build(space.zeros(), CIFAR)
    stage = net.features[0]
    assert stage.output_node is None
    assert len(stage.node_convs) == 0
    assert sum(isinstance(m, torch.nn.Conv2d) for m in stage.modules()) == 1


def test_build_shapes(space):
    rng = np.random.default_rng(3)
    for _ in range(5):
        genome = space.sample(rng)
        for shape in (DIGITS, CIFAR, Shape((1, 28, 28), 7)):
            net = space.build(genome, shape)
            out = net(torch.zeros(2, *shape.input_shape))
            assert out.shape == (2, shape.num_classes)
            assert space.is_valid(genome, shape)


def test_mutate_always_changes_the_string(space):
    rng = np.random.default_rng(0)
    genome = space.zeros()
    for _ in range(200):
        child = space.mutate(genome, rng)
        assert child != genome
        genome = child


def test_crossover_swaps_whole_stages(space):
    rng = np.random.default_rng(1)
    a, b = space.zeros(), space.from_bits([1] * space.length)
    for _ in range(50):
        c, d = space.crossover(a, b, rng)
        for sa, sb, sc, sd in zip(a.stages, b.stages, c.stages, d.stages, strict=True):
            assert (sc, sd) in ((sa, sb), (sb, sa))


def test_optional_crossover_absent_raises_clear_error():
    from harness.spaces.base import SearchSpace

    class NoCross(SearchSpace):
        name = "nocross"
        version = "0"
        description = "test"

        @property
        def params(self):
            return {}

        def sample(self, rng):
            return 0

        def mutate(self, genome, rng):
            return genome

        def canonical(self, genome):
            return str(genome)

        def encode(self, genome):
            return str(genome)

        def decode(self, text):
            return int(text)

        def build(self, genome, task):
            return torch.nn.Identity()

        def suggest(self, trial):
            return 0

    with pytest.raises(OperationNotSupported):
        NoCross().crossover(0, 1, np.random.default_rng(0))


def test_named_references(space):
    names = set(space.named_architectures())
    assert {"chain", "resnet", "densenet", "all_zeros", "table1_best", "table1_gen0_best"} <= names
    assert space.encode(space.named("densenet")) == "1-11 1-11-111 1-11-111-1111"
    assert space.encode(space.named("chain")) == "1-01 1-01-001 1-01-001-0001"
    from harness.errors import UnknownNameError

    with pytest.raises(UnknownNameError):
        space.named("vgg99")
    assert "table1_best" not in get_space("genetic_cnn", stages=(4, 4), channels=(8, 8)).named_architectures()


def test_suggest_with_optuna(space):
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    genome = space.suggest(trial)
    assert isinstance(genome, GeneticCnnGenome)
    assert len(trial.params) == space.length


def test_graph_and_summary(space):
    genome = space.named("table1_best")
    graph = space.graph(genome)
    ids = {n for n, _ in graph.nodes}
    assert all(a in ids and b in ids for a, b in graph.edges)
    assert len(graph.groups) == 3
    assert space.summary(space.zeros())["active_nodes"] == 0
    assert space.summary(space.named("densenet"))["active_nodes"] == 12
