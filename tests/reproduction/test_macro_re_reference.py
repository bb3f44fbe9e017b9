"""The reference code of Kyriakides & Margaritis 2020 ("Regularized Evolution for Macro Neural Architecture
Search"): `get_space("macro_re", builder="reference")` and the `kyriakides2020_code` preset of
`regularized_evolution`.

The reference code is NORD (https://github.com/GeorgeKyriakides/nord), branch AIAI2020, commit
335a9f4e2dad5f786a46ede14bbe8d9788710ae4, the repository the paper links in Sec. 4.1. Each test names the
file of that repository (and the function) whose rule it checks. The fixture
`fixtures/macro_re_reference_params.json` was written by running the reference code's own builder on
seeded evonas genomes (`fixtures/make_macro_re_reference_params.py`, which imports it from a checkout
outside this repository).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from algorithms import get_algorithm
from algorithms.base import Outcome
from algorithms.regularized_evolution import RegularizedEvolution
from harness.errors import ConfigError
from harness.spaces import Shape, get_space
from harness.spaces.macro_re import MacroGenome, MacroReSpace
from harness.spaces.macro_re_reference import REFERENCE_COMMIT

FIXTURE = Path(__file__).parent / "fixtures" / "macro_re_reference_params.json"
FASHION_MNIST = Shape((1, 28, 28), 10)


def macro(builder: str, channels: int = 8) -> MacroReSpace:
    space = get_space("macro_re", channels=channels, builder=builder)
    assert isinstance(space, MacroReSpace)
    return space


def reference(channels: int = 8) -> MacroReSpace:
    return macro("reference", channels)


def paper(channels: int = 8) -> MacroReSpace:
    return macro("paper", channels)


def parameter_count(space: MacroReSpace, genome: MacroGenome, task: Shape) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in space.build(genome, task).parameters())


def outcome(space: MacroReSpace, encoding: str, task: Shape = FASHION_MNIST) -> tuple[bool, int | None]:
    genome = space.decode(encoding)
    if not space.is_valid(genome, task):
        return False, None
    return True, parameter_count(space, genome, task)


# --- the fixture: the reference code's own numbers ---
def test_fixture_names_the_reference_code() -> None:
    data = json.loads(FIXTURE.read_text())
    assert data["reference"]["repository"] == "https://github.com/GeorgeKyriakides/nord"
    assert data["reference"]["branch"] == "AIAI2020"
    assert data["reference"]["commit"] == REFERENCE_COMMIT
    assert len(data["genomes"]) >= 100


def test_reference_builder_matches_the_reference_code_on_every_fixture_genome() -> None:
    """NORD `nord/rem.py` (`evaluate`), `nord/architectural_design/metaheuristics/evolutionary/rem/genome.py`
    (`Genome.to_descriptor`) and `nord/neural_nets/neural_builder.py` (`NeuralNet`): for every fixture
    genome, the reference builder is valid exactly where the reference code builds the network without an
    exception, and then has the reference code's `count_parameters`. The paper builder differs on many of
    them, so the fixture tells the two apart."""
    data = json.loads(FIXTURE.read_text())
    mismatches = []
    paper_differs = 0
    for entry in data["genomes"]:
        task = Shape(tuple(entry["input_shape"]), data["num_classes"])
        got = outcome(reference(entry["channels"]), entry["encoding"], task)
        if got != (entry["valid"], entry["params"]):
            mismatches.append((entry["encoding"], entry["input_shape"], entry["channels"], got, entry))
        paper_differs += outcome(paper(entry["channels"]), entry["encoding"], task) != got
    assert mismatches == []
    assert paper_differs >= 30
    assert Counter(e["valid"] for e in data["genomes"]) == Counter({True: 134, False: 85})


def test_remnet_counts_agree_under_both_builders() -> None:
    """NORD `nord/train_best_architecture.py` builds REMNet with `NeuralNet`; the paper's 791,338 parameters
    (Sec. 4.2, C = 128) are also what the reference builder counts: REMNet has no merge its quirks touch."""
    for channels, expected in ((128, 791_338), (256, 3_159_626)):
        space = reference(channels)
        assert parameter_count(space, space.named("remnet"), FASHION_MNIST) == expected


# --- the rules, hand-checked (values also confirmed with the reference code) ---
def test_avgpool_output_size_is_bookkept_as_its_input_size() -> None:
    """NORD `nord/neural_nets/neural_builder.py`, `NeuralNet.get_output_size`: nn.AvgPool2d is not among the
    size-changing layers, so its bookkept output size is its input size. Two average pools (real 14x14 and
    9x9, both bookkept 28) into the output: nothing is resized and the sum fails (the reference raises
    "The size of tensor a (14) must match the size of tensor b (9)"); the paper builder resizes both to
    9x9. With a max pool beside it (bookkept 14), the 9x9 average is upsampled to 14x14: F = 196, so
    196*49+49 + 49*24+24 + 24*10+10 = 11,103 parameters, where the paper builder has F = 81: 1,960."""
    both_avg = "0:POOL_2.A 1:POOL_3.A | -2>0 -2>1 0>99 1>99"
    validity = reference().is_valid(reference().decode(both_avg), FASHION_MNIST)
    assert not validity and "cannot sum the inputs of node 99 (14x14, 9x9)" in validity.reason
    assert outcome(paper(), both_avg) == (True, 1_960)
    mixed = "0:POOL_3.A 1:POOL_2.M | -2>0 -2>1 0>99 1>99"
    assert outcome(reference(), mixed) == (True, 11_103)
    plan = reference().plan(reference().decode(mixed), FASHION_MNIST)
    assert not isinstance(plan, str) and plan.features == 196
    assert outcome(paper(), mixed) == (True, 1_960)


def test_single_input_smaller_than_the_kernel_is_upsampled() -> None:
    """NORD `nord/neural_nets/neural_builder.py`, `NeuralNet.get_min_input_size`: the smallest input size is
    raised to the target's `kernel_size` for any number of inputs, and `scale_layer_outputs` then resizes
    the input. 28 -> POOL_5.M -> 5 -> POOL_5.M -> 1 -> CONV_3.N: the 1x1 map is upsampled to 3x3, the conv
    gives 8x1x1, F = 8: conv 8*9+8, BN 16, head 8*2+2 + 2*1+1 + 1*10+10 = 137 parameters. The paper calls
    it invalid (a kernel larger than its input)."""
    chain = "0:POOL_5.M 1:POOL_5.M 2:CONV_3.N | -2>0 0>1 1>2 2>99"
    assert outcome(reference(), chain) == (True, 137)
    plan = reference().plan(reference().decode(chain), FASHION_MNIST)
    assert not isinstance(plan, str)
    assert plan.steps[-2].inputs[0].resize == (3, 3) and plan.steps[-2].out_shape == (8, 1, 1)
    assert "kernel 3 of node 2" in paper().is_valid(paper().decode(chain), FASHION_MNIST).reason


def test_forward_pass_leaves_out_inputs_from_deeper_levels() -> None:
    """NORD `nord/neural_nets/neural_builder.py`, `__name_all_paths` and `__internal_fwd`: layers are named
    by their depth level on the simple input->output paths (shortest first), and the forward pass skips
    every input of a higher level than the layer reading it. Input -> POOL_2.A -> output beside input ->
    output: the output's level is 2 (distance 1, + 1), the pool's output layer's 3, so the output is the
    raw image alone: F = 784, 784*196+196 + 196*98+98 + 98*10+10 = 174,156 parameters (the paper builder
    sums both at 14x14: 11,103). With CONV_3.N and POOL_2.M branches the conv's (5 layers deep) is left
    out: the parameter counts agree (its 1x1 conv is built all the same) but the networks differ."""
    space = reference()
    assert outcome(space, "0:POOL_2.A | -2>0 0>99 -2>99") == (True, 174_156)
    branches = space.decode("0:CONV_3.N 1:POOL_2.M | -2>0 0>99 -2>1 1>99")
    plan = space.plan(branches, FASHION_MNIST)
    assert not isinstance(plan, str)
    module = space.build(branches, FASHION_MNIST)
    conv_key, pool_key = module.node_keys[0], module.node_keys[1]
    assert {inp.source: inp.skip for inp in plan.steps[-1].inputs} == {conv_key: True, pool_key: False}
    paper_module = paper().build(branches, FASHION_MNIST)
    assert parameter_count(space, branches, FASHION_MNIST) == sum(
        p.numel() for p in paper_module.parameters()
    )
    module.eval()
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        only_pool = module.head(module.layers[pool_key](x))
        assert torch.allclose(module(x), only_pool)


def test_an_input_read_before_it_is_computed_makes_the_genome_invalid() -> None:
    """NORD `nord/neural_nets/neural_builder.py`, `__internal_fwd`: layers run in sorted name order, so an
    input of the same level whose name sorts after its reader is read before it exists: the reference
    raises KeyError: '003_1out'. Input -> 2 -> 0 and input -> 1 -> 0 (max pools): the first shortest
    path runs through node 2, node 1's output layer gets level 3 as does node 0's conv, and '003_1out'
    sorts after '003_0in'. Swapping the ids of nodes 0 and 1 (an isomorphic genome) builds: the reference
    builder's networks depend on node ids, so its canonical form does too; the paper builder's does not."""
    space = reference()
    failing = space.decode("0:POOL_2.M 1:POOL_2.M 2:POOL_2.M | -2>2 -2>1 2>0 1>0 0>99")
    building = space.decode("0:POOL_2.M 1:POOL_2.M 2:POOL_2.M | -2>2 -2>0 2>1 0>1 1>99")
    validity = space.is_valid(failing, FASHION_MNIST)
    assert not validity and "reads layer 003_1out before computing it" in validity.reason
    assert outcome(space, space.encode(building)) == (True, 748)
    assert paper().hash(failing) == paper().hash(building)
    assert space.hash(failing) != space.hash(building)


def test_head_without_inputs_is_invalid_as_with_the_authors_pytorch() -> None:
    """NORD `nord/neural_nets/neural_builder.py`, `NeuralNet.__init__`: Linear(F, int(F/4)) ->
    Linear(int(F/4), int(F/8)) -> Linear(int(F/8), 10). With F = 1 a Linear has no inputs: PyTorch before
    1.9 raised ZeroDivisionError initialising it (pytorch/pytorch#48152), so the genome was invalid in the
    authors' runs (March 2020). Today's PyTorch would build it (10 parameters, the last bias): the fixture
    records that as `current_torch`, on exactly the genomes with F < 8."""
    tiny = "0:POOL_5.M 1:POOL_5.M | -2>0 0>1 1>99"  # 28 -> 5 -> 1: F = 1
    validity = reference().is_valid(reference().decode(tiny), FASHION_MNIST)
    assert not validity and "only 1 features" in validity.reason
    data = json.loads(FIXTURE.read_text())
    for entry in data["genomes"]:
        space = reference(entry["channels"])
        reason = space.is_valid(
            space.decode(entry["encoding"]), Shape(tuple(entry["input_shape"]), 10)
        ).reason
        assert ("current_torch" in entry) == reason.startswith("only "), entry
        if "current_torch" in entry:
            assert entry["error"].startswith("ZeroDivisionError") and entry["current_torch"]["valid"]


# --- identity: the builder is part of the space and of every hash ---
def test_builder_parameter_and_hashes() -> None:
    """The default builder's parameters and hashes are those of earlier versions (existing caches stay
    valid); the reference builder's are different, so networks built differently never share an entry."""
    default = get_space("macro_re")
    assert get_space("macro_re", builder="paper") == default
    assert "builder" not in default.params
    ref = reference(64)
    assert ref.params["builder"] == "reference"
    assert get_space("macro_re", **ref.params) == ref and ref != default
    remnet = default.named("remnet")
    assert default.hash(remnet) == "d253e97ae7284bfa6f86487e0346776b3ce0f3a38e7dfdc7b39c2a6e30409256"
    assert ref.hash(remnet) != default.hash(remnet)
    assert "builder=reference" in ref.canonical(remnet)
    with pytest.raises(ConfigError, match="builder"):
        get_space("macro_re", builder="nord")


