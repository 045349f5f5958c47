"""Tidy bilateral tables: the real BACI critical-materials slice, and small CSV/Parquet files."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chokepoints import schema
from chokepoints.errors import InputError
from chokepoints.sources.table import read_table

ATLAS = Path("baci/V202601_critical_materials_atlas/baci_2022.csv")
MAPPING = {"exporter": "i", "importer": "j", "product": "cmd", "value_usd": "value"}


def read(path: Path, **kwargs: Any) -> Any:
    """read_table with the BACI-like mapping, year 2022 and HS17 unless overridden."""
    arguments: dict[str, Any] = {
        "mapping": MAPPING,
        "year": 2022,
        "classification": "HS17",
        "source": "test",
    }
    arguments.update(kwargs)
    return read_table(path, **arguments)


def relation_rows(extract: Any) -> list[dict[str, Any]]:
    """All rows of the extract's single trade part, as dicts, in key order (not file order)."""
    (part,) = extract.trade
    relation = part.build(duckdb.connect()).order("year, exporter, importer, product")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def write(tmp_path: Path, text: str, name: str = "table.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --- the real BACI slice ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def atlas(shared_data: Path) -> Path:
    return shared_data / ATLAS


@pytest.fixture(scope="module")
def atlas_extract(atlas: Path) -> Any:
    return read(atlas, source="atlas")


@pytest.mark.shared_data
def test_atlas_counts_and_total(atlas: Path, atlas_extract: Any) -> None:
    with atlas.open(newline="") as handle:
        raw = list(csv.DictReader(handle))
    rows = relation_rows(atlas_extract)
    assert len(raw) == 23167  # PROVENANCE.md and `grep -c .` minus the header
    assert len(rows) == len(raw)
    assert math.fsum(r["value_usd"] for r in rows) == pytest.approx(
        math.fsum(float(r["value"]) for r in raw), rel=1e-12
    )
    assert math.fsum(r["value_usd"] for r in rows) == pytest.approx(388_462_163_631, rel=1e-12)
    assert len({r["product"] for r in rows}) == 30
    assert {(r["classification"], r["level"], r["year"]) for r in rows} == {("HS17", 6, 2022)}
    assert {(r["source"], r["release"], r["reporter_side"]) for r in rows} == {
        ("atlas", "user", "reconciled")
    }


@pytest.mark.shared_data
def test_atlas_taiwan_and_codes(atlas: Path, atlas_extract: Any) -> None:
    with atlas.open(newline="") as handle:
        raw = list(csv.DictReader(handle))
    rows = relation_rows(atlas_extract)
    assert sum(r["i"] == "S19" for r in raw) == 334
    assert sum(r["exporter"] == "TWN" for r in rows) == 334
    assert sum(r["importer"] == "TWN" for r in rows) == sum(r["j"] == "S19" for r in raw) == 316
    codes = {r["exporter"] for r in rows} | {r["importer"] for r in rows}
    assert "S19" not in codes
    assert not [code for code in codes if code.startswith("?")]


@pytest.mark.shared_data
def test_atlas_one_flow(atlas_extract: Any) -> None:
    rows = relation_rows(atlas_extract)
    # grep '^CHN,JPN,850511,' baci_2022.csv -> CHN,JPN,850511,229683019.0
    (flow,) = [
        r for r in rows if (r["exporter"], r["importer"], r["product"]) == ("CHN", "JPN", "850511")
    ]
    assert flow["value_usd"] == 229_683_019.0
    assert flow["quantity_t"] is None
    # grep '^S19,JPN,850511,' baci_2022.csv -> S19,JPN,850511,3784549.0
    (taiwan,) = [
        r for r in rows if (r["exporter"], r["importer"], r["product"]) == ("TWN", "JPN", "850511")
    ]
    assert taiwan["value_usd"] == 3_784_549.0


@pytest.mark.shared_data
def test_atlas_rows_match_relation(atlas_extract: Any) -> None:
    (part,) = atlas_extract.trade
    assert part.slice == "all"
    lines = list(part.rows())
    assert [line for line, _ in lines[:2]] == [2, 3]
    assert lines[0][1]["exporter"] == "ABW" and lines[0][1]["value_usd"] == 235.0
    assert sorted(tuple(row.values()) for _, row in lines) == sorted(
        tuple(row.values()) for row in relation_rows(atlas_extract)
    )
    relation = part.build(duckdb.connect())
    assert relation.columns == schema.TRADE.names
    assert [str(t) for t in relation.types] == [
        "SMALLINT", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TINYINT", "DOUBLE", "DOUBLE",
        "VARCHAR", "VARCHAR", "VARCHAR",
    ]  # fmt: skip


# --- small files -----------------------------------------------------------------------------


def test_missing_column_lists_the_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "i,j,cmd,val\nDEU,FRA,850511,5\n")
    with pytest.raises(InputError) as info:
        read(path)
    assert "'value' not in the file" in str(info.value)
    assert "'i', 'j', 'cmd', 'val'" in str(info.value)


def test_non_numeric_value_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "i,j,cmd,value\nDEU,FRA,850511,5\nDEU,JPN,850511,1.234,5\n")
    with pytest.raises(InputError) as info:
        read(path)
    # Five fields in a four-column header: DuckDB's own error, with its line.
    assert info.value.line == 3
    path = write(tmp_path, 'i,j,cmd,value\nDEU,FRA,850511,5\n\nDEU,JPN,850511,"1,234"\n')
    with pytest.raises(InputError, match="value '1,234' is not a number") as info:
        read(path)
    assert (info.value.line, info.value.field) == (4, "value")


