"""The reference code's own builder for `macro_re` genomes: `get_space("macro_re", builder="reference")`.

The paper (Kyriakides & Margaritis 2020, Sec. 3.3) says only that inputs are "scaled to the same size" and
summed. The reference code (NORD, branch AIAI2020, commit `REFERENCE_COMMIT`) builds a genome through
`Genome.to_descriptor` and `NeuralNet`, and that builder has rules of its own. This module reproduces them;
every rule names the file and function of the NORD repository it follows.

1. Expansion (`nord/architectural_design/metaheuristics/evolutionary/rem/genome.py`, `to_descriptor`):
   only nodes on an enabled input->output path are built; a conv node becomes the five layers
   `<id>in` (the conv) -> `<id>relu` -> `<id>batchnorm` -> `<id>dropout` -> `<id>out`, a pool node the two
   layers `<id>in` -> `<id>out`; the input and output are `-2NN_INPUT` and `9999NN_OUTPUT`; a connection
   u -> v joins `<u>out` to `<v>in`. Node ids are the genome's (the reference's innovation numbers), the
   connections keep the genome's order.
2. Bookkept sizes (`nord/neural_nets/neural_builder.py`, `NeuralNet.get_output_size`): one number per
   layer, from the input's height. A conv gives in - k + 1, a max pool floor((in - k) / k + 1), but an
   average pool is not in its list of size-changing layers: its output size is taken to be its input size
   (the real tensor is floor(in / k) wide).
3. Merging (`neural_builder.py`, `get_min_input_size`, `scale_target_inputs`, `scale_layer_outputs`): every
   layer's inputs are matched to the smallest bookkept size among them, raised to the layer's kernel where
   it is smaller, also for a single input (a 4x4 input of a 5x5 conv is upsampled to 5x5). An input whose
   bookkept size differs is resized (nearest, `SizeScaleLayer`), one whose channel count differs from the
   smallest gets a 1x1 conv; the real tensors are what they are, so a sum can broadcast or fail.
4. Evaluation order (`neural_builder.py`, `__name_all_paths`, `get_acyclic_paths`, `__internal_fwd`): every
   layer is renamed `LLL_<name>` with a depth level L read off the simple input->output paths sorted by
   length (networkx's depth-first order among equal lengths): a layer on the first shortest path gets its
   distance from the input, any other layer that distance + 1, the output its distance + 1. The forward
   pass runs the layers in sorted name order and leaves out of a layer's sum every input whose level is
   higher than the layer's own (meant for recurrent connections; in a DAG it drops skip connections from
   deeper branches). An input of the same level whose name sorts after the layer's has not been computed
   when it is read: a KeyError, so the genome is invalid. The dropped inputs' 1x1 convs are still built.
5. Head (`neural_builder.py`, `NeuralNet.__init__`): F = the real flattened size of the output's sum, then
   Linear(F, int(F/4)) -> Linear(int(F/4), int(F/8)) -> Linear(int(F/8), classes). With F < 8 a Linear
   has no inputs, which PyTorch before 1.9 could not initialise (ZeroDivisionError in `kaiming_uniform_`,
   pytorch/pytorch#48152, fixed by #56505 in 2021; the AIAI2020 code is of March 2020), so such a genome
   was invalid in the authors' runs and is invalid here; PyTorch >= 1.9 would build it with empty layers.
6. Invalid (`nord/rem.py`, `evaluate`; `NeuralNet.functional`): no enabled input->output path, and any
   exception while building or running the network (a kernel larger than its real input, a sum of
   tensors that do not broadcast, the KeyError of rule 4). A cycle would make the reference's scaling
   loop spin forever; here it is invalid.

One detail differs on purpose: the reference compares channel counts with `is not` (the same as `!=` for
counts up to 256, CPython's small-integer cache; above that it can add a 1x1 conv between equal counts),
here `!=`. Its assumption of square inputs (it bookkeeps the height only and resizes to squares) is
followed as written.

Rule 4 depends on node ids and gene order, not only on the graph, so two isomorphic genomes can build
different networks. The canonical form of this builder is therefore that of the built network: the active
graph with every dropped input marked (an extra `SKIP` vertex on its edge), plus a marker when the
forward pass would fail on its order.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from harness.spaces.macro_re_build import InputPlan, NetworkPlan, NodePlan, node_key
from harness.spaces.macro_re_canon import Canonizer, analyse, topological_order
from harness.spaces.macro_re_genome import INPUT, LAYER_CHOICES, LAYER_SPECS, OUTPUT, MacroGenome

#: The NORD commit (branch AIAI2020) whose builder this module follows.
REFERENCE_COMMIT = "335a9f4e2dad5f786a46ede14bbe8d9788710ae4"

_CONV_PARTS = ("in", "relu", "batchnorm", "dropout", "out")
_POOL_PARTS = ("in", "out")
_INPUT_NAME = "-2NN_INPUT"
_OUTPUT_NAME = "9999NN_OUTPUT"
_SKIP_CODE = len(LAYER_CHOICES)  # canonizer code of the vertex marking a dropped input

Vertex = tuple[int, int]  # (genome node, index of the layer in its expansion)


@dataclass(frozen=True, eq=False)
class ReferenceAnalysis:
    """What rule 4 makes of a genome: dropped inputs, an order failure, the built network's labelling."""

    levels: Mapping[Vertex, int]
    skipped: frozenset[tuple[int, int]]  # active connections whose input the forward pass leaves out
    order_error: str | None
    position: Mapping[int, int]
    canonical: str
    order: tuple[int, ...] | None
    preds: Mapping[int, tuple[int, ...]]