def test_reference_canonical_form_is_that_of_the_built_network() -> None:
    """Genomes that build the same reference network share a canonical form: relabelled node ids that keep
    their order (so every name sorts alike), and genomes differing only in disabled or inactive genes."""
    space = reference()
    a = space.decode("0:POOL_2.A 1:CONV_3.N | -2>0 0>1 -2>1 1>99")
    b = space.decode("3:POOL_2.A 7:CONV_3.N | -2>3 3>7 -2>7 7>99")
    c = space.decode("0:POOL_2.A 1:CONV_3.N 2:POOL_5.M | -2>0 0>1 -2>1 1>99 -2>99x 0>2")
    assert space.canonical(a) == space.canonical(b) == space.canonical(c)
    assert "SKIP" in space.canonical(a)  # the pool's output (level 3) into the conv (level 2) is left out
    for genome in (a, b, c):
        assert outcome(space, space.encode(genome)) == outcome(space, space.encode(a))


# --- the kyriakides2020_code preset: tournament ties and the layer re-draw ---
def _population_with_a_tie(algo: RegularizedEvolution) -> None:
    space = algo.space
    encodings = [space.encode(space.sample(np.random.default_rng(s))) for s in range(4)]
    algo.population.extend(zip(encodings, [0.5, 0.9, 0.9, 0.1], strict=True))