def test_unknown_country_code_is_marked(tmp_path: Path) -> None:
    path = write(tmp_path, "i,j,cmd,value\nXYZ,FRA,850511,5\nDEU,9999,850511,6\n")
    extract = read(path)
    assert [(r["exporter"], r["importer"]) for r in relation_rows(extract)] == [
        ("?XYZ", "FRA"),
        ("DEU", "?9999"),
    ]
    assert "2 rows have a country code" in " ".join(extract.notes)
    assert [row["exporter"] for _, row in extract.trade[0].rows()] == ["?XYZ", "DEU"]


def test_code_shapes_in_auto_mode(tmp_path: Path) -> None:
    # ISO2 (NA is Namibia, never a missing value), BACI numbers 842/490/699, lower-case ISO3.
    path = write(tmp_path, "i,j,cmd,value\nNA,842,850511,1\n490,de,850511,2\n699,jpn,850511,3\n")
    pairs = {(r["exporter"], r["importer"]) for r in relation_rows(read(path))}
    assert pairs == {("NAM", "USA"), ("TWN", "DEU"), ("IND", "JPN")}
    forced = {(r["exporter"], r["importer"]) for r in relation_rows(read(path, codes="iso3"))}
    assert forced == {("?NA", "?842"), ("?490", "?de"), ("?699", "JPN")}


def test_thousands_unit_and_quantity(tmp_path: Path) -> None:
    path = write(tmp_path, "i;j;cmd;value;q\nDEU;FRA;10121;1.5;NA\nDEU;JPN;2804;0.25;3.5\n")
    extract = read(path, unit="thousands", mapping={**MAPPING, "quantity_t": "q"})
    rows = relation_rows(extract)
    assert [(r["product"], r["level"]) for r in rows] == [("010121", 6), ("2804", 4)]
    assert [r["value_usd"] for r in rows] == [1500.0, 250.0]
    assert [r["quantity_t"] for r in rows] == [None, 3.5]
    assert "multiplied by 1000" in " ".join(extract.notes)
    assert [row for _, row in extract.trade[0].rows()] == rows
    assert extract.trade[0].fields == {**MAPPING, "quantity_t": "q", "level": "cmd"}


def test_parquet_input(tmp_path: Path) -> None:
    path = tmp_path / "flows.parquet"
    table = pa.table(
        {
            "i": [276, 490],
            "j": ["FRA", "S19"],
            "cmd": [10121, 850511],  # numbers that lost their leading zero
            "value": [1.5, 2.0],
            "t": [2021, 2022],
        }
    )
    pq.write_table(table, path)
    extract = read(path, year=None, mapping={**MAPPING, "year": "t"})
    rows = relation_rows(extract)
    assert [(r["year"], r["exporter"], r["importer"], r["product"]) for r in rows] == [
        (2021, "DEU", "FRA", "010121"),
        (2022, "TWN", "TWN", "850511"),
    ]
    assert [(n, row) for n, row in extract.trade[0].rows()] == list(enumerate(rows, start=1))


def test_parquet_bad_value_names_row(tmp_path: Path) -> None:
    path = tmp_path / "flows.parquet"
    pq.write_table(pa.table({"i": ["DEU", "DEU"], "j": ["FRA", "JPN"], "cmd": ["01", "02"],
                             "value": ["1", "n/a"]}), path)  # fmt: skip
    with pytest.raises(InputError, match="'n/a' in row 2 is not a number"):
        read(path)


def test_latin1_file(tmp_path: Path) -> None:
    path = write(tmp_path, "i,j,cmd,value,name\nCIV,FRA,1801,5,Côte d'Ivoire\n", encoding="latin-1")
    extract = read(path)
    assert [r["exporter"] for r in relation_rows(extract)] == ["CIV"]
    assert "read as Latin-1" in " ".join(extract.notes)


def test_year_column_and_bad_year(tmp_path: Path) -> None:
    path = write(tmp_path, "t,i,j,cmd,value\n2021,DEU,FRA,01,1\n21,DEU,FRA,01,1\n")
    with pytest.raises(InputError, match="'21' is not a four-digit year") as info:
        read(path, year=None, mapping={**MAPPING, "year": "t"})
    assert info.value.line == 3


def test_year_must_come_from_one_place(tmp_path: Path) -> None:
    path = write(tmp_path, "t,i,j,cmd,value\n2021,DEU,FRA,01,1\n")
    with pytest.raises(InputError, match="one of them"):
        read(path, year=None)
    with pytest.raises(InputError, match="not both"):
        read(path, mapping={**MAPPING, "year": "t"})


def test_bad_arguments(tmp_path: Path) -> None:
    path = write(tmp_path, "i,j,cmd,value\nDEU,FRA,01,1\n")
    with pytest.raises(InputError, match="not an HS revision"):
        read(path, classification="SITC4")
    with pytest.raises(InputError, match="unit 'millions'"):
        read(path, unit="millions")
    with pytest.raises(InputError, match="lacks value_usd"):
        read(path, mapping={k: v for k, v in MAPPING.items() if k != "value_usd"})
    assert {r["classification"] for r in relation_rows(read(path, classification="CN2022"))} == {
        "CN2022"
    }


def test_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no data rows"):
        read(write(tmp_path, "i,j,cmd,value\n"))
    with pytest.raises(InputError, match="empty"):
        read(write(tmp_path, "", name="zero.csv"))


def test_too_long_product_code(tmp_path: Path) -> None:
    path = write(tmp_path, "i,j,cmd,value\nDEU,FRA,01,1\nDEU,FRA,8542310010,1\n")
    with pytest.raises(InputError, match="longer than the 8 digits") as info:
        read(path)
    assert info.value.line == 3
