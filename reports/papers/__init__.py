"""The papers' views of a page, as a registry: each paper's tables and numbers live in one module.

A paper module exposes ``applies(page) -> bool`` and ``build(page) -> list`` (``page`` is the page's
`reports.views.context.PageContext`). What `build` returns goes on the page in registry order: tables,
figures and notes join the shared section "Paper tables and figures" (opened by the paper setting's name),
and a `Section` stands as a section of its own after it. The page asks `paper_sections` and never
dispatches on algorithm or space names itself, so a new paper is one new module and one entry in `PAPERS`.

Two optional members of an entry:

- ``load(cache, data) -> object``: what the entry reads from the cache beyond `reports.data.CacheData`
  (e.g. run checkpoints). `load_papers` calls it for every entry that has it while the report still holds
  the cache (`reports.render.build`, before it releases the cache); the page context carries the results
  as ``page.loaded[<entry module name>]``. A page built without this phase has no such key.
- ``PLACE``: where the entry's own sections stand, ``"papers"`` (the default: after the shared paper section,
  before the architectures) or ``"end"`` (after the noise section, before the metadata). An entry placed at
  the end gives sections only.

The papers' figures themselves live once, in `harness.paper_figures` (shared with `evonas reproduce`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from cache.store import Cache
from reports import paper_numbers
from reports.data import CacheData
from reports.document import Figure, Section, Table, Text
from reports.papers import claims, de_nas, genetic_cnn, re_macro, renas, zero_cost
from reports.views.context import PageContext

Item = Table | Figure | Text | Section
Place = Literal["papers", "end"]


class PaperView(Protocol):
    """A registry entry (a module): whether it has something to say on a page, and what (and optionally
    `load` and `PLACE`, see the module docstring)."""

    def applies(self, page: PageContext) -> bool: ...

    def build(self, page: PageContext) -> Sequence[Item]: ...


#: In page order (within each place): RENAS's efficiency view after the claims, before the architectures;
#: the zero-cost GA's views before the metadata.
PAPERS: tuple[PaperView, ...] = (genetic_cnn, re_macro, de_nas, claims, renas, zero_cost)


def _name(paper: PaperView) -> str:
    return str(getattr(paper, "__name__", type(paper).__name__))


def _place(paper: PaperView) -> str:
    return str(getattr(paper, "PLACE", "papers"))


def load_papers(cache: Cache, data: CacheData, papers: Sequence[PaperView] = PAPERS) -> dict[str, object]:
    """The load phase: each entry's ``load(cache, data)`` result, by entry module name (call while the cache
    is held; the result goes into every page's `PageContext.loaded`)."""
    return {_name(p): p.load(cache, data) for p in papers if callable(getattr(p, "load", None))}


def paper_sections(
    page: PageContext, papers: Sequence[PaperView] = PAPERS, place: Place = "papers"
) -> list[Section]:
    """The sections the registered papers of `place` give a page. At ``"papers"``: the shared paper section
    (when it has more than the setting's name, or the page is in a paper setting), then the entries' own
    sections; at ``"end"``: the own sections of the entries placed there."""
    if place not in ("papers", "end"):
        raise ValueError(f"unknown paper place {place!r}")
    blocks: list[Table | Figure | Text] = []
    if place == "papers" and page.setting is not None:
        blocks.append(Text((f"Paper setting: {paper_numbers.title(page.setting)}.",)))
    own: list[Section] = []
    for paper in papers:
        if _place(paper) != place or not paper.applies(page):
            continue
        for item in paper.build(page):
            if isinstance(item, Section):
                own.append(item)
            elif place == "end":
                raise TypeError(f"{_name(paper)}: an entry placed at the end gives sections only")
            else:
                blocks.append(item)
    if place == "end":
        return own
    shared = (
        []
        if len(blocks) <= 1 and page.setting is None
        else [Section("papers", "Paper tables and figures", tuple(blocks))]
    )
    return shared + own
