"""``data fetch usgs`` against a local ScienceBase: item JSON, zip, direct CSV, resume, errors.

The served files are built here in the published layouts (FORMATS.md section 3: the verbatim
MCS2025 header and sample rows, the MCS2026 header in cp1252 bytes); the expected shares are
computed by hand in the comments.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from chokepoints.sources import http
from chokepoints.sources.usgs import DEFAULT_USGS_BASE_URL, usgs_base_url
from chokepoints.workspace import Workspace
from helpers import assert_one_sentence_error, run, snapshot
from test_http import range_handler, truncated_response

ITEM_2025 = "677eaf95d34e760b392c4970"
ITEM_2026 = "696a75d5d4be0228872d3bf8"
ZIP_2025 = "World_Data_Release_MCS_2025.zip"
CSV_2025 = "MCS2025_World_Data.csv"
CSV_2026 = "MCS2026_Commodities_Data.csv"
#: Where the item JSON says the zip is (ScienceBase serves files under such ``f=__disk__`` keys).
ZIP_PATH = f"/catalog/file/get/{ITEM_2025}"
ZIP_QUERY = "f=__disk__5b%2F4e%2F2a"

WIDE_HEADER = (
    "SOURCE,COMMODITY,COUNTRY,TYPE,UNIT_MEAS,PROD_2023,PROD_EST_ 2024,PROD_NOTES,CAP_2023,"
    "CAP_EST_ 2024,CAP_NOTES,RESERVES_2024,RESERVE_NOTES"
)
#: FORMATS.md's three sample rows verbatim, plus Indonesia so that cobalt has two producers.
WIDE_ROWS = [
    'MCS2025,Cobalt,Congo (Kinshasa),"Mine production, cobalt content",metric tons,210000,220000,,,,,6000000,',  # noqa: E501
    'MCS2025,Cobalt,World total (rounded),"Mine production",metric tons,,240000,,,,,11000000,',
    'MCS2025,Aluminum,China,"Smelter production, aluminum",thousand metric tons,41000,43000,,,,,,',
    'MCS2025,Cobalt ,Indonesia,"Mine production, cobalt content",metric tons,17000,20000,,,,,640000,',  # noqa: E501
]  # fmt: skip
LONG_HEADER = (
    "MCS chapter,Section,Commodity,Country,Statistics,Statistics_detail,Unit,Year,Value,Notes,"
    "Is critical mineral 2025,Other notes"
)
#: Cobalt 2025; a reserves row of Côte d'Ivoire and a 2021–24 range (both skipped) put cp1252
#: bytes (0xF4, 0x96) in the file.
LONG_ROWS = [
    "Cobalt,World Mine Production and Reserves,Cobalt,Congo (Kinshasa),production,"
    "Mine production: cobalt content,metric tons,2025,195000e,,Yes,",
    "Cobalt,World Mine Production and Reserves,Cobalt,Indonesia,production,"
    "Mine production: cobalt content,metric tons,2025,45000,,Yes,",
    "Cobalt,World Mine Production and Reserves,Cobalt,World total (rounded),production,"
    "Mine production: cobalt content,metric tons,2025,260000,,Yes,",
    "Cobalt,World Mine Production and Reserves,Cobalt,Côte d'Ivoire,reserves,"
    "Reserves,metric tons,2025,1000,,Yes,",
    "Cobalt,Salient Statistics - United States,Cobalt,United States,production,"
    "Mine production,metric tons,2021–24,W,,Yes,",
]


def csv_bytes(header: str, rows: list[str], encoding: str) -> bytes:
    """A CSV as USGS publishes it: CRLF lines, in ``encoding``."""
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


WIDE_CSV = csv_bytes(WIDE_HEADER, WIDE_ROWS, "utf-8-sig")
LONG_CSV = csv_bytes(LONG_HEADER, LONG_ROWS, "cp1252")


def mcs2025_zip() -> bytes:
    """The 2025 data release zip: the world-data CSV and its metadata, fixed dates."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in ((CSV_2025, WIDE_CSV), ("MCS2025_World_Data.xml", b"<metadata/>")):
            bundle.writestr(zipfile.ZipInfo(name, date_time=(2025, 1, 31, 0, 0, 0)), data)
    return buffer.getvalue()


