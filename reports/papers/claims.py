"""The papers' search claims (`reports.claims`) as a registry entry: its own section on a surrogate page."""

from __future__ import annotations

from reports import claims
from reports.document import Section
from reports.views.context import PageContext


def applies(page: PageContext) -> bool:
    """Claims are tested on surrogate pages only (see `reports.claims.block_claims`)."""
    return "surrogate" in page.block.task.spec


def build(page: PageContext) -> list[Section]:
    section = claims.claims_section(claims.block_claims(page.data, page.block, page.results, page.samples))
    return [] if section is None else [section]
