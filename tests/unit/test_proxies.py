"""Zero-cost proxies against independent computations on small networks (harness.proxies*)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness.proxies import PROXIES, compute_proxies, compute_proxy, draw_batch, proxy_names
from harness.proxies_init import kaiming_normal_init, proxy_generator, torch_default_init
from harness.proxies_kernels import (
    DEGENERATE,
    ProxyError,
    gradient_correlation_at,
    naswot_at,
    naswot_kernel,
    ntk_condition,
    ntk_condition_at,
    ntk_gradients,
    ntk_weights,
)
from harness.proxies_saliency import grad_norm_at, snip_at, synflow, synflow_at


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one intra-op thread is faster (and the suite shares its CPU)."""
    from harness.training import torch_threads

    with torch_threads(1):
        yield


class MLP(nn.Module):
    def __init__(self, d: int = 5, h: int = 16, k: int = 3, bias: bool = False) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d, h, bias=bias)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(h, k, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x.flatten(1))))


def small_cnn(bn: bool = True, side: int = 6) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(1, 4, 3, padding=1, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(4))
    layers += [
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * side * side, 3),
    ]
    return nn.Sequential(*layers)


def seeded(module: nn.Module, seed: int = 0) -> nn.Module:
    torch_default_init(module, proxy_generator(seed, "test"))
    return module


def batch(
    n: int, shape: tuple[int, ...], seed: int = 0, classes: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((n, *shape), generator=gen), torch.randint(0, classes, (n,), generator=gen)


# --- NTK condition number ---
def test_ntk_matches_hand_derived_per_sample_gradients() -> None:
    model = seeded(MLP())
    x, _ = batch(6, (5,))
    w1 = model.fc1.weight.detach().double().numpy()
    w2 = model.fc2.weight.detach().double().numpy()
    rows = []
    for xi in x.double().numpy():
        a = w1 @ xi
        r = np.maximum(a, 0)
        g2 = np.outer(np.ones(w2.shape[0]), r)  # d(sum_k out_k)/dW2
        g1 = np.outer((w2.T @ np.ones(w2.shape[0])) * (a > 0), xi)  # d(sum_k out_k)/dW1
        rows.append(np.concatenate([g1.ravel(), g2.ravel()]))
    g = np.stack(rows)
    eig = np.linalg.eigvalsh(g @ g.T)
    assert ntk_condition_at(model, x) == pytest.approx(eig[-1] / eig[0], rel=1e-4)


def test_ntk_loop_equals_batched_jacobian_with_train_mode_batchnorm() -> None:
    model = seeded(small_cnn(bn=True, side=3))
    x, _ = batch(8, (1, 3, 3))
    loop = ntk_gradients(model, x)
    model.train()
    weights = ntk_weights(model)
    out = model(x).sum(dim=1)
    batched = torch.autograd.grad(out, weights, grad_outputs=torch.eye(8), is_grads_batched=True)
    expected = torch.cat([g.reshape(8, -1) for g in batched], dim=1)
    torch.testing.assert_close(loop, expected, rtol=1e-5, atol=1e-6)
    # train-mode BatchNorm couples the samples: sample 0's gradient depends on the others
    other = x.clone()
    other[1:] += 1.0
    assert not torch.allclose(ntk_gradients(model, other)[0], loop[0])


def test_ntk_is_the_mean_over_three_kaiming_repeats() -> None:
    model = small_cnn(bn=True, side=3)
    x, y = batch(8, (1, 3, 3))
    expected = []
    for r in range(3):
        kaiming_normal_init(model, proxy_generator(5, "ntk_cond", r))
        expected.append(ntk_condition_at(model, x))
    assert ntk_condition(small_cnn(bn=True, side=3), x, y, seed=5) == pytest.approx(
        sum(expected) / 3, rel=1e-9
    )
    assert len(set(expected)) == 3


def test_kaiming_fan_out_statistics() -> None:
    conv = nn.Conv2d(16, 64, 3)
    kaiming_normal_init(conv, proxy_generator(0, "x"))
    fan_out = 64 * 9
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)
    assert torch.count_nonzero(conv.bias) == 0


def test_ntk_degenerate_kernel_is_te_nas_sentinel() -> None:
    model = MLP()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()  # every gradient is zero: 0/0
    assert ntk_condition_at(model, batch(4, (5,))[0]) == DEGENERATE


