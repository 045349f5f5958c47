"""USGS Mineral Commodity Summaries world data: mine, refinery and smelter production.

Reads the two published layouts (FORMATS.md section 3) into the canonical ``production`` table:

* MCS2025 ``MCS2025_World_Data.csv``, wide: ``SOURCE,COMMODITY,COUNTRY,TYPE,UNIT_MEAS,
  PROD_2023,PROD_EST_ 2024,PROD_NOTES,...`` (note the space in ``PROD_EST_ 2024``), one row per
  commodity, country and type of production;
* MCS2026 ``MCS2026_Commodities_Data.csv``, long: ``MCS chapter,Section,Commodity,Country,
  Statistics,Statistics_detail,Unit,Year,Value,Notes,...``, production rows of the "World Mine
  Production and Reserves" section.

Quirks handled: a byte-order mark, cp1252 bytes, trailing spaces in names (``'Copper '``), the
misspelling ``Gemanium``, withheld or missing values (``W``, ``NA``, ``XX``, ``—``, ``--``,
``(1)``: no quantity, said in the notes), ``>95`` (kept as 95 with the sign in the notes), a
trailing ``e`` for estimates, units per row, USGS country names (``Burma``, ``Congo
(Kinshasa)``, ``Korea, Republic of``) and aggregate rows (``World total (rounded)``, ``Other
countries``) kept apart from countries in the ``aggregate`` column.

``fetch_usgs`` downloads an edition from ScienceBase (resuming, verified) for ``data fetch usgs``.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from chokepoints import schema
from chokepoints.errors import DownloadError, InputError, UnknownCodeError
from chokepoints.extract import Extract, RelationBuilder, SourceFile, refuse_truncated
from chokepoints.reference.countries import name_to_iso3

WIDE_KEYS = ("SOURCE", "COMMODITY", "COUNTRY", "TYPE", "UNIT_MEAS")
LONG_KEYS = ("Commodity", "Country", "Statistics", "Statistics_detail", "Unit", "Year", "Value")

#: Values that mean "no figure": withheld, not available, not applicable, none.
NO_VALUE = {"W", "NA", "XX", "—", "–", "--", "-", "(1)", ""}

#: USGS short names that country_converter does not read as meant.
USGS_NAMES = {
    "burma": "MMR",
    "congo (kinshasa)": "COD",
    "congo (brazzaville)": "COG",
    "korea, republic of": "KOR",
    "korea, north": "PRK",
    "laos": "LAO",
    "russia": "RUS",
    "turkey": "TUR",
    "türkiye": "TUR",
    "czechia": "CZE",
    "cote d'ivoire": "CIV",
    "côte d'ivoire": "CIV",
}
#: Aggregate rows, by their name in lower case without "(rounded)" and the like.
AGGREGATES = {
    "world total": "world_total",
    "other countries": "other_countries",
    "united states and canada": "countries_combined",
}
#: Commodity names fixed before they become ids.
COMMODITY_FIXES = {"gemanium": "germanium"}
#: Production stage from the start of a USGS type or detail text.
STAGES = (
    ("mine production", "mine"),
    ("smelter production", "smelter"),
    ("refinery production", "refinery"),
    ("plant production", "plant"),
    ("primary production", "primary"),
)


def read_usgs(path: Path | str, *, release: str | None = None) -> Extract:
    """Read an MCS world-data CSV (either layout) as an Extract of the ``production`` table.

    ``release`` defaults to the edition named in the file (``MCS2025``) or the file name.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError("no such file", file=str(path), hint="check the path")
    refuse_truncated(path)
    text = _decode(path)
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(reader, [])]
    if all(key in header for key in WIDE_KEYS):
        rows = _wide_rows(path.name, header, reader)
        edition = next((row["source"] for row in rows if row["source"]), None)
    elif all(key in header for key in LONG_KEYS):
        rows = _long_rows(path.name, header, reader)
        edition = re.search(r"MCS\d{4}", path.name)
        edition = edition.group(0) if edition else None
    else:
        raise InputError(
            "not a USGS Mineral Commodity Summaries world-data file",
            file=path.name,
            line=1,
            hint="expected the MCS2025 header (SOURCE,COMMODITY,COUNTRY,TYPE,UNIT_MEAS,...) or "
            "the MCS2026 one (MCS chapter,Section,Commodity,Country,Statistics,...)",
        )
    if not rows:
        raise InputError("no production rows", file=path.name, hint="check that this is MCS data")
    release = release or edition or path.stem
    table = production_table(rows, "usgs", release)
    countries = len({r["country"] for r in rows if r["aggregate"] is None})
    commodities = len({r["commodity"] for r in rows})
    return Extract(
        source="usgs",
        release=release,
        files=[SourceFile.of(path)],
        trade=[],
        tables={"production": builder(table)},
        notes=[
            f"{path.name}: read {len(rows)} production rows of {commodities} commodities and "
            f"{countries} countries, aggregates (world totals, other countries) kept apart"
        ],
    )


