"""Any production table with a column mapping: BGS World Mineral Statistics, World Mining Data,
a company's own figures, into the canonical ``production`` table.

The mapping names the file's columns for ``commodity``, ``country``, ``year`` and ``quantity``
(required) and ``stage``, ``unit``, ``estimated``, ``notes`` (optional; ``stage`` and ``unit``
may instead be given for the whole file). Countries may be ISO3, ISO2 or numeric codes, or
names (aggregate rows such as "World total" are kept apart, as for USGS); commodities become
ids (``Rare earths`` -> ``rare_earths``) and stages are read as USGS writes them or as ids.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.extract import Extract, SourceFile, plausible_year, year_range
from chokepoints.reference.countries import to_iso3
from chokepoints.sources.usgs import (
    builder,
    commodity_id,
    country_or_aggregate,
    parse_quantity,
    production_stage,
    production_table,
)
from chokepoints.sources.workbooks import read_sheets

REQUIRED = ("commodity", "country", "year", "quantity")
OPTIONAL = ("stage", "unit", "estimated", "notes")
#: Stage ids a table may use as they are.
STAGE_IDS = ("mine", "refinery", "smelter", "plant", "primary", "other")


def read_production(
    path: Path | str,
    *,
    mapping: dict[str, str],
    source: str,
    release: str = "user",
    stage: str | None = None,
    unit: str | None = None,
) -> Extract:
    """Read a production table (CSV, or Excel's first sheet) as an Extract of ``production``."""
    path = Path(path)
    unknown = sorted(set(mapping) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise InputError(
            f"unknown mapping key(s) {', '.join(unknown)}",
            field="map",
            hint=f"map {', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}",
        )
    for key, given in (("stage", stage), ("unit", unit)):
        if key not in mapping and given is None:
            raise InputError(
                f"no {key}: map a {key} column or give one for the whole file", field=key
            )
    missing = [key for key in REQUIRED if key not in mapping]
    if missing:
        raise InputError(f"the mapping lacks {', '.join(missing)}", field="map")
    frame = _read(path)
    absent = [column for column in mapping.values() if column not in frame.columns]
    if absent:
        raise InputError(
            f"column(s) {', '.join(absent)} not in the file (it has {', '.join(frame.columns)})",
            file=path.name,
            line=1,
            hint="fix --map",
        )
    records = enumerate(frame.to_dict("records"), start=2)  # line 1 is the header
    rows = [_row(record, mapping, stage, unit, path.name, line) for line, record in records]
    if not rows:
        raise InputError("no rows", file=path.name, hint="check the file")
    return Extract(
        source=source,
        release=release,
        files=[SourceFile.of(path)],
        trade=[],
        tables={"production": builder(production_table(rows, source, release))},
        notes=[f"{path.name}: read {len(rows)} production rows as source {source}"],
    )


def _read(path: Path) -> pd.DataFrame:
    """The table's cells as text (CSV in UTF-8 or Latin-1, or the first sheet of a workbook)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = read_sheets(
            path, label=path.name, header=0, keep_default_na=True, hint="save it as .xlsx or CSV"
        )
        return next(iter(sheets.values())).fillna("")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="latin-1")


def _row(
    record: dict[str, str],
    mapping: dict[str, str],
    stage: str | None,
    unit: str | None,
    file: str,
    line: int,
) -> dict[str, object]:
    """One canonical production row from one row of the table."""
    text = {key: str(record[column]).strip() for key, column in mapping.items()}
    try:
        country, aggregate = to_iso3(text["country"]), None
    except UnknownCodeError:
        country, aggregate = country_or_aggregate(text["country"], file, line)
    year = text["year"].removesuffix(".0")
    if not year.isdigit() or not plausible_year(int(year)):
        raise InputError(
            f"year {text['year']!r} is not a year in {year_range()}",
            file=file,
            line=line,
            field=mapping["year"],
        )
    quantity, estimated, note = parse_quantity(text["quantity"])
    if quantity is None and note.startswith("unreadable"):
        raise InputError(note, file=file, line=line, field=mapping["quantity"])
    named = text.get("stage", stage or "")
    stage_id = named.casefold() if named.casefold() in STAGE_IDS else production_stage(named)
    flagged = text.get("estimated", "").casefold() in ("true", "yes", "1", "e", "estimated")
    notes = "; ".join(n for n in (note, text.get("notes", "")) if n)
    return {
        "commodity": commodity_id(text["commodity"]),
        "stage": stage_id,
        "country": country,
        "aggregate": aggregate,
        "year": int(year),
        "quantity": quantity,
        "unit": text.get("unit", unit or ""),
        "estimated": estimated or flagged,
        "detail": named,
        "notes": notes or None,
        "source": "",
    }
