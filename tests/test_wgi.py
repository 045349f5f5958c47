"""WGI ingestion: the real 2024 bulk file, and small files in its layouts written by the tests."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pyarrow as pa
import pytest

from chokepoints import schema
from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.sources.wgi import read_wgi
from chokepoints.workspace import Workspace

HEADER = (
    "codeindyr,code,countryname,year,indicator,estimate,stddev,nsource,pctrank,"
    "pctranklower,pctrankupper"
)
LEGACY = {"ROM": "ROU", "ZAR": "COD", "TMP": "TLS", "ADO": "AND", "KSV": "XKX", "WBG": "PSE"}


def governance_of(extract: Any) -> pa.Table:
    """Run the extract's governance builder on a fresh DuckDB connection."""
    return extract.tables["governance"](duckdb.connect()).fetch_arrow_table()


def lookup(table: pa.Table, country: str, year: int, indicator: str) -> float | None:
    """The one estimate of (country, year, indicator) in a governance table."""
    hits = [
        r["estimate"]
        for r in table.to_pylist()
        if (r["country"], r["year"], r["indicator"]) == (country, year, indicator)
    ]
    assert len(hits) == 1, hits
    return hits[0]


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    """A long-layout CSV with ``rows`` under ``header``."""
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def long_row(code: str, year: int, indicator: str, estimate: str) -> str:
    """One CSV row of the long layout (other statistics filled with plausible numbers)."""
    return f"{code}{indicator}{year},{code},Name,{year},{indicator},{estimate},0.2,5,50,40,60"


# -- the real file -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_file(shared_data: Path) -> Path:
    return shared_data / "wgi" / "wgidataset.xlsx"


@pytest.fixture(scope="module")
def raw_rows(real_file: Path) -> list[tuple[Any, ...]]:
    """The raw cells of the real file read with openpyxl, independently of read_wgi."""
    sheet = openpyxl.load_workbook(real_file, read_only=True).active
    return list(sheet.iter_rows(values_only=True))


@pytest.fixture(scope="module")
def real_extract(real_file: Path) -> Any:
    return read_wgi(real_file)


@pytest.mark.shared_data
def test_real_file_counts_match_the_raw_cells(real_extract: Any, raw_rows: list) -> None:
    header, body = raw_rows[0], raw_rows[1:]
    code, estimate = header.index("code"), header.index("estimate")
    table = governance_of(real_extract)
    assert [(f.name, f.type) for f in table.schema] == [(f.name, f.type) for f in schema.GOVERNANCE]
    # Every row is kept: no aggregates in the bulk file.
    assert table.num_rows == len(body) == 32100
    # The only missing estimates are the ".." cells.
    assert table.column("estimate").null_count == sum(r[estimate] == ".." for r in body) == 1126
    # 214 economies, and no two raw codes map to one ISO3 (ROU, COD... are not in the file).
    raw_codes = {r[code] for r in body}
    mapped = {LEGACY.get(c, c) for c in raw_codes}
    assert len(raw_codes) == len(mapped) == 214
    assert set(table.column("country").to_pylist()) == mapped
    assert {"ROU", "COD", "TLS", "AND", "XKX", "PSE", "TWN", "NAM"} <= mapped
    assert not {"ROM", "ZAR", "TMP", "ADO", "KSV", "WBG"} & set(table.column("country").to_pylist())
    assert set(table.column("indicator").to_pylist()) == {"va", "pv", "ge", "rq", "rl", "cc"}
    years = table.column("year").to_pylist()
    assert (min(years), max(years)) == (1996, 2023)
    assert real_extract.release == "WGI-2024"


@pytest.mark.shared_data
def test_real_file_hand_checked_values(real_extract: Any) -> None:
    table = governance_of(real_extract)
    # Read with openpyxl from the raw sheet: row 29628 is JPNcc2022, estimate 1.5399296283721924.
    assert lookup(table, "JPN", 2022, "cc") == 1.5399296283721924
    # Row 14926 is ROMrl2010 (legacy Romania): 0.10640956461429596.
    assert lookup(table, "ROU", 2010, "rl") == 0.10640956461429596
    # Row 31289 is ZARpv2023 (DR Congo under its old code): -2.0448620319366455.
    assert lookup(table, "COD", 2023, "pv") == -2.0448620319366455
    # Row 28598 is NAMge2021: Namibia's code "NA"-like text must not turn into a missing value.
    assert lookup(table, "NAM", 2021, "ge") == 0.03910071775317192
    # Row 2713 is NIUcc2000 with estimate "..".
    assert lookup(table, "NIU", 2000, "cc") is None


@pytest.mark.shared_data
def test_real_file_notes_list_mapped_codes(real_extract: Any) -> None:
    notes = " ".join(real_extract.notes)
    # Each economy has 25 years x 6 indicators = 150 rows.
    for old, new in LEGACY.items():
        assert f"{old}->{new} (150 rows)" in notes
    assert "1126 of 32100 estimates are missing" in notes
    assert "aggregates" not in notes


