"""What a source hands to the store: an Extract of lazily built canonical tables.

A source parses its own format and describes the result as DuckDB relations in the canonical
schema (``schema.TRADE`` or ``schema.PRODUCTS``), so that the store can stream them to Parquet
without a round trip through Python. The store validates, partitions and commits them
atomically; the source only knows its format.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoints.errors import InputError

if TYPE_CHECKING:
    import duckdb

#: Builds a relation on the store's DuckDB connection.
RelationBuilder = Callable[["duckdb.DuckDBPyConnection"], "duckdb.DuckDBPyRelation"]

#: Checks a source's own rules on the staged rows: (connection, SQL scan expression) -> None.
Verifier = Callable[["duckdb.DuckDBPyConnection", str], None]

#: Yields (line number, row in canonical columns) of the raw file, in file order. Used only on
#: the error path, to point the user at the first offending line.
RowReader = Callable[[], Iterator[tuple[int, dict[str, Any]]]]

#: The first plausible data year: 1948, the year of the GATT and of the first trade statistics
#: kept on today's lines. A year outside ``FIRST_YEAR..last_year()`` is a typing or parsing error.
FIRST_YEAR = 1948

#: The largest single trade value accepted, in USD. 10^15 is about forty times the world's yearly
#: goods trade, so a larger value is a unit or parsing error; it also keeps every sum finite,
#: which the manifest (JSON, where infinity does not exist) needs.
MAX_VALUE_USD = 1e15


#: Hashes input files in the background while DuckDB reads them (hashlib releases the GIL).
_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chokepoints-sha256")


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class SourceFile:
    """One input file as received: its name, size and checksum, for the manifest."""

    name: str
    bytes: int
    _digest: Future[str]

    @classmethod
    def of(cls, path: Path | str, name: str | None = None) -> SourceFile:
        """Describe ``path``; its checksum is computed in the background until first asked for."""
        path = Path(path)
        return cls(
            name=name or path.name, bytes=path.stat().st_size, _digest=_HASHER.submit(_sha256, path)
        )

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file (waits for the background hash)."""
        return self._digest.result()

    def record(self) -> dict[str, Any]:
        """The manifest entry for this file."""
        return {"name": self.name, "bytes": self.bytes, "sha256": self.sha256}


@dataclass
class TradePart:
    """Trade rows from one input file (or zip member), in the canonical ``TRADE`` schema.

    ``slice`` names the part of the world the rows cover, so that re-ingesting the same slice
    replaces it and other slices of the same source, classification and year stay: ``all`` for
    a world dataset such as BACI, a reporter and flow for a Comtrade extract.
    """

    origin: str
    build: RelationBuilder
    slice: str = "all"
    rows: RowReader | None = None
    verify: Verifier | None = None
    #: The file's own name for each canonical column, so that errors speak the file's language.
    fields: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Make ``verify`` check plausible years and values first, whatever the source."""
        own = self.verify

        def verify(con: duckdb.DuckDBPyConnection, scan: str) -> None:
            check_plausible(con, scan, self)
            if own is not None:
                own(con, scan)

        self.verify = verify


@dataclass
class Extract:
    """Everything one ingest adds to the store."""

    source: str
    release: str
    files: list[SourceFile]
    trade: list[TradePart]
    #: Companion tables by name (``schema.COMPANION_TABLES``): products, governance, production.
    tables: dict[str, RelationBuilder] = field(default_factory=dict)
    demo: bool = False
    notes: list[str] = field(default_factory=list)
    #: Called once the store is done with the extract (temporary files of the source).
    cleanup: Callable[[], None] | None = None
    #: Called once the store has committed the extract: work kept until then so that a failed
    #: or refused ingest can be run again without redoing it (an API fetch's answers).
    committed: Callable[[], None] | None = None


def sql_path(path: Path) -> str:
    """A file path quoted for use inside a DuckDB string literal."""
    return str(path).replace("'", "''")


def unterminated_line(path: Path) -> int | None:
    """Number of a file's last line when the file ends without a newline, else None.

    A download or copy cut short ends in the middle of a line; only the last byte is read to
    tell, and lines are counted only then. A file of a single line (empty, or a header alone)
    gives None so that its own checks speak. A file cut exactly at a line end cannot be told.
    """
    with path.open("rb") as handle:
        if handle.seek(0, os.SEEK_END) == 0:
            return None
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return None
        handle.seek(0)
        newlines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    return newlines + 1 if newlines else None


def refuse_non_utf8(path: Path) -> None:
    """Raise InputError naming the real line of the first byte that is not UTF-8 text.

    Read in binary blocks with an incremental decoder, so a file of several GB costs one pass
    and only when a reader has already failed on it.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                line = newlines + block.count(b"\n", 0, exc.start) + 1
                raise InputError(
                    f"byte 0x{block[exc.start]:02x} is not UTF-8 text (Latin-1 or Windows "
                    "encoding?)",
                    file=path.name,
                    line=line,
                    hint="save the file as UTF-8, or download it again",
                ) from None
            newlines += block.count(b"\n")


