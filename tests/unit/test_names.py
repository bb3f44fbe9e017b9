"""Names that mean one thing (docs/design.md, "Names that mean one thing"), and docstrings that cite only
files of this repository."""

from __future__ import annotations

import re
from pathlib import Path

from cache.records import EvalRecord, RunRecord

ROOT = Path(__file__).resolve().parents[2]
# documents that live outside the repository, and the paper texts beside them
OUTSIDE = re.compile(r"REFERENCE\.md|REPORTS\.md|DESIGN\.md|\.\./shared|\bseeds/")
DOC_CITATION = re.compile(r"\bdocs/[A-Za-z0-9_]+\.md")


def sources() -> list[Path]:
    files = [
        p
        for d in ("cache", "harness", "algorithms", "reports", "tests", "benchmarks", "docs")
        for p in (ROOT / d).rglob("*")
        if p.suffix in (".py", ".md", ".toml")
    ]
    return [p for p in [*files, ROOT / "README.md"] if p != Path(__file__).resolve()]


def test_no_citation_of_files_outside_the_repository() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()[:80]}"
        for p in sources()
        for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_cited_docs_exist() -> None:
    cited = {
        m for p in sources() for m in DOC_CITATION.findall(p.read_text(encoding="utf-8", errors="replace"))
    }
    assert {"docs/design.md", "docs/methods.md", "docs/statistics.md"} <= cited
    assert sorted(c for c in cited if not (ROOT / c).is_file()) == []


def test_python_names_of_ambiguous_columns() -> None:
    record = EvalRecord("a" * 64, "t" * 16, 0, 1, "ok", params=1234, run_id="exp/re/0")
    assert (record.param_count, record.attempt_id) == (1234, "exp/re/0")
    run = RunRecord(
        "exp/re/0",
        "exp",
        "re",
        "{}",
        "genetic_cnn",
        "t",
        0,
        1,
        "{}",
        "done",
        algorithm_name="regularized_evolution",
    )
    assert (run.label, run.algorithm_name) == ("re", "regularized_evolution")
