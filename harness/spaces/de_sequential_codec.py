"""Text form of de_sequential genomes: the layers, a ``|``, then the head, tokens separated by spaces.

- ``C<k>x<c>``: convolution, kernel k, c output channels (followed by a ReLU); ``MP`` / ``AP``: max / average
  pooling 2x2 stride 2;
- ``FC``: the paper's head on the F flattened features (F/2, F/4); ``FC<w>``: hidden widths w and w // 2;
- ``D<p>``: the head's dropout probability.

Example (the paper's Model 1): ``C3x7 C5x195 C7x207 C7x235 AP C7x241 MP MP | FC D0.5``.
"""

from __future__ import annotations

import re

from harness.errors import InvalidGenomeError
from harness.spaces.base import check_encoding, parse_int, short_repr
from harness.spaces.de_sequential_genome import TOKEN_POOLS, ConvLayer, DeGenome, DeHead, Layer, PoolLayer

_CONV_RE = re.compile(r"C([0-9]+)x([0-9]+)")
_FC_RE = re.compile(r"FC([0-9]*)")
_DROP_RE = re.compile(r"D([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)")
_MAX_DROPOUT_CHARS = 40  # 'D' and a float: repr() of any float in [0, 1) is far shorter


def encode(genome: DeGenome) -> str:
    return str(genome)


def decode(text: str, space_name: str) -> DeGenome:
    """Parse the text form; InvalidGenomeError (naming the bad token) on anything else."""
    parts = check_encoding(text, space_name).split("|")
    if len(parts) != 2:
        raise InvalidGenomeError(
            f"de_sequential encoding needs exactly one '|' before the head: {short_repr(text)}"
        )
    layer_tokens, head_tokens = parts[0].split(), parts[1].split()
    if not layer_tokens:
        raise InvalidGenomeError(f"de_sequential encoding has no layers: {short_repr(text)}")
    layers = [parse_layer(token, space_name) for token in layer_tokens]
    return DeGenome(tuple(layers), parse_head(head_tokens, parts[1], space_name))


def parse_layer(token: str, space_name: str) -> Layer:
    if token in TOKEN_POOLS:
        return PoolLayer(TOKEN_POOLS[token])
    match = _CONV_RE.fullmatch(token)
    if match is None:
        raise InvalidGenomeError(
            f"bad de_sequential layer token {short_repr(token)} (want C<k>x<c>, MP or AP)"
        )
    kernel = parse_int(match.group(1), "conv kernel", space_name)
    return ConvLayer(kernel, parse_int(match.group(2), "conv channels", space_name))


def parse_head(tokens: list[str], text: str, space_name: str) -> DeHead:
    fc = _FC_RE.fullmatch(tokens[0]) if len(tokens) == 2 else None
    drop = _DROP_RE.fullmatch(tokens[1]) if len(tokens) == 2 else None
    if fc is None or drop is None or len(tokens[1]) > _MAX_DROPOUT_CHARS:
        raise InvalidGenomeError(
            f"de_sequential head must be 'FC[<width>] D<p>', got {short_repr(text.strip())}"
        )
    width = parse_int(fc.group(1), "head width", space_name) if fc.group(1) else None
    return DeHead(width, float(drop.group(1)))