def refuse_truncated(path: Path) -> None:
    """Raise InputError when a CSV on disk ends mid-line, so a cut last row is never stored."""
    line = unterminated_line(path)
    if line is not None:
        raise InputError(
            "the file ends inside this line, with no newline after it, so it was cut short",
            file=path.name,
            line=line,
            hint="download or export the file again",
        )


def last_year() -> int:
    """The latest plausible data year: next year, since releases are sometimes dated ahead."""
    return dt.date.today().year + 1


def plausible_year(year: int) -> bool:
    """Whether ``year`` lies in ``FIRST_YEAR..last_year()``."""
    return FIRST_YEAR <= year <= last_year()


def year_range() -> str:
    """The plausible years as text for messages, e.g. ``1948-2027``."""
    return f"{FIRST_YEAR}-{last_year()}"


def check_plausible(con: duckdb.DuckDBPyConnection, scan: str, part: TradePart) -> None:
    """Refuse staged rows with a year outside ``year_range()`` or a value above MAX_VALUE_USD.

    One scan of two columns; the raw rows are read again only to name the first bad line.
    """
    years, first_year, values, first_value = con.execute(
        f"""SELECT count(*) FILTER (WHERE year NOT BETWEEN $first AND $last),
                   min(year) FILTER (WHERE year NOT BETWEEN $first AND $last),
                   count(*) FILTER (WHERE value_usd > $max),
                   max(value_usd) FILTER (WHERE value_usd > $max)
            FROM {scan}""",
        {"first": FIRST_YEAR, "last": last_year(), "max": MAX_VALUE_USD},
    ).fetchall()[0]
    if years:
        line, row = first_row(part, lambda row: not plausible_year(row["year"]))
        raise InputError(
            f"year {row['year'] if row else first_year} is outside {year_range()} "
            f"in {years} row(s)",
            file=part.origin,
            line=line,
            field=part.fields.get("year", "year"),
            hint="write four-digit years of the data, e.g. 2022",
        )
    if values:
        line, row = first_row(part, lambda row: row["value_usd"] > MAX_VALUE_USD)
        value = row["value_usd"] if row else first_value
        raise InputError(
            f"value {value:.6g} USD is above {MAX_VALUE_USD:.0e} USD (forty times the world's "
            f"yearly trade) in {values} row(s)",
            file=part.origin,
            line=line,
            field=part.fields.get("value_usd", "value_usd"),
            hint="check the unit of the values (USD or thousands) and the decimal separator",
        )


def first_row(
    part: TradePart, bad: Callable[[dict[str, Any]], bool]
) -> tuple[int | None, dict[str, Any] | None]:
    """(line, row) of the first raw row of ``part`` for which ``bad`` holds, or (None, None)."""
    if part.rows is not None:
        for line, row in part.rows():
            if _known(row) and bad(row):
                return line, row
    return None, None


def _known(row: dict[str, Any]) -> bool:
    """Whether a raw row has the year and a finite value that the plausibility rules read."""
    value = row.get("value_usd")
    return row.get("year") is not None and value is not None and math.isfinite(value)
