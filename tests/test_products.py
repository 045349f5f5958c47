"""The strategic product catalogue (derived from the sector files) and the BACI file reader."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from chokepoints.errors import InputError
from chokepoints.reference.products import (
    CATALOGUE_SECTORS,
    read_baci_product_file,
    sector_of,
    strategic_products,
)
from chokepoints.reference.sectors import list_sectors, sector_table
from chokepoints.schema import PRODUCTS

REVISIONS = ("HS92", "HS12", "HS17", "HS22")


def read_real(path: Path) -> pa.Table:
    """Read a real BACI product file through the function under test."""
    return read_baci_product_file(path.name, path.read_text(encoding="utf-8"))


# --- catalogue -------------------------------------------------------------------------------


def test_catalogue_shape_and_codes() -> None:
    data = strategic_products()
    assert list(data.columns) == ["product", "classification", "sector", "description"]
    assert 500 <= len(data) <= 900
    assert set(data["classification"]) == set(REVISIONS)
    assert data["product"].str.fullmatch(r"\d{6}").all()
    assert set(data["sector"]) == set(CATALOGUE_SECTORS)
    assert (data["description"].str.len() >= 4).all()  # "Urea" is the shortest
    assert not data.duplicated(["product", "classification"]).any()


def test_catalogue_sectors_are_the_builtin_sectors_that_are_not_composites() -> None:
    sectors = list_sectors()
    plain = sectors.loc[sectors["includes"].map(len) == 0, "id"]
    assert set(CATALOGUE_SECTORS) == set(plain)
    assert len(CATALOGUE_SECTORS) == len(set(CATALOGUE_SECTORS)) == 12
    assert "eu_sensitive_ecosystems" not in CATALOGUE_SECTORS


@pytest.mark.parametrize("classification", REVISIONS)
def test_catalogue_files_each_code_under_its_first_sector(classification: str) -> None:
    memberships = sector_table(classification)
    memberships = memberships[memberships["sector"].isin(CATALOGUE_SECTORS)]
    rank = memberships["sector"].map(CATALOGUE_SECTORS.index)
    expected = memberships.loc[rank.groupby(memberships["product"]).idxmin()]
    data = strategic_products()
    data = data[data["classification"] == classification]
    assert dict(zip(data["product"], data["sector"], strict=True)) == dict(
        zip(expected["product"], expected["sector"], strict=True)
    )


@pytest.mark.parametrize(
    ("product", "classification", "sector"),
    [
        ("283691", "HS17", "critical_minerals"),  # lithium carbonate, also in batteries
        ("811292", "HS22", "critical_minerals"),  # gallium, germanium
        ("811291", "HS92", "critical_minerals"),  # gallium before HS2007
        ("260500", "HS17", "critical_minerals"),  # cobalt ores
        ("854231", "HS17", "semiconductors"),  # processors
        ("854211", "HS92", "semiconductors"),  # HS92 digital integrated circuits
        ("848620", "HS22", "semiconductors"),  # lithography and other fab machines
        ("850760", "HS17", "batteries"),  # lithium-ion cells
        ("850780", "HS92", "batteries"),  # lithium-ion cells before HS2007
        ("850511", "HS17", "permanent_magnets"),
        ("854140", "HS17", "solar_pv"),  # HS17 PV cells and modules
        ("854143", "HS22", "solar_pv"),  # HS22 PV modules
        ("280461", "HS22", "solar_pv"),  # polysilicon, also in semiconductors
        ("271111", "HS17", "lng_energy"),
        ("270112", "HS17", "lng_energy"),  # coking coal, also in critical_minerals
        ("294110", "HS17", "pharmaceuticals_antimicrobials"),  # penicillins
        ("310420", "HS22", "fertilizers"),  # potash
        ("251010", "HS22", "critical_minerals"),  # phosphate rock, also in fertilizers
        ("847950", "HS17", "machine_tools_robots"),
        ("848510", "HS22", "machine_tools_robots"),  # HS22: metal 3D printers
        ("848510", "HS92", "ship_equipment"),  # HS92: ships' propellers
        ("880330", "HS17", "aircraft_parts"),
        ("880730", "HS22", "aircraft_parts"),
        ("840810", "HS17", "ship_equipment"),
        ("870380", "HS22", "electric_vehicles"),
        ("870390", "HS12", "electric_vehicles"),  # electric cars before HS2017
    ],
)
def test_sector_of_known_codes(product: str, classification: str, sector: str) -> None:
    assert sector_of(product, classification) == sector


def test_sector_of_respects_the_revision() -> None:
    # HS22 split 854140 into 854141-854149 and moved aircraft parts from 8803 to 8807.
    assert sector_of("854140", "HS22") is None
    assert sector_of("854142", "HS17") is None
    assert sector_of("880330", "HS22") is None
    assert sector_of("854143", "hs22") == "solar_pv"
    assert sector_of("850760", "HS92") is None  # lithium-ion cells have a code since HS2012
    assert sector_of("870390", "HS17") is None  # not electric cars any more from HS2017
    assert sector_of("010121", "HS17") is None  # horses are not strategic
    assert sector_of("850511", "HS07") is None  # no sector lists HS07


def test_codes_differ_between_revisions_only_where_the_hs_renumbered() -> None:
    data = strategic_products()
    listed = {rev: set(data.loc[data["classification"] == rev, "product"]) for rev in REVISIONS}
    # HS22: PV cells and other semiconductor devices split, bismuth split, hafnium and
    # metal 3D printers created, forming machines and aircraft parts renumbered, electric
    # lorries, PV generators and human vaccines given codes.
    assert listed["HS17"] - listed["HS22"] == {
        "300220", "810600", "846221", "846231", "846241", "854140", "854150",
        "880310", "880320", "880330", "880390",
    }  # fmt: skip
    assert listed["HS22"] - listed["HS17"] == {
        "300241", "810610", "810690", "811231", "846223", "846224", "846225", "846226",
        "846233", "846242", "846251", "848510", "850171", "850172", "850180", "854142",
        "854143", "854151", "854159", "870460", "880710", "880720", "880730", "880790",
    }  # fmt: skip
    # HS17: superphosphates, NC grinding, laser and boring machines, immunological products,
    # electric vehicles.
    assert listed["HS12"] - listed["HS17"] == {
        "300210", "310310", "845610", "846011", "846021", "870390",
    }  # fmt: skip
    assert listed["HS17"] - listed["HS12"] == {
        "300213", "300214", "300215", "310311", "310319", "845611", "845612", "845941",
        "846012", "846022", "846023", "846024", "870240", "870360", "870370", "870380",
        "871160",
    }  # fmt: skip
    sectors = data.pivot(index="product", columns="classification", values="sector")
    # A code listed in several revisions is in the same sector, except 848510, which HS22
    # reused for another product.
    changed = sectors[sectors.nunique(axis=1) > 1].index
    assert list(changed) == ["848510"]


def test_strategic_products_returns_a_copy() -> None:
    first = strategic_products()
    first.loc[:, "sector"] = "changed"
    assert "changed" not in set(strategic_products()["sector"])
    assert sector_of("850511", "HS17") == "permanent_magnets"


@pytest.mark.shared_data
@pytest.mark.parametrize("classification", REVISIONS)
def test_every_catalogue_code_exists_in_its_revision(
    shared_data: Path, classification: str
) -> None:
    path = (
        shared_data / "baci" / "V202401_tradalyze" / f"product_codes_{classification}_V202401.csv"
    )
    known = set(read_real(path).column("product").to_pylist())
    data = strategic_products()
    listed = set(data.loc[data["classification"] == classification, "product"])
    assert listed - known == set()


# --- BACI product files: real ----------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("folder", "name", "rows", "first"),
    [
        ("V202301_Anesouadou", "product_codes_HS92_V202301.csv", 5022, "010111"),
        ("V202401_tradalyze", "product_codes_HS92_V202401.csv", 5022, "010111"),
        ("V202401_tradalyze", "product_codes_HS17_V202401.csv", 5384, "010121"),
        ("V202401_tradalyze", "product_codes_HS22_V202401.csv", 5609, "010121"),
    ],
)
def test_read_real_baci_product_files(
    shared_data: Path, folder: str, name: str, rows: int, first: str
) -> None:
    table = read_real(shared_data / "baci" / folder / name)
    assert table.schema == PRODUCTS
    assert table.num_rows == rows
    assert table.column("product")[0].as_py() == first  # leading zero kept
    assert set(table.column("classification").to_pylist()) == {name.split("_")[2]}
    assert set(table.column("level").to_pylist()) == {6}
    codes = table.column("product").to_pylist()
    assert len(set(codes)) == rows
    assert all(re.fullmatch(r"\d{6}|9999AA", code) for code in codes)
    magnets = table.filter(pc.equal(table.column("product"), "850511"))
    assert "permanent magnets" in magnets.column("description")[0].as_py()
    assert "of metal" in magnets.column("description")[0].as_py()


@pytest.mark.shared_data
def test_real_hs92_file_keeps_the_legacy_code(shared_data: Path) -> None:
    path = shared_data / "baci" / "V202301_Anesouadou" / "product_codes_HS92_V202301.csv"
    codes = read_real(path).column("product").to_pylist()
    assert codes[-2:] == ["999999", "9999AA"]


# --- BACI product files: small files in the same layout --------------------------------------


def test_reader_pads_codes_strips_bom_and_handles_crlf() -> None:
    text = (
        '\ufeff"code","description"\r\n'
        '"10121","Horses, pure-bred"\r\n'
        '850511,"Magnets, of metal"\r\n'
    )
    table = read_baci_product_file("product_codes_HS17_V202401.csv", text)
    assert table.to_pylist() == [
        {"product": "010121", "classification": "HS17", "level": 6,
         "description": "Horses, pure-bred"},
        {"product": "850511", "classification": "HS17", "level": 6,
         "description": "Magnets, of metal"},
    ]  # fmt: skip


def test_reader_takes_the_revision_from_the_argument() -> None:
    table = read_baci_product_file(
        "codes.csv", "code,description\n271111,LNG\n", classification="hs22"
    )
    assert table.column("classification").to_pylist() == ["HS22"]


def test_reader_keeps_empty_descriptions_as_null() -> None:
    table = read_baci_product_file("product_codes_HS12_V202401.csv", "code,description\n271111,\n")
    assert table.column("description").to_pylist() == [None]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("code,description\n010121,Horses\n12a456,Bad\n", "line 3", "12a456"),
        ("code,description\n010121,Horses\n1234,Too short\n", "line 3", "1234"),
        ("code,description\n1234567,Too long\n", "line 2", "1234567"),
        ("code,description\n,No code\n", "line 2", "''"),
        ("code,description\n850511,A\n850760,B\n850511,C\n", "line 4", "first on line 2"),
        ("hs6,text\n850511,A\n", "line 1", "expected columns code and description"),
        ("", "line 1", "found none"),
    ],
)
def test_reader_rejects_bad_files_naming_file_and_line(text: str, where: str, what: str) -> None:
    with pytest.raises(InputError) as caught:
        read_baci_product_file("product_codes_HS17_V202401.csv", text)
    message = str(caught.value)
    assert message.startswith(f"product_codes_HS17_V202401.csv, {where}:")
    assert what in message


def test_reader_rejects_a_file_without_revision() -> None:
    with pytest.raises(InputError, match=r"codes\.csv: cannot tell the HS revision"):
        read_baci_product_file("codes.csv", "code,description\n850511,Magnets\n")
