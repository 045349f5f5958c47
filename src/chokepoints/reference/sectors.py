"""Sector taxonomy: named lists of HS6 codes, per HS revision, read from TOML files.

Each built-in sector is one file ``reference/sectors/<id>.toml``::

    id = "critical_minerals"            # the file name without .toml
    name = "Critical minerals"
    description = "..."
    sources = ["where the scope comes from", "how the codes were chosen"]
    includes = ["other_sector"]         # optional: a composite adds these sectors' codes
    [codes]                             # one list per HS revision, quoted 6-digit codes
    HS92 = ["..."]
    HS17 = ["..."]
    [descriptions]                      # optional, one short text per code
    "850511" = "Permanent magnets of metal"

Codes are written per revision because the HS renumbers products (HS2022 split PV cells out of
854140; HS2012 created 850760 for lithium-ion cells), so a sector has a list only for the
revisions its file names. A code may belong to several sectors (polysilicon, 280461, is in
``solar_pv`` and ``semiconductors``): ``sector_table`` keeps one row per (product, sector).

Built-in sectors cover Japan's 11 "specified critical products" of the Economic Security
Promotion Act (2022): semiconductors, natural gas (``lng_energy``), storage batteries
(``batteries``), permanent magnets, critical minerals, machine tools and industrial robots
(``machine_tools_robots``), aircraft parts, ship parts (``ship_equipment``), fertilizers and
antimicrobials (``pharmaceuticals_antimicrobials``), except cloud programs, which are software
and have no HS code. ``electric_vehicles`` comes on top, and ``eu_sensitive_ecosystems`` is a
documented proxy (a composite), not the European Commission's unpublished list.

Users add sectors as TOML files of the same shape in folders passed as ``extra_dirs`` (the
workspace passes ``HOME/sectors/``). A user file whose id is that of a built-in sector replaces
the built-in sector entirely, and a later folder replaces an earlier one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.hs_revisions import CodeConversion, convert_codes, nearest_revision
from chokepoints.reference.toml_files import packaged_files, parse_toml, read_text
from chokepoints.schema import HS_REVISIONS

#: ``Sector.origin`` of the sectors shipped with chokepoints.
BUILTIN = "built-in"

_REQUIRED_KEYS = ("id", "name", "description", "sources", "codes")
_OPTIONAL_KEYS = ("includes", "descriptions")
_SECTOR_ID = re.compile(r"[a-z][a-z0-9_]*")
_HS6 = re.compile(r"\d{6}")


@dataclass(frozen=True)
class Sector:
    """One sector file, as written: its own codes per revision, before any ``includes``.

    ``origin`` is ``BUILTIN`` or the path of the user file, so that listings show which
    definition is in force.
    """

    id: str
    name: str
    description: str
    sources: tuple[str, ...]
    codes: dict[str, tuple[str, ...]]
    descriptions: dict[str, str]
    includes: tuple[str, ...]
    origin: str


def list_sectors(extra_dirs: Sequence[Path | str] | None = None) -> pd.DataFrame:
    """One row per sector, sorted by id: what each is, where it comes from, and its size.

    Columns ``id, name, description, sources`` (a list), ``includes`` (a list), ``origin``
    (``built-in`` or the user file) and ``n_<revision>`` for every revision any sector lists:
    the number of codes with includes resolved, ``<NA>`` when the sector has no list for it.
    """
    registry = _registry(extra_dirs)
    revisions = [
        revision
        for revision in HS_REVISIONS
        if any(revision in sector.codes for sector in registry.values())
    ]
    rows = []
    for sector_id in sorted(registry):
        sector = registry[sector_id]
        row: dict[str, object] = {
            "id": sector.id,
            "name": sector.name,
            "description": sector.description,
            "sources": list(sector.sources),
            "includes": list(sector.includes),
            "origin": sector.origin,
        }
        for revision in revisions:
            members = _members(sector, revision, registry)
            row[f"n_{revision}"] = pd.NA if members is None else len(members)
        rows.append(row)
    frame = pd.DataFrame(rows)
    counts = [f"n_{revision}" for revision in revisions]
    frame[counts] = frame[counts].astype("Int64")
    return frame


def sector_names(
    ids: str, extra_dirs: Sequence[Path | str] | None = None, *, separator: str = ", "
) -> str:
    """The names of a comma list of sector ids (``"batteries,solar_pv"`` -> ``"Storage
    batteries, Solar photovoltaics"``), for people; an unknown id is shown with spaces."""
    registry = _registry(extra_dirs)
    names = [
        registry[i].name if i in registry else i.replace("_", " ")
        for i in (part.strip() for part in ids.split(","))
        if i
    ]
    return separator.join(names)


def sector_products(
    sector: str, classification: str, *, extra_dirs: Sequence[Path | str] | None = None
) -> list[str]:
    """The sorted HS6 codes of ``sector`` in ``classification`` (HS92, HS12, HS17, HS22...).

    Raises ``UnknownCodeError`` for an unknown sector (listing the known ones) and
    ``InputError`` when the sector has no list for that revision (naming those it has).
    """
    registry = _registry(extra_dirs)
    found = _lookup(sector, registry)
    revision = classification.strip().upper()
    members = _members(found, revision, registry)
    if members is None:
        raise _no_list_error(found, revision, registry)
    return sorted(members)


def sector_products_in(
    sector: str, classification: str, *, extra_dirs: Sequence[Path | str] | None = None
) -> tuple[list[str], CodeConversion | None]:
    """The sorted HS6 codes of ``sector`` in ``classification``, converted when it has no list.

    The sector's own list when it has one (conversion None); else its list in the nearest
    revision that has one, converted with the UNSD correlation tables
    (``hs_revisions.convert_codes``), returned with the conversion for provenance.
    """
    registry = _registry(extra_dirs)
    found = _lookup(sector, registry)
    revision = classification.strip().upper()
    members = _members(found, revision, registry)
    if members is not None:
        return sorted(members), None
    lists = {name: _members(found, name, registry) for name in HS_REVISIONS}
    nearest = nearest_revision(revision, [name for name, held in lists.items() if held])
    if nearest is None or revision not in HS_REVISIONS:
        raise _no_list_error(found, revision, registry)
    conversion = convert_codes(lists[nearest] or {}, nearest, revision)
    return list(conversion.codes), conversion


def sector_table(
    classification: str,
    *,
    extra_dirs: Sequence[Path | str] | None = None,
    converted: bool = False,
) -> pd.DataFrame:
    """Sector memberships in one revision: columns ``product, sector, description``.

    One row per (product, sector), sorted by product then sector, so a product in several
    sectors (280461 polysilicon: ``semiconductors`` and ``solar_pv``; every code of a sector
    that ``eu_sensitive_ecosystems`` includes) has several rows. ``description`` is the sector
    file's text for the code (for an included code, the included sector's), missing when the
    file gives none. Sectors without a list for ``classification`` are left out (the table is
    empty when none has one, e.g. ``HS07``), unless ``converted``: their codes are then
    converted from the nearest revision listed (``sector_products_in``), without descriptions.
    """
    registry = _registry(extra_dirs)
    revision = classification.strip().upper()
    rows = []
    for sector_id in sorted(registry):
        members = _members(registry[sector_id], revision, registry)
        if members is None and converted and revision in HS_REVISIONS:
            codes, _ = sector_products_in(sector_id, revision, extra_dirs=extra_dirs)
            members = dict.fromkeys(codes)
        for code, text in (members or {}).items():
            rows.append((code, sector_id, text))
    frame = pd.DataFrame(rows, columns=["product", "sector", "description"])
    return frame.sort_values(["product", "sector"], ignore_index=True)


def load_sector_file(path: Path | str) -> Sector:
    """Read and check one sector file; every problem is an ``InputError`` naming the file.

    Checks: valid TOML (with the line of a syntax error), the keys of the format above, an id
    equal to the file name, known revision keys, quoted 6-digit codes without duplicates, and
    descriptions only for listed codes. ``includes`` are resolved when sectors are looked up.
    """
    path = Path(path)
    text = read_text(path, what="sector")
    return _parse_sector(text, file=str(path), stem=path.stem, origin=str(path))


# -- registry --------------------------------------------------------------------------------
@functools.cache
def _builtin_sectors() -> dict[str, Sector]:
    """The sectors shipped in ``reference/sectors``, by id."""
    sectors = {}
    for name, text in packaged_files("sectors"):
        sector = _parse_sector(
            text, file=f"sectors/{name}", stem=name.removesuffix(".toml"), origin=BUILTIN
        )
        sectors[sector.id] = sector
    return sectors


def _registry(extra_dirs: Sequence[Path | str] | None) -> dict[str, Sector]:
    """Built-in sectors replaced or extended by the ``*.toml`` files of ``extra_dirs``.

    Folders that do not exist are skipped; the includes of every sector are checked.
    """
    registry = dict(_builtin_sectors())
    for folder in map(Path, extra_dirs or ()):
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise InputError(
                "not a folder of sector files",
                file=str(folder),
                hint="pass the folder that holds the <id>.toml files",
            )
        for path in sorted(folder.glob("*.toml")):
            sector = load_sector_file(path)
            registry[sector.id] = sector
    for sector in registry.values():
        _check_includes(sector, registry, ())
    return registry


def _check_includes(sector: Sector, registry: dict[str, Sector], chain: tuple[str, ...]) -> None:
    """Refuse includes of unknown sectors and cycles (a includes b includes a)."""
    chain = (*chain, sector.id)
    for included in sector.includes:
        if included not in registry:
            raise UnknownCodeError(
                f"sector {sector.id} includes unknown sector {included!r}",
                file=_file_of(sector),
                field="includes",
                hint=f"known sectors: {', '.join(sorted(registry))}",
            )
        if included in chain:
            raise InputError(
                f"sectors include each other in a cycle: {' -> '.join((*chain, included))}",
                file=_file_of(sector),
                field="includes",
                hint="remove one of these includes",
            )
        _check_includes(registry[included], registry, chain)


def _lookup(sector: str, registry: dict[str, Sector]) -> Sector:
    """The sector called ``sector`` (any case), or UnknownCodeError listing the known ones."""
    found = registry.get(sector.strip().lower())
    if found is None:
        raise UnknownCodeError(
            f"unknown sector {sector!r}", hint=f"known sectors: {', '.join(sorted(registry))}"
        )
    return found


def _members(
    sector: Sector, revision: str, registry: dict[str, Sector]
) -> dict[str, str | None] | None:
    """Code -> description of a sector in one revision, includes resolved; None without a list.

    A composite has a list for a revision only when it and every sector it includes have one,
    so that its union is never silently incomplete.
    """
    if revision not in sector.codes:
        return None
    members: dict[str, str | None] = {
        code: sector.descriptions.get(code) for code in sector.codes[revision]
    }
    for included in sector.includes:
        more = _members(registry[included], revision, registry)
        if more is None:
            return None
        for code, text in more.items():
            if members.get(code) is None:
                members[code] = text
    return members


def _no_list_error(sector: Sector, revision: str, registry: dict[str, Sector]) -> InputError:
    """The error for a sector without a list in ``revision``, naming the revisions it has."""
    available = [name for name in HS_REVISIONS if _members(sector, name, registry) is not None]
    hint = (
        f"it has lists for {', '.join(available)}; convert the codes or add a list for {revision}"
        if available
        else "it has no complete list for any revision"
    )
    message = f"sector {sector.id} has no {revision} list"
    if revision in sector.codes:
        lacking = [
            name for name in sector.includes if _members(registry[name], revision, registry) is None
        ]
        message += f": it includes {', '.join(lacking)}, without one"
    return InputError(message, file=_file_of(sector), hint=hint)


def _file_of(sector: Sector) -> str | None:
    """The user file of a sector for error messages; None for built-in sectors."""
    return None if sector.origin == BUILTIN else sector.origin


# -- parsing ---------------------------------------------------------------------------------
def _parse_sector(text: str, *, file: str, stem: str, origin: str) -> Sector:
    """Parse and check the text of a sector file named ``file`` (stem ``stem``)."""
    data = parse_toml(text, file=file)
    lines = text.splitlines()
    expected = (
        f"a sector file has {', '.join(_REQUIRED_KEYS)} and optionally {', '.join(_OPTIONAL_KEYS)}"
    )
    unknown = [key for key in data if key not in _REQUIRED_KEYS + _OPTIONAL_KEYS]
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(unknown)}",
            file=file,
            line=_key_line(lines, unknown[0]),
            hint=expected,
        )
    missing = [key for key in _REQUIRED_KEYS if key not in data]
    if missing:
        raise InputError(f"missing key(s) {', '.join(missing)}", file=file, hint=expected)
    sector_id = _text(data, "id", file, lines)
    if not _SECTOR_ID.fullmatch(sector_id):
        raise InputError(
            f"id {sector_id!r} is not a sector id",
            file=file,
            line=_key_line(lines, "id"),
            field="id",
            hint="use lower-case letters, digits and _, starting with a letter",
        )
    if sector_id != stem:
        raise InputError(
            f"id {sector_id!r} does not match the file name {stem}.toml",
            file=file,
            line=_key_line(lines, "id"),
            field="id",
            hint=f"rename the file to {sector_id}.toml or set the id to {stem!r}",
        )
    includes = _text_list(data, "includes", file, lines, required=False)
    repeated = sorted({name for name in includes if includes.count(name) > 1 or name == stem})
    if repeated:
        raise InputError(
            f"includes lists {', '.join(repeated)} twice or includes the sector itself",
            file=file,
            line=_key_line(lines, "includes"),
            field="includes",
        )
    codes = _codes(data["codes"], file, lines, composite=bool(includes))
    return Sector(
        id=sector_id,
        name=_text(data, "name", file, lines),
        description=_text(data, "description", file, lines),
        sources=tuple(_text_list(data, "sources", file, lines, required=True)),
        codes=codes,
        descriptions=_descriptions(data.get("descriptions", {}), codes, file, lines),
        includes=tuple(includes),
        origin=origin,
    )


