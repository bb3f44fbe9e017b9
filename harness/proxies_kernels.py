"""The paper's three training-free scores (Reolon, Appendix A): NTK condition, NASWOT, gradient correlation.

Each of `ntk_condition`, `naswot`, `gradient_correlation` (model, x, y, seed) takes a working copy it
may change (`harness.proxies` makes the copy and times the call), one batch `x` (N x C x H x W) with
labels `y`, and a seed for the initialisation. The `*_at` functions score the weights the module holds,
with no re-initialisation: they are what the tests check against independent computations.

How each follows its reference:

- `ntk_condition` follows TE-NAS `lib/procedures/ntk.py::get_ntk_n` as `prune_tenas.py` calls it: train
  mode (BatchNorm uses the batch's statistics, so every sample's logits depend on the whole batch), one
  batch, for every sample i the gradient of sum_c logit[i, c] with respect to every parameter whose name
  contains 'weight' (conv, linear and BatchNorm weights), NTK = G G^T, condition number lambda_max /
  lambda_min, NaN -> 1e5, mean over 3 repeats each with a fresh Kaiming (fan-out) initialisation.
  TE-NAS runs 72 images on NAS-Bench-201; `harness.proxies` uses 72. Like TE-NAS, one backward pass
  per sample (on a CPU this loop is about twice as fast as a vmapped batch of N cotangents, which the
  tests use as the independent computation). Differences: the eigenvalues are computed in float64,
  NaN (an all-zero kernel) and non-finite values become TE-NAS's 1e5, and a singular kernel's
  lambda_min is floored at N x eps x lambda_max (`condition_number`), so singular kernels score ~1e13.
  TE-NAS's own launcher passes `--init kaiming_normal`, which its `init_model` does not recognise (it
  knows `kaiming_norm_fanin|fanout`), so TE-NAS's networks actually keep PyTorch's default weights and
  its 3 repeats differ only by batch; we implement the initialisation the paper and its code describe.
- `naswot` follows Mellor et al. `score_networks.py` with `scores.py::hooklogdet`: a forward hook on every
  module whose class name contains 'ReLU' turns the ReLU's input into the binary code c = (input > 0)
  flattened per sample and accumulates K += c c^T + (1 - c)(1 - c)^T; the score is log|det K|
  (`slogdet`'s second value), at PyTorch's default initialisation, train mode, batch 128. Higher is
  better; the paper minimises -log|det K| (averaged over batches of 16 in its code).
- `gradient_correlation` follows `score_jacob` in the authors' `src/fne/evolution/fitness.py` (the paper's
  third score): eval mode, default initialisation, one batch of 16. J[i, k] is the gradient of output k
  with respect to input i (flattened). For each pair (i, j), corr_ij = sum over outputs k of the Pearson
  correlation of J[i, k] and J[j, k]; the input similarity is s_ij = 4 - mean((x_i - x_j)^2). The
  authors' loop writes K[i, j] = corr_ij * s_ij for i > j and K[j, i] = corr_ij otherwise, so only the
  lower triangle is weighted and the matrix is not symmetric; it then divides each column by its
  diagonal entry and scores |log|det K||, NaN -> 1e5. We keep all of that, including the asymmetry and
  the constant 4 (with normalised inputs s_ij can be negative), because the score is defined by that
  code. Lower is better. The authors' fitness then multiplies this by the NTK score and ln(parameters)
  (`paper_third_score`). Their batch is drawn by an evolved 'dataset' gene (a class-biased subset); ours
  is the seeded uniform batch every proxy uses.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from harness.errors import EvonasError
from harness.proxies_init import kaiming_normal_init, proxy_generator, torch_default_init

DEGENERATE = 1e5  #: TE-NAS's value for a NaN condition number; also used for every other degenerate case
NTK_REPEATS = 3


class ProxyError(EvonasError):
    """A proxy that is undefined for a network (e.g. NASWOT on a network without ReLUs)."""


def _finite_or(value: float, fallback: float = DEGENERATE) -> float:
    return value if math.isfinite(value) else fallback


# --- NTK condition number (TE-NAS) ---
def ntk_weights(model: nn.Module) -> list[torch.nn.Parameter]:
    """TE-NAS's parameter selection: every parameter with 'weight' in its name."""
    return [p for name, p in model.named_parameters() if "weight" in name and p.requires_grad]


