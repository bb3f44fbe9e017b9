"""The DARTS tournament of the zero-cost GA (Reolon, Sec. II 'DARTS step', Fig. 2; the authors'
`DARTSNetwork` in `fne/genotopheno/network.py` and `Population.do_darts_step` in `fne/population.py`).

`groups` x `size` offspring cells become one supernet: group g's cells are parallel branches that all read
layer g's input; their outputs, each multiplied by softmax(alpha[g])[k], are concatenated into layer g+1's
input; then BatchNorm, Dropout2d, global max pooling and a linear layer. A branch whose softmax weight is
at most 0.01 is replaced by zeros (the authors' shortcut: it stops computing and learning). The winner of
group g is argmax_k alpha[g, k].

Training (the authors' schedule, in steps instead of epochs over their class-biased subsets): first
`warmup_steps` Adam steps on the weights with alpha frozen at zero (uniform weights), then `joint_steps`
steps on weights and alpha together with one optimiser on the same training batches (the authors' form of
first-order DARTS: no separate validation batches for alpha, no second-order term). Adam lr 0.004, weight
decay 1e-5, gradient norm clipped at 2 in the warm-up, L1 loss between the logits and one-hot targets (as
the authors); batches of `batch` training images drawn with a generator seeded from `seed`. The authors
also add 2e-5 uniform noise to every layer input (global RNG); we leave it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from harness.proxies_init import proxy_generator, torch_default_init
from harness.spaces.darts_cell_build import CellNet
from harness.spaces.darts_cell_genome import Cell

SKIP_BELOW = 0.01


class TournamentNet(nn.Module):
    def __init__(self, cells: Sequence[Cell], size: int, input_shape: tuple[int, int, int], classes: int):
        super().__init__()
        if size < 1 or len(cells) % size:
            raise ValueError(f"{len(cells)} cells do not split into groups of {size}")
        self.size = size
        self.groups = len(cells) // size
        self.alphas = nn.Parameter(torch.zeros((self.groups, size)))
        self.branches = nn.ModuleList()
        c_in, height, width = input_shape
        self.shapes: list[tuple[int, int, int]] = []
        for g in range(self.groups):
            width_out = 0
            for cell in cells[g * size : (g + 1) * size]:
                net = CellNet(cell, c_in, height, width)
                self.branches.append(net)
                width_out += net.c_out
            pools = self.branches[-1].pools
            if pools:
                height, width = (height - 3) // 2 + 1, (width - 3) // 2 + 1
            self.shapes.append((width_out, height, width))
            c_in = width_out
        self.classifier = nn.Sequential(
            nn.BatchNorm2d(c_in),
            nn.Dropout2d(),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
            nn.Linear(c_in, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.alphas, dim=1)
        for g in range(self.groups):
            parts = []
            _, height, width = self.shapes[g]
            for k in range(self.size):
                branch = self.branches[g * self.size + k]
                if weights[g, k] > SKIP_BELOW:
                    parts.append(branch(x) * weights[g, k])
                else:
                    parts.append(x.new_zeros((x.shape[0], branch.c_out, height, width)))
            x = torch.cat(parts, dim=1)
        return self.classifier(x)


@dataclass(frozen=True)
class TournamentResult:
    winners: tuple[int, ...]  #: index into the cells, one per group
    alphas: tuple[tuple[float, ...], ...]
    final_loss: float


def darts_tournament(
    cells: Sequence[Cell],
    size: int,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    classes: int,
    seed: int,
    warmup_steps: int = 30,
    joint_steps: int = 10,
    batch: int = 64,
    lr: float = 0.004,
) -> TournamentResult:
    """Train the tournament supernet and return each group's highest-alpha cell (deterministic in `seed`)."""
    dropout_gen = torch.Generator(device="cpu").manual_seed(int(seed))
    with torch.random.fork_rng(devices=[]):  # Dropout2d draws from torch's global RNG: keep it local
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=dropout_gen)))
        net = TournamentNet(cells, size, tuple(x_train.shape[1:]), classes).to(x_train.device)
        torch_default_init(net, proxy_generator(seed, "darts_tournament"))
        with torch.no_grad():
            net.alphas.zero_()
        data_gen = proxy_generator(seed, "darts_tournament_batches")
        weights = [p for name, p in net.named_parameters() if name != "alphas"]
        net.alphas.requires_grad_(False)
        optimiser = torch.optim.Adam(weights, lr=lr, weight_decay=1e-5)
        loss = torch.zeros(())
        for _ in range(warmup_steps):
            loss = _step(net, optimiser, x_train, y_train, classes, batch, data_gen, clip=weights)
        net.alphas.requires_grad_(True)
        optimiser = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-5)
        for _ in range(joint_steps):
            loss = _step(net, optimiser, x_train, y_train, classes, batch, data_gen, clip=None)
    alphas = net.alphas.detach().cpu()
    winners = tuple(g * size + int(alphas[g].argmax()) for g in range(net.groups))
    return TournamentResult(winners, tuple(tuple(map(float, row)) for row in alphas), float(loss))


def _step(
    net: TournamentNet,
    optimiser: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    classes: int,
    batch: int,
    gen: torch.Generator,
    clip: list[torch.nn.Parameter] | None,
) -> torch.Tensor:
    net.train()
    idx = torch.randint(0, x.shape[0], (batch,), generator=gen).to(x.device)
    out = net(x[idx])
    loss = F.l1_loss(out, F.one_hot(y[idx], classes).to(out.dtype))
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(clip, 2.0)
    optimiser.step()
    return loss.detach()