def _codes(
    table: object, file: str, lines: list[str], *, composite: bool
) -> dict[str, tuple[str, ...]]:
    """The ``[codes]`` table: revision -> codes, each a quoted 6-digit code listed once.

    A composite may list a revision with no codes of its own, to take only its includes.
    """
    if not isinstance(table, dict) or not table:
        raise InputError(
            "codes must be a table with one list per HS revision",
            file=file,
            line=_key_line(lines, "codes"),
            field="codes",
            hint='write [codes] and then e.g. HS17 = ["850511", "850519"]',
        )
    codes: dict[str, tuple[str, ...]] = {}
    for revision, listed in table.items():
        field = f"codes.{revision}"
        start = _key_line(lines, revision)
        if revision not in HS_REVISIONS:
            raise InputError(
                f"unknown HS revision {revision!r}",
                file=file,
                line=start,
                field=field,
                hint=f"use one of {', '.join(HS_REVISIONS)}",
            )
        if not isinstance(listed, list) or (not listed and not composite):
            raise InputError(
                "expected a non-empty list of quoted 6-digit codes",
                file=file,
                line=start,
                field=field,
                hint=f'write e.g. {revision} = ["850511", "850519"]',
            )
        seen: set[str] = set()
        for value in listed:
            if not isinstance(value, str) or not _HS6.fullmatch(value):
                raise InputError(
                    f"{value!r} is not a 6-digit HS code",
                    file=file,
                    line=_value_line(lines, start, value, 1),
                    field=field,
                    hint='write codes as quoted text that keeps leading zeros, e.g. "030617"',
                )
            if value in seen:
                raise InputError(
                    f"code {value} is listed twice",
                    file=file,
                    line=_value_line(lines, start, value, 2),
                    field=field,
                )
            seen.add(value)
        codes[revision] = tuple(listed)
    return codes


