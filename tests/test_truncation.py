"""Files cut short: BACI and Comtrade CSVs that end mid-line are refused, generic tables warned.

Every expected line number and row count is computed from the bytes the test cuts: the line the
file ends in is the count of b"\\n" before the cut plus one.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ATLAS
from helpers import SMALL_ROWS, assert_one_sentence_error, run, snapshot, write_baci

ALGERIA = "baci/V202301_Anesouadou/Algeria_import_transaction.csv"
THAILAND = "comtrade/THA_M_8542_2014-2024_methakanb/TradeData.csv"
BACI_OPTIONS = ("--revision", "HS92", "--release", "V202301")
TABLE_OPTIONS = (
    "--map",
    "exporter=i,importer=j,product=cmd,value_usd=value",
    "--year",
    "2022",
    "--classification",
    "HS17",
    "--source",
    "atlas",
)
REFUSAL_HINT = "download or export the file again"


def mid_number_in_last_row(data: bytes) -> bytes:
    """The file cut one digit after its last decimal point, inside the last row's last number."""
    end = data.rindex(b".") + 2
    assert data[end - 1 : end + 1].isdigit(), "the cut must fall between two digits"
    assert b"\n" not in data[end:].rstrip(b"\r\n"), "the cut must fall in the last row"
    return data[:end]


