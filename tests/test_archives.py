"""Archives: corrupt zips, spliced resumes, zip bombs, temporary files, a full disk, web pages
served instead of the archive and malformed URLs. Each failure is one sentence, the store is
left byte-identical, and a bad download is discarded so that the next fetch starts afresh.

Downloads go to a local pytest-httpserver only.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from chokepoints.errors import DiskFullError, DownloadError, InputError
from chokepoints.sources import archive as zips
from chokepoints.sources.baci import read_baci
from chokepoints.sources.http import download
from chokepoints.sources.icio import _extract_year
from chokepoints.sources.wgi import read_wgi
from chokepoints.workspace import Workspace
from helpers import SMALL_ROWS, assert_one_sentence_error, run, snapshot, write_baci

FAST = {"backoff": 0.0, "timeout": 5.0}
ARCHIVE = "BACI_HS17_V202501.zip"
FETCH = ("data", "fetch", "baci", "--revision", "HS17", "--release", "V202501")


def baci_zip(rows: list[str], *, members: int = 1) -> bytes:
    """A BACI archive of ``members`` yearly files (2021 backwards) of ``rows``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for year in range(2021, 2021 - members, -1):
            text = "t,i,j,k,v,q\n" + "".join(r.replace("2021", str(year), 1) + "\n" for r in rows)
            bundle.writestr(f"BACI_HS17_Y{year}_V202501.csv", text)
    return buffer.getvalue()


#: Many distinct rows, so that the deflated members are long and not trivially repetitive.
MANY_ROWS = [f"2021,{e},{i},{100000 + n:06d},{n % 97}.5,1" for n, (e, i) in enumerate(
    [(156, 392), (251, 842), (392, 156), (842, 251), (276, 410)] * 400
)]  # fmt: skip


def flip_inside_member(data: bytes) -> bytes:
    """The archive with one byte of its first member's compressed data changed."""
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        info = bundle.infolist()[0]
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def bad_directory_entry(data: bytes) -> bytes:
    """The archive with the signature of its central directory's first entry broken."""
    start = data.index(b"PK\x01\x02")
    return data[:start] + b"XX\x01\x02" + data[start + 4 :]


def cut_in_half(data: bytes) -> bytes:
    """The first half of the archive, as an interrupted copy leaves it."""
    return data[: len(data) // 2]


@pytest.fixture
def loaded(home: Path, tmp_path: Path) -> Path:
    """A home holding one small BACI year, so that 'unchanged' means something."""
    rows = [r.replace("2021,", "2020,", 1) for r in SMALL_ROWS]
    Workspace.open(home).ingest_baci(
        write_baci(tmp_path / "good", rows, name="BACI_HS17_Y2020_V202501.csv")
    )
    return home


@pytest.fixture
def own_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of the test's own, used by tempfile, to see what is left in it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# -- damaged archives ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (flip_inside_member, ""),
        (bad_directory_entry, "Bad magic number for central directory"),
        (cut_in_half, ""),
        (lambda data: b"not a zip at all " * 100, "File is not a zip file"),
    ],
    ids=["flipped-byte", "bad-directory-entry", "cut-in-half", "not-a-zip"],
)
def test_damaged_archive_is_one_sentence_and_leaves_nothing(
    capsys: pytest.CaptureFixture[str],
    loaded: Path,
    tmp_path: Path,
    own_tmp: Path,
    damage,
    says: str,
) -> None:
    archive = tmp_path / ARCHIVE
    archive.write_bytes(damage(baci_zip(MANY_ROWS)))
    before = snapshot(loaded)

    code, _, err = run(capsys, "data", "ingest", "baci", str(archive), "--home", str(loaded))

    assert_one_sentence_error(code, err)
    assert f"{ARCHIVE}: the archive is truncated or damaged (" in err
    assert says in err
    assert "download it again" in err
    assert snapshot(loaded) == before
    assert list(own_tmp.iterdir()) == []


def test_damaged_member_name_is_refused_not_skipped(
    capsys: pytest.CaptureFixture[str], loaded: Path, tmp_path: Path
) -> None:
    """A directory entry whose name no longer reads BACI_..._Y2020_... would hide that year."""
    data = baci_zip(SMALL_ROWS, members=2)
    entry = data.index(b"PK\x01\x02")
    name = data.index(b"BACI_HS17_Y2021", entry)
    archive = tmp_path / ARCHIVE
    archive.write_bytes(data[:name] + b"X" + data[name + 1 :])
    before = snapshot(loaded)

    code, _, err = run(capsys, "data", "ingest", "baci", str(archive), "--home", str(loaded))

    assert_one_sentence_error(code, err)
    assert "the archive is truncated or damaged (File name in directory" in err
    assert snapshot(loaded) == before


