"""UN Comtrade Plus CSV exports as canonical trade rows.

A Comtrade Plus download (the web UI's CSV or the API's CSV format) has one row per reporter,
flow, partner, product and year in 47 columns (``typeCode`` … ``isAggregate``). This module keeps
imports (M) and exports (X) at their published product level, maps reporter and partner to ISO3,
and sets aside the World total and the partner areas that are not countries, saying in the
extract's notes how many rows and how much value it set aside.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from chokepoints import schema
from chokepoints.errors import InputError
from chokepoints.extract import (
    Extract,
    SourceFile,
    TradePart,
    plausible_year,
    refuse_truncated,
    year_range,
)
from chokepoints.reference.countries import baci_numeric_map, known_iso3, normalize_iso3

#: Columns read from the export; the other Comtrade Plus columns are ignored.
REQUIRED_COLUMNS = (
    "refYear",
    "reporterCode",
    "flowCode",
    "partnerCode",
    "classificationCode",
    "cmdCode",
    "primaryValue",
)

# fmt: off
#: All columns of a Comtrade Plus export, to tell renamed or foreign columns in messages.
EXPORT_COLUMNS = [
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

#: Comtrade's HS revision codes and the names chokepoints (and BACI) uses for them.
CLASSIFICATIONS = {
    "H0": "HS92",
    "H1": "HS96",
    "H2": "HS02",
    "H3": "HS07",
    "H4": "HS12",
    "H5": "HS17",
    "H6": "HS22",
}

#: Flows kept, and which side of the flow the reporter is.
REPORTER_SIDES = {"M": "importer", "X": "exporter"}

WORLD = "World"
NES = "areas not elsewhere specified"
SPECIAL = "special categories, bunkers, free zones and the Neutral Zone"
GROUP = "country groups"
ALL_PRODUCTS = "total of all products"

#: Comtrade (M49) partner codes that are not countries. 490 "Other Asia, nes" is Taiwan and stays.
NON_COUNTRY_AREAS = {
    0: WORLD,
    97: GROUP,  # European Union
    975: GROUP,  # ASEAN
    129: NES,  # Caribbean, nes
    221: NES,  # Eastern Europe, nes
    290: NES,  # Northern Africa, nes
    471: NES,  # CACM, nes
    472: NES,  # Africa CAMEU region, nes
    473: NES,  # LAIA, nes
    492: NES,  # Europe EU, nes
    527: NES,  # Oceania, nes
    568: NES,  # Other Europe, nes
    577: NES,  # Other Africa, nes
    636: NES,  # Rest of America, nes
    637: NES,  # North America and Central America, nes
    697: NES,  # Europe EFTA, nes
    879: NES,  # Western Asia, nes
    899: NES,  # Areas, nes (ISO code "_X")
    536: SPECIAL,  # Neutral Zone
    837: SPECIAL,  # Bunkers
    838: SPECIAL,  # Free Zones
    839: SPECIAL,  # Special Categories
}

TAIWAN_CODE = 490

_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_CODE = re.compile(r"[0-9]+")


def read_comtrade(path: Path | str, *, release: str | None = None) -> Extract:
    """Read a Comtrade Plus CSV export into an Extract with one trade part per reporter and flow.

    ``release`` names the extraction (e.g. the download date); Comtrade files do not carry one, so
    it is ``unknown`` unless given. Each part's slice is ``{reporter}-{flow}-{digest}``, the digest
    hashing its product codes, so re-ingesting an extract replaces it and other products coexist.
    """
    path = Path(path)
    release = release or "unknown"
    summary = _Summary()
    for line, record in _records(path):
        summary.add(_interpret(record, line, path.name, release), line)
    summary.check(path.name)

    parts = []
    for (reporter, flow), rows in summary.kept.items():
        digest = hashlib.sha1(",".join(sorted({r["product"] for r in rows})).encode()).hexdigest()
        table = schema.conform(
            pa.Table.from_pylist(rows, schema=schema.TRADE), schema.TRADE, what=path.name
        )
        parts.append(
            TradePart(
                origin=path.name,
                build=functools.partial(_relation, table),
                slice=f"{reporter}-{flow}-{digest[:8]}",
                rows=functools.partial(_part_rows, path, release, (reporter, flow)),
                fields=_fields(flow),
            )
        )
    products = schema.conform(
        pa.Table.from_pylist(
            [
                {"product": p, "classification": c, "level": len(p), "description": d}
                for (p, c), d in summary.products.items()
            ],
            schema=schema.PRODUCTS,
        ),
        schema.PRODUCTS,
        what=path.name,
    )
    return Extract(
        source="comtrade",
        release=release,
        files=[SourceFile.of(path)],
        trade=parts,
        tables={"products": functools.partial(_relation, products)},
        notes=summary.notes(path.name),
    )


def _fields(flow: str) -> dict[str, str]:
    """The export's column behind each canonical column, for the store's error messages."""
    exporter, importer = (
        ("partnerCode", "reporterCode") if flow == "M" else ("reporterCode", "partnerCode")
    )
    return {
        "year": "refYear",
        "exporter": exporter,
        "importer": importer,
        "product": "cmdCode",
        "classification": "classificationCode",
        "level": "cmdCode",
        "value_usd": "primaryValue",
        "quantity_t": "netWgt",
        "reporter_side": "flowCode",
    }


def _relation(table: pa.Table, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Expose an Arrow table as a relation on the store's connection."""
    return con.from_arrow(table)


