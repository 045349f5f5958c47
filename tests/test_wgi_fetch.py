"""``data fetch wgi`` against a local World Bank API serving real WGI estimates.

The pages are built here in the API's format (REST v2, source 3: ``[header, rows]``, ``page``,
``pages``, ``total``) from the real bulk file ``wgi/wgidataset.xlsx`` read with openpyxl, for a
few economies with their bulk-file codes (legacy ROM and KSV included; Taiwan without an ISO3,
as the API gives it). The server serves at most 100 rows a page, so each series takes two pages.
Expected estimates are the workbook's cells, read here independently of chokepoints' reader.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from chokepoints.workspace import Workspace
from helpers import assert_one_sentence_error, run, snapshot

WORKBOOK = "wgi/wgidataset.xlsx"
#: The economies served, by their code in the bulk file, and the ISO3 the store should hold.
ECONOMIES = {"DEU": "DEU", "JPN": "JPN", "ROM": "ROU", "KSV": "XKX", "TWN": "TWN", "ASM": "ASM"}
SERIES = {
    "va": "GOV_WGI_VA.EST",
    "pv": "GOV_WGI_PV.EST",
    "ge": "GOV_WGI_GE.EST",
    "rq": "GOV_WGI_RQ.EST",
    "rl": "GOV_WGI_RL.EST",
    "cc": "GOV_WGI_CC.EST",
}
#: Rows a page of the local server holds, whatever ``per_page`` asks.
PAGE_ROWS = 100
ERROR_ANSWER = [
    {
        "message": [
            {
                "id": "175",
                "key": "Invalid format",
                "value": "The indicator was not found. It may have been deleted or archived.",
            }
        ]
    }
]


@pytest.fixture(scope="module")
def cells(shared_data: Path) -> list[tuple[str, str, int, str, float | None]]:
    """(code, name, year, indicator, estimate) of the served economies, from the workbook."""
    book = openpyxl.load_workbook(shared_data / WORKBOOK, read_only=True)
    rows = book.active.iter_rows(values_only=True)
    header = list(next(rows))
    at = {name: header.index(name) for name in ("code", "countryname", "year", "indicator")}
    estimate = header.index("estimate")
    found = [
        (
            row[at["code"]],
            row[at["countryname"]],
            int(row[at["year"]]),
            row[at["indicator"]],
            None if row[estimate] == ".." else float(row[estimate]),
        )
        for row in rows
        if row[at["code"]] in ECONOMIES
    ]
    book.close()
    return found


class WorldBankApi:
    """``/country/all/indicator/{series}`` over ``cells``, in pages of PAGE_ROWS rows, newest
    year first within each economy as the API sorts them."""

    def __init__(self, cells: list[tuple[str, str, int, str, float | None]]) -> None:
        self.cells = cells

    def __call__(self, request: Request) -> Response:
        series = request.path.rsplit("/", 1)[-1]
        indicator = next(code for code, name in SERIES.items() if name == series)
        first, last = (int(y) for y in request.args["date"].split(":"))
        rows = sorted(
            (c for c in self.cells if c[3] == indicator and first <= c[2] <= last),
            key=lambda c: (c[1], -c[2]),
        )
        page = int(request.args["page"])
        pages = math.ceil(len(rows) / PAGE_ROWS)
        header = {
            "page": page,
            "pages": pages,
            "per_page": PAGE_ROWS,
            "total": len(rows),
            "sourceid": "3",
            "lastupdated": "2024-09-26",
        }
        chosen = rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
        return Response(
            json.dumps([header, [record(series, c) for c in chosen]]),
            content_type="application/json;charset=utf-8",
        )


def record(series: str, cell: tuple[str, str, int, str, float | None]) -> dict[str, Any]:
    """One row of an API page; Taiwan, like the API's own, with no ISO3 code."""
    code, name, year, _, estimate = cell
    return {
        "indicator": {"id": series, "value": f"{series}: Estimate"},
        "country": {"id": code, "value": name},
        "countryiso3code": "" if code == "TWN" else code,
        "date": str(year),
        "value": estimate,
        "unit": "",
        "obs_status": "",
        "decimal": 2,
    }


