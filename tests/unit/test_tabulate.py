"""`evonas tabulate`: the class enumeration, the sample over classes, resumable filling of a cache."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cache import Cache
from harness.errors import EvonasError
from harness.spaces import get_space
from harness.tabulate import class_index, select_genomes, tabulate
from harness.tasks import preset
from tests.fakes import FakeExecutor

SPACE = get_space("genetic_cnn")
TASK = preset("digits_quick")


def test_the_class_index_has_one_genome_per_canonical_class():
    index = class_index(SPACE)
    assert index.count == SPACE.distinct_count() == 56_172  # Genetic CNN (3, 4, 5): 6 x 31 x 302
    hashes = {SPACE.hash(index.at(i)) for i in range(index.count)}
    assert len(hashes) == index.count
    with pytest.raises(EvonasError):
        index.at(index.count)


def test_a_small_space_is_enumerated_exhaustively():
    space = get_space("genetic_cnn", stages=(3, 3), channels=(4, 4))
    genomes, how = select_genomes(space, all_classes=True)
    brute = {space.hash(space.from_bits(bits)) for bits in np.ndindex(*(2,) * space.length)}
    assert {space.hash(g) for g in genomes} == brute and len(genomes) == 36 and "all 36" in how


def test_the_sample_is_uniform_over_classes_not_bit_strings():
    """Class frequencies by stage-3 digit: uniform over its 302 classes (a bit-string draw is not)."""
    index = class_index(SPACE)
    genomes, _ = select_genomes(SPACE, sample=20_000, seed=3)
    last = {bits: k for k, bits in enumerate(index.stage_classes[2])}
    from harness.spaces.genetic_cnn import canonical_stage

    forms = {canonical_stage(5, bits): k for bits, k in last.items()}
    counts = np.bincount([forms[canonical_stage(5, g.stages[2])] for g in genomes], minlength=302)
    assert stats.chisquare(counts).pvalue > 1e-4
    rng = np.random.default_rng(3)
    by_bits = np.bincount(
        [forms[canonical_stage(5, SPACE.sample(rng).stages[2])] for _ in range(20_000)], minlength=302
    )
    assert stats.chisquare(by_bits).pvalue < 1e-10  # what a draw over bit strings would have given


def test_a_larger_sample_extends_a_smaller_one():
    small, _ = select_genomes(SPACE, sample=50, seed=1)
    large, _ = select_genomes(SPACE, sample=80, seed=1)
    assert large[:50] == small
    assert select_genomes(SPACE, sample=50, seed=2)[0] != small


def test_named_references_are_added_once():
    genomes, how = select_genomes(SPACE, sample=5, seed=0, include_named=True)
    named = {SPACE.hash(SPACE.named(n)) for n in SPACE.named_architectures()}
    assert named <= {SPACE.hash(g) for g in genomes} and "named" in how
    assert len({SPACE.hash(g) for g in genomes}) == len(genomes)


def test_spaces_without_an_enumeration_are_sampled_and_say_so():
    macro = get_space("macro_re", channels=8)
    with pytest.raises(EvonasError, match="--sample"):
        select_genomes(macro, all_classes=True)
    genomes, how = select_genomes(macro, sample=10, seed=0)
    assert len(genomes) == 10 and "uniform over genomes" in how
    with pytest.raises(EvonasError):
        select_genomes(SPACE)


def test_tabulate_fills_replicate_major_and_resumes(tmp_path):
    genomes, how = select_genomes(SPACE, sample=6, seed=0)
    with Cache(tmp_path / "t.duckdb") as cache:
        executor = FakeExecutor()
        partial = tabulate(cache, SPACE, TASK, genomes[:4], 2, executor, how=how, progress=False)
        assert partial.trained == 8 and partial.already_stored == 0
        assert [j.encoding for j in executor.jobs[:4]] == [SPACE.encode(g) for g in genomes[:4]]
        again = tabulate(cache, SPACE, TASK, genomes, 3, FakeExecutor(), progress=False)
        assert again.already_stored == 8 and again.trained == 6 * 3 - 8
        rows = cache.execute("SELECT count(*), count(DISTINCT arch_hash) FROM evaluations").fetchall()
        assert rows == [(18, 6)]