def _part_rows(
    path: Path, release: str, part: tuple[str, str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line, canonical row) for the rows of one (reporter, flow) part, in file order."""
    for line, record in _records(path):
        result = _interpret(record, line, path.name, release)
        if result.row is not None and result.part == part:
            yield line, result.row


@dataclass
class _Result:
    """What one line of the export becomes: a canonical row, or the reason it is set aside."""

    row: dict[str, Any] | None = None
    part: tuple[str, str] | None = None
    key: tuple[Any, ...] | None = None
    total: bool = True
    other_flow: str | None = None
    excluded: str | None = None
    code: str = ""
    value: float = 0.0
    description: str | None = None
    taiwan: bool = False


@dataclass
class _Summary:
    """Tallies of a whole export: kept rows by part, and what was set aside, by kind."""

    records: int = 0
    kept: dict[tuple[str, str], list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    excluded: Counter[str] = field(default_factory=Counter)
    excluded_value: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    excluded_codes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    other_flows: Counter[str] = field(default_factory=Counter)
    breakdowns: dict[tuple[Any, ...], int] = field(default_factory=dict)
    breakdown_rows: int = 0
    totals: set[tuple[Any, ...]] = field(default_factory=set)
    products: dict[tuple[str, str], str | None] = field(default_factory=dict)
    taiwan: int = 0

    def add(self, result: _Result, line: int) -> None:
        """Count one interpreted line."""
        self.records += 1
        if result.key is not None:
            if result.total:
                self.totals.add(result.key)
            else:
                self.breakdowns.setdefault(result.key, line)
                self.breakdown_rows += 1
        if result.other_flow is not None:
            self.other_flows[result.other_flow] += 1
            return
        if result.excluded is not None:
            self.excluded[result.excluded] += 1
            self.excluded_value[result.excluded] += result.value
            self.excluded_codes[result.excluded].add(result.code)
            return
        if result.row is None or result.part is None:
            return
        self.kept[result.part].append(result.row)
        product_key = (result.row["product"], result.row["classification"])
        self.products.setdefault(product_key, result.description)
        self.taiwan += result.taiwan

    def check(self, name: str) -> None:
        """Raise InputError when the export holds no data rows, no country rows or no totals."""
        if not self.records:
            raise InputError(
                "the file has a header but no data rows",
                file=name,
                hint="download the extract again, with at least one reporter, partner and year",
            )
        uncovered = sorted(line for key, line in self.breakdowns.items() if key not in self.totals)
        if uncovered:
            raise InputError(
                "flows are broken down by second partner, customs procedure or mode of "
                "transport and the file has no total for them",
                file=name,
                line=uncovered[0],
                hint="download again with partner 2 = World, customs procedure = total (C00) "
                "and mode of transport = total (0)",
            )
        if not self.kept:
            found = ", ".join(f"{kind}: {n}" for kind, n in self.excluded.items())
            flows = ", ".join(f"{flow}: {n}" for flow, n in self.other_flows.items())
            raise InputError(
                f"no import (M) or export (X) flow with a partner country among "
                f"{self.records} rows ({'; '.join(filter(None, [found, flows]))})",
                file=name,
                hint="download imports or exports by partner country rather than World totals",
            )

    def notes(self, name: str) -> list[str]:
        """Sentences that say what was kept and what was set aside, with counts and values."""
        kept = sum(len(rows) for rows in self.kept.values())
        parts = ", ".join(f"{reporter} {flow}" for reporter, flow in self.kept)
        notes = [f"{name}: kept {kept} of {self.records} rows as country flows ({parts})"]
        for kind, count in self.excluded.items():
            codes = ", ".join(sorted(self.excluded_codes[kind]))
            subject = "product" if kind == ALL_PRODUCTS else "partner"
            notes.append(
                f"excluded {count} rows with {subject} {kind} ({codes}) worth "
                f"{self.excluded_value[kind]:,.0f} USD in all, since they are not country flows "
                "of a product"
            )
        if self.other_flows:
            flows = ", ".join(f"{flow}: {n}" for flow, n in sorted(self.other_flows.items()))
            skipped = sum(self.other_flows.values())
            notes.append(
                f"skipped {skipped} rows of other flows ({flows}); only imports (M) and exports "
                "(X) are kept"
            )
        if self.breakdown_rows:
            notes.append(
                f"dropped {self.breakdown_rows} breakdowns by second partner, customs procedure "
                "or mode of transport; kept their totals"
            )
        if self.taiwan:
            notes.append(f'read {self.taiwan} rows of partner "Other Asia, nes" (490) as Taiwan')
        return notes


def _records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, stripped fields by column) for each data row of a complete export."""
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    header = next(reader, [])
    while header and header[-1] == "":
        header.pop()
    header = [name.strip() for name in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        foreign = [column for column in header if column not in EXPORT_COLUMNS]
        found = f"found {_shorten(foreign)} instead" if foreign else f"found {_shorten(header)}"
        raise InputError(
            f"column(s) {', '.join(missing)} missing, so this is not a Comtrade Plus CSV export "
            f"(expected {', '.join(REQUIRED_COLUMNS)}; {found})",
            file=path.name,
            line=1,
            hint="download the data again from comtradeplus.un.org as CSV, without renaming "
            "columns",
        )
    refuse_truncated(path)
    width = len(header)
    previous = reader.line_num
    for fields in reader:
        line, previous = previous + 1, reader.line_num
        if not fields:
            continue
        if len(fields) == width + 1 and fields[-1] == "":
            fields.pop()
        if len(fields) != width:
            raise InputError(
                f"the row has {len(fields)} fields but the header has {width}",
                file=path.name,
                line=line,
                hint="the file is cut or edited; download it again",
            )
        yield line, {name: value.strip() for name, value in zip(header, fields, strict=True)}


def _decode(path: Path) -> str:
    """The export's text: UTF-8 (with or without BOM), else Latin-1 as the Comtrade UI writes."""
    if not path.is_file():
        raise InputError("the file does not exist", file=str(path))
    data = path.read_bytes()
    if not data:
        raise InputError(
            "the file is empty (0 bytes)", file=path.name, hint="download the extract again"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise InputError(
            "the file is UTF-16 or binary, not CSV text",
            file=path.name,
            hint="download the CSV from Comtrade again, or save it as CSV (UTF-8)",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _interpret(record: dict[str, str], line: int, name: str, release: str) -> _Result:
    """Turn one export row into a canonical trade row, or say why it is set aside."""
    for column, expected in (("freqCode", "A"), ("typeCode", "C")):
        if record.get(column, expected) != expected:
            raise InputError(
                f"{column} is {record[column]!r}, but chokepoints reads annual goods trade only",
                file=name,
                line=line,
                field=column,
                hint="download annual (A) goods (C) data",
            )
    year = _integer(record, "refYear", name, line)
    if not plausible_year(year):
        raise InputError(
            f"refYear {year} is not a year of trade data ({year_range()})",
            file=name,
            line=line,
            field="refYear",
            hint="download the extract again; it may have been edited",
        )
    reporter_code = _integer(record, "reporterCode", name, line)
    partner_code = _integer(record, "partnerCode", name, line)
    value = _number(record, "primaryValue", name, line)
    if value is None:
        raise InputError(
            "primaryValue is empty",
            file=name,
            line=line,
            field="primaryValue",
            hint="download the extract again",
        )
    weight = _number(record, "netWgt", name, line)
    revision = record["classificationCode"]
    classification = CLASSIFICATIONS.get(revision)
    if classification is None:
        raise InputError(
            f"classificationCode {revision!r} is not an HS revision (H0 to H6)",
            file=name,
            line=line,
            field="classificationCode",
            hint="download the data in HS (as reported)",
        )
    product = _product(record["cmdCode"], name, line)
    flow = record["flowCode"]
    total = (
        record.get("partner2Code", "0") in ("0", "")
        and record.get("customsCode", "C00") in ("C00", "")
        and record.get("motCode", "0") in ("0", "")
    )
    key = (year, reporter_code, flow, partner_code, product, classification)
    if flow not in REPORTER_SIDES:
        return _Result(other_flow=flow)
    if not total:
        return _Result(key=key, total=False)
    if product.upper() == "TOTAL":
        return _Result(key=key, excluded=ALL_PRODUCTS, code=product, value=value)
    partner_iso = record.get("partnerISO", "")
    kind = _area_kind(partner_code, partner_iso, record.get("partnerDesc", ""))
    if kind is not None:
        code = partner_iso or str(partner_code)
        return _Result(key=key, excluded=kind, code=code, value=value)
    reporter_iso = record.get("reporterISO", "")
    if _area_kind(reporter_code, reporter_iso, record.get("reporterDesc", "")) is not None:
        raise InputError(
            f"reporter {record.get('reporterDesc') or reporter_code} ({reporter_code}) is an "
            "area or group, not a country",
            file=name,
            line=line,
            field="reporterCode",
            hint="download the data of its member countries",
        )
    reporter = _iso3(reporter_code, reporter_iso)
    partner = _iso3(partner_code, partner_iso)
    exporter, importer = (partner, reporter) if flow == "M" else (reporter, partner)
    row = {
        "year": year,
        "exporter": exporter,
        "importer": importer,
        "product": product,
        "classification": classification,
        "level": len(product),
        "value_usd": value,
        "quantity_t": None if weight is None else weight / 1000,
        "source": "comtrade",
        "release": release,
        "reporter_side": REPORTER_SIDES[flow],
    }
    return _Result(
        row=row,
        part=(reporter, flow),
        key=key,
        description=record.get("cmdDesc") or None,
        taiwan=partner_code == TAIWAN_CODE,
    )


def _product(code: str, name: str, line: int) -> str:
    """An HS code with the leading zero a spreadsheet took away (``10121`` -> ``010121``).

    HS levels have 2, 4 or 6 digits, so 1, 3 and 5 digits lost a zero; 7 digits never do.
    """
    if not _CODE.fullmatch(code) or len(code) % 2 == 0:
        return code
    if len(code) > 6:
        raise InputError(
            f"cmdCode {code!r} has {len(code)} digits, which no HS level has (2, 4 or 6)",
            file=name,
            line=line,
            field="cmdCode",
            hint="download the extract again; it may have been edited",
        )
    return "0" + code


def _area_kind(code: int, iso: str, description: str) -> str | None:
    """The kind of non-country area a Comtrade partner code stands for, or None for a country."""
    if code in NON_COUNTRY_AREAS:
        return NON_COUNTRY_AREAS[code]
    if iso == "W00":
        return WORLD
    if code != TAIWAN_CODE and (iso.startswith("_") or description.endswith(", nes")):
        return NES
    return None


def _iso3(code: int, iso: str) -> str:
    """ISO3 of a Comtrade country from its ISO column, else its M49 code; ``?code`` if unknown."""
    known = known_iso3()
    candidate = normalize_iso3(iso)
    if candidate in known:
        return candidate
    candidate = baci_numeric_map().get(code, "")
    return candidate if candidate in known else f"?{code}"


def _integer(record: dict[str, str], column: str, name: str, line: int) -> int:
    """A whole-number column (a year or an M49 code), or InputError naming the line."""
    text = record[column]
    if not _CODE.fullmatch(text):
        raise InputError(
            f"{column} {text!r} is not a whole number",
            file=name,
            line=line,
            field=column,
            hint="download the extract again; it may have been edited",
        )
    return int(text)


def _number(record: dict[str, str], column: str, name: str, line: int) -> float | None:
    """A decimal column, None when empty or absent, or InputError naming the line."""
    text = record.get(column, "")
    if not text:
        return None
    if not _NUMBER.fullmatch(text) or not math.isfinite(number := float(text)):
        raise InputError(
            f"{column} {text!r} is not a number",
            file=name,
            line=line,
            field=column,
            hint="write numbers with a dot for decimals and no thousands separator",
        )
    return number


def _shorten(names: list[str], limit: int = 12) -> str:
    """Column names for a message, the first ``limit`` of them."""
    shown = ", ".join(names[:limit]) or "no columns"
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
