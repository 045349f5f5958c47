"""The on-disk store: partitioned Parquet files, a manifest of what they hold, atomic ingests.

Layout under the workspace home::

    manifest.json                                  the only source of truth; replaced atomically
    trade/source=baci/classification=HS92/year=2021/all-<ingest id>-<n>.parquet
    products/classification=HS92/baci-<ingest id>.parquet
    .staging/<ingest id>/                          work area of a running ingest
    .pending/<ingest id>                           marker: this ingest is moving files into place
    .lock                                          held while an ingest or a repair runs

An ingest writes and validates everything in ``.staging``, marks itself in ``.pending``, moves
the new files into place under names no manifest has ever used, then commits by replacing
``manifest.json`` in one rename. Each commit is a new *generation*; the files it replaces stay
on disk (listed as ``retired``) so that a reader of an earlier generation can finish.

Nothing the store cannot prove its own is ever deleted: only ``.staging``, stale manifest
temporaries, files of a ``.pending`` ingest that the manifest does not record, and retired files
past their keeping time. Each data file carries its own record as Parquet key-value metadata,
from which ``Store.repair`` rebuilds a lost or damaged manifest; files it cannot place are moved
aside into ``unknown-<time>/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from chokepoints.errors import (
    ChokepointsError,
    InputError,
    ReplaceError,
    StoreBusyError,
    StoreError,
)
from chokepoints.extract import Extract, RelationBuilder, TradePart, sql_path

if TYPE_CHECKING:
    import duckdb

# DuckDB, pyarrow and the schemas (pyarrow too) are imported where data is written or read:
# reading the manifest (``data info``, every question's first step) needs none of them.

MANIFEST = "manifest.json"
#: Folders of the store's tables: ``trade`` and ``schema.COMPANION_TABLES``, spelled out so
#: that checking a manifest's paths needs no pyarrow (tests/test_startup.py keeps them equal).
DATA_FOLDERS = ("trade", "products", "governance", "production")
MANIFEST_FORMAT = 1
STAGING = ".staging"
PENDING = ".pending"
#: Key of a data file's own record in its Parquet key-value metadata.
PART_METADATA = "chokepoints.part"
#: A replaced file is kept at least this long (and two generations) for readers still on it.
KEEP_REPLACED_SECONDS = 600.0
#: Replacing a part by one with this much fewer rows or less value needs ``replace=True``.
SHRINK_TOLERANCE = 0.01
#: The ingest id in a data file's name: UTC time and a random suffix.
INGEST_ID = re.compile(r"-(\d{8}T\d{6}-[0-9a-f]{8})(?:-\d+)?\.parquet$")
#: The order of a part's rows: the flow key, so that the same input gives the same bytes.
FLOW_ORDER = ("year", "exporter", "importer", "product", "classification", "reporter_side")
REPAIR_HINT = "run `chokepoints data repair` to rebuild it from the data files"

#: Progress callback: (description, steps done, steps in all).
Progress = Callable[[str, int, int], None]

#: Another engine's staging writer (Spark): converts every trade input of an extract into files
#: under the given folder, all at once, and returns for each trade part, in order, the builder of
#: the relation the store then writes and validates in place of the part's own ``build``.
TradeWriter = Callable[[Extract, Path, Progress], list[RelationBuilder]]


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


@functools.cache
def _trade_checks() -> list[Check]:
    """The validation rules every trade ingest must pass, in the order they are reported."""
    from chokepoints import schema

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


class Store:
    """A workspace's trade store: read the manifest, list live files, ingest atomically, repair."""

    def __init__(self, home: Path | str) -> None:
        self.home = Path(home).expanduser().resolve()

    # -- reading -------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        """Where the manifest lives."""
        return self.home / MANIFEST

    def read_manifest(self) -> tuple[bytes | None, dict[str, Any]]:
        """The committed manifest's bytes (None when there is none) and its checked content.

        Readers pin these bytes: a later commit gives different bytes, so they know to reopen.
        A missing manifest beside committed-looking data files is refused, never read as empty.
        """
        raw = self.manifest_bytes()
        return raw, (_empty_manifest() if raw is None else self._parse(raw))

    def manifest_bytes(self) -> bytes | None:
        """The committed manifest's bytes, None for a new store (a missing manifest beside
        committed-looking data files is refused); cheap enough to check before every question."""
        try:
            return self.manifest_path.read_bytes()
        except FileNotFoundError:
            self._refuse_orphan_data(count_pending=False)
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {self.manifest_path}: {exc.strerror}") from exc

    def manifest(self) -> dict[str, Any]:
        """The committed manifest (an empty one for a new store)."""
        return self.read_manifest()[1]

    def files(self, table: str = "trade", manifest: dict[str, Any] | None = None) -> list[Path]:
        """Absolute paths of the live Parquet files of ``table`` in ``manifest`` (default: the
        committed one), each checked to be on disk and whole."""
        manifest = self.manifest() if manifest is None else manifest
        return [self._whole(part) for part in manifest["parts"] if part["table"] == table]

    def is_empty(self) -> bool:
        """True when no trade data has been committed."""
        return not any(p["table"] == "trade" for p in self.manifest()["parts"])

    def _parse(self, raw: bytes) -> dict[str, Any]:
        """The manifest in ``raw``, refused in one sentence when it is not of the expected shape."""
        try:
            manifest = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
            raise StoreError(
                f"{self.manifest_path} is not valid JSON{line}: the manifest is damaged; "
                f"{REPAIR_HINT}"
            ) from exc
        if isinstance(manifest, dict) and manifest.get("format") not in (None, MANIFEST_FORMAT):
            raise StoreError(
                f"{self.manifest_path} has format {manifest.get('format')!r}, this version of "
                f"chokepoints reads format {MANIFEST_FORMAT}; upgrade chokepoints"
            )
        problem = _shape_problem(manifest)
        if problem:
            raise StoreError(
                f"{self.manifest_path}: {problem}, so the manifest is damaged; {REPAIR_HINT}"
            )
        return manifest

    def _whole(self, part: dict[str, Any]) -> Path:
        """The file of a listed part, refused in one sentence when missing, cut short or damaged."""
        path = self.home / part["path"]
        problem = _damage(path, part.get("bytes"))
        if problem:
            raise StoreError(
                f"{path} is listed in {self.manifest_path} but {problem}; run `chokepoints data "
                "repair` to rebuild the manifest from the files present"
            )
        return path

    def _data_files(self) -> list[Path]:
        """Every file under the data folders (ours or not), in a stable order."""
        return sorted(
            path
            for folder in DATA_FOLDERS
            for path in (self.home / folder).rglob("*")
            if path.is_file()
        )

    def _refuse_orphan_data(self, *, count_pending: bool) -> None:
        """Refuse a store with Parquet data files but no manifest: it must be repaired first.

        Readers skip the files of a running first ingest (a ``.pending`` marker names it);
        writers, holding the lock, count them too since nothing proves they were not committed.
        """
        pending = set() if count_pending else self._pending_ids()
        for path in self._data_files():
            if path.suffix == ".parquet" and _ingest_id(path) not in pending:
                raise StoreError(
                    f"{self.home} holds data files (e.g. {path.relative_to(self.home)}) but no "
                    f"{MANIFEST}; run `chokepoints data repair` to rebuild the manifest from them"
                )

    def _pending_ids(self) -> set[str]:
        """Ingest ids whose files may be in place but whose commit is not known to be done."""
        folder = self.home / PENDING
        return {m.name for m in folder.iterdir()} if folder.is_dir() else set()

    # -- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the store's write lock, waiting up to ``timeout`` seconds for another writer.

        The default wait comes from ``CHOKEPOINTS_LOCK_TIMEOUT`` (seconds, default 30).
        """
        import filelock

        if timeout is None:
            timeout = _lock_timeout()
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
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def writing(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the write lock over a readable manifest, after removing proven leftovers.

        Refuses (before touching anything) a store whose manifest is damaged, or missing
        beside data files: ``chokepoints data repair`` rebuilds it.
        """
        with self._locked(timeout):
            raw, manifest = self.read_manifest()
            if raw is None:
                self._refuse_orphan_data(count_pending=True)
            self._remove_leftovers(manifest)
            yield

    def _remove_leftovers(self, manifest: dict[str, Any]) -> None:
        """Delete what an interrupted ingest provably left, and nothing else.

        Provably ours: ``.staging/``, stale ``.manifest.json.*.tmp`` files, and data files whose
        name carries the id of a ``.pending`` marker that ``manifest`` does not record as
        committed and that ``manifest`` does not list. Any other file is left alone.
        """
        shutil.rmtree(self.home / STAGING, ignore_errors=True)
        for stale in self.home.glob(f".{MANIFEST}.*.tmp"):
            stale.unlink()
        committed = {ingest["id"] for ingest in manifest["ingests"]}
        listed = _listed_paths(manifest)
        for marker in sorted((self.home / PENDING).glob("*")):
            if marker.name not in committed:
                for path in self._data_files():
                    relative = path.relative_to(self.home).as_posix()
                    if _ingest_id(path) == marker.name and relative not in listed:
                        path.unlink()
                        self._prune(path.parent)
            marker.unlink()
        self._prune(self.home / PENDING)

    def _prune(self, folder: Path) -> None:
        """Remove ``folder`` and its parents below the home while they are empty."""
        while folder != self.home and folder.is_relative_to(self.home) and folder.is_dir():
            if any(folder.iterdir()):
                return
            folder.rmdir()
            folder = folder.parent

    def ingest(
        self,
        extract: Extract,
        progress: Progress | None = None,
        *,
        replace: bool = False,
        writer: TradeWriter | None = None,
    ) -> dict[str, Any]:
        """Validate and commit ``extract``; return its manifest record.

        Parts with the same (source, classification, year, slice) as committed ones replace
        them, unless that would lose more than 1% of a part's rows or value and ``replace`` is
        not set; everything else in the store stays. On any error the store is left as it was.
        ``writer`` converts the trade inputs with another engine first, in the staging folder
        under the write lock; the same checks, files and commit follow.
        """
        import duckdb

        progress = progress or _no_progress
        ingest_id = _new_ingest_id()
        started = dt.datetime.now(dt.UTC)
        try:
            with self.writing():
                staging = self.home / STAGING / ingest_id
                try:
                    staging.mkdir(parents=True)
                    staged = self._stage(extract, ingest_id, staging, progress, writer)
                    record = self._commit(extract, ingest_id, staged, started, replace, progress)
                    if extract.committed is not None:
                        extract.committed()
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
                    shutil.rmtree(self.home / STAGING, ignore_errors=True)
        finally:
            if extract.cleanup is not None:
                extract.cleanup()
        return record

    # -- ingest steps --------------------------------------------------------------------
    def _stage(
        self,
        extract: Extract,
        ingest_id: str,
        staging: Path,
        progress: Progress,
        writer: TradeWriter | None,
    ) -> list[dict[str, Any]]:
        """Write every part of ``extract`` to ``staging``, validated; return new part records."""
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = true")
            known = sorted(_known_countries())
            # One statement: inserting the codes row by row took 50 ms per ingest.
            con.execute(
                "CREATE TEMP TABLE _known_countries AS SELECT unnest(?::VARCHAR[]) AS iso3", [known]
            )
            builders = (
                [part.build for part in extract.trade]
                if writer is None
                else writer(extract, staging / "converted", progress)
            )
            staged: list[dict[str, Any]] = []
            total = len(extract.trade) + len(extract.tables)
            for number, (part, build) in enumerate(zip(extract.trade, builders, strict=True)):
                progress(f"reading {part.origin}", number, total)
                staged.extend(
                    self._stage_trade(con, extract, part, build, ingest_id, staging, number)
                )
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
        build: RelationBuilder,
        ingest_id: str,
        staging: Path,
        number: int,
    ) -> list[dict[str, Any]]:
        """Stage one trade part, built by ``build``: write it once, validate it, split it per
        classification/year only when it holds several.

        Every file carries, as Parquet key-value metadata, what the data cannot tell about
        itself (source, release, slice, origin, inputs; no time and no ingest id), so that the
        same input gives the same bytes and ``repair`` can rebuild the manifest from the files,
        reading classification, year, rows and value from the rows.
        """
        import duckdb

        from chokepoints import schema

        whole = staging / f"part-{number}.parquet"
        relation = build(con)
        _check_columns(relation, part.origin)
        relation.create_view("_part", replace=True)
        columns = ", ".join(
            f'CAST("{f.name}" AS {_duck_type(f)}) AS "{f.name}"' for f in schema.TRADE
        )
        about = {
            "table": "trade",
            "source": extract.source,
            "release": extract.release,
            "slice": part.slice,
            "origin": part.origin,
            "demo": extract.demo,
        }
        try:
            # Sorted by the flow key as it is written: the CSV is read in parallel and codes are
            # joined, so the rows would otherwise come in another order at each run.
            query = f"SELECT {columns} FROM _part"
            _write_part(con, query, [], whole, _metadata(about, extract))
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
        coverage = _coverage(con, scan)
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
            described = {
                **about,
                "classification": classification,
                "year": int(year),
                "rows": group["rows"],
                "reporter_sides": sorted(group["sides"]),
                "value_usd": group["value_usd"],
                **coverage[(classification, int(year))],
            }
            target = staging / relative
            if len(groups) == 1:
                target.parent.mkdir(parents=True, exist_ok=True)
                whole.rename(target)
            else:
                query = f"SELECT * FROM {scan} WHERE classification = ? AND year = ?"
                _write_part(con, query, [classification, year], target, _metadata(about, extract))
            records.append(_record(described, relative, ingest_id, target))
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
        from chokepoints import schema

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
            and _scalar(con, f'SELECT count(*) FROM _table WHERE "{f.name}" IS NULL')
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
            where = "WHERE classification = ?" if split else ""
            parameters = [classification] if split else []
            rows = _scalar(con, f"SELECT count(*) FROM _table {where}", parameters)
            described = {
                "table": name,
                "source": extract.source,
                "release": extract.release,
                "classification": classification or "",
                "year": None,
                "slice": name,
                "rows": int(rows),
                "demo": extract.demo,
            }
            target = staging / relative
            query = f"SELECT * FROM _table {where} ORDER BY ALL"
            _write_part(con, query, parameters, target, _metadata(described, extract))
            records.append(_record(described, relative, ingest_id, target))
        return records

    def _commit(
        self,
        extract: Extract,
        ingest_id: str,
        staged: list[dict[str, Any]],
        started: dt.datetime,
        replace: bool,
        progress: Progress,
    ) -> dict[str, Any]:
        """Move staged files into place and replace the manifest: the one commit point.

        Replaced files stay on disk (listed under ``retired``) for readers still on an earlier
        generation; those replaced two or more commits ago, and at least
        ``KEEP_REPLACED_SECONDS`` ago, are deleted once the new manifest is in place.
        """
        manifest = self.manifest()
        new_keys = {_part_key(p) for p in staged}
        kept = [p for p in manifest["parts"] if _part_key(p) not in new_keys]
        replaced = [p for p in manifest["parts"] if _part_key(p) in new_keys]
        if not replace:
            _refuse_shrinking(replaced, staged)
        generation = manifest.get("generation", 0) + 1
        now = dt.datetime.now(dt.UTC)
        expired, still_kept = _expired(manifest.get("retired", []), generation, now)
        retired = [
            *still_kept,
            *(
                {"path": p["path"], "generation": generation, "replaced": _iso(now)}
                for p in replaced
            ),
        ]
        record = _ingest_record(extract, ingest_id, staged, started, len(replaced))
        staging = self.home / STAGING / ingest_id
        marker = self.home / PENDING / ingest_id
        moved: list[Path] = []
        try:
            marker.parent.mkdir(exist_ok=True)
            marker.touch()
            for part in staged:
                target = self.home / part["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                (staging / part["path"]).rename(target)
                moved.append(target)
            self._write_manifest(
                {
                    "format": MANIFEST_FORMAT,
                    "generation": generation,
                    "parts": _sorted_parts(kept + staged),
                    "retired": retired,
                    "ingests": [*manifest["ingests"], record],
                }
            )
        except BaseException:
            for path in moved:
                path.unlink(missing_ok=True)
                self._prune(path.parent)
            marker.unlink(missing_ok=True)
            self._prune(marker.parent)
            raise
        marker.unlink()
        self._prune(marker.parent)
        progress("committed", 1, 1)
        self._delete_retired(expired)
        return record

    def _delete_retired(self, entries: list[dict[str, Any]]) -> None:
        """Delete replaced files that no manifest lists any longer (best effort)."""
        for entry in entries:
            path = self.home / entry["path"]
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
                self._prune(path.parent)

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

    # -- repair --------------------------------------------------------------------------
    def repair(self) -> dict[str, Any]:
        """Rebuild the manifest from the data files' own metadata, under the write lock.

        A file a readable manifest lists, whole, keeps its record and a retired one stays
        retired; any other Parquet file carrying a part record (``PART_METADATA``) is added,
        the newest ingest of each identity live and older ones retired. Everything else under
        the data folders (no record, not Parquet, damaged, or from an ingest not known to have
        committed) is moved into ``unknown-<time>/`` once the new manifest is committed, never
        deleted. Returns what was rebuilt, missing and moved.
        """
        try:
            with self._locked():
                old = self._readable_manifest()
                if old is None:
                    shutil.rmtree(self.home / STAGING, ignore_errors=True)
                else:
                    self._remove_leftovers(old)
                base = old or _empty_manifest()
                survey = self._survey(base)
                listed = {p["path"] for p in base["parts"]}
                live, superseded = _newest_per_identity(survey.found, listed)
                self._write_manifest(_repaired_manifest(base, survey, live, superseded))
                for marker in (self.home / PENDING).glob("*"):
                    marker.unlink()
                self._prune(self.home / PENDING)
                folder, moved = self._move_aside(survey.unknown)
        except OSError as exc:
            raise StoreError(
                f"could not repair {self.home} ({exc.strerror or exc}); nothing was deleted: "
                "free disk space or fix permissions, then run `chokepoints data repair` again"
            ) from exc
        return {
            "manifest": str(self.manifest_path),
            "parts": len(live),
            "rebuilt": sorted(p["path"] for p in live if p["path"] not in listed),
            "retired": len(superseded),
            "missing": sorted(listed - {p["path"] for p in survey.found} - set(moved)),
            "moved": moved,
            "folder": str(folder) if folder else None,
        }

    def _readable_manifest(self) -> dict[str, Any] | None:
        """The committed manifest when there is one of the right shape, else None."""
        try:
            raw = self.manifest_path.read_bytes()
            return self._parse(raw)
        except (OSError, StoreError):
            return None

    def _survey(self, manifest: dict[str, Any]) -> _Survey:
        """Sort every file under the data folders into parts, retired files and unknown files."""
        listed = {p["path"]: p for p in manifest["parts"]}
        retired = {r["path"]: r for r in manifest.get("retired", [])}
        pending = self._pending_ids()
        survey = _Survey()
        for path in self._data_files():
            relative = path.relative_to(self.home).as_posix()
            if relative in listed and not _damage(path, listed[relative].get("bytes")):
                survey.found.append(listed[relative])
            elif relative in retired:
                survey.retired.append(retired[relative])
            elif (read := _part_from_file(path, relative)) and read[0]["ingest"] not in pending:
                survey.found.append(read[0])
                survey.metadata[relative] = read[1]
            else:
                survey.unknown.append(path)
        return survey

    def _move_aside(self, paths: list[Path]) -> tuple[Path | None, dict[str, str]]:
        """Move ``paths`` into a new ``unknown-<time>/`` folder of the home, keeping their
        relative paths; return the folder and {old relative path: new relative path}."""
        if not paths:
            return None, {}
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        folder = self.home / f"unknown-{stamp}"
        while folder.exists():
            folder = self.home / f"unknown-{stamp}-{uuid.uuid4().hex[:4]}"
        moved = {}
        for path in paths:
            relative = path.relative_to(self.home)
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
            self._prune(path.parent)
            moved[relative.as_posix()] = target.relative_to(self.home).as_posix()
        return folder, moved


@dataclass
class _Survey:
    """What ``Store.repair`` found under the data folders."""

    found: list[dict[str, Any]] = field(default_factory=list)
    retired: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[Path] = field(default_factory=list)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)