@pytest.mark.shared_data
def test_real_file_ingests_into_a_workspace(home: Path, real_file: Path) -> None:
    ws = Workspace.open(home)
    record = ws.ingest(read_wgi(real_file))
    assert record["source"] == "wgi" and record["release"] == "WGI-2024"
    assert ws.sql("SELECT count(*) AS n FROM governance")["n"].iloc[0] == 32100
    assert ws.sql("SELECT count(*) - count(estimate) AS n FROM governance")["n"].iloc[0] == 1126
    value = ws.sql(
        "SELECT estimate FROM governance WHERE country = 'JPN' AND year = 2022 AND indicator = 'cc'"
    )
    assert value["estimate"].tolist() == [1.5399296283721924]
    # Ingesting the same release again replaces it rather than doubling the rows.
    ws.ingest(read_wgi(real_file))
    assert ws.sql("SELECT count(*) AS n FROM governance")["n"].iloc[0] == 32100
    assert ws.con.table("governance").schema().names == tuple(schema.GOVERNANCE.names)


# -- small files in the same layouts -----------------------------------------------------------
def test_small_csv_values_missing_and_legacy_codes(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "wgi.csv",
        [
            long_row("NAM", 2021, "ge", "0.25"),
            long_row("ROM", 2021, "ge", "-0.5"),
            "",
            long_row("NIU", 2021, "ge", ".."),
            long_row("JPN", 2022, "CC", "1.5"),
        ],
    )
    extract = read_wgi(path)
    table = governance_of(extract)
    assert table.num_rows == 4
    assert lookup(table, "NAM", 2021, "ge") == 0.25
    assert lookup(table, "ROU", 2021, "ge") == -0.5
    assert lookup(table, "NIU", 2021, "ge") is None
    # Upper-case indicator codes are accepted and stored lower-case.
    assert lookup(table, "JPN", 2022, "cc") == 1.5
    # Last data year 2022 -> the 2023 update.
    assert extract.release == "WGI-2023"
    assert read_wgi(path, release="WGI-2023b").release == "WGI-2023b"
    assert any("ROM->ROU (1 rows)" in note for note in extract.notes)
    assert any("1 of 4 estimates are missing" in note for note in extract.notes)


def test_small_xlsx_numeric_cells_legacy_codes_and_missing(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["NAMcc2020", "NAM", "Namibia", 2020, "cc", 0.125, 0.2, 5, 50, 40, 60])
    sheet.append(["KSVcc2020", "KSV", "Kosovo", 2020, "cc", -0.375, 0.2, 5, 50, 40, 60])
    sheet.append(["TWNcc2020", "TWN", "Taiwan", 2020, "cc", "..", "..", "..", "..", "..", ".."])
    path = tmp_path / "wgidataset.xlsx"
    book.save(path)
    table = governance_of(read_wgi(path))
    assert sorted(table.column("country").to_pylist()) == ["NAM", "TWN", "XKX"]
    assert lookup(table, "NAM", 2020, "cc") == 0.125
    assert lookup(table, "XKX", 2020, "cc") == -0.375
    assert lookup(table, "TWN", 2020, "cc") is None


def test_official_zip_with_the_workbook_inside(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["code", "year", "indicator", "estimate"])
    book.active.append(["DEU", 2023, "rl", 1.5])
    inner = tmp_path / "wgidataset.xlsx"
    book.save(inner)
    archive = tmp_path / "wgidataset_excel.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(inner, "wgidataset.xlsx")
        bundle.writestr("readme.pdf", b"%PDF-1.4")
    extract = read_wgi(archive)
    assert lookup(governance_of(extract), "DEU", 2023, "rl") == 1.5
    assert extract.files[0].name == "wgidataset_excel.zip"


def test_aggregates_are_dropped_and_reported(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "wgi.csv",
        [
            long_row("WLD", 2020, "va", "0"),
            long_row("WLD", 2020, "pv", "0"),
            long_row("EAS", 2020, "va", "0.1"),
            long_row("FRA", 2020, "va", "1.1"),
        ],
    )
    extract = read_wgi(path)
    assert governance_of(extract).column("country").to_pylist() == ["FRA"]
    assert any("EAS (1 rows), WLD (2 rows)" in note for note in extract.notes)


