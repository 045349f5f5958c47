"""The command line as a user runs it: exit codes, output formats, one-sentence errors."""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from chokepoints import __version__
from chokepoints.sources import http
from helpers import SMALL_ROWS, assert_one_sentence_error, run, snapshot, write_baci
from kept import answers_kept


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"chokepoints {__version__}"


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("quickstart", "data", "sql"):
        assert command in out
    code, out, _ = run(capsys, "data", "ingest", "--help")
    assert code == 0 and "baci" in out and "comtrade" in out and "table" in out


def test_quickstart_loads_demo_and_shows_dependencies(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    # The second run is about the store it finds filled: the answers of its questions, the
    # same store's, are kept from the first (kept.answers_kept) rather than computed again.
    with answers_kept():
        code, out, _ = run(capsys, "quickstart", "--home", str(home))
        assert code == 0
        assert "demo data (synthetic)" in out
        assert "JPN" in out and "DEU" in out and "850511" in out
        report = home / "reports" / "JPN_vs_DEU.html"
        assert f"{report}" in out.replace("\n", "")
        assert report.stat().st_size > 1_000_000  # Plotly's JavaScript is inlined
        assert "Cooperation with Germany (DEU)" in report.read_text(encoding="utf-8")
        # A second run finds the store filled and does not ingest again.
        code, out, _ = run(capsys, "quickstart", "--home", str(home))
        assert code == 0 and "loading the synthetic demo world" not in out


def test_demo_info_and_sql_formats(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    assert run(capsys, "data", "demo", "--home", str(home))[0] == 0
    code, out, _ = run(capsys, "data", "info", "--json", "--home", str(home))
    info = json.loads(out)
    assert code == 0 and info["demo"] is True
    assert [y["year"] for y in info["sources"][0]["years"]] == [2020, 2021, 2022]
    code, out, err = run(
        capsys, "sql", "SELECT count(*) AS n FROM trade", "--format", "json", "--home", str(home)
    )
    assert code == 0 and json.loads(out) == [{"n": info["rows"]}]
    assert "demo data (synthetic)" in err
    code, out, _ = run(
        capsys, "sql", "SELECT 'JPN' AS iso3, 1.5 AS x", "--format", "csv", "--home", str(home)
    )
    assert out.splitlines() == ["iso3,x", "JPN,1.5"]


def test_empty_store_info(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    code, out, _ = run(capsys, "data", "info", "--home", str(home))
    assert code == 0 and "empty" in out


def test_bad_file_gives_one_sentence(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    path = write_baci(tmp_path, [*SMALL_ROWS, "2021,156,392,850760,abc,1"])
    code, _, err = run(capsys, "data", "ingest", "baci", str(path), "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "line 7" in err and "field v" in err


def test_missing_file_and_bad_option(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    code, _, err = run(capsys, "data", "ingest", "baci", "/nonexistent.csv", "--home", str(home))
    assert_one_sentence_error(code, err)
    code, _, err = run(
        capsys, "data", "ingest", "baci", "/x.csv", "--years", "20x1", "--home", str(home)
    )
    assert_one_sentence_error(code, err)


def test_sql_error(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    code, _, err = run(capsys, "sql", "SELECT nope FROM trade", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "nope" in err


def test_table_and_comtrade_from_cli(
    capsys: pytest.CaptureFixture[str], home: Path, shared_data: Path
) -> None:
    code, out, _ = run(
        capsys,
        "data",
        "ingest",
        "table",
        str(shared_data / "baci/V202601_critical_materials_atlas/baci_2022.csv"),
        "--map",
        "exporter=i,importer=j,product=cmd,value_usd=value",
        "--year",
        "2022",
        "--classification",
        "HS17",
        "--source",
        "atlas",
        "--home",
        str(home),
    )
    assert code == 0 and "23,167 flows" in out
    code, out, _ = run(
        capsys,
        "data",
        "ingest",
        "comtrade",
        str(shared_data / "comtrade/THA_M_8542_2014-2024_methakanb/TradeData.csv"),
        "--home",
        str(home),
    )
    assert code == 0 and "comtrade" in out
    info = json.loads(run(capsys, "data", "info", "--json", "--home", str(home))[1])
    assert {s["source"] for s in info["sources"]} == {"atlas", "comtrade"}
    comtrade = [s for s in info["sources"] if s["source"] == "comtrade"]
    assert {s["classification"] for s in comtrade} == {"HS12", "HS17", "HS22"}
    assert all(y["reporters"] == 1 for s in comtrade for y in s["years"])


# -- download ---------------------------------------------------------------------------------
@functools.cache
def baci_zip() -> bytes:
    """A small official-layout BACI archive with two years (fixed timestamps: same bytes)."""
    members = {
        "BACI_HS22_Y2022_V202501.csv": "t,i,j,k,v,q\n"
        + "\n".join(r.replace("2021,", "2022,", 1) for r in SMALL_ROWS)
        + "\n",
        "BACI_HS22_Y2023_V202501.csv": "t,i,j,k,v,q\n"
        + "\n".join(r.replace("2021,", "2023,", 1) for r in SMALL_ROWS[:2])
        + "\n",
        "country_codes_V202501.csv": "country_code,country_name,country_iso2,country_iso3\n"
        "392,Japan,JP,JPN\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in members.items():
            bundle.writestr(zipfile.ZipInfo(name, date_time=(2025, 1, 30, 0, 0, 0)), text)
    return buffer.getvalue()


def fetch(
    capsys: pytest.CaptureFixture[str], home: Path, httpserver: HTTPServer
) -> tuple[int, str, str]:
    """``chokepoints data fetch baci`` of HS22 V202501 from the local server."""
    return run(
        capsys,
        "data",
        "fetch",
        "baci",
        "--revision",
        "HS22",
        "--release",
        "202501",
        "--base-url",
        httpserver.url_for("/"),
        "--home",
        str(home),
    )


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """No waiting between download retries."""
    monkeypatch.setattr(http, "download", functools.partial(http.download, backoff=0.0))


def test_fetch_baci_downloads_then_ingests_years(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    httpserver.expect_request("/baci/BACI_HS22_V202501.zip").respond_with_data(baci_zip())
    monkeypatch.setenv("CHOKEPOINTS_BACI_URL", httpserver.url_for("/baci"))
    code, out, _ = run(
        capsys,
        "data",
        "fetch",
        "baci",
        "--revision",
        "HS22",
        "--release",
        "V202501",
        "--years",
        "2023",
        "--home",
        str(home),
    )
    assert code == 0, out
    info = json.loads(run(capsys, "data", "info", "--json", "--home", str(home))[1])
    assert [y["year"] for y in info["sources"][0]["years"]] == [2023]
    assert info["rows"] == 2
    assert (home / "downloads" / "BACI_HS22_V202501.zip").read_bytes() == baci_zip()


def test_fetch_truncated_then_resumed(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    fast_retries: None,
) -> None:
    payload = baci_zip()
    half = len(payload) // 2

    def truncated(_request: object) -> Response:
        response = Response(payload[:half], status=200)
        response.headers["Content-Length"] = str(len(payload))
        return response

    httpserver.expect_request("/BACI_HS22_V202501.zip").respond_with_handler(truncated)
    before = snapshot(home)
    code, _, err = fetch(capsys, home, httpserver)
    assert_one_sentence_error(code, err)
    assert "re-running resumes" in err or "resume" in err
    assert json.loads(run(capsys, "data", "info", "--json", "--home", str(home))[1])["rows"] == 0
    assert {k: v for k, v in snapshot(home).items() if not k.startswith("downloads/")} == before

    # The server now honours Range: the next run fetches only the rest, then ingests.
    httpserver.clear()
    ranges: list[str | None] = []

    def ranged(request: object) -> Response:
        header = request.headers.get("Range")  # type: ignore[attr-defined]
        ranges.append(header)
        start = int(header.removeprefix("bytes=").removesuffix("-")) if header else 0
        return Response(
            payload[start:],
            status=206 if header else 200,
            headers={"Content-Range": f"bytes {start}-{len(payload) - 1}/{len(payload)}"},
        )

    httpserver.expect_request("/BACI_HS22_V202501.zip").respond_with_handler(ranged)
    code, _, err = fetch(capsys, home, httpserver)
    assert code == 0, err
    assert ranges and ranges[0] is not None and ranges[0].startswith("bytes=")
    assert json.loads(run(capsys, "data", "info", "--json", "--home", str(home))[1])["rows"] == 7


def test_fetch_server_error(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    httpserver: HTTPServer,
    fast_retries: None,
) -> None:
    httpserver.expect_request("/BACI_HS22_V202501.zip").respond_with_data("down", status=503)
    code, _, err = fetch(capsys, home, httpserver)
    assert_one_sentence_error(code, err)
    assert "503" in err


def test_groups_with_user_file(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    (home / "groups.toml").write_text(
        '[groups.chips]\ndescription = "Chip alliance"\nmembers = ["USA", "JPN", "S19"]\n'
    )
    code, out, _ = run(capsys, "groups", "--format", "json", "--home", str(home))
    groups = {g["group"]: g["members"] for g in json.loads(out)}
    assert code == 0
    assert groups["chips"] == ["JPN", "TWN", "USA"]
    assert groups["G7"] == ["CAN", "DEU", "FRA", "GBR", "ITA", "JPN", "USA"]
    (home / "groups.toml").write_text('[groups.bad]\nmembers = ["USA", "ZZZ"]\n')
    code, _, err = run(capsys, "groups", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "ZZZ" in err and "groups.toml" in err