def members_of(data: bytes) -> dict[str, bytes]:
    """The bytes of every member of a zip held in memory, by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


RANDOM_DAMAGE_ARCHIVE = baci_zip(MANY_ROWS[:200], members=2)
RANDOM_DAMAGE_MEMBERS = members_of(RANDOM_DAMAGE_ARCHIVE)


@settings(max_examples=30, deadline=None)
@given(
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=3),
    kept=st.floats(0, 1),
)
def test_random_damage_is_an_input_error_or_the_whole_archive(
    flips: list[tuple[float, int]], kept: float
) -> None:
    """Flipped bytes and a cut anywhere: one-line InputError, or every member extracted whole."""
    data = bytearray(RANDOM_DAMAGE_ARCHIVE)
    for where, flip in flips:
        data[int(where * len(data))] ^= flip
    folder, saved = Path(tempfile.mkdtemp(prefix="damage-")), tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        archive = folder / ARCHIVE
        archive.write_bytes(bytes(data[: max(1, round(kept * len(data)))]))
        try:
            extract = read_baci(archive)
        except InputError as error:
            assert "\n" not in str(error)
        else:
            extracted = {p.name: p.read_bytes() for p in folder.glob("chokepoints-baci-*/*")}
            assert extracted == RANDOM_DAMAGE_MEMBERS
            extract.cleanup()
        assert not list(folder.glob("chokepoints-baci-*"))
    finally:
        tempfile.tempdir = saved
        shutil.rmtree(folder)


# -- zip bombs ----------------------------------------------------------------------------------
def bomb(size: int) -> bytes:
    """An archive whose yearly member is a header and ``size`` bytes of newlines."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("BACI_HS17_Y2021_V202501.csv", b"t,i,j,k,v,q\n" + b"\n" * size)
    return buffer.getvalue()


def lying_sizes(data: bytes, declared: int) -> bytes:
    """The archive with its member's uncompressed size written as ``declared`` in both headers."""
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        info = bundle.infolist()[0]
    true = info.file_size.to_bytes(4, "little")
    assert data.count(true) == 2, "the size must appear once in each header"
    return data.replace(true, declared.to_bytes(4, "little"))


def test_member_beyond_the_ratio_is_refused_while_streaming(
    loaded: Path, tmp_path: Path, own_tmp: Path
) -> None:
    data = bomb(4 << 20)  # 4 MiB of newlines deflate about 1000:1
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        info = bundle.infolist()[0]
    assert info.file_size / info.compress_size > zips.DEFAULT_MAX_RATIO
    archive = tmp_path / ARCHIVE
    archive.write_bytes(data)
    before = snapshot(loaded)

    with pytest.raises(InputError, match="possible zip bomb") as caught:
        Workspace.open(loaded).ingest_baci(archive)

    assert str(caught.value).startswith(f"{ARCHIVE}: member BACI_HS17_Y2021_V202501.csv ")
    assert "CHOKEPOINTS_ZIP_MAX_RATIO" in str(caught.value)
    assert snapshot(loaded) == before
    assert list(own_tmp.iterdir()) == []


def test_headers_that_understate_the_size_do_not_let_a_bomb_through(
    loaded: Path, tmp_path: Path, own_tmp: Path
) -> None:
    """Declared 1,000 bytes, inflates to 4 MiB: counting the bytes (and the CRC) refuse it."""
    archive = tmp_path / ARCHIVE
    archive.write_bytes(lying_sizes(bomb(4 << 20), 1000))
    before = snapshot(loaded)

    with pytest.raises(InputError, match=r"possible zip bomb|truncated or damaged"):
        Workspace.open(loaded).ingest_baci(archive)

    assert snapshot(loaded) == before
    assert list(own_tmp.iterdir()) == []