def _repaired_manifest(
    base: dict[str, Any],
    survey: _Survey,
    live: list[dict[str, Any]],
    superseded: list[dict[str, Any]],
) -> dict[str, Any]:
    """The manifest ``repair`` commits: ``base``'s history, the live parts found, the older
    parts as replaced, and ingest records rebuilt for ingests ``base`` does not know."""
    generation = base.get("generation", 0) + 1
    now = _iso(dt.datetime.now(dt.UTC))
    known = {ingest["id"] for ingest in base["ingests"]}
    found = live + superseded
    return {
        "format": MANIFEST_FORMAT,
        "generation": generation,
        "parts": _sorted_parts(live),
        "retired": [
            *survey.retired,
            *({"path": p["path"], "generation": generation, "replaced": now} for p in superseded),
        ],
        "ingests": [
            *base["ingests"],
            *(
                _rebuilt_ingest(i, found, survey.metadata)
                for i in sorted({p["ingest"] for p in found} - known)
            ),
        ],
    }


def _empty_manifest() -> dict[str, Any]:
    """The manifest of a store nothing was ever committed to."""
    return {"format": MANIFEST_FORMAT, "generation": 0, "parts": [], "retired": [], "ingests": []}


#: Fields every part record has, with their JSON types (``year`` may also be null).
_PART_FIELDS: dict[str, type | tuple[type, ...]] = {
    "table": str,
    "source": str,
    "classification": str,
    "year": (int, type(None)),
    "slice": str,
    "path": str,
    "rows": int,
}


