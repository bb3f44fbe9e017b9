"""Rendering: the document model (`reports.document`) to HTML and Markdown files, and `write_report`.

Layout of a report directory ``OUT``::

    OUT/index.html                              index: headlines, warnings, pages, experiments, ranking
    OUT/README.md                               the same index in Markdown
    OUT/figures/ranking__*.svg|csv              figures and tables of the index (the ranking)
    OUT/<experiment>/<space>__<task>.html       one page per (experiment, space, task)
    OUT/<experiment>/<space>__<task>.md         its Markdown twin
    OUT/<experiment>/figures/<space>__<task>__<view>.svg|csv

HTML pages are self-contained: figures are inline SVG, the CSS is inline, there are no scripts and no
network fetches; links go only to files of the report (CSV beside each figure, other pages). Markdown pages
reference the SVG files. Everything is rendered in memory first and then written, and the output depends
on the cache's content only (no rendering time, no absolute paths), so one cache gives byte-identical
reports.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from pathlib import Path

import jinja2
from markupsafe import Markup

from cache.store import Cache
from harness.errors import EvonasError
from reports import data as data_module
from reports import views
from reports.document import Figure, Page, Table
from reports.papers import load_papers

log = logging.getLogger(__name__)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md_text
    env.filters["cell"] = _md_cell
    return env


def _md_text(value: object) -> str:
    """Plain text for Markdown: characters that would start markup are escaped."""
    text = str(value)
    for ch in ("\\", "`", "*", "_", "[", "]", "<", ">", "|"):
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")


def _md_cell(value: object) -> str:
    return _md_text(value) if str(value) else " "


def _relative(target: str, page_path: str) -> str:
    """`target` (relative to the report root) as seen from the page at `page_path`."""
    return posixpath.relpath(target, posixpath.dirname(page_path) or ".")


def render_page(env: jinja2.Environment, page: Page, fmt: str) -> str:
    """The page as HTML (`fmt='html'`) or Markdown (`fmt='md'`)."""
    template = env.get_template(f"page.{fmt}.j2")

    def csv_href(stem: str) -> str:
        return _relative(f"{page.figure_dir}/{stem}.csv", page.path)

    def svg_href(stem: str) -> str:
        return _relative(f"{page.figure_dir}/{stem}.svg", page.path)

    up = None
    if page.up is not None:
        up = _relative("index.html" if fmt == "html" else "README.md", page.path)
    text = template.render(page=page, up=up, csv_href=csv_href, svg_href=svg_href, Markup=Markup)
    return text if text.endswith("\n") else text + "\n"


def page_files(env: jinja2.Environment, page: Page) -> dict[str, str]:
    """Every file of one page: HTML, Markdown, and the SVG and CSV of its figures and tables."""
    md_path = "README.md" if page.path == "index" else f"{page.path}.md"
    files = {f"{page.path}.html": render_page(env, page, "html"), md_path: render_page(env, page, "md")}
    for section in page.sections:
        for block in section.blocks:
            if isinstance(block, Figure):
                _add(files, f"{page.figure_dir}/{block.stem}.svg", block.svg)
                _add(files, f"{page.figure_dir}/{block.stem}.csv", block.data.to_csv())
            elif isinstance(block, Table) and block.data is not None:
                _add(files, f"{page.figure_dir}/{block.stem}.csv", block.data.to_csv())
    return files


def _add(files: dict[str, str], path: str, text: str) -> None:
    if path in files and files[path] != text:
        raise EvonasError(f"report layout error: two different files would be written to {path}")
    files[path] = text


def build(cache: Cache, experiments: Sequence[str] | None = None) -> dict[str, str]:
    """All files of the report, by path relative to the report directory."""
    data = data_module.load(cache, experiments)
    loaded = load_papers(cache, data)  # what the papers' views read beyond `data` (e.g. checkpoints)
    cache.idle()  # everything is loaded: a run may write while the pages are drawn
    built = []
    for block in data_module.blocks(data):
        log.info("report page %s / %s", block.experiment.name, block.slug)
        page, samples = views.block_page(data, block, loaded)
        built.append((block, page, samples))
    ranking = views.ranking_input([(b, s) for b, _, s in built])
    index = views.index_page(data, [(b, p) for b, p, _ in built], ranking, data.cache_name)
    env = _environment()
    files: dict[str, str] = {}
    for page in [index, *(p for _, p, _ in built)]:
        for path, text in page_files(env, page).items():
            _add(files, path, text)
    return files


def write_report(cache: Cache, out: Path, experiments: list[str] | None = None) -> Path:
    """Write the report of `experiments` (all when None) from `cache` into `out`; returns out/index.html.

    The cache is only read. Files are rendered in memory first, so an error leaves `out` untouched.
    """
    files = build(cache, experiments)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for rel in sorted(files):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[rel], encoding="utf-8", newline="\n")
    log.info("report: %d files in %s", len(files), out)
    return out / "index.html"
