"""Property tests of the de_sequential space and its DE operators (hypothesis, derandomized)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InvalidGenomeError
from harness.spaces import Shape
from harness.spaces.de_sequential import (
    KERNELS,
    ConvLayer,
    DeGenome,
    DeHead,
    DeSequentialSpace,
    PoolLayer,
    Same,
    layer_type,
)

SPACE = DeSequentialSpace()
TASKS = (Shape((3, 32, 32), 10), Shape((1, 28, 28), 10))
PROPS = settings(derandomize=True, max_examples=100, deadline=None)

convs = st.builds(ConvLayer, st.sampled_from(KERNELS), st.integers(1, 256))
pools = st.builds(PoolLayer, st.sampled_from(("max", "avg")))
heads = st.builds(
    DeHead,
    st.one_of(st.none(), st.integers(2, 4096)),
    st.one_of(st.sampled_from((0.0, 0.25, 0.5)), st.floats(0.0, 0.999, allow_nan=False)),
)


@st.composite
def genomes(draw: st.DrawFn, max_length: int = 15, max_pools: int = 4) -> DeGenome:
    """Genomes inside the default space's bounds: 1..max_length layers, at most max_pools poolings."""
    first = draw(convs)
    rest = draw(st.lists(st.one_of(convs, pools), max_size=max_length - 1))
    kept, count = [], 0
    for layer in rest:
        if isinstance(layer, PoolLayer):
            if count >= max_pools:
                continue
            count += 1
        kept.append(layer)
    return DeGenome((first, *kept), draw(heads))


any_genomes = st.builds(
    lambda first, rest, head: DeGenome((first, *rest), head),
    convs,
    st.lists(st.one_of(convs, pools), max_size=25),
    heads,
)
seeds = st.integers(0, 2**32 - 1)


def check_reported(genome: DeGenome) -> None:
    """Valid for both tasks, or invalid with a reason (never an exception)."""
    for task in TASKS:
        validity = SPACE.is_valid(genome, task)
        assert validity.ok or validity.reason


@PROPS
@given(any_genomes)
def test_encode_decode_round_trip(genome: DeGenome) -> None:
    text = SPACE.encode(genome)
    back = SPACE.decode(text)
    assert back == genome
    assert SPACE.encode(back) == text
    assert SPACE.hash(back) == SPACE.hash(genome)


@PROPS
@given(any_genomes, any_genomes)
def test_hash_equal_iff_genomes_equal(a: DeGenome, b: DeGenome) -> None:
    assert (SPACE.hash(a) == SPACE.hash(b)) == (a == b)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(st.text(alphabet="CMAPFDx|. 0123579e-", max_size=30))
def test_decode_garbage_raises_only_invalid_genome_error(text: str) -> None:
    try:
        genome = SPACE.decode(text)
    except InvalidGenomeError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert SPACE.decode(SPACE.encode(genome)) == genome


@PROPS
@given(seeds)
def test_sample_is_valid_for_both_tasks(seed: int) -> None:
    genome = SPACE.sample(np.random.default_rng(seed))
    assert 7 <= len(genome.layers) <= 15
    for task in TASKS:
        assert SPACE.is_valid(genome, task)


@PROPS
@given(genomes(), seeds)
def test_mutate_in_bounds_stays_valid(genome: DeGenome, seed: int) -> None:
    child = SPACE.mutate(genome, np.random.default_rng(seed))
    assert child != genome
    assert len(child.layers) <= 15 and child.pools <= 4
    for task in TASKS:
        assert SPACE.is_valid(genome, task)
        assert SPACE.is_valid(child, task)


@PROPS
@given(any_genomes, seeds)
def test_mutate_never_raises_on_any_genome(genome: DeGenome, seed: int) -> None:
    check_reported(SPACE.mutate(genome, np.random.default_rng(seed)))


@PROPS
@given(any_genomes, any_genomes)
def test_difference_structure(a: DeGenome, b: DeGenome) -> None:
    diff = SPACE.difference(a, b)
    assert len(diff.entries) == max(len(a.layers), len(b.layers))
    for i, entry in enumerate(diff.entries):
        if i < len(a.layers) and i < len(b.layers):
            same_type = layer_type(a.layers[i]) == layer_type(b.layers[i])
            assert isinstance(entry, Same) == same_type
            if not same_type:
                assert entry == a.layers[i]
        else:
            assert entry == (a.layers[i] if i < len(a.layers) else b.layers[i])
    assert all(isinstance(e, Same) for e in SPACE.difference(a, a).entries)


@PROPS
@given(genomes(), genomes(), genomes(), seeds)
def test_de_mutation_of_valid_genomes_is_valid(best: DeGenome, r2: DeGenome, r3: DeGenome, seed: int) -> None:
    child = SPACE.de_mutation(best, r2, r3, np.random.default_rng(seed))
    diff = SPACE.difference(r2, r3)
    assert child.head == best.head
    assert child.pools <= 4 and len(child.layers) <= len(best.layers)
    assert isinstance(child.layers[0], ConvLayer)
    # without dropped poolings the child is the base with the non-"same" entries substituted
    substituted = [
        best.layers[i] if i >= len(diff.entries) or isinstance(diff.entries[i], Same) else diff.entries[i]
        for i in range(len(best.layers))
    ]
    if sum(isinstance(layer, PoolLayer) for layer in substituted) <= 4:
        assert list(child.layers) == substituted
    for task in TASKS:
        assert SPACE.is_valid(child, task)
    assert SPACE.add_difference(best, SPACE.difference(r2, r2), np.random.default_rng(seed)) == best


@PROPS
@given(any_genomes, any_genomes, any_genomes, seeds)
def test_de_mutation_never_raises_on_any_genome(a: DeGenome, b: DeGenome, c: DeGenome, seed: int) -> None:
    child = SPACE.de_mutation(a, b, c, np.random.default_rng(seed))
    assert child.pools <= SPACE.max_pools
    check_reported(child)


@settings(derandomize=True, max_examples=15, deadline=None)
@given(genomes(), st.sampled_from(TASKS))
def test_valid_genomes_build_and_run(genome: DeGenome, task: Shape) -> None:
    small = DeGenome(
        tuple(
            ConvLayer(layer.kernel, 1 + layer.channels % 8) if isinstance(layer, ConvLayer) else layer
            for layer in genome.layers
        ),
        DeHead(None if genome.head.width is None else 2 + genome.head.width % 64, genome.head.dropout),
    )
    module = SPACE.build(small, task)
    module.eval()
    with torch.no_grad():
        out = module(torch.zeros(2, *task.input_shape))
    assert out.shape == (2, task.num_classes)
    assert SPACE.count_params(small, task) == sum(p.numel() for p in module.parameters())
