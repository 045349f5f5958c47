"""A Parquet copy of every OECD ICIO table read, kept in the home, so that later questions skip
the CSV parse (a 230 MB table takes tens of seconds and over a GB to parse, its copy about a
second to load).

One folder per source file, named by the SHA-256 of its bytes: ``CACHE/<sha256>/`` holds
``Z.parquet``, ``Y.parquet``, ``F.parquet`` and ``F_Y.parquet`` (the frames of pymrio's
``IOSystem``: inter-industry flows, final demand, factor inputs TLS/VA and their final-demand
part, labels as Parquet's pandas index metadata) and ``cache.json`` (the source's path, size,
modification time and hash, the year and the shapes). A folder is written under a temporary
name and renamed whole, so an interrupted write never leaves a copy that is later used.

Validation: a copy whose recorded source has the same path, size and modification time (to the
nanosecond) is used without hashing the source; otherwise the source is hashed and the copy of
that hash used if there is one. A file rewritten in place with the same size and modification
time would go unnoticed: touch it, or delete the folder, to force a new parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pymrio

#: Version of the folder layout; a copy of another version is ignored (and replaced).
CACHE_FORMAT = 1
#: The frames kept, as ``(file stem, attribute path on the IOSystem)``.
FRAMES = (("Z", "Z"), ("Y", "Y"), ("F", "factor_inputs.F"), ("F_Y", "factor_inputs.F_Y"))
#: Record of one copy, next to its frames.
RECORD = "cache.json"
#: Unit of every OECD ICIO value (FORMATS.md section 4), as pymrio's parser records it.
UNIT = "Million USD"
#: A temporary folder left this long by a writer that died is removed by the next writer.
STALE_PART_SECONDS = 3600

_SHA256 = re.compile(r"[0-9a-f]{64}")
_YEAR = re.compile(r"(?:ICIO\d{4}_)?(\d{4})(?:_SML)?\.(?:csv|zip)", re.IGNORECASE)


@dataclass(frozen=True)
class IcioRead:
    """An ICIO table as a pymrio ``IOSystem``, the file it comes from and how it was read."""

    system: pymrio.IOSystem
    file: Path
    sha256: str
    year: int | None
    #: ``cache``: loaded from the copy; ``parsed``: parsed and copied; ``parsed, not cached:
    #: REASON`` when the copy could not be written (a read-only home, a full disk).
    how: str


def read_icio_cached(path: str | Path, year: int | None, cache: Path) -> IcioRead:
    """Read one ICIO year (as :func:`~chokepoints.sources.icio.read_icio`), from its Parquet
    copy in ``cache`` when that copy matches the source, else parsing the CSV and copying it.

    Failing to write the copy (permissions, disk full) does not fail the read: ``how`` says so.
    """
    from chokepoints.sources.icio import locate_icio, read_icio  # data info lists copies only

    file = locate_icio(Path(path), year)
    stat = file.stat()
    source = {"path": str(file.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    found = _cached(cache, file, source)
    if found is not None:
        return found
    digest = file_sha256(file)
    found = _cached(cache, file, source, digest)
    if found is not None:
        return found
    system = read_icio(file)
    table_year = year if year is not None else year_of(file)
    record = {
        "format": CACHE_FORMAT,
        "sha256": digest,
        "source": source,
        "year": table_year,
        "shapes": {stem: list(_frame(system, attribute).shape) for stem, attribute in FRAMES},
        "regions": len(system.get_regions()),
        "sectors": len(system.get_sectors()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        write_cache(system, cache, record)
    except OSError as exc:
        return IcioRead(system, file, digest, table_year, f"parsed, not cached: {exc}")
    return IcioRead(system, file, digest, table_year, "parsed")


def _cached(
    cache: Path, file: Path, source: dict[str, Any], digest: str | None = None
) -> IcioRead | None:
    """The copy of ``file``: without ``digest``, the one recorded for the same path, size and
    mtime; with it, the one of that hash (its record then updated to ``source``)."""
    if digest is None:
        matching = [(f, r) for f, r in _records(cache) if r["source"] == source]
    else:
        record = _record(cache / digest)
        matching = [] if record is None else [(cache / digest, record)]
    for folder, record in matching:
        system = _load(folder, record)
        if system is None:
            continue
        if digest is not None and record["source"] != source:
            with contextlib.suppress(OSError):  # the next read hashes again: no harm
                _write_record(folder, {**record, "source": source})
        return IcioRead(system, file, record["sha256"], record["year"], "cache")
    return None


def write_cache(system: pymrio.IOSystem, cache: Path, record: dict[str, Any]) -> Path:
    """Write the frames of ``system`` and ``record`` as ``cache/<sha256>``, all at once.

    The files go to a temporary folder, renamed to its final name once every file is whole;
    on any error the temporary folder is removed. Copies of the same source path under
    another hash (an older version of the file) are removed once the new one is in place.
    """
    cache.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(cache)
    final = cache / record["sha256"]
    part = cache / f".{record['sha256']}.part-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        part.mkdir()
        for stem, attribute in FRAMES:
            write_frame(_frame(system, attribute), part / f"{stem}.parquet")
        _write_record(part, record)
        if final.exists() and _record(final) is None:  # a damaged copy: replaced
            shutil.rmtree(final)
        try:
            os.rename(part, final)
        except OSError:
            if _record(final) is None:  # not another writer's copy of the same file
                raise
    finally:
        shutil.rmtree(part, ignore_errors=True)
    for folder, other in _records(cache):
        if folder != final and other["source"]["path"] == record["source"]["path"]:
            shutil.rmtree(folder, ignore_errors=True)
    return final


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """One labelled frame as Parquet (pandas keeps the row and column MultiIndex)."""
    frame.to_parquet(path)


def cached_tables(cache: Path) -> list[dict[str, Any]]:
    """The ICIO copies held in ``cache``, for ``data info``: year, shapes, source file name
    (not its folder: a server does not show its paths), bytes on disk, hash, sorted by year."""
    tables = []
    for folder, record in _records(cache):
        tables.append(
            {
                "year": record["year"],
                "source_file": Path(record["source"]["path"]).name,
                "source_bytes": record["source"]["size"],
                "regions": record["regions"],
                "sectors": record["sectors"],
                "z_shape": record["shapes"]["Z"],
                "y_shape": record["shapes"]["Y"],
                "cached_bytes": sum(f.stat().st_size for f in folder.iterdir() if f.is_file()),
                "sha256": record["sha256"],
                "created": record["created"],
            }
        )
    return sorted(tables, key=lambda t: (t["year"] is None, t["year"] or 0, t["source_file"]))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def year_of(file: Path) -> int | None:
    """The year in an ICIO file name (``2022_SML.csv``, ``ICIO2023_2020.csv``), if any."""
    match = _YEAR.fullmatch(file.name)
    return int(match.group(1)) if match else None


def _frame(system: pymrio.IOSystem, attribute: str) -> pd.DataFrame:
    """``system.Z`` or ``system.factor_inputs.F`` by its dotted name."""
    value: Any = system
    for name in attribute.split("."):
        value = getattr(value, name)
    return value


def _records(cache: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every complete copy in ``cache`` (folders named by a hash, with a readable record)."""
    if not cache.is_dir():
        return []
    found = []
    for folder in sorted(cache.iterdir()):
        if _SHA256.fullmatch(folder.name):
            record = _record(folder)
            if record is not None:
                found.append((folder, record))
    return found


