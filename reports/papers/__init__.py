"""The papers' views of a page, as a registry: each paper's tables and numbers live in one module.

A paper module exposes ``applies(page) -> bool`` and ``build(page) -> list`` (``page`` is the page's
`reports.views.context.PageContext`). What `build` returns goes on the page in registry order: tables,
figures and notes join the shared section "Paper tables and figures" (opened by the paper setting's name),
and a `Section` stands as a section of its own after it. The page asks `paper_sections` and never
dispatches on algorithm or space names itself, so a new paper (RENAS's tables, the zero-cost GA's views)
is one new module and one entry in `PAPERS`.

The papers' figures themselves live once, in `harness.paper_figures` (shared with `evonas reproduce`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from reports import paper_numbers
from reports.document import Figure, Section, Table, Text
from reports.papers import claims, de_nas, genetic_cnn, re_macro
from reports.views.context import PageContext

Item = Table | Figure | Text | Section


class PaperView(Protocol):
    """A registry entry (a module): whether it has something to say on a page, and what."""

    def applies(self, page: PageContext) -> bool: ...

    def build(self, page: PageContext) -> Sequence[Item]: ...


#: In page order. Entries to add at merge: the zero-cost GA's views (reports/views_zero_cost.py); RENAS's
#: efficiency table (reports/renas_efficiency.py) as a module here.
PAPERS: tuple[PaperView, ...] = (genetic_cnn, re_macro, de_nas, claims)


def paper_sections(page: PageContext, papers: Sequence[PaperView] = PAPERS) -> list[Section]:
    """The sections the registered papers give a page: the shared paper section (when it has more than the
    setting's name, or the page is in a paper setting), then the entries' own sections."""
    blocks: list[Table | Figure | Text] = []
    if page.setting is not None:
        blocks.append(Text((f"Paper setting: {paper_numbers.title(page.setting)}.",)))
    own: list[Section] = []
    for paper in papers:
        if paper.applies(page):
            for item in paper.build(page):
                if isinstance(item, Section):
                    own.append(item)
                else:
                    blocks.append(item)
    shared = (
        []
        if len(blocks) <= 1 and page.setting is None
        else [Section("papers", "Paper tables and figures", tuple(blocks))]
    )
    return shared + own
