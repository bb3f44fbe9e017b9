"""The paper registry (`reports.papers`): the load phase, and where the entries' items go on a page."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reports import paper_numbers, papers
from reports.document import Section, Table, Text
from reports.papers import paper_sections, renas


def entry(name: str, items: list, place: str | None = None, applies: bool = True, load=None):
    e = SimpleNamespace(__name__=name, applies=lambda page: applies, build=lambda page: items)
    if place is not None:
        e.PLACE = place
    if load is not None:
        e.load = load
    return e


def page(setting: str | None = None, loaded: dict | None = None):
    block = SimpleNamespace(runs=(SimpleNamespace(algorithm="renas"),))
    return SimpleNamespace(setting=setting, loaded=loaded or {}, block=block)


def test_load_phase_asks_only_entries_with_a_load_keyed_by_name() -> None:
    calls = []

    def load(cache, data):
        calls.append((cache, data))
        return {"read": data}

    entries = [entry("a", []), entry("b", [], load=load)]
    assert papers.load_papers("cache", "data", entries) == {"b": {"read": "data"}}  # type: ignore[arg-type]
    assert calls == [("cache", "data")]
    loaded = papers.load_papers("cache", SimpleNamespace(runs=()))  # type: ignore[arg-type]  # no run: no read
    assert set(loaded) == {"reports.papers.renas", "reports.papers.zero_cost"}


def test_sections_by_place_in_registry_order() -> None:
    notes = [Text(("n",)), Text(("m",))]
    entries = [
        entry("late", [Section("z1", "Z1"), Section("z2", "Z2")], place="end"),
        entry("own", [Section("r", "R")]),
        entry("tables", notes),
        entry("off", [Section("x", "X")], applies=False),
    ]
    first = paper_sections(page(), entries)  # type: ignore[arg-type]
    assert [s.id for s in first] == ["papers", "r"] and first[0].blocks == tuple(notes)
    assert [s.id for s in paper_sections(page(), entries, place="end")] == ["z1", "z2"]  # type: ignore[arg-type]
    with_setting = paper_sections(page(paper_numbers.GENETIC_CNN), entries[:2], place="papers")  # type: ignore[arg-type]
    assert [s.id for s in with_setting] == ["papers", "r"] and len(with_setting[0].blocks) == 1
    bad = [entry("late", [Table("t", "T", ("a",), ())], place="end")]
    with pytest.raises(TypeError, match="sections only"):
        paper_sections(page(), bad, place="end")  # type: ignore[arg-type]


def test_renas_entry_needs_the_load_phase() -> None:
    assert papers.PAPERS.index(renas) > papers.PAPERS.index(papers.claims)  # its section after the claims
    assert not renas.applies(page())  # type: ignore[arg-type]
    assert renas.applies(page(loaded={renas.__name__: renas.views_renas.Histories({})}))  # type: ignore[arg-type]
