"""Tidy bilateral trade tables that users already have (CSV or Parquet) as canonical trade rows.

The user names which of the file's columns hold exporter, importer, product and value (and
optionally year and quantity), and says which classification and unit the table uses. DuckDB
reads the file itself, so tables as large as a BACI year stream to the store without pandas.
"""

from __future__ import annotations

import codecs
import csv
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from chokepoints import schema
from chokepoints.errors import InputError
from chokepoints.extract import (
    Extract,
    SourceFile,
    TradePart,
    plausible_year,
    unterminated_line,
    year_range,
)
from chokepoints.reference.countries import ALIASES, baci_numeric_map, countries, known_iso3

REQUIRED = ("exporter", "importer", "product", "value_usd")
OPTIONAL = ("year", "quantity_t")
UNITS = {"usd": 1, "thousands": 1000}
CODE_KINDS = ("auto", "iso3", "iso2", "numeric")
DELIMITERS = (",", ";", "\t", "|")

#: A decimal number as both Python and DuckDB parse it identically (no "1_000", "nan", "0x1").
NUMBER_PATTERN = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
_NUMBER = re.compile(NUMBER_PATTERN)
_DIGITS = re.compile(r"[0-9]+")
_YEAR = re.compile(r"[0-9]{4}")
_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")

#: Source names written by chokepoints' own readers, and the command of each. A table under one
#: of these names would replace that reader's parts of the same classification and year (a
#: part's identity is its source, classification, year and slice), so they are refused.
READER_SOURCES = {
    "baci": "data ingest baci",
    "comtrade": "data ingest comtrade",
    "demo": "data demo",
    "wgi": "data ingest wgi",
}


def read_table(
    path: Path | str,
    *,
    mapping: dict[str, str],
    classification: str,
    source: str,
    year: int | None = None,
    unit: str = "usd",
    codes: str = "auto",
    release: str = "user",
    reporter_side: str = "reconciled",
) -> Extract:
    """Read a bilateral trade table into an Extract with a single trade part (slice ``all``).

    ``mapping`` maps canonical column names to the file's (exporter, importer, product and
    value_usd required; year and quantity_t optional). ``unit='thousands'`` multiplies values by
    1000. Country codes may be ISO3, ISO2 or BACI/M49 numbers: with ``codes='auto'`` each value is
    read by its shape (digits, two letters, else ISO3), which never overlap. Product codes of odd
    length get their lost leading zero back (``10121`` -> ``010121``), except 7 digits under an
    HS revision, which no HS level has. ``source`` may not be a name chokepoints' own readers
    write (``READER_SOURCES``).
    """
    path = Path(path)
    _check_arguments(classification, source, unit, codes, reporter_side)
    spec = _Spec(
        mapping=_check_mapping(mapping, year),
        classification=classification,
        source=source,
        year=None if year is None else int(year),
        factor=UNITS[unit],
        codes=codes,
        release=release,
        reporter_side=reporter_side,
    )
    layout = _layout(path, spec.mapping)
    notes = _validate(path, layout, spec)
    return Extract(
        source=source,
        release=release,
        files=[SourceFile.of(path)],
        trade=[
            TradePart(
                origin=path.name,
                build=functools.partial(_build, layout, spec),
                rows=functools.partial(_rows, path, layout, spec),
                fields={"level": spec.mapping["product"], **spec.mapping},
            )
        ],
        notes=notes,
    )


@dataclass(frozen=True)
class _Spec:
    """What the caller says about the table: column mapping, classification, units, codes."""

    mapping: dict[str, str]
    classification: str
    source: str
    year: int | None
    factor: int
    codes: str
    release: str
    reporter_side: str


@dataclass(frozen=True)
class _Layout:
    """How the file is physically read: format, CSV dialect, header and Parquet number columns."""

    path: Path
    parquet: bool
    columns: tuple[str, ...]
    delimiter: str = ","
    encoding: str = "utf-8"
    numeric: frozenset[str] = frozenset()


