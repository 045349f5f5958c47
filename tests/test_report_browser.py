"""The report as a person sees it: headless Chromium (Debian's package) driven by Playwright.

Every chart must be drawn (a Plotly SVG with marks), the page must log no error and make no
request beyond its own file, and a screenshot is kept in test-artifacts/ for people to look at.
Chromium is found at CHOKEPOINTS_CHROMIUM, else on the PATH; without it the test skips, except
under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module; each test opens a page of its own."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=QUIET)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def jpn_deu_report(demo_report: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo report of Japan with Germany as an HTML file (the session's content)."""
    report = tmp_path_factory.mktemp("report") / "report.html"
    write_report(demo_report, report)
    return report


@pytest.mark.parametrize("partners", [["DEU"], []], ids=["with-partner", "alone"])
def test_report_renders_offline_in_chromium(
    request: pytest.FixtureRequest,
    browser: Any,
    demo_home: Path,
    tmp_path: Path,
    partners: list[str],
) -> None:
    if partners:
        report = request.getfixturevalue("jpn_deu_report")
    else:
        report = tmp_path / "report.html"
        write_report(gather(Workspace.open(demo_home), "JPN", partners=partners), report)
    errors: list[str] = []
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
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
    finally:
        page.close()
    assert errors == []
    assert [r for r in requests if r != report.as_uri()] == []
    for key, svgs, count in marks:
        assert svgs >= 1 and count > 5, f"chart {key} drew {count} marks"
    assert countries > 50  # the bundled world map drew one shape per supplying country
    assert opened


#: Baseline screenshots of the report's sections (demo world, JPN with DEU), made by this test
#: with CHOKEPOINTS_UPDATE_BASELINES=1 and checked by eye before they were committed.
BASELINES = Path(__file__).parent / "baselines"
#: A pixel differs when a channel moves by more than this; a section differs when more than
#: ``MAX_CHANGED`` of its pixels do (anti-aliasing moves a few, a broken chart thousands).
PIXEL_TOLERANCE = 48
MAX_CHANGED = 0.01


#: Pixels a section may move or grow by: a section lower on the page starts on another
#: fraction of a pixel when a section above changes by a line, so it is drawn a pixel off.
SHIFT_TOLERANCE = 2


def _changed_share(shot: Path, baseline: Path, diff: Path) -> float:
    """The share of pixels that differ between two screenshots of about the same size, at the
    best alignment within ``SHIFT_TOLERANCE`` pixels (1.0 when the sizes differ by more); the
    differing pixels are painted red into ``diff`` for people to look at."""
    from PIL import Image, ImageChops

    now, then = Image.open(shot).convert("RGB"), Image.open(baseline).convert("RGB")
    if any(abs(a - b) > SHIFT_TOLERANCE for a, b in zip(now.size, then.size, strict=True)):
        return 1.0
    width = min(now.width, then.width) - SHIFT_TOLERANCE
    height = min(now.height, then.height) - SHIFT_TOLERANCE
    best: tuple[float, Image.Image, Image.Image] | None = None
    shifts = range(-SHIFT_TOLERANCE, SHIFT_TOLERANCE + 1)
    for dx, dy in ((dx, dy) for dx in shifts for dy in shifts):
        a = now.crop((max(dx, 0), max(dy, 0), max(dx, 0) + width, max(dy, 0) + height))
        b = then.crop((max(-dx, 0), max(-dy, 0), max(-dx, 0) + width, max(-dy, 0) + height))
        delta = (
            ImageChops.difference(a, b)
            .convert("L")
            .point(lambda v: 255 if v > PIXEL_TOLERANCE else 0)
        )
        share = sum(delta.histogram()[1:]) / (width * height)  # pixels not 0
        if best is None or share < best[0]:
            best = (share, a, delta)
    assert best is not None
    changed, shown, delta = best
    marked = shown.copy()
    marked.paste((220, 0, 0), mask=delta)
    marked.save(diff)
    return changed


def test_sections_look_as_their_baselines(browser: Any, jpn_deu_report: Path) -> None:
    update = os.environ.get("CHOKEPOINTS_UPDATE_BASELINES") == "1"
    artefacts = REPO / "test-artifacts" / "sections"
    artefacts.mkdir(parents=True, exist_ok=True)
    keys = ["key-figures", *CHARTS, "cooperation"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(jpn_deu_report.as_uri())
        for key in CHARTS:
            page.wait_for_selector(f"#chart-{key} svg.main-svg", timeout=15_000)
        page.wait_for_timeout(500)  # let Plotly finish its transitions
        for key in keys:
            page.locator(f"#{key}").screenshot(
                path=str(artefacts / f"{key}.png"), animations="disabled"
            )
    finally:
        page.close()
    if update:
        BASELINES.mkdir(exist_ok=True)
        for key in keys:
            shutil.copyfile(artefacts / f"{key}.png", BASELINES / f"report-{key}.png")
    changed = {
        key: _changed_share(
            artefacts / f"{key}.png", BASELINES / f"report-{key}.png", artefacts / f"{key}-diff.png"
        )
        for key in keys
    }
    broken = {key: share for key, share in changed.items() if share > MAX_CHANGED}
    assert not broken, (
        f"sections differ from their baselines (share of pixels): {broken}; see {artefacts}"
    )
