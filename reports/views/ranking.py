"""View 5, on the index: the ranking across (space, task) blocks (Friedman / Iman-Davenport, Nemenyi) with
its critical-difference diagram."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reports import figures, stats
from reports.data import Block
from reports.document import Dataset, Section, Table, Text, pct
from reports.views.context import p_text
from reports.views.dominance import ALPHA


@dataclass(frozen=True)
class RankingInput:
    algorithms: tuple[str, ...]
    blocks: tuple[str, ...]  # block titles
    scores: tuple[tuple[float, ...], ...]  # blocks x algorithms: median final test accuracy
    skipped: tuple[str, ...]


def ranking_input(pages: Sequence[tuple[Block, Mapping[str, np.ndarray]]]) -> RankingInput | None:
    """Blocks = distinct (space, task) pairs (never seeds); algorithms = the largest label set shared by
    the most blocks (at least 2 blocks and 2 algorithms), else None."""
    by_key: dict[tuple[str, str], tuple[Block, Mapping[str, np.ndarray]]] = {}
    skipped = []
    for block, samples in pages:
        key = (block.space, block.task.task_key)
        if key in by_key:
            skipped.append(
                f"{block.experiment.name}: {block.space} / {block.task.name} (same block as "
                f"{by_key[key][0].experiment.name})"
            )
            continue
        if samples:
            by_key[key] = (block, samples)
    entries = list(by_key.values())
    candidates: set[frozenset[str]] = set()
    for i in range(len(entries)):
        for j in range(i + 1, len(entries)):
            shared = frozenset(entries[i][1]) & frozenset(entries[j][1])
            if len(shared) >= 2:
                candidates.add(shared)
    if not candidates:
        return None

    def covered(algs: frozenset[str]) -> list[tuple[Block, Mapping[str, np.ndarray]]]:
        return [e for e in entries if algs <= set(e[1])]

    best = max(candidates, key=lambda a: (len(covered(a)), len(a), sorted(a)))
    chosen = covered(best)
    algorithms = tuple(sorted(best))
    return RankingInput(
        algorithms=algorithms,
        blocks=tuple(f"{b.space} / {b.task.name}" for b, _ in chosen),
        scores=tuple(tuple(float(np.median(s[a])) for a in algorithms) for _, s in chosen),
        skipped=tuple(skipped),
    )


def ranking_section(rin: RankingInput) -> tuple[Section, list[str]]:
    result = stats.friedman_nemenyi(
        np.array(rin.scores), higher_is_better=True, alpha=ALPHA, names=rin.algorithms
    )
    warnings = []
    posthoc = stats.posthoc_warning(result)
    if posthoc:
        warnings.append(posthoc)
    rank_of = dict(zip(result.names, result.average_ranks, strict=True))
    rows: list[tuple[object, ...]] = [("rank", n, float(rank_of[n]), "") for n in result.names]
    rows.append(("cd", "CD", result.critical_difference, ""))
    for group in result.groups:
        ranks = [float(rank_of[n]) for n in group]
        if len(group) > 1:
            rows.append(("group", ",".join(group), min(ranks), max(ranks)))
    data = Dataset(figures.CD_COLUMNS, tuple(rows))
    fig = figures.cd_figure(
        "ranking__cd-diagram",
        "Critical-difference diagram",
        f"Average ranks (1 = best) of the median final test accuracy over {result.n_blocks} blocks; bar: "
        f"Nemenyi critical difference CD = {result.critical_difference:.3f} (alpha {ALPHA}). "
        + (
            "Thick lines join algorithms not significantly different."
            if result.significant
            else "No groups: the omnibus test is not significant."
        ),
        data,
    )
    ranks = Table(
        stem="ranking__ranks",
        title="Average ranks",
        columns=("algorithm", "average rank"),
        rows=tuple((n, f"{rank_of[n]:.3f}") for n in sorted(result.names, key=lambda n: (rank_of[n], n))),
        caption=_tests_text(result),
        data=data,
    )
    text = Text(
        (
            f"Blocks are (space, task) pairs, never seeds: {len(rin.blocks)} blocks share the algorithms "
            f"{', '.join(rin.algorithms)}. Friedman test (Wilcoxon signed-rank for two algorithms), with "
            "Iman-Davenport's less conservative F_F beside it (reported, not the gate), then Nemenyi "
            "post-hoc only when the omnibus test rejects (Demsar 2006).",
            *([f"Not a separate block: {s}." for s in rin.skipped]),
        )
    )
    return Section("ranking", "Ranking across spaces and tasks", (text, _scores(rin), ranks, fig)), warnings


def _scores(rin: RankingInput) -> Table:
    score_rows = tuple((b, *[pct(v) for v in s]) for b, s in zip(rin.blocks, rin.scores, strict=True))
    return Table(
        stem="ranking__scores",
        title="Median final test accuracy (%) per block",
        columns=("block (space / task)", *rin.algorithms),
        rows=score_rows,
        data=Dataset(
            ("block", *rin.algorithms), tuple((b, *s) for b, s in zip(rin.blocks, rin.scores, strict=True))
        ),
    )


def _tests_text(result: stats.RankingResult) -> str:
    """The omnibus test, the critical difference and the post-hoc claims, as the ranks table's caption."""
    omnibus_text = (
        f"{result.omnibus} omnibus test: statistic {result.statistic:.3f}, p = {p_text(result.pvalue)}; "
    )
    f_f, f_p, f_df = result.iman_davenport_f, result.iman_davenport_pvalue, result.iman_davenport_df
    if f_f is not None and f_p is not None and f_df is not None:
        omnibus_text = (
            f"Friedman chi2_F = {result.statistic:.3f} (df {result.k - 1}), p = {p_text(result.pvalue)}; "
            f"Iman-Davenport F_F = (N-1) chi2_F / (N(k-1) - chi2_F) = {f_f:.3f} (df {f_df[0]}, {f_df[1]}), "
            f"p = {p_text(f_p)}; post-hoc gated on Friedman's p; "
        )
    cd_text = (
        f"q_alpha = {result.q_alpha:.3f}, CD = q_alpha sqrt(k(k+1)/(6N)) = {result.critical_difference:.3f}. "
    )
    return (
        omnibus_text
        + cd_text
        + (
            "Significantly different pairs: " + ", ".join(f"{a} > {b}" for a, b in result.different_pairs)
            if result.different_pairs
            else "No post-hoc claim."
        )
    )
