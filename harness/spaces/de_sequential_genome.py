"""Values of the de_sequential space (Pei, Chang, Tian): layers, the head, genomes and DE differences.

Genomes are immutable: Part 1 is a tuple of `ConvLayer` / `PoolLayer` (the first a convolution), Part 2 a
`DeHead`. A `DeDifference` is the result of x_r2 - x_r3: per position a layer to substitute or `SAME`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.errors import InvalidGenomeError

KERNELS: tuple[int, ...] = (1, 3, 5, 7)
POOL_KINDS: tuple[str, ...] = ("max", "avg")
POOL_TOKENS: dict[str, str] = {"max": "MP", "avg": "AP"}
TOKEN_POOLS: dict[str, str] = {v: k for k, v in POOL_TOKENS.items()}


def is_int(value: object) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class ConvLayer:
    """A k x k convolution (padding k // 2, stride 1) with `channels` outputs, followed by a ReLU."""

    kernel: int
    channels: int

    def __post_init__(self) -> None:
        if not is_int(self.kernel) or int(self.kernel) not in KERNELS:
            raise InvalidGenomeError(f"conv kernel must be one of {KERNELS}, got {self.kernel!r}")
        if not is_int(self.channels) or int(self.channels) < 1:
            raise InvalidGenomeError(f"conv channels must be a positive integer, got {self.channels!r}")
        object.__setattr__(self, "kernel", int(self.kernel))
        object.__setattr__(self, "channels", int(self.channels))

    @property
    def token(self) -> str:
        return f"C{self.kernel}x{self.channels}"


@dataclass(frozen=True)
class PoolLayer:
    """A 2x2 pooling with stride 2; `kind` is "max" or "avg"."""

    kind: str

    def __post_init__(self) -> None:
        if self.kind not in POOL_KINDS:
            raise InvalidGenomeError(f"pool kind must be one of {POOL_KINDS}, got {self.kind!r}")

    @property
    def token(self) -> str:
        return POOL_TOKENS[self.kind]


Layer = ConvLayer | PoolLayer


def layer_type(layer: Layer) -> str:
    """The type compared by the DE difference: "conv", "max" or "avg"."""
    return "conv" if isinstance(layer, ConvLayer) else layer.kind


@dataclass(frozen=True)
class DeHead:
    """Part 2: Dropout -> FC -> ReLU -> Dropout -> FC -> ReLU -> FC(classes).

    `width` None is the paper's rule (hidden widths F//2 and F//4 of the F flattened features, each at
    least `floor`: 1 in evonas, 10 in the authors' notebook, a property of the space); an integer fixes
    the hidden widths to `width` and `width // 2`.
    """

    width: int | None = None
    dropout: float = 0.5

    def __post_init__(self) -> None:
        if self.width is not None:
            if not is_int(self.width) or int(self.width) < 2:
                raise InvalidGenomeError(f"head width must be an integer >= 2, got {self.width!r}")
            object.__setattr__(self, "width", int(self.width))
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float, np.floating)):
            raise InvalidGenomeError(f"head dropout must be a number, got {self.dropout!r}")
        p = float(self.dropout) + 0.0  # + 0.0 turns -0.0 into 0.0
        if not 0.0 <= p < 1.0:
            raise InvalidGenomeError(f"head dropout must be in [0, 1), got {self.dropout!r}")
        object.__setattr__(self, "dropout", p)

    def hidden(self, features: int, floor: int = 1) -> tuple[int, int]:
        """The two hidden widths for `features` flattened inputs (the F rule's widths at least `floor`)."""
        if self.width is None:
            return max(floor, features // 2), max(floor, features // 4)
        return self.width, max(1, self.width // 2)

    @property
    def tokens(self) -> str:
        fc = "FC" if self.width is None else f"FC{self.width}"
        return f"{fc} D{self.dropout!r}"


@dataclass(frozen=True)
class DeGenome:
    """Part 1 (convolutions and poolings, the first a convolution) and the head (Part 2)."""

    layers: tuple[Layer, ...]
    head: DeHead = field(default_factory=DeHead)

    def __post_init__(self) -> None:
        if not isinstance(self.layers, tuple):
            object.__setattr__(self, "layers", tuple(self.layers))
        if not self.layers:
            raise InvalidGenomeError("a de_sequential genome needs at least one layer")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, (ConvLayer, PoolLayer)):
                raise InvalidGenomeError(f"layer {i} is not a ConvLayer or PoolLayer: {layer!r}")
        if not isinstance(self.layers[0], ConvLayer):
            raise InvalidGenomeError("the first layer of a de_sequential genome must be a convolution")
        if not isinstance(self.head, DeHead):
            raise InvalidGenomeError(f"head must be a DeHead, got {self.head!r}")

    @property
    def pools(self) -> int:
        return sum(isinstance(layer, PoolLayer) for layer in self.layers)

    @property
    def convs(self) -> int:
        return sum(isinstance(layer, ConvLayer) for layer in self.layers)

    def __str__(self) -> str:
        return " ".join(layer.token for layer in self.layers) + " | " + self.head.tokens


@dataclass(frozen=True)
class Same:
    """The "same" marker of a DE difference (the paper's -1): keep the base's layer."""

    def __repr__(self) -> str:
        return "SAME"


SAME = Same()


@dataclass(frozen=True)
class DeDifference:
    """x_r2 - x_r3 on sequences: per position a layer to substitute, or SAME. `str` writes SAME as '='."""

    entries: tuple[Layer | Same, ...]

    def __str__(self) -> str:
        return " ".join("=" if isinstance(e, Same) else e.token for e in self.entries)


def pools_allowed(height: int, width: int) -> int:
    """At most floor(log2(min(H, W))) 2x2 poolings keep a feature map of at least 1x1."""
    side = min(height, width)
    return int(side).bit_length() - 1 if side >= 1 else 0
