"""Answers as HTTP responses: JSON records with the CLI's field names and the provenance, or a
CSV or Parquet download written by the same code as the CLI's files (``export``)."""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.responses import Response

from chokepoints.errors import InputError
from chokepoints.export import csv_ready, write_parquet

if TYPE_CHECKING:
    import pandas as pd

MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as the CLI's ``--format json`` writes them (pandas' records, 15 digits)."""
    text = frame.to_json(orient="records", double_precision=15, force_ascii=False)
    rows: list[dict[str, Any]] = json.loads(text)
    return rows


def plain(value: Any) -> Any:
    """``value`` as strict JSON: NaN and infinities as null, numpy scalars as numbers, tuples
    and sets as lists, anything else unknown as text (the provenance holds all of these)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy scalars and arrays
        return plain(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return str(value)


def json_response(payload: Mapping[str, Any], status: int = 200) -> Response:
    """Strict JSON (no NaN), UTF-8."""
    body = json.dumps(plain(payload), ensure_ascii=False, allow_nan=False)
    return Response(body.encode("utf-8"), status_code=status, media_type=MEDIA["json"])


def table_response(frame: pd.DataFrame, fmt: str, limit: int, filename: str) -> Response:
    """A one-table answer: ``{rows, total, shown, provenance}`` with at most ``limit`` rows, or
    every row (up to ``limit``) as a CSV or Parquet file named ``filename``."""
    provenance = frame.attrs.get("provenance", {})
    shown = frame.head(limit)
    if fmt == "json":
        return json_response(
            {
                "rows": records(shown),
                "total": len(frame),
                "shown": len(shown),
                "provenance": provenance,
            }
        )
    return download(shown, fmt, filename, provenance)


def tables_response(
    tables: Mapping[str, pd.DataFrame],
    provenance: Mapping[str, Any],
    fmt: str,
    table: str | None,
    limit: int,
    filename: str,
) -> Response:
    """A multi-table answer: ``{tables: {name: records}, provenance}``, or one of its tables
    (``table``) as a CSV or Parquet file; each table cut to ``limit`` rows."""
    if fmt == "json":
        return json_response(
            {
                "tables": {name: records(frame.head(limit)) for name, frame in tables.items()},
                "provenance": provenance,
            }
        )
    if table is None or table not in tables:
        given = "no table" if table is None else f"table {table!r}"
        raise InputError(
            f"format {fmt} of this answer needs one of its tables and got {given}",
            field="table",
            hint=f"add &table= one of {', '.join(tables)}",
        )
    return download(tables[table].head(limit), fmt, f"{filename}.{table}", provenance)


def download(
    frame: pd.DataFrame, fmt: str, filename: str, provenance: Mapping[str, Any]
) -> Response:
    """``frame`` as an attachment: CSV as the CLI writes it (``csv_ready``), or Parquet with
    the provenance in its schema metadata (``export.write_parquet``)."""
    if fmt == "csv":
        body = csv_ready(frame).to_csv(index=False).encode("utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="chokepoints-download-") as folder:
            path = Path(folder) / "answer.parquet"
            write_parquet(frame, path, provenance)
            body = path.read_bytes()
    name = f"{safe_name(filename)}.{fmt}"
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def safe_name(text: str) -> str:
    """A file name from validated parts: letters, digits, dots, dashes and underscores only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "answer"
