"""Torch networks of the RENAS cell space (Sec. 3.3, Fig. 2 (a), Sec. 5.1.4).

NASNet's CIFAR skeleton: a 3x3 conv stem (stem_multiplier x F filters, BN), then `stages` stages of N
cells, a stride-2 cell between stages (same cell structure, Sec. 3.3: "we use only one cell type and reduce
the feature map size using cells with stride 2"; it doubles the filters, Sec. 3.2), then ReLU, global
average pooling, dropout and a linear classifier. Conventions of Sec. 5.1.4 (NASNet's): ReLU-conv-BN order,
separable convs applied twice with no BN/ReLU between depthwise and pointwise, 1x1 convs to match shapes
(each cell input is preprocessed by ReLU-1x1 conv-BN to F channels; an input at twice the resolution, the
c-2 input of the cell after a stride-2 cell, by a factorized reduction). In a stride-2 cell the operations
that read a cell input have stride 2; the identity at stride 2 is a 3x3 max pool, as in the official code
(`choose_layer`, code 7). The cell output is the channel concatenation of the block outputs no block reads.

Module names are stable: `cells.<k>.pre0`, `cells.<k>.pre1`, `cells.<k>.blocks.<b>.op1|op2` (b 0-based in
genome order), so parameter inheritance can map a parent's weights onto a child by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.spaces.renas_cell_genome import RenasCellGenome, output_blocks


class ReluConvBn(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset 1x1 stride-2 convs, concatenated (NASNet; odd sizes padded
    at the bottom/right first, as the official code does, so the result is ceil(h / 2))."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv1(x), self.conv2(shifted)], dim=1))


class SepConv(nn.Sequential):
    """ReLU, depthwise k x k (stride), pointwise, BN, then the same again at stride 1 (applied twice)."""

    def __init__(self, channels: int, kernel: int, stride: int) -> None:
        pad = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, stride=stride, padding=pad, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, kernel, padding=pad, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )


def make_op(name: str, channels: int, stride: int) -> nn.Module:
    if name.startswith("sep"):
        return SepConv(channels, int(name[3:]), stride)
    if name == "avg3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "max3" or (name == "id" and stride == 2):
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "id":
        return nn.Identity()
    raise ValueError(f"unknown RENAS operation {name!r}")


class RenasBlock(nn.Module):
    def __init__(self, op1: nn.Module, op2: nn.Module) -> None:
        super().__init__()
        self.op1 = op1
        self.op2 = op2


class RenasCell(nn.Module):
    """One cell of the genome; `reduction` makes it a stride-2 cell with `channels` = 2x the stage's."""

    def __init__(
        self,
        genome: RenasCellGenome,
        c_prev_prev: int,
        c_prev: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        used = {i for block in genome.blocks for i in (block.i1, block.i2)}
        # a cell input no block reads gets no preprocessing (its 1x1 conv would be dead weight)
        self.pre0: nn.Module | None = None
        if 0 in used:
            self.pre0 = (
                FactorizedReduce(c_prev_prev, channels)
                if reduction_prev
                else ReluConvBn(c_prev_prev, channels)
            )
        self.pre1 = ReluConvBn(c_prev, channels) if 1 in used else None
        self.inputs = tuple((b.i1, b.i2) for b in genome.blocks)
        self.blocks = nn.ModuleList(
            RenasBlock(
                make_op(b.o1, channels, 2 if reduction and b.i1 < 2 else 1),
                make_op(b.o2, channels, 2 if reduction and b.i2 < 2 else 1),
            )
            for b in genome.blocks
        )
        self.outputs = output_blocks(genome)
        self.out_channels = channels * len(self.outputs)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states: list[torch.Tensor | None] = [
            self.pre0(s0) if self.pre0 is not None else None,
            self.pre1(s1) if self.pre1 is not None else None,
        ]
        for (i1, i2), block in zip(self.inputs, self.blocks, strict=True):
            a, b = states[i1], states[i2]
            assert a is not None and b is not None
            states.append(block.op1(a) + block.op2(b))
        outs = [states[k + 2] for k in self.outputs]
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)  # type: ignore[arg-type]


class RenasNet(nn.Module):
    def __init__(
        self,
        genome: RenasCellGenome,
        input_shape: Sequence[int],
        num_classes: int,
        cells: int,
        filters: int,
        stages: int,
        stem_multiplier: int,
        dropout: float,
    ) -> None:
        super().__init__()
        c_in = int(input_shape[0])
        c_stem = stem_multiplier * filters
        self.stem = nn.Sequential(nn.Conv2d(c_in, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        c_pp, c_p, channels = c_stem, c_stem, filters
        layout: list[bool] = []
        for stage in range(stages):
            if stage > 0:
                layout.append(True)
            layout.extend([False] * cells)
        self.cells = nn.ModuleList()
        reduction_prev = False
        for reduction in layout:
            if reduction:
                channels *= 2
            cell = RenasCell(genome, c_pp, c_p, channels, reduction, reduction_prev)
            self.cells.append(cell)
            c_pp, c_p = c_p, cell.out_channels
            reduction_prev = reduction
        self.head = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(c_p, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.head(s1)
