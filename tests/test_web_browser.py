"""The web app as a person uses it: headless Chromium (Debian's package) driven by Playwright
against a real uvicorn server on a free 127.0.0.1 port, over the demo store, at 1280x800.

One server and one browser for the module (one xdist group, one Chromium start). Each step
checks that charts are drawn with marks, that no console error was logged and that no request
left 127.0.0.1; screenshots go to test-artifacts/web/ for people to look at.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chokepoints.web.app import create_app
from chokepoints.web.settings import ServerSettings
from conftest import REPO
from test_report_browser import QUIET, chromium

pytestmark = pytest.mark.xdist_group("web_browser")

ARTEFACTS = REPO / "test-artifacts" / "web"


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_home: Path) -> Iterator[str]:
    """A uvicorn server of the app over the demo store, in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        create_app(ServerSettings(home=demo_home, port=port)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the uvicorn server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


class Browser:
    """One page of one Chromium, with every request URL and console error it saw."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def marks(self, chart: str) -> int:
        """SVG marks (paths, points, bars) Plotly drew in the chart ``chart``."""
        self.page.wait_for_selector(f"#chart-{chart} svg.main-svg", timeout=20_000)
        count: int = self.page.evaluate(
            """key => {
                let n = 0;
                document.querySelectorAll('#chart-' + key + ' svg.main-svg').forEach(s => {
                    n += s.querySelectorAll('path.point, g.point, path.choroplethlocation, '
                        + 'g.slice, path.js-line, .bars path, .trace path').length;
                });
                return n;
            }""",
            chart,
        )
        return count

    def shot(self, name: str) -> None:
        """A full-page screenshot in test-artifacts/web/."""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)

    def clean(self) -> None:
        """No console error so far, and every request stayed on this server."""
        assert self.errors == []
        strangers = [url for url in self.requests if not url.startswith(self.base + "/")]
        assert strangers == []


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Browser]:
    """Chromium at 1280x800 on the server (launched like the report's browser test)."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=QUIET)
        page = launched.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(20_000)
        yield Browser(page, server)
        launched.close()


def test_search_then_country_then_year(browser: Browser) -> None:
    page = browser.page
    page.goto(browser.base + "/")
    page.fill("#q", "Japan")
    page.wait_for_selector("#results a[href='/country/JPN']")
    browser.shot("home-search")
    page.click("#results a[href='/country/JPN']")
    page.wait_for_url("**/country/JPN")
    for chart in ("dependencies", "sectors", "suppliers", "map", "trend", "exports"):
        assert browser.marks(chart) > 0, chart
    assert page.locator("#chart-map path.choroplethlocation").count() > 20
    browser.shot("country")
    page.select_option("select[name=year]", "2021")
    page.wait_for_url("**/country/JPN?year=2021")
    page.wait_for_selector("text=2021 · strategic sectors")
    assert browser.marks("dependencies") > 0
    assert page.title().startswith("Japan (JPN): dependencies 2021")
    browser.clean()


def test_open_a_product_from_the_country_page(browser: Browser) -> None:
    page = browser.page
    page.goto(browser.base + "/country/JPN")
    page.click("#dependencies summary")
    link = page.locator("#dependencies table a[href^='/product/']").first
    code = link.inner_text()
    link.click()
    page.wait_for_url(f"**/product/{code}?year=2022")
    assert page.locator("#chart-exporters path.choroplethlocation").count() > 0
    assert browser.marks("importers") > 0
    browser.shot("product")
    browser.clean()


def test_run_a_preset_scenario(browser: Browser) -> None:
    page = browser.page
    page.goto(browser.base + "/scenario")
    page.select_option("select[name=preset]", "china-gallium-germanium-2023")
    page.click("text=Run the scenario")
    page.wait_for_url("**/scenario?preset=china-gallium-germanium-2023")
    assert browser.marks("importers") > 0
    assert browser.marks("downstream") > 0
    assert "Allocation rule:" in page.inner_text("#importers")
    browser.shot("scenario")
    browser.clean()


def test_max_share_slider_changes_the_mix(browser: Browser) -> None:
    page = browser.page
    page.goto(browser.base + "/diversify/JPN/850760")
    assert browser.marks("mix") > 0
    before = page.inner_text("#mix")
    browser.shot("diversify")
    page.evaluate(
        """() => {
            const slider = document.querySelector('input[name=max_share]');
            slider.value = '0.2';
            slider.dispatchEvent(new Event('input', {bubbles: true}));
            slider.dispatchEvent(new Event('change', {bubbles: true}));
        }"""
    )
    page.wait_for_url("**/diversify/JPN/850760?year=2022&max_share=0.2")
    page.wait_for_selector("#mix >> text=No mix meets these constraints")
    assert page.inner_text("#mix") != before
    assert page.inner_text("#max-share-value") == "20%"
    browser.shot("diversify-capped")
    page.go_back()
    page.wait_for_url("**/diversify/JPN/850760")
    page.wait_for_selector("#mix >> text=falls from")
    browser.clean()


def test_compare_view(browser: Browser) -> None:
    page = browser.page
    page.goto(browser.base + "/")
    page.click("nav >> text=Compare")
    page.wait_for_url("**/compare?economies=JPN,DEU")
    assert browser.marks("cooperation") > 0
    browser.shot("compare")
    browser.clean()


def test_download_the_report(browser: Browser, tmp_path: Path) -> None:
    """The country page's button runs the report as a job, shows its progress from the job's
    events, and downloads the same HTML report as ``chokepoints report``."""
    page = browser.page
    page.goto(browser.base + "/country/KOR?year=2022")
    with page.expect_download(timeout=180_000) as download:
        page.click(".report-button")
        page.wait_for_selector(".report-status >> text=Report:", timeout=180_000)
    saved = tmp_path / "report.html"
    download.value.save_as(saved)
    assert download.value.suggested_filename.endswith(".html")
    text = saved.read_text(encoding="utf-8")
    assert "South Korea (KOR)" in text or "Korea" in text
    assert "Plotly" in text and saved.stat().st_size > 1_000_000  # Plotly inlined: offline
    assert page.inner_text(".report-status") == "Report ready."
    browser.clean()
