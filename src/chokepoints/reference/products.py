"""HS products: the strategic product catalogue and BACI's product code files.

The catalogue lists, per HS revision, the 6-digit codes of the sectors that economic-security
policies name (critical minerals, semiconductors, batteries, LNG, antibiotics...). It is
derived from the built-in sector files (``reference/sectors/*.toml``, see
``chokepoints.reference.sectors``), one row per (product, classification): a code is written
per revision, so a split such as HS22's 854142 and 854143 (formerly 854140) is written out,
and unchanged codes appear under every revision. A code that several sectors list is filed
under the first of them in ``CATALOGUE_SECTORS``; ``sectors.sector_table`` gives every
membership. The composite proxy ``eu_sensitive_ecosystems`` and user sector files are not
part of the catalogue.
"""

from __future__ import annotations

import csv
import functools
import io
import re

import pandas as pd
import pyarrow as pa

from chokepoints.errors import InputError
from chokepoints.reference.sectors import sector_table
from chokepoints.schema import HS_REVISIONS, PRODUCTS

#: The sectors of the catalogue, in order of precedence for codes listed by several: primary
#: commodities first (fuels, then minerals), so that a raw material is filed under its own
#: sector rather than under one of its uses (lithium carbonate: ``critical_minerals``, not
#: ``batteries``; coking coal: ``lng_energy``); ``solar_pv`` before ``semiconductors`` because
#: most polysilicon goes into solar cells.
CATALOGUE_SECTORS = (
    "lng_energy",
    "critical_minerals",
    "solar_pv",
    "semiconductors",
    "batteries",
    "permanent_magnets",
    "fertilizers",
    "pharmaceuticals_antimicrobials",
    "machine_tools_robots",
    "aircraft_parts",
    "ship_equipment",
    "electric_vehicles",
)

_CATALOGUE_COLUMNS = ["product", "classification", "sector", "description"]
_REVISION_IN_NAME = re.compile(r"HS\d\d")
#: Six characters: HS6 digits, or BACI's legacy "not specified" code 9999AA of HS92 and HS22.
_BACI_CODE = re.compile(r"\d{4}[0-9A-Z]{2}")


@functools.cache
def _catalogue() -> pd.DataFrame:
    """The catalogue built from the built-in sector files, every column text."""
    precedence = {sector: rank for rank, sector in enumerate(CATALOGUE_SECTORS)}
    frames = []
    for revision in HS_REVISIONS:
        table = sector_table(revision)
        table = table[table["sector"].isin(precedence)]
        if not table.empty:
            frames.append(table.assign(classification=revision))
    data = pd.concat(frames, ignore_index=True)
    data = data.assign(
        _revision=data["classification"].map(list(HS_REVISIONS).index),
        _precedence=data["sector"].map(precedence),
    )
    data = data.sort_values(["_revision", "_precedence", "product"]).drop_duplicates(
        ["product", "classification"]
    )
    return data[_CATALOGUE_COLUMNS].reset_index(drop=True)


def strategic_products() -> pd.DataFrame:
    """The strategic product catalogue: one row per (product, classification), with its sector.

    Columns ``product, classification, sector, description``, all text; codes keep their
    leading zeros. Rows come by revision (oldest first), then sector in ``CATALOGUE_SECTORS``
    order, then code. A copy, so that callers may modify it.
    """
    return _catalogue().copy()


@functools.cache
def _sector_index() -> dict[tuple[str, str], str]:
    """(product, classification) -> sector, for fast look-ups."""
    data = _catalogue()
    return dict(
        zip(zip(data["product"], data["classification"], strict=True), data["sector"], strict=True)
    )


def sector_of(product: str, classification: str) -> str | None:
    """The strategic sector of an HS6 code in one revision, or None when it is not strategic."""
    return _sector_index().get((product, classification.upper()))


def read_baci_product_file(name: str, text: str, *, classification: str | None = None) -> pa.Table:
    """Read a BACI ``product_codes_HSxx_V*.csv`` (columns ``code,description``) as ``PRODUCTS``.

    Codes are kept as text and left-padded to 6 digits (a spreadsheet may have dropped the
    leading zero of chapters 01-09). The revision comes from ``classification``, else from
    the file name.
    """
    revision = classification.upper() if classification else None
    if revision is None:
        match = _REVISION_IN_NAME.search(name.upper())
        revision = match.group(0) if match else None
    if revision not in HS_REVISIONS:
        raise InputError(
            "cannot tell the HS revision of this product file",
            file=name,
            hint=f"name it like product_codes_HS17_V202401.csv or pass one of "
            f"{', '.join(HS_REVISIONS)}",
        )
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [column.strip().lower() for column in next(reader, [])]
    if "code" not in header or "description" not in header:
        raise InputError(
            f"not a BACI product file: expected columns code and description, found "
            f"{', '.join(header) or 'none'}",
            file=name,
            line=1,
        )
    code_at, description_at = header.index("code"), header.index("description")
    codes: list[str] = []
    descriptions: list[str | None] = []
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        raw = row[code_at].strip() if code_at < len(row) else ""
        code = raw.zfill(6) if raw.isdigit() else raw
        if not _BACI_CODE.fullmatch(code) or len(raw) < 5:
            raise InputError(
                f"code {raw!r} is not a 6-digit HS code (or 5 digits with the leading zero lost)",
                file=name,
                line=line,
                field="code",
            )
        if code in first_line:
            raise InputError(
                f"code {code} is listed twice (first on line {first_line[code]})",
                file=name,
                line=line,
                field="code",
            )
        first_line[code] = line
        codes.append(code)
        description = row[description_at].strip() if description_at < len(row) else ""
        descriptions.append(description or None)
    return pa.table(
        {
            "product": pa.array(codes, pa.string()),
            "classification": pa.array([revision] * len(codes), pa.string()),
            "level": pa.array([6] * len(codes), pa.int8()),
            "description": pa.array(descriptions, pa.string()),
        },
        schema=PRODUCTS,
    )