def commodity_id(name: str) -> str:
    """``'Rare earths'`` -> ``rare_earths``; ``'Iron Ore  '`` -> ``iron_ore``."""
    key = re.sub(r"[^a-z0-9]+", "_", name.strip().casefold()).strip("_")
    return COMMODITY_FIXES.get(key, key)


def production_stage(text: str) -> str:
    """The stage a USGS type names: mine, smelter, refinery, plant, primary (else other)."""
    lowered = text.strip().casefold()
    return next((stage for start, stage in STAGES if lowered.startswith(start)), "other")


def parse_quantity(text: str) -> tuple[float | None, bool, str]:
    """A USGS value as (quantity, estimated, note): ``'1,200e'`` -> (1200, True, '')."""
    value = text.strip()
    if value in NO_VALUE:
        return None, False, f"no figure ({value or 'empty'})"
    estimated = value.endswith("e")
    value = value.removesuffix("e").strip()
    note = ""
    if value[:1] in "<>":
        note, value = f"{value[0]} {value[1:].strip()}", value[1:].strip()
    try:
        return float(value.replace(",", "")), estimated, note
    except ValueError:
        return None, estimated, f"unreadable figure {text.strip()!r}"


def _decode(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM), else cp1252 as MCS2026 is published."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def country_or_aggregate(name: str, file: str, line: int) -> tuple[str, str | None]:
    """(ISO3, None) for a country, (name as published, kind) for an aggregate row."""
    cleaned = re.sub(r"\s+", " ", name).strip()
    base = re.sub(r"\s*\(.*\)$", "", cleaned).casefold()
    if base in AGGREGATES or cleaned.casefold() in AGGREGATES:
        return cleaned, AGGREGATES.get(base) or AGGREGATES[cleaned.casefold()]
    code = USGS_NAMES.get(cleaned.casefold())
    if code:
        return code, None
    try:
        return name_to_iso3(cleaned), None
    except UnknownCodeError:
        raise InputError(
            f"unknown country {cleaned!r}",
            file=file,
            line=line,
            field="COUNTRY",
            hint="add it to sources/usgs.py's USGS_NAMES or fix the row",
        ) from None


def _wide_rows(file: str, header: list[str], reader: Iterator[list[str]]) -> list[dict]:
    """Rows of the MCS2025 wide layout: one per commodity, country, type and year column."""
    where = {name: header.index(name) for name in header}
    years = []
    for name in header:
        found = re.fullmatch(r"PROD_(EST_)?\s*(\d{4})", name)
        if found:
            years.append((name, int(found.group(2)), bool(found.group(1))))
    if not years:
        raise InputError("no PROD_YYYY column", file=file, line=1, field="PROD_")
    notes_at = where.get("PROD_NOTES")
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        country, aggregate = country_or_aggregate(cells[where["COUNTRY"]], file, line)
        for column, year, estimated in years:
            quantity, marked, note = parse_quantity(cells[where[column]])
            published = cells[notes_at].strip() if notes_at is not None else ""
            rows.append(
                {
                    "commodity": commodity_id(cells[where["COMMODITY"]]),
                    "stage": production_stage(cells[where["TYPE"]]),
                    "country": country,
                    "aggregate": aggregate,
                    "year": year,
                    "quantity": quantity,
                    "unit": cells[where["UNIT_MEAS"]].strip(),
                    "estimated": estimated or marked,
                    "detail": cells[where["TYPE"]].strip(),
                    "notes": "; ".join(n for n in (note, published) if n) or None,
                    "source": cells[where["SOURCE"]].strip(),
                }
            )
    return rows


