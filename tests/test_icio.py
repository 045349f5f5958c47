"""OECD ICIO source: mock tables in the OECD layout, read by pymrio, served by a local server."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from chokepoints.analysis.input_output import hypothetical_extraction
from chokepoints.errors import DownloadError, InputError
from chokepoints.sources import icio

COUNTRIES = ("CHN", "DEU", "USA")
SECTORS = ("B06", "C26")
FINAL_DEMAND = ("HFCE", "GFCF")


def mock_table(year: int = 2022) -> pd.DataFrame:
    """A balanced 3-country x 2-sector ICIO table in the OECD layout (million USD)."""
    rng = np.random.default_rng(year)
    labels = [f"{c}_{s}" for c in COUNTRIES for s in SECTORS]
    fd_labels = [f"{c}_{f}" for c in COUNTRIES for f in FINAL_DEMAND]
    z = rng.uniform(1.0, 20.0, (6, 6)).round(1)
    y = rng.uniform(10.0, 50.0, (6, 6)).round(1)
    out = z.sum(axis=1) + y.sum(axis=1)
    tls = (0.05 * out).round(1)
    va = out - z.sum(axis=0) - tls
    table = pd.DataFrame(np.hstack([z, y]), index=labels, columns=labels + fd_labels)
    table.loc["TLS"] = list(tls) + [0.0] * 6
    table.loc["VA"] = list(va) + [0.0] * 6
    table.loc["OUT"] = list(out) + [0.0] * 6
    table["OUT"] = [*out, 0.0, 0.0, 0.0]
    return table


def write_table(folder: Path, year: int = 2022) -> Path:
    """Write the mock table as ``{year}_SML.csv``, the row labels in the first column."""
    path = folder / f"{year}_SML.csv"
    mock_table(year).to_csv(path)
    return path


def zipped(members: dict[str, str]) -> bytes:
    """A zip archive in memory with the given text members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, text in members.items():
            bundle.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries of the downloader without sleeping."""
    monkeypatch.setattr("chokepoints.sources.http.time.sleep", lambda _seconds: None)


def test_read_icio_parses_mock_table(tmp_path: Path) -> None:
    system = icio.read_icio(write_table(tmp_path))
    table = mock_table()
    assert system.Z.shape == (6, 6)
    assert list(system.get_regions()) == list(COUNTRIES)
    assert list(system.get_sectors()) == list(SECTORS)
    assert system.Z.loc[("DEU", "C26"), ("USA", "B06")] == table.loc["DEU_C26", "USA_B06"]
    assert system.Y.loc[("CHN", "B06"), ("USA", "GFCF")] == table.loc["CHN_B06", "USA_GFCF"]
    va = system.factor_inputs.F.loc["VA"]
    assert va[("USA", "C26")] == pytest.approx(table.loc["VA", "USA_C26"])
    system.calc_all()
    np.testing.assert_allclose(system.x["indout"], table.loc[table.index[:6], "OUT"])
    loss = hypothetical_extraction(system.A, system.Y, "CHN")
    assert (loss["loss"] > 0).all()


def test_read_icio_finds_year_in_folder(tmp_path: Path) -> None:
    write_table(tmp_path, 2021)
    write_table(tmp_path, 2022)
    system = icio.read_icio(tmp_path, 2021)
    assert system.Z.iloc[0, 0] == mock_table(2021).iloc[0, 0]


def test_read_icio_reads_pymrio_names_and_zip(tmp_path: Path) -> None:
    (tmp_path / "ICIO2023_2020.zip").write_bytes(
        zipped({"ICIO2023_2020.csv": mock_table(2020).to_csv()})
    )
    assert icio.read_icio(tmp_path, 2020).Z.shape == (6, 6)


def test_read_icio_missing_file_or_year(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        icio.read_icio(tmp_path / "2022_SML.csv")
    with pytest.raises(InputError, match="give the year"):
        icio.read_icio(tmp_path)
    write_table(tmp_path, 2022)
    with pytest.raises(InputError, match="no OECD ICIO table for 2019"):
        icio.read_icio(tmp_path, 2019)


def _with_text_value(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a word where an industry flow should be."""
    damaged = table.astype(object)
    damaged.loc["DEU_B06", "USA_C26"] = "twelve"
    return damaged


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: t.drop(columns="USA_C26"), "square|parsed"),
        (lambda t: t.drop(columns=[c for c in t.columns if "_HFCE" in c or "_GFCF" in c]), "final"),
        (_with_text_value, "parsed"),
    ],
    ids=["missing-industry-column", "no-final-demand", "text-values"],
)
def test_read_icio_rejects_malformed_tables(tmp_path: Path, damage, message: str) -> None:
    path = tmp_path / "2022_SML.csv"
    damage(mock_table()).to_csv(path)
    with pytest.raises(InputError, match=message) as caught:
        icio.read_icio(path)
    assert "2022_SML.csv" in str(caught.value)


