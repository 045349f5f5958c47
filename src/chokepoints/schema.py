"""The canonical tables of chokepoints: column names, Arrow types and units.

Every source converts its format into these tables, and every analysis reads them. A table that
does not match is rejected by :func:`conform` with a message naming the column, so nothing
downstream ever has to guess a unit or a type.
"""

from __future__ import annotations

import pyarrow as pa

#: Bilateral trade flows, one row per (year, exporter, importer, product, reporter_side, source).
TRADE = pa.schema(
    [
        pa.field("year", pa.int16(), nullable=False),
        pa.field("exporter", pa.string(), nullable=False),  # ISO3 (TWN for Taiwan, BACI's S19)
        pa.field("importer", pa.string(), nullable=False),  # ISO3
        pa.field("product", pa.string(), nullable=False),  # code as published, zero-padded
        pa.field("classification", pa.string(), nullable=False),  # HS92..HS22, CN...
        pa.field("level", pa.int8(), nullable=False),  # digits of `product`: 2, 4, 6 or 8
        pa.field("value_usd", pa.float64(), nullable=False),  # current USD (not thousands)
        pa.field("quantity_t", pa.float64(), nullable=True),  # metric tons; null when unknown
        pa.field("source", pa.string(), nullable=False),  # baci, comtrade, demo, or a table name
        pa.field("release", pa.string(), nullable=False),  # e.g. V202501; extraction date
        pa.field("reporter_side", pa.string(), nullable=False),  # importer|exporter|reconciled
    ]
)

#: Columns that identify one flow; two rows with the same key are a duplicate.
TRADE_KEY = ("year", "exporter", "importer", "product", "classification", "reporter_side")

REPORTER_SIDES = ("importer", "exporter", "reconciled")

#: HS classification names as BACI spells them, with the year each came into force.
HS_REVISIONS = {
    "HS92": 1988,
    "HS96": 1996,
    "HS02": 2002,
    "HS07": 2007,
    "HS12": 2012,
    "HS17": 2017,
    "HS22": 2022,
}

#: Product nomenclature: one row per (classification, product).
PRODUCTS = pa.schema(
    [
        pa.field("product", pa.string(), nullable=False),
        pa.field("classification", pa.string(), nullable=False),
        pa.field("level", pa.int8(), nullable=False),
        pa.field("description", pa.string(), nullable=True),
    ]
)

#: Countries and trade entities known to chokepoints (see ``reference.countries``).
COUNTRIES = pa.schema(
    [
        pa.field("iso3", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("iso2", pa.string(), nullable=True),
        pa.field("iso_numeric", pa.int32(), nullable=True),
        pa.field("baci_code", pa.int32(), nullable=True),
        pa.field("m49_code", pa.int32(), nullable=True),
        pa.field("continent", pa.string(), nullable=True),
        pa.field("is_country", pa.bool_(), nullable=False),  # False for "nes" areas, old entities
    ]
)

#: World Bank Worldwide Governance Indicators, long format.
GOVERNANCE = pa.schema(
    [
        pa.field("country", pa.string(), nullable=False),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("indicator", pa.string(), nullable=False),  # va, pv, ge, rq, rl, cc
        pa.field("estimate", pa.float64(), nullable=True),  # about -2.5 (worst) to +2.5 (best)
    ]
)

#: Mineral production (USGS and similar), one row per commodity, stage, country and year.
#: ``commodity`` is a normalised id (``rare_earths``), ``stage`` one of mine, refinery, smelter,
#: plant, primary, other. ``country`` is ISO3, except on aggregate rows (``aggregate`` names
#: them: world_total, other_countries, countries_combined), which keep the published name.
#: ``quantity`` is in ``unit`` as published (null when withheld or not available, said in
#: ``notes``); ``estimated`` marks estimates; ``detail`` is the published type of production.
PRODUCTION = pa.schema(
    [
        pa.field("commodity", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("country", pa.string(), nullable=False),
        pa.field("aggregate", pa.string(), nullable=True),
        pa.field("year", pa.int16(), nullable=False),
        pa.field("quantity", pa.float64(), nullable=True),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("estimated", pa.bool_(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
        pa.field("notes", pa.string(), nullable=True),
        pa.field("source", pa.string(), nullable=False),
        pa.field("release", pa.string(), nullable=False),
    ]
)


#: Tables stored beside ``trade``, by name; an ingest may bring any of them.
COMPANION_TABLES = {"products": PRODUCTS, "governance": GOVERNANCE, "production": PRODUCTION}


def conform(table: pa.Table, schema: pa.Schema, *, what: str = "table") -> pa.Table:
    """Return ``table`` with exactly the columns and types of ``schema``, or raise SchemaError.

    Columns are reordered and safely cast; a missing column, an unsafe cast or a null in a
    non-nullable column is an error naming that column.
    """
    from chokepoints.errors import SchemaError

    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise SchemaError(f"{what} lacks column(s) {', '.join(missing)}")
    columns = []
    for field in schema:
        column = table.column(field.name)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(
                    f"{what}: column {field.name} cannot be read as {field.type} ({exc})"
                ) from exc
        if not field.nullable and column.null_count:
            raise SchemaError(f"{what}: column {field.name} has {column.null_count} missing values")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)
