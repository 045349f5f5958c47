"""The built-in country table against CEPII's own country files and known quirks."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.countries import (
    baci_code_map,
    baci_numeric_map,
    countries,
    known_iso3,
    read_baci_country_file,
    to_iso3,
)

COUNTRY_FILES = {
    "baci/V202301_Anesouadou/country_codes_V202301.csv": "iso_3digit_alpha",
    "baci/V202401_tradalyze/country_codes_V202401.csv": "country_iso3",
    "baci/V202501_tomasdata/country_codes_V202501.csv": "country_iso3",
    "baci/V202601_critical_materials_atlas/country_codes_V202601.csv": "country_iso3",
}

#: Where the built-in table knowingly differs from a release's file, and why.
DELIBERATE = {
    ("country_codes_V202301.csv", 490): "TWN",  # the file writes N/A for Taiwan
    ("country_codes_V202301.csv", 697): "R20",  # N/A for "Europe EFTA, nes"
    ("country_codes_V202301.csv", 849): "PUS",  # N/A for US Misc. Pacific Islands
    ("country_codes_V202301.csv", 711): "ZA1",  # the file maps SACU (...1999) to ZAF
}


@pytest.mark.parametrize("relative", sorted(COUNTRY_FILES))
def test_every_baci_code_maps_as_cepii_says(shared_data: Path, relative: str) -> None:
    path = shared_data / relative
    iso_column = COUNTRY_FILES[relative]
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 238
    table = baci_numeric_map()
    for row in rows:
        code = int(row["country_code"])
        expected = DELIBERATE.get((path.name, code), row[iso_column])
        expected = "TWN" if expected == "S19" else expected
        assert table[code] == expected, row
        assert expected in known_iso3()


def test_reading_the_v202301_layout_skips_na(shared_data: Path) -> None:
    mapping = read_baci_country_file(
        shared_data / "baci/V202301_Anesouadou/country_codes_V202301.csv"
    )
    assert 490 not in mapping  # written N/A
    assert mapping[842] == "USA" and mapping[251] == "FRA" and mapping[699] == "IND"


def test_archive_file_adds_only_unknown_codes() -> None:
    text = "country_code,country_name,country_iso2,country_iso3\n392,Japan,JP,XXX\n999,New,,NZL\n"
    mapping = baci_code_map(text)
    assert mapping[392] == "JPN"  # the verified table wins
    assert mapping[999] == "NZL"  # a code the table does not know is taken from the file


def test_bad_country_file() -> None:
    with pytest.raises(InputError, match="not a BACI country file"):
        read_baci_country_file("x.csv", "code,name\n1,a\n")
    with pytest.raises(InputError, match="line 3"):
        read_baci_country_file("x.csv", "country_code,country_iso3\n4,AFG\nabc,XXX\n")


@pytest.mark.parametrize(
    ("code", "iso3"),
    [
        ("S19", "TWN"),
        ("490", "TWN"),
        (842, "USA"),
        ("251", "FRA"),
        ("de", "DEU"),
        ("NA", "NAM"),
        ("ROM", "ROU"),
        ("ZAR", "COD"),
        ("jpn", "JPN"),
        ("0156", "CHN"),
    ],
)
def test_to_iso3(code: str | int, iso3: str) -> None:
    assert to_iso3(code) == iso3


def test_unknown_code_is_a_clear_error() -> None:
    with pytest.raises(UnknownCodeError, match="unknown country code 'XYZ'"):
        to_iso3("XYZ")


def test_countries_table_has_source_codes_and_flags() -> None:
    table = countries().set_index("iso3")
    assert table.loc["USA", "baci_code"] == 842 and table.loc["USA", "iso_numeric"] == 840
    assert table.loc["TWN", "baci_code"] == 490
    assert table.loc["BEL", "baci_code"] == 56  # 58 is the historical Belgium-Luxembourg
    assert table.loc["NAM", "iso2"] == "NA"  # not parsed as missing
    assert not table.loc["R20", "is_country"] and table.loc["DEU", "is_country"]
    assert table.index.is_unique
