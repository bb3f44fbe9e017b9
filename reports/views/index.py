"""The index page: headlines, warnings, the pages, the experiments, the ranking, and how to read the
report."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from harness.errors import ConfigError
from reports import analysis as an
from reports import headline, paper_numbers
from reports.data import Block, CacheData
from reports.document import Link, Page, Section, Table, Text
from reports.views.metadata import flat_text
from reports.views.ranking import RankingInput, ranking_section

log = logging.getLogger(__name__)

CONVENTIONS = (
    "Incumbent: the best query of a run on its objective (validation accuracy unless a "
    "page says "
    "otherwise), reported on test accuracy. Anytime curves fill forward only. Samples "
    "for the "
    "statistics: the final incumbent's test accuracy, one per seed. Every figure has "
    "its CSV "
    "beside it (same name), holding exactly the plotted numbers."
)


def index_page(
    data: CacheData,
    pages: Sequence[tuple[Block, Page]],
    ranking: RankingInput | None,
    cache_name: str,
) -> Page:
    pages_section, warnings = _pages_section(pages)
    sections = [pages_section, _experiments_section(data, cache_name)]
    if ranking is not None:
        section, rank_warnings = ranking_section(ranking)
        sections.append(section)
        warnings.extend(f"ranking: {w}" for w in rank_warnings)
    else:
        note = "Not shown: it needs at least two (space, task) blocks with at least two algorithms in common."
        sections.append(Section("ranking", "Ranking across spaces and tasks", (Text((note,), kind="note"),)))
    warnings_text = Text(
        tuple(warnings) if warnings else ("No warnings.",), kind="warning" if warnings else "note"
    )
    sections[:0] = [
        headline.index_section([p for _, p in pages]),
        Section("warnings", "Warnings", (warnings_text,)),
    ]
    sections.append(Section("conventions", "How to read this report", (Text((CONVENTIONS,)),)))
    return Page(
        path="index",
        title="evonas report",
        subtitle=f"{len(data.experiments)} experiment(s), {len(pages)} page(s), from the cache {cache_name}",
        sections=tuple(sections),
        warnings=tuple(warnings),
        figure_dir="figures",
        up=None,
    )


def _pages_section(pages: Sequence[tuple[Block, Page]]) -> tuple[Section, list[str]]:
    """The links to the pages and their table; the pages' warnings, each prefixed with its page."""
    warnings: list[str] = []
    links = []
    page_rows = []
    for block, page in pages:
        links.append((page.title, page.path, f"{len(block.runs)} runs"))
        setting = None
        try:
            setting = paper_numbers.paper_setting(block.experiment.config.get("paper"), block.task.name)
        except ConfigError as exc:
            log.info("%s", exc)
        page_rows.append(
            (
                block.experiment.name,
                block.space,
                block.task.name,
                ", ".join(block.algorithms),
                str(len(block.runs)),
                setting or "none",
            )
        )
        warnings.extend(
            f"{block.experiment.name} / {block.space} / {block.task.name}: {w}" for w in page.warnings
        )
    table = Table(
        stem="index__pages",
        title="Experiments and their (space, task) pages",
        columns=("experiment", "space", "task", "algorithms", "runs", "paper setting"),
        rows=tuple(page_rows),
    )
    return Section("pages", "Pages", (Link(tuple(links)), table)), warnings


def _experiments_section(data: CacheData, cache_name: str) -> Section:
    exp_rows = []
    for exp in data.experiments:
        runs = [r for r in data.runs if r.experiment == exp.name]
        hits, queries = an.hit_rate(runs)
        exp_rows.append(
            (
                exp.name,
                str(exp.config.get("description") or ""),
                exp.code_version or "not recorded",
                flat_text(exp.hardware),
                f"{hits / queries:.1%}" if queries else "n/a",
                exp.updated_at or "n/a",
            )
        )
    table = Table(
        stem="index__experiments",
        title="Metadata per experiment",
        columns=(
            "experiment",
            "description",
            "code version",
            "hardware",
            "cache hit rate",
            "recorded (updated at)",
        ),
        rows=tuple(exp_rows),
        caption=f"Cache: {cache_name}. Seeds, budgets, task protocols and library versions are on each page.",
    )
    return Section("experiments", "Experiments", (table,))
