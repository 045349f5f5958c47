"""``data fetch comtrade`` against a local Comtrade API replaying real data.

The API's answers are built from the real Thailand export (THA imports of HS 8542, 2014-2024,
1178 rows; PROVENANCE.md) with the fields, order and JSON types of the real API response
HS-60a6ad.json; the server filters them by the query and cuts them at ``maxRecords`` as the
preview endpoint cuts at 500. Expected values are summed here from those records with the json
and csv modules, never by the code under test.
"""

from __future__ import annotations

import csv
import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from chokepoints.sources import http
from chokepoints.workspace import Workspace
from helpers import SMALL_ROWS, assert_one_sentence_error, run, snapshot, write_baci
from test_http import truncated_response

SAMPLE = "comtrade/HS-60a6ad.json"
THA = "comtrade/THA_M_8542_2014-2024_methakanb/TradeData.csv"
PREVIEW = "/public/v1/preview/C/A/HS"
DATA = "/data/v1/get/C/A/HS"
#: THA rows per year in the export (counted with pandas when the test was written; the
#: ``records`` fixture checks them): 2014-2018 hold 548, 2019-2024 630, all 1178.
ROWS_PER_YEAR = {
    2014: 115, 2015: 96, 2016: 108, 2017: 111, 2018: 118, 2019: 107,
    2020: 103, 2021: 106, 2022: 111, 2023: 97, 2024: 106,
}  # fmt: skip
#: The calls of THA M 8542,2805 2014-2024 on the preview endpoint, in order, by their period.
#: 11 years give 1178 records, over the cap of 500: halves 2014-2018 (548) and 2019-2024 (630)
#: are still over it, their halves 2014-2015 (211), 2016-2018 (337), 2019-2021 (316) and
#: 2022-2024 (314) are not. 7 calls, 4 of them kept.
PREVIEW_CALLS = [
    "2014,2015,2016,2017,2018,2019,2020,2021,2022,2023,2024",
    "2014,2015,2016,2017,2018",
    "2014,2015",
    "2016,2017,2018",
    "2019,2020,2021,2022,2023,2024",
    "2019,2020,2021",
    "2022,2023,2024",
]
#: Partners of the export that are not countries: World (0, W00) and "Areas, nes" (899, _X).
#: The other "nes" partner, 490 "Other Asia, nes", is Taiwan and stays.
NOT_COUNTRIES = {0, 899}
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service unavailable</title></head>"
    b"<body><h1>The service is under maintenance</h1></body></html>"
)


def typed(text: str, example: Any) -> Any:
    """A CSV cell as the API's JSON writes the field, judged by the real response's value."""
    if isinstance(example, bool):
        return text == "true"
    if isinstance(example, int):
        return int(text) if text else None
    if isinstance(example, str):
        return text
    return float(text) if text else None  # numbers, null in the sample when not reported


