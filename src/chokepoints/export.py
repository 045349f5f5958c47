"""Result files: CSV, JSON, Parquet and Excel, each written whole or not at all.

Pure I/O: frames in, files out. A result of several tables (``compare``, ``diversify JPN 850511``,
``product``) goes to one Excel workbook with a sheet per table, to one JSON object keyed by table,
or to one CSV or Parquet file per table named ``STEM.<table>.csv``. Files keep the documented
snake_case column names and raw numbers (USD, shares 0-1); provenance travels in the Parquet
schema metadata, in the workbook's ``provenance`` sheet and in the JSON object of multi-table
results. Every file is written to a new temporary file beside it and renamed into place, so a
failed write leaves no partial file; several files are all renamed only once every one is written.
Only regular files are replaced: a folder, device, named pipe or socket at the target is refused,
since renaming over it would replace the node itself (as root, a system device such as /dev/null).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoints.errors import ChokepointsError
from chokepoints.inputs import node_kind

if TYPE_CHECKING:
    import pandas as pd

#: Excel's limits: 1,048,576 rows (one is the header), 16,384 columns, 31-character sheet names.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
SHEET_NAME_LENGTH = 31
#: Characters Excel forbids in sheet names.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: Number formats of the workbook: money in whole USD with separators, shares as percentages.
MONEY_FORMAT = "#,##0"
SHARE_FORMAT = "0.0%"
#: Column name endings that hold a share (0-1) and those that hold US dollars.
SHARE_SUFFIXES = ("_share", "share_of_exports")
MONEY_SUFFIXES = ("_usd",)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) through a temporary file."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file (a regular file or a new path only)."""
    _write_atomically([(path, lambda temporary: temporary.write_bytes(data))])


def write_parquet(frame: pd.DataFrame, path: Path, provenance: Mapping[str, Any]) -> None:
    """Write ``frame`` as Parquet with ``provenance`` in the schema metadata."""
    _write_atomically([(path, _parquet_writer(frame, provenance))])


def write_xlsx(
    tables: Mapping[str, pd.DataFrame], path: Path, provenance: Mapping[str, Any]
) -> None:
    """Write one Excel workbook: a sheet per table (in order), then a ``provenance`` sheet.

    Sheet names are the table names cut to Excel's 31 characters; cells keep raw values
    (openpyxl stores 16 significant digits), with money and share columns formatted for reading.
    """
    names = sheet_names([*tables, "provenance"])
    sheets = dict(zip(names, [*tables.values(), provenance_frame(provenance)], strict=True))
    for name, frame in sheets.items():
        if len(frame) + 1 > EXCEL_MAX_ROWS or len(frame.columns) > EXCEL_MAX_COLUMNS:
            raise ChokepointsError(
                f"table {name} has {len(frame):,} rows and {len(frame.columns):,} columns, more "
                f"than an Excel sheet holds ({EXCEL_MAX_ROWS - 1:,} rows, {EXCEL_MAX_COLUMNS:,} "
                "columns); use --format parquet or csv"
            )
    _write_atomically([(path, lambda temporary: _save_workbook(sheets, temporary))])


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    fmt: str,
    output: Path | None,
    provenance: Mapping[str, Any],
) -> list[tuple[Path, int]]:
    """Write a result of several tables; return (path, rows) of every file written.

    ``xlsx`` writes one workbook, ``json`` one object ``{table: records, ..., "provenance": {}}``
    (to stdout when ``output`` is None, and then nothing is listed), ``csv`` and ``parquet`` one
    file per table, ``STEM.<table>.SUFFIX`` beside ``output``.
    """
    rows = sum(len(frame) for frame in tables.values())
    if fmt == "json":
        payload: dict[str, Any] = {
            name: json.loads(frame.to_json(orient="records", double_precision=15))
            for name, frame in tables.items()
        }
        payload["provenance"] = dict(provenance)
        text = json.dumps(payload, indent=1, default=str) + "\n"
        if output is None:
            sys.stdout.write(text)
            return []
        write_text(output, text)
        return [(output, rows)]
    if output is None:
        needed = output_needed(fmt, list(tables))
        raise ChokepointsError(needed or f"--format {fmt} needs --output FILE.{fmt}")
    if fmt == "xlsx":
        write_xlsx(tables, output, provenance)
        return [(output, rows)]
    if fmt not in ("csv", "parquet"):
        raise ChokepointsError(f"unknown format {fmt!r}; use table, csv, json, parquet or xlsx")
    paths = table_paths(output, list(tables), f".{fmt}")
    writers: list[tuple[Path, Callable[[Path], Any]]] = [
        (
            path,
            _csv_writer(frame) if fmt == "csv" else _parquet_writer(frame, provenance),
        )
        for path, frame in zip(paths, tables.values(), strict=True)
    ]
    _write_atomically(writers)
    return [(path, len(frame)) for path, frame in zip(paths, tables.values(), strict=True)]


