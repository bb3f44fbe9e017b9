"""Text form of `macro_re` genomes: `encode` and the strict `decode`.

The layer genes (`ID:LAYER`), a `|`, then every connection gene in genome order as `SOURCE>TARGET`, with a
trailing `x` on disabled ones, e.g. ``0:CONV_3.N | -2>99x -2>0 0>99``. `decode` refuses unknown layer
names, connections to undefined nodes, duplicate ids or connections, edges into the input or out of the
output and malformed tokens with one `InvalidGenomeError` line.
"""

from __future__ import annotations

import re

from harness.errors import InvalidGenomeError
from harness.spaces.base import check_encoding, parse_int, short_repr
from harness.spaces.macro_re_genome import LAYER_CHOICES, LAYER_INDEX, ConnectionGene, LayerGene, MacroGenome

SPACE = "macro_re"
_LAYER_TOKEN = re.compile(r"([0-9]+):(\S+)")  # used with fullmatch; [0-9], not \d: ASCII digits only
_CONN_TOKEN = re.compile(r"(-?[0-9]+)>(-?[0-9]+)(x?)")
EXAMPLE = "0:CONV_3.N | -2>99x -2>0 0>99"


def encode_genome(genome: MacroGenome) -> str:
    """The genome as text (see the module doc)."""
    layers = " ".join(f"{g.node}:{g.name}" for g in genome.nodes)
    conns = " ".join(f"{g.source}>{g.target}{'' if g.enabled else 'x'}" for g in genome.connections)
    return f"{layers} | {conns}".strip()


def decode_genome(text: str) -> MacroGenome:
    """Parse `encode_genome`'s text; InvalidGenomeError with one line on anything malformed."""
    parts = check_encoding(text, SPACE).split("|")
    if len(parts) != 2:
        raise InvalidGenomeError(
            f"macro_re: expected '<layers> | <connections>' (e.g. {EXAMPLE!r}), "
            f"got {short_repr(text.strip(), 60)}"
        )
    nodes = [_layer_gene(token) for token in parts[0].split()]
    conns = [_connection_gene(token) for token in parts[1].split()]
    return MacroGenome(tuple(nodes), tuple(conns))


def _layer_gene(token: str) -> LayerGene:
    match = _LAYER_TOKEN.fullmatch(token)
    if match is None:
        raise InvalidGenomeError(
            f"macro_re: bad layer gene {short_repr(token)} (expected ID:LAYER, e.g. '0:CONV_3.N')"
        )
    node, layer = parse_int(match.group(1), "node id", SPACE), match.group(2)
    if layer not in LAYER_INDEX:
        raise InvalidGenomeError(
            f"macro_re: unknown layer {short_repr(layer)} of node {node}; choices: {', '.join(LAYER_CHOICES)}"
        )
    return LayerGene(node, LAYER_INDEX[layer])


def _connection_gene(token: str) -> ConnectionGene:
    match = _CONN_TOKEN.fullmatch(token)
    if match is None:
        raise InvalidGenomeError(
            f"macro_re: bad connection gene {short_repr(token)} "
            "(expected SOURCE>TARGET[x], e.g. '-2>0' or '0>99x')"
        )
    source = parse_int(match.group(1), "connection source", SPACE)
    target = parse_int(match.group(2), "connection target", SPACE)
    return ConnectionGene(source, target, match.group(3) != "x")