def _check_mapping(mapping: dict[str, str], year: int | None) -> dict[str, str]:
    """Return the mapping after checking it names the required canonical columns, once."""
    unknown = sorted(set(mapping) - set(REQUIRED) - set(OPTIONAL))
    missing = [name for name in REQUIRED if name not in mapping]
    problems = [f"lacks {', '.join(missing)}"] if missing else []
    problems += [f"has unknown name(s) {', '.join(unknown)}"] if unknown else []
    if problems:
        raise InputError(
            f"the column mapping {' and '.join(problems)}",
            hint=f"map {', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)}) to the "
            "file's column names",
        )
    if ("year" in mapping) == (year is not None):
        raise InputError(
            "give the year either as a column in the mapping or as the year argument, "
            f"{'not both' if year is not None else 'one of them'}",
            hint="e.g. year=2022 for a table of one year",
        )
    if year is not None and not plausible_year(int(year)):
        raise InputError(
            f"year {year} is not a year of trade data ({year_range()})",
            field="year",
            hint="e.g. year=2022 for a table of one year",
        )
    return dict(mapping)


def _check_arguments(
    classification: str, source: str, unit: str, codes: str, reporter_side: str
) -> None:
    """Raise InputError for a classification, unit, code kind, side or source name unknown here."""
    if classification not in schema.HS_REVISIONS and not classification.startswith("CN"):
        raise InputError(
            f"classification {classification!r} is not an HS revision or CN vintage",
            hint=f"use one of {', '.join(schema.HS_REVISIONS)} or a CN name such as CN2022",
        )
    for value, allowed, what in (
        (unit, tuple(UNITS), "unit"),
        (codes, CODE_KINDS, "codes"),
        (reporter_side, schema.REPORTER_SIDES, "reporter_side"),
    ):
        if value not in allowed:
            raise InputError(
                f"{what} {value!r} is not one of {', '.join(allowed)}",
                hint=f"pass {what}={allowed[0]!r} or another of these",
            )
    if not _SOURCE_NAME.fullmatch(source):
        raise InputError(
            f"source name {source!r} is not a lower-case name",
            hint="use letters, digits, - and _, e.g. atlas or my_baci",
        )
    if source in READER_SOURCES:
        raise InputError(
            f"source name {source!r} is the one `chokepoints {READER_SOURCES[source]}` writes, "
            f"and a table under it would replace that reader's {source} parts of the same years",
            field="source",
            hint=f"name the table's source after where it comes from, e.g. my_{source}",
        )


def _layout(path: Path, mapping: dict[str, str]) -> _Layout:
    """Find the file's format, encoding, delimiter and columns; check the mapped columns exist."""
    if not path.is_file():
        raise InputError("the file does not exist", file=str(path))
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if not head:
        raise InputError("the file is empty (0 bytes)", file=path.name)
    layout = _parquet_layout(path) if head.startswith(b"PAR1") else _csv_layout(path, head)
    absent = [column for column in mapping.values() if column not in layout.columns]
    if absent:
        raise InputError(
            f"column(s) {', '.join(map(repr, absent))} not in the file, which has "
            f"{', '.join(map(repr, layout.columns))}",
            file=path.name,
            line=None if layout.parquet else 1,
            hint="map each canonical name to one of these columns",
        )
    return layout


def _parquet_layout(path: Path) -> _Layout:
    """Columns of a Parquet file, and which of them are numbers rather than text."""
    try:
        file_schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            f"the file starts like Parquet but cannot be read ({exc})", file=path.name
        ) from exc
    numeric = {
        f.name
        for f in file_schema
        if pa.types.is_integer(f.type)
        or pa.types.is_floating(f.type)
        or pa.types.is_decimal(f.type)
    }
    return _Layout(path, True, tuple(file_schema.names), numeric=frozenset(numeric))


