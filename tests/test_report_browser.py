"""The report as a person sees it: headless Chromium (Debian's package) driven by Playwright.

Every chart must be drawn (a Plotly SVG with marks), the page must log no error and make no
request beyond its own file, and a screenshot is kept in test-artifacts/ for people to look at.
Chromium is found at CHOKEPOINTS_CHROMIUM, else on the PATH; without it the test skips, except
under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from chokepoints.report import gather, write_report
from chokepoints.workspace import Workspace
from conftest import REPO
from test_report import CHARTS

#: Flags that keep Chromium from reaching out on its own (updates, sync, metrics).
QUIET = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium() -> str:
    """Path to the Chromium executable, or skip (fail under CI=true)."""
    path = os.environ.get("CHOKEPOINTS_CHROMIUM") or shutil.which("chromium")
    if path:
        return path
    message = "Chromium not found: apt-get install chromium, or set CHOKEPOINTS_CHROMIUM"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.parametrize("partners", [["DEU"], []], ids=["with-partner", "alone"])
def test_report_renders_offline_in_chromium(tmp_path: Path, partners: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    ws = Workspace.open(tmp_path / "home")
    ws.load_demo()
    report = tmp_path / "report.html"
    write_report(gather(ws, "JPN", partners=partners), report)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=QUIET)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        expected = [*CHARTS, *(["cooperation"] if partners else [])]
        for key in expected:
            page.wait_for_selector(f"#chart-{key} svg.main-svg", timeout=15_000)
        marks = page.evaluate(
            """keys => keys.map(k => {
                const svg = document.querySelectorAll('#chart-' + k + ' svg.main-svg');
                let n = 0;
                svg.forEach(s => { n += s.querySelectorAll('path, rect').length; });
                return [k, svg.length, n];
            })""",
            expected,
        )
        countries = page.evaluate(
            "document.querySelectorAll('#chart-map .choroplethlocation').length"
        )
        artefacts = REPO / "test-artifacts"
        artefacts.mkdir(exist_ok=True)
        page.screenshot(
            path=str(artefacts / f"report-{'-'.join(['JPN', *partners])}.png"), full_page=True
        )
        # The table views open for printing.
        page.emulate_media(media="print")
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        opened = page.evaluate(
            "Array.from(document.querySelectorAll('details')).every(d => d.open)"
        )
        page.emulate_media(media="screen")
        browser.close()
    assert errors == []
    assert [r for r in requests if r != report.as_uri()] == []
    for key, svgs, count in marks:
        assert svgs >= 1 and count > 5, f"chart {key} drew {count} marks"
    assert countries > 50  # the bundled world map drew one shape per supplying country
    assert opened