@pytest.fixture(scope="module")
def records(shared_data: Path) -> list[dict[str, Any]]:
    """The THA export's rows as API records: the sample response's fields, order and types."""
    sample = json.loads((shared_data / SAMPLE).read_bytes())["data"][0]
    with (shared_data / THA).open(encoding="latin-1", newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        rows = [dict(zip(header, row[: len(header)], strict=True)) for row in reader]
    assert set(header) == set(sample)
    built = [{name: typed(row[name], example) for name, example in sample.items()} for row in rows]
    years = {year: sum(r["refYear"] == year for r in built) for year in ROWS_PER_YEAR}
    assert years == ROWS_PER_YEAR
    return built


class ComtradeApi:
    """A local Comtrade final-data endpoint over ``records``: filtered by the query's reporter,
    flow, period, codes and totals, cut at ``maxRecords``."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def __call__(self, request: Request) -> Response:
        query = request.args
        years, codes = query["period"].split(","), query["cmdCode"].split(",")
        chosen = [
            r
            for r in self.records
            if str(r["reporterCode"]) == query["reporterCode"]
            and r["flowCode"] == query["flowCode"]
            and r["period"] in years
            and r["cmdCode"] in codes
            and str(r["partner2Code"]) == query["partner2Code"]
            and r["customsCode"] == query["customsCode"]
            and str(r["motCode"]) == query["motCode"]
        ]
        data = chosen[: int(query["maxRecords"])]
        body = {"elapsedTime": "0.02 secs", "count": len(data), "data": data, "error": ""}
        return Response(json.dumps(body), content_type="application/json")


def fetch(
    capsys: pytest.CaptureFixture[str],
    server: HTTPServer,
    home: Path,
    *,
    years: str = "2014-2024",
    hs: str = "8542,2805",
    extra: tuple[str, ...] = (),
) -> tuple[int, str, str]:
    """``chokepoints data fetch comtrade --reporter THA --flow M ...`` from the local server."""
    return run(
        capsys,
        *("data", "fetch", "comtrade", "--reporter", "THA", "--flow", "M", "--hs", hs),
        *("--years", years, "--base-url", server.url_for("/"), "--home", str(home), *extra),
    )


def store_files(home: Path) -> dict[str, str]:
    """The store proper: the home's files without the fetch's work area and downloads."""
    return {
        k: v for k, v in snapshot(home).items() if not k.startswith(("downloads/", ".staging/"))
    }


def periods(server: HTTPServer) -> list[str]:
    """The period of every call the server received, in order."""
    return [request.args["period"] for request, _ in server.log]


def expected(records: list[dict[str, Any]], years: range) -> tuple[int, float]:
    """(flows, value) the store should hold: the records of country partners in ``years``."""
    kept = [r for r in records if r["partnerCode"] not in NOT_COUNTRIES and r["refYear"] in years]
    return len(kept), sum(r["primaryValue"] for r in kept)


def totals(home: Path) -> tuple[int, float]:
    """(flows, value) of the Comtrade trade the store holds."""
    query = "SELECT count(*) AS n, sum(value_usd) AS v FROM trade WHERE source = 'comtrade'"
    frame = Workspace.open(home).sql(query)
    return int(frame["n"].iloc[0]), float(frame["v"].iloc[0])


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgets its base URL meets a closed local port, and no key is set."""
    monkeypatch.setenv("CHOKEPOINTS_COMTRADE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("CHOKEPOINTS_COMTRADE_KEY", raising=False)


@pytest.fixture
def loaded(home: Path, shared_data: Path) -> Path:
    """A store already holding data (the THA export ingested as a CSV), to check it stays."""
    Workspace.open(home).ingest_comtrade(shared_data / THA, release="csv")
    return home


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits of the downloader (main thread), still waited for real."""
    waited: list[float] = []
    real: Callable[[float], None] = time.sleep

    def sleep(seconds: float) -> None:
        if threading.current_thread() is threading.main_thread():
            waited.append(seconds)
        real(seconds)

    monkeypatch.setattr(http.time, "sleep", sleep)
    return waited


def test_preview_calls_are_split_at_the_cap_and_all_records_ingested(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    records: list[dict[str, Any]],
) -> None:
    httpserver.expect_request(PREVIEW).respond_with_handler(ComtradeApi(records))

    code, out, err = fetch(capsys, httpserver, home)

    assert code == 0, err
    assert periods(httpserver) == PREVIEW_CALLS
    first = httpserver.log[0][0].args
    assert first["reporterCode"] == "764" and first["cmdCode"] == "8542,2805"
    assert first["maxRecords"] == "500" and "subscription-key" not in first
    assert totals(home) == pytest.approx(expected(records, range(2014, 2025)), rel=1e-12)
    said = " ".join(out.split())  # the terminal wraps long notes
    assert "fetched 1178 records of THA M 8542,2805 2014-2024" in said
    assert "in 7 call(s); 3 call(s) returned the cap of 500 records and were split" in said
    assert not (home / ".staging").exists()
    assert not any((home / "downloads" / ".fetch").glob("*")), "committed: the calls go"


def test_fetch_gives_the_rows_of_the_csv_ingest_of_the_same_export(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    tmp_path: Path,
    records: list[dict[str, Any]],
    shared_data: Path,
) -> None:
    httpserver.expect_request(PREVIEW).respond_with_handler(ComtradeApi(records))
    assert fetch(capsys, httpserver, home)[0] == 0
    ingested = Workspace.open(tmp_path / "csv")
    ingested.ingest_comtrade(shared_data / THA)
    query = (
        "SELECT year, exporter, importer, product, classification, value_usd, quantity_t, "
        "reporter_side FROM trade ORDER BY ALL"
    )

    fetched = Workspace.open(home).sql(query)

    assert len(fetched) == expected(records, range(2014, 2025))[0]
    assert fetched.equals(ingested.sql(query))
    assert "TWN" in set(fetched["exporter"])  # 490 "Other Asia, nes"


def test_data_endpoint_takes_the_key_from_the_environment_and_keeps_it_secret(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    records: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHOKEPOINTS_COMTRADE_KEY", "s3cr3t-key")
    httpserver.expect_request(DATA).respond_with_handler(ComtradeApi(records))

    code, out, err = fetch(capsys, httpserver, home)

    assert code == 0, err
    assert len(httpserver.log) == 1  # 11 years, 1178 records: one call under 100,000
    query = httpserver.log[0][0].args
    assert query["subscription-key"] == "s3cr3t-key" and query["maxRecords"] == "100000"
    assert totals(home) == pytest.approx(expected(records, range(2014, 2025)), rel=1e-12)
    assert "s3cr3t-key" not in out + err
    assert not [p for p in home.rglob("*") if p.is_file() and b"s3cr3t-key" in p.read_bytes()]


def test_429_with_retry_after_is_waited_for_then_the_call_succeeds(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    records: list[dict[str, Any]],
    sleeps: list[float],
) -> None:
    httpserver.expect_oneshot_request(PREVIEW).respond_with_data(
        "Rate limit is exceeded. Try again in 3 seconds.", status=429, headers={"Retry-After": "3"}
    )
    httpserver.expect_request(PREVIEW).respond_with_handler(ComtradeApi(records))

    code, _, err = fetch(capsys, httpserver, home, years="2014")

    assert code == 0, err
    assert [response.status_code for _, response in httpserver.log] == [429, 200]
    assert sleeps == [3.0]  # the server's 3 s, longer than the first backoff of 2 s
    assert totals(home) == pytest.approx(expected(records, range(2014, 2015)), rel=1e-12)


def test_answer_cut_in_transit_is_asked_again(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    records: list[dict[str, Any]],
) -> None:
    api = ComtradeApi(records)

    def cut(request: Request) -> Response:
        whole = api(request).get_data()
        return truncated_response(whole[: len(whole) // 2], len(whole))

    httpserver.expect_oneshot_request(PREVIEW).respond_with_handler(cut)
    httpserver.expect_request(PREVIEW).respond_with_handler(api)

    code, _, err = fetch(capsys, httpserver, home, years="2014")

    assert code == 0, err
    assert len(httpserver.log) == 2
    assert totals(home) == pytest.approx(expected(records, range(2014, 2015)), rel=1e-12)


def test_complete_answer_of_cut_json_stops_in_one_sentence(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    loaded: Path,
    records: list[dict[str, Any]],
) -> None:
    api = ComtradeApi(records)
    httpserver.expect_request(PREVIEW).respond_with_handler(
        lambda request: Response(api(request).get_data()[:5000], content_type="application/json")
    )
    before = store_files(loaded)

    code, _, err = fetch(capsys, httpserver, loaded, years="2014")

    assert_one_sentence_error(code, err)
    assert "is not usable (the answer is not complete JSON" in err
    assert "so it was cut in transit" in err
    assert store_files(loaded) == before


def test_html_page_with_status_200_stops_in_one_sentence(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, loaded: Path
) -> None:
    httpserver.expect_request(PREVIEW).respond_with_data(
        HTML_PAGE, status=200, content_type="text/html"
    )
    before = store_files(loaded)

    code, _, err = fetch(capsys, httpserver, loaded)

    assert_one_sentence_error(code, err)
    assert "the server returned a web page, not the file" in err
    assert "HTTP 200, text/html" in err
    assert "--base-url or CHOKEPOINTS_COMTRADE_URL" in err
    assert len(httpserver.log) == 1  # not retried
    assert store_files(loaded) == before


def test_one_year_and_code_filling_the_cap_stops_rather_than_truncates(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    loaded: Path,
    records: list[dict[str, Any]],
) -> None:
    full = [dict(records[0], partnerCode=n) for n in range(500)]  # exactly the cap, any query
    body = json.dumps({"elapsedTime": "1 secs", "count": 500, "data": full, "error": ""})
    httpserver.expect_request(PREVIEW).respond_with_data(body, content_type="application/json")
    before = store_files(loaded)

    code, _, err = fetch(capsys, httpserver, loaded, years="2014-2015", hs="8542")

    assert_one_sentence_error(code, err)
    assert periods(httpserver) == ["2014,2015", "2014"]  # split by year, then no further
    assert "returned 500 records, its cap of 500 a call, for THA M 2014 8542 alone" in err
    assert "nothing was ingested" in err and "CHOKEPOINTS_COMTRADE_KEY or --key" in err
    assert store_files(loaded) == before


def test_capped_call_is_split_by_code_once_it_covers_one_year(
    httpserver: HTTPServer, home: Path, records: list[dict[str, Any]]
) -> None:
    api = ComtradeApi(records)

    def capped_when_two_codes(request: Request) -> Response:
        if "," in request.args["cmdCode"]:
            data = [dict(records[0], partnerCode=n) for n in range(500)]
            body = {"elapsedTime": "1 secs", "count": 500, "data": data, "error": ""}
            return Response(json.dumps(body), content_type="application/json")
        return api(request)

    httpserver.expect_request(PREVIEW).respond_with_handler(capped_when_two_codes)

    Workspace.open(home).fetch_comtrade(
        "THA", ["8542", "2805"], [2014], base_url=httpserver.url_for("/")
    )

    asked = [(r.args["period"], r.args["cmdCode"]) for r, _ in httpserver.log]
    assert asked == [("2014", "8542,2805"), ("2014", "8542"), ("2014", "2805")]
    assert totals(home) == pytest.approx(expected(records, range(2014, 2015)), rel=1e-12)


def test_interrupted_fetch_continues_with_the_unfinished_calls_only(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    loaded: Path,
    records: list[dict[str, Any]],
) -> None:
    api = ComtradeApi(records)
    answered: list[str] = []

    def busy_after_three(request: Request) -> Response:
        if len(answered) == 3:
            return Response("maintenance", status=503, headers={"Retry-After": "3600"})
        answered.append(request.args["period"])
        return api(request)

    httpserver.expect_request(PREVIEW).respond_with_handler(busy_after_three)
    before = store_files(loaded)

    code, _, err = fetch(capsys, httpserver, loaded)

    assert_one_sentence_error(code, err)
    assert "HTTP 503 and asked to wait 3600 s" in err
    assert "the 3 call(s) answered before are kept in" in err
    assert "the same command continues from there" in err
    assert store_files(loaded) == before
    assert answered == PREVIEW_CALLS[:3]

    # Another ingest into the same home meanwhile leaves the fetch's calls alone.
    Workspace.open(loaded).ingest_baci(write_baci(loaded.parent / "baci", SMALL_ROWS))
    httpserver.clear()
    httpserver.expect_request(PREVIEW).respond_with_handler(api)
    code, out, err = fetch(capsys, httpserver, loaded)

    assert code == 0, err
    assert periods(httpserver) == PREVIEW_CALLS[3:]
    assert "in 7 call(s), 3 of them answered in an earlier run" in " ".join(out.split())
    assert totals(loaded) == pytest.approx(expected(records, range(2014, 2025)), rel=1e-12)
    assert not (loaded / ".staging").exists()


def test_real_china_answer_of_world_totals_is_refused_in_one_sentence(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, loaded: Path, shared_data: Path
) -> None:
    """HS-60a6ad.json verbatim: China's 2010 TOTAL trade with ARG and DEU, no product rows."""
    httpserver.expect_request(PREVIEW).respond_with_data(
        (shared_data / SAMPLE).read_bytes(), content_type="application/json"
    )
    before = store_files(loaded)

    code, _, err = fetch(capsys, httpserver, loaded, years="2010")

    assert_one_sentence_error(code, err)
    assert "no import (M) or export (X) flow with a partner country among 4 rows" in err
    assert "total of all products: 4" in err
    assert store_files(loaded) == before


def test_no_record_at_all_says_what_was_asked(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, home: Path
) -> None:
    httpserver.expect_request(PREVIEW).respond_with_json(
        {"elapsedTime": "0.01 secs", "count": 0, "data": [], "error": ""}
    )

    code, _, err = fetch(capsys, httpserver, home, hs="2805")

    assert_one_sentence_error(code, err)
    assert "Comtrade has no preview data for THA M 2805 2014-2024" in err
    assert not (home / "manifest.json").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--hs", "854", "hs '854' is not an HS code"),
        ("--reporter", "XXX", "unknown reporter 'XXX'"),
        ("--flow", "RX", "flow RX: chokepoints keeps imports (M) and exports (X)"),
    ],
)
def test_bad_request_is_refused_before_any_call(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    option: str,
    value: str,
    message: str,
) -> None:
    arguments = {"--reporter": "THA", "--flow": "M", "--hs": "8542", option: value}
    code, _, err = run(
        capsys,
        *("data", "fetch", "comtrade", *[x for pair in arguments.items() for x in pair]),
        *("--years", "2014", "--base-url", httpserver.url_for("/"), "--home", str(home)),
    )

    assert_one_sentence_error(code, err)
    assert message in err
    assert httpserver.log == []


