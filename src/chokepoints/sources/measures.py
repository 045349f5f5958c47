"""Lists of trade measures (export bans, licensing, quotas, taxes) read from CSV, for scenarios.

One row per (measure, HS6 code, HS revision); rows sharing a measure id are one measure, whose
products apply to all its partners. Three header variants are read (docs/methods/scenarios.md,
"Measures files"): this project's layout, the OECD Inventory of Export Restrictions on
Industrial Raw Materials as exported from its data table, and Global Trade Alert's intervention
table (the variable names of its ``master`` data set). Headers are matched without regard to
case, spaces, dots or underscores. Every problem is one InputError naming the file, the line,
the field and what to do.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chokepoints.analysis.scenario import ANY_REVISION
from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.countries import name_to_iso3
from chokepoints.reference.economies import Economies, Economy
from chokepoints.schema import HS_REVISIONS

#: Share of the measured flows lost when the file gives no fraction, per type of measure. A ban
#: stops the trade; licensing and a quota hold back part of it (0.5: the central assumption of
#: the presets, China's licensed gallium and germanium exports fell by about half); an export
#: tax raises the price without stopping the trade (0.25: an assumption for taxes of 10-30%).
#: ``other`` (minimum prices, captive mining...) has no default: the file must give a fraction.
DEFAULT_FRACTIONS: Mapping[str, float | None] = {
    "ban": 1.0,
    "licensing": 0.5,
    "quota": 0.5,
    "tax": 0.25,
    "other": None,
}

#: Labels of measure types in the OECD inventory and Global Trade Alert (lower case, runs of
#: other characters as one space) -> (type, direction or None when the label does not say).
TYPE_LABELS: Mapping[str, tuple[str, str | None]] = {
    # OECD Inventory of Export Restrictions on Industrial Raw Materials (its measure names)
    "export prohibition": ("ban", "export"),
    "export quota": ("quota", "export"),
    "export tax": ("tax", "export"),
    "export surtax": ("tax", "export"),
    "fiscal tax on exports": ("tax", "export"),
    "licensing requirement": ("licensing", None),
    "non automatic export licensing": ("licensing", "export"),
    "minimum export price": ("other", "export"),
    "minimum export price price reference": ("other", "export"),
    "restriction on customs clearance point for exports": ("other", "export"),
    "qualified exporters list": ("other", "export"),
    "domestic market obligation": ("other", "export"),
    "captive mining": ("other", "export"),
    "dual pricing scheme": ("other", "export"),
    "vat tax rebate reduction": ("other", "export"),
    "other export measures": ("other", "export"),
    # Global Trade Alert intervention types
    "export ban": ("ban", "export"),
    "export licensing requirement": ("licensing", "export"),
    "export related non tariff measure nes": ("other", "export"),
    "import ban": ("ban", "import"),
    "import licensing requirement": ("licensing", "import"),
    "import quota": ("quota", "import"),
    "import tariff quota": ("quota", "import"),
    "import tariff": ("tax", "import"),
    # Common words
    "embargo": ("ban", None),
    "export control": ("licensing", "export"),
}

#: Names a column may have, per field, first match wins: this project's layout, then the
#: OECD inventory's, then Global Trade Alert's (normalised: lower case, letters and digits).
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "measure_id": ("measureid", "interventionid", "id"),
    "imposing": ("imposingeconomy", "country", "reporter", "iun", "implementingjurisdiction"),
    "direction": ("direction", "affectedflow"),
    "partner": ("partner", "partners", "aun", "affectedjurisdiction", "affectedjurisdictions"),
    "hs6": ("hs6", "hs6code", "hscode", "productcode", "affectedproduct", "affectedproducts"),
    "revision": ("hsrevision", "hsversion", "hsclassification", "revision"),
    "year": ("year", "dateimplemented", "implementationdate"),
    "type": ("measuretype", "measure", "interventiontype", "type"),
    "fraction": ("fraction",),
    "note": ("note", "title", "description"),
}
REQUIRED = ("imposing", "hs6", "revision", "type")

_DIRECTIONS = {
    "export": "export",
    "exports": "export",
    "outward": "export",
    "x": "export",
    "import": "import",
    "imports": "import",
    "inward": "import",
    "m": "import",
}
_LIST = re.compile(r"[;,|]")
_CODES = re.compile(r"[;,|\s]+")
_HS6 = re.compile(r"\d{6}")
_LAYOUTS = "see docs/methods/scenarios.md, Measures files"

#: Builds the InputError of a row: (line, field, message, hint).
Fail = Callable[..., InputError]


@dataclass(frozen=True)
class Measure:
    """One trade measure: ``imposing`` restricts its exports to ``partners`` (all when empty)
    or, for an import measure, its imports from ``partners``, of ``products`` (revision ->
    HS6 codes), cutting ``fraction`` of the flows; ``line`` is its first row in the file."""

    id: str
    line: int
    imposing: Economy
    direction: str
    partners: tuple[Economy, ...]
    products: Mapping[str, tuple[str, ...]]
    type: str
    label: str
    fraction: float
    fraction_given: bool
    year: int | None = None
    note: str = ""
    lines: tuple[int, ...] = field(default=())


def read_measures(path: Path | str, *, economies: Economies | None = None) -> list[Measure]:
    """The measures of a CSV file, in the order of their first rows.

    ``economies`` resolves country codes and group names (with the user's groups); names such
    as "China" are read with country_converter's patterns. Raises InputError naming the file,
    line and field of the first problem.
    """
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("no such measures file", file=name, hint="check the path") from None
    except UnicodeDecodeError:
        raise InputError(
            "is not UTF-8 text", file=name, hint="save the measures as a UTF-8 CSV file"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=name) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InputError("is empty: no header row", file=name, line=1, hint=_LAYOUTS)
    columns = _columns(rows[0], name)
    resolver = economies or Economies()
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(rows[0]):
            raise InputError(
                f"has {len(row)} fields where the header has {len(rows[0])}",
                file=name,
                line=number,
                hint="quote fields that contain commas",
            )
        values = {key: row[index].strip() for key, index in columns.items()}
        key = values.get("measure_id") or f"line-{number}"
        grouped.setdefault(key, []).append((number, values))
    if not grouped:
        raise InputError("holds no measure, only a header", file=name, line=1)
    return [_measure(key, entries, name, resolver) for key, entries in grouped.items()]


def _normalised(header: str) -> str:
    """A header as matched: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _columns(header: list[str], file: str) -> dict[str, int]:
    """Field -> column index, from the header's names; InputError when a required one lacks."""
    names = {_normalised(h): i for i, h in reversed(list(enumerate(header)))}
    found = {}
    for key, aliases in COLUMNS.items():
        index = next((names[a] for a in aliases if a in names), None)
        if index is not None:
            found[key] = index
    missing = [key for key in REQUIRED if key not in found]
    if missing:
        wanted = {
            "imposing": "imposing_economy (OECD: Country; GTA: i.un or implementing.jurisdiction)",
            "hs6": "hs6 (OECD: HS code; GTA: affected.product)",
            "revision": "hs_revision, the HS revision of the codes, e.g. HS17",
            "type": "measure_type (OECD: Measure; GTA: intervention.type)",
        }
        raise InputError(
            f"has no column {wanted[missing[0]]}",
            file=file,
            line=1,
            field=missing[0],
            hint=f"add it ({_LAYOUTS})",
        )
    return found


def _measure(
    key: str, entries: list[tuple[int, dict[str, str]]], file: str, economies: Economies
) -> Measure:
    """One measure from its rows, which must agree on everything but products and partners."""
    first_line, first = entries[0]

    def fail(line: int, field: str, message: str, hint: str | None = None) -> InputError:
        return InputError(message, file=file, line=line, field=field, hint=hint)

    for line, values in entries[1:]:
        for name in ("imposing", "direction", "type", "fraction", "year"):
            if values.get(name, "") != first.get(name, ""):
                raise fail(
                    line,
                    name,
                    f"measure {key} has {name} {values.get(name, '')!r} here but "
                    f"{first.get(name, '')!r} on line {first_line}",
                    "give every row of a measure the same value, or another measure id",
                )
    kind, label_direction = _type(first["type"], first_line, fail)
    direction = _direction(first.get("direction", ""), label_direction, first_line, fail)
    fraction, given = _fraction(first.get("fraction", ""), kind, first["type"], first_line, fail)
    imposing = _economy(first["imposing"], economies, first_line, "imposing", fail)
    partners: dict[str, Economy] = {}
    products: dict[str, dict[str, None]] = {}
    all_partners = []
    for line, values in entries:
        cells = [p.strip() for p in _LIST.split(values.get("partner", "")) if p.strip()]
        all_partners.append(not cells or any(c.lower() in ("all", "world") for c in cells))
        for cell in cells:
            if cell.lower() not in ("all", "world"):
                economy = _economy(cell, economies, line, "partner", fail)
                partners.setdefault(economy.name, economy)
        revision = _revision(values["revision"], line, fail)
        for code in _CODES.split(values["hs6"]):
            if code:
                products.setdefault(revision, {})[_hs6(code, line, fail)] = None
        if not values["hs6"]:
            raise fail(line, "hs6", "no HS6 code", "give one 6-digit code per row")
    if any(all_partners) and not all(all_partners):
        line = entries[all_partners.index(True)][0]
        raise fail(
            line,
            "partner",
            f"measure {key} applies to every partner here but to some on other rows",
            "give every row of a measure the same partners, or another measure id",
        )
    if direction == "import" and not partners:
        raise fail(
            first_line,
            "partner",
            f"import measure {key} names no partner it restricts imports from",
            "give the exporting economy in the partner column",
        )
    return Measure(
        id=key,
        line=first_line,
        imposing=imposing,
        direction=direction,
        partners=tuple(partners.values()),
        products={revision: tuple(codes) for revision, codes in products.items()},
        type=kind,
        label=first["type"],
        fraction=fraction,
        fraction_given=given,
        year=_year(first.get("year", ""), first_line, fail),
        note=first.get("note", ""),
        lines=tuple(line for line, _ in entries),
    )


def _type(label: str, line: int, fail: Fail) -> tuple[str, str | None]:
    """The type and implied direction of a measure-type label."""
    text = re.sub(r"[^a-z0-9]+", " ", label.lower()).strip()
    if text in DEFAULT_FRACTIONS:
        return text, None
    if text in TYPE_LABELS:
        return TYPE_LABELS[text]
    raise fail(
        line,
        "type",
        f"unknown measure type {label!r}",
        f"use {', '.join(DEFAULT_FRACTIONS)} (other with a fraction) or an OECD or Global "
        "Trade Alert label such as export prohibition or export licensing requirement",
    )


def _direction(value: str, implied: str | None, line: int, fail: Fail) -> str:
    """``export`` or ``import``: the column's value, else the type's, else export."""
    if not value:
        return implied or "export"
    direction = _DIRECTIONS.get(value.lower())
    if direction is None:
        raise fail(
            line,
            "direction",
            f"direction {value!r} is not a restriction of exports or imports",
            "use export (outward) or import (inward)",
        )
    if implied is not None and implied != direction:
        raise fail(line, "direction", f"direction {value} contradicts the measure type ({implied})")
    return direction


def _fraction(value: str, kind: str, label: str, line: int, fail: Fail) -> tuple[float, bool]:
    """The file's fraction in (0, 1], else the type's default (none for ``other``)."""
    if not value:
        default = DEFAULT_FRACTIONS[kind]
        if default is None:
            raise fail(
                line,
                "fraction",
                f"measure type {label!r} has no default fraction",
                "give the share of the flows it cuts in the fraction column, e.g. 0.3",
            )
        return default, False
    try:
        fraction = float(value)
    except ValueError:
        fraction = float("nan")
    if not 0 < fraction <= 1:
        raise fail(
            line,
            "fraction",
            f"fraction {value!r} is not a number in (0, 1]",
            "write the share of the flows lost, e.g. 0.5, or leave it empty for the default",
        )
    return fraction, True


def _economy(value: str, economies: Economies, line: int, field: str, fail: Fail) -> Economy:
    """A country or group by code or group name, else a country by name."""
    if not value:
        raise fail(line, field, f"no {field} economy", "give an ISO3 code such as CHN")
    try:
        return economies.resolve(value)
    except UnknownCodeError:
        pass
    try:
        return economies.resolve(name_to_iso3(value))
    except UnknownCodeError:
        raise fail(
            line,
            field,
            f"unknown country or group {value!r}",
            "use an ISO3 code such as CHN, a numeric UN code or a group such as EU27",
        ) from None


def _revision(value: str, line: int, fail: Fail) -> str:
    """``HS17`` from ``HS17``, ``HS2017``, ``HS 2017`` or ``2017``; ``ANY`` for a code that is
    the same in every revision."""
    if value.strip().upper() == ANY_REVISION:
        return ANY_REVISION
    match = re.fullmatch(r"(?:HS)?\s*(\d{2}|\d{4})", value.strip().upper())
    revision = f"HS{match.group(1)[-2:]}" if match else ""
    if revision not in HS_REVISIONS:
        raise fail(
            line,
            "revision",
            f"unknown HS revision {value!r}",
            f"use one of {', '.join(HS_REVISIONS)}, or ANY for a code unchanged in all",
        )
    return revision


def _hs6(code: str, line: int, fail: Fail) -> str:
    """A 6-digit HS code as written (leading zeros kept)."""
    if not _HS6.fullmatch(code):
        hint = (
            "write it with its leading zero, e.g. 0" + code
            if code.isdigit() and len(code) == 5
            else "write 6-digit HS codes, one per row or separated by commas"
        )
        raise fail(line, "hs6", f"{code!r} is not a 6-digit HS code", hint)
    return code


def _year(value: str, line: int, fail: Fail) -> int | None:
    """The year of a ``2023`` or ``2023-08-01`` cell, or None when empty."""
    if not value:
        return None
    match = re.match(r"(\d{4})(?:$|[-/.])", value)
    if match is None:
        raise fail(line, "year", f"{value!r} is not a year or a date", "e.g. 2023 or 2023-08-01")
    return int(match.group(1))