def test_older_wide_layout_one_sheet_per_indicator(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Introduction"
    book.active.append(["The Worldwide Governance Indicators, 2019 Update"])
    for title, offset in (("RuleofLaw", 0.0), ("ControlofCorruption", 1.0)):
        sheet = book.create_sheet(title)
        for _ in range(12):  # title rows of varying content above the header
            sheet.append(["Rule of Law"])
        sheet.append(["", "", 2017, "", "", "", "", "", 2018, "", "", "", "", ""])
        stats = ["Estimate", "StdErr", "NumSrc", "Rank", "Lower", "Upper"]
        sheet.append(["Country/Territory", "WBCode", *stats, *stats])
        sheet.append(
            ["Namibia", "NAM", 0.5 + offset, 0.2, 5, 60, 50, 70, "#N/A", "", "", "", "", ""]
        )
        sheet.append(
            ["Romania", "ROM", -0.25 + offset, 0.2, 5, 60, 50, 70, 0.0, 0.2, 5, 60, 50, 70]
        )
        sheet.append([])
    path = tmp_path / "wgidataset_2019.xlsx"
    book.save(path)
    extract = read_wgi(path)
    table = governance_of(extract)
    # 2 sheets x 2 economies x 2 years.
    assert table.num_rows == 8
    assert lookup(table, "NAM", 2017, "rl") == 0.5
    assert lookup(table, "NAM", 2018, "rl") is None
    assert lookup(table, "ROU", 2017, "cc") == 0.75
    assert lookup(table, "ROU", 2018, "rl") == 0.0
    assert extract.release == "WGI-2019"


# -- bad input -----------------------------------------------------------------------------------
def test_missing_column_lists_expected_and_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "wgi.csv", ["AFG,2020,cc,-1.0"], header="code,year,indicator,value")
    with pytest.raises(InputError) as info:
        read_wgi(path)
    message = str(info.value)
    assert "expected code, year, indicator, estimate" in message
    assert "found code, year, indicator, value" in message
    assert info.value.file == "wgi.csv" and info.value.line == 1


def test_bad_estimate_names_line_and_field(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "wgi.csv",
        [long_row("AFG", 2020, "cc", "-1.0"), "", long_row("ALB", 2020, "cc", "n/a")],
    )
    with pytest.raises(InputError, match="'n/a' is not a number") as info:
        read_wgi(path)
    # Header is line 1, AFG line 2, the blank line 3, ALB line 4.
    assert (info.value.file, info.value.line, info.value.field) == ("wgi.csv", 4, "estimate")


def test_bad_estimate_in_xlsx_names_the_sheet_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["code", "year", "indicator", "estimate"])
    book.active.append(["AFG", 2020, "cc", -1.0])
    book.active.append(["ALB", 2020, "cc", "inf"])
    path = tmp_path / "w.xlsx"
    book.save(path)
    with pytest.raises(InputError, match="'inf' is not a number") as info:
        read_wgi(path)
    assert info.value.line == 3


def test_unknown_indicator(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "wgi.csv", [long_row("AFG", 2020, "xx", "0.1")])
    with pytest.raises(InputError, match="unknown indicator 'xx'") as info:
        read_wgi(path)
    assert (info.value.line, info.value.field) == (2, "indicator")


def test_bad_year(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "wgi.csv", ["x,AFG,Afghanistan,20x0,cc,0.1,,,,,"])
    with pytest.raises(InputError, match="'20x0' is not a year"):
        read_wgi(path)


def test_unknown_country_code(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "wgi.csv", [long_row("AFG", 2020, "cc", "0.1"), long_row("XQZ", 2020, "cc", "0")]
    )
    with pytest.raises(UnknownCodeError, match="unknown country code 'XQZ'") as info:
        read_wgi(path)
    assert info.value.line == 3


def test_duplicate_row(tmp_path: Path) -> None:
    rows = [long_row("AFG", 2020, "cc", "0.1"), long_row("ALB", 2020, "cc", "0.2")]
    path = write_csv(tmp_path / "wgi.csv", [*rows, long_row("AFG", 2020, "cc", "0.3")])
    with pytest.raises(InputError, match=r"AFG 2020 cc appears twice \(lines 2 and 4") as info:
        read_wgi(path)
    assert info.value.line == 4


def test_duplicate_after_mapping_a_legacy_code(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "wgi.csv",
        [long_row("ROM", 2020, "rl", "0.1"), long_row("ROU", 2020, "rl", "0.1")],
    )
    with pytest.raises(InputError, match=r"ROU 2020 rl appears twice.*code ROM and ROU"):
        read_wgi(path)


@pytest.mark.parametrize("content", ["", HEADER + "\n"], ids=["no bytes", "header only"])
def test_empty_csv(tmp_path: Path, content: str) -> None:
    path = tmp_path / "wgi.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=r"the file is empty|no WGI rows"):
        read_wgi(path)


def test_empty_workbook(tmp_path: Path) -> None:
    path = tmp_path / "wgi.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(InputError, match="the file is empty"):
        read_wgi(path)


def test_damaged_workbook_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "wgi.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match="cannot be read as an Excel workbook"):
        read_wgi(path)
    with pytest.raises(InputError, match="no such file"):
        read_wgi(tmp_path / "absent.xlsx")


def test_only_missing_estimates_stay_null(tmp_path: Path) -> None:
    # ".." and blank are missing; "0" is a real estimate of zero.
    path = write_csv(
        tmp_path / "wgi.csv",
        [
            long_row("AFG", 2020, "cc", ".."),
            long_row("AFG", 2020, "ge", ""),
            long_row("AFG", 2020, "rl", "0"),
        ],
    )
    table = governance_of(read_wgi(path))
    assert lookup(table, "AFG", 2020, "rl") == 0.0
    assert table.column("estimate").null_count == 2
    assert not any(
        isinstance(v, float) and math.isnan(v) for v in table.column("estimate").to_pylist()
    )