def _descriptions(
    table: object, codes: dict[str, tuple[str, ...]], file: str, lines: list[str]
) -> dict[str, str]:
    """The ``[descriptions]`` table: a non-empty text for codes the file lists."""
    if not isinstance(table, dict):
        raise InputError(
            "descriptions must be a table of code = text",
            file=file,
            line=_key_line(lines, "descriptions"),
            field="descriptions",
        )
    listed = {code for revision_codes in codes.values() for code in revision_codes}
    for code, text in table.items():
        line = _key_line(lines, code)
        if code not in listed:
            raise InputError(
                f"description for {code!r}, which no [codes] list has",
                file=file,
                line=line,
                field="descriptions",
                hint="list the code under [codes] or remove its description",
            )
        if not isinstance(text, str) or not text.strip():
            raise InputError(
                f"the description of {code} must be non-empty text",
                file=file,
                line=line,
                field="descriptions",
            )
    return dict(table)


def _text(data: dict[str, object], key: str, file: str, lines: list[str]) -> str:
    """A required top-level text value, stripped and non-empty."""
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            f"{key} must be non-empty text", file=file, line=_key_line(lines, key), field=key
        )
    return value.strip()


def _text_list(
    data: dict[str, object], key: str, file: str, lines: list[str], *, required: bool
) -> list[str]:
    """A top-level list of non-empty texts (non-empty itself when ``required``)."""
    value = data.get(key, [])
    if (
        not isinstance(value, list)
        or (required and not value)
        or not all(isinstance(item, str) and item.strip() for item in value)
    ):
        raise InputError(
            f"{key} must be a {'non-empty ' if required else ''}list of non-empty texts",
            file=file,
            line=_key_line(lines, key),
            field=key,
        )
    return [item.strip() for item in value]


def _key_line(lines: list[str], key: str) -> int | None:
    """Line number of the first ``key = ...`` (key bare or quoted) or ``[key]`` header."""
    pattern = re.compile(rf"""\s*(?:["']?{re.escape(key)}["']?\s*=|\[\s*{re.escape(key)}\s*\])""")
    return next((number for number, line in enumerate(lines, 1) if pattern.match(line)), None)


def _value_line(lines: list[str], start: int | None, value: object, occurrence: int) -> int | None:
    """Line number of the ``occurrence``-th appearance of ``value`` from line ``start`` on.

    Text is searched quoted (``"850511"``), anything else as written (``850511``, ``true``).
    """
    if isinstance(value, str):
        pattern = re.compile(rf"""(["']){re.escape(value)}\1""")
    else:
        pattern = re.compile(rf"(?<![\w.]){re.escape(str(value).lower())}(?![\w.])")
    seen = 0
    first = (start or 1) - 1
    for number, line in enumerate(lines[first:], first + 1):
        seen += len(pattern.findall(line.split("#", 1)[0]))
        if seen >= occurrence:
            return number
    return None