def mid_row(data: bytes) -> bytes:
    """The file cut just after a comma halfway through: a row without its later fields."""
    end = data.index(b",", len(data) // 2) + 1
    assert data[end : end + 1] not in (b"\r", b"\n"), "the row must go on after the cut"
    return data[:end]


def inside_last_field(data: bytes) -> bytes:
    """The file cut two bytes before the end of its last field (trailing commas set aside).

    A Comtrade row cut there still has all its fields, so only the missing newline tells.
    """
    end = len(data.rstrip(b",\r\n")) - 2
    assert b"\n" not in data[end:].rstrip(b",\r\n"), "the cut must fall in the last row"
    return data[:end]


def inside_line_break(data: bytes) -> bytes:
    """The file cut between the ``\\r`` and the ``\\n`` of its last CRLF line ending."""
    assert data.endswith(b"\r\n"), "the file must use CRLF line endings"
    return data[:-1]


def at_line_end(data: bytes) -> bytes:
    """The file cut right after a line ending halfway through: whole rows lost, undetectable."""
    return data[: data.index(b"\n", len(data) // 2) + 1]


def expected_line(cut: bytes) -> int:
    """The number of the line a cut file ends in, counted from its bytes."""
    return cut.count(b"\n") + 1


def ingest(
    capsys: pytest.CaptureFixture[str], kind: str, path: Path, home: Path
) -> tuple[int, str, str]:
    """Run ``chokepoints data ingest KIND PATH`` with the options of that kind of file."""
    options = {"baci": BACI_OPTIONS, "comtrade": (), "table": TABLE_OPTIONS}[kind]
    return run(capsys, "data", "ingest", kind, str(path), *options, "--home", str(home))


def write_cut(folder: Path, name: str, cut: bytes) -> Path:
    """Write the cut bytes to ``folder/name`` and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(cut)
    return path


def flat(text: str) -> str:
    """Terminal output with rich's line wrapping undone."""
    return " ".join(text.split())


# -- BACI and Comtrade CSVs cut mid-line are refused and leave the store as it was ------------
@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("kind", "relative", "cut"),
    [
        ("baci", ALGERIA, mid_number_in_last_row),
        ("baci", ALGERIA, mid_row),
        ("baci", ALGERIA, inside_line_break),
        ("comtrade", THAILAND, mid_number_in_last_row),
        ("comtrade", THAILAND, mid_row),
        ("comtrade", THAILAND, inside_last_field),
    ],
)
def test_cut_csv_is_refused_and_store_unchanged(
    capsys: pytest.CaptureFixture[str],
    shared_data: Path,
    home: Path,
    tmp_path: Path,
    kind: str,
    relative: str,
    cut: Callable[[bytes], bytes],
) -> None:
    source = shared_data / relative
    assert ingest(capsys, kind, source, home)[0] == 0
    before = snapshot(home)
    assert before, "the complete file must have filled the store"
    data = cut(source.read_bytes())
    path = write_cut(tmp_path / "cut", source.name, data)

    code, out, err = ingest(capsys, kind, path, home)

    assert_one_sentence_error(code, err)
    assert f"{source.name}, line {expected_line(data)}: " in err
    assert "cut short" in err and REFUSAL_HINT in err
    assert "Ingested" not in out
    assert snapshot(home) == before


# -- what still ingests -------------------------------------------------------------------------
@pytest.mark.shared_data
@pytest.mark.parametrize(("kind", "relative"), [("baci", ALGERIA), ("comtrade", THAILAND)])
def test_complete_file_ingests(
    capsys: pytest.CaptureFixture[str], shared_data: Path, home: Path, kind: str, relative: str
) -> None:
    source = shared_data / relative
    rows = source.read_bytes().count(b"\n") - 1  # every line ends with a newline; minus header
    code, out, err = ingest(capsys, kind, source, home)
    assert code == 0, err
    expected = f"{rows:,} flows" if kind == "baci" else f"of {rows} rows"
    assert expected in flat(out)
    assert "cut short" not in out + err


@pytest.mark.shared_data
@pytest.mark.parametrize(("kind", "relative"), [("baci", ALGERIA), ("comtrade", THAILAND)])
def test_cut_at_line_end_ingests_the_rows_left(
    capsys: pytest.CaptureFixture[str],
    shared_data: Path,
    home: Path,
    tmp_path: Path,
    kind: str,
    relative: str,
) -> None:
    """A documented limitation: a file cut right after a newline looks complete."""
    source = shared_data / relative
    data = at_line_end(source.read_bytes())
    rows = data.count(b"\n") - 1
    assert 0 < rows < source.read_bytes().count(b"\n") - 1
    code, out, err = ingest(capsys, kind, write_cut(tmp_path, source.name, data), home)
    assert code == 0, err
    expected = f"{rows:,} flows" if kind == "baci" else f"of {rows} rows"
    assert expected in flat(out)


def test_cut_csv_in_a_folder_is_refused(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    """Yearly files in a folder are plain files on disk, so each one is checked."""
    folder = tmp_path / "folder"
    write_baci(folder, SMALL_ROWS, name="BACI_HS17_Y2020_V202501.csv")
    cut = write_baci(folder, SMALL_ROWS)
    data = cut.read_bytes()[:-3]
    cut.write_bytes(data)
    code, _, err = run(capsys, "data", "ingest", "baci", str(folder), "--home", str(home))
    assert_one_sentence_error(code, err)
    assert f"{cut.name}, line {expected_line(data)}: " in err
    assert snapshot(home) == {}


def test_zip_member_without_final_newline_ingests(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    """Members of a zip are proven whole by its CRC, so their last byte is not checked."""
    member = write_baci(tmp_path / "member", SMALL_ROWS)
    member.write_bytes(member.read_bytes().rstrip(b"\n"))
    archive = tmp_path / "BACI_HS17_V202501.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(member, member.name)
    code, out, err = run(capsys, "data", "ingest", "baci", str(archive), "--home", str(home))
    assert code == 0, err
    assert f"{len(SMALL_ROWS)} flows" in flat(out)


# -- a header alone without newline keeps its own message -------------------------------------
def test_baci_header_without_newline_says_no_rows(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    path = write_baci(tmp_path, [])
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    code, _, err = run(capsys, "data", "ingest", "baci", str(path), "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "no trade rows" in err and "cut short" not in err


@pytest.mark.shared_data
def test_comtrade_header_without_newline_says_no_rows(
    capsys: pytest.CaptureFixture[str], shared_data: Path, home: Path, tmp_path: Path
) -> None:
    source = shared_data / THAILAND
    header = source.read_bytes().split(b"\n", 1)[0]
    code, _, err = ingest(capsys, "comtrade", write_cut(tmp_path, source.name, header), home)
    assert_one_sentence_error(code, err)
    assert "header but no data rows" in err and "cut short" not in err


# -- generic tables: a warning, not a refusal ---------------------------------------------------
@pytest.mark.shared_data
def test_table_without_final_newline_ingests_with_warning(
    capsys: pytest.CaptureFixture[str], shared_data: Path, home: Path, tmp_path: Path
) -> None:
    lines = (shared_data / ATLAS).read_bytes().splitlines(keepends=True)[:101]
    data = b"".join(lines).rstrip(b"\n")
    path = write_cut(tmp_path, "baci_2022.csv", data)
    code, out, err = ingest(capsys, "table", path, home)
    assert code == 0, err
    shown = flat(out)
    assert f"read {len(lines) - 1} rows" in shown
    assert (
        f"note: baci_2022.csv, line {expected_line(data)}: the last line has no newline "
        "at its end, so the file may be truncated"
    ) in shown


@pytest.mark.shared_data
def test_table_with_final_newline_has_no_warning(
    capsys: pytest.CaptureFixture[str], shared_data: Path, home: Path, tmp_path: Path
) -> None:
    lines = (shared_data / ATLAS).read_bytes().splitlines(keepends=True)[:101]
    path = write_cut(tmp_path, "baci_2022.csv", b"".join(lines))
    code, out, err = ingest(capsys, "table", path, home)
    assert code == 0, err
    assert f"read {len(lines) - 1} rows" in flat(out)
    assert "truncated" not in out
