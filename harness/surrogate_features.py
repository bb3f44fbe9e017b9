"""Feature vectors of genomes for the surrogate: fixed length per space, equal for isomorphic genomes.

Every feature is computed from what a genome's network *is*, never from how the genome happens to be
written, so two genomes with one hash get one prediction:

- `genetic_cnn`: per stage, the stage's canonical adjacency bits (the isomorphism-invariant string that the
  hash is built from, padded to the stage's K(K-1)/2 bits), its active-node count, edge count, longest
  path, number of source and sink nodes (the default input/output node's connections), and whether the
  stage is a single convolution (no edges).
- any other space: graph statistics of `space.graph(genome)` (node and edge counts, longest path, degree
  maxima, counts of each node label among a fixed vocabulary learnt from the table) and the space's
  `summary()` numbers. Coarser, but defined for every space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.spaces.base import ArchGraph, SearchSpace

MAX_LABELS = 48  #: the generic featuriser counts at most this many distinct node labels


@dataclass(frozen=True)
class Featurizer:
    """Maps genomes of one space to feature rows; `labels` is the generic vocabulary (empty otherwise)."""

    space_name: str
    names: tuple[str, ...]
    labels: tuple[str, ...] = ()

    def row(self, space: SearchSpace, genome: Any) -> np.ndarray:
        if self.space_name == "genetic_cnn":
            return np.asarray(_genetic_cnn_row(space, genome), dtype=np.float64)
        return np.asarray(_generic_row(space, genome, self.labels), dtype=np.float64)

    def matrix(self, space: SearchSpace, genomes: Sequence[Any]) -> np.ndarray:
        rows = [self.row(space, g) for g in genomes]
        return np.vstack(rows) if rows else np.zeros((0, len(self.names)))

    def to_json(self) -> dict[str, Any]:
        return {"space": self.space_name, "names": list(self.names), "labels": list(self.labels)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Featurizer:
        return cls(str(data["space"]), tuple(map(str, data["names"])), tuple(map(str, data["labels"])))


def featurizer_for(space: SearchSpace, genomes: Sequence[Any]) -> Featurizer:
    """The featuriser of `space`; the generic one learns its label vocabulary from `genomes`."""
    if space.name == "genetic_cnn":
        return Featurizer(space.name, tuple(_genetic_cnn_names(space)))
    counts: dict[str, int] = {}
    for genome in genomes:
        for _, label in space.graph(genome).nodes:
            counts[label] = counts.get(label, 0) + 1
    labels = tuple(sorted(sorted(counts), key=lambda k: -counts[k])[:MAX_LABELS])
    summary_keys = sorted(space.summary(genomes[0])) if genomes else []
    names = [*_GRAPH_NAMES, *(f"label:{label}" for label in labels), *(f"summary:{k}" for k in summary_keys)]
    return Featurizer(space.name, tuple(names), labels)


# --- genetic_cnn ---
def _genetic_cnn_names(space: Any) -> list[str]:
    names = []
    for s, k in enumerate(space.nodes, start=1):
        names += [f"s{s}.bit{i}" for i in range(k * (k - 1) // 2)]
        names += [f"s{s}.{n}" for n in ("nodes", "edges", "depth", "sources", "sinks", "single")]
    return names


def _genetic_cnn_row(space: Any, genome: Any) -> list[float]:
    from harness.spaces.genetic_cnn import canonical_stage

    row: list[float] = []
    for k, bits in zip(space.nodes, genome.stages, strict=True):
        form = canonical_stage(k, tuple(bits))
        width = k * (k - 1) // 2
        if not form:
            row += [0.0] * width + [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
            continue
        count, _, groups = form.partition(":")
        n = int(count)
        adjacency = [g for g in groups.split("-")]  # position p lists the bits (q -> p) for q < p
        flat = [float(c) for g in adjacency for c in g]
        row += flat + [0.0] * (width - len(flat))
        edges = [(q, p) for p, g in enumerate(adjacency, start=1) for q, c in enumerate(g) if c == "1"]
        row += [float(n), float(len(edges)), float(_longest_path(n, edges))]
        row += [float(n - len({j for _, j in edges})), float(n - len({i for i, _ in edges})), 0.0]
    return row


def _longest_path(n: int, edges: Sequence[tuple[int, int]]) -> int:
    """Edges of the longest path in a DAG whose nodes 0..n-1 are in topological order."""
    depth = [0] * n
    for q, p in sorted(edges, key=lambda e: e[1]):
        depth[p] = max(depth[p], depth[q] + 1)
    return max(depth, default=0)


# --- any space ---
_GRAPH_NAMES = ("nodes", "edges", "depth", "max_in", "max_out", "sources", "sinks")


def _generic_row(space: SearchSpace, genome: Any, labels: Sequence[str]) -> list[float]:
    graph = space.graph(genome)
    row = _graph_stats(graph)
    counts: dict[str, int] = {}
    for _, label in graph.nodes:
        counts[label] = counts.get(label, 0) + 1
    row += [float(counts.get(label, 0)) for label in labels]
    summary = space.summary(genome)
    row += [float(summary[k]) for k in sorted(summary)]
    return row


def _graph_stats(graph: ArchGraph) -> list[float]:
    ids = [node for node, _ in graph.nodes]
    index = {node: i for i, node in enumerate(ids)}
    succ: list[list[int]] = [[] for _ in ids]
    indeg = [0] * len(ids)
    outdeg = [0] * len(ids)
    for a, b in graph.edges:
        if a in index and b in index:
            succ[index[a]].append(index[b])
            indeg[index[b]] += 1
            outdeg[index[a]] += 1
    # longest path by Kahn's order (a cycle, which no space draws, leaves its nodes at depth 0)
    depth = [0] * len(ids)
    pending = list(indeg)
    ready = [i for i, d in enumerate(pending) if d == 0]
    while ready:
        i = ready.pop()
        for j in succ[i]:
            depth[j] = max(depth[j], depth[i] + 1)
            pending[j] -= 1
            if pending[j] == 0:
                ready.append(j)
    return [
        float(len(ids)),
        float(len(graph.edges)),
        float(max(depth, default=0)),
        float(max(indeg, default=0)),
        float(max(outdeg, default=0)),
        float(sum(1 for d in indeg if d == 0)),
        float(sum(1 for d in outdeg if d == 0)),
    ]