def _parts(layers: Mapping[int, int], node: int) -> tuple[str, ...]:
    if node in (INPUT, OUTPUT):
        return ("",)
    return _CONV_PARTS if LAYER_SPECS[layers[node]].op == "conv" else _POOL_PARTS


def _base_name(layers: Mapping[int, int], vertex: Vertex) -> str:
    node, part = vertex
    if node == INPUT:
        return _INPUT_NAME
    if node == OUTPUT:
        return _OUTPUT_NAME
    return f"{node}{_parts(layers, node)[part]}"


def _distances(start: Vertex, adj: Mapping[Vertex, list[Vertex]]) -> dict[Vertex, int]:
    dist = {start: 0}
    todo = deque([start])
    while todo:
        v = todo.popleft()
        for w in adj.get(v, ()):
            if w not in dist:
                dist[w] = dist[v] + 1
                todo.append(w)
    return dist


def _levels(genome: MacroGenome) -> dict[Vertex, int]:
    """Rule 4's depth level of every layer of the expanded active graph (an acyclic one)."""
    info = analyse(genome)
    layers = {g.node: g.layer for g in genome.nodes}
    succ: dict[Vertex, list[Vertex]] = {}
    pred: dict[Vertex, list[Vertex]] = {}

    def link(a: Vertex, b: Vertex) -> None:
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)

    for node in sorted(info.active):
        for part in range(len(_parts(layers, node)) - 1):
            link((node, part), (node, part + 1))
    for u, w in info.edges:  # genome order: the order of each layer's successors in the reference graph
        link((u, len(_parts(layers, u)) - 1), (w, 0))
    source, sink = (INPUT, 0), (OUTPUT, 0)
    depth = _distances(source, succ)
    to_sink = _distances(sink, pred)
    # networkx yields simple paths depth first, successors in insertion order, and the sort by length is
    # stable: the first path is the lexicographically first shortest one
    first = {source}
    at = source
    while at != sink:
        at = next(w for w in succ[at] if to_sink[w] == to_sink[at] - 1)
        first.add(at)
    levels = {v: d + (0 if v in first else 1) for v, d in depth.items()}
    levels[source] = 0
    levels[sink] = depth[sink] + 1
    return levels


@functools.lru_cache(maxsize=1 << 14)
def reference_analysis(genome: MacroGenome) -> ReferenceAnalysis:
    """Rule 4 applied to `genome`, and the canonical form of the network it builds."""
    info = analyse(genome)
    if not info.active or info.order is None:  # invalid under both builders
        return ReferenceAnalysis({}, frozenset(), None, info.position, info.canonical, info.order, {})
    layers = {g.node: g.layer for g in genome.nodes}
    levels = _levels(genome)

    def name(vertex: Vertex) -> str:
        return f"{str(levels[vertex]).zfill(3)}_{_base_name(layers, vertex)}"

    skipped: set[tuple[int, int]] = set()
    order_error: str | None = None
    reads: list[tuple[Vertex, Vertex, tuple[int, int] | None]] = []
    for node in sorted(info.active):
        for part in range(len(_parts(layers, node)) - 1):
            reads.append(((node, part), (node, part + 1), None))
    for u, w in info.edges:
        reads.append(((u, len(_parts(layers, u)) - 1), (w, 0), (u, w)))
    for src, dst, edge in reads:
        if levels[src] > levels[dst]:
            if edge is not None:
                skipped.add(edge)
            continue
        if order_error is None and name(src) > name(dst):  # sorted later, so not computed yet
            order_error = (
                f"the reference forward pass reads layer {name(src)} before computing it "
                f"(it sorts after {name(dst)}, its reader)"
            )
    vertices = sorted(info.active)
    local = {v: i for i, v in enumerate(vertices)}
    codes = [-2 if v == INPUT else (-1 if v == OUTPUT else layers[v]) for v in vertices]
    labels = ["IN" if v == INPUT else "OUT" if v == OUTPUT else LAYER_CHOICES[layers[v]] for v in vertices]
    marked: list[tuple[int, int]] = []
    for u, w in info.edges:
        if (u, w) in skipped:
            codes.append(_SKIP_CODE)
            labels.append("SKIP")
            marked += [(local[u], len(codes) - 1), (len(codes) - 1, local[w])]
        else:
            marked.append((local[u], local[w]))
    positions = Canonizer(codes, marked).run()
    by_position = sorted(range(len(codes)), key=positions.__getitem__)
    canonical = (
        " ".join(labels[i] for i in by_position)
        + " | "
        + " ".join(f"{a}>{b}" for a, b in sorted((positions[x], positions[y]) for x, y in marked))
    )
    if order_error is not None:
        canonical += " | fails on its evaluation order"
    position = {v: positions[local[v]] for v in vertices}
    preds = {
        v: tuple(sorted((u for u, w in info.edges if w == v), key=position.__getitem__)) for v in vertices
    }
    return ReferenceAnalysis(
        levels=levels,
        skipped=frozenset(skipped),
        order_error=order_error,
        position=position,
        canonical=canonical,
        order=topological_order(vertices, info.edges, position),
        preds=preds,
    )


