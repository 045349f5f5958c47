"""The ``chokepoints`` command line: parse, call Workspace, render with rich.

User errors (a bad file, an unknown code, a busy store) print one sentence and exit 1 without a
traceback; only bugs show one.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from chokepoints import __version__
from chokepoints.errors import ChokepointsError
from chokepoints.workspace import DEMO_NOTE, Workspace

console = Console()
errors = Console(stderr=True)

app = typer.Typer(
    name="chokepoints",
    help="Find, stress-test and reduce dangerous import dependencies from public trade data.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Ingest, download and inspect trade data.", no_args_is_help=True)
ingest_app = typer.Typer(help="Ingest local files into the store.", no_args_is_help=True)
fetch_app = typer.Typer(help="Download source data, then ingest it.", no_args_is_help=True)
app.add_typer(data_app, name="data")
data_app.add_typer(ingest_app, name="ingest")
data_app.add_typer(fetch_app, name="fetch")

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Workspace folder (default: $CHOKEPOINTS_HOME or the user data folder).",
        envvar="CHOKEPOINTS_HOME",
        show_envvar=True,
    ),
]


class OutputFormat(StrEnum):
    """How tabular results are written."""

    table = "table"
    csv = "csv"
    json = "json"


def _version(value: bool) -> None:
    if value:
        console.print(f"chokepoints {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Economic-security supply-chain analysis on public trade data (BACI, UN Comtrade)."""