def _shape_problem(manifest: Any) -> str | None:
    """What is wrong with the shape of a parsed manifest, naming the field; None if nothing."""
    if not isinstance(manifest, dict):
        return "the top level is not a JSON object"
    for key, required in (("parts", True), ("ingests", True), ("retired", False)):
        if not isinstance(manifest.get(key, None if required else []), list):
            return f"'{key}' is missing or not a list"
    if not isinstance(manifest.get("generation", 0), int):
        return "'generation' is not a whole number"
    for n, part in enumerate(manifest["parts"]):
        problem = _field_problem(part, _PART_FIELDS) or _path_problem(part["path"])
        if problem:
            return f"parts[{n}] {problem}"
    for n, entry in enumerate(manifest.get("retired", [])):
        fields = {"path": str, "generation": int, "replaced": str}
        problem = _field_problem(entry, fields) or _path_problem(entry["path"])
        if problem:
            return f"retired[{n}] {problem}"
    for n, ingest in enumerate(manifest["ingests"]):
        problem = _field_problem(ingest, {"id": str})
        if problem:
            return f"ingests[{n}] {problem}"
    return None


def _field_problem(entry: Any, fields: Mapping[str, type | tuple[type, ...]]) -> str | None:
    """Which of ``fields`` an entry lacks or holds with the wrong JSON type."""
    if not isinstance(entry, dict):
        return "is not a JSON object"
    for name, kind in fields.items():
        value = entry.get(name)
        if name not in entry or not isinstance(value, kind) or isinstance(value, bool):
            return f"has no valid '{name}'"
    return None


