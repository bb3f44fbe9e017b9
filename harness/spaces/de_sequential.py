"""The sequential CNN space of "NAS based on differential evolution" (Pei, Chang, Tian).

A genome is a sequence (the paper's Part 1) of convolutions and 2x2 poolings followed by a fixed
AlexNet-like fully connected head (Part 2). Every convolution is followed by a ReLU; input channels are not
stored but chained from the previous convolution, so the sequence alone determines the network.

Text form (``encode`` / ``decode``): the layers, a ``|``, then the head, tokens separated by spaces.

- ``C<k>x<c>``: convolution, kernel k in {1, 3, 5, 7}, padding k // 2 (size-preserving), c output channels,
  followed by a ReLU;
- ``MP`` / ``AP``: max / average pooling, 2x2, stride 2;
- ``FC``: the paper's head on the F flattened features: Dropout -> Linear(F, F//2) -> ReLU -> Dropout ->
  Linear(F//2, F//4) -> ReLU -> Linear(F//4, classes) (each width at least 1);
  ``FC<w>``: the same head with the first hidden width fixed to w (second w // 2) whatever F is;
- ``D<p>``: the head's dropout probability.

The paper's Model 1 (Figure 8), 16,477,306 parameters on 3x32x32 with 10 classes::

    C3x7 C5x195 C7x207 C7x235 AP C7x241 MP MP | FC D0.5

How the paper was read (REFERENCE.md section 3 wins where it is more precise than the paper):

- Layer tables (Figures 8 and 10): the kernels are recovered from the parameter counts (e.g. 34,320 =
  195 x (7 x 5 x 5 + 1)); convolutions and linear layers have biases, there is no BatchNorm, and the head is
  Dropout -> F -> F/2 -> ReLU -> Dropout -> F/4 -> ReLU -> classes with F the flattened feature count
  (3856 = 241 x 4 x 4 -> 1928 -> 964 -> 10). Dropout has PyTorch's default p = 0.5 (the authors' final
  training notebook uses ``nn.Dropout()``). With these readings both counts come out exact.
- Initialisation (section 1, Table 1): the length of Part 1 is uniform in [min_length, max_length] (7..15);
  the first layer is a convolution; each further layer is a convolution with probability ``p_conv`` (0.5),
  else a pooling that is max with probability ``p_max_pool`` (0.8), else average. A pooling drawn once
  ``max_pools`` are placed becomes a convolution (the notebook skips the layer instead, which can make the
  network shorter than min_length). Kernels are uniform over {1, 3, 5, 7} (the paper lists four sizes).
  The paper only says channels are "randomly chosen" up to 256; the published models (7 -> 195 -> 207 ->
  235 -> 241) follow the authors' notebook: the first convolution draws from
  [first_channels_min, first_channels_max] = [5, 12], each later one from [previous, max_channels]
  (``monotone_channels=False`` draws from [1, max_channels] instead).
- Difference (section 2, Figure 3), ``difference(a, b)``: position by position; where a and b hold layers
  of the same type (conv / max pool / avg pool; kernel and channels are not compared, as in the authors'
  notebook) the entry is "same", where the types differ it is a's layer, and the longer genome's tail is
  appended as it is.
- Adding a difference (Figure 4), ``add_difference(base, diff, rng)``: position by position over the base;
  a "same" entry keeps the base's layer, any other entry replaces it. The paper has no rule for a
  difference longer than the base (unlike the difference, which has one for "none"), and the authors'
  notebook iterates over the base only: entries past the base's end are ignored, so the child has the base's
  length. Input channels are re-chained, a ReLU follows each convolution (both implicit here), and poolings
  beyond ``max_pools`` (counted from the input) are dropped; the child can then be shorter than min_length,
  which ``is_valid`` accepts (min_length bounds initialisation and ``mutate`` only).
- v = x_best + F (x_r2 - x_r3), ``de_mutation``: the paper uses no scale factor, i.e. F = 1. We read
  ``differential_weight`` F < 1 as the probability with which each non-"same" entry is applied (the default
  1.0 is the paper's operator and draws nothing from the rng).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from torch import nn

from harness.errors import EvonasError, InvalidGenomeError
from harness.spaces.base import (
    VALID,
    ArchGraph,
    InputSpec,
    SearchSpace,
    Validity,
    canonical_json,
    check_encoding,
    parse_int,
    short_repr,
)

if TYPE_CHECKING:
    import optuna

logger = logging.getLogger(__name__)

KERNELS: tuple[int, ...] = (1, 3, 5, 7)
POOL_KINDS: tuple[str, ...] = ("max", "avg")
_POOL_TOKENS = {"max": "MP", "avg": "AP"}
_TOKEN_POOLS = {v: k for k, v in _POOL_TOKENS.items()}


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class ConvLayer:
    """A k x k convolution (padding k // 2, stride 1) with `channels` outputs, followed by a ReLU."""

    kernel: int
    channels: int

    def __post_init__(self) -> None:
        if not _is_int(self.kernel) or int(self.kernel) not in KERNELS:
            raise InvalidGenomeError(f"conv kernel must be one of {KERNELS}, got {self.kernel!r}")
        if not _is_int(self.channels) or int(self.channels) < 1:
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
        return _POOL_TOKENS[self.kind]


Layer = ConvLayer | PoolLayer


def layer_type(layer: Layer) -> str:
    """The type compared by the DE difference: "conv", "max" or "avg"."""
    return "conv" if isinstance(layer, ConvLayer) else layer.kind


@dataclass(frozen=True)
class DeHead:
    """Part 2: Dropout -> FC -> ReLU -> Dropout -> FC -> ReLU -> FC(classes).

    `width` None is the paper's rule (hidden widths F//2 and F//4 of the F flattened features); an integer
    fixes the hidden widths to `width` and `width // 2`.
    """

    width: int | None = None
    dropout: float = 0.5

    def __post_init__(self) -> None:
        if self.width is not None:
            if not _is_int(self.width) or int(self.width) < 2:
                raise InvalidGenomeError(f"head width must be an integer >= 2, got {self.width!r}")
            object.__setattr__(self, "width", int(self.width))
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float, np.floating)):
            raise InvalidGenomeError(f"head dropout must be a number, got {self.dropout!r}")
        p = float(self.dropout) + 0.0  # + 0.0 turns -0.0 into 0.0
        if not 0.0 <= p < 1.0:
            raise InvalidGenomeError(f"head dropout must be in [0, 1), got {self.dropout!r}")
        object.__setattr__(self, "dropout", p)

    def hidden(self, features: int) -> tuple[int, int]:
        """The two hidden widths for `features` flattened inputs."""
        if self.width is None:
            return max(1, features // 2), max(1, features // 4)
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


_CONV_RE = re.compile(r"C([0-9]+)x([0-9]+)")
_FC_RE = re.compile(r"FC([0-9]*)")
_DROP_RE = re.compile(r"D([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)")
_MAX_DROPOUT_CHARS = 40  # 'D' and a float: repr() of any float in [0, 1) is far shorter

# The paper's two final networks (Results section; layer tables in Figures 8 and 10).
_NAMED: dict[str, tuple[str, str]] = {
    "model1": (
        "C3x7 C5x195 C7x207 C7x235 AP C7x241 MP MP | FC D0.5",
        "Model 1 (Figure 8): best accuracy of the 9th population, 16,477,306 parameters, 92.14% after 200 "
        "epochs",
    ),
    "model2": (
        "C3x7 C5x195 MP MP C5x219 C5x188 AP | FC D0.5",
        "Model 2 (Figure 10): fewest parameters of the 9th population, 7,796,674 parameters, 88.53% after "
        "200 epochs",
    ),
}


def pools_allowed(height: int, width: int) -> int:
    """At most floor(log2(min(H, W))) 2x2 poolings keep a feature map of at least 1x1."""
    side = min(height, width)
    return int(side).bit_length() - 1 if side >= 1 else 0


class DeSequentialSpace(SearchSpace[DeGenome]):
    """Sequences of convolutions and poolings with an AlexNet-like head (Pei, Chang, Tian).

    See the module docstring for the encoding, the operators and every interpretation of the paper.
    Parameters: `min_length` / `max_length` bound Part 1 (7..15, Table 1); `max_channels` (256) bounds a
    convolution's outputs; `max_pools` (4) bounds the poolings, and `is_valid` also requires at most
    floor(log2(min(H, W))) on the task's input; `p_conv` (0.5) and `p_max_pool` (0.8) are the initialisation
    probabilities; `first_channels_min` / `first_channels_max` (5, 12) and `monotone_channels` the channel
    draws of the authors' notebook; `head_width` (None: the paper's F/2, F/4) and `dropout` (0.5) the head of
    sampled genomes; `differential_weight` the F of v = x_best + F (x_r2 - x_r3).
    """

    name: ClassVar[str] = "de_sequential"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = (
        "Pei, Chang, Tian: sequences of 1/3/5/7 convolutions and 2x2 poolings + AlexNet-like head, "
        "differential-evolution operators"
    )

    def __init__(
        self,
        *,
        min_length: int = 7,
        max_length: int = 15,
        max_channels: int = 256,
        max_pools: int = 4,
        p_conv: float = 0.5,
        p_max_pool: float = 0.8,
        first_channels_min: int = 5,
        first_channels_max: int = 12,
        monotone_channels: bool = True,
        head_width: int | None = None,
        dropout: float = 0.5,
        differential_weight: float = 1.0,
    ) -> None:
        ints = {
            "min_length": min_length,
            "max_length": max_length,
            "max_channels": max_channels,
            "max_pools": max_pools,
            "first_channels_min": first_channels_min,
            "first_channels_max": first_channels_max,
        }
        for key, value in ints.items():
            if not _is_int(value):
                raise EvonasError(f"de_sequential: {key} must be an integer, got {value!r}")
        if min_length < 1 or max_length < min_length:
            raise EvonasError(
                f"de_sequential: need 1 <= min_length <= max_length, got {min_length}..{max_length}"
            )
        if max_channels < 1:
            raise EvonasError(f"de_sequential: max_channels must be >= 1, got {max_channels}")
        if max_pools < 0:
            raise EvonasError(f"de_sequential: max_pools must be >= 0, got {max_pools}")
        if not 1 <= first_channels_min <= first_channels_max:
            raise EvonasError(
                "de_sequential: need 1 <= first_channels_min <= first_channels_max, "
                f"got {first_channels_min}..{first_channels_max}"
            )
        for key, p in (("p_conv", p_conv), ("p_max_pool", p_max_pool)):
            if not 0.0 <= float(p) <= 1.0:
                raise EvonasError(f"de_sequential: {key} must be in [0, 1], got {p!r}")
        if not 0.0 < float(differential_weight) <= 1.0:
            raise EvonasError(
                f"de_sequential: differential_weight must be in (0, 1], got {differential_weight!r}"
            )
        try:
            self._head = DeHead(head_width, dropout)
        except InvalidGenomeError as exc:
            raise EvonasError(f"de_sequential: {exc}") from exc
        self.min_length = int(min_length)
        self.max_length = int(max_length)
        self.max_channels = int(max_channels)
        self.max_pools = int(max_pools)
        self.p_conv = float(p_conv)
        self.p_max_pool = float(p_max_pool)
        self.first_channels_min = int(first_channels_min)
        self.first_channels_max = int(first_channels_max)
        self.monotone_channels = bool(monotone_channels)
        self.differential_weight = float(differential_weight)

    @property
    def params(self) -> dict[str, Any]:
        return {
            "min_length": self.min_length,
            "max_length": self.max_length,
            "max_channels": self.max_channels,
            "max_pools": self.max_pools,
            "p_conv": self.p_conv,
            "p_max_pool": self.p_max_pool,
            "first_channels_min": self.first_channels_min,
            "first_channels_max": self.first_channels_max,
            "monotone_channels": self.monotone_channels,
            "head_width": self._head.width,
            "dropout": self._head.dropout,
            "differential_weight": self.differential_weight,
        }

    @property
    def head(self) -> DeHead:
        """The head given to sampled and suggested genomes."""
        return self._head

    # --- sampling ---
    def _draw_pool(self, rng: np.random.Generator) -> PoolLayer:
        return PoolLayer("max" if rng.random() < self.p_max_pool else "avg")

    def _draw_kernel(self, rng: np.random.Generator) -> int:
        return int(KERNELS[int(rng.integers(len(KERNELS)))])

    def sample(self, rng: np.random.Generator) -> DeGenome:
        """The paper's initialisation (section 1, Table 1); see the module docstring for the details."""
        length = int(rng.integers(self.min_length, self.max_length + 1))
        lo = min(self.first_channels_min, self.max_channels)
        hi = min(self.first_channels_max, self.max_channels)
        channels = int(rng.integers(lo, hi + 1))
        layers: list[Layer] = [ConvLayer(self._draw_kernel(rng), channels)]
        pools = 0
        for _ in range(1, length):
            if pools < self.max_pools and rng.random() >= self.p_conv:
                layers.append(self._draw_pool(rng))
                pools += 1
                continue
            low = channels if self.monotone_channels else 1
            channels = int(rng.integers(low, self.max_channels + 1))
            layers.append(ConvLayer(self._draw_kernel(rng), channels))
        return DeGenome(tuple(layers), self._head)

    def _random_conv(self, rng: np.random.Generator) -> ConvLayer:
        return ConvLayer(self._draw_kernel(rng), int(rng.integers(1, self.max_channels + 1)))

    def mutate(self, genome: DeGenome, rng: np.random.Generator) -> DeGenome:
        """One small variation, chosen uniformly among those applicable; never raises.

        Operations: change a convolution's kernel (always applicable: the first layer is a convolution);
        change a convolution's channels to a different value in [c/2, 2c] within [1, max_channels]; flip a
        pooling between max and avg; insert a random convolution or pooling after the first layer (below
        max_length; a pooling only below max_pools); delete a layer other than the first (above min_length);
        turn a later convolution into a pooling (below max_pools) or a pooling into a random convolution.
        """
        layers = list(genome.layers)
        n = len(layers)
        convs = [(i, layer) for i, layer in enumerate(layers) if isinstance(layer, ConvLayer)]
        pools = [(i, layer) for i, layer in enumerate(layers) if isinstance(layer, PoolLayer)]
        can_add_pool = len(pools) < self.max_pools

        def channel_range(c: int) -> tuple[int, int, int]:
            """(lo, hi, count) of the values in [c/2, 2c] within [1, max_channels] other than c."""
            lo, hi = max(1, c // 2), min(self.max_channels, 2 * c)
            return lo, hi, max(0, hi - lo + 1) - (1 if lo <= c <= hi else 0)

        def other_kernel(conv: ConvLayer) -> ConvLayer:
            kernels = [k for k in KERNELS if k != conv.kernel]
            return ConvLayer(kernels[int(rng.integers(len(kernels)))], conv.channels)

        resizable = [(i, conv) for i, conv in convs if channel_range(conv.channels)[2] > 0]
        ops: list[str] = ["kernel"]
        if resizable:
            ops.append("channels")
        if pools:
            ops.append("pool_kind")
        if n < self.max_length:
            ops.append("insert")
        if n > max(1, self.min_length):
            ops.append("delete")
        if n > 1:
            ops.append("retype")
        op = ops[int(rng.integers(len(ops)))]

        if op == "kernel":
            i, conv = convs[int(rng.integers(len(convs)))]
            layers[i] = other_kernel(conv)
        elif op == "channels":
            i, conv = resizable[int(rng.integers(len(resizable)))]
            lo, hi, count = channel_range(conv.channels)
            value = lo + int(rng.integers(count))
            if lo <= conv.channels <= hi and value >= conv.channels:
                value += 1  # skip the current value
            layers[i] = ConvLayer(conv.kernel, value)
        elif op == "pool_kind":
            i, pool = pools[int(rng.integers(len(pools)))]
            layers[i] = PoolLayer("avg" if pool.kind == "max" else "max")
        elif op == "insert":
            position = int(rng.integers(1, n + 1))
            if can_add_pool and rng.random() >= self.p_conv:
                layers.insert(position, self._draw_pool(rng))
            else:
                layers.insert(position, self._random_conv(rng))
        elif op == "delete":
            del layers[int(rng.integers(1, n))]
        else:  # retype a layer after the first
            i = int(rng.integers(1, n))
            current = layers[i]
            if isinstance(current, PoolLayer):
                layers[i] = self._random_conv(rng)
            elif can_add_pool:
                layers[i] = self._draw_pool(rng)
            else:
                layers[i] = other_kernel(current)
        return DeGenome(tuple(layers), genome.head)

    # --- the differential-evolution operators (section 2) -------------------------------------------------
    def difference(self, a: DeGenome, b: DeGenome) -> DeDifference:
        """x_a - x_b (Figure 3): SAME where the layer types agree, a's layer where they differ, then the
        longer genome's tail as it is.

        Example: a = ``C3x16 C5x32 MP C3x64 AP C1x8``, b = ``C3x8 MP MP C5x64`` gives ``= C5x32 = = AP C1x8``.
        """
        entries: list[Layer | Same] = []
        for i in range(max(len(a.layers), len(b.layers))):
            if i >= len(a.layers):
                entries.append(b.layers[i])
            elif i >= len(b.layers):
                entries.append(a.layers[i])
            elif layer_type(a.layers[i]) == layer_type(b.layers[i]):
                entries.append(SAME)
            else:
                entries.append(a.layers[i])
        return DeDifference(tuple(entries))

    def add_difference(self, base: DeGenome, diff: DeDifference, rng: np.random.Generator) -> DeGenome:
        """base + diff (Figure 4): over the base's positions, SAME keeps the base's layer and any other entry
        replaces it (with probability `differential_weight`, 1.0 in the paper); entries past the base's end
        are ignored; poolings beyond `max_pools` are dropped; the base's head is kept.

        Example: base ``C3x7 C3x9 C3x11 MP MP`` + ``= C5x32 = = AP C1x8`` = ``C3x7 C5x32 C3x11 MP AP``.
        """
        layers: list[Layer] = []
        pools = 0
        for i, own in enumerate(base.layers):
            entry = diff.entries[i] if i < len(diff.entries) else SAME
            layer = own
            if not isinstance(entry, Same) and (
                self.differential_weight >= 1.0 or rng.random() < self.differential_weight
            ):
                layer = entry
            if i == 0 and not isinstance(layer, ConvLayer):
                layer = own  # unreachable from genomes (both start with a conv); keeps the first layer a conv
            if isinstance(layer, PoolLayer):
                if pools >= self.max_pools:
                    logger.debug("add_difference: dropped pooling %d beyond max_pools %d", i, self.max_pools)
                    continue
                pools += 1
            layers.append(layer)
        return DeGenome(tuple(layers), base.head)

    def de_mutation(self, best: DeGenome, r2: DeGenome, r3: DeGenome, rng: np.random.Generator) -> DeGenome:
        """v = x_best + F (x_r2 - x_r3) on sequences (section 2, Figure 2)."""
        return self.add_difference(best, self.difference(r2, r3), rng)

    # --- identity ---
    def canonical(self, genome: DeGenome) -> str:
        """The normalised layer list and head: the sequence determines the network (input channels are
        derived, not stored; dropout is a normalised float), so no isomorphism reduction is needed."""
        layers = [
            ["conv", layer.kernel, layer.channels] if isinstance(layer, ConvLayer) else [layer.kind]
            for layer in genome.layers
        ]
        head = {"width": genome.head.width, "dropout": genome.head.dropout}
        return canonical_json({"layers": layers, "head": head})

    def encode(self, genome: DeGenome) -> str:
        return str(genome)

    def decode(self, text: str) -> DeGenome:
        parts = check_encoding(text, self.name).split("|")
        if len(parts) != 2:
            raise InvalidGenomeError(
                f"de_sequential encoding needs exactly one '|' before the head: {short_repr(text)}"
            )
        layer_tokens, head_tokens = parts[0].split(), parts[1].split()
        if not layer_tokens:
            raise InvalidGenomeError(f"de_sequential encoding has no layers: {short_repr(text)}")
        layers = [self._layer(token) for token in layer_tokens]
        return DeGenome(tuple(layers), self._head_from(head_tokens, parts[1]))

    def _layer(self, token: str) -> Layer:
        if token in _TOKEN_POOLS:
            return PoolLayer(_TOKEN_POOLS[token])
        match = _CONV_RE.fullmatch(token)
        if match is None:
            raise InvalidGenomeError(
                f"bad de_sequential layer token {short_repr(token)} (want C<k>x<c>, MP or AP)"
            )
        kernel = parse_int(match.group(1), "conv kernel", self.name)
        return ConvLayer(kernel, parse_int(match.group(2), "conv channels", self.name))

    def _head_from(self, tokens: list[str], text: str) -> DeHead:
        fc = _FC_RE.fullmatch(tokens[0]) if len(tokens) == 2 else None
        drop = _DROP_RE.fullmatch(tokens[1]) if len(tokens) == 2 else None
        if fc is None or drop is None or len(tokens[1]) > _MAX_DROPOUT_CHARS:
            raise InvalidGenomeError(
                f"de_sequential head must be 'FC[<width>] D<p>', got {short_repr(text.strip())}"
            )
        width = parse_int(fc.group(1), "head width", self.name) if fc.group(1) else None
        return DeHead(width, float(drop.group(1)))

    # --- networks ---
    def is_valid(self, genome: DeGenome, task: InputSpec) -> Validity:
        """Structural checks (no forward pass): length, channels and poolings against the space's bounds
        and the task's input. Genomes shorter than min_length are accepted (see the module docstring)."""
        channels, height, width = task.input_shape
        if min(channels, height, width) < 1 or task.num_classes < 1:
            return Validity(
                False, f"unusable task shape {tuple(task.input_shape)} with {task.num_classes} classes"
            )
        if len(genome.layers) > self.max_length:
            return Validity(False, f"{len(genome.layers)} layers exceed max_length {self.max_length}")
        for i, layer in enumerate(genome.layers):
            if isinstance(layer, ConvLayer) and layer.channels > self.max_channels:
                return Validity(
                    False,
                    f"conv layer {i} has {layer.channels} channels, above max_channels {self.max_channels}",
                )
        pools = genome.pools
        if pools > self.max_pools:
            return Validity(False, f"{pools} poolings exceed max_pools {self.max_pools}")
        allowed = pools_allowed(height, width)
        if pools > allowed:
            return Validity(
                False, f"{pools} poolings are too many for a {height}x{width} input (at most {allowed})"
            )
        return VALID

    def _features(self, genome: DeGenome, task: InputSpec) -> int:
        channels, height, width = task.input_shape
        for layer in genome.layers:
            if isinstance(layer, ConvLayer):
                channels = layer.channels
            else:
                height, width = height // 2, width // 2
        return channels * height * width

    def build(self, genome: DeGenome, task: InputSpec) -> nn.Module:
        """nn.Sequential: [Conv2d -> ReLU | MaxPool2d | AvgPool2d]*, Flatten, then the head."""
        validity = self.is_valid(genome, task)
        if not validity:
            raise InvalidGenomeError(f"de_sequential genome is invalid for this task: {validity.reason}")
        modules: list[nn.Module] = []
        in_channels = task.input_shape[0]
        for layer in genome.layers:
            if isinstance(layer, ConvLayer):
                modules.append(
                    nn.Conv2d(in_channels, layer.channels, layer.kernel, padding=layer.kernel // 2)
                )
                modules.append(nn.ReLU())
                in_channels = layer.channels
            elif layer.kind == "max":
                modules.append(nn.MaxPool2d(2, 2))
            else:
                modules.append(nn.AvgPool2d(2, 2))
        features = self._features(genome, task)
        h1, h2 = genome.head.hidden(features)
        p = genome.head.dropout
        modules += [
            nn.Flatten(),
            nn.Dropout(p),
            nn.Linear(features, h1),
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(h1, h2),
            nn.ReLU(),
            nn.Linear(h2, task.num_classes),
        ]
        return nn.Sequential(*modules)

    def count_params(self, genome: DeGenome, task: InputSpec) -> int:
        """The parameter count of `build(genome, task)`, computed without building it (biases included)."""
        validity = self.is_valid(genome, task)
        if not validity:
            raise InvalidGenomeError(f"de_sequential genome is invalid for this task: {validity.reason}")
        total = 0
        in_channels = task.input_shape[0]
        for layer in genome.layers:
            if isinstance(layer, ConvLayer):
                total += layer.channels * (in_channels * layer.kernel * layer.kernel + 1)
                in_channels = layer.channels
        features = self._features(genome, task)
        h1, h2 = genome.head.hidden(features)
        return total + h1 * (features + 1) + h2 * (h1 + 1) + task.num_classes * (h2 + 1)

    # --- references, Optuna, pictures ---
    def named_architectures(self) -> Mapping[str, str]:
        return {name: description for name, (_, description) in _NAMED.items()}

    def named(self, name: str) -> DeGenome:
        """`model1` / `model2`: the paper's final networks (Figures 8 and 10)."""
        if name not in _NAMED:
            return super().named(name)
        return self.decode(_NAMED[name][0])

    def suggest(self, trial: optuna.trial.BaseTrial) -> DeGenome:
        """Define-by-run: `length` in [min_length, max_length]; layer 0 a convolution; layer i > 0 asks
        `layer_i` in {conv, max, avg} while fewer than max_pools poolings are placed (a convolution after);
        a convolution asks `kernel_i` in {1, 3, 5, 7} and `channels_i` in [1, max_channels] (log scale).
        Only the first `length` positions are asked, so the number of parameters is bounded by max_length.
        The head is the space's."""
        length = trial.suggest_int("length", self.min_length, self.max_length)
        layers: list[Layer] = []
        pools = 0
        for i in range(length):
            kind = "conv"
            if i > 0 and pools < self.max_pools:
                kind = str(trial.suggest_categorical(f"layer_{i}", ["conv", "max", "avg"]))
            if kind == "conv":
                kernel = int(trial.suggest_categorical(f"kernel_{i}", list(KERNELS)))
                channels = trial.suggest_int(f"channels_{i}", 1, self.max_channels, log=True)
                layers.append(ConvLayer(kernel, channels))
            else:
                layers.append(PoolLayer(kind))
                pools += 1
        return DeGenome(tuple(layers), self._head)

    def graph(self, genome: DeGenome) -> ArchGraph:
        """The chain input -> layers -> head -> output."""
        nodes: list[tuple[str, str]] = [("input", "input")]
        for i, layer in enumerate(genome.layers):
            if isinstance(layer, ConvLayer):
                label = f"conv {layer.kernel}x{layer.kernel}, {layer.channels} + ReLU"
            else:
                label = f"{layer.kind} pool 2x2"
            nodes.append((f"l{i}", label))
        fc = "F/2, F/4" if genome.head.width is None else f"{genome.head.width}, {genome.head.width // 2}"
        nodes += [("head", f"FC {fc}, dropout {genome.head.dropout}"), ("output", "output")]
        edges = tuple((nodes[k][0], nodes[k + 1][0]) for k in range(len(nodes) - 1))
        return ArchGraph(nodes=tuple(nodes), edges=edges)

    def summary(self, genome: DeGenome) -> dict[str, float]:
        return {"layers": len(genome.layers), "convs": genome.convs, "pools": genome.pools}