def fetch(
    capsys: pytest.CaptureFixture[str],
    server: HTTPServer,
    home: Path,
    years: str = "1996-2023",
    *extra: str,
) -> tuple[int, str, str]:
    """``chokepoints data fetch wgi --years YEARS`` from the local server."""
    return run(
        capsys,
        *("data", "fetch", "wgi", "--years", years),
        *("--base-url", server.url_for("/"), "--home", str(home), *extra),
    )


def governance(home: Path) -> list[tuple[Any, ...]]:
    """The governance rows of a store, sorted."""
    frame = Workspace.open(home).sql(
        "SELECT country, year, indicator, estimate FROM governance ORDER BY ALL"
    )
    return [
        (c, int(y), i, None if e is None or math.isnan(e) else e)
        for c, y, i, e in frame.itertuples(index=False)
    ]


def store_files(home: Path) -> dict[str, str]:
    """The store proper: the home's files without the fetch's work area and downloads."""
    return {
        k: v for k, v in snapshot(home).items() if not k.startswith(("downloads/", ".staging/"))
    }


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgets its base URL meets a closed local port, not api.worldbank.org."""
    monkeypatch.setenv("CHOKEPOINTS_WORLDBANK_URL", "http://127.0.0.1:9")


@pytest.fixture(scope="module")
def xlsx_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the real WGI file ingested with ``ingest_wgi``; tests only read it."""
    home = tmp_path_factory.mktemp("wgi-xlsx")
    Workspace.open(home).ingest_wgi(shared_data / WORKBOOK)
    return home


@pytest.fixture
def loaded(xlsx_home: Path, tmp_path: Path) -> Path:
    """A copy of ``xlsx_home``, to check that a failed fetch leaves a store as it was."""
    return Path(shutil.copytree(xlsx_home, tmp_path / "loaded"))


def test_fetch_reads_every_page_and_stores_the_workbook_estimates(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    cells: list[tuple[str, str, int, str, float | None]],
) -> None:
    server = WorldBankApi(cells)
    for series in SERIES.values():
        httpserver.expect_request(f"/country/all/indicator/{series}").respond_with_handler(server)

    code, out, err = fetch(capsys, httpserver, home)

    assert code == 0, err
    assert [(r.path.rsplit("/", 1)[-1], r.args["page"]) for r, _ in httpserver.log] == [
        (series, page) for series in SERIES.values() for page in ("1", "2")
    ]
    query = httpserver.log[0][0].args
    assert (query["source"], query["format"], query["date"]) == ("3", "json", "1996:2023")
    wanted = sorted((ECONOMIES[c], y, i, e) for c, _, y, i, e in cells)
    assert governance(home) == wanted
    assert len(wanted) == 6 * 6 * 25  # 6 economies, 6 indicators, 25 years of WGI since 1996
    said = " ".join(out.split())
    assert "Ingested wgi WGI-2024" in said
    assert f"fetched {len(wanted)} WGI estimates (1996-2023)" in said
    assert "KSV->XKX" in said and "ROM->ROU" in said
    assert not (home / ".staging").exists()
    assert not any((home / "downloads" / ".fetch").glob("*")), "committed: the calls go"


def test_fetch_and_ingest_give_the_same_governance_rows(
    httpserver: HTTPServer,
    home: Path,
    xlsx_home: Path,
    cells: list[tuple[str, str, int, str, float | None]],
) -> None:
    server = WorldBankApi(cells)
    for series in SERIES.values():
        httpserver.expect_request(f"/country/all/indicator/{series}").respond_with_handler(server)
    Workspace.open(home).fetch_wgi(years=range(2000, 2024), base_url=httpserver.url_for("/"))
    ingested = Workspace.open(xlsx_home)
    served = tuple(ECONOMIES.values())

    same = ingested.sql(
        "SELECT country, year, indicator, estimate FROM governance "
        f"WHERE country IN {served} AND year >= 2000 ORDER BY ALL"
    )

    assert governance(home) == [
        (c, int(y), i, None if math.isnan(e) else e) for c, y, i, e in same.itertuples(index=False)
    ]


