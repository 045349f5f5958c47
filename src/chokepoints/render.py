"""Writing result frames: rich tables for people, CSV/JSON/Parquet for programs.

Tables show shares as percentages and money in millions of USD under short headers; files keep
the raw numbers (USD) and the documented snake_case column names. Provenance goes with every
file format that can carry it (Parquet schema metadata) and to stderr otherwise.
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

#: Short headers for terminal tables (files keep the documented snake_case names).
LABELS = {
    "import_value_usd": "imports $m",
    "export_value_usd": "exports $m",
    "import_quantity_t": "imports t",
    "n_suppliers": "suppliers",
    "n_markets": "markets",
    "top_supplier": "top",
    "top_supplier_share": "top share",
    "top3_share": "top-3 share",
    "top_market": "top market",
    "top_market_share": "top share",
    "world_export_hhi": "world HHI",
    "import_export_ratio": "M/X",
    "market_hhi": "market HHI",
    "share_of_exports": "of exports",
    "hhi": "HHI",
    "hhi_wgi_importer": "HHI-WGI",
    "hhi_wgi_global": "HHI-WGI world",
    "import_reliance": "reliance",
    "supply_risk": "supply risk",
    "imports_usd": "imports $m",
    "from_supplier_usd": "from it $m",
    "supplier_share": "supplier share",
    "n_products": "products",
    "n_products_top_supplier": "top in",
    "n_dependent": "dependent",
    "dependent": "dep.",
    "n_dependent_on_supplier": "dependent on it",
    "mean_hhi": "mean HHI",
    "world_share": "world share",
    "exports_usd": "exports $m",
    "sector_imports_usd": "sector $m",
    "lost_value_usd": "lost $m",
    "lost_quantity_t": "lost t",
    "lost_share": "lost share",
    "redirectable_value_usd": "redirect $m",
    "shortfall_value_usd": "shortfall $m",
    "shortfall_share": "short. share",
    "own_exports_usd": "own exports $m",
    "export_share": "export share",
    "input_supplier_share": "from supplier",
    "face_value_reliance": "face value",
    "look_through_reliance": "look-through",
    "loss_share": "loss share",
    "upper_bound": "upper $m",
    "exporter_partner": "exporter",
    "importer_partner": "importer",
    "coverable_share": "coverable",
    "current_share": "current share",
    "new_share": "new share",
    "shared_products": "shared",
    "complementary_products": "compl.",
    "compared_products": "compared",
    "jointly_covered_products": "joint",
    "shared_imports_usd": "shared $m",
}


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
    headers = [_label(str(c)) for c in frame.columns]
    widths = [
        max([len(headers[n]), *(len(row[n]) for row in cells)]) for n in range(len(frame.columns))
    ]
    numeric = [
        pd.api.types.is_numeric_dtype(frame[c]) and frame[c].dtype != bool for c in frame.columns
    ]
    short = [numeric[n] or widths[n] <= 12 for n in range(len(widths))]
    texts = short.count(False)
    room = table_width(width) - sum(w for w, s in zip(widths, short, strict=True) if s)
    room -= 3 * len(widths) + 1
    # Long text shares what is left; when too little is left it is left out of the table.
    keep = [n for n in range(len(widths)) if short[n] or room // max(texts, 1) >= 8]
    if len(keep) < len(widths):
        room += 3 * (len(widths) - len(keep))
    text_width = min(40, room // texts) if texts else None
    for number in keep:
        table.add_column(
            headers[number],
            justify="right" if numeric[number] else "left",
            no_wrap=True,
            overflow="ellipsis",
            min_width=widths[number] if short[number] else None,
            max_width=None if short[number] else text_width,
        )
    for row in cells:
        table.add_row(*(row[n] for n in keep))
    return table


def _label(column: str) -> str:
    """The short header of a column; money columns say they are in USD millions."""
    if column in LABELS:
        return LABELS[column]
    if column.endswith("_usd"):
        return column.removesuffix("_usd").replace("_", " ") + " $m"
    return column


def table_width(width: int) -> int:
    """The width tables may use on a terminal of ``width`` columns."""
    return max(width, 60)


def _cell(value: Any, column: str = "") -> str:
    """One value for the terminal: shares in %, thousands separators, 4 significant digits."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and (column.endswith("_usd") or column == "upper_bound"):
        return f"{value / 1e6:,.1f}"
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