def _csv_layout(path: Path, head: bytes) -> _Layout:
    """Encoding (UTF-8, else Latin-1), delimiter and header of a CSV file."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise InputError(
            "the file is UTF-16 or binary, neither CSV text nor Parquet",
            file=path.name,
            hint="save the table as CSV (UTF-8) or Parquet",
        )
    encoding = "utf-8" if _is_utf8(path) else "latin-1"
    text = head.decode("utf-8" if encoding == "utf-8" else "latin-1", errors="ignore")
    first = text.removeprefix("\ufeff").splitlines()[0] if text.strip() else ""
    delimiter = max(DELIMITERS, key=lambda d: len(next(csv.reader([first], delimiter=d))))
    header = tuple(name.strip() for name in next(csv.reader([first], delimiter=delimiter)))
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise InputError(
            f"the header repeats column(s) {', '.join(map(repr, repeated))}",
            file=path.name,
            line=1,
            hint="give every column a distinct name",
        )
    return _Layout(path, False, header, delimiter=delimiter, encoding=encoding)


def _is_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8, read in 1 MiB blocks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _scan(layout: _Layout) -> str:
    """The DuckDB table function that reads the file with every CSV column as text."""
    if layout.parquet:
        return f"read_parquet({_literal(str(layout.path))})"
    columns = ", ".join(
        f"{_literal(c or f'column{i}')}: 'VARCHAR'" for i, c in enumerate(layout.columns)
    )
    return (
        f"read_csv({_literal(str(layout.path))}, delim={_literal(layout.delimiter)}, "
        f"quote='\"', escape='\"', header=true, auto_detect=false, "
        f"encoding={_literal(layout.encoding)}, columns={{{columns}}})"
    )


def _text_sql(layout: _Layout, column: str) -> str:
    """SQL for a column as trimmed text, NULL when empty."""
    if column in layout.numeric:
        return f"CAST({_identifier(column)} AS VARCHAR)"
    return f"NULLIF(trim({_identifier(column)}), '')"


def _number_sql(layout: _Layout, column: str, *, na: bool = False) -> str:
    """SQL for a column as DOUBLE; with ``na``, the text NA is NULL too."""
    if column in layout.numeric:
        return f"CAST({_identifier(column)} AS DOUBLE)"
    text = _text_sql(layout, column)
    if na:
        text = f"(CASE WHEN upper({text}) = 'NA' THEN NULL ELSE {text} END)"
    return f"CAST({text} AS DOUBLE)"


def _year_sql(layout: _Layout, column: str) -> str:
    """SQL for a year column: an integer column as is, text as its four digits."""
    if column in layout.numeric:
        return _identifier(column)
    return _text_sql(layout, column)


def _code_key_sql(expression: str, codes: str) -> str:
    """SQL for the lookup key of a country code (see :func:`_code_key`)."""
    numeric = f"'N:' || ltrim({expression}, '0')"
    iso2 = f"'A2:' || upper({expression})"
    iso3 = f"'A3:' || upper({expression})"
    if codes == "auto":
        return (
            f"CASE WHEN regexp_full_match({expression}, '[0-9]+') THEN {numeric} "
            f"WHEN length({expression}) = 2 THEN {iso2} ELSE {iso3} END"
        )
    return {"numeric": numeric, "iso2": iso2, "iso3": iso3}[codes]


def _code_key(text: str, codes: str) -> str:
    """Lookup key of a country code: ``N:`` number, ``A2:`` ISO2 or ``A3:`` ISO3, by shape."""
    if codes == "numeric" or (codes == "auto" and _DIGITS.fullmatch(text)):
        return "N:" + text.lstrip("0")
    if codes == "iso2" or (codes == "auto" and len(text) == 2):
        return "A2:" + text.upper()
    return "A3:" + text.upper()


@functools.cache
def _code_table() -> dict[str, str]:
    """Every accepted country code key -> ISO3: ISO3 and aliases, ISO2, BACI/M49 numbers."""
    known = known_iso3()
    table = {f"A3:{iso3}": iso3 for iso3 in known}
    table.update({f"A3:{alias}": iso3 for alias, iso3 in ALIASES.items() if iso3 in known})
    frame = countries().dropna(subset=["iso2"])
    table.update(
        {f"A2:{iso2}": iso3 for iso2, iso3 in zip(frame["iso2"], frame["iso3"], strict=True)}
    )
    table.update({f"N:{code}": iso3 for code, iso3 in baci_numeric_map().items() if iso3 in known})
    return table


def _select_sql(layout: _Layout, spec: _Spec) -> str:
    """The query that turns the file into the canonical trade columns and types."""
    m = spec.mapping
    values = ", ".join(f"({_literal(k)}, {_literal(v)})" for k, v in _code_table().items())
    year = str(spec.year) if spec.year is not None else _year_sql(layout, m["year"])
    quantity = _number_sql(layout, m["quantity_t"], na=True) if "quantity_t" in m else "NULL"
    return f"""
        WITH raw AS (
            SELECT {year} AS year,
                   {_text_sql(layout, m["exporter"])} AS exporter,
                   {_text_sql(layout, m["importer"])} AS importer,
                   {_text_sql(layout, m["product"])} AS product,
                   {_number_sql(layout, m["value_usd"])} AS value_usd,
                   {quantity} AS quantity_t
            FROM {_scan(layout)}
        ),
        codes(key, iso3) AS (VALUES {values}),
        padded AS (
            SELECT *, CASE WHEN regexp_full_match(product, '[0-9]+')
                                AND length(product) IN {_padded_lengths(spec)}
                           THEN '0' || product ELSE product END AS code
            FROM raw
        )
        SELECT CAST(year AS SMALLINT) AS year,
               coalesce(e.iso3, '?' || exporter) AS exporter,
               coalesce(i.iso3, '?' || importer) AS importer,
               code AS product,
               {_literal(spec.classification)} AS classification,
               CAST(length(code) AS TINYINT) AS level,
               CAST(value_usd * {spec.factor} AS DOUBLE) AS value_usd,
               CAST(quantity_t AS DOUBLE) AS quantity_t,
               {_literal(spec.source)} AS source,
               {_literal(spec.release)} AS release,
               {_literal(spec.reporter_side)} AS reporter_side
        FROM padded
        LEFT JOIN codes e ON e.key = {_code_key_sql("exporter", spec.codes)}
        LEFT JOIN codes i ON i.key = {_code_key_sql("importer", spec.codes)}
    """


def _build(layout: _Layout, spec: _Spec, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The canonical trade relation of the file, on the store's connection."""
    return con.sql(_select_sql(layout, spec))