ZIP = mcs2025_zip()


def item_json(server: HTTPServer, *, listed: str = ZIP_2025) -> dict:
    """A ScienceBase item as ``?format=json`` gives it, listing ``listed`` and the metadata."""
    return {
        "id": ITEM_2025,
        "title": "Mineral Commodity Summaries 2025 World Data Release",
        "files": [
            {
                "name": "MCS2025_World_Data.xml",
                "contentType": "application/fgdc+xml",
                "url": server.url_for(f"/catalog/file/get/{ITEM_2025}") + "?f=__disk__xml",
            },
            {
                "name": listed,
                "contentType": "application/zip",
                "size": len(ZIP),  # as ScienceBase lists it; the fetch trusts the server's
                "url": server.url_for(ZIP_PATH) + "?" + ZIP_QUERY,
            },
        ],
    }


def serve_item(server: HTTPServer, **options: str) -> None:
    server.expect_request(
        f"/catalog/item/{ITEM_2025}", query_string="format=json"
    ).respond_with_json(item_json(server, **options))


def serve_2025(server: HTTPServer) -> None:
    """The item JSON and the zip it lists."""
    serve_item(server)
    server.expect_request(ZIP_PATH, query_string=ZIP_QUERY).respond_with_data(
        ZIP, content_type="application/zip"
    )


def serve_2026(server: HTTPServer) -> None:
    """The 2026 CSV at ScienceBase's direct-file address."""
    server.expect_request(
        f"/catalog/file/get/{ITEM_2026}", query_string=f"name={CSV_2026}"
    ).respond_with_data(LONG_CSV, content_type="text/csv")


def fetch(capsys: pytest.CaptureFixture[str], server: HTTPServer, home: Path, edition: str):
    """``chokepoints data fetch usgs --edition EDITION`` from the local server."""
    base = ("--base-url", server.url_for("/"), "--home", str(home))
    return run(capsys, "data", "fetch", "usgs", "--edition", edition, *base)


def store_files(home: Path) -> dict[str, str]:
    """The store proper: the home's files without its downloads folder."""
    return {k: v for k, v in snapshot(home).items() if not k.startswith("downloads/")}


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgets its base URL meets a closed local port, not sciencebase.gov."""
    monkeypatch.setenv("CHOKEPOINTS_USGS_URL", "http://127.0.0.1:9")


@pytest.fixture
def fast_single_try(monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads give up at the first truncated body, without waiting."""
    monkeypatch.setattr(http, "download", functools.partial(http.download, retries=0, backoff=0))


def test_fetch_2025_reads_the_item_unzips_and_answers(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, home: Path
) -> None:
    serve_2025(httpserver)

    code, out, err = fetch(capsys, httpserver, home, "2025")

    assert code == 0, err
    assert "Ingested usgs MCS2025" in out
    downloads = home / "downloads"
    assert (downloads / ZIP_2025).read_bytes() == ZIP
    assert (downloads / CSV_2025).read_bytes() == WIDE_CSV
    assert sorted(p.name for p in downloads.iterdir()) == [CSV_2025, ZIP_2025]  # no JSON, .part
    code, out, err = run(
        capsys, "production", "cobalt", "--year", "2024", "--format", "json", "--home", str(home)
    )
    assert code == 0, err
    rows = json.loads(out)
    # Mine production 2024 of the published world total, 240,000 t: COD 220,000 / 240,000 =
    # 11/12, IDN 20,000 / 240,000 = 1/12.
    assert [r["country"] for r in rows] == ["COD", "IDN"]
    assert rows[0]["share"] == pytest.approx(11 / 12)
    assert rows[1]["share"] == pytest.approx(1 / 12)
    assert rows[1]["quantity"] == 20_000


