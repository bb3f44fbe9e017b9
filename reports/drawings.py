"""Architecture pictures drawn from `space.graph(genome)` with matplotlib (no graphviz), as datasets first.

- `graph_rows` lays a graph out in layers (longest path from the sources, top to bottom; within a layer
  nodes are ordered by the mean position of their predecessors) and returns the node, edge and group
  coordinates; `graphs_figure` draws one panel per algorithm from those rows only.
- `overlay_rows` places every genome of a macro_re run on a shared grid (x: longest-path depth from the
  input, y: the node's operation), so that repeated patterns coincide; drawing each genome with opacity
  1/n (RE paper Fig. 4) is the same as drawing each distinct segment once with opacity
  1 - (1 - 1/n)^count, which is what the dataset holds and `overlay_figure` draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import FancyArrowPatch, Rectangle

from harness.spaces import ArchGraph
from reports.document import Dataset, Figure
from reports.figures import PALETTE, margins, render

GRAPH_COLUMNS = ("panel", "kind", "id", "label", "x", "y", "x2", "y2")
OVERLAY_COLUMNS = ("panel", "kind", "label", "x", "y", "x2", "y2", "count", "alpha")


def depths(graph: ArchGraph) -> dict[str, int]:
    """Longest-path depth of every node from the sources (nodes on a cycle, if any, go last)."""
    ids = [n for n, _ in graph.nodes]
    preds: dict[str, list[str]] = {n: [] for n in ids}
    succ: dict[str, list[str]] = {n: [] for n in ids}
    for a, b in graph.edges:
        if a in preds and b in preds:
            preds[b].append(a)
            succ[a].append(b)
    indegree = {n: len(preds[n]) for n in ids}
    ready = [n for n in ids if indegree[n] == 0]
    depth: dict[str, int] = {}
    while ready:
        node = ready.pop(0)
        depth[node] = max((depth[p] + 1 for p in preds[node] if p in depth), default=0)
        for s in succ[node]:
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    deepest = max(depth.values(), default=0)
    for n in ids:
        if n not in depth:
            deepest += 1
            depth[n] = deepest
    return depth


def wrap(label: str) -> str:
    """Node label on short lines (', ' and ' + ' break; long single words stay)."""
    return label.replace(", ", "\n").replace(" + ", "\n+ ")


def graph_rows(panel: str, graph: ArchGraph) -> list[tuple[object, ...]]:
    """Node, edge and group rows (GRAPH_COLUMNS) of one laid-out graph, top to bottom: y = -depth, x =
    position within the layer (centred; ordered by the mean position of the node's predecessors)."""
    depth = depths(graph)
    labels = dict(graph.nodes)
    preds: dict[str, list[str]] = {n: [] for n in labels}
    for a, b in graph.edges:
        if a in labels and b in labels:
            preds[b].append(a)
    layers: dict[int, list[str]] = {}
    for node, _ in graph.nodes:
        layers.setdefault(depth[node], []).append(node)
    x: dict[str, float] = {}
    position = {n: i for i, (n, _) in enumerate(graph.nodes)}
    for d in sorted(layers):
        members = layers[d]

        def key(n: str) -> tuple[float, int]:
            xs = [x[p] for p in preds[n] if p in x]
            return ((sum(xs) / len(xs)) if xs else 0.0, position[n])

        members.sort(key=key)
        for i, node in enumerate(members):
            x[node] = i - (len(members) - 1) / 2.0
    rows: list[tuple[object, ...]] = []
    for node, label in graph.nodes:
        rows.append((panel, "node", node, label, x[node], -float(depth[node]), "", ""))
    for a, b in graph.edges:
        if a in labels and b in labels:
            rows.append((panel, "edge", f"{a}->{b}", "", x[a], -float(depth[a]), x[b], -float(depth[b])))
    for name, members in graph.groups:
        xs = [x[m] for m in members if m in x]
        ys = [-float(depth[m]) for m in members if m in depth]
        if xs:
            rows.append(
                (panel, "group", name, name, min(xs) - 0.5, min(ys) - 0.4, max(xs) + 0.5, max(ys) + 0.4)
            )
    return rows


PANELS_PER_ROW = 4


def graphs_figure(
    stem: str, title: str, caption: str, data: Dataset, panels: Sequence[tuple[str, str]]
) -> Figure:
    """Panels side by side (up to PANELS_PER_ROW per row): groups as shaded boxes, edges as arrows, nodes
    as labelled boxes, inputs at the top."""
    ncols = min(PANELS_PER_ROW, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    nodes = data.where(kind="node")
    ys, xs = nodes.floats("y"), nodes.floats("x")
    depth = -min(ys) if ys else 1.0
    spread = max(xs) - min(xs) if xs else 1.0
    col_width = max(2.3, 0.95 * (spread + 1.6))
    row_height = 0.46 * (depth + 1) + 0.75

    def draw(fig: MplFigure) -> None:
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for k, (panel, panel_title) in enumerate(panels):
            ax = axes[k // ncols][k % ncols]
            sub = data.where(panel=panel)
            for row in sub.where(kind="group").rows:
                _, _, _, label, x0, y0, x1, y1 = row
                ax.add_patch(
                    Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="#eef3fb", edgecolor="#9db4d6", lw=0.8)
                )  # type: ignore[operator]
                ax.text(x1, y1, str(label) + " ", fontsize=6.5, color="#4a6a99", ha="right", va="top")  # type: ignore[arg-type]
            for row in sub.where(kind="edge").rows:
                _, _, _, _, x0, y0, x1, y1 = row
                ax.add_patch(
                    FancyArrowPatch(
                        (x0, y0),
                        (x1, y1),
                        arrowstyle="-|>",
                        mutation_scale=7,
                        color="#555555",
                        lw=0.7,
                        shrinkA=7,
                        shrinkB=7,
                    )  # type: ignore[arg-type]
                )
            for row in sub.where(kind="node").rows:
                _, _, _, label, x0, y0, _, _ = row
                ax.text(
                    x0,  # type: ignore[arg-type]
                    y0,  # type: ignore[arg-type]
                    wrap(str(label)),
                    ha="center",
                    va="center",
                    fontsize=7,
                    bbox={
                        "boxstyle": "round,pad=0.25",
                        "facecolor": "white",
                        "edgecolor": "#333333",
                        "lw": 0.6,
                    },
                )
            ax.set_xlim(-spread / 2 - 0.8, spread / 2 + 0.8)
            ax.set_ylim(-depth - 0.6, 0.6)
            ax.set_title(panel_title, fontsize=8)
            ax.axis("off")
        for k in range(len(panels), nrows * ncols):
            axes[k // ncols][k % ncols].set_visible(False)
        margins(fig, left=0.05, right=0.05, top=0.45, bottom=0.05, wspace=0.05, hspace=0.2)

    svg = render(stem, draw, col_width * ncols + 0.1, row_height * nrows + 0.2)
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)


def overlay_rows(
    panel: str, graphs: Sequence[ArchGraph], rows_order: Sequence[str]
) -> list[tuple[object, ...]]:
    """Aggregated segments and nodes of all genomes (OVERLAY_COLUMNS); y is the operation's row."""
    n = len(graphs)
    row_of = {label: float(i) for i, label in enumerate(rows_order)}
    segments: dict[tuple[float, float, float, float], int] = {}
    nodes: dict[tuple[float, float, str], int] = {}
    for graph in graphs:
        depth = depths(graph)
        labels = dict(graph.nodes)
        used: dict[tuple[int, str], int] = {}
        pos: dict[str, tuple[float, float]] = {}
        for node, label in sorted(graph.nodes, key=lambda t: (depth[t[0]], t[0])):
            k = used.get((depth[node], label), 0)
            used[(depth[node], label)] = k + 1
            pos[node] = (float(depth[node]), row_of.get(label, float(len(rows_order))) + 0.22 * k)
        connected = {a for e in graph.edges for a in e}
        for node in sorted(connected):
            if node in pos:
                key = (pos[node][0], pos[node][1], labels[node])
                nodes[key] = nodes.get(key, 0) + 1
        for a, b in graph.edges:
            if a in pos and b in pos:
                seg = (*pos[a], *pos[b])
                segments[seg] = segments.get(seg, 0) + 1
    out: list[tuple[object, ...]] = []
    for (x, y, label), count in sorted(nodes.items()):
        out.append((panel, "node", label, x, y, "", "", count, 1.0 - (1.0 - 1.0 / n) ** count))
    for (x, y, x2, y2), count in sorted(segments.items()):
        out.append((panel, "edge", "", x, y, x2, y2, count, 1.0 - (1.0 - 1.0 / n) ** count))
    return out


def overlay_figure(
    stem: str,
    title: str,
    caption: str,
    data: Dataset,
    panels: Sequence[tuple[str, str]],
    rows_order: Sequence[str],
) -> Figure:
    """Every genome of each panel overlaid with opacity 1/n (RE paper Fig. 4)."""
    from matplotlib.collections import LineCollection

    depth_max = max([*data.floats("x"), *[v for v in data.floats("x2") if math.isfinite(v)], 1.0])

    def draw(fig: MplFigure) -> None:
        axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
        for n, (ax, (panel, panel_title)) in enumerate(zip(axes, panels, strict=True)):
            color = PALETTE[n % len(PALETTE)]
            edges = data.where(panel=panel, kind="edge")
            segs = [((r[3], r[4]), (r[5], r[6])) for r in edges.rows]
            if segs:
                ax.add_collection(
                    LineCollection(
                        segs,
                        colors=[(0.1, 0.1, 0.1, float(a)) for a in edges.floats("alpha")],
                        linewidths=1.4,
                    )  # type: ignore[arg-type]
                )
            nodes = data.where(panel=panel, kind="node")
            ax.scatter(nodes.floats("x"), nodes.floats("y"), s=40, color=color, alpha=None, lw=0)
            ax.collections[-1].set_alpha(None)
            ax.collections[-1].set_facecolors([(*_rgb(color), float(a)) for a in nodes.floats("alpha")])
            ax.set_xlim(-0.5, depth_max + 0.5)
            ax.set_ylim(len(rows_order) - 0.3, -0.7)
            ax.set_yticks(range(len(rows_order)), labels=list(rows_order))
            ax.set_xlabel("depth (longest path from the input)")
            ax.set_title(panel_title, fontsize=8.5)
            ax.grid(False)
        margins(fig, left=0.95, right=0.15, top=0.35, bottom=0.55, wspace=0.08)

    svg = render(stem, draw, max(6.0, 3.6 * len(panels) + 1.4), 4.6)
    return Figure(stem=stem, title=title, caption=caption, svg=svg, data=data)


def _rgb(color: str) -> tuple[float, float, float]:
    return (int(color[1:3], 16) / 255.0, int(color[3:5], 16) / 255.0, int(color[5:7], 16) / 255.0)