def _bad_sql(layout: _Layout, column: str, pattern: str, *, na: bool = False) -> str:
    """SQL counting rows whose ``column`` is neither empty nor a finite number matching ``pattern``.

    With ``na``, the text NA counts as empty (BACI writes unknown quantities so).
    """
    if column in layout.numeric:
        return f"count(*) FILTER (WHERE NOT isfinite(CAST({_identifier(column)} AS DOUBLE)))"
    text = _text_sql(layout, column)
    finite = f"coalesce(isfinite(TRY_CAST({text} AS DOUBLE)), false)"
    missing = f"{text} IS NULL" + (f" OR upper({text}) = 'NA'" if na else "")
    return (
        f"count(*) FILTER (WHERE NOT ({missing}) "
        f"AND NOT (regexp_full_match({text}, {_literal(pattern)}) AND {finite}))"
    )


def _validate(path: Path, layout: _Layout, spec: _Spec) -> list[str]:
    """Check every value parses, then return notes on what was read; InputError names a line."""
    m = spec.mapping
    checks = [_bad_sql(layout, m["value_usd"], NUMBER_PATTERN)]
    if "quantity_t" in m:
        checks.append(_bad_sql(layout, m["quantity_t"], NUMBER_PATTERN, na=True))
    if "year" in m:
        checks.append(_bad_sql(layout, m["year"], "[0-9]{4}"))
    product = _text_sql(layout, m["product"])
    with duckdb.connect() as con:
        try:
            rows, longest, *bad = con.sql(
                f"SELECT count(*), coalesce(max(length({product})), 0), {', '.join(checks)} "
                f"FROM {_scan(layout)}"
            ).fetchall()[0]
            if not rows:
                raise InputError(
                    "the table has a header but no data rows",
                    file=path.name,
                    hint="export the table again with its rows",
                )
            if any(bad) or longest > 8:
                _raise_first_bad(path, layout, spec)
            unknown, first_year, last_year, products = con.sql(
                "SELECT count(*) FILTER (WHERE starts_with(exporter, '?') "
                "OR starts_with(importer, '?')), min(year), max(year), count(DISTINCT product) "
                f"FROM ({_select_sql(layout, spec)})"
            ).fetchall()[0]
        except duckdb.Error as exc:
            raise _read_error(path, layout, exc) from exc
    years = str(first_year) if first_year == last_year else f"{first_year}-{last_year}"
    notes = [
        f"{path.name}: read {rows} rows of {products} {spec.classification} products for "
        f"{years} as source {spec.source}"
    ]
    if spec.factor != 1:
        notes.append("values were given in thousands of USD and were multiplied by 1000")
    if layout.encoding != "utf-8":
        notes.append(f"{path.name} is not UTF-8 and was read as Latin-1")
    if unknown:
        notes.append(
            f"{unknown} rows have a country code chokepoints does not know (shown as ?code)"
        )
    return notes + _truncation_notes(path, layout)


