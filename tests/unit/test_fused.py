"""Fused population training: each network of a fused group trains exactly as it would alone.

The contract (a stored result depends only on task, architecture and replicate) is tested bitwise on the
CPU with one thread: a network trained alone through the fused trainer, inside two different groups, and
by the single trainer `train_genome` gives the same curve, loss and accuracies.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Iterator
from dataclasses import replace

import pytest
import torch

from harness import fused
from harness.errors import TransientTrainingError
from harness.fused import GroupJob, fusion_key, plan_groups, train_group, train_jobs
from harness.fused_gcnn import fuse_genetic
from harness.fused_modules import (
    FusionError,
    PackedConv2d,
    check_packed,
    conv_choice,
    grouped_conv_is_exact,
    pack,
)
from harness.spaces import get_space
from harness.spaces.genetic_cnn import active_nodes, stage_edges
from harness.tasks import Optimizer, Split, preset
from harness.training import TrainingJob, TrainingResult, freeze_params

# 300 training images, batches of 20, 3 epochs: 45 Adam steps, enough for the curves to move.
TASK = replace(
    preset("digits_quick"),
    split=Split(train=300, val=100, test=100, seed=0),
    epochs=3,
    batch_size=20,
    optimizer=Optimizer("adam", lr=3e-3),
)
GCNN = get_space("genetic_cnn")
MACRO_PARAMS = {"channels": 8}
DE_PARAMS = {
    "min_length": 2,
    "max_length": 5,
    "max_pools": 2,
    "max_channels": 8,
    "head_width": 32,
    "dropout": 0.2,
}
ISOLATED = "1-00 0-01-000 0-00-000-0000"  # isolated nodes in stages 1 and 2, stage 3 edge-free
GENOMES = {
    "dense": "1-11 1-11-111 1-11-111-1111",
    "isolated": ISOLATED,
    "zeros": "0-00 0-00-000 0-00-000-0000",
    "table1": "1-01 0-01-100 0-11-101-0001",
    "sinks": "1-10 0-11-001 1-01-100-1110",
}


def job(encoding: str, seed: int, space_name: str = "genetic_cnn", params=None, task=TASK) -> TrainingJob:
    space = get_space(space_name, **(params or {}))
    return TrainingJob(space_name, freeze_params(space.params), encoding, task, seed, device="cpu", threads=1)


def outcome(r: TrainingResult) -> tuple:
    return (r.status, r.val_acc, r.test_acc, r.train_loss, r.curve, r.params, r.flops)


def same(a: TrainingResult, b: TrainingResult) -> bool:
    """Bitwise equal outcomes (floats compared with ==)."""
    return outcome(a) == outcome(b)


@pytest.fixture(scope="module")
def gcnn_jobs() -> list[TrainingJob]:
    jobs = [job(enc, seed=10 + i) for i, enc in enumerate(GENOMES.values())]
    return [*jobs, job(GENOMES["table1"], seed=99)]  # a second replicate of table1 in the same group


@pytest.fixture(scope="module")
def gcnn_single(gcnn_jobs) -> list[TrainingResult]:
    return [j.run() for j in gcnn_jobs]


@pytest.fixture(scope="module")
def gcnn_fused(gcnn_jobs) -> list[TrainingResult]:
    return train_group(gcnn_jobs)


# --- equality with the single trainer and the contract ---
@pytest.mark.slow
def test_fused_genetic_cnn_equals_single_trainer_bitwise(gcnn_single, gcnn_fused):
    for single, fused_result in zip(gcnn_single, gcnn_fused, strict=True):
        assert single.status == fused_result.status == "ok"
        assert same(single, fused_result)
        assert fused_result.device == single.device == "cpu:1t"
        assert fused_result.extra["curve_split"] == "val" and fused_result.extra["fused_group"] == 6
        assert fused_result.train_seconds > 0
    assert len({r.curve for r in gcnn_fused}) == len(gcnn_fused)  # the networks did train differently
    assert max(r.val_acc for r in gcnn_fused) > 0.2


@pytest.mark.slow
def test_contract_alone_and_in_two_groups(gcnn_jobs, gcnn_fused):
    """Network A alone (group of 1), at position 2 of the 6-group, at position 1 of another group."""
    a = gcnn_jobs[1]
    before = torch.random.get_rng_state()
    with deterministic():
        alone = train_group([a])[0]
        other = train_group([job(GENOMES["sinks"], seed=5), a, job(GENOMES["dense"], seed=6)])[1]
    assert torch.equal(before, torch.random.get_rng_state())  # the global RNG is left alone
    assert same(alone, gcnn_fused[1]) and same(other, gcnn_fused[1])
    assert alone.extra["fused_group"] == 1 and other.extra["fused_group"] == 3


@contextlib.contextmanager
def deterministic() -> Iterator[None]:
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


@pytest.mark.slow
def test_augmentation_streams_are_each_networks_own():
    task = replace(TASK, epochs=1, augmentation=("hflip", "crop"))
    jobs = [job(GENOMES["table1"], seed=3, task=task), job(GENOMES["isolated"], seed=4, task=task)]
    for single, fused_result in zip([j.run() for j in jobs], train_group(jobs), strict=True):
        assert same(single, fused_result)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("space_name", "params", "encoding"),
    [
        ("macro_re", MACRO_PARAMS, "0:CONV_3.N 1:CONV_3.H 2:CONV_2.N | -2>0 0>1 1>2 2>99 0>2"),
        ("de_sequential", DE_PARAMS, "C3x8 C5x6 MP C3x8 | FC32 D0.2"),
        ("genetic_cnn", {}, GENOMES["sinks"]),
    ],
)
def test_replicates_fuse_in_every_space(space_name, params, encoding):
    jobs = [job(encoding, seed=s, space_name=space_name, params=params) for s in (1, 2, 3)]
    fused_results = train_group(jobs)
    for single, fused_result in zip([j.run() for j in jobs], fused_results, strict=True):
        assert fused_result.status == "ok", fused_result.error
        assert same(single, fused_result)
    assert len({r.train_loss for r in fused_results}) == 3


@pytest.mark.slow
def test_bf16_autocast_matches_the_single_trainer():
    """Under autocast the 'exact' policy loops every conv (a probe cannot see rare bf16 rounding splits)."""
    task = replace(TASK, epochs=1, precision="bf16")
    jobs = [job(GENOMES["table1"], seed=1, task=task), job(GENOMES["isolated"], seed=2, task=task)]
    for single, fused_result in zip([j.run() for j in jobs], train_group(jobs), strict=True):
        assert same(single, fused_result)


# --- masks realise each genome's wiring ---
def test_masks_realise_the_wiring_of_build():
    shape = TASK  # only input shape and class count are read
    encodings = [GENOMES["isolated"], GENOMES["dense"], GENOMES["zeros"], GENOMES["sinks"]]
    genomes = [GCNN.decode(e) for e in encodings]
    nets = []
    with torch.random.fork_rng(devices=[]):
        for seed, genome in enumerate(genomes):
            torch.manual_seed(seed)
            nets.append(GCNN.build(genome, shape))
    gens = [torch.Generator().manual_seed(i) for i in range(len(nets))]
    net = fuse_genetic(nets, gens, "exact")
    stage1, _, stage3 = net.stages
    # stage 1 (3 nodes): isolated = 1->2 (node 3 isolated), dense, zeros (edge-free), sinks = 1->2, 1->3
    assert stage1.nodes == (1, 2, 3)
    assert stage1.default["1"].flags == (True, True, False, True)
    assert stage1.default["3"].flags == (False, False, False, False)  # node 3 always has a predecessor
    assert stage1.edges["1_3"].flags == (False, True, False, True)
    assert stage1.sinks["2"].flags == (True, False, False, True)
    assert stage1.sinks["3"].flags == (False, True, False, True)
    assert stage1.keep.flags == (True, True, False, True) and stage1.bypass.flags == (
        False,
        False,
        True,
        False,
    )
    # stage 3 of `isolated` and `zeros` is a single conv; `dense` and `sinks` use all five nodes
    assert stage3.keep.flags == (False, True, False, True)
    for s, (stage, k) in enumerate(zip(net.stages, GCNN.nodes, strict=True)):
        for i, genome in enumerate(genomes):
            edges = stage_edges(k, genome.stages[s])
            reads = {v for v in stage.nodes if stage.default[str(v)].flags[i]}
            wired = {
                (p, v) for p in stage.nodes for v in stage.nodes if p < v and stage.edges[f"{p}_{v}"].flags[i]
            }
            sinks = {v for v in stage.nodes if stage.sinks[str(v)].flags[i]}
            assert wired == set(edges)
            assert reads == {v for v in active_nodes(edges) if all(j != v for _, j in edges)}
            assert sinks == {v for v in active_nodes(edges) if all(p != v for p, _ in edges)}
            assert stage.keep.flags[i] == bool(edges)
    # the packed network computes each member's forward pass, bit for bit
    x = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    check_packed(net, nets, x)
    with torch.no_grad():
        packed = net(x.repeat(1, len(nets), 1, 1))
    for i, member in enumerate(nets):
        assert torch.equal(packed[i], member(x))


def test_inactive_slots_get_no_gradient_and_stay_zero():
    genomes = [GCNN.decode(GENOMES["isolated"]), GCNN.decode(GENOMES["dense"])]
    with torch.random.fork_rng(devices=[]):
        nets = [GCNN.build(g, TASK) for g in genomes]
    net = fuse_genetic(nets, [torch.Generator().manual_seed(i) for i in range(2)], "exact")
    net.train()
    logits = net(torch.randn(4, 2, 8, 8))
    logits.sum().backward()
    conv = net.stages[0].node_convs["3"][0]  # node 3 of stage 1: isolated in network 0, active in 1
    assert isinstance(conv, PackedConv2d)
    frozen, live = conv.weights
    assert not frozen.requires_grad and frozen.grad is None and torch.count_nonzero(frozen) == 0
    assert live is nets[1].features[0].node_convs["3"][0].weight and live.grad is not None


# --- the packer and the probe ---
def test_probe_and_conv_policies_agree_on_the_forward_pass():
    convs = [torch.nn.Conv2d(3, 5, 3, padding=1) for _ in range(3)]
    x = torch.randn(4, 9, 6, 6)
    outs = {p: PackedConv2d(convs, p)(x) for p in ("exact", "grouped", "loop")}
    for p in ("exact", "grouped"):
        torch.testing.assert_close(outs[p], outs["loop"])
    call = PackedConv2d(convs, "exact").call(x)
    assert isinstance(grouped_conv_is_exact(call), bool)
    assert conv_choice(call) in (("grouped", "loop") if grouped_conv_is_exact(call) else ("loop",))
    with pytest.raises(FusionError):
        PackedConv2d(convs, "fastest")
    with pytest.raises(FusionError):
        PackedConv2d([convs[0], torch.nn.Conv2d(3, 5, 5, padding=2)])


def test_pack_refuses_what_it_cannot_fuse():
    alpha = [torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.AlphaDropout(0.1)) for _ in range(2)]
    gens = [torch.Generator(), torch.Generator()]
    with pytest.raises(FusionError):
        pack(alpha, gens)
    with pytest.raises(FusionError):
        pack([torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)], gens)


# --- invalid genomes, failures ---
def test_invalid_genomes_as_the_single_trainer():
    # kernel 5 then a 5x5 pool leave nothing of an 8x8 image; three 2x2 pools are too many for de_sequential
    macro_bad = "0:CONV_5.N 1:POOL_5.M | -2>0 0>1 1>99"
    de_bad = "C3x4 MP MP MP | FC32 D0.2"
    for space_name, params, encoding in (
        ("macro_re", MACRO_PARAMS, macro_bad),
        ("de_sequential", DE_PARAMS, de_bad),
    ):
        jobs = [job(encoding, seed=s, space_name=space_name, params=params) for s in (1, 2)]
        singles = [j.run() for j in jobs]
        for single, fused_result in zip(singles, train_group(jobs), strict=True):
            assert single.status == fused_result.status == "invalid"
            assert (fused_result.error, fused_result.device) == (single.error, single.device)


@pytest.mark.slow
def test_out_of_memory_splits_the_group_and_keeps_results(monkeypatch):
    task = replace(TASK, epochs=1)
    jobs = [job(GENOMES[k], seed=i, task=task) for i, k in enumerate(("dense", "zeros", "isolated"))]
    expected = train_group(jobs)
    real = fused.train_packed

    def small_only(net, task, seeds, device, data):
        if len(seeds) > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(net, task, seeds, device, data)

    monkeypatch.setattr(fused, "train_packed", small_only)
    for a, b in zip(train_group(jobs), expected, strict=True):
        assert same(a, b) and a.extra["fused_group"] == 1
    monkeypatch.setattr(fused, "train_packed", lambda *_: small_only(None, None, [1, 2], None, None))
    with pytest.raises(TransientTrainingError):
        train_group(jobs[:1])


@pytest.mark.slow
def test_architectures_that_cannot_fuse_fall_back_to_the_single_trainer(monkeypatch):
    task = replace(TASK, epochs=1)
    jobs = [job(GENOMES["table1"], seed=s, task=task) for s in (1, 2)]

    def refuse(*_):
        raise FusionError("not today")

    monkeypatch.setattr(fused, "fuse", refuse)
    results = train_group(jobs)
    for single, result in zip([j.run() for j in jobs], results, strict=True):
        assert same(single, result) and "fused_group" not in result.extra


@pytest.mark.slow
def test_grouped_policy_keeps_the_contract_with_a_ghost():
    task = replace(TASK, epochs=1)
    a = job(GENOMES["table1"], seed=7, task=task)
    alone = train_group([a], "grouped")[0]
    grouped = train_group([job(GENOMES["dense"], seed=8, task=task), a], "grouped")[1]
    assert alone.extra["conv_policy"] == "grouped" and alone.extra["fused_group"] == 1
    assert same(alone, grouped)


# --- planning ---
def test_planner_groups_by_layout_architecture_and_protocol():
    other_layout = get_space("genetic_cnn", stages=(3, 4), channels=(8, 8))
    fp16 = replace(TASK, precision="fp16")
    remnet_like = "0:CONV_3.N 1:CONV_3.H | -2>0 0>1 1>99"
    jobs = [
        *[job(e, seed=i) for i, e in enumerate(GENOMES.values())],  # 0-4: one layout, any wiring
        TrainingJob("genetic_cnn", freeze_params(other_layout.params), "1-01 0-01-100", TASK, 0, "cpu"),  # 5
        job(remnet_like, 1, "macro_re", MACRO_PARAMS),  # 6: replicates of one macro architecture ...
        job(remnet_like, 2, "macro_re", MACRO_PARAMS),  # 7
        job("0:CONV_3.N | -2>0 0>99", 1, "macro_re", MACRO_PARAMS),  # 8: ... another architecture
        job(GENOMES["dense"], 0, task=fp16),  # 9: fp16 is never fused
        job("not a genome", 0, "macro_re", MACRO_PARAMS),  # 10: undecodable: the single trainer reports it
        job(GENOMES["dense"], 3, task=replace(TASK, epochs=4)),  # 11: another protocol
    ]
    jobs.append(replace(jobs[0], space_params=freeze_params({**GCNN.params, "mutation_rate": 0.5})))  # 12
    jobs.append(job("1-1 junk", 0))  # 13: undecodable: never fails a group
    groups = plan_groups(jobs)
    fused_sets = sorted(sorted(g.indices) for g in groups if g.fused)
    singles = sorted(i for g in groups if not g.fused for i in g.indices)
    assert fused_sets == [[0, 1, 2, 3, 4, 12], [5], [6, 7], [8], [11]]
    assert singles == [9, 10, 13]
    assert sorted(i for g in groups for i in g.indices) == list(range(len(jobs)))
    assert fusion_key(jobs[9]) is None and fusion_key(jobs[0]) == fusion_key(jobs[12])
    sizes = sorted(len(g.indices) for g in plan_groups(jobs[:5] * 3, max_group=4))
    assert sizes == [3, 4, 4, 4]  # 15 jobs, at most 4 per group: 4 balanced groups
    assert sorted(len(g.indices) for g in plan_groups(jobs[:5], min_groups=2)) == [2, 3]
    with pytest.raises(ValueError):
        train_group([jobs[0], jobs[5]])


def test_train_jobs_mixes_fused_groups_and_singles_in_job_order(monkeypatch):
    calls = []

    def fake_group(members, policy="auto"):
        calls.append(len(members))
        return [TrainingResult(status="ok", val_acc=float(m.seed)) for m in members]

    monkeypatch.setattr(fused, "train_group", fake_group)
    monkeypatch.setattr(TrainingJob, "run", lambda self: TrainingResult(status="invalid", val_acc=-1.0))
    jobs = [job(GENOMES["dense"], seed=s) for s in range(5)]
    jobs.insert(2, job(GENOMES["dense"], seed=9, task=replace(TASK, precision="fp16")))
    results = train_jobs(jobs, max_group=2)
    assert [r.val_acc for r in results] == [0.0, 1.0, -1.0, 2.0, 3.0, 4.0]
    assert sorted(calls) == [1, 2, 2]


def test_group_jobs_pickle():
    group = GroupJob((job(GENOMES["dense"], 1), job(GENOMES["zeros"], 2)))
    assert pickle.loads(pickle.dumps(group)) == group