def test_ntk_singular_kernel_is_floored_at_the_worst_end() -> None:
    model = seeded(MLP(d=2, h=2, k=1))  # 6 weights, 8 images: the 8 x 8 kernel has rank <= 6
    value = ntk_condition_at(model, batch(8, (2,))[0])
    assert 1e12 < value <= 1 / (8 * np.finfo(np.float64).eps) * 1.0001
    assert value > ntk_condition_at(seeded(MLP()), batch(6, (5,))[0])  # worse than a full-rank kernel


# --- NASWOT ---
def test_naswot_kernel_counts_agreeing_relu_units_by_hand() -> None:
    model = seeded(MLP(d=5, h=12))
    x, _ = batch(7, (5,))
    pre = x.double().numpy() @ model.fc1.weight.detach().double().numpy().T
    codes = pre > 0
    n = len(codes)
    k = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            k[i, j] = sum(int(codes[i, u] == codes[j, u]) for u in range(codes.shape[1]))
    np.testing.assert_array_equal(naswot_kernel(model, x).numpy(), k)
    assert naswot_at(model, x) == pytest.approx(np.linalg.slogdet(k)[1], rel=1e-12)


def test_naswot_kernel_diagonal_is_the_relu_unit_count() -> None:
    model = seeded(small_cnn(bn=True))
    x, _ = batch(5, (1, 6, 6))
    units = 4 * 36 + 4 * 36  # two ReLUs on 4 x 6 x 6 maps
    assert torch.all(torch.diagonal(naswot_kernel(model, x)) == units)


def test_naswot_without_relu_is_an_error() -> None:
    with pytest.raises(ProxyError, match="no ReLU"):
        naswot_kernel(nn.Sequential(nn.Flatten(), nn.Linear(5, 2)), batch(3, (5,))[0])


# --- the paper's gradient correlation ---
def authors_score_by_loops(model: nn.Module, x: torch.Tensor) -> float:
    """The Evolutive-NAS score_jacob recipe, pair by pair, with per-sample jacobians."""
    model.eval()
    jac = [
        torch.autograd.functional.jacobian(lambda inp: model(inp[None])[0], x[i]).reshape(3, -1).double()
        for i in range(len(x))
    ]
    n = len(x)
    k = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            corr = 0.0
            for o in range(3):
                a = jac[i][o] - jac[i][o].mean()
                b = jac[j][o] - jac[j][o].mean()
                corr += float((a * b).sum() / torch.sqrt((a**2).sum() * (b**2).sum()))
            similarity = 4.0 - float(((x[i].double() - x[j].double()) ** 2).mean())
            k[i, j] = corr * similarity
            k[j, i] = corr
    k = k / np.diag(k)
    return abs(np.linalg.slogdet(k)[1])


def test_gradient_correlation_matches_the_authors_loops() -> None:
    model = seeded(small_cnn(bn=True))
    x, _ = batch(6, (1, 6, 6))
    assert gradient_correlation_at(model, x) == pytest.approx(authors_score_by_loops(model, x), rel=1e-6)


def test_gradient_correlation_of_constant_jacobians_is_sentinel() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.ReLU())
    with torch.no_grad():
        model[1].weight.fill_(1.0)  # every input pixel has the same gradient: zero variance -> NaN
        model[1].bias.fill_(1.0)
    assert gradient_correlation_at(model, batch(3, (4,))[0].abs()) == DEGENERATE


# --- synflow, grad_norm, snip ---
def test_synflow_of_bias_free_two_layer_net_by_hand() -> None:
    model = seeded(MLP(d=4, h=6, k=3))
    w1 = model.fc1.weight.detach().double().abs().numpy()
    w2 = model.fc2.weight.detach().double().abs().numpy()
    r = np.ones(3) @ w2 @ w1 @ np.ones(4)  # R with |W| and an all-ones input; ReLU is the identity here
    # each layer's sum |theta * dR/dtheta| equals R (synflow's conservation), so two layers give 2R
    assert synflow_at(model, (4,)) == pytest.approx(2 * r, rel=1e-12)


def test_synflow_ignores_batchnorm() -> None:
    x, y = batch(2, (1, 6, 6))
    assert synflow(small_cnn(bn=True), x, y, 3) == pytest.approx(
        synflow(_replace_bn(small_cnn(bn=True)), x, y, 3), rel=1e-12
    )