def _truncation_notes(path: Path, layout: _Layout) -> list[str]:
    """A warning when a CSV's last line has no newline: the file may have been cut short.

    Tables come from many tools, some of which omit the final newline, so this warns rather
    than refuses as the BACI and Comtrade readers do.
    """
    line = None if layout.parquet else unterminated_line(path)
    if line is None:
        return []
    return [
        f"{path.name}, line {line}: the last line has no newline at its end, so the file may be "
        "truncated; check that its last row is complete, or export the file again"
    ]


def _read_error(path: Path, layout: _Layout, exc: duckdb.Error) -> InputError:
    """An InputError from DuckDB's message about a malformed file, with its line if given."""
    message = str(exc).splitlines()
    line = re.search(r"Line: (\d+)", str(exc))
    detail = next((text for text in message if text.startswith("Expected")), message[0])
    kind = "Parquet" if layout.parquet else f"CSV delimited by {layout.delimiter!r}"
    return InputError(
        f"the file cannot be read as {kind} ({detail.strip()})",
        file=path.name,
        line=int(line.group(1)) if line else None,
        hint="check that every row has as many fields as the header",
    )


def _raise_first_bad(path: Path, layout: _Layout, spec: _Spec) -> None:
    """Raise InputError for the first row whose number, year or product code is unusable.

    A CSV error names the line; a Parquet error names the row (counted from 1) in its message.
    """
    for number, raw in _raw_rows(path, layout, spec):
        line, where = (None, f" in row {number}") if layout.parquet else (number, "")
        try:
            row = _convert(raw, spec)
        except _BadValue as bad:
            raise InputError(
                f"{spec.mapping[bad.column]} {bad.text!r}{where} is not {bad.expected}",
                file=path.name,
                line=line,
                field=spec.mapping[bad.column],
                hint=bad.hint,
            ) from None
        if row["product"] is not None and len(row["product"]) > 8:
            raise InputError(
                f"product code {row['product']!r}{where} is longer than the 8 digits of a CN code",
                file=path.name,
                line=line,
                field=spec.mapping["product"],
                hint="cut national tariff lines to 6 (HS) or 8 (CN) digits",
            )
    raise InputError(
        "the table has values DuckDB cannot read although each row parses",
        file=path.name,
        hint="report this file to the chokepoints developers",
    )


class _BadValue(Exception):
    """A value that does not parse; carries the canonical column and the text."""

    def __init__(self, column: str, text: str, expected: str, hint: str) -> None:
        super().__init__(column, text)
        self.column, self.text, self.expected, self.hint = column, text, expected, hint


