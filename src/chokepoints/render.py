"""Writing result frames: rich tables for people, CSV/JSON/Parquet/Excel for programs.

Tables show shares as percentages and money in millions of USD under short headers; files keep
the raw numbers (USD) and the documented snake_case column names. Provenance goes with every
file format that can carry it (Parquet schema metadata, the Excel ``provenance`` sheet) and to
stderr otherwise. The files themselves are written by :mod:`chokepoints.export`.
"""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from chokepoints.errors import ChokepointsError
from chokepoints.export import (
    SHARE_SUFFIXES,
    csv_ready,
    output_needed,
    write_parquet,
    write_tables,
    write_text,
    write_xlsx,
)

if TYPE_CHECKING:
    import pandas as pd


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
    "measure_id": "measure",
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
    "suppliers_after": "suppliers after",
    "new_suppliers": "new suppliers",
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
    "world_hhi": "world HHI",
    "world_top": "world top",
    "world_top_share": "its share",
    "import_hhi": "import HHI",
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
            raise ChokepointsError(str(output_needed(fmt)))
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
    print_table(frame, console, title=title)


def print_table(frame: pd.DataFrame, console: Console, *, title: str | None = None) -> None:
    """``frame`` as a table: fitted to a terminal's width, whole (at natural width) on a pipe,
    a file or a CI log, so that no number is ever cut. ``frame.attrs["total_rows"]`` tells how
    many rows the result had before a ``--limit``."""
    total = frame.attrs.get("total_rows")
    print_fitted(
        lambda width: rich_table(frame, title=title, width=width, total_rows=total), console
    )


def print_fitted(make: Callable[[int | None], Table], console: Console) -> None:
    """The table ``make(width)`` makes, fitted to a terminal (``width`` its columns), whole at
    its natural width (``width`` None) on a pipe, a file or a CI log, its caption below."""
    if console.is_terminal:
        console.print(make(console.width))
        return
    table = make(None)
    note, table.caption = table.caption, None  # on one line below, not wrapped to the table
    narrow = console.width
    console.width = max(narrow, table_width(table, console))  # print() caps at the console's
    try:
        console.print(table, crop=False)
    finally:
        console.width = narrow
    if note is not None:
        console.print(note, soft_wrap=True)


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


#: Where the columns a narrow terminal leaves out can be seen.
WIDER = "a wider terminal or --format csv shows them"
#: Text columns at most this wide are kept whole like numbers; wider ones wrap to fit.
TEXT_MIN = 12
#: Columns left out first when a terminal is too narrow, in this order; columns not listed go
#: after them, from the right. Identifiers (the first column) always stay.
DROP_FIRST = (
    "import_export_ratio", "world_export_hhi", "n_suppliers", "n_markets", "share_of_exports",
    "quantity_t", "import_quantity_t", "lost_quantity_t", "rank", "world_top_share",
    "effective_top_share", "hhi_wgi_global", "scored_share_global", "scored_share_importer",
    "years_observed", "years_met", "description", "paths", "explanation",
)  # fmt: skip


def rich_table(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    width: int | None = 100,
    total_rows: int | None = None,
) -> Table:
    """A rich Table of ``frame`` that never cuts a number: numbers and codes keep their full
    width, long text wraps, and on a terminal of ``width`` columns too narrow for all of them
    the columns of ``DROP_FIRST`` (then the rightmost) are left out and named in the caption.
    ``width=None`` (a pipe or a file) fits every column at its natural width. With
    ``total_rows`` larger than the frame, the caption says how many rows are shown.

    Titles, headers and cells are plain Text, never markup: a value such as ``[/x]`` in a
    product description or an SQL result prints as it is instead of breaking the table.
    """
    import pandas as pd

    cells = [
        [cell_text(v, str(c)) for v, c in zip(row, frame.columns, strict=True)]
        for row in frame.itertuples(index=False)
    ]
    numeric = [
        pd.api.types.is_numeric_dtype(frame[c]) and frame[c].dtype != bool for c in frame.columns
    ]
    return text_table(
        [str(c) for c in frame.columns],
        cells,
        numeric,
        title=title,
        width=width,
        total_rows=total_rows,
        headers=[column_label(str(c)) for c in frame.columns],
    )