def test_fetch_2026_takes_the_direct_file_and_the_environment_url(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve_2026(httpserver)
    monkeypatch.setenv("CHOKEPOINTS_USGS_URL", httpserver.url_for("/"))

    code, _, err = run(capsys, "data", "fetch", "usgs", "--edition", "2026", "--home", str(home))

    assert code == 0, err
    assert (home / "downloads" / CSV_2026).read_bytes() == LONG_CSV
    frame = Workspace.open(home).production("cobalt", year=2025)
    # 2025 of the published world total, 260,000 t: COD 195,000 (an estimate) / 260,000 = 0.75,
    # IDN 45,000 / 260,000 = 9/52. HHI = 0.75^2 + (9/52)^2 = 0.5625 + 81/2704.
    assert list(frame["country"]) == ["COD", "IDN"]
    assert list(frame["share"]) == pytest.approx([0.75, 9 / 52])
    provenance = frame.attrs["provenance"]
    assert provenance["releases"] == ["MCS2026"]
    assert provenance["method"]["hhi"] == pytest.approx(0.5625 + 81 / 2704, abs=1e-6)


@pytest.mark.parametrize("edition", ["2025", "2026"])
def test_second_fetch_downloads_nothing(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, home: Path, edition: str
) -> None:
    if edition == "2025":
        serve_2025(httpserver)
    else:
        serve_2026(httpserver)
    assert fetch(capsys, httpserver, home, edition)[0] == 0
    requests = len(httpserver.log)
    assert requests == (2 if edition == "2025" else 1)  # item JSON and zip, or the CSV

    code, out, err = fetch(capsys, httpserver, home, edition)

    assert code == 0, err
    assert f"Ingested usgs MCS{edition}" in out
    assert len(httpserver.log) == requests


@pytest.mark.parametrize("edition", ["2025", "2026"])
def test_interrupted_download_resumes_with_a_range_request(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    edition: str,
    fast_single_try: None,
) -> None:
    payload, name = (ZIP, ZIP_2025) if edition == "2025" else (LONG_CSV, CSV_2026)
    half = len(payload) // 2
    cut = {"body": True}

    def cut_once(request: Request) -> Response:
        if cut["body"]:
            cut["body"] = False
            return truncated_response(payload[:half], len(payload))
        return range_handler(payload)(request)

    if edition == "2025":
        serve_item(httpserver)
        httpserver.expect_request(ZIP_PATH, query_string=ZIP_QUERY).respond_with_handler(cut_once)
    else:
        httpserver.expect_request(f"/catalog/file/get/{ITEM_2026}").respond_with_handler(cut_once)
    before = store_files(home)

    code, _, err = fetch(capsys, httpserver, home, edition)

    assert_one_sentence_error(code, err)
    assert f"{half} bytes of {len(payload)} arrived" in err and "resumes" in err
    part = home / "downloads" / f"{name}.part"
    assert part.read_bytes() == payload[:half]
    assert store_files(home) == before

    code, out, err = fetch(capsys, httpserver, home, edition)

    assert code == 0, err
    assert httpserver.log[-1][0].headers.get("Range") == f"bytes={half}-"
    assert httpserver.log[-1][1].status_code == 206
    assert (home / "downloads" / name).read_bytes() == payload
    assert not part.exists()
    assert f"Ingested usgs MCS{edition}" in out


@pytest.fixture
def loaded(home: Path, tmp_path: Path) -> Path:
    """A store already holding the 2025 production, which a failed fetch must leave as it is."""
    (tmp_path / CSV_2025).write_bytes(WIDE_CSV)
    Workspace.open(home).ingest_usgs(tmp_path / CSV_2025)
    return home


def page(_request: Request) -> Response:
    """A maintenance page answered with HTTP 200, as a portal does."""
    return Response(
        "<!DOCTYPE html><html><body>ScienceBase is down for maintenance</body></html>",
        status=200,
        content_type="text/html",
    )


@pytest.mark.parametrize(
    ("edition", "path", "query"),
    [
        ("2025", f"/catalog/item/{ITEM_2025}", "format=json"),
        ("2025", ZIP_PATH, ZIP_QUERY),
        ("2026", f"/catalog/file/get/{ITEM_2026}", f"name={CSV_2026}"),
    ],
    ids=["item-json", "listed-zip", "direct-csv"],
)
@pytest.mark.parametrize("answer", ["404", "web-page"])
def test_missing_file_or_web_page_is_one_sentence_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    loaded: Path,
    edition: str,
    path: str,
    query: str,
    answer: str,
) -> None:
    if path == ZIP_PATH:
        serve_item(httpserver)
    handler = httpserver.expect_request(path, query_string=query)
    if answer == "404":
        handler.respond_with_data("Not Found", status=404)
    else:
        handler.respond_with_handler(page)
    before = snapshot(loaded)

    code, _, err = fetch(capsys, httpserver, loaded, edition)

    assert_one_sentence_error(code, err)
    url = f"{httpserver.url_for(path)}?{query}"
    assert url in err
    if answer == "404":
        assert "was not found (HTTP 404)" in err
    else:
        assert "returned a web page, not the file" in err
    assert "--base-url" in err and "CHOKEPOINTS_USGS_URL" in err  # what to check
    assert "revision" not in err  # not the BACI advice of the downloader
    assert snapshot(loaded) == before


