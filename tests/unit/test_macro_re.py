"""Unit tests of the `macro_re` search space (Kyriakides & Margaritis 2020 genomes and networks)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import optuna
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import ConfigError, InvalidGenomeError, UnknownNameError
from harness.spaces import Shape, get_space
from harness.spaces.macro_re import (
    INPUT,
    LAYER_CHOICES,
    MUTATION_KINDS,
    OUTPUT,
    ConnectionGene,
    LayerGene,
    MacroGenome,
    MacroReSpace,
    add_node,
    break_cycles,
    chain_genome,
    set_layer,
    toggle,
)

MNIST = Shape((1, 28, 28), 10)
DIGITS = Shape((1, 8, 8), 10)
REMNET = (
    "0:CONV_2.N 1:CONV_2.N 2:CONV_3.N 3:CONV_5.N 4:POOL_5.A 5:CONV_3.H 6:CONV_3.H | "
    "-2>0 0>1 1>2 2>3 3>4 4>5 4>6 5>99 6>99"
)


@pytest.fixture(scope="module")
def space() -> MacroReSpace:
    return MacroReSpace(channels=8)


# --- parameters ---
def test_registry_and_params_round_trip() -> None:
    space = get_space("macro_re", channels=16, max_nodes=6)
    assert isinstance(space, MacroReSpace)
    assert space.params == {
        "channels": 16,
        "p_add": 0.25,
        "p_identity": 0.05,
        "initial_add_nodes": 4,
        "max_nodes": 6,
    }
    assert get_space("macro_re", **space.params) == space
    assert get_space("macro_re") != space


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channels": 1},
        {"p_add": 1.2},
        {"p_add": 0.6, "p_identity": 0.5},
        {"initial_add_nodes": -1},
        {"max_nodes": 0},
    ],
)
def test_bad_parameters_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="macro_re"):
        MacroReSpace(**kwargs)  # type: ignore[arg-type]


# --- encoding ---
def test_encode_examples(space: MacroReSpace) -> None:
    genome = MacroGenome(
        (LayerGene(0, LAYER_CHOICES.index("CONV_3.N")),),
        (ConnectionGene(INPUT, OUTPUT, False), ConnectionGene(INPUT, 0), ConnectionGene(0, OUTPUT)),
    )
    assert space.encode(genome) == "0:CONV_3.N | -2>99x -2>0 0>99"
    assert space.encode(MacroGenome((), (ConnectionGene(INPUT, OUTPUT),))) == "| -2>99"
    assert space.encode(space.named("remnet")) == REMNET


def test_decode_examples(space: MacroReSpace) -> None:
    genome = space.decode("  1:POOL_2.M   0:CONV_3.N |  -2>0 0>1 1>99  -2>99x ")
    assert genome.nodes == (LayerGene(0, 7), LayerGene(1, 9))
    assert genome.connections == (
        ConnectionGene(-2, 0),
        ConnectionGene(0, 1),
        ConnectionGene(1, 99),
        ConnectionGene(-2, 99, False),
    )
    assert space.encode(genome) == "0:CONV_3.N 1:POOL_2.M | -2>0 0>1 1>99 -2>99x"
    assert space.decode("| -2>99") == MacroGenome((), (ConnectionGene(INPUT, OUTPUT),))
    remnet = space.named("remnet")
    assert space.decode(space.encode(remnet)) == remnet


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0:CONV_4.N | -2>0 0>99", "unknown layer 'CONV_4.N'"),
        ("0:CONV_3.N | -2>0 0>5", "undefined node 5"),
        ("0:CONV_3.N 0:POOL_2.M | -2>0 0>99", "duplicate node id 0"),
        ("0:CONV_3.N | -2>0 0>99 -2>0x", "duplicate connection -2>0"),
        ("99:CONV_3.N | -2>99", "reserved for the output"),
        ("0:CONV_3.N | -2>0 0>-2", "enters the input"),
        ("0:CONV_3.N | -2>0 99>0", "leaves the output"),
        ("0:CONV_3.N -2>0 0>99", "expected '<layers> | <connections>'"),
        ("0:CONV_3.N | -2>0 | 0>99", "expected '<layers> | <connections>'"),
        ("CONV_3.N | -2>99", "bad layer gene 'CONV_3.N'"),
        ("-1:CONV_3.N | -2>99", "bad layer gene"),
        ("0:CONV_3.N | -2->0", "bad connection gene '-2->0'"),
        ("0:CONV_3.N | -2>0y", "bad connection gene"),
        ("0:CONV_3.N |", "at least one connection gene"),
        ("hello world", "expected '<layers> | <connections>'"),
        ("", "expected '<layers> | <connections>'"),
    ],
)
def test_decode_errors_are_one_line(space: MacroReSpace, text: str, message: str) -> None:
    with pytest.raises(InvalidGenomeError, match=message.replace("|", r"\|")) as info:
        space.decode(text)
    assert "\n" not in str(info.value)


def test_decode_rejects_non_strings(space: MacroReSpace) -> None:
    with pytest.raises(InvalidGenomeError, match="string"):
        space.decode(42)  # type: ignore[arg-type]


def test_genome_values_are_validated_and_frozen() -> None:
    with pytest.raises(InvalidGenomeError, match="layer index 12"):
        MacroGenome((LayerGene(0, 12),), (ConnectionGene(INPUT, 0), ConnectionGene(0, OUTPUT)))
    genome = MacroGenome((LayerGene(1, 0), LayerGene(0, 3)), (ConnectionGene(INPUT, OUTPUT),))
    assert genome.node_ids == (0, 1)  # layer genes are kept sorted by id
    with pytest.raises(AttributeError):
        genome.nodes = ()  # type: ignore[misc]
    assert hash(genome) == hash(
        MacroGenome((LayerGene(0, 3), LayerGene(1, 0)), (ConnectionGene(INPUT, OUTPUT),))
    )


# --- initial genome and mutation ---
def test_initial_genome_is_input_output_split_four_times(space: MacroReSpace) -> None:
    for seed in range(30):
        genome = space.sample(np.random.default_rng(seed))
        assert genome.node_ids == (0, 1, 2, 3)
        assert len(genome.connections) == 1 + 2 * 4
        assert genome.connections[0] == ConnectionGene(INPUT, OUTPUT, False)
        # every new node got one incoming and one outgoing gene from its split (more when those were split)
        for node in genome.node_ids:
            assert sum(c.target == node for c in genome.connections) >= 1
            assert sum(c.source == node for c in genome.connections) >= 1
        disabled = [c for c in genome.connections if not c.enabled]
        assert 1 <= len(disabled) <= 4  # each split disables its gene (a re-split gene stays disabled)
        enabled = sum(c.enabled for c in genome.connections)
        assert 5 <= enabled <= 8
        assert space.summary(genome)["nodes"] >= 1  # a split never cuts the last path


def test_sample_is_reproducible_and_uses_the_generator(space: MacroReSpace) -> None:
    a = space.sample(np.random.default_rng(7))
    assert a == space.sample(np.random.default_rng(7))
    assert len({space.encode(space.sample(np.random.default_rng(s))) for s in range(20)}) > 10


def test_initial_add_nodes_parameter() -> None:
    genome = MacroReSpace(initial_add_nodes=0).sample(np.random.default_rng(0))
    assert genome == MacroGenome((), (ConnectionGene(INPUT, OUTPUT),))
    assert len(MacroReSpace(initial_add_nodes=6).sample(np.random.default_rng(0)).nodes) == 6


def test_add_node_splits_and_disables(space: MacroReSpace) -> None:
    genome = space.decode("0:CONV_3.N | -2>0 0>99")
    child = add_node(genome, 1, LAYER_CHOICES.index("POOL_2.M"))
    assert space.encode(child) == "0:CONV_3.N 1:POOL_2.M | -2>0 0>99x 0>1 1>99"
    # splitting a disabled gene adds a new path and leaves the gene disabled
    again = add_node(child, 1, 0)
    assert space.encode(again) == "0:CONV_3.N 1:POOL_2.M 2:CONV_2.H | -2>0 0>99x 0>1 1>99 0>2 2>99"


def test_new_node_ids_skip_the_output_id(space: MacroReSpace) -> None:
    genome = space.decode("98:CONV_3.N | -2>98 98>99")
    child = add_node(genome, 0, 1)
    assert child.node_ids == (98, 100)
    assert space.decode(space.encode(child)) == child


def test_set_layer_and_toggle(space: MacroReSpace) -> None:
    genome = space.decode("0:CONV_3.N 1:POOL_2.M | -2>0 0>1 1>99 -2>99x")
    assert space.encode(set_layer(genome, 1, 0)) == "0:CONV_3.N 1:CONV_2.H | -2>0 0>1 1>99 -2>99x"
    assert space.encode(toggle(genome, 3)) == "0:CONV_3.N 1:POOL_2.M | -2>0 0>1 1>99 -2>99"
    assert space.encode(toggle(genome, 0)) == "0:CONV_3.N 1:POOL_2.M | -2>0x 0>1 1>99 -2>99x"
    with pytest.raises(InvalidGenomeError, match="no hidden node 5"):
        set_layer(genome, 5, 0)


def test_mutate_with_kind_reports_what_changed(space: MacroReSpace) -> None:
    rng = np.random.default_rng(3)
    parent = space.sample(np.random.default_rng(0))
    seen = set()
    for _ in range(300):
        child, kind = space.mutate_with_kind(parent, rng)
        seen.add(kind)
        if kind == "add_node":
            assert len(child.nodes) == len(parent.nodes) + 1
            assert len(child.connections) == len(parent.connections) + 2
        elif kind == "identity":
            assert child is parent
        elif kind == "layer":
            assert child.connections == parent.connections
            assert sum(a != b for a, b in zip(child.nodes, parent.nodes, strict=True)) <= 1
        else:
            assert kind == "toggle"
            assert child.nodes == parent.nodes
            diff = [a != b for a, b in zip(child.connections, parent.connections, strict=True)]
            assert sum(diff) == 1
    assert seen == set(MUTATION_KINDS)


def test_mutation_without_hidden_nodes_toggles_instead(space: MacroReSpace) -> None:
    genome = space.decode("| -2>99")
    kinds = {space.mutate_with_kind(genome, np.random.default_rng(s))[1] for s in range(200)}
    assert kinds == {"add_node", "identity", "toggle"}


# --- cycles ---
def test_toggle_that_closes_a_cycle_disables_the_cycle(space: MacroReSpace) -> None:
    # 0 -> 1 -> 2 with a disabled back edge 2 -> 0; enabling it closes the cycle 0 -> 1 -> 2 -> 0
    genome = space.decode("0:CONV_3.N 1:CONV_3.N 2:CONV_3.N | -2>0 0>1 1>2 2>99 2>0x -2>99x")
    child = toggle(genome, 4)
    assert space.encode(child) == "0:CONV_3.N 1:CONV_3.N 2:CONV_3.N | -2>0 0>1x 1>2x 2>99 2>0x -2>99x"
    validity = space.is_valid(child, MNIST)
    assert not validity
    assert "no enabled path" in validity.reason


def test_break_cycles_keeps_edges_off_cycles(space: MacroReSpace) -> None:
    genome = space.decode("0:CONV_3.N 1:CONV_3.N 2:CONV_3.N | -2>0 0>1 1>0 1>2 2>2 2>99")
    fixed = break_cycles(genome)
    assert space.encode(fixed) == "0:CONV_3.N 1:CONV_3.N 2:CONV_3.N | -2>0 0>1x 1>0x 1>2 2>2x 2>99"
    acyclic = space.decode("0:CONV_3.N | -2>0 0>99")
    assert break_cycles(acyclic) is acyclic


def test_enabled_cycles_are_invalid_and_mutation_removes_them(space: MacroReSpace) -> None:
    genome = space.decode("0:CONV_3.N 1:CONV_3.N | -2>0 0>1 1>0 1>99")
    validity = space.is_valid(genome, MNIST)
    assert not validity
    assert "cycle" in validity.reason
    with pytest.raises(InvalidGenomeError, match="cycle"):
        space.build(genome, MNIST)
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(50):
        child, kind = space.mutate_with_kind(genome, rng)
        if kind != "identity":
            enabled = nx.DiGraph([(c.source, c.target) for c in child.connections if c.enabled])
            assert nx.is_directed_acyclic_graph(enabled)
            kinds.add(kind)
    assert kinds == {"add_node", "layer", "toggle"}


# --- networks ---
def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_build_shapes_on_fashion_mnist_and_digits(space: MacroReSpace) -> None:
    torch.manual_seed(0)
    remnet = space.named("remnet")
    module = space.build(remnet, MNIST)
    assert module(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    chain = space.decode("0:CONV_3.N 1:POOL_2.M 2:CONV_2.H | -2>0 0>1 1>2 2>99")
    small = space.build(chain, DIGITS)
    assert small(torch.randn(5, 1, 8, 8)).shape == (5, 10)
    plan = space.plan(chain, DIGITS)
    assert not isinstance(plan, str)
    assert [s.out_shape for s in plan.steps] == [(8, 6, 6), (8, 3, 3), (4, 2, 2), (4, 2, 2)]
    assert plan.features == 16
    assert [m.out_features for m in small.head if isinstance(m, nn.Linear)] == [4, 2, 10]
    assert space.is_valid(chain, DIGITS)
    assert not space.is_valid(remnet, DIGITS)  # CONV_5.N after two CONV_2.N and a CONV_3.N needs 9x9


def test_conv_block_is_conv_relu6_batchnorm_dropout(space: MacroReSpace) -> None:
    module = space.build(space.decode("0:CONV_5.H 1:POOL_3.A 2:POOL_2.M | -2>0 0>1 1>2 2>99"), MNIST)
    conv = module.layers[module.node_keys[0]]
    assert [type(m) for m in conv] == [nn.Conv2d, nn.ReLU6, nn.BatchNorm2d, nn.Dropout2d]
    assert conv[0].kernel_size == (5, 5) and conv[0].stride == (1, 1) and conv[0].padding == (0, 0)
    assert conv[0].out_channels == 4 and conv[3].p == pytest.approx(0.1)
    avg = module.layers[module.node_keys[1]]
    assert isinstance(avg, nn.AvgPool2d) and avg.kernel_size == 3 and avg.stride == 3
    mx = module.layers[module.node_keys[2]]
    assert isinstance(mx, nn.MaxPool2d) and mx.kernel_size == 2 and mx.stride == 2


def test_multi_input_merge_resizes_and_reduces_channels(space: MacroReSpace) -> None:
    # node 0: CONV_3.N 28 -> 26 (8 ch); node 1: POOL_2.M 28 -> 14 (1 ch); node 2 merges them at 14x14, 1 ch
    genome = space.decode("0:CONV_3.N 1:POOL_2.M 2:CONV_2.H | -2>0 -2>1 0>2 1>2 2>99")
    plan = space.plan(genome, MNIST)
    assert not isinstance(plan, str)
    step = next(s for s in plan.steps if s.node == 2)
    assert step.in_shape == (1, 14, 14) and step.out_shape == (4, 13, 13)
    by_source = {inp.source: inp for inp in step.inputs}
    module = space.build(genome, MNIST)
    key0, key1, key2 = (module.node_keys[n] for n in (0, 1, 2))
    assert by_source[key0].resize == (14, 14) and by_source[key0].adapt == (8, 1)
    assert by_source[key1].resize is None and by_source[key1].adapt is None
    assert list(module.adapters) == [f"{key0}__{key2}"]
    adapter = module.adapters[f"{key0}__{key2}"]
    assert isinstance(adapter, nn.Conv2d) and adapter.kernel_size == (1, 1)
    assert (adapter.in_channels, adapter.out_channels) == (8, 1)
    assert plan.features == 4 * 13 * 13
    module.eval()
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        a = module.layers[key0](x)
        b = module.layers[key1](x)
        merged = adapter(F.interpolate(a, size=(14, 14), mode="nearest")) + b
        expected = module.head(module.layers[key2](merged))
        assert torch.allclose(module(x), expected)


def test_merge_enlarges_to_the_kernel(space: MacroReSpace) -> None:
    # on 8x8: CONV_5.N -> 4x4 and POOL_3.M -> 2x2 feed a CONV_5.H: both resized to 5x5, output 1x1
    genome = space.decode("0:CONV_5.N 1:POOL_3.M 2:CONV_5.H | -2>0 -2>1 0>2 1>2 2>99")
    wide = MacroReSpace(channels=16)
    plan = wide.plan(genome, DIGITS)
    assert not isinstance(plan, str)
    step = next(s for s in plan.steps if s.node == 2)
    assert step.in_shape == (1, 5, 5)
    assert {inp.resize for inp in step.inputs} == {(5, 5)}
    assert step.out_shape == (8, 1, 1)
    assert wide.is_valid(genome, DIGITS)
    # with a single 4x4 input the same kernel is too large
    single = wide.decode("0:CONV_5.N 1:CONV_5.H | -2>0 0>1 1>99")
    validity = wide.is_valid(single, DIGITS)
    assert not validity
    assert validity.reason == "kernel 5 of node 1 (CONV_5.H) is larger than its 4x4 input (empty feature map)"


def test_output_merges_like_a_node(space: MacroReSpace) -> None:
    genome = space.decode("0:CONV_3.N | -2>0 0>99 -2>99")  # raw image (1 ch, 28) and 8 x 26 x 26
    plan = space.plan(genome, MNIST)
    assert not isinstance(plan, str)
    out = plan.steps[-1]
    assert out.node == OUTPUT and out.layer is None and out.out_shape == (1, 26, 26)
    assert plan.features == 676
    assert space.build(genome, MNIST)(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_invalid_genomes_have_reasons(space: MacroReSpace) -> None:
    no_path = space.decode("0:CONV_3.N | -2>0 0>99x")
    assert space.is_valid(no_path, MNIST).reason == "no enabled path from input to output"
    dead_end = space.decode("0:CONV_3.N 1:POOL_2.A | -2>0 -2>1 1>99x 0>99x")
    assert space.is_valid(dead_end, MNIST).reason == "no enabled path from input to output"
    too_deep = space.decode("0:POOL_5.M 1:POOL_5.M 2:POOL_2.A | -2>0 0>1 1>2 2>99")  # 28 -> 5 -> 1 -> 0
    assert (
        "kernel 2 of node 2 (POOL_2.A) is larger than its 1x1 input" in space.is_valid(too_deep, MNIST).reason
    )
    tiny_head = MacroReSpace(channels=2).decode("0:CONV_5.H 1:POOL_5.M | -2>0 0>1 1>99")  # 1 x 4 x 4 = 16 ok
    assert MacroReSpace(channels=2).is_valid(tiny_head, MNIST)
    starved = MacroReSpace(channels=2).decode("0:CONV_5.H 1:POOL_5.M 2:POOL_3.A | -2>0 0>1 1>2 2>99")
    reason = MacroReSpace(channels=2).is_valid(starved, MNIST).reason
    assert reason == "only 1 features (1x1x1) reach the head: Linear(F, F//4) needs F >= 8"
    for genome in (no_path, too_deep):
        with pytest.raises(InvalidGenomeError, match="cannot build"):
            space.build(genome, MNIST)


def test_inactive_nodes_are_not_built(space: MacroReSpace) -> None:
    genome = space.decode("0:CONV_3.N 1:CONV_5.N 2:POOL_2.A | -2>0 0>99 -2>1 1>2x 0>2")
    module = space.build(genome, MNIST)
    assert set(module.node_keys) == {0, OUTPUT}
    assert _count(module) == _count(space.build(space.decode("0:CONV_3.N | -2>0 0>99"), MNIST))


def test_isomorphic_genomes_build_identical_networks(space: MacroReSpace) -> None:
    a = space.decode("0:CONV_3.N 1:POOL_2.M 2:CONV_2.H | -2>0 -2>1 0>2 1>2 2>99")
    b = space.decode("5:CONV_2.H 7:POOL_2.M 9:CONV_3.N | -2>7 9>5 7>5 5>99 -2>9")
    assert space.hash(a) == space.hash(b)
    torch.manual_seed(11)
    first = space.build(a, MNIST).state_dict()
    torch.manual_seed(11)
    second = space.build(b, MNIST).state_dict()
    assert list(first) == list(second)
    assert all(torch.equal(first[k], second[k]) for k in first)


# --- canonical form, summary, graph, named, suggest ---
def test_canonical_ignores_disabled_genes_dead_nodes_and_numbering(space: MacroReSpace) -> None:
    remnet = space.named("remnet")
    renumbered = space.decode(
        "10:CONV_3.H 11:CONV_3.H 3:POOL_5.A 4:CONV_5.N 5:CONV_3.N 6:CONV_2.N 7:CONV_2.N | "
        "11>99 -2>7 7>6 6>5 5>4 4>3 3>10 3>11 10>99"
    )
    decorated = space.decode(
        REMNET.replace("|", "20:POOL_2.M 21:CONV_5.N |") + " -2>99x 2>20 20>21 21>99x 3>21x"
    )
    assert space.canonical(remnet) == space.canonical(renumbered) == space.canonical(decorated)
    assert space.hash(remnet) == space.hash(decorated)
    swapped = space.decode(REMNET.replace("5:CONV_3.H", "5:CONV_3.N"))
    assert space.canonical(swapped) != space.canonical(remnet)
    assert MacroReSpace(channels=128).canonical(remnet) != space.canonical(remnet)


def test_canonical_distinguishes_wiring_with_equal_labels(space: MacroReSpace) -> None:
    # same layers, same edge count: a chain A->B->C with a skip input->C vs with a skip input->B
    skip_c = space.decode("0:CONV_3.N 1:CONV_3.N 2:CONV_3.N | -2>0 0>1 1>2 2>99 -2>2")
    skip_b = space.decode("0:CONV_3.N 1:CONV_3.N 2:CONV_3.N | -2>0 0>1 1>2 2>99 -2>1")
    assert space.canonical(skip_c) != space.canonical(skip_b)


def test_all_pathless_genomes_share_one_hash(space: MacroReSpace) -> None:
    a = space.decode("0:CONV_3.N | -2>0 0>99x")
    b = space.decode("| -2>99x")
    assert space.hash(a) == space.hash(b)
    assert space.hash(a) != space.hash(space.decode("| -2>99"))


def test_summary_counts_active_parts(space: MacroReSpace) -> None:
    assert space.summary(space.named("remnet")) == {
        "nodes": 7.0,
        "connections": 9.0,
        "layer_genes": 7.0,
        "connection_genes": 9.0,
    }
    genome = space.decode("0:CONV_3.N 1:CONV_5.N 2:POOL_2.A | -2>0 0>99 -2>1 1>2x 0>2 -2>99x")
    assert space.summary(genome) == {
        "nodes": 1.0,
        "connections": 2.0,
        "layer_genes": 3.0,
        "connection_genes": 6.0,
    }
    assert space.summary(space.decode("0:CONV_3.N | -2>0x 0>99"))["nodes"] == 0.0


def test_graph_shows_active_layers(space: MacroReSpace) -> None:
    graph = space.graph(space.decode("0:CONV_3.N 1:CONV_5.N | -2>0 0>99 -2>1 -2>99x"))
    assert graph.nodes == (("-2", "input"), ("0", "CONV_3.N"), ("99", "output"))
    assert graph.edges == (("-2", "0"), ("0", "99"))


def test_named_architectures(space: MacroReSpace) -> None:
    assert set(space.named_architectures()) == {"remnet", "es_best", "rs_best"}
    for name in space.named_architectures():
        assert space.is_valid(space.named(name), MNIST)
    assert space.named("es_best") == chain_genome(
        ["CONV_2.N", "CONV_2.N", "CONV_3.N", "CONV_5.N", "POOL_5.A", "CONV_3.H"]
    )
    with pytest.raises(UnknownNameError, match="remnet"):
        space.named("resnet")


def test_suggest_builds_bounded_fully_active_genomes(space: MacroReSpace) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bounded = MacroReSpace(channels=8, max_nodes=5)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sizes = set()
    for _ in range(40):
        trial = study.ask()
        genome = bounded.suggest(trial)
        assert 1 <= len(genome.nodes) <= 5 == trial.distributions["n_nodes"].high
        summary = bounded.summary(genome)
        assert summary["nodes"] == len(genome.nodes)
        assert summary["connections"] == len(genome.connections)
        assert bounded.decode(bounded.encode(genome)) == genome
        sizes.add(len(genome.nodes))
        study.tell(trial, 0.0)
    assert len(sizes) >= 3


def test_is_valid_agrees_with_the_cpu_build_and_leaves_torch_rng_alone() -> None:
    from harness.spaces.base import SearchSpace

    space = MacroReSpace(channels=4)
    rng = np.random.default_rng(5)
    outcomes = set()
    for _ in range(25):
        genome = space.sample(rng)
        for _ in range(int(rng.integers(0, 12))):
            genome = space.mutate(genome, rng)
        for task in (MNIST, DIGITS):
            torch.manual_seed(0)
            before = torch.random.get_rng_state()
            mine = space.is_valid(genome, task)
            assert torch.equal(before, torch.random.get_rng_state())
            cpu = SearchSpace.is_valid(space, genome, task)  # the base class: CPU build + forward
            assert bool(mine) == bool(cpu)
            if not mine:
                assert cpu.reason.endswith(mine.reason)
            outcomes.add(bool(mine))
    assert outcomes == {True, False}
