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

How the paper was read (docs/methods.md, DE-NAS, wins where it is more precise than the paper):

- Layer tables (Figures 8 and 10): the kernels are recovered from the parameter counts (e.g. 34,320 =
  195 x (7 x 5 x 5 + 1)); convolutions and linear layers have biases, there is no BatchNorm, and the head is
  Dropout -> F -> F/2 -> ReLU -> Dropout -> F/4 -> ReLU -> classes with F the flattened feature count
  (3856 = 241 x 4 x 4 -> 1928 -> 964 -> 10). Each hidden width is at least ``head_floor``: 1 by default,
  10 in the notebook (``max(10, F // 2)``, ``max(10, F // 4)``; it matters only where F < 40, and it enters
  the canonical form when it is not 1). Dropout has PyTorch's default p = 0.5 (the authors' final
  training notebook uses ``nn.Dropout()``). With these readings both counts come out exact.
- Initialisation (section 1, Table 1): the length of Part 1 is uniform in [min_length, max_length] (7..15);
  the first layer is a convolution; each further layer is a convolution with probability ``p_conv`` (0.5),
  else a pooling that is max with probability ``p_max_pool`` (0.8), else average. A pooling drawn once
  ``max_pools`` are placed becomes a convolution (``pool_overflow="conv"``, the default: lengths stay in
  7..15, mean 11.0 layers, 7.4 convolutions); the authors' notebook skips the draw instead
  (``pool_overflow="skip"``: mean 9.6 layers, 6.0 convolutions, some shorter than min_length). Kernels
  are uniform over {1, 3, 5, 7} (the paper lists four sizes).
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
- Repeats: the DE algorithm (``algorithms.differential_evolution``) redraws a child equal to a current
  member or to an earlier child by default; the notebook only rejects a repeat among one generation's
  children (its population-9.bin holds the 16,477,306-parameter network four times), which is
  ``distinct_from_population=False`` there.
- Paper settings: ``benchmarks/configs/de_cifar10_paper.toml`` is the notebook's behaviour
  (``pool_overflow="skip"``, ``head_floor=10``, the ``cifar10_de_paper`` task); ``de_cifar10.toml`` is
  evonas's default on validation. See docs/paper_fidelity.md.

Modules: values in ``de_sequential_genome``, text form in ``de_sequential_codec``, sampling, mutation and the
DE operators in ``de_sequential_ops``, networks in ``de_sequential_build``; this module is the space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from torch import nn

from harness.errors import EvonasError, InvalidGenomeError
from harness.spaces import de_sequential_build as build_ops
from harness.spaces import de_sequential_codec as codec
from harness.spaces import de_sequential_ops as ops
from harness.spaces.base import ArchGraph, InputSpec, SearchSpace, Validity, canonical_json
from harness.spaces.de_sequential_genome import (
    KERNELS,
    POOL_KINDS,
    SAME,
    ConvLayer,
    DeDifference,
    DeGenome,
    DeHead,
    Layer,
    PoolLayer,
    Same,
    is_int,
    layer_type,
    pools_allowed,
)
from harness.spaces.de_sequential_ops import POOL_OVERFLOWS, DeRules

if TYPE_CHECKING:
    import optuna

__all__ = [
    "KERNELS",
    "POOL_KINDS",
    "POOL_OVERFLOWS",
    "SAME",
    "ConvLayer",
    "DeDifference",
    "DeGenome",
    "DeHead",
    "DeRules",
    "DeSequentialSpace",
    "Layer",
    "PoolLayer",
    "Same",
    "layer_type",
    "pools_allowed",
]