def table_paths(output: Path, names: list[str], default_suffix: str) -> list[Path]:
    """``out/jd.csv`` and [shared, joint] -> ``out/jd.shared.csv``, ``out/jd.joint.csv``."""
    suffix = output.suffix or default_suffix
    return [output.with_name(f"{output.stem}.{name}{suffix}") for name in names]


def sheet_names(names: list[str]) -> list[str]:
    """Valid, distinct Excel sheet names: forbidden characters replaced, at most 31 characters."""
    chosen: list[str] = []
    for name in names:
        base = _SHEET_FORBIDDEN.sub("_", name).strip("'") or "sheet"
        candidate, number = base[:SHEET_NAME_LENGTH], 1
        while candidate.lower() in {c.lower() for c in chosen}:
            number += 1
            tail = f"_{number}"
            candidate = base[: SHEET_NAME_LENGTH - len(tail)] + tail
        chosen.append(candidate)
    return chosen


def provenance_frame(provenance: Mapping[str, Any]) -> pd.DataFrame:
    """Provenance as key/value rows; lists and dicts become JSON text."""
    import pandas as pd

    rows = [
        (
            str(key),
            json.dumps(value, default=str)
            if isinstance(value, list | tuple | dict | set)
            else value,
        )
        for key, value in provenance.items()
    ]
    return pd.DataFrame(rows, columns=["key", "value"], dtype=object)


def output_needed(fmt: str, tables: Sequence[str] = ()) -> str | None:
    """Why a result in ``fmt`` needs ``--output``, or None: Parquet and xlsx are files, and so is
    CSV of a result of several ``tables`` (one file per table)."""
    if fmt in ("table", "json") or (fmt == "csv" and len(tables) < 2):
        return None
    if len(tables) < 2:
        return f"--format {fmt} needs --output FILE.{fmt}"
    each = ", ".join(f"FILE.{name}.{fmt}" for name in tables)
    what = "one workbook" if fmt == "xlsx" else f"one file per table ({each})"
    return (
        f"--format {fmt} needs --output FILE.{fmt}: this result has {len(tables)} tables, "
        f"written as {what}"
    )


def check_target(path: Path) -> None:
    """Refuse an output ``path`` in a folder that does not exist, or that exists and is not a
    regular file, in one sentence.

    Writes rename a new file over the target: over a device node, named pipe or socket that
    would replace the node itself, and over a folder it cannot work, so both are refused first.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise ChokepointsError(
                f"cannot write {path}: there is no folder {path.parent}; create it or give "
                "another path"
            ) from None
        return
    except OSError as exc:
        raise ChokepointsError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise ChokepointsError(f"cannot write {path}: it is a folder; give a file")
    if not stat.S_ISREG(mode):
        raise ChokepointsError(
            f"cannot write {path}: it is {node_kind(mode)}, not a regular file; give the path "
            "of a file (to discard a result, leave out --output and redirect the output)"
        )


# -- internals -------------------------------------------------------------------------------
def _temporary_beside(path: Path) -> Path:
    """Create a new, empty regular file ``.NAME.<random>.tmp`` beside ``path`` and return it.

    Created exclusively (never an existing node followed), with the permissions a new file gets.
    """
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temporary


def _write_atomically(writers: list[tuple[Path, Callable[[Path], Any]]]) -> None:
    """Write every file to a new temporary file first, then rename them all into place.

    Targets that exist must be regular files (:func:`check_target`), checked before writing and
    again before renaming. On any error the temporary files are removed and one
    ChokepointsError names the file.
    """
    for path, _ in writers:
        check_target(path)
    temporaries: list[tuple[Path, Path]] = []
    current = writers[0][0]
    try:
        for path, write in writers:
            current = path
            temporary = _temporary_beside(path)
            temporaries.append((path, temporary))
            write(temporary)
        for path, temporary in temporaries:
            current = path
            check_target(path)
            temporary.replace(path)
    except BaseException as exc:
        for _, temporary in temporaries:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            raise ChokepointsError(f"cannot write {current}: {reason}") from exc
        raise


def csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with list-like cells as JSON text, as in the workbooks (not Python's repr)."""
    import numpy as np

    listed = [
        c
        for c in frame.columns
        if frame[c].dtype == object
        and frame[c].map(lambda v: isinstance(v, list | tuple | set | dict | np.ndarray)).any()
    ]
    if not listed:
        return frame
    return frame.assign(**{c: frame[c].map(_excel_value) for c in listed})


