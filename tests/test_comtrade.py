"""Comtrade Plus CSV exports: the real Thailand HS 8542 extract, and small files in its layout."""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from chokepoints import schema
from chokepoints.errors import InputError
from chokepoints.sources.comtrade import read_comtrade

THAILAND = Path("comtrade/THA_M_8542_2014-2024_methakanb/TradeData.csv")

# fmt: off
#: The 47 columns of a Comtrade Plus CSV export, in order (header of the real file).
HEADER = [
    "typeCode", "freqCode", "refPeriodId", "refYear", "refMonth", "period", "reporterCode",
    "reporterISO", "reporterDesc", "flowCode", "flowDesc", "partnerCode", "partnerISO",
    "partnerDesc", "partner2Code", "partner2ISO", "partner2Desc", "classificationCode",
    "classificationSearchCode", "isOriginalClassification", "cmdCode", "cmdDesc", "aggrLevel",
    "isLeaf", "customsCode", "customsDesc", "mosCode", "motCode", "motDesc", "qtyUnitCode",
    "qtyUnitAbbr", "qty", "isQtyEstimated", "altQtyUnitCode", "altQtyUnitAbbr", "altQty",
    "isAltQtyEstimated", "netWgt", "isNetWgtEstimated", "grossWgt", "isGrossWgtEstimated",
    "cifvalue", "fobvalue", "primaryValue", "legacyEstimationFlag", "isReported", "isAggregate",
]
# fmt: on

#: One row of the real file (line 3: Thailand imports from Andorra, 2014), as the default row.
DEFAULT = dict(
    zip(
        HEADER,
        [
            "C", "A", "20140101", "2014", "52", "2014", "764", "THA", "Thailand", "M", "Import",
            "20", "AND", "Andorra", "0", "W00", "World", "H4", "HS", "true", "8542",
            "Electronic integrated circuits", "4", "false", "C00", "TOTAL CPC", "0", "0",
            "TOTAL MOT", "-1", "N/A", "", "false", "-1", "N/A", "", "false", "74", "true", "",
            "false", "60938", "", "60938", "4", "true", "false",
        ],
        strict=True,
    )
)  # fmt: skip


def write_export(
    folder: Path,
    rows: list[dict[str, str]],
    *,
    header: list[str] = HEADER,
    encoding: str = "latin-1",
    trailing_comma: bool = True,
    name: str = "TradeData.csv",
) -> Path:
    """Write a Comtrade Plus export: quoted non-empty fields, empty ones bare, rows ending ','."""
    lines = [",".join(header)]
    for overrides in rows:
        row = {**DEFAULT, **overrides}
        fields = [f'"{row[column]}"' if row.get(column) else "" for column in header]
        lines.append(",".join(fields) + ("," if trailing_comma else ""))
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def relation_rows(part: Any) -> list[dict[str, Any]]:
    """All rows of a trade part's relation, as dicts."""
    relation = part.build(duckdb.connect())
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def all_rows(path: Path, **kwargs: Any) -> list[dict[str, Any]]:
    """Every canonical row of an export, all parts together."""
    return [row for part in read_comtrade(path, **kwargs).trade for row in relation_rows(part)]


# --- the real export -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thailand(shared_data: Path) -> Path:
    return shared_data / THAILAND