def _broadcast(sizes: list[int]) -> int | None:
    """The size torch's broadcasting gives the sum of tensors of these sizes along one axis; None: fails."""
    big = set(sizes) - {1}
    if len(big) > 1:
        return None
    return big.pop() if big else 1


@functools.lru_cache(maxsize=1 << 14)
def reference_plan(
    genome: MacroGenome, input_shape: tuple[int, int, int], num_classes: int, channels: int
) -> NetworkPlan | str:
    """The network the reference builder makes of `genome`, or the one-line reason it fails there."""
    info = analyse(genome)
    if not info.active:
        return "no enabled path from input to output"
    if info.order is None:
        cyclic = sorted(v for v in info.active if v not in (INPUT, OUTPUT))
        return f"enabled connections form a cycle among nodes {cyclic}"
    ref = reference_analysis(genome)
    if ref.order_error is not None:
        return ref.order_error
    assert ref.order is not None
    layers = {g.node: g.layer for g in genome.nodes}
    c0, h0, w0 = (int(s) for s in input_shape)
    booked: dict[int, int] = {INPUT: h0}  # rule 2: one bookkept size per node output
    real: dict[int, tuple[int, int, int]] = {INPUT: (c0, h0, w0)}
    steps: list[NodePlan] = []
    for node in ref.order:
        if node == INPUT:
            continue
        sources = ref.preds[node]
        spec = LAYER_SPECS[layers[node]] if node != OUTPUT else None
        size = min(booked[s] for s in sources)
        if spec is not None and size < spec.kernel:
            size = spec.kernel
        channels_in = min(real[s][0] for s in sources)
        inputs: list[InputPlan] = []
        kept: list[tuple[int, int]] = []
        for s in sources:
            resize = None if booked[s] == size else (size, size)
            adapt = None if real[s][0] == channels_in else (real[s][0], channels_in)
            skip = (s, node) in ref.skipped
            inputs.append(InputPlan(node_key(s, ref.position), resize, adapt, skip))
            if not skip:
                kept.append(resize if resize is not None else real[s][1:])
        h = _broadcast([k[0] for k in kept])
        w = _broadcast([k[1] for k in kept])
        if not kept or h is None or w is None:
            shown = ", ".join(f"{a}x{b}" for a, b in kept)
            return f"the reference forward pass cannot sum the inputs of node {node} ({shown})"
        in_shape = (channels_in, h, w)
        if spec is None:
            out_booked, out_shape = size, in_shape
        else:
            if min(h, w) < spec.kernel:
                return (
                    f"kernel {spec.kernel} of node {node} ({spec.name}) is larger than its {h}x{w} input "
                    "in the reference forward pass"
                )
            if spec.op == "conv":
                out_booked = size - spec.kernel + 1
                filters = channels if spec.variant == "N" else int(channels / 2)
                out_shape = (filters, h - spec.kernel + 1, w - spec.kernel + 1)
            else:
                out_booked = size // spec.kernel if spec.variant == "M" else size  # rule 2: AvgPool keeps it
                out_shape = (channels_in, h // spec.kernel, w // spec.kernel)
        booked[node] = out_booked
        real[node] = out_shape
        steps.append(
            NodePlan(
                key=node_key(node, ref.position),
                node=node,
                layer=None if spec is None else layers[node],
                inputs=tuple(inputs),
                in_shape=in_shape,
                out_shape=out_shape,
            )
        )
    c, h, w = real[OUTPUT]
    features = c * h * w
    if features // 8 == 0:  # rule 5
        return (
            f"only {features} features ({c}x{h}x{w}) reach the head: a Linear without inputs "
            "(ZeroDivisionError in the reference code's PyTorch, < 1.9)"
        )
    return NetworkPlan(steps=tuple(steps), features=features, num_classes=num_classes, channels=channels)