def _rows(path: Path, layout: _Layout, spec: _Spec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line or row number, canonical row) in file order, computed as the relation's."""
    for line, raw in _raw_rows(path, layout, spec):
        yield line, _convert(raw, spec)


def _raw_rows(path: Path, layout: _Layout, spec: _Spec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line, {canonical name: raw value}) for the mapped columns of each data row.

    CSV values are trimmed text or None when empty; Parquet values keep their Arrow type, and
    their "line" is the row number counted from 1.
    """
    if layout.parquet:
        file = pq.ParquetFile(path)
        number = 0
        for batch in file.iter_batches(columns=list(dict.fromkeys(spec.mapping.values()))):
            for record in batch.to_pylist():
                number += 1
                yield (
                    number,
                    {
                        name: _parquet_value(record[column], column in layout.numeric)
                        for name, column in spec.mapping.items()
                    },
                )
        return
    positions = {name: layout.columns.index(column) for name, column in spec.mapping.items()}
    encoding = "utf-8-sig" if layout.encoding == "utf-8" else "latin-1"
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=layout.delimiter)
        next(reader, None)
        previous = reader.line_num
        for fields in reader:
            line, previous = previous + 1, reader.line_num
            if fields:
                yield (
                    line,
                    {
                        name: (fields[index].strip() or None) if index < len(fields) else None
                        for name, index in positions.items()
                    },
                )


def _parquet_value(value: Any, numeric: bool) -> Any:
    """A Parquet value as the SQL sees it: numbers as float, other values as trimmed text."""
    if value is None:
        return None
    if numeric:
        return value
    return str(value).strip() or None


def _convert(raw: dict[str, Any], spec: _Spec) -> dict[str, Any]:
    """One raw row in canonical columns, with the same arithmetic as :func:`_select_sql`."""
    table = _code_table()

    def country(text: Any) -> str | None:
        if text is None:
            return None
        text = str(text)
        return table.get(_code_key(text, spec.codes), "?" + text)

    product = raw["product"]
    if product is not None:
        product = str(product)
        if _DIGITS.fullmatch(product) and len(product) in _padded_lengths(spec):
            product = "0" + product
    value = _float(raw["value_usd"], "value_usd", na=False)
    return {
        "year": _year(raw["year"]) if "year" in raw else spec.year,
        "exporter": country(raw["exporter"]),
        "importer": country(raw["importer"]),
        "product": product,
        "classification": spec.classification,
        "level": None if product is None else len(product),
        "value_usd": None if value is None else value * spec.factor,
        "quantity_t": _float(raw.get("quantity_t"), "quantity_t", na=True),
        "source": spec.source,
        "release": spec.release,
        "reporter_side": spec.reporter_side,
    }


def _padded_lengths(spec: _Spec) -> tuple[int, ...]:
    """Code lengths that lost a leading zero: 1, 3 and 5 digits, and 7 for 8-digit CN codes.

    HS levels have 2, 4 or 6 digits, so a 7-digit code under an HS revision is refused as it is
    rather than made into an 8-digit code.
    """
    return (1, 3, 5, 7) if spec.classification.startswith("CN") else (1, 3, 5)


def _year(value: Any) -> int | None:
    """A year from a column: an integer, or four digits of text."""
    if value is None or isinstance(value, int | float):
        return None if value is None else int(value)
    if not _YEAR.fullmatch(str(value)):
        raise _BadValue("year", str(value), "a four-digit year", "write years such as 2022")
    return int(value)


def _float(value: Any, column: str, *, na: bool) -> float | None:
    """A finite number from a number or decimal text; None when empty (or NA with ``na``)."""
    if value is None or (na and isinstance(value, str) and value.upper() == "NA"):
        return None
    hint = "write numbers with a dot for decimals and no thousands separator"
    if isinstance(value, str) and not _NUMBER.fullmatch(value):
        raise _BadValue(column, value, "a number", hint)
    number = float(value)
    if not math.isfinite(number):
        raise _BadValue(column, str(value), "a finite number", hint)
    return number