@pytest.fixture(scope="module")
def raw_rows(thailand: Path) -> list[dict[str, str]]:
    """The real file read with the csv module only (Latin-1, trailing empty field)."""
    with thailand.open(encoding="latin-1", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.shared_data
def test_thailand_country_rows_and_exclusions(thailand: Path) -> None:
    extract = read_comtrade(thailand)
    assert [part.slice for part in extract.trade] == [
        "THA-M-" + hashlib.sha1(b"8542").hexdigest()[:8]
    ]
    rows = relation_rows(extract.trade[0])
    # 1178 data rows = 1159 partner countries + 11 World (W00) + 8 "Areas, nes" (_X, 899),
    # counted with Python's csv module and checked by hand with grep.
    assert len(rows) == 1159
    notes = " ".join(extract.notes)
    assert "excluded 11 rows with partner World (W00)" in notes
    assert "excluded 8 rows with partner areas not elsewhere specified (_X)" in notes
    assert "211,853 USD" in notes  # 9504 + 14283.58 + 5812.46 + 19.86 + ... (_X rows)
    assert {row["importer"] for row in rows} == {"THA"}
    assert {row["reporter_side"] for row in rows} == {"importer"}
    assert not [row for row in rows if row["exporter"].startswith("?")]
    assert {"W00", "_X", "S19", "WLD"}.isdisjoint({row["exporter"] for row in rows})


@pytest.mark.shared_data
def test_thailand_values_by_year(thailand: Path, raw_rows: list[dict[str, str]]) -> None:
    rows = relation_rows(read_comtrade(thailand).trade[0])
    by_year: dict[int, float] = {}
    for row in rows:
        by_year[row["year"]] = by_year.get(row["year"], 0.0) + row["value_usd"]
    # Exact sums of primaryValue over partners other than World and Areas nes, by Decimal.
    assert by_year[2014] == pytest.approx(9_680_785_825, abs=1e-3)
    assert by_year[2024] == pytest.approx(24_427_995_897.78, abs=1e-3)
    expected: dict[int, Decimal] = {}
    for raw in raw_rows:
        if raw["partnerCode"] not in ("0", "899"):
            year = int(raw["refYear"])
            expected[year] = expected.get(year, Decimal(0)) + Decimal(raw["primaryValue"])
    assert sorted(by_year) == list(range(2014, 2025))
    for year, total in expected.items():
        assert by_year[year] == pytest.approx(float(total), rel=1e-12), year


@pytest.mark.shared_data
def test_thailand_revision_per_year(thailand: Path) -> None:
    rows = relation_rows(read_comtrade(thailand).trade[0])
    revisions = {(row["year"], row["classification"]) for row in rows}
    # classificationCode by refYear in the file: H4 2014-2016, H5 2017-2021, H6 2022-2024.
    assert revisions == (
        {(year, "HS12") for year in range(2014, 2017)}
        | {(year, "HS17") for year in range(2017, 2022)}
        | {(year, "HS22") for year in range(2022, 2025)}
    )
    assert {(row["product"], row["level"]) for row in rows} == {("8542", 4)}


@pytest.mark.shared_data
def test_thailand_taiwan_is_twn(thailand: Path) -> None:
    extract = read_comtrade(thailand)
    rows = relation_rows(extract.trade[0])
    taiwan = {row["year"]: row for row in rows if row["exporter"] == "TWN"}
    assert sorted(taiwan) == list(range(2014, 2025))
    # Line 1177 of the file: partner 490 "Other Asia, nes" (S19), primaryValue 10653838520.8,
    # netWgt 1933515.382 kg.
    assert taiwan[2024]["value_usd"] == 10_653_838_520.8
    assert taiwan[2024]["quantity_t"] == pytest.approx(1933.515382)
    assert taiwan[2014]["quantity_t"] is None  # netWgt is empty for 2014-2017
    assert 'read 11 rows of partner "Other Asia, nes" (490) as Taiwan' in extract.notes


@pytest.mark.shared_data
def test_thailand_rows_match_relation_and_lines(thailand: Path) -> None:
    part = read_comtrade(thailand).trade[0]
    lines = list(part.rows())
    assert sorted(map(repr, (row for _, row in lines))) == sorted(map(repr, relation_rows(part)))
    with thailand.open(encoding="latin-1") as handle:
        text = handle.read().splitlines()
    by_line = dict(lines)
    taiwan_line = next(n for n, row in lines if row["exporter"] == "TWN" and row["year"] == 2024)
    assert '"490","S19"' in text[taiwan_line - 1] and '"2024"' in text[taiwan_line - 1]
    assert by_line[3]["exporter"] == "AND" and by_line[3]["value_usd"] == 60938
    assert 2 not in by_line  # line 2 is the World row of 2014


@pytest.mark.shared_data
def test_thailand_products_and_files(thailand: Path) -> None:
    extract = read_comtrade(thailand, release="2026-06-19")
    assert extract.source == "comtrade" and extract.release == "2026-06-19"
    assert {row["release"] for row in relation_rows(extract.trade[0])} == {"2026-06-19"}
    assert [(f.name, f.bytes) for f in extract.files] == [("TradeData.csv", 398036)]
    assert "products" in extract.tables
    products = extract.tables["products"](duckdb.connect())
    assert products.columns == schema.PRODUCTS.names
    assert sorted(products.fetchall()) == [
        ("8542", revision, 4, "Electronic integrated circuits")
        for revision in ("HS12", "HS17", "HS22")
    ]
    trade = extract.trade[0].build(duckdb.connect())
    assert trade.columns == schema.TRADE.names
    assert [str(t) for t in trade.types] == [
        "SMALLINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TINYINT", "DOUBLE", "DOUBLE",
        "VARCHAR", "VARCHAR", "VARCHAR",
    ]  # fmt: skip
    assert read_comtrade(thailand).release == "unknown"


# --- small files in the same layout ----------------------------------------------------------


def test_utf8_without_trailing_comma_imports_and_exports(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        [
            {"partnerCode": "251", "partnerISO": "FRA", "partnerDesc": "France"},
            {
                "flowCode": "X",
                "partnerCode": "842",
                "partnerISO": "USA",
                "cmdCode": "854231",
                "primaryValue": "1500.5",
                "netWgt": "",
            },
            {"flowCode": "RX", "partnerCode": "156", "partnerISO": "CHN"},
            {"flowCode": "RM", "partnerCode": "156", "partnerISO": "CHN"},
            {"partnerCode": "384", "partnerISO": "CIV", "partnerDesc": "Côte d'Ivoire"},
        ],
        encoding="utf-8",
        trailing_comma=False,
    )
    extract = read_comtrade(path)
    slices = {part.slice for part in extract.trade}
    assert slices == {
        "THA-M-" + hashlib.sha1(b"8542").hexdigest()[:8],
        "THA-X-" + hashlib.sha1(b"854231").hexdigest()[:8],
    }
    rows = all_rows(path)
    imports = [(r["exporter"], r["importer"], r["reporter_side"]) for r in rows if r["level"] == 4]
    assert imports == [("FRA", "THA", "importer"), ("CIV", "THA", "importer")]
    (export,) = (r for r in rows if r["level"] == 6)
    assert (export["exporter"], export["importer"], export["reporter_side"]) == (
        "THA",
        "USA",
        "exporter",
    )
    assert export["value_usd"] == 1500.5 and export["quantity_t"] is None
    assert rows[0]["quantity_t"] == pytest.approx(0.074)  # netWgt 74 kg
    assert "skipped 2 rows of other flows (RM: 1, RX: 1)" in " ".join(extract.notes)
    fields = {part.slice[:5]: part.fields for part in extract.trade}
    assert (fields["THA-M"]["exporter"], fields["THA-M"]["importer"]) == (
        "partnerCode",
        "reporterCode",
    )
    assert (fields["THA-X"]["exporter"], fields["THA-X"]["value_usd"]) == (
        "reporterCode",
        "primaryValue",
    )


def test_latin1_names_and_numeric_fallback(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        [{"partnerCode": "699", "partnerISO": "", "partnerDesc": "Índia"}],
    )
    assert [row["exporter"] for row in all_rows(path)] == ["IND"]


def test_unknown_partner_code_is_marked(tmp_path: Path) -> None:
    path = write_export(tmp_path, [{"partnerCode": "999", "partnerISO": "ZZZ"}])
    assert [row["exporter"] for row in all_rows(path)] == ["?999"]


def test_non_country_partners_are_excluded_by_kind(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        [
            {"partnerCode": "0", "partnerISO": "W00", "partnerDesc": "World", "primaryValue": "9"},
            {"partnerCode": "837", "partnerISO": "XX", "primaryValue": "2"},
            {"partnerCode": "839", "partnerISO": "X2", "primaryValue": "3"},
            {"partnerCode": "97", "partnerISO": "EUR", "primaryValue": "4"},
            {"partnerCode": "577", "partnerISO": "X5", "partnerDesc": "Other Africa, nes"},
            {"partnerCode": "392", "partnerISO": "JPN"},
            {"partnerCode": "392", "partnerISO": "JPN", "cmdCode": "TOTAL", "primaryValue": "7"},
        ],
    )
    extract = read_comtrade(path)
    notes = " ".join(extract.notes)
    assert [row["exporter"] for row in all_rows(path)] == ["JPN"]
    assert "excluded 1 rows with partner World (W00) worth 9 USD" in notes
    assert "excluded 2 rows with partner special categories" in notes and "(X2, XX)" in notes
    assert "excluded 1 rows with partner country groups (EUR) worth 4 USD" in notes
    assert "excluded 1 rows with partner areas not elsewhere specified (X5)" in notes
    assert "excluded 1 rows with product total of all products (TOTAL) worth 7 USD" in notes


def test_breakdowns_keep_totals(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        [
            {"primaryValue": "100"},
            {"motCode": "1000", "motDesc": "Air", "primaryValue": "60"},
            {"motCode": "2100", "motDesc": "Sea", "primaryValue": "40"},
        ],
    )
    assert [row["value_usd"] for row in all_rows(path)] == [100.0]
    assert "dropped 2 breakdowns" in " ".join(read_comtrade(path).notes)


def test_breakdowns_without_totals_fail(tmp_path: Path) -> None:
    path = write_export(
        tmp_path,
        [{"customsCode": "C01", "primaryValue": "60"}, {"customsCode": "C02"}],
    )
    with pytest.raises(InputError, match="no total") as info:
        read_comtrade(path)
    assert info.value.line == 2


def test_odd_product_code_gets_its_zero_back(tmp_path: Path) -> None:
    path = write_export(tmp_path, [{"cmdCode": "10121", "aggrLevel": "6"}])
    assert [(r["product"], r["level"]) for r in all_rows(path)] == [("010121", 6)]


def test_renamed_column(tmp_path: Path) -> None:
    header = [("tradeValue" if c == "primaryValue" else c) for c in HEADER]
    rows = [{**DEFAULT, "tradeValue": "5"}]
    path = write_export(tmp_path, rows, header=header)
    with pytest.raises(InputError) as info:
        read_comtrade(path)
    message = str(info.value)
    assert "primaryValue missing" in message and "tradeValue" in message
    assert info.value.line == 1


def test_non_numeric_value_names_line_and_field(tmp_path: Path) -> None:
    path = write_export(tmp_path, [{}, {}, {"partnerCode": "392", "primaryValue": "12,5"}])
    with pytest.raises(InputError, match="'12,5' is not a number") as info:
        read_comtrade(path)
    assert (info.value.line, info.value.field) == (4, "primaryValue")


def test_header_only_and_zero_bytes(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no data rows"):
        read_comtrade(write_export(tmp_path, []))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_comtrade(empty)


def test_not_a_comtrade_export(tmp_path: Path) -> None:
    path = tmp_path / "baci.csv"
    path.write_text("t,i,j,k,v,q\n2022,276,251,850511,12.5,1\n")
    with pytest.raises(InputError, match="not a Comtrade Plus CSV export") as info:
        read_comtrade(path)
    assert "refYear" in str(info.value) and "t, i, j, k, v, q" in str(info.value)


def test_utf16_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "TradeData.csv"
    path.write_bytes((",".join(HEADER) + "\n").encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        read_comtrade(path)


def test_monthly_data_is_refused(tmp_path: Path) -> None:
    path = write_export(tmp_path, [{"freqCode": "M", "refMonth": "3"}])
    with pytest.raises(InputError, match="annual") as info:
        read_comtrade(path)
    assert (info.value.line, info.value.field) == (2, "freqCode")


def test_world_only_file_fails(tmp_path: Path) -> None:
    path = write_export(tmp_path, [{"partnerCode": "0", "partnerISO": "W00"}])
    with pytest.raises(InputError, match="no import"):
        read_comtrade(path)


def test_group_reporter_is_refused(tmp_path: Path) -> None:
    path = write_export(tmp_path, [{"reporterCode": "97", "reporterISO": "EUR"}])
    with pytest.raises(InputError, match="not a country"):
        read_comtrade(path)


def test_short_row_names_line(tmp_path: Path) -> None:
    path = write_export(tmp_path, [{}, {}])
    lines = path.read_text(encoding="latin-1").splitlines()
    path.write_text("\n".join([*lines, lines[1].rsplit(",", 5)[0]]) + "\n", encoding="latin-1")
    with pytest.raises(InputError, match="fields") as info:
        read_comtrade(path)
    assert info.value.line == 4


def test_unknown_classification(tmp_path: Path) -> None:
    path = write_export(tmp_path, [{"classificationCode": "S4"}])
    with pytest.raises(InputError, match="not an HS revision"):
        read_comtrade(path)