def test_refused_key_says_why_without_showing_the_key(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, loaded: Path
) -> None:
    refusal = {"statusCode": 401, "message": "Access denied due to invalid subscription key."}
    httpserver.expect_request(DATA).respond_with_json(refusal, status=401)
    before = store_files(loaded)

    code, _, err = fetch(capsys, httpserver, loaded, extra=("--key", "wrong-key"))

    assert_one_sentence_error(code, err)
    assert "answered HTTP 401" in err
    assert "Access denied due to invalid subscription key." in err
    assert "the subscription key (--key or CHOKEPOINTS_COMTRADE_KEY)" in err
    assert "wrong-key" not in err
    assert len(httpserver.log) == 1  # not retried
    assert store_files(loaded) == before


def test_work_area_cleared_during_the_fetch_is_said_and_refetched_next_time(
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    home: Path,
    records: list[dict[str, Any]],
) -> None:
    """The work area removed while the fourth call runs (the same fetch, run at the same
    time, finished and removed it)."""
    api = ComtradeApi(records)

    def clear_before_the_fourth(request: Request) -> Response:
        if len(httpserver.log) == 3:
            shutil.rmtree(home / "downloads" / ".fetch")
        return api(request)

    httpserver.expect_request(PREVIEW).respond_with_handler(clear_before_the_fourth)

    code, _, err = fetch(capsys, httpserver, home)

    assert_one_sentence_error(code, err)
    assert "could not write to" in err and "(No such file or directory)" in err
    assert "if the same fetch finished meanwhile" in err
    assert not (home / "manifest.json").exists()

    httpserver.clear()
    httpserver.expect_request(PREVIEW).respond_with_handler(api)
    code, _, err = fetch(capsys, httpserver, home)

    assert code == 0, err
    assert periods(httpserver) == PREVIEW_CALLS  # the manifest went too: all over again
    assert totals(home) == pytest.approx(expected(records, range(2014, 2025)), rel=1e-12)
