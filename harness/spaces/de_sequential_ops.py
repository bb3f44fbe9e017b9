"""Variation of de_sequential genomes: the initialisation, a small mutation, and the DE operators.

All functions take the space's `DeRules` (a frozen value) and one numpy Generator; none touches global
state. How the paper and the authors' notebook were read is in `harness.spaces.de_sequential`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from harness.spaces.de_sequential_genome import (
    KERNELS,
    SAME,
    ConvLayer,
    DeDifference,
    DeGenome,
    DeHead,
    Layer,
    PoolLayer,
    Same,
    layer_type,
)

logger = logging.getLogger(__name__)

POOL_OVERFLOWS: tuple[str, ...] = ("conv", "skip")


@dataclass(frozen=True)
class DeRules:
    """The bounds and probabilities that sampling and variation follow (the space's parameters)."""

    min_length: int = 7
    max_length: int = 15
    max_channels: int = 256
    max_pools: int = 4
    p_conv: float = 0.5
    p_max_pool: float = 0.8
    first_channels_min: int = 5
    first_channels_max: int = 12
    monotone_channels: bool = True
    pool_overflow: str = "conv"  # a pooling drawn once max_pools are placed: "conv" (evonas) or "skip"
    differential_weight: float = 1.0


# --- initialisation (section 1, Table 1) ------------------------------------------------------------------
def draw_pool(rules: DeRules, rng: np.random.Generator) -> PoolLayer:
    return PoolLayer("max" if rng.random() < rules.p_max_pool else "avg")


def draw_kernel(rng: np.random.Generator) -> int:
    return int(KERNELS[int(rng.integers(len(KERNELS)))])


def random_conv(rules: DeRules, rng: np.random.Generator) -> ConvLayer:
    return ConvLayer(draw_kernel(rng), int(rng.integers(1, rules.max_channels + 1)))


def sample(rules: DeRules, head: DeHead, rng: np.random.Generator) -> DeGenome:
    """A length in [min_length, max_length], a first convolution, then one draw per further position: a
    convolution with p_conv, else a pooling (max with p_max_pool). A pooling drawn once max_pools are placed
    becomes a convolution (`pool_overflow` "conv") or is skipped, shortening the genome ("skip", as the
    authors' notebook does). The draws are the same in both modes; only what is kept differs."""
    length = int(rng.integers(rules.min_length, rules.max_length + 1))
    lo = min(rules.first_channels_min, rules.max_channels)
    hi = min(rules.first_channels_max, rules.max_channels)
    channels = int(rng.integers(lo, hi + 1))
    layers: list[Layer] = [ConvLayer(draw_kernel(rng), channels)]
    pools = 0
    for _ in range(1, length):
        if rules.pool_overflow == "skip":
            if rng.random() >= rules.p_conv:  # the notebook's coin comes first, the pool count after
                if pools < rules.max_pools:
                    layers.append(draw_pool(rules, rng))
                    pools += 1
                continue
        elif pools < rules.max_pools and rng.random() >= rules.p_conv:
            layers.append(draw_pool(rules, rng))
            pools += 1
            continue
        low = channels if rules.monotone_channels else 1
        channels = int(rng.integers(low, rules.max_channels + 1))
        layers.append(ConvLayer(draw_kernel(rng), channels))
    return DeGenome(tuple(layers), head)


# --- a small mutation (for generic algorithms) -------------------------------------------------------------
def mutate(rules: DeRules, genome: DeGenome, rng: np.random.Generator) -> DeGenome:
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
    can_add_pool = len(pools) < rules.max_pools

    def channel_range(c: int) -> tuple[int, int, int]:
        """(lo, hi, count) of the values in [c/2, 2c] within [1, max_channels] other than c."""
        lo, hi = max(1, c // 2), min(rules.max_channels, 2 * c)
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
    if n < rules.max_length:
        ops.append("insert")
    if n > max(1, rules.min_length):
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
        if can_add_pool and rng.random() >= rules.p_conv:
            layers.insert(position, draw_pool(rules, rng))
        else:
            layers.insert(position, random_conv(rules, rng))
    elif op == "delete":
        del layers[int(rng.integers(1, n))]
    else:  # retype a layer after the first
        i = int(rng.integers(1, n))
        current = layers[i]
        if isinstance(current, PoolLayer):
            layers[i] = random_conv(rules, rng)
        elif can_add_pool:
            layers[i] = draw_pool(rules, rng)
        else:
            layers[i] = other_kernel(current)
    return DeGenome(tuple(layers), genome.head)


# --- the differential-evolution operators (section 2, Figures 2-4) -----------------------------------------
def difference(a: DeGenome, b: DeGenome) -> DeDifference:
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


def add_difference(rules: DeRules, base: DeGenome, diff: DeDifference, rng: np.random.Generator) -> DeGenome:
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
            rules.differential_weight >= 1.0 or rng.random() < rules.differential_weight
        ):
            layer = entry
        if i == 0 and not isinstance(layer, ConvLayer):
            layer = own  # unreachable from genomes (both start with a conv); keeps the first layer a conv
        if isinstance(layer, PoolLayer):
            if pools >= rules.max_pools:
                logger.debug("add_difference: dropped pooling %d beyond max_pools %d", i, rules.max_pools)
                continue
            pools += 1
        layers.append(layer)
    return DeGenome(tuple(layers), base.head)


def de_mutation(
    rules: DeRules, best: DeGenome, r2: DeGenome, r3: DeGenome, rng: np.random.Generator
) -> DeGenome:
    """v = x_best + F (x_r2 - x_r3) on sequences (section 2, Figure 2)."""
    return add_difference(rules, best, difference(r2, r3), rng)