def text_table(
    columns: Sequence[str],
    cells: Sequence[Sequence[str]],
    numeric: Sequence[bool],
    *,
    title: str | None = None,
    width: int | None = 100,
    total_rows: int | None = None,
    headers: Sequence[str] | None = None,
    wider: str = WIDER,
) -> Table:
    """:func:`rich_table` of rows already written as text (``numeric`` marks the columns
    aligned right and never cut), for commands that print without pandas (``data info``);
    ``wider`` says where the columns left out for width can be seen."""
    headers = list(headers or columns)
    natural = [max([len(headers[n]), *(len(row[n]) for row in cells)]) for n in range(len(headers))]
    whole = [numeric[n] or natural[n] <= TEXT_MIN for n in range(len(natural))]
    least = [natural[n] if whole[n] else TEXT_MIN for n in range(len(natural))]
    kept = list(range(len(natural)))
    dropped: list[str] = []
    if width is not None:
        order = _drop_order(list(columns))
        while len(kept) > 1 and sum(least[n] for n in kept) + 3 * len(kept) + 1 > width:
            gone = next(n for n in order if n in kept)
            kept.remove(gone)
            dropped.append(headers[gone])
    texts = [n for n in kept if not whole[n]]
    text_width = None
    if texts and width is not None:
        room = width - sum(natural[n] for n in kept if whole[n]) - 3 * len(kept) - 1
        text_width = max(TEXT_MIN, room // len(texts))
    table = Table(
        title=Text(title) if title else None,
        caption=_caption(len(cells), total_rows, dropped, wider),
        header_style="bold",
        show_lines=False,
        box=box.HEAVY_HEAD if width is not None else box.SIMPLE_HEAD,
    )
    for number in kept:
        table.add_column(
            Text(headers[number]),
            justify="right" if numeric[number] else "left",
            no_wrap=whole[number],
            overflow="fold",
            min_width=least[number],
            max_width=None if whole[number] or text_width is None else text_width,
        )
    for row in cells:
        table.add_row(*(Text(row[n]) for n in kept))
    return table


def _drop_order(columns: list[str]) -> list[int]:
    """Positions of ``columns`` in the order they are left out: ``DROP_FIRST``, then from the
    right; never the first column."""
    listed = [columns.index(c) for c in DROP_FIRST if c in columns[1:]]
    rest = [n for n in range(len(columns) - 1, 0, -1) if n not in listed]
    return listed + rest


def _caption(shown: int, total: int | None, dropped: list[str], wider: str) -> Text | None:
    """What the table leaves out: rows past the limit, columns past the width (``wider``
    says where to see them)."""
    parts = []
    if total is not None and total > shown:
        parts.append(f"{shown:,} of {total:,} rows shown (--limit N shows more)")
    if dropped:
        parts.append(f"left out for width: {', '.join(dropped)} ({wider})")
    return Text("; ".join(parts)) if parts else None


def table_width(table: Table, console: Console) -> int:
    """The width ``table`` takes with every column at its natural width."""
    options = console.options.update(width=100_000, max_width=100_000)
    return Measurement.get(console, options, table).maximum


def column_label(column: str) -> str:
    """The short header of a column; money columns say they are in USD millions."""
    if column in LABELS:
        return LABELS[column]
    if column.endswith("_usd"):
        return column.removesuffix("_usd").replace("_", " ") + " $m"
    return column


def cell_text(value: Any, column: str = "") -> str:
    """One value for the terminal: shares in %, thousands separators, 4 significant digits
    (trailing zeros kept); missing values (None, NaN, pandas' NA) print empty."""
    if (
        value is None
        or type(value).__name__ == "NAType"
        or (isinstance(value, float) and value != value)
    ):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple) or (hasattr(value, "__len__") and hasattr(value, "tolist")):
        return "; ".join(str(item) for item in list(value))
    if isinstance(value, float) and (column.endswith("_usd") or column == "upper_bound"):
        return f"{value / 1e6:,.1f}"
    if isinstance(value, float) and (column.endswith(SHARE_SUFFIXES) or column.startswith("share")):
        return f"{value:.1%}"
    if isinstance(value, numbers.Integral) and _is_label(column):
        return str(int(value))
    if isinstance(value, float) and value.is_integer() and _is_label(column):
        return f"{value:.0f}"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, float) and (abs(value) >= 1000 or value.is_integer()):
        return f"{value:,.0f}"
    if isinstance(value, float):
        # Trailing zeros kept ("0.7770", "144.0"): a column of 4-digit numbers lines up, and a
        # ratio of 143.96 does not print as the integer 144; 999.96 rounds to "1,000", no dot.
        return f"{value:#,.4g}".removesuffix(".")
    return str(value)


def _is_label(column: str) -> bool:
    """Whether a column of integers holds years or codes, printed without separators."""
    name = column.casefold()
    return name in ("year", "years", "t", "k", "i", "j", "rank") or name.endswith(
        ("year", "_code", "_id")
    )
