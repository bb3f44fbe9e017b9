"""Canonical labelling of `macro_re` genomes: what part of a genome builds, and its isomorphism class.

The active graph (input, output and hidden nodes on enabled input->output paths, labelled with their layer
names; enabled edges between them) gets an exact canonical labelling by individualisation-refinement
(colour refinement on in/out neighbour colours, branching on the first non-singleton cell, the minimum edge
certificate over all leaves), pruned with automorphisms found at equivalent leaves and with interchangeable
twin nodes, as in nauty.
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.spaces.macro_re_genome import INPUT, LAYER_CHOICES, OUTPUT, MacroGenome


def _rank(keys: Sequence[Any]) -> list[int]:
    order = {k: i for i, k in enumerate(sorted(set(keys)))}
    return [order[k] for k in keys]


class Canonizer:
    """Exact canonical labelling of a vertex-labelled digraph by individualisation-refinement.

    Colours are cell indices of an ordered partition; refinement splits cells in place by the multisets of
    out- and in-neighbour colours; individualising v puts it first in its cell. The canonical leaf is the
    one with the smallest sorted edge list; leaves with an equal certificate give automorphisms, used to
    jump back to where the two paths diverge and to skip children in one orbit (nauty's pruning).
    """

    def __init__(self, codes: Sequence[int], edges: Sequence[tuple[int, int]]) -> None:
        self.n = len(codes)
        self.edges = tuple(edges)
        self.succ: list[list[int]] = [[] for _ in range(self.n)]
        self.pred: list[list[int]] = [[] for _ in range(self.n)]
        for u, v in edges:
            self.succ[u].append(v)
            self.pred[v].append(u)
        self.initial = _rank(list(codes))
        twin_key = [(codes[v], frozenset(self.succ[v]), frozenset(self.pred[v])) for v in range(self.n)]
        groups: dict[Any, list[int]] = {}
        for v, key in enumerate(twin_key):
            groups.setdefault(key, []).append(v)
        self.twins = [g for g in groups.values() if len(g) > 1]
        self.generators: list[list[int]] = []
        self.first: tuple[tuple[tuple[int, int], ...], list[int], tuple[int, ...]] | None = None
        self.best: tuple[tuple[tuple[int, int], ...], list[int], tuple[int, ...]] | None = None

    def refine(self, colors: list[int]) -> list[int]:
        cells = len(set(colors))
        while cells < self.n:
            sigs = [
                (
                    colors[v],
                    tuple(sorted(colors[w] for w in self.succ[v])),
                    tuple(sorted(colors[w] for w in self.pred[v])),
                )
                for v in range(self.n)
            ]
            new = _rank(sigs)
            count = max(new) + 1
            if count == cells:
                break
            colors, cells = new, count
        return colors

    def certificate(self, colors: list[int]) -> tuple[tuple[int, int], ...]:
        return tuple(sorted((colors[u], colors[v]) for u, v in self.edges))

    def run(self) -> list[int]:
        """Canonical position of every vertex."""
        self._search(self.refine(self.initial), ())
        assert self.best is not None
        return self.best[1]

    def _orbit_roots(self, path: tuple[int, ...]) -> list[int]:
        parent = list(range(self.n))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        fixed = set(path)
        for gamma in self.generators:
            if all(gamma[x] == x for x in fixed):
                for v in range(self.n):
                    a, b = find(v), find(gamma[v])
                    if a != b:
                        parent[a] = b
        for group in self.twins:
            free = [v for v in group if v not in fixed]
            for v in free[1:]:
                a, b = find(v), find(free[0])
                if a != b:
                    parent[a] = b
        return [find(v) for v in range(self.n)]

    def _search(self, colors: list[int], path: tuple[int, ...]) -> int | None:
        counts = Counter(colors)
        if len(counts) == self.n:
            return self._leaf(colors, path)
        target = min(c for c, k in counts.items() if k > 1)
        cell = [v for v in range(self.n) if colors[v] == target]
        explored: list[int] = []
        roots = self._orbit_roots(path)
        for v in cell:
            if any(roots[u] == roots[v] for u in explored):
                continue
            child = [c + 1 if (c > target or (c == target and w != v)) else c for w, c in enumerate(colors)]
            back = self._search(self.refine(child), (*path, v))
            explored.append(v)
            if back is not None and back < len(path):
                return back
            roots = self._orbit_roots(path)
        return None

    def _leaf(self, colors: list[int], path: tuple[int, ...]) -> int | None:
        cert = self.certificate(colors)
        if self.first is None:
            self.first = self.best = (cert, colors, path)
            return None
        assert self.best is not None
        for ref_cert, ref_colors, ref_path in (self.first, self.best):
            if cert == ref_cert:
                at = [0] * self.n
                for v, c in enumerate(colors):
                    at[c] = v
                self.generators.append([at[ref_colors[u]] for u in range(self.n)])
                common = 0
                while common < min(len(path), len(ref_path)) and path[common] == ref_path[common]:
                    common += 1
                return common
        if cert < self.best[0]:
            self.best = (cert, colors, path)
        return None


@dataclass(frozen=True, eq=False)
class Analysis:
    """The active part of a genome: what builds, its canonical labelling and an evaluation order."""

    active: frozenset[int]
    edges: tuple[tuple[int, int], ...]
    position: Mapping[int, int]
    canonical: str
    order: tuple[int, ...] | None  # topological order of the active nodes; None when they hold a cycle
    preds: Mapping[int, tuple[int, ...]]


def _label(genome_layers: Mapping[int, int], node: int) -> str:
    if node == INPUT:
        return "IN"
    if node == OUTPUT:
        return "OUT"
    return LAYER_CHOICES[genome_layers[node]]


@functools.lru_cache(maxsize=1 << 16)
def analyse(genome: MacroGenome) -> Analysis:
    layers = {g.node: g.layer for g in genome.nodes}
    succ: dict[int, list[int]] = {}
    pred: dict[int, list[int]] = {}
    for g in genome.connections:
        if g.enabled:
            succ.setdefault(g.source, []).append(g.target)
            pred.setdefault(g.target, []).append(g.source)

    def reach(start: int, adj: Mapping[int, list[int]]) -> set[int]:
        seen = {start}
        todo = [start]
        while todo:
            for w in adj.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    forward = reach(INPUT, succ)
    if OUTPUT not in forward:
        return Analysis(frozenset(), (), {}, "none", (), {})
    active = forward & reach(OUTPUT, pred)
    edges = tuple(
        (g.source, g.target)
        for g in genome.connections
        if g.enabled and g.source in active and g.target in active
    )
    vertices = sorted(active)
    local = {v: i for i, v in enumerate(vertices)}
    codes = [-2 if v == INPUT else (-1 if v == OUTPUT else layers[v]) for v in vertices]
    positions = Canonizer(codes, [(local[u], local[v]) for u, v in edges]).run()
    position = {v: positions[local[v]] for v in vertices}
    by_position = sorted(vertices, key=position.__getitem__)
    canon_edges = sorted((position[u], position[v]) for u, v in edges)
    canonical = (
        " ".join(_label(layers, v) for v in by_position)
        + " | "
        + " ".join(f"{a}>{b}" for a, b in canon_edges)
    )
    preds = {v: tuple(sorted((u for u, w in edges if w == v), key=position.__getitem__)) for v in vertices}
    order = topological_order(vertices, edges, position)
    return Analysis(
        active=frozenset(active),
        edges=edges,
        position=position,
        canonical=canonical,
        order=order,
        preds=preds,
    )


def topological_order(
    vertices: Sequence[int], edges: Sequence[tuple[int, int]], position: Mapping[int, int]
) -> tuple[int, ...] | None:
    """Kahn's order of `vertices`, the lowest `position` first among the ready ones; None on a cycle."""
    indegree = {v: 0 for v in vertices}
    succ: dict[int, list[int]] = {v: [] for v in vertices}
    for u, w in edges:
        indegree[w] += 1
        succ[u].append(w)
    heap = [(position[v], v) for v in vertices if indegree[v] == 0]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        _, v = heapq.heappop(heap)
        order.append(v)
        for w in succ[v]:
            indegree[w] -= 1
            if indegree[w] == 0:
                heapq.heappush(heap, (position[w], w))
    return tuple(order) if len(order) == len(vertices) else None