def _path_problem(path: str) -> str | None:
    """Why a listed path may not be used (absolute, leaving the home, not a data file)."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return f"has path {path!r} outside the store"
    if pure.parts[0] not in DATA_FOLDERS or pure.suffix != ".parquet":
        return f"has path {path!r} that is not a data file of the store"
    return None


def _listed_paths(manifest: dict[str, Any]) -> set[str]:
    """Relative paths of every file the manifest knows: live parts and retired ones."""
    return {p["path"] for p in manifest["parts"]} | {r["path"] for r in manifest.get("retired", [])}


def _new_ingest_id() -> str:
    """``20261130T152712-0a1f2c3d``: the UTC second, then the microsecond in 5 hex digits and
    3 random ones, so that ids sort in the order ingests started (``repair`` keeps the newest)."""
    now = dt.datetime.now(dt.UTC)
    return f"{now.strftime('%Y%m%dT%H%M%S')}-{now.microsecond:05x}{uuid.uuid4().hex[:3]}"


def _ingest_id(path: Path) -> str | None:
    """The ingest id a data file's name carries (``all-<id>-0.parquet``), if any."""
    found = INGEST_ID.search(path.name)
    return found.group(1) if found else None


def _damage(path: Path, expected_bytes: int | None) -> str | None:
    """What is wrong with a listed part's file (missing, cut short, not Parquet); None if whole."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if expected_bytes is not None and size != expected_bytes:
        return (
            f"is {size:,} bytes where the manifest says {expected_bytes:,} (cut short or damaged)"
        )
    if size < 12:
        return "is not a whole Parquet file (cut short or damaged)"
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(-4, os.SEEK_END)
        tail = handle.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        return "is not a whole Parquet file (cut short or damaged)"
    return None


def _metadata(about: dict[str, Any], extract: Extract) -> dict[str, Any]:
    """What a part's file says about itself beyond its rows: its source, release, slice and
    origin, and its inputs by name and size (no checksum, which is still being computed while
    the file is written; no time and no id)."""
    return {
        "format": MANIFEST_FORMAT,
        "part": about,
        "inputs": [{"name": f.name, "bytes": f.bytes} for f in extract.files],
        "notes": list(extract.notes),
    }


def _write_part(
    con: duckdb.DuckDBPyConnection,
    query: str,
    parameters: list[Any],
    target: Path,
    metadata: dict[str, Any],
) -> None:
    """Write ``query``'s rows to ``target`` with fixed settings and ``metadata`` as key-value
    metadata, so that the same rows and record give the same bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(metadata, sort_keys=True, separators=(",", ":")).replace("'", "''")
    con.execute(
        f"COPY ({query}) TO '{sql_path(target)}' (FORMAT parquet, COMPRESSION zstd, "
        f"KV_METADATA {{'{PART_METADATA}': '{text}'}})",
        parameters,
    )