def test_code_preset_breaks_ties_by_the_first_drawn_member() -> None:
    """NORD `nord/rem.py`: `sample = np.random.choice(population, size=parents_no)` then
    `np.argmax([x.fitness for x in sample])`, the first of the best in drawing order. Members 1 and 2 tie
    at 0.9: with the same draws, the code preset takes whichever was drawn first, the paper preset
    (`kyriakides2020`, ties unspecified in the paper) the older, member 1."""
    space = get_space("macro_re")
    firsts: Counter[int] = Counter()
    for seed in range(40):
        picks = np.random.default_rng(seed).integers(0, 4, 25).tolist()
        first = next(i for i in picks if i in (1, 2))
        chosen = {}
        for preset in ("kyriakides2020_code", "kyriakides2020"):
            algo = get_algorithm(
                "regularized_evolution", space, rng=np.random.default_rng(seed), preset=preset
            )
            assert isinstance(algo, RegularizedEvolution)
            _population_with_a_tie(algo)
            chosen[preset] = space.encode(algo._parent())
        members = [enc for enc, _ in algo.population]
        assert chosen["kyriakides2020_code"] == members[first]
        assert chosen["kyriakides2020"] == members[1]
        firsts[first] += 1
    assert firsts[1] > 0 and firsts[2] > 0  # both orders occurred, so the presets did differ