def _long_rows(file: str, header: list[str], reader: Iterator[list[str]]) -> list[dict]:
    """Production rows of the MCS2026 long layout (single years; ranges such as 2021–24 skip)."""
    where = {name: header.index(name) for name in header}
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        if cells[where["Statistics"]].strip().casefold() != "production":
            continue
        year = cells[where["Year"]].strip()
        if not re.fullmatch(r"\d{4}", year):
            continue
        country, aggregate = country_or_aggregate(cells[where["Country"]], file, line)
        quantity, estimated, note = parse_quantity(cells[where["Value"]])
        published = cells[where["Notes"]].strip() if "Notes" in where else ""
        detail = cells[where["Statistics_detail"]].strip()
        rows.append(
            {
                "commodity": commodity_id(cells[where["Commodity"]]),
                "stage": production_stage(detail),
                "country": country,
                "aggregate": aggregate,
                "year": int(year),
                "quantity": quantity,
                "unit": cells[where["Unit"]].strip(),
                "estimated": estimated,
                "detail": detail,
                "notes": "; ".join(n for n in (note, published) if n) or None,
                "source": "",
            }
        )
    return rows


def production_table(rows: list[dict], source: str, release: str) -> pa.Table:
    """The rows in the canonical ``production`` schema, with their source and release."""
    columns = {field.name: [row.get(field.name) for row in rows] for field in schema.PRODUCTION}
    columns["source"] = [source] * len(rows)
    columns["release"] = [release] * len(rows)
    return pa.table(columns, schema=schema.PRODUCTION)


def builder(table: pa.Table) -> RelationBuilder:
    """A relation builder that hands the parsed table to the store's DuckDB connection."""
    return lambda con: con.from_arrow(table)


# -- download ----------------------------------------------------------------------------------
#: Where USGS publishes the MCS data releases; ``CHOKEPOINTS_USGS_URL`` overrides it.
DEFAULT_USGS_BASE_URL = "https://www.sciencebase.gov"
USGS_URL_VARIABLE = "CHOKEPOINTS_USGS_URL"


@dataclass(frozen=True)
class McsEdition:
    """Where one edition's world data is on ScienceBase (FORMATS.md section 3).

    ``file`` is downloaded from item ``item``: found in the item's JSON file list when
    ``listed``, else at ``{base}/catalog/file/get/{item}?name={file}``. ``member`` is the CSV
    inside ``file`` when it is a zip archive, None when ``file`` is the CSV itself.
    """

    item: str
    file: str
    member: str | None
    listed: bool


#: The editions ``fetch_usgs`` knows, by year.
MCS_EDITIONS = {
    2025: McsEdition(
        item="677eaf95d34e760b392c4970",
        file="World_Data_Release_MCS_2025.zip",
        member="MCS2025_World_Data.csv",
        listed=True,
    ),
    2026: McsEdition(
        item="696a75d5d4be0228872d3bf8",
        file="MCS2026_Commodities_Data.csv",
        member=None,
        listed=False,
    ),
}


def usgs_base_url() -> str:
    """The ScienceBase URL MCS data is downloaded from: ``CHOKEPOINTS_USGS_URL`` or USGS's."""
    return os.environ.get(USGS_URL_VARIABLE) or DEFAULT_USGS_BASE_URL


def mcs_edition(edition: int | str) -> tuple[int, McsEdition]:
    """The year and location of an MCS edition given as ``2025``, ``"2025"`` or ``"MCS2025"``."""
    text = str(edition).strip().upper().removeprefix("MCS")
    year = int(text) if text.isdigit() else None
    if year not in MCS_EDITIONS:
        known = ", ".join(str(y) for y in MCS_EDITIONS)
        raise InputError(
            f"unknown edition {edition!r} of the USGS Mineral Commodity Summaries",
            hint=f"use one of {known}, or download another edition yourself and run "
            "`chokepoints data ingest usgs FILE`",
        )
    return year, MCS_EDITIONS[year]


