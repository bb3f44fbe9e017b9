"""The `macro_re` search space: DeepNEAT-style macro genomes of Kyriakides & Margaritis (AIAI 2020).

Genome (Sec. 3.1 of the paper; NORD branch AIAI2020 for the details; `harness.spaces.macro_re_genome`). A
`MacroGenome` holds layer genes (hidden node id -> one of the 12 `LAYER_CHOICES`, by index in the reference
code's order) and connection genes (source, target, enabled), kept in order of addition. Node -2 is the
input, node 99 the output and hidden nodes are numbered 0, 1, 2, ... in order of addition (99 is skipped,
so ids stay unambiguous). Disabled genes are kept: evolution can re-enable them.

Encoding (`encode` / `decode`, `harness.spaces.macro_re_codec`): the layer genes, a `|`, then every
connection gene in genome order as `SOURCE>TARGET`, with a trailing `x` on disabled ones. REMNet is (one
line)::

    0:CONV_2.N 1:CONV_2.N 2:CONV_3.N 3:CONV_5.N 4:POOL_5.A 5:CONV_3.H 6:CONV_3.H |
    -2>0 0>1 1>2 2>3 3>4 4>5 4>6 5>99 6>99

and the genome before any node was added is ``| -2>99``; ``0:CONV_3.N | -2>99x -2>0 0>99`` is that genome
after one add-node mutation. `decode` is strict: unknown layer names, connections to undefined nodes,
duplicate ids or connections, edges into the input or out of the output, and malformed tokens raise
`InvalidGenomeError` with one line.

Mutation (`mutate_with_kind`, reference code `Genome.mutate` in
`nord/architectural_design/metaheuristics/evolutionary/rem/genome.py`): with `p_add` split a random
connection gene (enabled or not) with a new node of a random layer, the split connection disabled; with
`p_identity` return the genome unchanged; otherwise, 50/50, re-draw the layer of a random node (uniformly
over all 12, so it can stay the same, as in the code; the paper says "a different layer") or toggle a
random connection gene. By default the re-draw picks a hidden node, so that the 0.35 / 0.35 split of
Sec. 4.1 is what happens and a genome without hidden nodes toggles instead. With `redraw_io=True` (the
`kyriakides2020_code` preset of `regularized_evolution`) it picks among all node genes, the input and output
included, as the code does; drawing one of those changes nothing (`LayerGene.mutate` in `gene.py` skips
IO nodes), so the child is its parent. A mutation that closes a cycle has every edge of the cycle
disabled: after every mutation but the identity, each enabled connection on a cycle of enabled connections
is disabled. The reference `Genome.remove_recursions` differs in detail (it disables the edges along each
simple cycle of the active graph but the one closing it), which never matters for genomes made by
mutation: splits keep the gene graph acyclic, so only decoded genomes can hold cycles. The initial genome
(`sample`) is the input->output connection split by `initial_add_nodes` add-node mutations.

Network (`build`), two builders (`builder=`):

- `"paper"` (default; `harness.spaces.macro_re_build`): the paper's description with the reference code's
  layers. Only nodes on an enabled input->output path are built. A conv is k x k, stride 1, no padding,
  then ReLU6 -> BatchNorm2d -> Dropout2d(0.1), with C (".N") or C // 2 (".H") filters; a pool is k x k with
  stride k, average (".A") or max (".M"). A node with several inputs resizes each (nearest) to the
  smallest input size, enlarged to the node's kernel where it is smaller, reduces channels to the smallest
  count with one 1x1 conv per input whose count differs, and sums them. The input node feeds the raw
  image; the output node merges the same way (no kernel), then Flatten -> Linear(F, F//4) ->
  Linear(F//4, F//8) -> Linear(F//8, classes) without activations, as in the code. A single-input node
  whose kernel exceeds its input is invalid (the paper's "kernel size greater than the input tensor
  size"), as is a network whose head would get fewer than 8 features (F // 8 == 0).
- `"reference"` (`harness.spaces.macro_re_reference`): the reference code's `NeuralNet` rule by rule: an
  AvgPool's output size is taken to be its input size when merge shapes are matched, a single input
  smaller than the kernel is upsampled to the kernel size, the forward pass leaves out inputs from layers
  of a deeper level and fails on some evaluation orders. Its parameter counts and validity match the
  reference code's (run with the PyTorch initialisation of its time, see rule 5 there) on the genomes of
  `tests/reproduction/fixtures/macro_re_reference_params.json`.

The paper builder is the default: it is what the paper describes, its networks are functions of the
genome's graph (isomorphic genomes build one network and share cache entries), and its hashes are those of
every cache written before the reference builder existed. The reference builder is for reproducing the
authors' runs (the code the paper links), quirks included.

Canonical form (`harness.spaces.macro_re_canon`): the active graph (input, output and hidden nodes on
enabled input->output paths, labelled with their layer names; enabled edges between them) gets an exact
canonical labelling by individualisation-refinement, pruned with automorphisms as in nauty. Isomorphic
active graphs give one string, non-isomorphic ones different strings; `channels` is part of it. Modules
are created and inputs summed in the canonical order, so isomorphic genomes build identical networks under
one torch seed. The reference builder's networks also depend on node ids and gene order, so its
canonical form is that of the network it builds (see its module); it carries `builder=reference`, so the
two builders never share a hash, and the paper builder's hashes are those of earlier versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import nn

from harness.errors import ConfigError, InvalidGenomeError
from harness.spaces.base import VALID, ArchGraph, InputSpec, SearchSpace, Validity
from harness.spaces.macro_re_build import InputPlan, MacroNet, NetworkPlan, NodePlan, paper_plan
from harness.spaces.macro_re_canon import analyse
from harness.spaces.macro_re_codec import decode_genome, encode_genome
from harness.spaces.macro_re_genome import (
    INPUT,
    LAYER_CHOICES,
    LAYER_INDEX,
    LAYER_SPECS,
    MUTATION_KINDS,
    OUTPUT,
    ConnectionGene,
    LayerGene,
    LayerSpec,
    MacroGenome,
    add_node,
    break_cycles,
    chain_genome,
    is_int,
    set_layer,
    toggle,
)
from harness.spaces.macro_re_reference import reference_analysis, reference_plan

if TYPE_CHECKING:
    import optuna

__all__ = [
    "BUILDERS",
    "INPUT",
    "LAYER_CHOICES",
    "LAYER_SPECS",
    "MUTATION_KINDS",
    "NAMED_ARCHITECTURES",
    "NAMED_ENCODINGS",
    "OUTPUT",
    "ConnectionGene",
    "InputPlan",
    "LayerGene",
    "LayerSpec",
    "MacroGenome",
    "MacroNet",
    "MacroReSpace",
    "NetworkPlan",
    "NodePlan",
    "add_node",
    "break_cycles",
    "chain_genome",
    "set_layer",
    "toggle",
]

#: The network builders (`builder=`); the first is the default.
BUILDERS: tuple[str, ...] = ("paper", "reference")

#: Reference architectures of the paper (`MacroReSpace.named`).
NAMED_ARCHITECTURES: Mapping[str, str] = {
    "remnet": "REMNet (Sec. 4.2): 2x CONV_2.N, CONV_3.N, CONV_5.N, POOL_5.A, then two parallel CONV_3.H",
    "es_best": "best network of the evolutionary search (Sec. 4.2, 93.62%): CONV_2.N x2, CONV_3.N, "
    "CONV_5.N, POOL_5.A, CONV_3.H in sequence",
    "rs_best": "best network of the random search (Sec. 4.2, 91.91%): CONV_3.H, CONV_5.H, CONV_3.H, "
    "POOL_5.M in sequence",
}
NAMED_ENCODINGS: Mapping[str, str] = {
    "remnet": "0:CONV_2.N 1:CONV_2.N 2:CONV_3.N 3:CONV_5.N 4:POOL_5.A 5:CONV_3.H 6:CONV_3.H | "
    "-2>0 0>1 1>2 2>3 3>4 4>5 4>6 5>99 6>99",
    "es_best": "0:CONV_2.N 1:CONV_2.N 2:CONV_3.N 3:CONV_5.N 4:POOL_5.A 5:CONV_3.H | "
    "-2>0 0>1 1>2 2>3 3>4 4>5 5>99",
    "rs_best": "0:CONV_3.H 1:CONV_5.H 2:CONV_3.H 3:POOL_5.M | -2>0 0>1 1>2 2>3 3>99",
}


class MacroReSpace(SearchSpace[MacroGenome]):
    """Macro search space of regularized evolution with DeepNEAT genomes (Kyriakides & Margaritis 2020)."""

    name = "macro_re"
    version = "1"
    description = "DeepNEAT-style macro genomes of 12 conv/pool layers (Kyriakides & Margaritis 2020, REMNet)"
    #: `mutate(..., redraw_io=True)` is the reference code's layer re-draw (see the module doc).
    supports_redraw_io = True

    def __init__(
        self,
        *,
        channels: int = 64,
        p_add: float = 0.25,
        p_identity: float = 0.05,
        initial_add_nodes: int = 4,
        max_nodes: int = 10,
        builder: Literal["paper", "reference"] = "paper",
    ) -> None:
        if not is_int(channels) or channels < 2:
            raise ConfigError(f"macro_re: channels must be an integer >= 2, got {channels!r}")
        if not (0.0 <= p_add <= 1.0 and 0.0 <= p_identity <= 1.0 and p_add + p_identity <= 1.0):
            raise ConfigError(
                f"macro_re: need p_add, p_identity in [0, 1] with sum <= 1, got {p_add}, {p_identity}"
            )
        if not is_int(initial_add_nodes) or initial_add_nodes < 0:
            raise ConfigError(
                f"macro_re: initial_add_nodes must be an integer >= 0, got {initial_add_nodes!r}"
            )
        if not is_int(max_nodes) or max_nodes < 1:
            raise ConfigError(f"macro_re: max_nodes must be an integer >= 1, got {max_nodes!r}")
        if builder not in BUILDERS:
            raise ConfigError(f"macro_re: builder must be one of {', '.join(BUILDERS)}, got {builder!r}")
        self.channels = int(channels)
        self.p_add = float(p_add)
        self.p_identity = float(p_identity)
        self.initial_add_nodes = int(initial_add_nodes)
        self.max_nodes = int(max_nodes)
        self.builder = str(builder)

    @property
    def params(self) -> dict[str, Any]:
        """The parameters; `builder` only when it is not the default (so older records stay equal)."""
        params: dict[str, Any] = {
            "channels": self.channels,
            "p_add": self.p_add,
            "p_identity": self.p_identity,
            "initial_add_nodes": self.initial_add_nodes,
            "max_nodes": self.max_nodes,
        }
        if self.builder != BUILDERS[0]:
            params["builder"] = self.builder
        return params

    # --- sampling and variation ---
    def sample(self, rng: np.random.Generator) -> MacroGenome:
        """The initial genome of Sec. 3.2: input -> output split by `initial_add_nodes` add-node mutations."""
        genome = MacroGenome((), (ConnectionGene(INPUT, OUTPUT),))
        for _ in range(self.initial_add_nodes):
            connection = int(rng.integers(len(genome.connections)))
            genome = add_node(genome, connection, int(rng.integers(len(LAYER_CHOICES))))
        return genome

    def mutate(
        self, genome: MacroGenome, rng: np.random.Generator, *, redraw_io: bool = False
    ) -> MacroGenome:
        return self.mutate_with_kind(genome, rng, redraw_io=redraw_io)[0]

    def mutate_with_kind(
        self, genome: MacroGenome, rng: np.random.Generator, *, redraw_io: bool = False
    ) -> tuple[MacroGenome, str]:
        """One mutation and its kind: 'add_node', 'identity', 'layer' or 'toggle' (see the module doc).

        `redraw_io`: a layer re-draw picks among all node genes, input and output included (the reference
        code); one of those is a 'layer' mutation that returns `genome` itself.
        """
        r = rng.random()
        if r < self.p_add:
            connection = int(rng.integers(len(genome.connections)))
            return add_node(genome, connection, int(rng.integers(len(LAYER_CHOICES)))), "add_node"
        if r < self.p_add + self.p_identity:
            return genome, "identity"
        if redraw_io:
            if rng.random() < 0.5:
                pick = int(rng.integers(len(genome.nodes) + 2))  # 0, 1: the input and output genes
                if pick < 2:
                    return genome, "layer"
                node = genome.nodes[pick - 2].node
                return break_cycles(set_layer(genome, node, int(rng.integers(len(LAYER_CHOICES))))), "layer"
        elif rng.random() < 0.5 and genome.nodes:
            node = genome.nodes[int(rng.integers(len(genome.nodes)))].node
            return break_cycles(set_layer(genome, node, int(rng.integers(len(LAYER_CHOICES))))), "layer"
        return toggle(genome, int(rng.integers(len(genome.connections)))), "toggle"

    # --- identity of networks ---
    def canonical(self, genome: MacroGenome) -> str:
        if self.builder == "reference":
            return f"C{self.channels} | builder=reference | {reference_analysis(genome).canonical}"
        return f"C{self.channels} | {analyse(genome).canonical}"

    # --- text form ---
    def encode(self, genome: MacroGenome) -> str:
        return encode_genome(genome)

    def decode(self, text: str) -> MacroGenome:
        return decode_genome(text)

    # --- networks ---
    def plan(self, genome: MacroGenome, task: InputSpec) -> NetworkPlan | str:
        """The shapes and merges of the network `genome` builds for `task`, or why it cannot be built."""
        shape = tuple(int(s) for s in task.input_shape)
        make = reference_plan if self.builder == "reference" else paper_plan
        return make(genome, shape, int(task.num_classes), self.channels)  # type: ignore[arg-type]

    def build(self, genome: MacroGenome, task: InputSpec) -> nn.Module:
        plan = self.plan(genome, task)
        if isinstance(plan, str):
            raise InvalidGenomeError(f"macro_re: cannot build {self.encode(genome)!r}: {plan}")
        return MacroNet(plan)

    def structural_validity(self, genome: MacroGenome, task: InputSpec) -> Validity:
        """The cheap checks of `is_valid` (no module is built)."""
        plan = self.plan(genome, task)
        return Validity(False, plan) if isinstance(plan, str) else VALID

    def is_valid(self, genome: MacroGenome, task: InputSpec) -> Validity:
        """Structural checks with their reasons, then the base class's build-and-forward check.

        The build and the dummy forward pass run on torch's meta device: every shape is checked as on the
        CPU, but no weights are allocated or initialised (a genome whose output keeps a large feature map
        has a head of hundreds of millions of weights) and the caller's torch RNG is left untouched.
        """
        structural = self.structural_validity(genome, task)
        if not structural:
            return structural
        try:
            with torch.device("meta"):
                module = self.build(genome, task)
                module.eval()
                with torch.no_grad():
                    module(torch.zeros((2, *task.input_shape)))
        except (RuntimeError, ValueError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else ""
            return Validity(False, f"{type(exc).__name__}: {message}")
        return VALID

    # --- references, Optuna, pictures ---
    def named_architectures(self) -> Mapping[str, str]:
        return dict(NAMED_ARCHITECTURES)

    def named(self, name: str) -> MacroGenome:
        if name in NAMED_ENCODINGS:
            return self.decode(NAMED_ENCODINGS[name])
        return super().named(name)

    def suggest(self, trial: optuna.trial.BaseTrial) -> MacroGenome:
        """Define-by-run genome of at most `max_nodes` nodes, every node on an input->output path.

        Parameters: `n_nodes` in [1, max_nodes]; per node i (ids in topological order) `layer_i` (a layer
        name), `input_i` in [-1, i-1] (its first input, -1 = the network input) and, for every other
        earlier node j (or the input, j = 'in'), a boolean `link_j_i` for an extra input. Nodes without
        successors feed the output.
        """
        n = trial.suggest_int("n_nodes", 1, self.max_nodes)
        nodes: list[LayerGene] = []
        conns: list[ConnectionGene] = []
        used: set[int] = set()
        for i in range(n):
            layer = trial.suggest_categorical(f"layer_{i}", LAYER_CHOICES)
            first = trial.suggest_int(f"input_{i}", -1, i - 1)
            sources = [INPUT if first < 0 else first]
            for j in range(-1, i):
                src = INPUT if j < 0 else j
                if src == sources[0]:
                    continue
                if trial.suggest_categorical(f"link_{'in' if j < 0 else j}_{i}", (False, True)):
                    sources.append(src)
            nodes.append(LayerGene(i, LAYER_INDEX[str(layer)]))
            conns.extend(ConnectionGene(src, i) for src in sources)
            used.update(s for s in sources if s != INPUT)
        conns.extend(ConnectionGene(i, OUTPUT) for i in range(n) if i not in used)
        return MacroGenome(tuple(nodes), tuple(conns))

    def graph(self, genome: MacroGenome) -> ArchGraph:
        info = analyse(genome)
        layers = {g.node: g.layer for g in genome.nodes}
        shown = sorted(info.active | {INPUT, OUTPUT}, key=lambda v: (v == OUTPUT, v))
        nodes = tuple(
            (str(v), "input" if v == INPUT else "output" if v == OUTPUT else LAYER_CHOICES[layers[v]])
            for v in shown
        )
        return ArchGraph(nodes=nodes, edges=tuple((str(u), str(v)) for u, v in info.edges))

    def summary(self, genome: MacroGenome) -> dict[str, float]:
        """Active hidden nodes and enabled active connections (what the paper's 5.5 +/- 1.1 counts)."""
        info = analyse(genome)
        return {
            "nodes": float(len(info.active - {INPUT, OUTPUT})),
            "connections": float(len(info.edges)),
            "layer_genes": float(len(genome.nodes)),
            "connection_genes": float(len(genome.connections)),
        }
