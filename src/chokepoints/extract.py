"""What a source hands to the store: an Extract of lazily built canonical tables.

A source parses its own format and describes the result as DuckDB relations in the canonical
schema (``schema.TRADE`` or ``schema.PRODUCTS``), so that the store can stream them to Parquet
without a round trip through Python. The store validates, partitions and commits them
atomically; the source only knows its format.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from chokepoints.errors import InputError

#: Builds a relation on the store's DuckDB connection.
RelationBuilder = Callable[[duckdb.DuckDBPyConnection], duckdb.DuckDBPyRelation]

#: Checks a source's own rules on the staged rows: (connection, SQL scan expression) -> None.
Verifier = Callable[[duckdb.DuckDBPyConnection, str], None]

#: Yields (line number, row in canonical columns) of the raw file, in file order. Used only on
#: the error path, to point the user at the first offending line.
RowReader = Callable[[], Iterator[tuple[int, dict[str, Any]]]]


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
