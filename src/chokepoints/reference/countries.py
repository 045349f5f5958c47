"""Countries and trade entities: ISO codes from country_converter plus source-specific codes.

The canonical country code is ISO3. Sources use other codes: BACI numbers countries with its own
variant of ISO numeric (842 USA, 251 France, 699 India, 490 "Other Asia, nes" = Taiwan) and
Comtrade uses M49 with the same exceptions. This module maps them all to ISO3 and keeps the
entities that are not countries (BACI's "Europe EFTA, nes", former states) flagged as such.
"""

from __future__ import annotations

import csv
import functools
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from chokepoints.errors import InputError, UnknownCodeError

if TYPE_CHECKING:
    import pandas as pd

#: BACI/Comtrade numeric codes that differ from ISO 3166 numeric, or are not in it at all.
#: Verified against CEPII's country_codes files of releases V202301, V202401, V202501, V202601.
SPECIAL_NUMERIC = {
    58: "BEL",  # Belgium-Luxembourg (...1998)
    200: "CSK",  # Czechoslovakia (...1992)
    251: "FRA",  # France incl. Monaco
    278: "DDR",  # German Democratic Republic (...1990)
    280: "DEU",  # Federal Republic of Germany (...1990)
    381: "ITA",  # Comtrade: Italy incl. San Marino and the Holy See
    490: "TWN",  # "Other Asia, nes": Taiwan in BACI and Comtrade
    579: "NOR",  # Norway incl. Svalbard and Jan Mayen
    697: "R20",  # Europe EFTA, nes
    699: "IND",  # India incl. Sikkim
    711: "ZA1",  # Southern African Customs Union (...1999)
    736: "SDN",  # Sudan (...2011)
    757: "CHE",  # Switzerland incl. Liechtenstein
    842: "USA",  # USA incl. Puerto Rico and US Virgin Islands
    849: "PUS",  # US Miscellaneous Pacific Islands
    891: "SCG",  # Serbia and Montenegro (...2005)
}

#: Entities that sources report but country_converter does not list: (iso3, name, is_country).
EXTRA_ENTITIES = [
    ("CSK", "Czechoslovakia (...1992)", False),
    ("DDR", "German Democratic Republic (...1990)", False),
    ("R20", "Europe EFTA, nes", False),
    ("ZA1", "Southern African Customs Union (...1999)", False),
    ("PUS", "US Miscellaneous Pacific Islands", False),
    ("SCG", "Serbia and Montenegro (...2005)", False),
    ("SUN", "USSR (...1990)", False),
    ("YUG", "Yugoslavia (...1991)", False),
]

#: Codes that sources write for a country under another name; mapped on input.
ALIASES = {
    "S19": "TWN",  # BACI and Comtrade write Taiwan as "Other Asia, nes", ISO3 S19
    "ROM": "ROU",  # legacy Romania (WGI)
    "ZAR": "COD",  # legacy Zaire (WGI)
    "TMP": "TLS",  # legacy East Timor (WGI)
    "ADO": "AND",  # legacy Andorra (WGI)
    "KSV": "XKX",  # Kosovo (WGI)
    "WBG": "PSE",  # West Bank and Gaza (WGI)
}


@functools.cache
def coco_table() -> pd.DataFrame:
    """country_converter's own classification table, read with every code kept as text.

    Read directly because ``CountryConverter()`` of country_converter 1.3 fails under pandas 3
    (Namibia's ISO2 ``NA`` is parsed as missing).
    """
    import pandas as pd

    path = resources.files("country_converter") / "country_data.tsv"
    with resources.as_file(path) as file:
        return pd.read_csv(file, sep="\t", dtype=str, keep_default_na=False)


@functools.cache
def countries() -> pd.DataFrame:
    """The canonical countries table (schema ``COUNTRIES``), one row per ISO3 code."""
    import pandas as pd

    data = coco_table()
    table = pd.DataFrame(
        {
            "iso3": data["ISO3"],
            "name": data["name_short"],
            "iso2": data["ISO2"].replace("", None),
            "iso_numeric": pd.to_numeric(data["ISOnumeric"], errors="coerce").astype("Int32"),
            "continent": data["continent"].replace("", None),
            "is_country": True,
        }
    )
    table = table[table["iso3"].str.fullmatch(r"[A-Z]{3}")]
    extras = pd.DataFrame(EXTRA_ENTITIES, columns=["iso3", "name", "is_country"])
    table = pd.concat([table, extras], ignore_index=True).drop_duplicates("iso3")
    current_special = {
        iso3: code for code, iso3 in SPECIAL_NUMERIC.items() if code not in _NOT_CURRENT_BACI
    }
    special = table["iso3"].map(current_special).astype("Int32")
    table["baci_code"] = special.fillna(table["iso_numeric"])
    # Comtrade's M49 reporter codes follow BACI's except for Italy (380 there, 381 in old data).
    table["m49_code"] = table["baci_code"]
    return table[
        ["iso3", "name", "iso2", "iso_numeric", "baci_code", "m49_code", "continent", "is_country"]
    ].reset_index(drop=True)