def _record(folder: Path) -> dict[str, Any] | None:
    """The record of a copy, or None when it is missing, unreadable or of another format."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != CACHE_FORMAT:
        return None
    return record


def _write_record(folder: Path, record: dict[str, Any]) -> None:
    """Write ``cache.json`` through a temporary file and a rename."""
    temporary = folder / f".{RECORD}.{secrets.token_hex(4)}"
    temporary.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(temporary, folder / RECORD)


def _load(folder: Path, record: dict[str, Any]) -> pymrio.IOSystem | None:
    """The IOSystem held in ``folder``, or None (the copy removed) when a frame is missing,
    unreadable or not of the recorded shape."""
    import pandas as pd
    import pyarrow
    import pymrio

    try:
        frames = {stem: pd.read_parquet(folder / f"{stem}.parquet") for stem, _ in FRAMES}
    except (OSError, ValueError, pyarrow.ArrowException):
        frames = {}
    if not frames or any(list(frames[s].shape) != record["shapes"][s] for s, _ in FRAMES):
        shutil.rmtree(folder, ignore_errors=True)
        return None
    z = frames["Z"]
    unit = pd.DataFrame(index=z.index, data=UNIT, columns=["unit"])
    factor_unit = pd.DataFrame(index=frames["F"].index, data=UNIT, columns=["unit"])
    return pymrio.IOSystem(
        Z=z,
        Y=frames["Y"],
        unit=unit,
        meta=pymrio.MRIOMetaData(
            name="OECD-ICIO",
            description=f"OECD ICIO for {record['year'] or 'an unknown year'} (cached copy)",
            system="IxI",
            logger_function=lambda *_args, **_kwargs: None,
        ),
        factor_inputs={
            "name": "factor_inputs",
            "unit": factor_unit,
            "F": frames["F"],
            "F_Y": frames["F_Y"],
        },
    )


def _remove_stale_parts(cache: Path) -> None:
    """Remove temporary folders that writers killed mid-write left behind."""
    now = time.time()
    for folder in cache.glob(".*.part-*"):
        with contextlib.suppress(OSError):
            if now - folder.stat().st_mtime > STALE_PART_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
