"""`darts_cell` phenotypes: the operations, one cell, and the final network of Fig. 3.

Operations follow the authors' `fne/genotopheno/cell_operations.py` (stride 1, affine BatchNorm):
- `dil_conv_kxk` (k = 3, 5, 7): despite the name, a separable convolution: ReLU, depthwise k x k
  (padding k // 2, no dilation), pointwise 1 x 1 to the edge's channels, BatchNorm;
- `skip_connect`: identity (1 x 1 convolution when the widths differ), then BatchNorm;
- `clinc_3x3` / `clinc_7x7` ("conv-linear-conv"): a global branch (ReLU, k x k convolution without
  padding, stride 1 or 5, to 64/16 or 128/16 channels, BatchNorm, adaptive average or max pooling to 4 x 4,
  a linear layer to the edge's channels) multiplies a 1 x 1 convolution of the input channel-wise;
- `avg_pool_3x3` / `max_pool_3x3`: 3 x 3 pooling, stride 1, padding 1 (average excludes the padding),
  after a ReLU-conv 3 x 3-BatchNorm when the widths differ.

A cell concatenates, at every node, what its incoming edges produce; only the live edges of
`darts_cell_genome.effective_edges` are built. Like the authors' cell it halves the resolution (3 x 3
average pooling, stride 2) when its output is still larger than 50 pixels a side.

The network (the authors' `EvaluationNetwork`): cells in sequence, each fed the previous cell's output
concatenated with the input image (pooled alongside the cells that pool); then BatchNorm, Dropout2d,
global max pooling and a linear classifier.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.spaces.darts_cell_genome import Cell, effective_edges

POOL_ABOVE = 50  #: a cell pools when its output is larger than this many pixels on its shorter side


class SepConv(nn.Sequential):
    def __init__(self, kernel: int, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, padding=kernel // 2, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Skip(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.change = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.change(x))


class ConvLinConv(nn.Module):
    def __init__(self, small: bool, c_in: int, c_out: int) -> None:
        super().__init__()
        lin, kernel, stride = (64, 3, 1) if small else (128, 7, 5)
        pool = nn.AdaptiveAvgPool2d(4) if small else nn.AdaptiveMaxPool2d(4)
        self.to_linear = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, lin // 16, kernel, stride=stride, bias=False),
            nn.BatchNorm2d(lin // 16),
            pool,
            nn.Flatten(),
        )
        self.linear = nn.Linear(lin, c_out)
        self.conv = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.linear(self.to_linear(x))
        return scale[:, :, None, None] * self.conv(x)


class Pool(nn.Module):
    def __init__(self, kind: str, c_in: int, c_out: int) -> None:
        super().__init__()
        self.pre = (
            nn.Identity()
            if c_in == c_out
            else nn.Sequential(
                nn.ReLU(inplace=False),
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
            )
        )
        self.pool = (
            nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
            if kind == "avg"
            else nn.MaxPool2d(3, stride=1, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.pre(x))


def make_op(op: int, c_in: int, c_out: int) -> nn.Module:
    if op < 3:
        return SepConv((3, 5, 7)[op], c_in, c_out)
    if op == 3:
        return Skip(c_in, c_out)
    if op in (4, 5):
        return ConvLinConv(op == 4, c_in, c_out)
    return Pool("avg" if op == 6 else "max", c_in, c_out)


class CellNet(nn.Module):
    """One cell: nodes computed in increasing order, each the concatenation of its incoming edges."""

    def __init__(self, cell: Cell, c_in: int, height: int, width: int) -> None:
        super().__init__()
        edges, out = effective_edges(cell)
        widths = {0: c_in}
        for _, i, _, c in edges:
            widths[i] = widths.get(i, 0) + c
        self.edges = tuple((j, i) for j, i, _, _ in edges)
        self.layers = nn.ModuleList(make_op(op, widths[j], c) for j, _, op, c in edges)
        self.out = out
        self.c_out = widths[out]
        self.pools = min(height, width) > POOL_ABOVE
        self.pooling = nn.AvgPool2d(3, stride=2) if self.pools else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts: dict[int, list[torch.Tensor]] = {}
        values = {0: x}
        for (j, i), layer in zip(self.edges, self.layers, strict=True):
            if j not in values:
                values[j] = torch.cat(parts.pop(j), dim=1)
            parts.setdefault(i, []).append(layer(values[j]))
        return self.pooling(torch.cat(parts[self.out], dim=1))


class DartsCellNet(nn.Module):
    def __init__(
        self, cells: tuple[Cell, ...], input_shape: tuple[int, int, int], classes: int, dropout: float
    ):
        super().__init__()
        c_img, height, width = input_shape
        self.cells = nn.ModuleList()
        c_in = c_img
        for cell in cells:
            net = CellNet(cell, c_in, height, width)
            self.cells.append(net)
            if net.pools:
                height, width = (height - 3) // 2 + 1, (width - 3) // 2 + 1
            c_in = net.c_out + c_img
        self.smoothing = nn.AvgPool2d(3, stride=2)
        self.classifier = nn.Sequential(
            nn.BatchNorm2d(c_in),
            nn.Dropout2d(dropout),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
            nn.Linear(c_in, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image = x
        for cell in self.cells:
            x = cell(x)
            if cell.pools:
                image = self.smoothing(image)
            x = torch.cat((x, image), dim=1)
        return self.classifier(x)
