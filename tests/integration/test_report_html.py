"""The report of the standard fixture cache: every view, every warning, both formats, byte-identical.

The fixture (tests/reportfixtures.py) holds three experiments on three (space, task) blocks: Genetic CNN
on digits (four algorithm families, not a paper setting), macro_re with the RE paper's protocol (selected
on test data) and de_sequential on the DE-NAS task (two algorithms, unequal budgets and seeds).
"""

from __future__ import annotations

import csv
import hashlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from cache.store import Cache
from harness.errors import EvonasError
from reports import write_report
from tests.reportfixtures import build_report_cache

ROOT = Path(__file__).resolve().parents[2]
SECOND_RENDER = """
import sys
from pathlib import Path
from cache.store import Cache
from reports import write_report
with Cache(sys.argv[1], read_only=True) as cache:
    write_report(cache, Path(sys.argv[2]))
"""

GCNN = "fx_gcnn/genetic_cnn__digits_quick"
RE = "fx_re/macro_re__fashion_mnist_re_paper"
DE = "fx_de/de_sequential__cifar10_de"
COMMON_SECTIONS = [
    "headline",
    "summary",
    "results",
    "anytime",
    "ecdf",
    "runtime",
    "dominance",
    "architectures",
    "noise",
    "metadata",
]
COMMON_FIGURES = [
    "anytime-evaluations",
    "anytime-seconds",
    "ecdf",
    "runtime-ecdf",
    "dominance-heatmap",
    "architectures",
    "noise",
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def cache_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report_cache(tmp_path_factory.mktemp("cache") / "fx.duckdb")


@pytest.fixture(scope="module")
def second_render(
    cache_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """The same report rendered again by another process, concurrently (2 cores: no extra wall time)."""
    out = tmp_path_factory.mktemp("again") / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", SECOND_RENDER, str(cache_path), str(out)], cwd=ROOT, stderr=subprocess.PIPE
    )
    yield proc, out
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def report(
    cache_path: Path,
    second_render: tuple[subprocess.Popen[bytes], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    before = _sha(cache_path)
    out = tmp_path_factory.mktemp("report") / "out"
    with Cache(cache_path, read_only=True) as cache:
        index = write_report(cache, out, None)
    assert index == out / "index.html"
    assert _sha(cache_path) == before  # the report never writes to the cache
    return out


def _html(report: Path, page: str) -> str:
    return (report / f"{page}.html").read_text(encoding="utf-8")


def test_layout_index_pages_markdown_and_figure_files(report: Path) -> None:
    for page in (GCNN, RE, DE):
        assert (report / f"{page}.html").is_file() and (report / f"{page}.md").is_file()
    assert (report / "index.html").is_file() and (report / "README.md").is_file()
    html = _html(report, GCNN)
    stems = re.findall(r'<figure class="fig" id="([^"]+)"', html)
    assert stems, "no figure on the page"
    for stem in stems:
        assert (report / "fx_gcnn" / "figures" / f"{stem}.svg").is_file()
        assert (report / "fx_gcnn" / "figures" / f"{stem}.csv").is_file()
        assert f'href="figures/{stem}.csv"' in html  # the CSV beside the figure


@pytest.mark.parametrize(
    ("page", "sections", "figures"),
    [
        (GCNN, ["papers"], ["table1-genetic_cnn_ga", "generations-genetic_cnn_ga"]),
        (RE, ["papers"], ["overlay", "node-counts", "re-numbers", "re-table2"]),
        (DE, ["papers"], ["pareto", "pareto-table", "de-table3"]),
    ],
)
def test_every_view_appears(report: Path, page: str, sections: list[str], figures: list[str]) -> None:
    html = _html(report, page)
    found = re.findall(r'<section id="([^"]+)">', html)
    assert found[: len(COMMON_SECTIONS) - 3] == COMMON_SECTIONS[:-3]
    for section in [*COMMON_SECTIONS, *sections]:
        assert section in found, section
    slug = page.split("/")[1]
    for view in [*COMMON_FIGURES, *figures]:
        assert f'id="{slug}__{view}"' in html, view
    for heading in (
        "Metadata",
        "Runs: seeds, budgets, status",
        "Area under the runtime ECDF",
        "Pairwise comparisons",
    ):
        assert heading in html
    assert html.count("<svg") >= len(COMMON_FIGURES)


def test_index_has_pages_ranking_and_cd_diagram(report: Path) -> None:
    html = _html(report, "index")
    for page in (GCNN, RE, DE):
        assert f'href="{page}.html"' in html
    assert 'id="ranking__cd-diagram"' in html and (report / "figures" / "ranking__cd-diagram.csv").is_file()
    assert "2 blocks share the algorithms optuna_tpe, random_search, regularized_evolution" in html


def test_pages_and_index_open_with_a_headline_the_dominance_table_supports(report: Path) -> None:
    index = _html(report, "index")
    assert re.findall(r'<section id="([^"]+)">', index)[0] == "headline"
    for page in (GCNN, RE, DE):
        html = _html(report, page)
        assert re.findall(r'<section id="([^"]+)">', html)[0] == "headline"
        found = re.search(r'<div class="headline (\w+)" role="note">\s*<p class="lead"><strong>([^<]+)', html)
        assert found is not None, page
        outcome, lead = found.groups()
        experiment, slug = page.split("/")
        path = report / experiment / "figures" / f"{slug}__dominance.csv"
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        names = {r["row"] for r in rows}
        dominant = [n for n in names if all(r["verdict"] == "row" for r in rows if r["row"] == n)]
        if dominant:
            assert outcome == "winner" and lead.startswith(f"{dominant[0]} wins: ")
        else:
            assert (
                outcome in ("tie", "crossing") and lead.startswith("No single winner") and " wins" not in lead
            )
        assert f'<p class="scope"><a href="{page}.html">' in index and lead in index
        table = re.search(
            rf'id="{slug}__dominance">\s*<h3>[^<]*</h3>\s*<div class="table-wrap"><table class="wrap">', html
        )
        assert table is not None, "the dominance table's notes column must wrap"
    assert "table.wrap td:last-child{white-space:normal" in index


def test_warnings_appear(report: Path) -> None:
    index = _html(report, "index")
    de = _html(report, DE)
    for text in (
        "fewer than 5 seeds for &#39;optuna_nsga2&#39; (n=3)",
        "unequal budgets: differential_evolution=15, optuna_nsga2=18",
        "no random-search baseline among the compared algorithms",
    ):
        assert text in de and text in index
    assert "result selected on test data" in _html(report, RE) and "result selected on test data" in index
    assert "post-hoc (Nemenyi) comparisons are not supported" in index
    assert "No warnings." in _html(report, GCNN)


def test_selected_on_validation_reported_on_test(report: Path, cache_path: Path) -> None:
    """The final-results CSV reports the test accuracy of each run's validation best (plain SQL)."""
    con = duckdb.connect(str(cache_path), read_only=True)
    expected = dict(
        con.execute(
            """SELECT run_id, arg_max(e.test_acc, t.fitness * 1e6 - t.step) FROM trajectories t
               JOIN runs r USING (run_id) JOIN evaluations e ON e.arch_hash = t.arch_hash
               AND e.task_key = r.task_key AND e.replicate = t.replicate
               WHERE r.experiment = 'fx_gcnn' GROUP BY run_id"""
        ).fetchall()
    )
    con.close()
    path = report / "fx_gcnn" / "figures" / "genetic_cnn__digits_quick__final-results.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 20
    worse = 0
    for row in rows:
        run_id = f"fx_gcnn/{row['algorithm']}/{row['trial']}"
        assert float(row["final_test_of_incumbent"]) == pytest.approx(expected[run_id])
        worse += float(row["final_test_of_incumbent"]) < float(row["final_best_validation"]) - 0.02
    assert worse > 0
    html = _html(report, GCNN)
    assert "selected on validation" in html and "reported on test" in html


def test_paper_figures_beside_ours_only_for_paper_settings(report: Path) -> None:
    gcnn = _html(report, GCNN)
    assert "Not a paper setting: no paper figures beside" in gcnn and "Xie &amp; Yuille" not in gcnn
    re_page = _html(report, RE)
    assert "93.62" in re_page and "91.91" in re_page and "5.5 ± 1.1" in re_page
    de_page = _html(report, DE)
    assert "16,477,306" in de_page and "92.14" in de_page and "88.53" in de_page


def test_markdown_has_the_same_sections_as_html(report: Path) -> None:
    for page, md_name in ((GCNN, f"{GCNN}.md"), (RE, f"{RE}.md"), (DE, f"{DE}.md"), ("index", "README.md")):
        html = _html(report, page)
        md = (report / md_name).read_text(encoding="utf-8")
        h2_html = re.findall(r"<h2>(.*?)</h2>", html)
        h2_md = re.findall(r"^## (.*)$", md, flags=re.M)
        assert h2_html == [h.replace("\\", "") for h in h2_md]
        h3_html = [h.replace("&#39;", "'").replace("&amp;", "&") for h in re.findall(r"<h3>(.*?)</h3>", html)]
        h3_md = [h.replace("\\", "") for h in re.findall(r"^### (.*)$", md, flags=re.M)]
        assert h3_html == h3_md
        for svg in re.findall(r"!\[[^\]]*\]\(([^)]+\.svg)\)", md):
            assert (report / md_name).parent.joinpath(svg).is_file()


def test_html_is_self_contained(report: Path) -> None:
    for page in ("index", GCNN, RE, DE):
        html = _html(report, page)
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, flags=re.I)
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, flags=re.I)
        assert "<script" not in html and "<link" not in html and "@import" not in html
        assert "<img" not in html  # figures are inline SVG
        ids = re.findall(r'\bid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), "duplicate element ids (inline SVGs must not share ids)"


def test_report_is_byte_identical_on_a_second_render(
    report: Path, second_render: tuple[subprocess.Popen[bytes], Path]
) -> None:
    """Another process (other hash seeds, other object ids) writes exactly the same bytes."""
    proc, again = second_render
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr.decode(errors="replace")[-2000:]
    written = sorted(p.relative_to(report).as_posix() for p in report.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    assert len(written) > 50
    for rel in written:
        assert (report / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_unknown_experiment_is_one_clear_error(cache_path: Path, tmp_path: Path) -> None:
    with Cache(cache_path, read_only=True) as cache, pytest.raises(EvonasError) as err:
        write_report(cache, tmp_path / "out", ["no_such_experiment"])
    assert "no_such_experiment" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing half-written