def fetch_usgs(
    edition: int | str,
    folder: str | Path,
    *,
    base_url: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download (or resume) one MCS edition's world data into ``folder``; return its CSV.

    ``base_url`` defaults to :func:`usgs_base_url`. The 2025 zip's address is read from the
    ScienceBase item JSON (``{base}/catalog/item/{item}?format=json``, entry ``files[]`` of
    that name, its ``url``); the 2026 CSV is fetched directly. A file already in
    ``folder`` that passes the content check is used without any request; one that fails it is
    renamed ``.bad`` and fetched again. A zip's member is extracted next to it under the zip
    guards of :mod:`chokepoints.sources.archive`. Failures are one-sentence DownloadErrors.
    """
    year, chosen = mcs_edition(edition)
    base = base_url or usgs_base_url()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / chosen.file
    if target.exists() and _content_problem(target, chosen) is not None:
        target.replace(target.with_name(target.name + ".bad"))
    if not target.exists():
        url = _listed_url(base, year, chosen) if chosen.listed else _direct_url(base, chosen)
        check = functools.partial(_content_problem, chosen=chosen)
        _download(url, target, year, chosen, progress=progress, check=check)
    if chosen.member is None:
        return target
    return _extract_member(target, chosen.member)


def _direct_url(base: str, chosen: McsEdition) -> str:
    """``{base}/catalog/file/get/{item}?name={file}``, ScienceBase's address of one file."""
    from chokepoints.sources.http import url_join

    return url_join(base, f"catalog/file/get/{chosen.item}?name={chosen.file}")


def _listed_url(base: str, year: int, chosen: McsEdition) -> str:
    """The URL of ``chosen.file`` as the ScienceBase item JSON lists it.

    The JSON is fetched into a temporary folder, so nothing of it stays behind. Its ``size`` is
    not used: the server's length and the content check verify the file, and a page served
    instead of it is then named as such rather than as a file of the wrong size.
    """
    import httpx

    from chokepoints.sources.http import url_join

    item_url = url_join(base, f"catalog/item/{chosen.item}?format=json")
    with tempfile.TemporaryDirectory(prefix="chokepoints-usgs-") as scratch:
        listing = _download(item_url, Path(scratch) / "item.json", year, chosen)
        try:
            item = json.loads(listing.read_bytes())
        except ValueError:
            item = None
    files = item.get("files") if isinstance(item, dict) else None
    if not isinstance(files, list):
        raise DownloadError(
            f"{item_url} is not a ScienceBase item (no JSON with a files list); check the base "
            f"URL (base_url or {USGS_URL_VARIABLE}, default {DEFAULT_USGS_BASE_URL})"
        )
    entry = next((f for f in files if isinstance(f, dict) and f.get("name") == chosen.file), None)
    link = entry and (entry.get("url") or entry.get("downloadUri"))
    if not link:
        names = ", ".join(str(f.get("name")) for f in files if isinstance(f, dict)) or "none"
        raise DownloadError(
            f"the ScienceBase item {item_url} lists no file {chosen.file} with a URL (its files: "
            f"{names}); USGS may have renamed it: download the world data from the item page "
            "and run `chokepoints data ingest usgs FILE`"
        )
    return str(httpx.URL(item_url).join(str(link)))


def _download(
    url: str,
    target: Path,
    year: int,
    chosen: McsEdition,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    check: Callable[[Path], str | None] | None = None,
) -> Path:
    """``http.download`` with its 404 and web-page errors advising in USGS terms."""
    from chokepoints.sources import http

    advice = (
        f"check the edition ({', '.join(str(y) for y in MCS_EDITIONS)}) and the base URL "
        f"(base_url or {USGS_URL_VARIABLE}, default {DEFAULT_USGS_BASE_URL}), or look for "
        f"MCS {year} on ScienceBase item {chosen.item}"
    )
    return http.download(url, target, progress=progress, check=check, advice=advice)


def _content_problem(path: Path, chosen: McsEdition) -> str | None:
    """Why a downloaded file is not the edition's data (damaged zip, member or header missing)."""
    if chosen.member is not None:
        from chokepoints.sources import archive as zips

        reason = zips.problem(path, whole=True)
        if reason is not None:
            return reason
        with zipfile.ZipFile(path) as bundle:
            names = [Path(n).name for n in bundle.namelist()]
        if chosen.member not in names:
            return f"it holds no {chosen.member}, only {', '.join(names) or 'nothing'}"
        return None
    with path.open("rb") as handle:
        line = handle.readline(64 << 10)
    try:
        first = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        first = line.decode("cp1252", errors="replace")
    header = [cell.strip() for cell in next(csv.reader(io.StringIO(first)), [])]
    if not all(key in header for key in LONG_KEYS):
        return "its first line is not the MCS header (MCS chapter,Section,Commodity,...)"
    return None


def _extract_member(archive: Path, member: str) -> Path:
    """Write ``member`` (matched by file name, in any folder of the zip) next to ``archive``.

    Streamed under the zip-bomb limits to a ``.part`` file that becomes the CSV only when whole.
    """
    from chokepoints.sources import archive as zips

    with zips.reading(archive, "delete it and fetch it again") as bundle:
        found = next((n for n in bundle.namelist() if Path(n).name == member), None)
        if found is None:
            raise InputError(
                f"holds no {member}", file=str(archive), hint="delete it and fetch it again"
            )
        target = archive.with_name(member)
        part = target.with_name(target.name + ".part")
        zips.extract_member(bundle, found, part, zips.Limits.from_env())
    os.replace(part, target)
    return target
