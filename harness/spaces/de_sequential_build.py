"""Networks of de_sequential genomes: the structural check, the nn.Sequential, and its parameter count.

Convolutions (padding k // 2, with bias) are each followed by a ReLU; poolings are 2x2 stride 2; then
Flatten -> Dropout -> Linear(F, h1) -> ReLU -> Dropout -> Linear(h1, h2) -> ReLU -> Linear(h2, classes),
the widths from `DeHead.hidden(F, floor)`. No BatchNorm (the paper's layer tables have none).
"""

from __future__ import annotations

from torch import nn

from harness.spaces.base import VALID, InputSpec, Validity
from harness.spaces.de_sequential_genome import ConvLayer, DeGenome, pools_allowed
from harness.spaces.de_sequential_ops import DeRules


def check(rules: DeRules, genome: DeGenome, task: InputSpec) -> Validity:
    """Structural checks (no forward pass): length, channels and poolings against the rules and the task's
    input. Genomes shorter than min_length are accepted (min_length bounds initialisation and mutation)."""
    channels, height, width = task.input_shape
    if min(channels, height, width) < 1 or task.num_classes < 1:
        return Validity(
            False, f"unusable task shape {tuple(task.input_shape)} with {task.num_classes} classes"
        )
    if len(genome.layers) > rules.max_length:
        return Validity(False, f"{len(genome.layers)} layers exceed max_length {rules.max_length}")
    for i, layer in enumerate(genome.layers):
        if isinstance(layer, ConvLayer) and layer.channels > rules.max_channels:
            return Validity(
                False,
                f"conv layer {i} has {layer.channels} channels, above max_channels {rules.max_channels}",
            )
    pools = genome.pools
    if pools > rules.max_pools:
        return Validity(False, f"{pools} poolings exceed max_pools {rules.max_pools}")
    allowed = pools_allowed(height, width)
    if pools > allowed:
        return Validity(
            False, f"{pools} poolings are too many for a {height}x{width} input (at most {allowed})"
        )
    return VALID


def features(genome: DeGenome, task: InputSpec) -> int:
    """F, the number of flattened features entering the head."""
    channels, height, width = task.input_shape
    for layer in genome.layers:
        if isinstance(layer, ConvLayer):
            channels = layer.channels
        else:
            height, width = height // 2, width // 2
    return channels * height * width


def build_module(genome: DeGenome, task: InputSpec, floor: int = 1) -> nn.Sequential:
    """nn.Sequential: [Conv2d -> ReLU | MaxPool2d | AvgPool2d]*, Flatten, then the head (call `check`
    first)."""
    modules: list[nn.Module] = []
    in_channels = task.input_shape[0]
    for layer in genome.layers:
        if isinstance(layer, ConvLayer):
            modules.append(nn.Conv2d(in_channels, layer.channels, layer.kernel, padding=layer.kernel // 2))
            modules.append(nn.ReLU())
            in_channels = layer.channels
        elif layer.kind == "max":
            modules.append(nn.MaxPool2d(2, 2))
        else:
            modules.append(nn.AvgPool2d(2, 2))
    f = features(genome, task)
    h1, h2 = genome.head.hidden(f, floor)
    p = genome.head.dropout
    modules += [
        nn.Flatten(),
        nn.Dropout(p),
        nn.Linear(f, h1),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(h1, h2),
        nn.ReLU(),
        nn.Linear(h2, task.num_classes),
    ]
    return nn.Sequential(*modules)


def parameter_count(genome: DeGenome, task: InputSpec, floor: int = 1) -> int:
    """The parameter count of `build_module(genome, task, floor)` without building it (biases included)."""
    total = 0
    in_channels = task.input_shape[0]
    for layer in genome.layers:
        if isinstance(layer, ConvLayer):
            total += layer.channels * (in_channels * layer.kernel * layer.kernel + 1)
            in_channels = layer.channels
    f = features(genome, task)
    h1, h2 = genome.head.hidden(f, floor)
    return total + h1 * (f + 1) + h2 * (h1 + 1) + task.num_classes * (h2 + 1)