def test_code_preset_parameters() -> None:
    space = get_space("macro_re")
    code = get_algorithm("regularized_evolution", space, preset="kyriakides2020_code")
    assert code.params == {
        "preset": "kyriakides2020_code",
        "population": 100,
        "sample_size": 25,
        "cycles": 1000,
        "replacement": True,
        "tie_break": "first_drawn",
        "redraw_io": True,
    }
    paper = get_algorithm("regularized_evolution", space, preset="kyriakides2020")
    assert "tie_break" not in paper.params and "redraw_io" not in paper.params
    gcnn = get_space("genetic_cnn")  # a space without the re-draw: the preset's option does not apply
    code_gcnn = get_algorithm("regularized_evolution", gcnn, preset="kyriakides2020_code")
    assert code_gcnn.params["tie_break"] == "first_drawn" and "redraw_io" not in code_gcnn.params


def test_redraw_of_the_input_or_output_is_a_no_op() -> None:
    """NORD `nord/architectural_design/metaheuristics/evolutionary/rem/genome.py`, `Genome.mutate`: a layer
    re-draw picks `np.random.choice(list(self.nodes.genes.keys()))`, the input and output genes included,
    and `gene.py`'s `LayerGene.mutate` does nothing to those. With 4 hidden nodes a re-draw is a no-op
    (the parent itself) with probability 2/6, checked on 6,000 re-draws within 4 binomial standard
    deviations; without `redraw_io` it never returns the parent itself."""
    space = paper(64)
    parent = space.sample(np.random.default_rng(0))
    rng = np.random.default_rng(11)
    redraws = same = 0
    while redraws < 6000:
        child, kind = space.mutate_with_kind(parent, rng, redraw_io=True)
        if kind == "layer":
            redraws += 1
            same += child is parent
    sigma = math.sqrt(redraws * (1 / 3) * (2 / 3))
    assert abs(same - redraws / 3) <= 4 * sigma
    rng = np.random.default_rng(11)
    for _ in range(2000):
        child, kind = space.mutate_with_kind(parent, rng)
        assert not (kind == "layer" and child is parent)
    bare = space.decode("| -2>99")  # only the input and output genes: the code's re-draw changes nothing
    kinds = {space.mutate_with_kind(bare, np.random.default_rng(s), redraw_io=True)[1] for s in range(200)}
    assert kinds == {"add_node", "identity", "layer", "toggle"}


def test_code_preset_mutates_with_the_code_redraw() -> None:
    """The `kyriakides2020_code` preset asks the space for the reference code's re-draw; the paper preset
    for the paper's (hidden nodes only)."""

    class Recording(MacroReSpace):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[dict[str, object]] = []

        def mutate(self, genome: MacroGenome, rng: np.random.Generator, **options: bool) -> MacroGenome:
            self.calls.append(options)
            return super().mutate(genome, rng, **options)

    for preset, expected in (("kyriakides2020_code", {"redraw_io": True}), ("kyriakides2020", {})):
        space = Recording()
        algo = get_algorithm(
            "regularized_evolution", space, rng=np.random.default_rng(0), preset=preset, population=3
        )
        for _ in range(5):
            candidates = algo.ask(1)
            algo.tell([(c, Outcome(arch_hash=space.hash(c.genome), fitness=0.5)) for c in candidates])
        assert space.calls and all(call == expected for call in space.calls)