def ntk_gradients(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """G (N x P): row i is d(sum_c logit[i, c]) / d(weights), in train mode (TE-NAS's loop of N backwards)."""
    model.train()
    weights = ntk_weights(model)
    logits = model(x)
    per_sample = logits.reshape(logits.shape[0], -1).sum(dim=1)
    n = per_sample.shape[0]
    rows = []
    for i in range(n):
        grads = torch.autograd.grad(per_sample[i], weights, retain_graph=i < n - 1, allow_unused=True)
        flat = [g.reshape(-1) for g in grads if g is not None]
        if not flat:
            raise ProxyError("ntk_cond: no weight receives a gradient")
        rows.append(torch.cat(flat))
    return torch.stack(rows)


def condition_number(gram: torch.Tensor) -> float:
    """lambda_max / lambda_min of a symmetric PSD matrix, in float64.

    An all-zero kernel (0/0, TE-NAS's NaN) or a non-finite one gives DEGENERATE (1e5). A singular kernel
    (fewer weights than images, or dead units) has lambda_min at rounding level, of either sign; it is
    floored at N x eps(float64) x lambda_max, so every singular kernel scores about 1 / (N eps), about
    1e13 to 1e14 for N = 72: the worst end of the scale, where the tiny positive lambda_min of other
    singular kernels puts them anyway (TE-NAS would give a negative or an arbitrary huge value).
    """
    eig = torch.linalg.eigvalsh(gram.double())
    if not bool(torch.isfinite(eig).all()) or float(eig[-1]) <= 0.0:
        return DEGENERATE
    top = float(eig[-1])
    floor = top * gram.shape[0] * float(torch.finfo(torch.float64).eps)
    return _finite_or(top / max(float(eig[0]), floor))


def ntk_condition_at(model: nn.Module, x: torch.Tensor) -> float:
    """The NTK condition number of the weights `model` holds (no re-initialisation)."""
    grads = ntk_gradients(model, x).double()
    return condition_number(grads @ grads.T)


def ntk_condition(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int, repeats: int = NTK_REPEATS
) -> float:
    """Mean NTK condition number over `repeats` fresh Kaiming (fan-out) initialisations."""
    values = []
    for r in range(repeats):
        kaiming_normal_init(model, proxy_generator(seed, "ntk_cond", r))
        values.append(ntk_condition_at(model, x))
    return float(sum(values) / len(values))


# --- NASWOT (Mellor et al.) ---
def _is_relu(module: nn.Module) -> bool:
    return "ReLU" in type(module).__name__


def naswot_kernel(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """K (N x N, float64) = sum over ReLU modules of c c^T + (1 - c)(1 - c)^T, c the binary input code."""
    n = x.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64, device=x.device)
    relus = [m for m in model.modules() if _is_relu(m)]
    if not relus:
        raise ProxyError("naswot: the network has no ReLU modules")

    def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
        nonlocal kernel
        code = (inputs[0].reshape(n, -1) > 0).double()
        kernel = kernel + code @ code.T + (1.0 - code) @ (1.0 - code).T

    handles = [m.register_forward_hook(hook) for m in relus]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return kernel


def naswot_at(model: nn.Module, x: torch.Tensor) -> float:
    """log|det K| of the weights `model` holds, in train mode (higher is better)."""
    model.train()
    _, logabsdet = torch.linalg.slogdet(naswot_kernel(model, x).cpu())
    return float(logabsdet)


def naswot(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    torch_default_init(model, proxy_generator(seed, "naswot"))
    return naswot_at(model, x)


# --- the paper's gradient correlation (Evolutive-NAS score_jacob) ---
def input_jacobians(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """J (N x K x D): d output[i, k] / d x[i] (flattened), in eval mode: one backward pass per output."""
    model.eval()
    inputs = x.detach().clone().requires_grad_(True)
    out = model(inputs)
    out = out.reshape(out.shape[0], -1)
    k = out.shape[1]
    eye = torch.eye(k, device=out.device, dtype=out.dtype)
    # cotangent e_k on every row: the gradient of sum_i output[i, k], one batched backward
    cotangents = eye[:, None, :].expand(k, out.shape[0], k)
    (grads,) = torch.autograd.grad(out, inputs, grad_outputs=cotangents, is_grads_batched=True)
    return grads.reshape(k, x.shape[0], -1).transpose(0, 1)


def gradient_correlation_matrix(jacobians: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The authors' K before column normalisation (float64; asymmetric: lower triangle weighted)."""
    jac = jacobians.double()
    centred = jac - jac.mean(dim=-1, keepdim=True)
    unit = centred / centred.norm(dim=-1, keepdim=True)  # 0/0 -> NaN, as in the authors' loop
    corr = torch.einsum("ikd,jkd->ij", unit, unit)
    flat = x.detach().double().reshape(x.shape[0], -1)
    sq = ((flat[:, None, :] - flat[None, :, :]) ** 2).mean(dim=-1)
    similarity = 4.0 - sq
    lower = torch.tril(torch.ones_like(corr, dtype=torch.bool), diagonal=-1)
    return torch.where(lower, corr * similarity, corr)


def gradient_correlation_at(model: nn.Module, x: torch.Tensor) -> float:
    """|log|det K|| with K's columns divided by its diagonal; NaN or inf -> 1e5 (lower is better)."""
    kernel = gradient_correlation_matrix(input_jacobians(model, x), x).cpu()
    if not bool(torch.isfinite(kernel).all()):
        return DEGENERATE
    kernel = kernel / torch.diagonal(kernel)[None, :]
    if not bool(torch.isfinite(kernel).all()):
        return DEGENERATE
    _, logabsdet = torch.linalg.slogdet(kernel)
    return _finite_or(abs(float(logabsdet)))


def gradient_correlation(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    torch_default_init(model, proxy_generator(seed, "grad_corr"))
    return gradient_correlation_at(model, x)


def paper_third_score(grad_corr: float, ntk_cond: float, params: int) -> float:
    """The authors' fitness value 2: score_jacob x NTK score x ln(number of parameters)."""
    return grad_corr * ntk_cond * math.log(params)
