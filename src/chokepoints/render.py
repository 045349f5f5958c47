"""Writing result frames: rich tables for people, CSV/JSON/Parquet for programs.

Tables show shares as percentages and money with thousands separators; files keep the raw
numbers and documented snake_case column names. Provenance goes with every file format that
can carry it (Parquet schema metadata) and to stderr otherwise.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from chokepoints.errors import ChokepointsError


class OutputFormat(StrEnum):
    """How tabular results are written."""

    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


#: Column name endings that hold a share (0-1), shown as a percentage in tables.
SHARE_SUFFIXES = ("_share", "share_of_exports")


def render(
    frame: pd.DataFrame,
    fmt: OutputFormat,
    *,
    title: str | None = None,
    output: Path | None = None,
    console: Console | None = None,
) -> None:
    """Write ``frame`` as a table (terminal), CSV, JSON records or Parquet (to ``output``)."""
    if fmt is OutputFormat.parquet:
        if output is None:
            raise ChokepointsError("--format parquet needs --output FILE.parquet")
        _write_parquet(frame, output)
        return
    if fmt in (OutputFormat.csv, OutputFormat.json):
        text = (
            frame.to_csv(index=False)
            if fmt is OutputFormat.csv
            else frame.to_json(orient="records", indent=1, force_ascii=False) + "\n"
        )
        if output is None:
            sys.stdout.write(text)
        else:
            _write_text(output, text)
        return
    table = rich_table(frame, title=title, width=(console or Console()).width)
    (console or Console()).print(table)


def rich_table(frame: pd.DataFrame, *, title: str | None = None, width: int = 100) -> Table:
    """A rich Table of ``frame``: numbers right-aligned, codes whole, long text cut to fit."""
    table = Table(title=title, header_style="bold", show_lines=False)
    cells = [
        [_cell(v, str(c)) for v, c in zip(row, frame.columns, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    widths = [
        max([len(str(column)), *(len(row[n]) for row in cells)])
        for n, column in enumerate(frame.columns)
    ]
    numeric = [
        pd.api.types.is_numeric_dtype(frame[c]) and frame[c].dtype != bool for c in frame.columns
    ]
    short = [numeric[n] or widths[n] <= 12 for n in range(len(widths))]
    texts = short.count(False)
    room = table_width(width) - sum(w for w, s in zip(widths, short, strict=True) if s)
    room -= 3 * len(widths) + 1
    text_width = max(10, min(40, room // texts)) if texts else None
    for number, column in enumerate(frame.columns):
        table.add_column(
            str(column),
            justify="right" if numeric[number] else "left",
            no_wrap=True,
            overflow="ellipsis",
            min_width=widths[number] if short[number] else None,
            max_width=None if short[number] else text_width,
        )
    for row in cells:
        table.add_row(*row)
    return table


def table_width(width: int) -> int:
    """The width tables may use on a terminal of ``width`` columns."""
    return max(width, 60)


def _cell(value: Any, column: str = "") -> str:
    """One value for the terminal: shares in %, thousands separators, 4 significant digits."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and (column.endswith(SHARE_SUFFIXES) or column.startswith("share")):
        return f"{value:.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
    return str(value)


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file (never a half-written file)."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ChokepointsError(f"cannot write {path}: {exc.strerror}") from exc


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as Parquet with its provenance in the schema metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    provenance = json.dumps(frame.attrs.get("provenance", {}), default=str)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"chokepoints.provenance": provenance.encode()}
    )
    temporary = path.with_name(path.name + ".tmp")
    try:
        pq.write_table(table, temporary)
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ChokepointsError(f"cannot write {path}: {exc.strerror}") from exc