def _csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(temporary: Path) -> None:
        csv_ready(frame).to_csv(temporary, index=False, encoding="utf-8")

    return write


def _parquet_writer(frame: pd.DataFrame, provenance: Mapping[str, Any]) -> Callable[[Path], None]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    text = json.dumps(dict(provenance), default=str)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"chokepoints.provenance": text.encode()}
    )

    def write(temporary: Path) -> None:
        pq.write_table(table, temporary)

    return write


def _save_workbook(sheets: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Write ``sheets`` as a workbook at ``path``, opened first so a bad folder fails cleanly."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    try:
        with path.open("wb") as handle:
            _fill_workbook(book, sheets)
            book.save(handle)
    finally:
        # After a failure, finish the sheets' row streams now: left to the garbage collector
        # they print "Exception ignored" tracebacks under the one-sentence error.
        for sheet in book.worksheets:
            if not sheet.closed:
                with contextlib.suppress(Exception):
                    sheet.close()


def _fill_workbook(book: Any, sheets: Mapping[str, pd.DataFrame]) -> None:
    """Stream ``sheets`` into the write-only ``book``: bold frozen header, sized columns."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name)
        sheet.freeze_panes = "A2"
        columns = [str(c) for c in frame.columns]
        formats = [_number_format(c, frame[c]) for c in frame.columns]
        for number, width in enumerate(_column_widths(frame), start=1):
            sheet.column_dimensions[get_column_letter(number)].width = width
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=column)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in frame.itertuples(index=False, name=None):
            cells = []
            for value, number_format in zip(row, formats, strict=True):
                value = _excel_value(value)
                if isinstance(value, str) and value.startswith("="):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"  # text that looks like a formula stays text
                    cells.append(cell)
                elif number_format and value is not None:
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = number_format
                    cells.append(cell)
                else:
                    cells.append(value)
            sheet.append(cells)


def _excel_value(value: Any) -> Any:
    """A value Excel can hold: None for missing, plain Python numbers, JSON text for lists."""
    import numpy as np
    import pandas as pd
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
        return value.isoformat()  # Excel has no time zones
    if isinstance(value, dt.date | dt.time):
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple | dict | set):
        return json.dumps(list(value) if isinstance(value, set) else value, default=str)
    return str(value)


def _number_format(column: Any, values: pd.Series) -> str | None:
    """Excel number format of a column: money with separators, shares in percent."""
    import pandas as pd

    name = str(column)
    if not pd.api.types.is_float_dtype(values):
        return None
    if name.endswith(MONEY_SUFFIXES) or name == "upper_bound":
        return MONEY_FORMAT
    if name.endswith(SHARE_SUFFIXES) or name.startswith("share"):
        return SHARE_FORMAT
    return None


def _column_widths(frame: pd.DataFrame, sample: int = 200) -> list[float]:
    """Column widths from the header and the first ``sample`` values, between 8 and 60."""
    head = frame.head(sample)
    widths = []
    for column in frame.columns:
        longest = max([len(str(column)), *(len(str(v)) for v in head[column].tolist())])
        widths.append(float(min(max(longest + 2, 8), 60)))
    return widths