def test_error_answer_stops_in_one_sentence_and_leaves_the_store(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, loaded: Path
) -> None:
    httpserver.expect_request("/country/all/indicator/GOV_WGI_VA.EST").respond_with_json(
        ERROR_ANSWER
    )
    before = store_files(loaded)

    code, _, err = fetch(capsys, httpserver, loaded)

    assert_one_sentence_error(code, err)
    assert "the World Bank API answered with the error 'Invalid format: The indicator was" in err
    assert len(httpserver.log) == 1
    assert store_files(loaded) == before


def test_interrupted_fetch_continues_with_the_pages_not_yet_fetched(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    loaded: Path,
    cells: list[tuple[str, str, int, str, float | None]],
) -> None:
    server = WorldBankApi(cells)
    for series in list(SERIES.values())[:2]:
        httpserver.expect_request(f"/country/all/indicator/{series}").respond_with_handler(server)
    httpserver.expect_request("/country/all/indicator/GOV_WGI_GE.EST").respond_with_data(
        b"<html><body>Service Unavailable</body></html>", content_type="text/html"
    )
    before = store_files(loaded)

    code, _, err = fetch(capsys, httpserver, loaded)

    assert_one_sentence_error(code, err)
    assert "returned a web page" in err and "the 4 page(s) answered before are kept" in err
    assert store_files(loaded) == before

    httpserver.clear()
    for series in SERIES.values():
        httpserver.expect_request(f"/country/all/indicator/{series}").respond_with_handler(server)
    code, out, err = fetch(capsys, httpserver, loaded, "1996-2023", "--replace")

    assert code == 0, err  # replacing the whole file's 32,100 rows by 900 needs --replace
    asked = [(r.path.rsplit("/", 1)[-1], r.args["page"]) for r, _ in httpserver.log]
    assert asked == [(s, p) for s in list(SERIES.values())[2:] for p in ("1", "2")]
    assert "4 of them answered in an earlier run" in " ".join(out.split())
    assert governance(loaded) == sorted((ECONOMIES[c], y, i, e) for c, _, y, i, e in cells)


def test_pages_short_of_the_announced_total_are_refused(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    loaded: Path,
    cells: list[tuple[str, str, int, str, float | None]],
) -> None:
    server = WorldBankApi(cells)

    def one_row_lost(request: Request) -> Response:
        header, rows = json.loads(server(request).get_data())
        return Response(json.dumps([header, rows[1:]]), content_type="application/json")

    httpserver.expect_request("/country/all/indicator/GOV_WGI_VA.EST").respond_with_handler(
        one_row_lost
    )
    before = store_files(loaded)

    code, _, err = fetch(capsys, httpserver, loaded)

    assert_one_sentence_error(code, err)
    assert "announced 150 rows of GOV_WGI_VA.EST but its 2 page(s) held 148" in err
    assert store_files(loaded) == before


def test_years_with_a_gap_are_refused_before_any_call(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, home: Path
) -> None:
    code, _, err = fetch(capsys, httpserver, home, years="2019,2021")

    assert_one_sentence_error(code, err)
    assert "years 2019, 2021 leave gaps" in err and "2019-2021" in err
    assert httpserver.log == []


def test_entity_without_a_known_code_is_set_aside_and_said(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    cells: list[tuple[str, str, int, str, float | None]],
) -> None:
    """A row of an aggregate the API lists with no ISO3 and a numeric-style id (``1W``)."""
    server = WorldBankApi(cells)

    def with_world(request: Request) -> Response:
        header, rows = json.loads(server(request).get_data())
        if header["page"] == header["pages"]:
            world = dict(rows[0], country={"id": "1W", "value": "World"}, countryiso3code="")
            rows.append(world)
        header["total"] += 1
        return Response(json.dumps([header, rows]), content_type="application/json")

    for series in SERIES.values():
        httpserver.expect_request(f"/country/all/indicator/{series}").respond_with_handler(
            with_world
        )

    code, out, err = fetch(capsys, httpserver, home)

    assert code == 0, err
    assert (
        "set aside rows of entities the API gives no country code chokepoints knows: World (6 rows)"
        in " ".join(out.split())
    )
    assert governance(home) == sorted((ECONOMIES[c], y, i, e) for c, _, y, i, e in cells)