def test_read_icio_rejects_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "2022_SML.csv"
    path.write_text("")
    with pytest.raises(InputError, match="OECD ICIO"):
        icio.read_icio(path)


def test_fetch_icio_downloads_and_unpacks(tmp_path: Path, httpserver: HTTPServer) -> None:
    text = mock_table().to_csv()
    httpserver.expect_request("/icio/ICIO-2022.zip").respond_with_data(
        zipped({"2022_SML.csv": text, "2021_SML.csv": mock_table(2021).to_csv()}),
        content_type="application/zip",
    )
    seen: list[int] = []
    path = icio.fetch_icio(
        2022,
        tmp_path,
        base_url=httpserver.url_for("/icio/"),
        file_template="ICIO-{year}.zip",
        progress=lambda done, _total: seen.append(done),
    )
    assert path == tmp_path / "2022_SML.csv"
    assert path.read_text() == text
    assert seen
    assert icio.read_icio(tmp_path, 2022).Z.shape == (6, 6)


def test_fetch_icio_uses_env_base_url(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHOKEPOINTS_ICIO_URL", httpserver.url_for("/mirror"))
    httpserver.expect_request("/mirror/2022_SML.zip").respond_with_data(
        zipped({"data/2022_SML.csv": mock_table().to_csv()})
    )
    assert icio.fetch_icio(2022, tmp_path).name == "2022_SML.csv"


def test_fetch_icio_archive_without_the_year(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/2022_SML.zip").respond_with_data(
        zipped({"2021_SML.csv": "x", "2020_SML.csv": "y"})
    )
    with pytest.raises(InputError, match="no table for 2022"):
        icio.fetch_icio(2022, tmp_path, base_url=httpserver.url_for("/"))


def test_fetch_icio_server_error(tmp_path: Path, httpserver: HTTPServer, no_backoff: None) -> None:
    httpserver.expect_request("/2022_SML.zip").respond_with_data("boom", status=500)
    with pytest.raises(DownloadError, match="HTTP 500"):
        icio.fetch_icio(2022, tmp_path, base_url=httpserver.url_for("/"))
    assert not (tmp_path / "2022_SML.zip").exists()


def _truncating(body: bytes, cut: int, resume: bool):
    """A handler sending ``body[:cut]`` under the full Content-Length; resumes when asked to."""

    def handle(request: Request) -> Response:
        start = request.headers.get("Range", "bytes=0-")[6:].rstrip("-")
        if resume and start != "0":
            offset = int(start)
            return Response(
                body[offset:],
                status=206,
                headers={"Content-Range": f"bytes {offset}-{len(body) - 1}/{len(body)}"},
            )
        response = Response(body[:cut], headers={"Connection": "close"})
        response.headers["Content-Length"] = str(len(body))  # announce more than is sent
        return response

    return handle


def test_fetch_icio_truncated_response_fails_and_keeps_part(
    tmp_path: Path, httpserver: HTTPServer, no_backoff: None
) -> None:
    body = zipped({"2022_SML.csv": mock_table().to_csv()})
    httpserver.expect_request("/2022_SML.zip").respond_with_handler(
        _truncating(body, len(body) // 2, resume=False)
    )
    with pytest.raises(DownloadError, match="failed after"):
        icio.fetch_icio(2022, tmp_path, base_url=httpserver.url_for("/"))
    assert not (tmp_path / "2022_SML.zip").exists()
    assert not (tmp_path / "2022_SML.csv").exists()


def test_fetch_icio_resumes_truncated_response(
    tmp_path: Path, httpserver: HTTPServer, no_backoff: None
) -> None:
    text = mock_table().to_csv()
    body = zipped({"2022_SML.csv": text})
    httpserver.expect_request("/2022_SML.zip").respond_with_handler(
        _truncating(body, len(body) // 2, resume=True)
    )
    path = icio.fetch_icio(2022, tmp_path, base_url=httpserver.url_for("/"))
    assert path.read_text() == text
    assert (tmp_path / "2022_SML.zip").read_bytes() == body