def _record(
    described: dict[str, Any], relative: Path, ingest_id: str, target: Path
) -> dict[str, Any]:
    """The manifest record of a staged part: its own description plus where and from which
    ingest, and its size (to tell a file cut short)."""
    return {
        **described,
        "path": relative.as_posix(),
        "ingest": ingest_id,
        "bytes": target.stat().st_size,
    }


def _part_from_file(path: Path, relative: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(manifest record, file metadata) of a data file written by an ingest; None when the file
    is not Parquet, carries no part record, or does not hold the rows its record says."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    ingest_id = _ingest_id(path)
    if path.suffix != ".parquet" or ingest_id is None:
        return None
    try:
        footer = pq.read_metadata(path)
        metadata = json.loads((footer.metadata or {})[PART_METADATA.encode()])
        record = {
            **metadata["part"],
            **(_trade_fields(path) if metadata["part"].get("table") == "trade" else {}),
            "path": relative,
            "ingest": ingest_id,
            "bytes": path.stat().st_size,
        }
    except (OSError, KeyError, TypeError, ValueError, pa.ArrowException, duckdb.Error):
        return None
    if _field_problem(record, _PART_FIELDS) or record["table"] != relative.split("/")[0]:
        return None
    if footer.num_rows != record["rows"]:
        return None
    return record, metadata


def _trade_fields(path: Path) -> dict[str, Any]:
    """What a trade part's rows say of themselves: classification, year, rows, value, reporter
    sides and coverage (ValueError when the file holds more than one classification or year)."""
    import duckdb
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["classification", "year", "reporter_side", "value_usd"])
    classifications = set(table.column("classification").to_pylist())
    years = set(table.column("year").to_pylist())
    if len(classifications) != 1 or len(years) != 1:
        raise ValueError("a trade part holds one classification and one year")
    values = table.column("value_usd").to_numpy()
    classification, year = classifications.pop(), int(years.pop())
    with duckdb.connect() as con:
        coverage = _coverage(con, f"read_parquet('{sql_path(path)}')")
    return {
        "classification": classification,
        "year": year,
        "rows": table.num_rows,
        "reporter_sides": sorted(set(table.column("reporter_side").to_pylist())),
        "value_usd": float(math.fsum(values)),
        **coverage[(classification, year)],
    }


