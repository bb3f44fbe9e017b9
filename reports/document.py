"""The report's document model: pages of sections of text, tables and figures, rendered twice (HTML and
Markdown) by the same templates' structure, so both formats always carry the same content."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from reports.headline import Headline


@dataclass(frozen=True)
class Dataset:
    """The exact numbers behind a figure or a table: a header and rows (written as CSV)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]

    def column(self, name: str) -> list[object]:
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def where(self, **match: object) -> Dataset:
        """Rows whose named columns equal the given values."""
        idx = {self.columns.index(k): v for k, v in match.items()}
        return Dataset(self.columns, tuple(r for r in self.rows if all(r[i] == v for i, v in idx.items())))

    def groups(self, *names: str) -> dict[tuple[object, ...], Dataset]:
        """Rows split by the values of the named columns (in order of first appearance)."""
        idx = [self.columns.index(n) for n in names]
        out: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
        for row in self.rows:
            out.setdefault(tuple(row[i] for i in idx), []).append(row)
        return {k: Dataset(self.columns, tuple(v)) for k, v in out.items()}

    def floats(self, name: str) -> list[float]:
        return [math.nan if v is None or v == "" else float(v) for v in self.column(name)]  # type: ignore[arg-type]

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([cell(v) for v in row])
        return buf.getvalue()


def cell(value: object) -> str:
    """CSV text of a value: floats in their shortest exact form (repr), NaN and None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


@dataclass(frozen=True)
class Text:
    """Paragraphs (plain text; rendered escaped)."""

    paragraphs: tuple[str, ...]
    kind: str = "text"  # 'text' | 'note' | 'warning'


@dataclass(frozen=True)
class Table:
    """A table with formatted cells; `data` (optional) is written beside it as `<stem>.csv`."""

    stem: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    data: Dataset | None = None
    wrap: bool = False  # let the last column wrap (long values)
    kind: str = "table"


@dataclass(frozen=True)
class Figure:
    """An SVG figure and the dataset it was drawn from (written beside it as `<stem>.csv`)."""

    stem: str
    title: str
    caption: str
    svg: str
    data: Dataset
    kind: str = "figure"

    @property
    def inline_svg(self) -> str:
        """The SVG for inlining in HTML: without its RDF metadata block (namespace URLs, creator)."""
        return re.sub(r"\s*<metadata>.*?</metadata>", "", self.svg, count=1, flags=re.S)

    @property
    def width_px(self) -> int:
        """The SVG's natural width in CSS pixels (its `width` is in points): the page never enlarges a
        figure beyond it."""
        match = re.search(r'<svg[^>]*\swidth="([0-9.]+)pt"', self.svg)
        return round(float(match.group(1)) * 4 / 3) if match else 1100


@dataclass(frozen=True)
class Link:
    """A list of links (to other pages of the report)."""

    items: tuple[tuple[str, str, str], ...]  # (text, href, note)
    kind: str = "links"


Content: TypeAlias = "Text | Table | Figure | Link | Headline"  # Headline: reports.headline


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: tuple[Content, ...] = field(default=())


@dataclass(frozen=True)
class Page:
    """One output page. `path` is relative to the report root without suffix (e.g. 'exp/space__task');
    `figure_dir` is where its figures and CSVs go, relative to the report root."""

    path: str
    title: str
    subtitle: str
    sections: tuple[Section, ...]
    warnings: tuple[str, ...]
    figure_dir: str
    up: str | None = None  # the page to link back to ("index"), None on the index itself


def pct(value: float, digits: int = 2) -> str:
    """An accuracy fraction as a percentage string ('n/a' for NaN)."""
    return "n/a" if value is None or not math.isfinite(value) else f"{100.0 * value:.{digits}f}"


def pval(value: float) -> str:
    """A p-value for a table cell or a sentence ('n/a' for NaN, '<1e-4' below 1e-4)."""
    return "n/a" if not math.isfinite(value) else ("<1e-4" if value < 1e-4 else f"{value:.4f}")


def num(value: float | None, fmt: str = ".3g") -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, fmt)
