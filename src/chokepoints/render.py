"""Writing result frames: rich tables for people, CSV/JSON/Parquet/Excel for programs.

Tables show shares as percentages and money in millions of USD under short headers; files keep
the raw numbers (USD) and the documented snake_case column names. Provenance goes with every
file format that can carry it (Parquet schema metadata, the Excel ``provenance`` sheet) and to
stderr otherwise. The files themselves are written by :mod:`chokepoints.export`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from chokepoints.errors import ChokepointsError
from chokepoints.export import (
    SHARE_SUFFIXES,
    csv_ready,
    write_parquet,
    write_tables,
    write_text,
    write_xlsx,
)


class OutputFormat(StrEnum):
    """How tabular results are written."""

    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"
    xlsx = "xlsx"


def terminal_console(*, stderr: bool = False) -> Console:
    """A rich Console for stdout (or stderr) that degrades to plain text.

    Rich already drops colours and styles when the stream is not a terminal (piped, redirected)
    and on ``TERM=dumb``; with ``NO_COLOR`` set (https://no-color.org) it would still print bold
    and dim, so there no styles are printed at all.
    """
    plain = os.environ.get("NO_COLOR", "") != ""
    return Console(stderr=stderr, no_color=plain or None, color_system=None if plain else "auto")


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
    "hhi_before": "HHI before",
    "hhi_after": "HHI after",
    "hhi_wgi_before": "HHI-WGI before",
    "hhi_wgi_after": "HHI-WGI after",
    "replaced_share": "replaced",
    "exporter_share": "our share",
    "wgi_scaled": "WGI risk",
    "rca": "RCA",
    "is_best": "best",
    "best_partner": "best partner",
    "best_hhi": "best HHI",
    "hhi_gap": "HHI gap",
    "supplier_1": "supplier 1",
    "share_1": "share 1",
    "supplier_2": "supplier 2",
    "share_2": "share 2",
    "supplier_3": "supplier 3",
    "share_3": "share 3",
    "top_suppliers": "top suppliers",
    "coverage_ratio": "coverage",
    "world_export_value_usd": "world exports $m",
    "n_exporters": "exporters",
    "top_exporter": "top exporter",
    "top_exporter_share": "top share",
    "years_met": "years met",
    "years_observed": "years seen",
    "direct_share": "direct",
    "effective_share": "effective",
    "effective_top_origin": "origin (looked through)",
    "effective_top_share": "its share",
    "reported_share": "reported",
    "corrected_share": "corrected",
    "share": "share",
}


# -- columns shown in terminal tables and the report's table views (files get every column) ----
DEPS_TABLE = [
    "product",
    "description",
    "import_value_usd",
    "n_suppliers",
    "hhi",
    "top_supplier",
    "top_supplier_share",
    "world_export_hhi",
    "import_export_ratio",
    "dependent",
]
EXPORTS_TABLE = [
    "product",
    "description",
    "export_value_usd",
    "n_markets",
    "market_hhi",
    "top_market",
    "top_market_share",
    "share_of_exports",
    "dependent",
]
STRESS_TABLE = [
    "importer",
    "sector",
    "supplier",
    "sector_imports_usd",
    "lost_value_usd",
    "lost_share",
    "redirectable_value_usd",
    "shortfall_value_usd",
    "shortfall_share",
    "rank",
]
BATCH_TABLE = [
    "product",
    "description",
    "imports_usd",
    "feasible",
    "hhi_before",
    "hhi_after",
    "replaced_share",
]


def render(
    frame: pd.DataFrame,
    fmt: OutputFormat,
    *,
    title: str | None = None,
    output: Path | None = None,
    console: Console | None = None,
    sheet: str = "result",
) -> None:
    """Write ``frame`` as a table (terminal), CSV, JSON records, Parquet or Excel (``output``).

    Excel gets one sheet named ``sheet`` and a ``provenance`` sheet.
    """
    provenance = frame.attrs.get("provenance", {})
    if fmt in (OutputFormat.parquet, OutputFormat.xlsx):
        if output is None:
            raise ChokepointsError(f"--format {fmt} needs --output FILE.{fmt}")
        if fmt is OutputFormat.parquet:
            write_parquet(frame, output, provenance)
        else:
            write_xlsx({sheet: frame}, output, provenance)
        return
    if fmt in (OutputFormat.csv, OutputFormat.json):
        text = (
            csv_ready(frame).to_csv(index=False)
            if fmt is OutputFormat.csv
            else frame.to_json(orient="records", indent=1, force_ascii=False, double_precision=15)
            + "\n"
        )
        if output is None:
            sys.stdout.write(text)
        else:
            write_text(output, text)
        return
    console = console or terminal_console()
    console.print(rich_table(frame, title=title, width=console.width))


def render_tables(
    tables: Mapping[str, pd.DataFrame],
    fmt: OutputFormat,
    *,
    output: Path | None,
    provenance: Mapping[str, Any],
) -> list[tuple[Path, int]]:
    """Write a result of several tables to files (or JSON to stdout); return (path, rows).

    One workbook for ``xlsx``, one JSON object for ``json``, ``STEM.<table>.csv`` (or
    ``.parquet``) per table otherwise; see :func:`chokepoints.export.write_tables`.
    """
    if fmt is OutputFormat.table:
        raise ValueError("render_tables writes files; print tables with render()")
    return write_tables(tables, str(fmt), output, provenance)


def rich_table(frame: pd.DataFrame, *, title: str | None = None, width: int = 100) -> Table:
    """A rich Table of ``frame``: numbers right-aligned, codes whole, long text cut to fit.

    Titles, headers and cells are plain Text, never markup: a value such as ``[/x]`` in a
    product description or an SQL result prints as it is instead of breaking the table.
    """
    table = Table(title=Text(title) if title else None, header_style="bold", show_lines=False)
    cells = [
        [cell_text(v, str(c)) for v, c in zip(row, frame.columns, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    headers = [column_label(str(c)) for c in frame.columns]
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
            Text(headers[number]),
            justify="right" if numeric[number] else "left",
            no_wrap=True,
            overflow="ellipsis",
            min_width=widths[number] if short[number] else None,
            max_width=None if short[number] else text_width,
        )
    for row in cells:
        table.add_row(*(Text(row[n]) for n in keep))
    return table


def column_label(column: str) -> str:
    """The short header of a column; money columns say they are in USD millions."""
    if column in LABELS:
        return LABELS[column]
    if column.endswith("_usd"):
        return column.removesuffix("_usd").replace("_", " ") + " $m"
    return column


def table_width(width: int) -> int:
    """The width tables may use on a terminal of ``width`` columns."""
    return max(width, 60)


def cell_text(value: Any, column: str = "") -> str:
    """One value for the terminal: shares in %, thousands separators, 4 significant digits."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple) or (hasattr(value, "__len__") and hasattr(value, "tolist")):
        return "; ".join(str(item) for item in list(value))
    if isinstance(value, float) and (column.endswith("_usd") or column == "upper_bound"):
        return f"{value / 1e6:,.1f}"
    if isinstance(value, float) and (column.endswith(SHARE_SUFFIXES) or column.startswith("share")):
        return f"{value:.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
    return str(value)
