"""The renas algorithm: Algorithm 1's loop, the controller (seeded, replayable, resumable), the variants."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from algorithms import Outcome, get_algorithm
from algorithms.renas import VARIANTS, reward
from algorithms.renas_controller import ControllerConfig, MutationController, replayer, sampler
from algorithms.renas_tensors import load_module_json, module_to_json, tensor_from_json, tensor_to_json
from harness.errors import EvonasError
from harness.spaces import get_space

SMALL = {"population": 5, "sample_size": 3, "embedding": 12, "hidden": 12}


def space():
    return get_space("renas_cell")


def fitness(sp, genome) -> Outcome:
    """A stand-in for training that prefers separable convs (so a learning controller has a signal)."""
    h = sp.hash(genome)
    seps = sum(op.startswith("sep") for b in genome.blocks for op in (b.o1, b.o2))
    return Outcome(h, 0.5 + 0.04 * seps + (int(h[:4], 16) % 100) / 10_000)


def drive(algo, steps: int) -> list[str]:
    out = []
    for _ in range(steps):
        (cand,) = algo.ask(1)
        out.append(algo.space.encode(cand.genome))
        algo.tell([(cand, fitness(algo.space, cand.genome))])
    return out


def weights(algo) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in algo.controller.state_dict().items()}


@pytest.mark.parametrize("variant", VARIANTS)
def test_population_loop_keeps_p_members_and_children_are_one_action_per_block(variant):
    sp = space()
    algo = get_algorithm("renas", sp, rng=0, variant=variant, **SMALL)
    drive(algo, 5)
    for _ in range(5):
        (cand,) = algo.ask(1)
        entry = algo.pending[-1]
        if variant != "rl":
            parent = sp.decode(entry["parent"])
            assert len(entry["actions"]) == sp.blocks  # 2#B decisions: one (router, mutator) pair per block
            diffs = [
                sum(a != b for a, b in zip((x.i1, x.i2, x.o1, x.o2), (y.i1, y.i2, y.o1, y.o2), strict=True))
                for x, y in zip(cand.genome.blocks, parent.blocks, strict=True)
            ]
            assert max(diffs) <= 1
            assert entry["parent"] in [m[1] for m in algo.population]
        algo.tell([(cand, fitness(sp, cand.genome))])
        if variant != "rl":
            assert len(algo.population) == 5
    assert len(algo.history) == 10
    assert (algo.updates > 0) == (variant != "ea")


def test_initial_population_is_evaluated_before_evolution():
    algo = get_algorithm("renas", space(), rng=0, **SMALL)
    first = algo.ask(10)
    assert len(first) == 5 and algo.ask(1) == []  # waits for the whole initial population
    algo.tell([(c, fitness(algo.space, c.genome)) for c in first[:4]])
    assert algo.ask(1) == []
    algo.tell([(first[4], fitness(algo.space, first[4].genome))])
    assert len(algo.ask(1)) == 1


def test_parent_is_the_best_of_the_sample_and_the_worst_leaves():
    sp = space()
    algo = get_algorithm("renas", sp, rng=3, variant="ea", population=4, sample_size=4)
    first = algo.ask(4)
    scores = [0.2, 0.9, 0.5, 0.1]
    algo.tell([(c, Outcome(sp.hash(c.genome), s)) for c, s in zip(first, scores, strict=True)])
    (child,) = algo.ask(1)
    entry = algo.pending[-1]
    assert entry["parent"] == sp.encode(first[1].genome)
    algo.tell([(child, Outcome(sp.hash(child.genome), 0.3))])
    assert sorted(m[2] for m in algo.population) == [0.2, 0.3, 0.5, 0.9]  # 0.1 (the worst) left


def test_same_seed_same_controller_trajectory_and_no_global_torch_rng():
    before = torch.random.get_rng_state().clone()
    a = get_algorithm("renas", space(), rng=7, **SMALL)
    b = get_algorithm("renas", space(), rng=7, **SMALL)
    first = drive(a, 9)
    assert first == drive(b, 9)
    assert all(torch.equal(x, weights(b)[k]) for k, x in weights(a).items())
    assert torch.equal(torch.random.get_rng_state(), before)  # the global torch generator was never used
    assert drive(get_algorithm("renas", space(), rng=8, **SMALL), 9) != first


@pytest.mark.parametrize("variant", ["renas", "rl"])
def test_resume_from_json_state_continues_the_controller_exactly(variant):
    algo = get_algorithm("renas", space(), rng=1, variant=variant, **SMALL)
    head = drive(algo, 8)
    (pending,) = algo.ask(1)  # a child in flight at the checkpoint
    text = json.dumps(algo.state_dict(), allow_nan=False)
    clone = get_algorithm("renas", space(), rng=99, variant=variant, **SMALL)
    clone.load_state_dict(json.loads(text))
    assert all(torch.equal(x, weights(clone)[k]) for k, x in weights(algo).items())
    for run in (algo, clone):
        run.tell([(pending, fitness(run.space, pending.genome))])
    assert head + drive(clone, 6) == head + drive(algo, 6)
    assert all(torch.equal(x, weights(clone)[k]) for k, x in weights(algo).items())
    for va, vb in zip(algo.optimizer.state.values(), clone.optimizer.state.values(), strict=True):
        assert torch.equal(va["exp_avg_sq"], vb["exp_avg_sq"])


def test_replaying_recorded_actions_gives_the_sampled_log_probability():
    sp = space()
    cfg = ControllerConfig(sp.blocks, sp.ops, embedding=16, hidden=16)
    ctrl = MutationController(cfg, torch.Generator().manual_seed(0))
    genome = sp.named("renasnet")
    sampled = ctrl.decide(genome, sampler(np.random.default_rng(0)))
    replayed = ctrl.decide(genome, replayer(sampled.actions, generates=False))
    assert replayed.actions == sampled.actions
    assert torch.equal(replayed.log_prob, sampled.log_prob) and torch.equal(replayed.entropy, sampled.entropy)
    # with N(0, 0.01) weights the policy starts almost uniform: entropy near the uniform policies' maximum
    uniform = sum(
        math.log(4) + (math.log(b + 2) if pos < 2 else math.log(6)) for b, pos, _ in sampled.actions
    )
    assert uniform * 0.999 < float(sampled.entropy.detach()) <= uniform + 1e-6


def test_a_policy_gradient_step_raises_the_probability_of_rewarded_actions():
    sp = space()
    algo = get_algorithm("renas", sp, rng=0, **SMALL)
    drive(algo, 5)
    (cand,) = algo.ask(1)
    entry = algo.pending[-1]
    actions = [tuple(a) for a in entry["actions"]]
    parent = sp.decode(entry["parent"])
    before = float(algo.controller.decide(parent, replayer(actions, False)).log_prob)
    algo.baseline = 0.0  # a reward far above the baseline
    algo.tell([(cand, Outcome(sp.hash(cand.genome), 0.95))])
    after = float(algo.controller.decide(parent, replayer(actions, False)).log_prob)
    assert after > before


def test_reward_is_the_papers_tangent_clipped_below_one():
    assert reward(0.5) == pytest.approx(1.0)
    assert reward(0.0) == 0.0
    assert reward(1.0) == reward(0.99) == pytest.approx(math.tan(0.99 * math.pi / 2))
    assert reward(0.9) > reward(0.8) - reward(0.7) + reward(0.8)  # gains grow with accuracy


def test_tensors_round_trip_exactly_and_malformed_ones_are_refused():
    t = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(tensor_from_json(json.loads(json.dumps(tensor_to_json(t)))), t)
    good = tensor_to_json(t)
    for bad in ({**good, "shape": [5, 4]}, {**good, "dtype": "object"}, {**good, "data": 3}, {"x": 1}):
        with pytest.raises(ValueError):
            tensor_from_json(bad)
    ctrl = MutationController(ControllerConfig(2, ("sep3", "id"), 4, 4), torch.Generator().manual_seed(1))
    other = MutationController(ControllerConfig(2, ("sep3", "id"), 4, 4), torch.Generator().manual_seed(2))
    load_module_json(other, module_to_json(ctrl))
    assert all(
        torch.equal(a, b)
        for a, b in zip(ctrl.state_dict().values(), other.state_dict().values(), strict=True)
    )
    with pytest.raises(ValueError):
        load_module_json(
            MutationController(ControllerConfig(3, ("sep3",), 4, 4), torch.Generator()), module_to_json(ctrl)
        )


def test_bad_parameters_and_spaces_are_refused():
    with pytest.raises(EvonasError):
        get_algorithm("renas", space(), variant="amoeba")
    with pytest.raises(EvonasError):
        get_algorithm("renas", get_space("genetic_cnn"))


def test_config_inherit_false_is_the_plain_run_and_inherit_true_is_one_clear_error(tmp_path):
    from harness.config import load_config
    from harness.errors import ConfigError

    source = Path(__file__).resolve().parents[2] / "benchmarks" / "configs" / "renas_digits_ci.toml"
    text = source.read_text()
    plain = 'params = { variant = "renas", population = 4, sample_size = 2 }'
    assert plain in text
    for value in ("false", "true"):
        path = tmp_path / f"inherit_{value}.toml"
        path.write_text(text.replace(plain, plain[:-2] + f", inherit = {value} }}"))
        if value == "false":
            config = load_config(path)
            assert config.algorithms[0].params["inherit"] is False
        else:
            with pytest.raises(ConfigError, match="inherit = true needs each child's parent weights"):
                load_config(path)
