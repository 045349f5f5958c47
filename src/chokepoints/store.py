"""The on-disk store: partitioned Parquet files, a manifest of what they hold, atomic ingests.

Layout under the workspace home::

    manifest.json                                  the only source of truth; replaced atomically
    trade/source=baci/classification=HS92/year=2021/all-<ingest id>.parquet
    products/classification=HS92/baci-<ingest id>.parquet
    .staging/<ingest id>/                          work area of a running ingest
    .lock                                          held while an ingest runs

An ingest writes and validates everything in ``.staging``, moves the new files into place under
names no manifest has ever used, then commits by replacing ``manifest.json`` in one rename. A
failed or killed ingest therefore never changes what the manifest lists; the files it may have
left behind are removed the next time the store is opened for writing, which restores the tree
byte for byte.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import filelock

from chokepoints import schema
from chokepoints.errors import ChokepointsError, InputError, StoreBusyError, StoreError
from chokepoints.extract import Extract, RelationBuilder, TradePart, sql_path

MANIFEST = "manifest.json"
DATA_FOLDERS = ("trade", *schema.COMPANION_TABLES)
MANIFEST_FORMAT = 1

#: Progress callback: (description, steps done, steps in all).
Progress = Callable[[str, int, int], None]


def _no_progress(_description: str, _done: int, _total: int) -> None:
    """Progress callback that reports nothing."""


@dataclass(frozen=True)
class Check:
    """One validation rule over a staged trade table: a SQL condition true on bad rows."""

    field: str
    condition: str
    message: str
    hint: str


def _quoted(values: Iterable[str]) -> str:
    """SQL list of string literals."""
    return ", ".join(f"'{v}'" for v in values)


def _trade_checks() -> list[Check]:
    """The validation rules every trade ingest must pass, in the order they are reported."""
    checks = [
        Check(
            f.name,
            f"{f.name} IS NULL",
            f"missing or unreadable {f.name}",
            "fill in the value or remove the row",
        )
        for f in schema.TRADE
        if not f.nullable
    ]
    return [
        *checks,
        Check(
            "value_usd", "NOT isfinite(value_usd)", "value is not a finite number", "fix the value"
        ),
        Check(
            "value_usd",
            "value_usd < 0",
            "negative trade value",
            "trade values must be zero or positive",
        ),
        Check(
            "quantity_t",
            "quantity_t < 0 OR NOT isfinite(quantity_t)",
            "quantity that is not a number, negative or infinite",
            "fix the quantity or leave it empty",
        ),
        Check(
            "exporter",
            "exporter NOT IN (SELECT iso3 FROM _known_countries)",
            "unknown exporter country code",
            'use ISO3 or BACI/M49 numeric codes (see `chokepoints sql "SELECT * FROM countries"`)',
        ),
        Check(
            "importer",
            "importer NOT IN (SELECT iso3 FROM _known_countries)",
            "unknown importer country code",
            'use ISO3 or BACI/M49 numeric codes (see `chokepoints sql "SELECT * FROM countries"`)',
        ),
        Check(
            "product",
            "NOT regexp_full_match(product, '[0-9]+') OR length(product) <> level "
            "OR level NOT IN (2, 4, 6, 8)",
            "product code is not a 2, 4, 6 or 8 digit code",
            "HS codes must be digits; 6-digit codes keep their leading zeros",
        ),
        Check(
            "classification",
            f"NOT (classification IN ({_quoted(schema.HS_REVISIONS)}) "
            "OR regexp_full_match(classification, 'CN[0-9]{4}'))",
            "unknown classification",
            "use HS92, HS96, HS02, HS07, HS12, HS17, HS22 or CNyyyy",
        ),
        Check(
            "reporter_side",
            f"reporter_side NOT IN ({_quoted(schema.REPORTER_SIDES)})",
            "unknown reporter_side",
            "use importer, exporter or reconciled",
        ),
    ]


TRADE_CHECKS = _trade_checks()


class Store:
    """A workspace's trade store: read the manifest, list live files, ingest atomically."""

    def __init__(self, home: Path | str) -> None:
        self.home = Path(home).expanduser().resolve()

    # -- reading -------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        """Where the manifest lives."""
        return self.home / MANIFEST

    def manifest(self) -> dict[str, Any]:
        """The committed manifest (an empty one for a new store)."""
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"format": MANIFEST_FORMAT, "parts": [], "ingests": []}
        except OSError as exc:
            raise StoreError(f"cannot read {self.manifest_path}: {exc.strerror}") from exc
        try:
            manifest = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoreError(
                f"{self.manifest_path} is not valid JSON (line {exc.lineno}): the store is "
                "damaged; restore it from a backup or start a new home with --home"
            ) from exc
        if manifest.get("format") != MANIFEST_FORMAT:
            raise StoreError(
                f"{self.manifest_path} has format {manifest.get('format')!r}, this version of "
                f"chokepoints reads format {MANIFEST_FORMAT}; upgrade chokepoints"
            )
        return manifest

    def files(self, table: str = "trade") -> list[Path]:
        """Absolute paths of the live Parquet files of ``table``."""
        return [self.home / p["path"] for p in self.manifest()["parts"] if p["table"] == table]

    def is_empty(self) -> bool:
        """True when no trade data has been committed."""
        return not self.files("trade")

    # -- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the store's write lock, waiting up to ``timeout`` seconds for another writer.

        The default wait comes from ``CHOKEPOINTS_LOCK_TIMEOUT`` (seconds, default 30). On
        entry, leftovers of an interrupted ingest are removed.
        """
        if timeout is None:
            timeout = float(os.environ.get("CHOKEPOINTS_LOCK_TIMEOUT", "30"))
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the workspace home {self.home}: {exc.strerror}; choose "
                "another folder with --home or CHOKEPOINTS_HOME"
            ) from exc
        lock = filelock.FileLock(self.home / ".lock")
        try:
            lock.acquire(timeout=timeout)
        except filelock.Timeout as exc:
            raise StoreBusyError(
                f"another chokepoints process is writing to {self.home} (waited {timeout:g} s); "
                "wait for it to finish and run the command again"
            ) from exc
        except OSError as exc:
            raise StoreError(f"cannot lock {self.home}: {exc.strerror}") from exc
        try:
            self._remove_leftovers()
            yield
        finally:
            lock.release()

    def _remove_leftovers(self) -> None:
        """Delete staging areas and data files that the manifest does not list."""
        shutil.rmtree(self.home / ".staging", ignore_errors=True)
        live = {self.home / p["path"] for p in self.manifest()["parts"]}
        for folder in DATA_FOLDERS:
            for path in (self.home / folder).rglob("*"):
                if path.is_file() and path not in live:
                    path.unlink()
        _remove_empty_folders(self.home)
        for stale in self.home.glob(f".{MANIFEST}.*.tmp"):
            stale.unlink()

    def ingest(self, extract: Extract, progress: Progress | None = None) -> dict[str, Any]:
        """Validate and commit ``extract``; return its manifest record.

        Parts with the same (source, classification, year, slice) as committed ones replace
        them; everything else in the store stays. On any error the store is left as it was.
        """
        progress = progress or _no_progress
        ingest_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        started = dt.datetime.now(dt.UTC)
        try:
            with self.writing():
                staging = self.home / ".staging" / ingest_id
                try:
                    staging.mkdir(parents=True)
                    staged = self._stage(extract, ingest_id, staging, progress)
                    record = self._commit(extract, ingest_id, staged, started, progress)
                except OSError as exc:
                    raise StoreError(
                        f"could not write to {self.home} ({exc.strerror or exc}); the store is "
                        "unchanged: free disk space or fix permissions, then run the ingest again"
                    ) from exc
                except duckdb.IOException as exc:
                    raise StoreError(
                        f"could not write to {self.home} ({str(exc).splitlines()[0]}); the store "
                        "is unchanged: free disk space or fix permissions, then run it again"
                    ) from exc
                finally:
                    shutil.rmtree(self.home / ".staging", ignore_errors=True)
        finally:
            if extract.cleanup is not None:
                extract.cleanup()
        return record

    # -- ingest steps --------------------------------------------------------------------
    def _stage(
        self, extract: Extract, ingest_id: str, staging: Path, progress: Progress
    ) -> list[dict[str, Any]]:
        """Write every part of ``extract`` to ``staging``, validated; return new part records."""
        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = false")
            known = sorted(_known_countries())
            con.execute("CREATE TEMP TABLE _known_countries (iso3 VARCHAR)")
            con.executemany("INSERT INTO _known_countries VALUES (?)", [[c] for c in known])
            staged: list[dict[str, Any]] = []
            total = len(extract.trade) + len(extract.tables)
            for number, part in enumerate(extract.trade):
                progress(f"reading {part.origin}", number, total)
                staged.extend(self._stage_trade(con, extract, part, ingest_id, staging, number))
            _check_duplicates_across_parts(con, staging, staged)
            if extract.trade and not staged:
                raise InputError(
                    "no trade rows found",
                    file=", ".join(f.name for f in extract.files) or extract.source,
                    hint="check that the file is the one you meant and is not empty",
                )
            for number, (name, build) in enumerate(sorted(extract.tables.items())):
                progress(f"reading {name}", len(extract.trade) + number, total)
                staged.extend(self._stage_table(con, extract, name, build, ingest_id, staging))
            progress("validated", total, total)
            return staged
        finally:
            con.close()

    def _stage_trade(
        self,
        con: duckdb.DuckDBPyConnection,
        extract: Extract,
        part: TradePart,
        ingest_id: str,
        staging: Path,
        number: int,
    ) -> list[dict[str, Any]]:
        """Stage one trade part: write it once, validate it, split it per classification/year."""
        whole = staging / f"part-{number}.parquet"
        relation = part.build(con)
        _check_columns(relation, part.origin)
        relation.create_view("_part", replace=True)
        columns = ", ".join(
            f'CAST("{f.name}" AS {_duck_type(f)}) AS "{f.name}"' for f in schema.TRADE
        )
        try:
            con.execute(
                f"COPY (SELECT {columns} FROM _part) TO '{sql_path(whole)}' "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
        except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
            raise _reader_error(exc, part) from exc
        scan = f"read_parquet('{sql_path(whole)}')"
        groups = _profile(con, scan)
        if not groups:
            return []
        if not _looks_valid(groups, _distinct_codes(con, scan)) or _may_have_duplicates(
            con, scan, groups
        ):
            _validate_trade(con, scan, part)
        if part.verify is not None:
            part.verify(con, scan)
        records = []
        for group in groups:
            classification, year = group["classification"], group["year"]
            relative = (
                Path("trade")
                / f"source={extract.source}"
                / f"classification={classification}"
                / f"year={year}"
                / f"{part.slice}-{ingest_id}-{number}.parquet"
            )
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if len(groups) == 1:
                whole.rename(target)
            else:
                con.execute(
                    f"COPY (SELECT * FROM {scan} WHERE classification = ? AND year = ?) "
                    f"TO '{sql_path(target)}' (FORMAT parquet, COMPRESSION zstd)",
                    [classification, year],
                )
            records.append(
                {
                    "table": "trade",
                    "source": extract.source,
                    "release": extract.release,
                    "classification": classification,
                    "year": int(year),
                    "slice": part.slice,
                    "path": relative.as_posix(),
                    "rows": group["rows"],
                    "reporter_sides": sorted(group["sides"]),
                    "value_usd": group["value_usd"],
                    "origin": part.origin,
                    "ingest": ingest_id,
                    "demo": extract.demo,
                }
            )
        whole.unlink(missing_ok=True)
        return records

    def _stage_table(
        self,
        con: duckdb.DuckDBPyConnection,
        extract: Extract,
        name: str,
        build: RelationBuilder,
        ingest_id: str,
        staging: Path,
    ) -> list[dict[str, Any]]:
        """Stage a companion table (products, governance...), split by classification if any."""
        table_schema = schema.COMPANION_TABLES[name]
        build(con).create_view("_table_in", replace=True)
        columns = ", ".join(
            f'CAST("{f.name}" AS {_duck_type(f)}) AS "{f.name}"' for f in table_schema
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _table AS SELECT DISTINCT {columns} FROM _table_in"
        )
        nulls = [
            f.name
            for f in table_schema
            if not f.nullable
            and con.execute(f'SELECT count(*) FROM _table WHERE "{f.name}" IS NULL').fetchone()[0]
        ]
        if nulls:
            raise InputError(
                f"{name} rows with no {', '.join(nulls)}",
                file=", ".join(f.name for f in extract.files) or extract.source,
                hint="fill in or remove those rows",
            )
        split = "classification" in table_schema.names
        groups = (
            [
                c
                for (c,) in con.execute(
                    "SELECT DISTINCT classification FROM _table ORDER BY 1"
                ).fetchall()
            ]
            if split
            else [None]
        )
        records = []
        for classification in groups:
            folder = Path(name) / (f"classification={classification}" if split else "")
            relative = folder / f"{extract.source}-{ingest_id}.parquet"
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            where = "WHERE classification = ?" if split else ""
            n = con.execute(
                f"COPY (SELECT * FROM _table {where} ORDER BY ALL) "
                f"TO '{sql_path(target)}' (FORMAT parquet)",
                [classification] if split else [],
            ).fetchone()[0]
            records.append(
                {
                    "table": name,
                    "source": extract.source,
                    "release": extract.release,
                    "classification": classification or "",
                    "year": None,
                    "slice": name,
                    "path": relative.as_posix(),
                    "rows": int(n),
                    "ingest": ingest_id,
                    "demo": extract.demo,
                }
            )
        return records

    def _commit(
        self,
        extract: Extract,
        ingest_id: str,
        staged: list[dict[str, Any]],
        started: dt.datetime,
        progress: Progress,
    ) -> dict[str, Any]:
        """Move staged files into place and replace the manifest: the one commit point."""
        manifest = self.manifest()
        new_keys = {_part_key(p) for p in staged}
        kept = [p for p in manifest["parts"] if _part_key(p) not in new_keys]
        replaced = [p for p in manifest["parts"] if _part_key(p) in new_keys]
        trade = [p for p in staged if p["table"] == "trade"]
        record = {
            "id": ingest_id,
            "source": extract.source,
            "release": extract.release,
            "classifications": sorted({p["classification"] for p in trade}),
            "years": sorted({p["year"] for p in trade}),
            "files": [f.record() for f in extract.files],
            "rows": sum(p["rows"] for p in trade),
            "value_usd": sum(p["value_usd"] for p in trade),
            "started": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "demo": extract.demo,
            "notes": list(extract.notes),
            "replaced": len(replaced),
            "tables": {
                name: sum(p["rows"] for p in staged if p["table"] == name)
                for name in sorted({p["table"] for p in staged} - {"trade"})
            },
        }
        staging = self.home / ".staging" / ingest_id
        moved: list[Path] = []
        try:
            for part in staged:
                target = self.home / part["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / part["path"], target)
                moved.append(target)
            self._write_manifest(
                {
                    "format": MANIFEST_FORMAT,
                    "parts": sorted(
                        kept + staged,
                        key=lambda p: (p["table"], *map(str, _part_key(p)), p["path"]),
                    ),
                    "ingests": [*manifest["ingests"], record],
                }
            )
        except BaseException:
            for path in moved:
                path.unlink(missing_ok=True)
            _remove_empty_folders(self.home)
            raise
        progress("committed", 1, 1)
        for part in replaced:
            with contextlib.suppress(OSError):
                (self.home / part["path"]).unlink()
        return record

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest atomically (write aside, flush to disk, rename)."""
        temporary = self.home / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
        try:
            with temporary.open("w", encoding="utf-8") as handle:
                json.dump(manifest, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.manifest_path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


def _remove_empty_folders(home: Path) -> None:
    """Delete empty folders under the data folders of ``home`` (left by removed files)."""
    for folder in DATA_FOLDERS:
        root = home / folder
        if root.is_dir():
            for path in sorted(root.rglob("*"), reverse=True):
                if path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
            if not any(root.iterdir()):
                root.rmdir()


def _check_duplicates_across_parts(
    con: duckdb.DuckDBPyConnection, staging: Path, staged: list[dict[str, Any]]
) -> None:
    """Refuse flows that two input files of one ingest both contain (same key and slice)."""
    by_key: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in staged:
        by_key.setdefault(_part_key(record), []).append(record)
    key = ", ".join(schema.TRADE_KEY)
    for records in by_key.values():
        if len(records) < 2:
            continue
        listing = ", ".join(f"'{sql_path(staging / r['path'])}'" for r in records)
        duplicate = con.execute(
            f"SELECT {key} FROM read_parquet([{listing}]) GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if duplicate:
            row = dict(zip(schema.TRADE_KEY, duplicate, strict=True))
            raise InputError(
                f"the flow year {row['year']} {row['exporter']} -> {row['importer']} product "
                f"{row['product']} is in more than one of the files "
                f"{', '.join(sorted({r['origin'] for r in records}))}",
                hint="ingest overlapping files separately, or remove the repeats",
            )


def _part_key(part: dict[str, Any]) -> tuple[Any, ...]:
    """Identity of a part: re-ingesting the same key replaces it."""
    return (part["table"], part["source"], part["classification"], part["year"], part["slice"])


def _known_countries() -> frozenset[str]:
    """ISO3 codes accepted in trade rows."""
    from chokepoints.reference.countries import known_iso3

    return known_iso3()


def _duck_type(field: Any) -> str:
    """DuckDB type name of an Arrow field of the canonical schemas."""
    return {
        "int8": "TINYINT",
        "int16": "SMALLINT",
        "int32": "INTEGER",
        "double": "DOUBLE",
        "string": "VARCHAR",
        "bool": "BOOLEAN",
    }[str(field.type)]


def _reader_error(exc: duckdb.Error, part: TradePart) -> InputError:
    """Turn a DuckDB CSV reader error into one sentence naming the line and the field."""
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    value = re.search(
        r'converting column "([^"]+)"\. Could not convert string "([^"]*)" to \'(\w+)\'', text
    )
    if value:
        column, raw, kind = value.groups()
        return InputError(
            f"{raw.strip()!r} is not a {'whole number' if 'INT' in kind else 'number'}",
            file=part.origin,
            line=int(line.group(1)) if line else None,
            field=column,
            hint="fix the value or re-export the file",
        )
    lines = [row.strip() for row in text.splitlines() if row.strip()]
    kept = [row for row in lines[:3] if not row.startswith(("Possible", "*"))]
    return InputError(
        "; ".join(kept).rstrip("."), file=part.origin, hint="fix or re-export the file"
    )


def _check_columns(relation: duckdb.DuckDBPyRelation, origin: str) -> None:
    """Fail clearly when a source built a relation without the canonical columns."""
    missing = [f.name for f in schema.TRADE if f.name not in relation.columns]
    if missing:
        raise ChokepointsError(f"{origin}: source produced no column(s) {', '.join(missing)}")


def _profile(con: duckdb.DuckDBPyConnection, scan: str) -> list[dict[str, Any]]:
    """Per (classification, year): rows, value, and counts of rows that break a rule.

    Together with ``_distinct_codes`` this lets valid data pass with two cheap scans; the
    detailed per-rule queries of ``_validate_trade`` run only when they find a problem.
    """
    required = [f.name for f in schema.TRADE if not f.nullable]
    result = con.execute(
        f"""
        SELECT classification, year, count(*) AS rows, sum(value_usd) AS value_usd,
               list(DISTINCT reporter_side) AS sides,
               {" + ".join(f"(count(*) - count({c}))" for c in required)} AS nulls,
               count(*) FILTER (WHERE NOT isfinite(value_usd) OR value_usd < 0
                                OR NOT isfinite(quantity_t) OR quantity_t < 0
                                OR length(product) <> level OR level NOT IN (2, 4, 6, 8))
                   AS bad_numbers
        FROM {scan} GROUP BY ALL ORDER BY classification, year
        """
    )
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _distinct_codes(con: duckdb.DuckDBPyConnection, scan: str) -> dict[str, Any]:
    """The distinct values of every code column (a few hundred to a few thousand each)."""
    result = con.execute(
        f"""
        SELECT list(DISTINCT exporter) AS exporters, list(DISTINCT importer) AS importers,
               list(DISTINCT product) AS products, list(DISTINCT reporter_side) AS sides,
               list(DISTINCT classification) AS classifications
        FROM {scan}
        """
    )
    names = [d[0] for d in result.description]
    return dict(zip(names, result.fetchall()[0], strict=True))


def _may_have_duplicates(
    con: duckdb.DuckDBPyConnection, scan: str, groups: list[dict[str, Any]]
) -> bool:
    """False when every flow key is distinct; True when two keys share a 64-bit hash.

    Sorting the hashes with numpy and comparing neighbours is several times faster than a
    DuckDB DISTINCT at BACI scale. Equal hashes are almost always a real duplicate; the exact
    checks of ``_validate_trade`` decide. When the rows share one classification, year and
    reporter side (a yearly file), only exporter, importer and product are hashed.
    """
    constant = len(groups) == 1 and len(groups[0]["sides"]) == 1
    key = "exporter, importer, product" if constant else ", ".join(schema.TRADE_KEY)
    hashes = con.sql(f"SELECT hash({key}) AS h FROM {scan}").fetchnumpy()["h"]
    hashes.sort()
    return bool((hashes[1:] == hashes[:-1]).any())


def _looks_valid(groups: list[dict[str, Any]], codes: dict[str, Any]) -> bool:
    """True when the profile and the distinct codes show no broken rule."""
    if any(g["nulls"] or g["bad_numbers"] for g in groups):
        return False
    if not set(codes["exporters"]) | set(codes["importers"]) <= _known_countries():
        return False
    if not all(p.isdigit() for p in codes["products"]):
        return False
    if not set(codes["sides"]) <= set(schema.REPORTER_SIDES):
        return False
    return all(
        c in schema.HS_REVISIONS or re.fullmatch(r"CN\d{4}", c) for c in codes["classifications"]
    )


def _validate_trade(con: duckdb.DuckDBPyConnection, scan: str, part: TradePart) -> None:
    """Raise InputError for the first rule the staged rows break, pointing at a line if we can.

    Runs only when ``_profile`` saw a problem, so its extra scans cost nothing on valid data.
    """
    counts = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE {c.condition})" for c in TRADE_CHECKS)
        + f" FROM {scan}"
    ).fetchone()
    for check, count in zip(TRADE_CHECKS, counts, strict=True):
        if count:
            example = con.execute(f"SELECT * FROM {scan} WHERE {check.condition} LIMIT 1")
            row = dict(zip([d[0] for d in example.description], example.fetchone(), strict=True))
            shown = row[check.field]
            raise InputError(
                f"{check.message}{'' if shown is None else f' {shown!r}'} in {count} row(s)",
                file=part.origin,
                line=_locate(part, row, duplicate=False),
                field=part.fields.get(check.field, check.field),
                hint=check.hint,
            )
    key = ", ".join(schema.TRADE_KEY)
    duplicates = con.execute(
        f"SELECT {key}, count(*) AS n FROM {scan} GROUP BY ALL HAVING count(*) > 1 "
        "ORDER BY n DESC LIMIT 1"
    ).fetchone()
    if duplicates:
        n_keys = con.execute(
            f"SELECT count(*) FROM (SELECT {key} FROM {scan} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]
        row = dict(zip(schema.TRADE_KEY, duplicates[:-1], strict=True))
        raise InputError(
            f"{n_keys} duplicate flow(s), e.g. year {row['year']} {row['exporter']} -> "
            f"{row['importer']} product {row['product']} appears {duplicates[-1]} times",
            file=part.origin,
            line=_locate(part, row, duplicate=True),
            hint="each (year, exporter, importer, product) may appear once; remove the repeats",
        )


def _locate(part: TradePart, example: dict[str, Any], *, duplicate: bool) -> int | None:
    """Line of the first raw row equal to ``example`` (the second one, for a duplicate)."""
    if part.rows is None:
        return None
    seen = 0
    for line, row in part.rows():
        if all(_same(row.get(k), v) for k, v in example.items() if k in row):
            seen += 1
            if seen == (2 if duplicate else 1):
                return line
    return None


def _same(a: Any, b: Any) -> bool:
    """Equality under which NaN equals NaN, for matching raw rows to staged ones."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a == b