# -- progress --------------------------------------------------------------------------------
@contextlib.contextmanager
def _steps(title: str) -> Iterator[Any]:
    """A rich progress bar fed by the store's (description, done, total) callback."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    ) as bar:
        task = bar.add_task(title, total=None)

        def update(description: str, done: int, total: int) -> None:
            bar.update(task, description=f"{title}: {description}", completed=done, total=total)

        yield update


@contextlib.contextmanager
def _download_bar(title: str) -> Iterator[Any]:
    """A rich byte-progress bar for downloads."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    ) as bar:
        task = bar.add_task(title, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


# -- rendering -------------------------------------------------------------------------------
def _render(frame: pd.DataFrame, fmt: OutputFormat, title: str | None = None) -> None:
    """Print a result frame as a rich table, CSV or JSON records."""
    if fmt is OutputFormat.csv:
        sys.stdout.write(frame.to_csv(index=False))
        return
    if fmt is OutputFormat.json:
        sys.stdout.write(frame.to_json(orient="records", indent=1, force_ascii=False) + "\n")
        return
    table = Table(title=title, header_style="bold", show_lines=False)
    cells = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [
        max([len(str(column)), *(len(row[n]) for row in cells)])
        for n, column in enumerate(frame.columns)
    ]
    # Numbers and codes keep their width; long text columns share what is left, cut with "…".
    short = [
        pd.api.types.is_numeric_dtype(frame[c]) or widths[n] <= 12
        for n, c in enumerate(frame.columns)
    ]
    texts = short.count(False)
    room = console.width - sum(w for w, s in zip(widths, short, strict=True) if s)
    room -= 3 * len(widths) + 1
    text_width = max(10, min(40, room // texts)) if texts else None
    for number, column in enumerate(frame.columns):
        table.add_column(
            str(column),
            justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left",
            no_wrap=True,
            overflow="ellipsis",
            min_width=widths[number] if short[number] else None,
            max_width=None if short[number] else text_width,
        )
    for row in cells:
        table.add_row(*row)
    console.print(table)


def _cell(value: Any) -> str:
    """Format one value for the terminal: thousands separators, 4 significant decimals."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
    return str(value)


def _print_record(record: dict[str, Any]) -> None:
    """Summarise one ingest for the terminal."""
    years = record["years"]
    span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
    console.print(
        f"[green]Ingested[/green] {record['source']} {record['release']} "
        f"({', '.join(record['classifications'])}, {span}): {record['rows']:,} flows, "
        f"{record['value_usd'] / 1e9:,.2f} bn USD"
        + (f", replacing {record['replaced']} earlier part(s)" if record["replaced"] else "")
    )
    for note in record["notes"]:
        console.print(f"  [yellow]note:[/yellow] {note}")


def _parse_years(years: str | None) -> list[int] | None:
    """``2019,2021-2023`` -> [2019, 2021, 2022, 2023]."""
    if not years:
        return None
    chosen: set[int] = set()
    for chunk in years.split(","):
        chunk = chunk.strip()
        try:
            if "-" in chunk:
                first, last = (int(x) for x in chunk.split("-", 1))
                chosen.update(range(first, last + 1))
            else:
                chosen.add(int(chunk))
        except ValueError as exc:
            raise ChokepointsError(
                f"--years {years!r}: {chunk!r} is not a year or a range like 2019-2022"
            ) from exc
    return sorted(chosen)


# -- data ------------------------------------------------------------------------------------
@ingest_app.command("baci")
def ingest_baci(
    path: Annotated[Path, typer.Argument(help="BACI zip archive, yearly CSV, or folder of them.")],
    revision: Annotated[
        str | None,
        typer.Option(help="HS revision, e.g. HS92 (read from official file names when present)."),
    ] = None,
    release: Annotated[str | None, typer.Option(help="BACI release, e.g. V202501.")] = None,
    years: Annotated[
        str | None,
        typer.Option(help="Years to ingest, e.g. 2021,2022 or 2019-2022 (archives and folders)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Ingest CEPII BACI bilateral HS6 trade (values stored in USD, quantities in tons)."""
    ws = Workspace.open(home)
    with _steps("BACI") as progress:
        record = ws.ingest_baci(
            path, revision=revision, release=release, years=_parse_years(years), progress=progress
        )
    _print_record(record)


@ingest_app.command("comtrade")
def ingest_comtrade(
    path: Annotated[Path, typer.Argument(help="Comtrade Plus CSV export (TradeData.csv).")],
    release: Annotated[
        str | None, typer.Option(help="Label for this extract, e.g. the download date 2026-06-19.")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Ingest a UN Comtrade Plus CSV export (imports and exports, any HS level)."""
    ws = Workspace.open(home)
    with _steps("Comtrade") as progress:
        record = ws.ingest_comtrade(path, release=release, progress=progress)
    _print_record(record)


@ingest_app.command("table")
def ingest_table(
    path: Annotated[Path, typer.Argument(help="Tidy bilateral CSV or Parquet file.")],
    map_: Annotated[
        str,
        typer.Option(
            "--map",
            help="Column mapping, e.g. exporter=i,importer=j,"
            "product=cmd,value_usd=value[,year=t,quantity_t=q].",
        ),
    ],
    classification: Annotated[str, typer.Option(help="HS92...HS22 or CNyyyy.")],
    source: Annotated[str, typer.Option(help="Name to record as the source.")],
    year: Annotated[int | None, typer.Option(help="Year of all rows, if no year column.")] = None,
    unit: Annotated[str, typer.Option(help="Unit of values: usd or thousands.")] = "usd",
    codes: Annotated[
        str, typer.Option(help="Country codes: auto, iso3, iso2 or numeric.")
    ] = "auto",
    release: Annotated[str, typer.Option(help="Release label to record.")] = "user",
    home: HomeOption = None,
) -> None:
    """Ingest a bilateral trade table you already have, with a column mapping."""
    mapping = {}
    for pair in map_.split(","):
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ChokepointsError(
                f"--map entry {pair!r} is not of the form canonical=column (e.g. exporter=i)"
            )
        mapping[name.strip()] = column.strip()
    ws = Workspace.open(home)
    with _steps(source) as progress:
        record = ws.ingest_table(
            path,
            mapping=mapping,
            classification=classification,
            source=source,
            year=year,
            unit=unit,
            codes=codes,
            release=release,
            progress=progress,
        )
    _print_record(record)


@fetch_app.command("baci")
def fetch_baci(
    revision: Annotated[str, typer.Option(help="HS revision: HS92, HS96 ... HS22.")],
    release: Annotated[str, typer.Option(help="BACI release, e.g. V202501.")],
    years: Annotated[str | None, typer.Option(help="Years to ingest, e.g. 2021-2023.")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Folder URL of the archives (default CEPII's; or $CHOKEPOINTS_BACI_URL)."
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Download a BACI archive from CEPII (resuming if interrupted), then ingest it."""
    ws = Workspace.open(home)
    with (
        _download_bar(f"BACI_{revision.upper()}_{release}.zip") as download,
        _steps("BACI") as progress,
    ):
        record = ws.fetch_baci(
            revision,
            release,
            years=_parse_years(years),
            base_url=base_url,
            download_progress=download,
            progress=progress,
        )
    _print_record(record)


@data_app.command("demo")
def data_demo(home: HomeOption = None) -> None:
    """Load the synthetic demo world (real country and HS codes, invented flows)."""
    ws = Workspace.open(home)
    with _steps("demo") as progress:
        record = ws.load_demo(progress=progress)
    _print_record(record)
    console.print(f"[yellow]{DEMO_NOTE}[/yellow]: use it to try the tool, not for conclusions.")


@data_app.command("info")
def data_info(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    home: HomeOption = None,
) -> None:
    """Show what the store holds: sources, revisions, years, rows, value, coverage."""
    info = Workspace.open(home).info()
    if as_json:
        sys.stdout.write(json.dumps(info, indent=1, default=str) + "\n")
        return
    _print_info(info)


def _print_info(info: dict[str, Any]) -> None:
    """Render ``Workspace.info()`` as rich tables."""
    console.print(f"Store: [bold]{info['home']}[/bold]")
    if not info["sources"]:
        console.print(
            "The store is empty: run `chokepoints data demo` or `chokepoints data "
            "ingest baci PATH`."
        )
        return
    table = Table(header_style="bold")
    for name in (
        "source",
        "release",
        "HS",
        "year",
        "flows",
        "value (bn USD)",
        "reporters",
        "exporters",
        "coverage",
    ):
        table.add_column(
            name,
            justify="right"
            if name in ("flows", "value (bn USD)", "reporters", "exporters")
            else "left",
        )
    for source in info["sources"]:
        label = source["source"] + (
            " (demo)" if source["demo"] and source["source"] != "demo" else ""
        )
        for year in source["years"]:
            table.add_row(
                label,
                source["release"],
                source["classification"],
                str(year["year"]),
                f"{year['rows']:,}",
                f"{year['value_usd'] / 1e9:,.2f}",
                f"{year.get('reporters', 0):,}",
                f"{year.get('exporters', 0):,}",
                year.get("coverage", ""),
            )
    console.print(table)
    console.print(
        f"{info['rows']:,} flows, {info['value_usd'] / 1e9:,.2f} bn USD, "
        f"{info['products']:,} product descriptions, {len(info['ingests'])} ingest(s)."
    )
    if info["demo"]:
        console.print(f"[yellow]{DEMO_NOTE}[/yellow]")


@app.command("groups")
def groups(
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.table
    ),
    home: HomeOption = None,
) -> None:
    """List country groups: built-in (EU27, G7, G20, OECD, ASEAN, Quad...) and HOME/groups.toml."""
    frame = Workspace.open(home).groups()
    if fmt is OutputFormat.table:
        frame = frame.assign(
            size=frame["members"].map(len), members=frame["members"].map(" ".join)
        )[["group", "size", "members", "description"]]
    _render(frame, fmt)


# -- sql and quickstart ----------------------------------------------------------------------
@app.command("sql")
def sql(
    query: Annotated[str, typer.Argument(help="SQL over the views trade, products, countries.")],
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
    home: HomeOption = None,
) -> None:
    """Run a DuckDB SQL query over the store."""
    ws = Workspace.open(home)
    frame = ws.sql(query)
    _render(frame, fmt)
    if ws.is_demo:  # on stderr, so that CSV and JSON output stay machine-readable
        errors.print(f"[yellow]{DEMO_NOTE}[/yellow]")


QUICKSTART_QUERY = """
WITH latest AS (SELECT max(year) AS year FROM trade),
imports AS (
  SELECT t.importer, t.product, t.exporter, sum(t.value_usd) AS value_usd
  FROM trade t, latest WHERE t.year = latest.year AND t.importer IN ('JPN', 'DEU')
    AND t.product IN ('850511', '284690', '811292', '283691', '850760', '250490')
  GROUP BY ALL),
shares AS (
  SELECT *, value_usd / sum(value_usd) OVER (PARTITION BY importer, product) AS share
  FROM imports)
SELECT s.importer, s.product, any_value(p.description) AS description,
       sum(s.value_usd) AS imports_usd,
       arg_max(s.exporter, s.share) AS top, max(s.share) AS top_share,
       sum(s.share * s.share) AS hhi
FROM shares s LEFT JOIN products p ON p.product = s.product
GROUP BY s.importer, s.product ORDER BY s.importer, hhi DESC
"""


@app.command("quickstart")
def quickstart(home: HomeOption = None) -> None:
    """Load demo data if the store is empty, then show what the store holds and a first look."""
    ws = Workspace.open(home)
    if ws.store.is_empty():
        console.print("The store is empty: loading the synthetic demo world first.")
        with _steps("demo") as progress:
            _print_record(ws.load_demo(progress=progress))
    _print_info(ws.info())
    frame = ws.sql(QUICKSTART_QUERY)
    if len(frame):
        _render(
            frame,
            OutputFormat.table,
            title="Japan and Germany: import concentration of six strategic products (latest year)",
        )
    console.print(
        'Next: `chokepoints sql "SELECT * FROM trade LIMIT 5"`, `chokepoints data ingest baci '
        "PATH`, `chokepoints data info`."
    )


def main() -> None:
    """Entry point: run the app, turning user errors into one clear sentence."""
    try:
        app()
    except ChokepointsError as exc:
        errors.print(
            f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True, markup=True
        )
        sys.exit(1)
