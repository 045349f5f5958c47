"""OECD Inter-Country Input-Output (ICIO) tables: download an archive, read one year with pymrio.

Layout (FORMATS.md section 4): one CSV a year, ``{year}_SML.csv``, rows and columns labelled
``{ISO3}_{industry}``, final-demand columns ``{ISO3}_{HFCE|NPISH|GGFC|GFCF|INVNT|DPABR}``, rows
``TLS``, ``VA``, ``OUT`` and column ``OUT``; values in million USD. Parsing is pymrio's
``parse_oecd``; this module finds the file, turns parser failures into one-sentence
:class:`~chokepoints.errors.InputError` messages and checks the result is a square system.

The download location of the 2025 edition is NOT verified: the base URL and the archive name
template are parameters, and ``CHOKEPOINTS_ICIO_URL`` overrides the base URL.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from chokepoints.errors import InputError
from chokepoints.sources import archive as zips
from chokepoints.sources.http import download, url_join

if TYPE_CHECKING:
    import pymrio

#: Folder of OECD ICIO archives; UNVERIFIED for the 2025 edition, override with the env var.
DEFAULT_ICIO_BASE_URL = "https://stats.oecd.org/wbos/fileview2.aspx?IDFile="
#: Name of one year's archive under the base URL, ``{year}`` substituted. UNVERIFIED.
DEFAULT_ICIO_FILE_TEMPLATE = "{year}_SML.zip"
#: Member of an archive holding one year's table, ``{year}`` substituted.
ICIO_MEMBER_TEMPLATE = "{year}_SML.csv"

_YEAR_CSV = re.compile(r"(?:ICIO\d{4}_)?(\d{4})(?:_SML)?\.csv", re.IGNORECASE)


def icio_base_url() -> str:
    """The base URL ICIO archives are downloaded from: ``CHOKEPOINTS_ICIO_URL`` or the default."""
    return os.environ.get("CHOKEPOINTS_ICIO_URL") or DEFAULT_ICIO_BASE_URL


def read_icio(path: str | Path, year: int | None = None) -> pymrio.IOSystem:
    """Read one OECD ICIO year into a pymrio ``IOSystem`` (``Z``, ``Y``, ``factor_inputs``).

    ``path`` is a table (``.csv``, or a ``.zip`` holding one CSV), or a folder searched for
    ``{year}_SML.csv`` or pymrio's ``ICIO20xx_{year}.csv`` (``.zip`` too). Raises InputError when
    the file is missing or not in the OECD layout.
    """
    import pymrio

    file = locate_icio(Path(path), year)
    try:
        system = pymrio.parse_oecd(file)
    except (ValueError, KeyError, IndexError, TypeError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(
            f"cannot be parsed as an OECD ICIO table ({type(exc).__name__}: {exc})",
            file=str(file),
            hint="expected {ISO3}_{industry} row and column labels, final-demand columns such "
            "as USA_HFCE and rows TLS, VA, OUT (FORMATS.md section 4)",
        ) from exc
    _check_system(system, file)
    return system


def fetch_icio(
    year: int,
    folder: str | Path,
    *,
    base_url: str | None = None,
    file_template: str = DEFAULT_ICIO_FILE_TEMPLATE,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download the ICIO archive of ``year`` into ``folder``; return the path of its CSV table.

    The URL is ``{base_url}/{file_template}`` with ``{year}`` substituted; ``base_url`` defaults
    to :func:`icio_base_url`. The download resumes and verifies its size
    (:func:`chokepoints.sources.http.download`). A zip archive is unpacked: its member
    ``{year}_SML.csv`` (or ``ICIO20xx_{year}.csv``, or its only CSV) is written next to it.
    """
    folder = Path(folder)
    name = file_template.format(year=year)
    url = url_join(base_url or icio_base_url(), name)
    archive = download(url, folder / Path(name).name, progress=progress)
    if not zipfile.is_zipfile(archive):
        return archive
    return _extract_year(archive, year)


def locate_icio(path: Path, year: int | None) -> Path:
    """The table file for ``path`` and ``year``, or InputError naming what was looked for."""
    if path.is_file():
        return path
    if not path.exists():
        raise InputError(
            "no such file or folder",
            file=str(path),
            hint="download the table with `chokepoints data fetch icio --year YEAR`",
        )
    if year is None:
        raise InputError(
            "is a folder: give the year of the table to read",
            file=str(path),
            field="year",
        )
    for pattern in (f"{year}_SML", f"ICIO*_{year}"):
        for suffix in (".csv", ".CSV", ".zip"):
            found = sorted(path.glob(pattern + suffix))
            if found:
                return found[0]
    raise InputError(
        f"holds no OECD ICIO table for {year} ({year}_SML.csv or ICIO20xx_{year}.csv)",
        file=str(path),
        hint=f"download it with `chokepoints data fetch icio --year {year}`",
    )


def _extract_year(archive: Path, year: int) -> Path:
    """Write the CSV member of ``year`` (or the archive's only CSV) next to ``archive``.

    The member is streamed under the zip-bomb limits to a ``.part`` file, which is removed on
    any error and renamed only once whole.
    """
    with zips.reading(archive, "download it again") as bundle:
        csvs = [n for n in bundle.namelist() if n.lower().endswith(".csv")]
        matching = [
            n for n in csvs if (m := _YEAR_CSV.fullmatch(Path(n).name)) and m.group(1) == str(year)
        ]
        if not matching and len(csvs) == 1:
            matching = csvs
        if not matching:
            raise InputError(
                f"holds no table for {year} (members: {', '.join(csvs) or 'no CSV file'})",
                file=str(archive),
                hint="check the year or the archive name template",
            )
        target = archive.with_name(Path(matching[0]).name)
        part = target.with_name(target.name + ".part")
        zips.extract_member(bundle, matching[0], part, zips.Limits.from_env())
    os.replace(part, target)
    return target


def _check_system(system: pymrio.IOSystem, file: Path) -> None:
    """Fail unless the parsed system has a non-empty square ``Z`` and a ``Y`` on the same rows."""
    flows, demand = system.Z, system.Y
    if flows.empty or flows.shape[0] != flows.shape[1] or not flows.index.equals(flows.columns):
        raise InputError(
            f"does not hold a square inter-industry block (got {flows.shape[0]} rows and "
            f"{flows.shape[1]} columns of {{ISO3}}_{{industry}} labels)",
            file=str(file),
        )
    if demand.empty or not demand.index.equals(flows.index):
        raise InputError(
            "has no final-demand columns ({ISO3}_HFCE, ...) matching its industry rows",
            file=str(file),
        )
