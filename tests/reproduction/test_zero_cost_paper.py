"""Reolon, "NAS with genetic algorithms and DARTS" (docs/methods.md, GA + DARTS; docs/zero_cost.md): what
this code can check.

- Appendix A: the three scores are defined by the authors' code; `tests/unit/test_proxies.py` checks each
  against an independent computation (NTK per TE-NAS, NASWOT's K, the `score_jacob` loops).
- Fig. 1: the genotype string (blocks of channel counts, '|' within a block, two spaces between blocks,
  '--' and the strategy genes) round-trips.
- Sec. III, Fig. 4, the sanity check: "popular architectures like resnet/VGG perform a lot better than small
  handcrafted CNN or NN created from randomly mutated genotypes" (closer to the origin of the three
  scores). Measured on digits with `darts_cell` references (ours: the paper shows no genotype) against
  random genotypes (5 mutations each): the VGG-like cell is nearer the origin than the median random
  genotype and the small handcrafted cell far from it, as claimed; the ResNet-like cell is *not* nearer
  than the median random genotype (0.50 vs 0.47 with 40 random genotypes, docs/zero_cost.md), so that part
  of the claim does not reproduce here and is not asserted.
"""

from __future__ import annotations

import numpy as np
import pytest

from cache import Cache
from harness.proxies_analysis import paper_scores, standings
from harness.proxies_store import proxy_values, score_genomes
from harness.spaces import get_space
from harness.tasks import preset

SPACE = get_space("darts_cell")
TASK = preset("digits")


def test_fig_1_genotype_string() -> None:
    text = "0|0|16|0|0|0|0|0  4|0|0|0|0|0|0|0  0|0|0|8|0|0|0|0--1  5"
    assert SPACE.encode(SPACE.decode(text)) == text
    assert SPACE.decode(text).cells[0].depth == 2


@pytest.mark.slow
def test_fig_4_known_designs_against_random_genotypes(tmp_path) -> None:
    rng = np.random.default_rng(0)
    randoms: dict[str, object] = {}
    while len(randoms) < 12:
        genome = SPACE.sample(rng)
        for _ in range(5):
            genome = SPACE.mutate(genome, rng)
        randoms.setdefault(SPACE.hash(genome), genome)
    named = {n: SPACE.named(n) for n in ("vgg_like", "single_conv")}
    names = ("ntk_cond", "naswot", "grad_corr", "params")
    with Cache(tmp_path / "c.duckdb") as cache:
        score_genomes(cache, SPACE, TASK, [*named.values(), *randoms.values()], names, seed=0)
        values = proxy_values(cache, TASK.key(), names, seed=0)
    sample = [paper_scores(values[h]) for h in randoms]
    own = standings(sample, {h: s for h, s in zip(randoms, sample, strict=True)}, {})
    median = float(np.median([r.distance for r in own]))
    refs = {
        r.network: r
        for r in standings(sample, {n: paper_scores(values[SPACE.hash(g)]) for n, g in named.items()}, {})
    }
    assert refs["vgg_like"].distance < median < refs["single_conv"].distance