def _replace_bn(model: nn.Sequential) -> nn.Sequential:
    return nn.Sequential(*[nn.Identity() if isinstance(m, nn.BatchNorm2d) else m for m in model])


def _functional_grads(model: MLP, x: torch.Tensor, y: torch.Tensor, masked: bool) -> list[torch.Tensor]:
    w1 = model.fc1.weight.detach().clone()
    w2 = model.fc2.weight.detach().clone()
    if masked:  # SNIP's formulation: gradient with respect to a multiplicative mask of ones
        m1, m2 = torch.ones_like(w1, requires_grad=True), torch.ones_like(w2, requires_grad=True)
        loss = F.cross_entropy(torch.relu(x @ (w1 * m1).T) @ (w2 * m2).T, y)
        return list(torch.autograd.grad(loss, [m1, m2]))
    w1.requires_grad_(True)
    w2.requires_grad_(True)
    loss = F.cross_entropy(torch.relu(x @ w1.T) @ w2.T, y)
    return list(torch.autograd.grad(loss, [w1, w2]))


def test_snip_equals_mask_gradient() -> None:
    model = seeded(MLP())
    x, y = batch(8, (5,))
    expected = sum(float(g.abs().sum()) for g in _functional_grads(model, x, y, masked=True))
    assert snip_at(model, x, y) == pytest.approx(expected, rel=1e-5)


def test_grad_norm_is_sum_of_layer_gradient_norms() -> None:
    model = seeded(MLP())
    x, y = batch(8, (5,))
    expected = sum(float(g.norm()) for g in _functional_grads(model, x, y, masked=False))
    assert grad_norm_at(model, x, y) == pytest.approx(expected, rel=1e-5)


# --- params and FLOPs ---
def test_params_and_flops_by_hand() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10))
    x, y = batch(1, (1, 8, 8))
    assert compute_proxy("params", model, x, y, 0) == 4 * 9 + 4 + 256 * 10 + 10
    assert compute_proxy("flops", model, x, y, 0) == 2 * (8 * 8 * 4 * 9 + 256 * 10)


# --- the public API: purity, determinism, batches ---
def test_compute_proxies_is_pure_and_deterministic() -> None:
    model = seeded(small_cnn(bn=True, side=3))
    model.append(nn.Dropout(0.5))  # train-mode proxies must not draw dropout masks
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = batch(128, (1, 3, 3))
    names = proxy_names()
    first = compute_proxies(model, x, y, 11, names)
    second = compute_proxies(model, x, y, 11, names)
    assert {n: v.value for n, v in first.items()} == {n: v.value for n, v in second.items()}
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    other = compute_proxies(model, x, y, 12, names)
    seeded_names = [n for n in names if n not in ("params", "flops")]
    assert all(other[n].value != first[n].value for n in seeded_names)


def test_each_proxy_reads_only_its_prefix_of_the_batch() -> None:
    model = small_cnn(bn=True)
    x, y = batch(128, (1, 6, 6))
    cut = PROXIES["grad_corr"].batch_size
    assert compute_proxy("grad_corr", model, x, y, 0) == compute_proxy(
        "grad_corr", model, x[:cut], y[:cut], 0
    )
    with pytest.raises(ProxyError, match="needs a batch of 128"):
        compute_proxy("naswot", model, x[:64], y[:64], 0)


def test_draw_batch_is_seeded_and_prefix_stable() -> None:
    x = torch.arange(50.0).reshape(50, 1)
    y = torch.arange(50)
    a, ya = draw_batch(x, y, 20, 3)
    b, _ = draw_batch(x, y, 10, 3)
    assert torch.equal(a[:10], b)
    assert torch.equal(a[:, 0].long(), ya)
    assert not torch.equal(draw_batch(x, y, 20, 4)[0], a)
    with pytest.raises(ProxyError):
        draw_batch(x, y, 51, 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_agrees_with_cpu() -> None:
    model = small_cnn(bn=True)
    x, y = batch(128, (1, 6, 6))
    cpu = compute_proxies(model, x, y, 0, proxy_names())
    gpu = compute_proxies(model, x.cuda(), y.cuda(), 0, proxy_names())
    for name in proxy_names():
        assert gpu[name].value == pytest.approx(cpu[name].value, rel=1e-3), name
