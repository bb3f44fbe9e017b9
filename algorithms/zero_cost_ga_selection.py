"""Selection of the zero-cost GA (Reolon, Sec. II 'Selection'; the authors' `fne/population.py`).

Scores are tuples of the paper's three values, all minimised (`harness.proxies_analysis.paper_scores`).

- `weak_pareto_front`: the authors' `get_pareto_rank1`: an offspring is dropped only when another one is
  strictly better on *every* score (so ties and two-of-three wins keep it).
- `fill_order`: when the front has fewer than n members, the authors add the others that lose fewest
  pairwise comparisons (summed over the three scores).
- `rank_sum_order`: the thinning when the front is too large ("the method proposed in [14]", TE-NAS): each
  offspring's ranks under the three scores are summed, lowest first; the best offspring on each score is
  always kept (the authors subtract 9999 from its sum).
- `select`: front, fill, then rank-sum thinning to n, in a deterministic order (ties by position).
"""

from __future__ import annotations

from collections.abc import Sequence

Scores = tuple[float, float, float]


def dominates(a: Scores, b: Scores) -> bool:
    """a is strictly better (lower) than b on every score."""
    return all(x < y for x, y in zip(a, b, strict=True))


def weak_pareto_front(scores: Sequence[Scores]) -> list[int]:
    return [i for i, s in enumerate(scores) if not any(dominates(o, s) for o in scores)]


def fill_order(scores: Sequence[Scores], exclude: set[int]) -> list[int]:
    """Indices outside `exclude`, fewest pairwise losses first."""

    def losses(i: int) -> int:
        return sum(int(s > o) for other in scores for s, o in zip(scores[i], other, strict=True))

    rest = [i for i in range(len(scores)) if i not in exclude]
    return sorted(rest, key=lambda i: (losses(i), i))


def rank_sum_order(scores: Sequence[Scores], candidates: Sequence[int]) -> list[int]:
    """`candidates` by the sum of their ranks under each score; each score's best comes first."""
    total = dict.fromkeys(candidates, 0)
    for k in range(3):
        ranked = sorted(candidates, key=lambda i: (scores[i][k], i))
        for r, i in enumerate(ranked):
            total[i] += r - (9999 if r == 0 else 0)
    return sorted(candidates, key=lambda i: (total[i], i))


def select(scores: Sequence[Scores], n: int) -> list[int]:
    """The n survivors: the weak Pareto front (filled when too small), thinned by rank sums."""
    front = weak_pareto_front(scores)
    if len(front) < n:
        front = front + fill_order(scores, set(front))[: n - len(front)]
    return rank_sum_order(scores, front)[:n]
