"""Resumable downloads against a local HTTP server, and BACI archive URLs."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from chokepoints.errors import DownloadError, InputError
from chokepoints.sources.http import (
    DEFAULT_BACI_BASE_URL,
    baci_archive_url,
    baci_base_url,
    download,
    url_join,
)

#: 3,000,000 bytes in a recognisable pattern, large enough to arrive in several network reads.
PAYLOAD = bytes(range(256)) * 11718 + bytes(range(192))
FAST = {"backoff": 0.0, "timeout": 5.0}


def test_payload_has_the_size_the_tests_assume() -> None:
    assert len(PAYLOAD) == 3_000_000


def range_handler(payload: bytes):
    """A handler that honours ``Range: bytes=N-`` with a 206 answer, as CEPII's server does."""

    def handle(request: Request) -> Response:
        header = request.headers.get("Range")
        if header is None:
            return Response(payload, status=200, content_type="application/zip")
        start = int(header.removeprefix("bytes=").removesuffix("-"))
        if start >= len(payload):
            return Response(status=416, headers={"Content-Range": f"bytes */{len(payload)}"})
        return Response(
            payload[start:],
            status=206,
            content_type="application/zip",
            headers={"Content-Range": f"bytes {start}-{len(payload) - 1}/{len(payload)}"},
        )

    return handle


def truncated_response(body: bytes, announced: int) -> Response:
    """A 200 answer that announces ``announced`` bytes but closes after ``body``."""
    response = Response(body, status=200, content_type="application/zip")
    response.headers["Content-Length"] = str(announced)
    return response


