"""DE-NAS (Pei, Chang, Tian; docs/methods.md, DE-NAS) against the
authors' notebooks (github.com/gamingzhang/ece7123_final_project: dl_final.ipynb, train_final_model.ipynb,
populations/population-9.bin): generations, Table 3's picks, the protocols and the initial sampling."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from torch import nn

from algorithms import Outcome, get_algorithm
from harness.config import load_config
from harness.spaces import Shape, get_space
from harness.tasks import preset
from reports import analysis_generations as ag

CIFAR = Shape((3, 32, 32), 10)
CONFIGS = Path(__file__).resolve().parents[2] / "benchmarks" / "configs"
POPULATION9 = Path(__file__).parent / "fixtures" / "de_population9_scores.json"
NOTEBOOK_STD = (0.2023, 0.1994, 0.2010)


def _drive(algo: object, fitness_of: object) -> list[int]:
    sizes = []
    while not algo.finished:  # type: ignore[attr-defined]
        batch = algo.ask(100)  # type: ignore[attr-defined]
        sizes.append(len(batch))
        algo.tell(  # type: ignore[attr-defined]
            [(c, Outcome(str(i), fitness_of(c.genome), params=1000 + i)) for i, c in enumerate(batch)]
        )
    return sizes


def test_nine_populations_are_the_initial_one_and_eight_rounds() -> None:
    """Table 1 "Numbers of generations 9"; dl_final.ipynb runs `for g in range(2, 10)` after the initial
    population and saves population-1..9.bin: 20 + 8 x 10 = 100 evaluations (not 110)."""
    space = get_space("de_sequential")
    algo = get_algorithm("differential_evolution", space, rng=0)
    assert algo.params["generations"] == 8
    sizes = _drive(algo, lambda g: 0.1 * (len(g.layers) % 7))
    assert sizes == [20] + [10] * 8 and sum(sizes) == 100
    assert len(algo.history) == 9  # type: ignore[attr-defined]
    for name in ("de_cifar10_paper", "de_cifar10"):
        config = load_config(CONFIGS / f"{name}.toml")
        (de,) = [a for a in config.algorithms if a.name == "differential_evolution"]
        assert de.params["generations"] == 8 and config.budget.evaluations == 100


def _population9() -> list[ag.Member]:
    members = json.loads(POPULATION9.read_text())["members"]
    return [
        ag.Member(
            m["entry"], str(m["entry"]), f"entry {m['entry']}", m["accuracy"], math.nan, m["parameters"]
        )
        for m in members
    ]


def test_table3_picks_entries_0_and_7_of_the_authors_population_9() -> None:
    """Results section and Table 3 vs train_final_model.ipynb: Model 1 = population-9.bin entry [0] (the
    best score 0.7 error + 0.3 params, 16,477,306 parameters; not the best accuracy), Model 2 = entry [7]
    (7,796,674 parameters; not the fewest parameters of that population)."""
    population = _population9()
    picks = ag.de_table3_picks(population)
    assert picks is not None
    assert picks.model1.index == 0 and picks.model1.params == 16_477_306
    assert picks.model2 is not None and picks.model2.index == 7 and picks.model2.params == 7_796_674
    assert picks.most_accurate.index != 0 and picks.most_accurate.fitness > picks.model1.fitness
    assert picks.fewest is not None and picks.fewest.params == 1_584_827 < picks.model2.params
    # the paper's two networks are the named architectures with exactly these parameter counts
    space = get_space("de_sequential")
    assert space.count_params(space.named("model1"), CIFAR) == picks.model1.params
    assert space.count_params(space.named("model2"), CIFAR) == picks.model2.params


def test_final_training_batch_64_and_the_notebooks_best_test_checkpoint() -> None:
    """Table 2 (200 epochs, batch 64, SGD 0.01, crop + flip) and train_final_model.ipynb (momentum 0.9, wd
    5e-4, CosineAnnealingLR(T_max=200) stepped per epoch, `range(0, 201)` epochs, the best test checkpoint
    kept: test-set selection)."""
    final = preset("cifar10_de_final")
    assert (final.batch_size, final.epochs, final.test_checkpoint) == (64, 200, "last")
    paper = preset("cifar10_de_final_paper")
    assert (paper.batch_size, paper.epochs, paper.test_checkpoint) == (64, 201, "best")
    assert (paper.schedule.name, paper.schedule.period) == ("cosine", 200)
    assert (paper.optimizer.lr, paper.optimizer.momentum, paper.optimizer.weight_decay) == (0.01, 0.9, 5e-4)
    assert paper.normalize is not None and paper.normalize[1] == NOTEBOOK_STD
    assert "test set" in paper.description and "BEST" in paper.description
    assert paper.key() != final.key()


def test_cifar10_de_paper_is_the_notebooks_search_protocol() -> None:
    """dl_final.ipynb: all 50,000 training images with RandomCrop(32, 4) + flip, SGD lr 0.01 batch 64,
    10 epochs, fitness = test accuracy after the 10th epoch, Normalize std (0.2023, 0.1994, 0.2010); the
    validation preset cifar10_de stays the default and keeps its key."""
    task = preset("cifar10_de_paper")
    assert (task.split.train, task.split.val, task.split.test) == (None, 0, None)
    assert sorted(task.augmentation) == ["crop", "hflip"]
    assert (task.epochs, task.batch_size, task.optimizer.name, task.optimizer.lr) == (10, 64, "sgd", 0.01)
    assert task.optimizer.momentum == 0.0 and task.objective == "test_acc" and task.test_checkpoint == "last"
    assert task.normalize is not None and task.normalize[1] == NOTEBOOK_STD
    default = preset("cifar10_de")
    assert default.objective == "val_acc" and default.key() == "00ebcd6bebf36b5d"
    assert load_config(CONFIGS / "de_cifar10_paper.toml").task.name == "cifar10_de_paper"


@pytest.mark.parametrize(("overflow", "length", "convs"), [("skip", 9.64, 6.03), ("conv", 11.01, 7.38)])
def test_initial_sampling_notebook_skips_a_fifth_pooling(overflow: str, length: float, convs: float) -> None:
    """dl_final.ipynb `initialization`: a pooling drawn once the map is 2x2 is skipped (`continue`), so
    the mean length is 9.64 layers with 6.03 convolutions; evonas's default turns it into a convolution
    (11.01 layers, 7.38 convolutions). 6,000 samples; tolerance 4 standard errors."""
    space = get_space("de_sequential", pool_overflow=overflow)
    rng = np.random.default_rng(7)
    genomes = [space.sample(rng) for _ in range(6000)]
    lengths = np.array([len(g.layers) for g in genomes])
    conv_counts = np.array([g.convs for g in genomes])
    assert lengths.mean() == pytest.approx(length, abs=4 * lengths.std() / np.sqrt(6000))
    assert conv_counts.mean() == pytest.approx(convs, abs=4 * conv_counts.std() / np.sqrt(6000))
    assert all(g.pools <= 4 for g in genomes)
    assert (lengths.min() < 7) == (overflow == "skip")


def test_head_floor_ten_as_in_the_notebook() -> None:
    """dl_final.ipynb: head widths max(10, F // 2) and max(10, F // 4); evonas's default floor is 1. Here
    F = 5 x 2 x 2 = 20: widths (10, 5) by default, (10, 10) with the notebook's floor."""
    text = "C3x5 MP MP MP MP | FC D0.5"
    widths = {}
    for floor in (1, 10):
        space = get_space("de_sequential", head_floor=floor)
        module = space.build(space.decode(text), CIFAR)
        linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
        widths[floor] = tuple(lin.out_features for lin in linears)
        assert space.count_params(space.decode(text), CIFAR) == sum(p.numel() for p in module.parameters())
    assert widths == {1: (10, 5, 10), 10: (10, 10, 10)}
    default, notebook = get_space("de_sequential"), get_space("de_sequential", head_floor=10)
    assert default.hash(default.decode(text)) != notebook.hash(notebook.decode(text))
    assert "head_floor" not in default.params and notebook.params["head_floor"] == 10


def _one_round(
    distinct_from_population: bool, seed: int, length: int
) -> tuple[set[str], list[str], list[str]]:
    """One DE round on a tiny space (lengths `length`, one pooling, channels fixed by max_channels 4):
    (hashes of the members, of the children, of the initial population)."""
    space = get_space("de_sequential", min_length=length, max_length=length, max_pools=1, max_channels=4)
    algo = get_algorithm(
        "differential_evolution",
        space,
        rng=seed,
        population=6,
        children=3,
        generations=1,
        distinct_from_population=distinct_from_population,
    )
    first = algo.ask(100)
    initial = [space.hash(c.genome) for c in first]
    algo.tell([(c, Outcome(h, 0.5, params=100)) for c, h in zip(first, initial, strict=True)])
    members = {space.hash(space.decode(m.encoding)) for m in algo.population}  # type: ignore[attr-defined]
    kids = [space.hash(c.genome) for c in algo.ask(100)]
    return members, kids, initial


def test_children_equal_to_members_are_kept_as_in_the_notebook() -> None:
    """dl_final.ipynb `mutation`: a child is rejected only if its part 1 repeats an earlier child of the
    same round (`part1Set`), not when it equals a current member, and the initial population is not
    checked (population-9.bin holds the 16,477,306-parameter network four times). evonas's default also
    redraws repeats of members; `distinct_from_population=False` is the notebook's behaviour."""
    ours = [_one_round(True, seed, 3) for seed in range(12)]
    notebook = [_one_round(False, seed, 3) for seed in range(12)]
    assert all(not (set(kids) & members) for members, kids, _ in ours)
    assert any(set(kids) & members for members, kids, _ in notebook)
    assert all(len(set(kids)) == len(kids) for _, kids, _ in notebook)  # distinct within the round
    # two layers: 24 networks, so six initial draws often repeat one; only evonas's default redraws it
    assert all(
        len(set(initial)) == len(initial) for _, _, initial in (_one_round(True, s, 2) for s in range(12))
    )
    assert any(
        len(set(initial)) < len(initial) for _, _, initial in (_one_round(False, s, 2) for s in range(12))
    )
