"""What the API takes and gives: validated parameter types (codes, lists, fractions, limits)
and the response models its OpenAPI schema documents.

Every client value passes one of these patterns or bounds before a question is asked, so a path,
an SQL fragment or a huge number never reaches the engine: it is refused with 422.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, Field

from chokepoints.web.settings import MAX_ROWS

#: A country (ISO3) or group name (EU27, like_minded, a group of groups.toml).
ECONOMY_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{1,39}$"
#: A comma list of countries and groups (``JPN,DEU``).
ECONOMIES_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{1,39}(,[A-Za-z][A-Za-z0-9_]{1,39}){0,49}$"
#: An HS code of 2, 4 or 6 digits (8 for CN).
PRODUCT_PATTERN = r"^[0-9]{2}([0-9]{2}){0,3}$"
#: A comma list of HS codes.
PRODUCTS_PATTERN = r"^[0-9]{2}([0-9]{2}){0,3}(,[0-9]{2}([0-9]{2}){0,3}){0,499}$"
#: A sector, chain or source id (``semiconductors``, ``li_ion_batteries``, ``baci``).
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"
#: A comma list of sector ids.
NAMES_PATTERN = r"^[a-z][a-z0-9_]{0,59}(,[a-z][a-z0-9_]{0,59}){0,49}$"
#: A shipped scenario (``china-gallium-germanium-2023``).
PRESET_PATTERN = r"^[a-z0-9][a-z0-9-]{0,79}$"
#: A custom dependency rule (``hhi>0.5``, ``top_supplier=CHN``).
RULE_PATTERN = r"^[a-z_0-9]{1,40}(>=|<=|>|<|=)[A-Za-z0-9_.]{1,40}$"

Format = Literal["json", "csv", "parquet"]

EconomyPath = Annotated[
    str,
    Path(
        pattern=ECONOMY_PATTERN,
        description="ISO3 code or group (EU27, G7, like_minded...).",
        openapi_examples={"Japan": {"value": "JPN"}, "EU": {"value": "EU27"}},
    ),
]
ProductPath = Annotated[
    str,
    Path(
        pattern=PRODUCT_PATTERN,
        description="HS code (6, 4 or 2 digits, as the data holds).",
        openapi_examples={"rare-earth magnets": {"value": "850511"}},
    ),
]
Economy = Annotated[
    str,
    Query(
        pattern=ECONOMY_PATTERN,
        description="ISO3 code or group.",
        openapi_examples={"China": {"value": "CHN"}},
    ),
]
Product = Annotated[
    str,
    Query(
        pattern=PRODUCT_PATTERN,
        description="HS code.",
        openapi_examples={"rare-earth magnets": {"value": "850511"}},
    ),
]
Economies = Annotated[
    str | None,
    Query(
        pattern=ECONOMIES_PATTERN,
        description="Comma list of countries and groups.",
        openapi_examples={"China and Russia": {"value": "CHN,RUS"}},
    ),
]
Products = Annotated[
    str | None,
    Query(
        pattern=PRODUCTS_PATTERN,
        description="Comma list of HS codes restricting the products.",
        openapi_examples={"magnets and cells": {"value": "850511,850760"}},
    ),
]
Year = Annotated[
    int | None,
    Query(
        ge=1988,
        le=2100,
        description="Year; default the latest the data covers.",
        openapi_examples={"2022": {"value": 2022}},
    ),
]
Sector = Annotated[
    str | None,
    Query(
        pattern=NAME_PATTERN,
        description="A strategic sector (see /api/v1/sectors).",
        openapi_examples={"semiconductors": {"value": "semiconductors"}},
    ),
]
Sectors = Annotated[
    str | None,
    Query(
        pattern=NAMES_PATTERN,
        description="Comma list of strategic sectors (see /api/v1/sectors).",
        openapi_examples={"batteries": {"value": "batteries,critical_minerals"}},
    ),
]
Source = Annotated[
    str | None,
    Query(pattern=NAME_PATTERN, description="The store's source to use (baci, comtrade...)."),
]
AllowPartial = Annotated[
    bool, Query(description="Answer on a partly covered year, with a warning.")
]
Fraction = Annotated[float, Query(gt=0, le=1, description="A share in (0, 1].")]
Share = Annotated[float, Query(ge=0, le=1, description="A share in [0, 1].")]
OptionalShare = Annotated[float | None, Query(gt=0, le=1, description="A share in (0, 1].")]
Limit = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_ROWS,
        description=f"Rows to return (default and at most the server's limit, {MAX_ROWS}).",
    ),
]
OutputFormat = Annotated[
    Format, Query(alias="format", description="json, or a csv or parquet download.")
]
Table = Annotated[
    str | None,
    Query(
        pattern=NAME_PATTERN,
        description="For csv or parquet of a multi-table answer: the table to download.",
    ),
]


class TableAnswer(BaseModel):
    """A one-table answer: its rows (the CLI's JSON field names) and how it was made."""

    rows: list[dict[str, Any]] = Field(description="Records with the CLI's column names.")
    total: int = Field(description="Rows of the whole answer.")
    shown: int = Field(description="Rows returned (at most limit).")
    provenance: dict[str, Any] = Field(description="Data, method and parameters used.")


class TablesAnswer(BaseModel):
    """A multi-table answer (product, diversify, compare): records per table."""

    tables: dict[str, list[dict[str, Any]]]
    provenance: dict[str, Any]


class Problem(BaseModel):
    """A refused request: one sentence naming the parameter and what to do."""

    detail: str


#: The error answers every endpoint documents, in the shape the app sends them.
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Unknown code, or no data for it."},
    422: {"model": Problem, "description": "A parameter is not valid."},
    504: {"model": Problem, "description": "The question ran longer than the server allows."},
}
#: The download types of a table answer, beside JSON.
DOWNLOADS: dict[str, dict[str, Any]] = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
}
