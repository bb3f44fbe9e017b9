"""Claims of Genetic CNN (Xie & Yuille, ICCV 2017) that the genetic_cnn space and GA reproduce (the paper's
statements checked one by one; see test_genetic_cnn_fidelity.py for where evonas states its own choices)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats

from algorithms import Candidate, Outcome, get_algorithm
from algorithms.genetic_cnn_ga import roulette_probabilities
from harness.spaces import Shape, get_space
from harness.spaces.genetic_cnn import GeneticStage, stage_bit_count

CIFAR = Shape((3, 32, 32), 10)
SPACE = get_space("genetic_cnn")


def test_string_length_19_and_524288_strings():
    """Sec. 3.1: S = 3, (K1, K2, K3) = (3, 4, 5) gives L = 19 and 2^19 = 524,288 possible individuals."""
    assert SPACE.length == 19
    assert 2**SPACE.length == 524_288
    assert [stage_bit_count(k) for k in (3, 4, 5)] == [3, 6, 10]


def test_table1_best_structure_decodes():
    """Table 1, generation 50: the best individual is '1-01 0-01-100 0-11-101-0001' (77.19%)."""
    genome = SPACE.decode("1-01 0-01-100 0-11-101-0001")
    assert SPACE.encode(genome) == "1-01 0-01-100 0-11-101-0001"
    assert genome == SPACE.named("table1_best")


def test_all_ones_is_the_densely_connected_stage():
    """Sec. 4.1.4: all bits 1 -> 'any two layers within the same stage are connected'."""
    net = SPACE.build(SPACE.from_bits([1] * 19), CIFAR)
    for k, stage in zip((3, 4, 5), (net.features[0], net.features[2], net.features[4]), strict=True):
        assert stage.active == tuple(range(1, k + 1))
        for v in range(1, k + 1):
            assert stage.preds[v] == tuple(range(1, v))
        assert stage.sinks == (k,)


def test_fig2_blocks_are_encodable():
    """Fig. 2: VGGNet (chain), ResNet and DenseNet-like blocks are binary strings of the space."""
    chain = SPACE.named("chain")
    stage = SPACE.build(chain, CIFAR).features[4]
    assert all(stage.preds[v] == (v - 1,) for v in range(2, 6))
    resnet = SPACE.build(SPACE.named("resnet"), CIFAR).features[4]
    assert resnet.preds[3] == (1, 2) and resnet.preds[5] == (3, 4)  # identity-like skips over two convs
    dense = SPACE.build(SPACE.named("densenet"), CIFAR).features[4]
    assert dense.preds[5] == (1, 2, 3, 4)


def _params(genome) -> int:
    with torch.device("meta"):  # shapes only: no memory, no arithmetic
        return sum(p.numel() for p in SPACE.build(genome, CIFAR).parameters())


def test_parameter_count_depends_only_on_non_isolated_nodes():
    """Sec. 4.1.4: 'the number of learnable weights ... is related to the number of non-isolated nodes, since
    each of them contributes the same number of weights regardless of the number of lower-numbered nodes
    that are connected to it'. Checked on all 1,024 strings of the 5-node stage (the only part of the
    network that changes), and on whole networks for a sample of strings."""
    counts: dict[tuple[int, ...], set[int]] = {}
    per_size: dict[int, set[int]] = {}
    for bits in itertools.product((0, 1), repeat=10):
        with torch.device("meta"):
            stage = GeneticStage(16, 16, 5, bits)
        n = sum(p.numel() for p in stage.parameters())
        counts.setdefault(stage.active, set()).add(n)
        per_size.setdefault(len(stage.active), set()).add(n)
    assert all(len(c) == 1 for c in counts.values())
    assert all(len(c) == 1 for c in per_size.values())
    assert len(per_size) == 5  # 0 (single conv), 2, 3, 4, 5 active nodes: five different sizes
    rng = np.random.default_rng(5)
    whole: dict[tuple[int, ...], set[int]] = {}
    for _ in range(40):
        genome = SPACE.sample(rng)
        sizes = tuple(len(SPACE.build(genome, CIFAR).features[2 * s].active) for s in range(3))
        whole.setdefault(sizes, set()).add(_params(genome))
    assert all(len(c) == 1 for c in whole.values())


def test_roulette_probability_proportional_to_r_minus_min():
    """Sec. 3.2.2: P(n) proportional to r_n - r_0 with r_0 the minimum; the worst is always eliminated."""
    r = [0.70, 0.75, 0.72, 0.80]
    p = roulette_probabilities(r)
    expected = np.array([0.0, 0.05, 0.02, 0.10]) / 0.17
    assert np.allclose(p, expected)
    assert np.allclose(roulette_probabilities([0.5, 0.5, 0.5]), 1 / 3)


class _FakeSpaceFitness:
    """A deterministic fitness for GA-level statistics: the fraction of 1-bits."""

    @staticmethod
    def of(genome) -> float:
        return sum(genome.bits) / len(genome.bits)


def _run_generation(ga, fitness_of):
    cands = ga.ask(1000)
    ga.tell([(c, Outcome(SPACE.hash(c.genome), fitness_of(c.genome))) for c in cands])
    return cands


def test_ga_operator_probabilities_statistically():
    """Sec. 4.1.1: p_M = 0.8, q_M = 0.05, p_C = 0.2, q_C = 0.2. Over many generations (fixed seed) the
    fraction of crossed pairs is p_C, of mutated non-crossed individuals p_M, and selection never picks
    the worst individual; binomial two-sided tests at alpha = 1e-3."""
    ga = get_algorithm("genetic_cnn_ga", SPACE, rng=np.random.default_rng(7), population=20, generations=400)
    _run_generation(ga, _FakeSpaceFitness.of)
    pairs = crossed = eligible = mutated = worst_picked = 0
    for _ in range(400):
        worst = int(np.argmin(ga.fitness))
        worst_tied = sum(1 for f in ga.fitness if f == ga.fitness[worst]) > 1
        _run_generation(ga, _FakeSpaceFitness.of)
        var = ga.last_variation
        pairs += 10
        crossed += len(var["crossed_pairs"])
        eligible += 20 - 2 * len(var["crossed_pairs"])
        mutated += len(var["mutated"])
        if not worst_tied:
            worst_picked += var["parents"].count(worst)
    assert ga.finished
    assert stats.binomtest(crossed, pairs, 0.2).pvalue > 1e-3
    assert stats.binomtest(mutated, eligible, 0.8).pvalue > 1e-3
    assert worst_picked == 0


def test_bit_flip_and_stage_swap_rates():
    """Sec. 3.2.3: each bit flips with q_M; each pair of stages is exchanged with q_C."""
    rng = np.random.default_rng(11)
    zeros = SPACE.zeros()
    flips = sum(sum(SPACE.flip_bits(zeros, 0.05, rng).bits) for _ in range(4000))
    assert stats.binomtest(flips, 4000 * 19, 0.05).pvalue > 1e-3
    ones = SPACE.from_bits([1] * 19)
    swaps = 0
    for _ in range(4000):
        a, _b = SPACE.swap_stages(zeros, ones, 0.2, rng)
        swaps += sum(1 for s in a.stages if any(s))
    assert stats.binomtest(swaps, 4000 * 3, 0.2).pvalue > 1e-3


def test_evaluations_per_run_and_reevaluation_by_replicate():
    """Sec. 4.1.1: at most N(T + 1) = 20 x 51 = 1,020 individuals; Sec. 3.2.4: an individual seen before is
    evaluated again (next replicate) and its fitness is the mean over all its occurrences."""
    ga = get_algorithm("genetic_cnn_ga", SPACE, rng=np.random.default_rng(0), population=20, generations=50)
    asked: list[Candidate] = []
    noise = np.random.default_rng(1)
    results: dict[tuple[str, int], float] = {}
    while not ga.finished:
        cands = ga.ask(7)  # partial batches, as a runner with 7 workers would ask
        assert cands, "the GA must hand out its generation before finishing"
        asked += cands
        obs = []
        for c in cands:
            key = (SPACE.hash(c.genome), c.replicate)
            results.setdefault(key, _FakeSpaceFitness.of(c.genome) + noise.normal(0, 0.01))
            obs.append((c, Outcome(key[0], results[key])))
        ga.tell(obs)
    assert len(asked) == 1020
    seen: dict[str, int] = {}
    for c in asked:  # replicates count the earlier occurrences of the same network
        h = SPACE.hash(c.genome)
        assert c.replicate == seen.get(h, 0)
        seen[h] = c.replicate + 1
    last = ga.history[-1]
    for enc, fit in zip(last["members"], last["fitness"], strict=True):
        h = SPACE.hash(SPACE.decode(enc))
        assert fit == pytest.approx(np.mean([results[(h, r)] for r in range(seen[h])]))


def test_all_zero_initialisation():
    """Sec. 4.1.2: the naive initialisation starts from N all-zero strings."""
    ga = get_algorithm("genetic_cnn_ga", SPACE, rng=np.random.default_rng(0), init="zeros")
    cands = ga.ask(20)
    assert all(sum(c.genome.bits) == 0 for c in cands)
    assert [c.replicate for c in cands] == list(range(20))