def test_declared_size_beyond_the_absolute_limit_is_refused_before_inflating(
    loaded: Path, tmp_path: Path, own_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(zips.MAX_BYTES_VARIABLE, "1000")
    archive = tmp_path / ARCHIVE
    archive.write_bytes(baci_zip(MANY_ROWS))
    before = snapshot(loaded)

    with pytest.raises(InputError, match=r"beyond the limits of 1,000 bytes"):
        Workspace.open(loaded).ingest_baci(archive)

    assert snapshot(loaded) == before
    assert list(own_tmp.iterdir()) == []


def test_realistic_members_pass_the_default_limits(home: Path, tmp_path: Path) -> None:
    """Real CSV of numbers deflates about 4:1, far inside 200:1."""
    archive = tmp_path / ARCHIVE
    archive.write_bytes(baci_zip(MANY_ROWS))
    assert zips.problem(archive, whole=True) is None
    assert Workspace.open(home).ingest_baci(archive)["rows"] == len(MANY_ROWS)


# -- temporary files ----------------------------------------------------------------------------
def test_temporary_folder_is_removed_after_an_ingest(home: Path, tmp_path: Path, own_tmp: Path):
    archive = tmp_path / ARCHIVE
    archive.write_bytes(baci_zip(SMALL_ROWS, members=2))
    Workspace.open(home).ingest_baci(archive)
    assert list(own_tmp.iterdir()) == []


def test_temporary_folder_is_removed_when_the_reader_refuses(tmp_path: Path, own_tmp: Path):
    """A member named for another release than --release: refused once it is extracted."""
    archive = tmp_path / "renamed.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("BACI_HS17_Y2021_V202401.csv", "t,i,j,k,v,q\n2021,156,392,850511,1,1\n")
    with pytest.raises(InputError, match="the file name says release V202401 but V202501"):
        read_baci(archive, release="V202501")
    assert list(own_tmp.iterdir()) == []


def test_temporary_folder_is_removed_on_keyboard_interrupt(
    home: Path, tmp_path: Path, own_tmp: Path
) -> None:
    archive = tmp_path / ARCHIVE
    archive.write_bytes(baci_zip(SMALL_ROWS))
    before = snapshot(home)

    def interrupt(description: str, done: int, total: int) -> None:
        assert any(own_tmp.iterdir()), "the member must be extracted when the user interrupts"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Workspace.open(home).ingest_baci(archive, progress=interrupt)
    assert list(own_tmp.iterdir()) == []
    assert snapshot(home) == before


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder`` (root only; the test is skipped otherwise)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_full_temporary_folder_names_it_and_says_what_to_do(
    capsys: pytest.CaptureFixture[str],
    loaded: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real ENOSPC: the temporary folder on a 16 KiB tmpfs, a member of about 50 KB."""
    archive = tmp_path / ARCHIVE
    archive.write_bytes(baci_zip(MANY_ROWS))
    before = snapshot(loaded)
    with small_tmpfs(tmp_path / "full", "16k") as full:
        monkeypatch.setattr(tempfile, "tempdir", str(full))

        code, _, err = run(capsys, "data", "ingest", "baci", str(archive), "--home", str(loaded))

        assert_one_sentence_error(code, err)
        assert f"no space left in {full}/chokepoints-baci-" in err
        assert "while extracting BACI_HS17_Y2021_V202501.csv" in err
        assert "free space there or set TMPDIR to a folder with more room" in err
        assert list(full.iterdir()) == []
    assert snapshot(loaded) == before


def test_full_folder_next_to_an_icio_archive_is_one_sentence(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    with small_tmpfs(tmp_path / "icio", "64k") as folder:
        archive = folder / "2022_SML.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr("2022_SML.csv", "1,7\n" * 100_000)  # 400 KB, deflated to 1 KB
        with pytest.raises(DiskFullError, match=f"no space left in {folder} while extracting"):
            _extract_year(archive, 2022)
        assert sorted(p.name for p in folder.iterdir()) == ["2022_SML.zip"]


# -- ICIO and WGI archives ----------------------------------------------------------------------
def test_damaged_icio_archive_is_one_sentence_and_leaves_no_part(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("2022_SML.csv", "".join(f"{n},{n * 7}\n" for n in range(20000)))
    archive = tmp_path / "2022_SML.zip"
    archive.write_bytes(flip_inside_member(buffer.getvalue()))

    with pytest.raises(InputError, match=r"2022_SML\.zip: the archive is truncated or damaged"):
        _extract_year(archive, 2022)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["2022_SML.zip"]


def test_damaged_wgi_archive_is_one_sentence(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        rows = "".join(f"DEU,{year},va,1.{year % 10}\n" for year in range(1996, 2024))
        bundle.writestr("wgi.csv", "code,year,indicator,estimate\n" + rows * 50)
    archive = tmp_path / "wgidataset_excel.zip"
    archive.write_bytes(flip_inside_member(buffer.getvalue()))

    with pytest.raises(InputError) as caught:
        read_wgi(archive)

    assert str(caught.value).startswith("wgidataset_excel.zip: the archive is truncated or damaged")
    assert "\n" not in str(caught.value)


# -- downloads: web pages, malformed URLs, spliced resumes, bad archives in downloads/ ----------
PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>Back soon</body></html>"
)


@pytest.mark.parametrize(
    "content_type", ["text/html; charset=utf-8", "application/zip"], ids=["typed", "sniffed"]
)
def test_web_page_instead_of_the_archive_fails_at_once(
    httpserver: HTTPServer, tmp_path: Path, content_type: str
) -> None:
    httpserver.expect_request("/BACI.zip").respond_with_data(PAGE, content_type=content_type)
    dest = tmp_path / "BACI.zip"

    with pytest.raises(DownloadError) as caught:
        download(httpserver.url_for("/BACI.zip"), dest, retries=2, **FAST)

    assert "the server returned a web page, not the file" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert len(httpserver.log) == 1  # not retried
    assert list(tmp_path.iterdir()) == []  # neither the file nor a .part


@pytest.mark.parametrize(
    "url", ["not a url", "ftp://example.org/BACI.zip", "http://[::1/BACI.zip", "http:///BACI.zip"]
)
def test_malformed_url_fails_at_once(tmp_path: Path, url: str) -> None:
    with pytest.raises(DownloadError, match="is not a valid download URL") as caught:
        download(url, tmp_path / "BACI.zip", retries=3, backoff=60.0)  # a retry would wait 60 s
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_malformed_base_url_on_the_command_line(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code, _, err = run(capsys, *FETCH, "--base-url", "htp:/mirror", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "'htp:/mirror/BACI_HS17_V202501.zip' is not a valid download URL" in err


def serve_ranges(payload: bytes):
    """A handler that honours ``Range: bytes=N-`` with 206 answers of ``payload``."""

    def handle(request: Request) -> Response:
        header = request.headers.get("Range")
        if header is None:
            return Response(payload, status=200, content_type="application/zip")
        start = int(header.removeprefix("bytes=").removesuffix("-"))
        return Response(
            payload[start:],
            status=206,
            content_type="application/zip",
            headers={"Content-Range": f"bytes {start}-{len(payload) - 1}/{len(payload)}"},
        )

    return handle


def store_files(home: Path) -> dict[str, str]:
    """The snapshot of the store proper: the home without its downloads folder."""
    return {k: v for k, v in snapshot(home).items() if not k.startswith("downloads/")}


def test_spliced_resume_is_discarded_and_the_next_fetch_starts_afresh(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, loaded: Path
) -> None:
    """The .part holds half of last month's archive; the server now has another of equal size."""
    old = baci_zip(MANY_ROWS)
    new = baci_zip([r.replace(".5,", ".25,") for r in MANY_ROWS])
    downloads = loaded / "downloads"
    downloads.mkdir()
    part = downloads / f"{ARCHIVE}.part"
    part.write_bytes(old[: len(old) // 2])
    httpserver.expect_request(f"/{ARCHIVE}").respond_with_handler(serve_ranges(new))
    before = store_files(loaded)
    base = ("--base-url", httpserver.url_for("/"), "--home", str(loaded))

    code, _, err = run(capsys, *FETCH, *base)

    assert_one_sentence_error(code, err)
    assert "is not usable (" in err and "it was deleted" in err
    assert httpserver.log[0][0].headers.get("Range") == f"bytes={len(old) // 2}-"
    assert not part.exists() and not (downloads / ARCHIVE).exists()
    assert store_files(loaded) == before

    code, out, err = run(capsys, *FETCH, *base)

    assert code == 0, err
    assert httpserver.log[1][0].headers.get("Range") is None
    assert (downloads / ARCHIVE).read_bytes() == new
    assert f"{len(MANY_ROWS):,} flows" in " ".join(out.split())


def test_damaged_archive_in_downloads_is_renamed_and_fetched_again(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, home: Path
) -> None:
    """An archive an earlier version kept although its member is damaged (no .verified stamp)."""
    good = baci_zip(SMALL_ROWS)
    downloads = home / "downloads"
    downloads.mkdir()
    damaged = flip_inside_member(baci_zip(MANY_ROWS))
    (downloads / ARCHIVE).write_bytes(damaged)
    httpserver.expect_request(f"/{ARCHIVE}").respond_with_data(good, content_type="application/zip")

    code, _, err = run(capsys, *FETCH, "--base-url", httpserver.url_for("/"), "--home", str(home))

    assert code == 0, err
    assert (downloads / ARCHIVE).read_bytes() == good
    assert (downloads / f"{ARCHIVE}.bad").read_bytes() == damaged
    assert len(httpserver.log) == 1


def test_verified_archive_in_downloads_is_reused_without_a_request(
    capsys: pytest.CaptureFixture[str], httpserver: HTTPServer, home: Path
) -> None:
    httpserver.expect_request(f"/{ARCHIVE}").respond_with_data(
        baci_zip(SMALL_ROWS), content_type="application/zip"
    )
    base = ("--base-url", httpserver.url_for("/"), "--home", str(home))
    assert run(capsys, *FETCH, *base)[0] == 0

    code, _, err = run(capsys, *FETCH, *base)

    assert code == 0, err
    assert len(httpserver.log) == 1
    assert (home / "downloads" / f"{ARCHIVE}.verified").is_file()