def test_full_download_writes_exact_bytes_and_no_part(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/BACI.zip").respond_with_data(PAYLOAD)
    dest = tmp_path / "sub" / "BACI.zip"

    result = download(httpserver.url_for("/BACI.zip"), dest, **FAST)

    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert not dest.with_name("BACI.zip.part").exists()


def test_truncated_response_raises_and_keeps_partial_file(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/BACI.zip").respond_with_handler(
        lambda request: truncated_response(b"x" * 100, 1000)
    )
    dest = tmp_path / "BACI.zip"

    with pytest.raises(DownloadError) as info:
        download(httpserver.url_for("/BACI.zip"), dest, retries=0, **FAST)

    message = str(info.value)
    assert "100 bytes of 1000" in message
    assert "kept" in message
    assert "resumes" in message
    assert not dest.exists()
    assert dest.with_name("BACI.zip.part").read_bytes() == b"x" * 100


def test_truncated_response_is_retried_with_a_range_request(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_ordered_request("/BACI.zip").respond_with_handler(
        lambda request: truncated_response(PAYLOAD[:1234], len(PAYLOAD))
    )
    httpserver.expect_ordered_request("/BACI.zip").respond_with_handler(range_handler(PAYLOAD))
    dest = tmp_path / "BACI.zip"

    download(httpserver.url_for("/BACI.zip"), dest, retries=1, **FAST)

    assert dest.read_bytes() == PAYLOAD
    second_request = httpserver.log[1][0]
    assert second_request.headers.get("Range") == "bytes=1234-"


def test_resume_from_existing_part_sends_range_and_appends(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/BACI.zip").respond_with_handler(range_handler(PAYLOAD))
    dest = tmp_path / "BACI.zip"
    dest.with_name("BACI.zip.part").write_bytes(PAYLOAD[:2_500_001])

    download(httpserver.url_for("/BACI.zip"), dest, **FAST)

    assert dest.read_bytes() == PAYLOAD
    assert len(httpserver.log) == 1
    request, response = httpserver.log[0]
    assert request.headers.get("Range") == "bytes=2500001-"
    assert response.status_code == 206
    assert len(response.get_data()) == 3_000_000 - 2_500_001


def test_short_partial_answers_are_resumed_until_complete(httpserver: HTTPServer, tmp_path: Path):
    def at_most_a_million(request: Request) -> Response:
        start = int(request.headers["Range"].removeprefix("bytes=").removesuffix("-"))
        end = min(start + 1_000_000, len(PAYLOAD))
        return Response(
            PAYLOAD[start:end],
            status=206,
            headers={"Content-Range": f"bytes {start}-{end - 1}/{len(PAYLOAD)}"},
        )

    httpserver.expect_request("/BACI.zip").respond_with_handler(at_most_a_million)
    dest = tmp_path / "BACI.zip"
    dest.with_name("BACI.zip.part").write_bytes(PAYLOAD[:1])

    download(httpserver.url_for("/BACI.zip"), dest, retries=2, **FAST)

    ranges = [entry[0].headers.get("Range") for entry in httpserver.log]
    assert ranges == ["bytes=1-", "bytes=1000001-", "bytes=2000001-"]
    assert dest.read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_from_zero(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/BACI.zip").respond_with_data(PAYLOAD)
    dest = tmp_path / "BACI.zip"
    dest.with_name("BACI.zip.part").write_bytes(b"stale bytes of another file")

    download(httpserver.url_for("/BACI.zip"), dest, **FAST)

    assert httpserver.log[0][0].headers.get("Range") == "bytes=27-"
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_and_416_counts_as_done(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/BACI.zip").respond_with_handler(range_handler(PAYLOAD))
    dest = tmp_path / "BACI.zip"
    dest.with_name("BACI.zip.part").write_bytes(PAYLOAD)

    download(httpserver.url_for("/BACI.zip"), dest, expected_size=3_000_000, **FAST)

    assert httpserver.log[0][1].status_code == 416
    assert dest.read_bytes() == PAYLOAD


def test_part_longer_than_the_file_is_discarded_after_416(httpserver: HTTPServer, tmp_path: Path):
    payload = b"0123456789"
    httpserver.expect_request("/small.zip").respond_with_handler(range_handler(payload))
    dest = tmp_path / "small.zip"
    dest.with_name("small.zip.part").write_bytes(b"0123456789ABCDEF")

    download(httpserver.url_for("/small.zip"), dest, retries=1, **FAST)

    assert [entry[1].status_code for entry in httpserver.log] == [416, 200]
    assert dest.read_bytes() == payload


def test_server_error_then_success_is_retried(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_ordered_request("/BACI.zip").respond_with_data("busy", status=500)
    httpserver.expect_ordered_request("/BACI.zip").respond_with_data(PAYLOAD)
    dest = tmp_path / "BACI.zip"

    download(httpserver.url_for("/BACI.zip"), dest, retries=2, **FAST)

    assert dest.read_bytes() == PAYLOAD
    assert len(httpserver.log) == 2


def test_persistent_server_error_names_status_and_leaves_no_dest(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/BACI.zip").respond_with_data("down", status=503)
    dest = tmp_path / "BACI.zip"

    with pytest.raises(DownloadError, match="HTTP 503"):
        download(httpserver.url_for("/BACI.zip"), dest, retries=2, **FAST)

    assert len(httpserver.log) == 3  # the first attempt and two retries
    assert not dest.exists()


def test_not_found_names_url_and_suggests_checking_names(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/BACI_HS22_V209901.zip").respond_with_data("", status=404)
    url = httpserver.url_for("/BACI_HS22_V209901.zip")

    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "BACI.zip", **FAST)

    message = str(info.value)
    assert url in message
    assert "404" in message
    assert "release" in message
    assert "revision" in message
    assert len(httpserver.log) == 1  # a missing file is not retried


def test_checksum_mismatch_deletes_file(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/BACI.zip").respond_with_data(PAYLOAD)
    dest = tmp_path / "BACI.zip"

    with pytest.raises(DownloadError, match="SHA-256"):
        download(httpserver.url_for("/BACI.zip"), dest, expected_sha256="0" * 64, **FAST)

    assert not dest.exists()
    assert not dest.with_name("BACI.zip.part").exists()


def test_matching_checksum_is_accepted(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/BACI.zip").respond_with_data(PAYLOAD)
    dest = tmp_path / "BACI.zip"
    digest = hashlib.sha256(PAYLOAD).hexdigest().upper()

    download(httpserver.url_for("/BACI.zip"), dest, expected_sha256=digest, **FAST)

    assert dest.read_bytes() == PAYLOAD


def test_size_different_from_expected_is_refused(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/BACI.zip").respond_with_data(PAYLOAD)
    dest = tmp_path / "BACI.zip"

    with pytest.raises(DownloadError, match="3000000 bytes but 2999999"):
        download(httpserver.url_for("/BACI.zip"), dest, expected_size=2_999_999, **FAST)

    assert not dest.exists()


def test_progress_increases_to_total(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/BACI.zip").respond_with_data(PAYLOAD)
    calls: list[tuple[int, int | None]] = []

    download(
        httpserver.url_for("/BACI.zip"),
        tmp_path / "BACI.zip",
        progress=lambda done, total: calls.append((done, total)),
        **FAST,
    )

    done = [call[0] for call in calls]
    assert len(calls) >= 2  # 3,000,000 bytes do not arrive in a single socket read
    assert all(later > earlier for earlier, later in itertools.pairwise(done))
    assert calls[-1] == (3_000_000, 3_000_000)
    assert {call[1] for call in calls} == {3_000_000}


def test_progress_of_a_resumed_download_counts_the_part(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/BACI.zip").respond_with_handler(range_handler(PAYLOAD))
    dest = tmp_path / "BACI.zip"
    dest.with_name("BACI.zip.part").write_bytes(PAYLOAD[:2_999_000])
    calls: list[tuple[int, int | None]] = []

    download(httpserver.url_for("/BACI.zip"), dest, progress=lambda *a: calls.append(a), **FAST)

    assert calls[-1] == (3_000_000, 3_000_000)
    assert all(done > 2_999_000 for done, _ in calls)


def test_unreachable_server_is_a_download_error(tmp_path: Path):
    server = HTTPServer()
    server.start()
    url = server.url_for("/BACI.zip")
    server.stop()  # nothing listens on that port any more

    with pytest.raises(DownloadError, match="failed after 2 attempt"):
        download(url, tmp_path / "BACI.zip", retries=1, **FAST)


def test_url_join_puts_one_slash() -> None:
    assert url_join("https://a.org/data/", "/f.zip") == "https://a.org/data/f.zip"
    assert url_join("https://a.org/data", "f.zip") == "https://a.org/data/f.zip"


@pytest.mark.parametrize(
    ("revision", "release", "expected"),
    [
        ("HS22", "202501", "BACI_HS22_V202501.zip"),
        ("hs17", "V202401b", "BACI_HS17_V202401b.zip"),
        ("HS92", "v202601", "BACI_HS92_V202601.zip"),
    ],
)
def test_baci_archive_url(revision: str, release: str, expected: str) -> None:
    url = baci_archive_url(DEFAULT_BACI_BASE_URL, revision, release)
    assert url == f"https://www.cepii.fr/DATA_DOWNLOAD/baci/data/{expected}"


@pytest.mark.parametrize(
    ("revision", "release", "field"),
    [
        ("HS23", "202501", "revision"),
        ("H6", "202501", "revision"),
        ("HS22", "2025", "release"),
        ("HS22", "202501bc", "release"),
        ("HS22", "VV202501", "release"),
    ],
)
def test_baci_archive_url_rejects_bad_names(revision: str, release: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        baci_archive_url(DEFAULT_BACI_BASE_URL, revision, release)
    assert info.value.field == field
    assert info.value.hint


def test_baci_base_url_follows_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHOKEPOINTS_BACI_URL", raising=False)
    assert baci_base_url() == "https://www.cepii.fr/DATA_DOWNLOAD/baci/data"
    monkeypatch.setenv("CHOKEPOINTS_BACI_URL", "http://mirror.example/baci")
    assert baci_base_url() == "http://mirror.example/baci"