#: Special codes of a former shape of a country that has its own ISO numeric code today.
_NOT_CURRENT_BACI = {58, 280, 381, 736}


@functools.cache
def short_names() -> dict[str, str]:
    """ISO3 -> short English name (``CHN`` -> ``China``, ``COD`` -> ``DR Congo``)."""
    table = countries()
    return dict(zip(table["iso3"], table["name"], strict=True))


def labelled(code: str) -> str:
    """``China (CHN)`` for a known ISO3 code; anything else (a group, an area) as it is."""
    name = short_names().get(code)
    return f"{name} ({code})" if name and name != code else code


@functools.cache
def known_iso3() -> frozenset[str]:
    """Every code accepted in the ``exporter`` and ``importer`` columns."""
    return frozenset(countries()["iso3"])


@functools.cache
def baci_numeric_map() -> dict[int, str]:
    """BACI numeric country code -> ISO3, built from ISO numeric plus BACI's exceptions."""
    data = coco_table()
    mapping: dict[int, str] = {}
    for numeric, iso3 in zip(data["ISOnumeric"], data["ISO3"], strict=True):
        if numeric.isdigit() and len(iso3) == 3:
            mapping[int(numeric)] = iso3
    mapping.update(SPECIAL_NUMERIC)
    return mapping


def normalize_iso3(code: str) -> str:
    """Return the canonical ISO3 for a code written by a source (``S19`` -> ``TWN``)."""
    code = code.strip().upper()
    return ALIASES.get(code, code)


def name_to_iso3(name: str) -> str:
    """ISO3 of a country written by name (``Indonesia``, ``Viet Nam``), with country_converter's
    regular expressions; UnknownCodeError when none or several countries match."""
    text = re.sub(r"\s+", " ", name).strip()
    table = coco_table()
    found = sorted(
        {
            iso3
            for pattern, iso3 in zip(table["regex"], table["ISO3"], strict=True)
            if pattern and re.search(pattern, text, flags=re.IGNORECASE)
        }
    )
    if len(found) != 1:
        raise UnknownCodeError(
            f"{'no' if not found else 'more than one'} country called {text!r}"
            + (f" ({', '.join(found)})" if found else ""),
            hint="write the country's ISO3 code",
        )
    return found[0]


def to_iso3(code: str | int, *, what: str = "country code") -> str:
    """Map an ISO3, ISO2, alias or numeric (BACI/M49) code to ISO3, or raise UnknownCodeError."""
    text = str(code).strip()
    if text.isdigit():
        iso3 = baci_numeric_map().get(int(text))
    else:
        iso3 = normalize_iso3(text)
        if len(iso3) == 2:
            match = countries().loc[countries()["iso2"] == iso3, "iso3"]
            iso3 = match.iloc[0] if len(match) else None
    if iso3 is None or iso3 not in known_iso3():
        raise UnknownCodeError(
            f"unknown {what} {text!r}",
            hint="use an ISO3 code such as DEU, JPN or USA (run `chokepoints sql "
            '"SELECT * FROM countries"` for the list)',
        )
    return iso3


def read_baci_country_file(path: Path | str, text: str | None = None) -> dict[int, str]:
    """Read a BACI ``country_codes_V*.csv`` (V202301 or V2024+ layout) into code -> ISO3.

    Codes whose ISO3 the file leaves empty or writes as ``N/A`` (Taiwan in V202301) are skipped,
    so the built-in table decides for them.
    """
    name = Path(path).name
    if text is None:
        text = Path(path).read_text(encoding="utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    fields = reader.fieldnames or []
    iso_column = next((c for c in ("country_iso3", "iso_3digit_alpha") if c in fields), None)
    if "country_code" not in fields or iso_column is None:
        raise InputError(
            f"not a BACI country file: expected columns country_code and country_iso3 "
            f"(or iso_3digit_alpha), found {', '.join(fields) or 'none'}",
            file=name,
            line=1,
        )
    mapping: dict[int, str] = {}
    for number, row in enumerate(reader, start=2):
        raw_code = (row.get("country_code") or "").strip()
        if not raw_code.isdigit():
            raise InputError(
                f"country_code {raw_code!r} is not a number",
                file=name,
                line=number,
                field="country_code",
            )
        iso3 = normalize_iso3(row.get(iso_column) or "")
        if len(iso3) == 3 and iso3.isalnum():
            mapping[int(raw_code)] = iso3
    return mapping


def baci_code_map(
    country_file_text: str | None = None, name: str = "country_codes"
) -> dict[int, str]:
    """BACI code -> ISO3: the built-in table, completed by an archive's own country file.

    The built-in table wins where both know a code, since it is verified across releases
    (V202301's file maps 711 SACU to ZAF and Taiwan to ``N/A``).
    """
    mapping = dict(baci_numeric_map())
    if country_file_text is not None:
        for code, iso3 in read_baci_country_file(name, country_file_text).items():
            if code not in mapping and iso3 in known_iso3():
                mapping[code] = iso3
    return mapping