def test_item_without_the_file_names_what_it_lists(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, loaded: Path
) -> None:
    serve_item(httpserver, listed="World_Data_Release_MCS_2025_v2.zip")
    before = snapshot(loaded)

    code, _, err = fetch(capsys, httpserver, loaded, "2025")

    assert_one_sentence_error(code, err)
    assert f"lists no file {ZIP_2025}" in err
    assert "MCS2025_World_Data.xml, World_Data_Release_MCS_2025_v2.zip" in err
    assert "chokepoints data ingest usgs FILE" in err
    assert len(httpserver.log) == 1  # the zip was not asked for
    assert snapshot(loaded) == before


def test_item_address_that_is_not_json_says_so(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, loaded: Path
) -> None:
    httpserver.expect_request(f"/catalog/item/{ITEM_2025}").respond_with_data(
        "item not available", content_type="text/plain"
    )
    before = snapshot(loaded)

    code, _, err = fetch(capsys, httpserver, loaded, "2025")

    assert_one_sentence_error(code, err)
    assert "is not a ScienceBase item (no JSON with a files list)" in err
    assert "--base-url" in err
    assert snapshot(loaded) == before


def test_unknown_edition_lists_the_known_ones(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, loaded: Path
) -> None:
    before = snapshot(loaded)

    code, _, err = fetch(capsys, httpserver, loaded, "2024")

    assert_one_sentence_error(code, err)
    assert "unknown edition 2024" in err and "use one of 2025, 2026" in err
    assert httpserver.log == []
    assert snapshot(loaded) == before


def test_unusable_file_in_downloads_is_set_aside_and_fetched_again(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, home: Path
) -> None:
    """A page saved under the CSV's name by hand (or an older version) is not ingested."""
    downloads = home / "downloads"
    downloads.mkdir()
    (downloads / CSV_2026).write_bytes(b"<html>moved</html>")
    serve_2026(httpserver)

    code, _, err = fetch(capsys, httpserver, home, "2026")

    assert code == 0, err
    assert (downloads / CSV_2026).read_bytes() == LONG_CSV
    assert (downloads / f"{CSV_2026}.bad").read_bytes() == b"<html>moved</html>"
    assert len(httpserver.log) == 1


def test_usgs_base_url_follows_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHOKEPOINTS_USGS_URL", raising=False)
    assert usgs_base_url() == DEFAULT_USGS_BASE_URL == "https://www.sciencebase.gov"
    monkeypatch.setenv("CHOKEPOINTS_USGS_URL", "http://mirror.example/sb")
    assert usgs_base_url() == "http://mirror.example/sb"