def _newest_per_identity(
    parts: list[dict[str, Any]], listed: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(live, superseded): per part identity, the part the manifest listed, else the one of the
    newest ingest (ids start with their UTC time), live; the others superseded."""
    by_key: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for part in parts:
        by_key.setdefault(_part_key(part), []).append(part)
    live, superseded = [], []
    for group in by_key.values():
        group.sort(key=lambda p: (p["path"] in listed, p.get("ingest", "")))
        live.append(group[-1])
        superseded.extend(group[:-1])
    return live, superseded


def _rebuilt_ingest(
    ingest_id: str, parts: list[dict[str, Any]], metadata: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """An ingest record rebuilt from its parts' files (its end time is not known)."""
    own = [p for p in parts if p["ingest"] == ingest_id]
    trade = [p for p in own if p["table"] == "trade"]
    about = metadata.get(own[0]["path"], {})
    started = dt.datetime.strptime(ingest_id[:15], "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
    return {
        "id": ingest_id,
        "source": own[0]["source"],
        "release": own[0].get("release", ""),
        "classifications": sorted({p["classification"] for p in trade}),
        "years": sorted({p["year"] for p in trade}),
        "files": about.get("inputs", []),
        "rows": sum(p["rows"] for p in trade),
        "value_usd": sum(p.get("value_usd", 0.0) for p in trade),
        "started": _iso(started),
        "finished": None,
        "demo": own[0].get("demo", False),
        "notes": about.get("notes", []),
        "replaced": 0,
        "tables": {
            name: sum(p["rows"] for p in own if p["table"] == name)
            for name in sorted({p["table"] for p in own} - {"trade"})
        },
        "repaired": True,
    }


def _ingest_record(
    extract: Extract,
    ingest_id: str,
    staged: list[dict[str, Any]],
    started: dt.datetime,
    replaced: int,
) -> dict[str, Any]:
    """The manifest's record of one ingest: inputs, totals, times, notes."""
    trade = [p for p in staged if p["table"] == "trade"]
    return {
        "id": ingest_id,
        "source": extract.source,
        "release": extract.release,
        "classifications": sorted({p["classification"] for p in trade}),
        "years": sorted({p["year"] for p in trade}),
        "files": [f.record() for f in extract.files],
        "rows": sum(p["rows"] for p in trade),
        "value_usd": sum(p["value_usd"] for p in trade),
        "started": _iso(started),
        "finished": _iso(dt.datetime.now(dt.UTC)),
        "demo": extract.demo,
        "notes": list(extract.notes),
        "replaced": replaced,
        "tables": {
            name: sum(p["rows"] for p in staged if p["table"] == name)
            for name in sorted({p["table"] for p in staged} - {"trade"})
        },
    }


def _iso(moment: dt.datetime) -> str:
    """A UTC time as ISO 8601 to the second."""
    return moment.isoformat(timespec="seconds")


def _sorted_parts(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parts in the manifest's order: by table, identity and path."""
    return sorted(parts, key=lambda p: (p["table"], *map(str, _part_key(p)), p["path"]))


def _refuse_shrinking(replaced: list[dict[str, Any]], staged: list[dict[str, Any]]) -> None:
    """Refuse to replace a committed part by one with over 1% fewer rows or less value."""
    before = {_part_key(p): p for p in replaced}
    for new in staged:
        old = before.get(_part_key(new))
        if old and (
            _shrinks(old["rows"], new["rows"])
            or _shrinks(old.get("value_usd"), new.get("value_usd"))
        ):
            raise ReplaceError(
                f"{_describe(new)} holds {_amount(old)}; this ingest would replace it with "
                f"{_amount(new)}, more than {SHRINK_TOLERANCE:.0%} less: pass --replace if "
                "that is intended"
            )


def _shrinks(old: float | None, new: float | None) -> bool:
    """True when ``new`` is below ``old`` by more than the tolerance (unknowns never shrink)."""
    return old is not None and new is not None and new < old * (1 - SHRINK_TOLERANCE)


def _describe(part: dict[str, Any]) -> str:
    """A part's identity in words: ``trade baci HS17 2021`` (and its slice when not ``all``)."""
    words = [part["table"], part["source"], part["classification"], part["year"]]
    if part["slice"] not in ("all", part["table"]):
        words.append(f"slice {part['slice']}")
    return " ".join(str(w) for w in words if w not in (None, ""))


def _amount(part: dict[str, Any]) -> str:
    """Rows and, for trade, value of a part: ``5 rows worth 4,258 USD``."""
    rows = f"{part['rows']:,} rows"
    value = part.get("value_usd")
    return rows if value is None else f"{rows} worth {value:,.0f} USD"


def _expired(
    retired: list[dict[str, Any]], generation: int, now: dt.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(to delete, to keep) among replaced files, as of the commit of ``generation``.

    A file replaced by generation G is kept through commits G+1 (the next) and later until
    one is at least two generations later and ``KEEP_REPLACED_SECONDS`` after the replacement,
    so that a reader still on generation G-1 can finish while G and G+1 commit.
    """
    expired: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for entry in retired:
        try:
            age = (now - dt.datetime.fromisoformat(entry["replaced"])).total_seconds()
        except ValueError:
            age = 0.0  # an unreadable time keeps the file
        old_enough = generation - entry["generation"] >= 2 and age >= KEEP_REPLACED_SECONDS
        (expired if old_enough else kept).append(entry)
    return expired, kept


def _check_duplicates_across_parts(
    con: duckdb.DuckDBPyConnection, staging: Path, staged: list[dict[str, Any]]
) -> None:
    """Refuse flows that two input files of one ingest both contain (same key and slice)."""
    from chokepoints import schema

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
    from chokepoints import schema

    missing = [f.name for f in schema.TRADE if f.name not in relation.columns]
    if missing:
        raise ChokepointsError(f"{origin}: source produced no column(s) {', '.join(missing)}")


def _profile(con: duckdb.DuckDBPyConnection, scan: str) -> list[dict[str, Any]]:
    """Per (classification, year): rows, value, and counts of rows that break a rule.

    Together with ``_distinct_codes`` this lets valid data pass with two cheap scans; the
    detailed per-rule queries of ``_validate_trade`` run only when they find a problem.
    """
    from chokepoints import schema

    required = [f.name for f in schema.TRADE if not f.nullable]
    result = con.execute(
        f"""
        SELECT classification, year, count(*) AS rows, fsum(value_usd) AS value_usd,
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


def _coverage(con: duckdb.DuckDBPyConnection, scan: str) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (classification, year) of the rows of ``scan``: who reports and who trades, kept in
    the part's record so that ``data info`` and the choice of a dataset read no data file.

    ``reporters``, ``importers`` and ``exporters`` count distinct countries (the reporter of a
    row is its exporter on exporter-side rows, else its importer); ``reconciled`` tells whether
    any row is reconciled (world) data. ``country_coverage`` holds, per product level (``"6"``),
    each country's reported ``[imports, exports]`` in USD as
    ``analysis.concentration.country_coverage`` counts them: positive flows between two
    countries, imports on importer-side or reconciled rows, exports on exporter-side or
    reconciled rows. Sums add up over parts; distinct counts do not.
    """
    found: dict[tuple[str, int], dict[str, Any]] = {
        (classification, int(year)): {**counts, "country_coverage": {}}
        for (classification, year), counts in coverage_counts(
            con, scan, ("classification", "year")
        ).items()
    }
    countries = con.execute(
        f"""
        WITH flows AS (
            SELECT * FROM {scan} WHERE value_usd > 0 AND exporter <> importer
        ), sides AS (
            SELECT classification, year, level, importer AS country,
                   CASE WHEN reporter_side IN ('importer', 'reconciled') THEN value_usd
                        ELSE 0.0 END AS imports_usd,
                   0.0 AS exports_usd
            FROM flows
            UNION ALL
            SELECT classification, year, level, exporter AS country, 0.0 AS imports_usd,
                   CASE WHEN reporter_side IN ('exporter', 'reconciled') THEN value_usd
                        ELSE 0.0 END AS exports_usd
            FROM flows
        )
        SELECT classification, year, level, country, fsum(imports_usd), fsum(exports_usd)
        FROM sides GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    for classification, year, level, country, imports, exports in countries:
        levels = found[(classification, int(year))]["country_coverage"]
        levels.setdefault(str(level), {})[country] = [float(imports), float(exports)]
    return found


def coverage_counts(
    con: duckdb.DuckDBPyConnection, scan: str, keys: Sequence[str]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Per value of ``keys`` in the rows of ``scan``: distinct ``reporters`` (a row's exporter
    on exporter-side rows, else its importer), ``importers`` and ``exporters``, and whether any
    row is ``reconciled`` (world) data."""
    rows = con.execute(
        f"""
        SELECT {", ".join(keys)},
               count(DISTINCT CASE WHEN reporter_side = 'exporter' THEN exporter
                                   ELSE importer END) AS reporters,
               count(DISTINCT importer) AS importers,
               count(DISTINCT exporter) AS exporters,
               bool_or(reporter_side = 'reconciled') AS reconciled
        FROM {scan} GROUP BY ALL
        """
    ).fetchall()
    width = len(keys)
    return {
        tuple(row[:width]): {
            "reporters": int(row[width]),
            "importers": int(row[width + 1]),
            "exporters": int(row[width + 2]),
            "reconciled": bool(row[width + 3]),
        }
        for row in rows
    }


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
    from chokepoints import schema

    constant = len(groups) == 1 and len(groups[0]["sides"]) == 1
    key = "exporter, importer, product" if constant else ", ".join(schema.TRADE_KEY)
    hashes = con.sql(f"SELECT hash({key}) AS h FROM {scan}").fetchnumpy()["h"]
    hashes.sort()
    return bool((hashes[1:] == hashes[:-1]).any())


def _looks_valid(groups: list[dict[str, Any]], codes: dict[str, Any]) -> bool:
    """True when the profile and the distinct codes show no broken rule."""
    from chokepoints import schema

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
    from chokepoints import schema

    counts = _one(
        con.execute(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {c.condition})" for c in _trade_checks())
            + f" FROM {scan}"
        ).fetchone()
    )
    for check, count in zip(_trade_checks(), counts, strict=True):
        if count:
            example = con.execute(f"SELECT * FROM {scan} WHERE {check.condition} LIMIT 1")
            names = [d[0] for d in example.description]
            row = dict(zip(names, _one(example.fetchone()), strict=True))
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
        n_keys = _scalar(
            con, f"SELECT count(*) FROM (SELECT {key} FROM {scan} GROUP BY ALL HAVING count(*) > 1)"
        )
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


def _lock_timeout() -> float:
    """Seconds to wait for another writer: ``CHOKEPOINTS_LOCK_TIMEOUT``, default 30."""
    text = os.environ.get("CHOKEPOINTS_LOCK_TIMEOUT", "30")
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise StoreError(
            f"CHOKEPOINTS_LOCK_TIMEOUT={text!r} is not a number of seconds; set it to e.g. 30"
        )
    return seconds


def _one(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The row of a query that always returns one (an aggregate)."""
    if row is None:
        raise RuntimeError("an aggregate query returned no row")
    return row


def _scalar(con: duckdb.DuckDBPyConnection, query: str, parameters: list[Any] | None = None) -> Any:
    """The single value of an aggregate query."""
    return _one(con.execute(query, parameters or []).fetchone())[0]