# The paper's two final networks (Results section; layer tables in Figures 8 and 10), both entries of the
# authors' populations/population-9.bin (sorted by score): Model 1 is entry [0], Model 2 entry [7].
_NAMED: dict[str, tuple[str, str]] = {
    "model1": (
        "C3x7 C5x195 C7x207 C7x235 AP C7x241 MP MP | FC D0.5",
        "Model 1 (Figure 8): best selection score of the 9th population (entry [0] of the authors' "
        "population-9.bin; the text says best accuracy), 16,477,306 parameters, 92.14% after 200 epochs",
    ),
    "model2": (
        "C3x7 C5x195 MP MP C5x219 C5x188 AP | FC D0.5",
        "Model 2 (Figure 10): entry [7] of the authors' population-9.bin (the text says fewest parameters; "
        "that population holds 1,584,827-parameter members), 7,796,674 parameters, 88.53% after 200 epochs",
    ),
}


class DeSequentialSpace(SearchSpace[DeGenome]):
    """Sequences of convolutions and poolings with an AlexNet-like head (Pei, Chang, Tian).

    See the module docstring for the encoding, the operators and every interpretation of the paper.
    Parameters: `min_length` / `max_length` bound Part 1 (7..15, Table 1); `max_channels` (256) bounds a
    convolution's outputs; `max_pools` (4) bounds the poolings, and `is_valid` also requires at most
    floor(log2(min(H, W))) on the task's input; `p_conv` (0.5) and `p_max_pool` (0.8) are the initialisation
    probabilities; `first_channels_min` / `first_channels_max` (5, 12) and `monotone_channels` the channel
    draws of the authors' notebook; `pool_overflow` ("conv" or the notebook's "skip") what becomes of a
    pooling drawn beyond max_pools at initialisation; `head_width` (None: the paper's F/2, F/4) and
    `dropout` (0.5) the head of sampled genomes; `head_floor` (1; the notebook's 10) the least hidden width
    of the F rule; `differential_weight` the F of v = x_best + F (x_r2 - x_r3).
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
        pool_overflow: str = "conv",
        head_floor: int = 1,
    ) -> None:
        ints = {
            "min_length": min_length,
            "max_length": max_length,
            "max_channels": max_channels,
            "max_pools": max_pools,
            "first_channels_min": first_channels_min,
            "first_channels_max": first_channels_max,
            "head_floor": head_floor,
        }
        for key, value in ints.items():
            if not is_int(value):
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
        if pool_overflow not in POOL_OVERFLOWS:
            raise EvonasError(
                f"de_sequential: pool_overflow must be one of {POOL_OVERFLOWS}, got {pool_overflow!r}"
            )
        if head_floor < 1:
            raise EvonasError(f"de_sequential: head_floor must be >= 1, got {head_floor}")
        try:
            self._head = DeHead(head_width, dropout)
        except InvalidGenomeError as exc:
            raise EvonasError(f"de_sequential: {exc}") from exc
        self.rules = DeRules(
            min_length=int(min_length),
            max_length=int(max_length),
            max_channels=int(max_channels),
            max_pools=int(max_pools),
            p_conv=float(p_conv),
            p_max_pool=float(p_max_pool),
            first_channels_min=int(first_channels_min),
            first_channels_max=int(first_channels_max),
            monotone_channels=bool(monotone_channels),
            pool_overflow=str(pool_overflow),
            differential_weight=float(differential_weight),
        )
        self.head_floor = int(head_floor)
        # the rules as attributes too (space.max_pools, ...), read-only by convention
        self.min_length = self.rules.min_length
        self.max_length = self.rules.max_length
        self.max_channels = self.rules.max_channels
        self.max_pools = self.rules.max_pools
        self.p_conv = self.rules.p_conv
        self.p_max_pool = self.rules.p_max_pool
        self.first_channels_min = self.rules.first_channels_min
        self.first_channels_max = self.rules.first_channels_max
        self.monotone_channels = self.rules.monotone_channels
        self.pool_overflow = self.rules.pool_overflow
        self.differential_weight = self.rules.differential_weight

    @property
    def params(self) -> dict[str, Any]:
        r = self.rules
        params: dict[str, Any] = {
            "min_length": r.min_length,
            "max_length": r.max_length,
            "max_channels": r.max_channels,
            "max_pools": r.max_pools,
            "p_conv": r.p_conv,
            "p_max_pool": r.p_max_pool,
            "first_channels_min": r.first_channels_min,
            "first_channels_max": r.first_channels_max,
            "monotone_channels": r.monotone_channels,
            "head_width": self._head.width,
            "dropout": self._head.dropout,
            "differential_weight": r.differential_weight,
        }
        # later parameters are listed only when set, so that existing runs keep their recorded parameters
        if r.pool_overflow != "conv":
            params["pool_overflow"] = r.pool_overflow
        if self.head_floor != 1:
            params["head_floor"] = self.head_floor
        return params

    @property
    def head(self) -> DeHead:
        """The head given to sampled and suggested genomes."""
        return self._head

    # --- sampling and variation ---
    def sample(self, rng: np.random.Generator) -> DeGenome:
        """The paper's initialisation (section 1, Table 1); see the module docstring for the details."""
        return ops.sample(self.rules, self._head, rng)

    def mutate(self, genome: DeGenome, rng: np.random.Generator) -> DeGenome:
        """One small variation (`de_sequential_ops.mutate`): for generic algorithms, not the paper's DE."""
        return ops.mutate(self.rules, genome, rng)

    def difference(self, a: DeGenome, b: DeGenome) -> DeDifference:
        """x_a - x_b (Figure 3); see `de_sequential_ops.difference`."""
        return ops.difference(a, b)

    def add_difference(self, base: DeGenome, diff: DeDifference, rng: np.random.Generator) -> DeGenome:
        """base + diff (Figure 4); see `de_sequential_ops.add_difference`."""
        return ops.add_difference(self.rules, base, diff, rng)

    def de_mutation(self, best: DeGenome, r2: DeGenome, r3: DeGenome, rng: np.random.Generator) -> DeGenome:
        """v = x_best + F (x_r2 - x_r3) on sequences (section 2, Figure 2)."""
        return ops.de_mutation(self.rules, best, r2, r3, rng)

    # --- identity ---
    def canonical(self, genome: DeGenome) -> str:
        """The normalised layer list and head: the sequence determines the network (input channels are
        derived, not stored; dropout is a normalised float), so no isomorphism reduction is needed. A
        head_floor other than 1 is part of the form (it can change the head's widths)."""
        layers = [
            ["conv", layer.kernel, layer.channels] if isinstance(layer, ConvLayer) else [layer.kind]
            for layer in genome.layers
        ]
        head: dict[str, Any] = {"width": genome.head.width, "dropout": genome.head.dropout}
        if self.head_floor != 1 and genome.head.width is None:
            head["floor"] = self.head_floor
        return canonical_json({"layers": layers, "head": head})

    def encode(self, genome: DeGenome) -> str:
        return codec.encode(genome)

    def decode(self, text: str) -> DeGenome:
        return codec.decode(text, self.name)

    # --- networks ---
    def is_valid(self, genome: DeGenome, task: InputSpec) -> Validity:
        """Structural checks (`de_sequential_build.check`); genomes shorter than min_length are accepted."""
        return build_ops.check(self.rules, genome, task)

    def _checked(self, genome: DeGenome, task: InputSpec) -> None:
        validity = self.is_valid(genome, task)
        if not validity:
            raise InvalidGenomeError(f"de_sequential genome is invalid for this task: {validity.reason}")

    def build(self, genome: DeGenome, task: InputSpec) -> nn.Module:
        """nn.Sequential: [Conv2d -> ReLU | MaxPool2d | AvgPool2d]*, Flatten, then the head."""
        self._checked(genome, task)
        return build_ops.build_module(genome, task, self.head_floor)

    def count_params(self, genome: DeGenome, task: InputSpec) -> int:
        """The parameter count of `build(genome, task)`, computed without building it (biases included)."""
        self._checked(genome, task)
        return build_ops.parameter_count(genome, task, self.head_floor)

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
