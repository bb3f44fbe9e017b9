"""Open the HTML report of the standard fixture cache in headless Chromium.

For each page, a test copy gets a tiny script at the end of its body that measures every figure's inline
SVG (its box on the page and the bounding box of its drawn content), lists any resource the page fetched
and every element that would fetch one (a self-contained page has none) and writes the result into the
DOM; `--dump-dom` returns it. The console is captured with `--enable-logging=stderr --v=0`: the report
has no scripts, and the test script writes nothing to the console, so any CONSOLE line is a failure.
Screenshots of a page at laptop and phone width are saved under artifacts/ (gitignored) for a human to
look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cache.store import Cache
from reports import write_report
from tests.reportfixtures import build_report_cache

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI (.ci/run) installs Chromium and sets EVONAS_REQUIRE_BROWSER=1: there a missing browser fails, never skips
REQUIRED = os.environ.get("EVONAS_REQUIRE_BROWSER") == "1"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None and not REQUIRED, reason="chromium not installed (apt-get install chromium)"
    ),
]


def test_browser_is_installed_where_required():
    assert CHROMIUM is not None, "EVONAS_REQUIRE_BROWSER=1 but no chromium on PATH"


ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
PAGES = (
    "index",
    "fx_gcnn/genetic_cnn__digits_quick",
    "fx_re/macro_re__fashion_mnist_re_paper",
    "fx_de/de_sequential__cifar10_de",
)
PROBE = """<script>
(function () {
  var figures = Array.prototype.slice.call(document.querySelectorAll("figure.fig"));
  var bad = [];
  figures.forEach(function (f) {
    var svg = f.querySelector("svg");
    var box = svg ? svg.getBoundingClientRect() : null;
    var drawn = svg ? svg.getBBox() : null;
    if (!box || box.width <= 0 || box.height <= 0 || drawn.width <= 0 || drawn.height <= 0) bad.push(f.id);
  });
  var fetched = performance.getEntriesByType("resource").map(function (e) { return e.name; });
  document.querySelectorAll("[src], link[href], object[data], iframe").forEach(function (e) {
    fetched.push(e.getAttribute("src") || e.getAttribute("href") || e.getAttribute("data") || e.tagName);
  });
  var out = document.createElement("pre");
  out.id = "evonas-probe";
  out.textContent = JSON.stringify({figures: figures.length, bad: bad, fetched: fetched});
  document.body.appendChild(out);
})();
</script>
"""


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        f"--user-data-dir={tmp / 'profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache_path = build_report_cache(tmp_path_factory.mktemp("cache") / "fx.duckdb")
    out = tmp_path_factory.mktemp("report") / "out"
    with Cache(cache_path, read_only=True) as cache:
        write_report(cache, out)
    return out


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_renders_and_the_console_stays_quiet(report: Path, page: str, tmp_path: Path) -> None:
    source = report / f"{page}.html"
    html = source.read_text(encoding="utf-8")
    expected = html.count('<figure class="fig"')
    assert expected > 0
    probe = source.with_name(source.stem + ".probe.html")  # beside the page, so relative links resolve
    probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    try:
        result = chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'<pre id="evonas-probe">(.*?)</pre>', result.stdout, flags=re.S)
    assert match, "the probe did not run: " + result.stderr[-2000:]
    found = json.loads(match.group(1).replace("&quot;", '"'))
    assert found["figures"] == expected
    assert found["bad"] == [], f"figures without a rendered drawing: {found['bad']}"
    assert found["fetched"] == [], f"the page fetched resources: {found['fetched']}"
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], "\n".join(console)


def test_the_probe_catches_an_empty_figure_and_a_fetch(tmp_path: Path) -> None:
    """The check above can fail: a figure whose SVG draws nothing, and a page that loads an image."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body>"
        '<figure class="fig" id="empty"><svg width="100" height="50"></svg></figure>'
        '<figure class="fig" id="full"><svg width="90" height="50"><rect width="9" height="9"/></svg>'
        "</figure>"
        '<img src="missing.png">' + PROBE + "</body></html>",
        encoding="utf-8",
    )
    result = chromium(tmp_path, "--dump-dom", page.as_uri())
    match = re.search(r'<pre id="evonas-probe">(.*?)</pre>', result.stdout, flags=re.S)
    assert match, result.stderr[-2000:]
    found = json.loads(match.group(1).replace("&quot;", '"'))
    assert found["figures"] == 2 and found["bad"] == ["empty"]
    assert [Path(u).name for u in found["fetched"]] == ["missing.png"]


@pytest.mark.parametrize(("width", "name"), [(1280, "laptop"), (390, "phone")])
def test_screenshots(report: Path, width: int, name: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"report-genetic_cnn-{name}.png"
    shot.unlink(missing_ok=True)
    page = report / f"{PAGES[1]}.html"
    result = chromium(tmp_path, f"--screenshot={shot}", f"--window-size={width},2000", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == width  # the PNG header's width
