"""The ``chokepoints`` command line: parse, call Workspace, render with rich.

User errors (a bad file, an unknown code, a busy store) print one sentence and exit 1 without a
traceback; only bugs show one.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
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
from chokepoints.datasets import DEMO_NOTE
from chokepoints.errors import ChokepointsError
from chokepoints.render import OutputFormat, render, render_tables, terminal_console
from chokepoints.workspace import Workspace

console = terminal_console()  # plain text when piped, on TERM=dumb or with NO_COLOR
errors = terminal_console(stderr=True)

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
def _print_record(record: dict[str, Any]) -> None:
    """Summarise one ingest for the terminal."""
    years = record["years"]
    parts = []
    if years:
        span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
        parts.append(
            f"({', '.join(record['classifications'])}, {span}): {record['rows']:,} flows, "
            f"{record['value_usd'] / 1e9:,.2f} bn USD"
        )
    parts += [
        f"{n:,} {name} rows"
        for name, n in record.get("tables", {}).items()
        if name != "products" or not years
    ]
    console.print(
        f"[green]Ingested[/green] {record['source']} {record['release']} "
        + ", ".join(parts)
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


@ingest_app.command("wgi")
def ingest_wgi(
    path: Annotated[Path, typer.Argument(help="wgidataset.xlsx (or its zip, or a CSV).")],
    release: Annotated[str | None, typer.Option(help="Release label, e.g. WGI-2024.")] = None,
    home: HomeOption = None,
) -> None:
    """Ingest the World Bank Worldwide Governance Indicators (for governance-weighted risk)."""
    ws = Workspace.open(home)
    with _steps("WGI") as progress:
        record = ws.ingest_wgi(path, release=release, progress=progress)
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


@fetch_app.command("icio")
def fetch_icio(
    year: Annotated[int, typer.Option(help="Year of the OECD ICIO table.")],
    base_url: Annotated[
        str | None, typer.Option(help="Folder URL of the archives (or $CHOKEPOINTS_ICIO_URL).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Download one year of the OECD Inter-Country Input-Output tables into HOME/icio."""
    from chokepoints.sources.icio import fetch_icio as download_icio

    ws = Workspace.open(home)
    with _download_bar(f"ICIO {year}") as progress:
        path = download_icio(year, ws.home / "icio", base_url=base_url, progress=progress)
    console.print(
        f"[green]Downloaded[/green] {path}; use `chokepoints exposure COUNTRY --supplier ISO3`."
    )


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
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """List country groups: built-in (EU27, G7, G20, OECD, ASEAN, Quad...) and HOME/groups.toml."""
    frame = Workspace.open(home).groups()
    if fmt is OutputFormat.table:
        frame = frame.assign(
            size=frame["members"].map(len), members=frame["members"].map(" ".join)
        )[["group", "size", "members", "description"]]
    render(frame, fmt, output=output, console=console, sheet="groups")
    if output is not None:
        _print_written(output, len(frame))


# -- sql and quickstart ----------------------------------------------------------------------
@app.command("sql")
def sql(
    query: Annotated[str, typer.Argument(help="SQL over the views trade, products, countries.")],
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Run a DuckDB SQL query over the store."""
    ws = Workspace.open(home)
    frame = ws.sql(query)
    render(frame, fmt, output=output, console=console, sheet="sql")
    if output is not None:
        _print_written(output, len(frame))
    if ws.is_demo:  # on stderr, so that CSV and JSON output stay machine-readable
        errors.print(f"[yellow]{DEMO_NOTE}[/yellow]")


@app.command("quickstart")
def quickstart(home: HomeOption = None) -> None:
    """Load demo data if the store is empty, show Japan's and Germany's top dependencies, and
    write their HTML report."""
    ws = Workspace.open(home)
    if ws.store.is_empty():
        console.print("The store is empty: loading the synthetic demo world first.")
        with _steps("demo") as progress:
            _print_record(ws.load_demo(progress=progress))
    _print_info(ws.info())
    for country in QUICKSTART_COUNTRIES:
        for sector in QUICKSTART_SECTORS:
            frame = ws.dependencies(country, sector=sector, top=5, include_all=True)
            year = frame.attrs["provenance"]["year"]
            render(
                frame[DEPS_TABLE],
                OutputFormat.table,
                title=f"{country}: top imports in {sector.replace('_', ' ')} ({year})",
                console=console,
            )
    _print_provenance(frame.attrs["provenance"])
    path = ws.home / "reports" / "JPN_vs_DEU.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    size = _write_report(ws, "JPN", ["DEU"], None, [], path)
    console.print(f"Report for Japan with Germany: {path} ({size / 1e6:.1f} MB, opens offline).")
    console.print(
        "Next: `chokepoints deps DEU --sector critical_minerals`, `chokepoints product 850511`, "
        "`chokepoints report DEU --vs FRA -o deu.html`, `chokepoints data ingest baci PATH`."
    )


QUICKSTART_COUNTRIES = ("JPN", "DEU")
QUICKSTART_SECTORS = ("critical_minerals", "semiconductors", "batteries")

#: Columns of ``deps`` shown in terminal tables (files get every column).
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


def _print_provenance(provenance: dict[str, Any], *, stream: Console | None = None) -> None:
    """One or two lines saying what a result was computed from and how."""
    stream = stream or console
    method = provenance.get("method") or {}
    thresholds = ", ".join(f"{k}={v}" for k, v in method.items() if k not in ("name",))
    stream.print(
        f"[dim]{provenance['source']} {'/'.join(provenance['releases'])} "
        f"{provenance['classification']}"
        + (f", {provenance['year']}" if "year" in provenance else "")
        + (f"; method {method.get('name')} ({thresholds})" if method else "")
        + f"; {provenance['tool']}[/dim]",
        highlight=False,
    )
    for warning in provenance.get("warnings") or []:
        stream.print(f"[yellow]warning:[/yellow] {warning}")
    if provenance.get("demo"):
        stream.print(f"[yellow]{DEMO_NOTE}[/yellow]")


def _emit(
    frame: pd.DataFrame, fmt: OutputFormat, output: Path | None, columns: list[str], title: str
) -> None:
    """Print or write a result; tables show ``columns`` and the provenance below them."""
    if fmt is OutputFormat.table:
        if frame.empty:
            console.print(f"{title}: nothing found.")
        else:
            render(
                frame[[c for c in columns if c in frame.columns]], fmt, title=title, console=console
            )
        _print_provenance(frame.attrs["provenance"])
        return
    render(frame, fmt, output=output, console=console, sheet="result")
    _print_provenance(frame.attrs["provenance"], stream=errors)
    if output is not None:
        _print_written(output, len(frame))


def _emit_tables(
    tables: dict[str, Any], fmt: OutputFormat, output: Path | None, provenance: dict[str, Any]
) -> None:
    """Write a result of several tables (every DataFrame in ``tables``) to files or JSON.

    xlsx: one workbook, a sheet per table plus ``provenance``; json: one object keyed by table;
    csv and parquet: ``STEM.<table>.csv`` (``.parquet``) per table beside ``--output``.
    """
    frames = {name: t for name, t in tables.items() if isinstance(t, pd.DataFrame)}
    written = render_tables(frames, fmt, output=output, provenance=provenance)
    _print_provenance(provenance, stream=errors)
    for path, rows in written:
        _print_written(path, rows)


def _print_written(path: Path, rows: int) -> None:
    """Say on stderr which file was written, on one line whatever the path holds."""
    errors.print(f"wrote {rows:,} rows to {path}", highlight=False, soft_wrap=True, markup=False)


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        help="table, csv, json, parquet or xlsx (parquet and xlsx need --output; results of "
        "several tables: one workbook, or FILE.<table>.csv per table).",
    ),
]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")]
YearOption = Annotated[int | None, typer.Option(help="Year (default: the latest held).")]
SectorOption = Annotated[
    str | None, typer.Option(help="Sector, e.g. critical_minerals, semiconductors, batteries.")
]
SourceOption = Annotated[
    str | None, typer.Option(help="Dataset to use when the store holds several (e.g. baci).")
]
PartialOption = Annotated[
    bool,
    typer.Option(
        "--allow-partial",
        help="Run world-level criteria on partial coverage, keeping the warning in the output.",
    ),
]


@app.command("deps")
def deps(
    country: Annotated[str, typer.Argument(help="ISO3 code (DEU) or group (EU27, G7...).")],
    year: YearOption = None,
    sector: SectorOption = None,
    method: Annotated[str, typer.Option(help="geodep, ec2021 or custom.")] = "geodep",
    side: Annotated[str, typer.Option(help="imports, or exports (one-market sales).")] = "imports",
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", help="Custom rule, repeatable: 'hhi>0.5', 'top_supplier=CHN'."),
    ] = None,
    top: Annotated[int | None, typer.Option(help="Show the first N rows.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="List every product, not only dependent ones.")
    ] = False,
    share_from: Annotated[
        str | None,
        typer.Option(
            "--share-from",
            help="Add the share of imports (or sales) through these countries or groups, "
            "e.g. CHN,RUS or G7.",
        ),
    ] = None,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Where is COUNTRY dependent? Products imported from few suppliers, by method."""
    focus = [s.strip() for s in (share_from or "").split(",") if s.strip()]
    frame = Workspace.open(home).dependencies(
        country,
        share_from=focus,
        year=year,
        sector=sector,
        method=method,
        side=side,
        rules=rule or [],
        top=top,
        include_all=all_,
        allow_partial=allow_partial,
        source=source,
    )
    who = frame.attrs["provenance"]["economy"]
    what = "products" if all_ else "dependent products"
    title = (
        f"{who}: {what}"
        + (f" in {sector}" if sector else "")
        + f" ({side}, {frame.attrs['provenance']['year']})"
    )
    columns = DEPS_TABLE if side == "imports" else EXPORTS_TABLE
    shares = [c for c in frame.columns if c.startswith("share_") and c != "share_of_exports"]
    _emit(frame, fmt, output, columns[:-1] + shares + columns[-1:], title)


RISK_TABLE = [
    "product",
    "description",
    "import_value_usd",
    "hhi",
    "hhi_wgi_importer",
    "hhi_wgi_global",
    "import_reliance",
    "supply_risk",
]


@app.command("risk")
def risk(
    country: Annotated[str, typer.Argument(help="ISO3 code (DEU) or group (EU27...).")],
    year: YearOption = None,
    sector: SectorOption = None,
    restrictions: Annotated[
        Path | None,
        typer.Option(
            help="CSV of export restrictions: country, product (empty = all), factor >= 1."
        ),
    ] = None,
    top: Annotated[int | None, typer.Option(help="Show the first N rows.")] = None,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Governance-weighted concentration (HHI_WGI) and EU CRM supply risk on trade shares."""
    table = None
    if restrictions is not None:
        try:
            table = pd.read_csv(
                restrictions,
                dtype={"country": str, "product": str},
                keep_default_na=False,
                na_values={"factor": [""]},
            )
        except (OSError, ValueError) as exc:
            raise ChokepointsError(f"cannot read {restrictions}: {exc}") from exc
        table["product"] = table["product"].replace("", None)
    frame = Workspace.open(home).risk(
        country,
        year=year,
        sector=sector,
        restrictions=table,
        allow_partial=allow_partial,
        source=source,
    )
    if top is not None:
        frame = frame.head(top)
    title = (
        f"{frame.attrs['provenance']['economy']}: supply risk"
        + (f" in {sector}" if sector else "")
        + f" ({frame.attrs['provenance']['year']}, trade shares)"
    )
    _emit(frame, fmt, output, RISK_TABLE, title)


SHOCK_TABLE = [
    "importer",
    "product",
    "description",
    "import_value_usd",
    "lost_value_usd",
    "lost_share",
    "redirectable_value_usd",
    "shortfall_value_usd",
    "own_exports_usd",
]


def _split(text: str | None) -> list[str]:
    """``"JPN, DEU"`` -> ``["JPN", "DEU"]``."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@app.command("shock")
def shock(
    supplier: Annotated[
        str | None, typer.Option(help="Supplier cutting exports: ISO3 or group (CHN, RUS, EU27).")
    ] = None,
    sector: Annotated[
        str | None, typer.Option(help="Sectors cut, e.g. critical_minerals,batteries.")
    ] = None,
    product: Annotated[
        str | None, typer.Option(help="HS6 products cut, e.g. 811292,250490.")
    ] = None,
    importer: Annotated[
        str | None, typer.Option(help="Importers hit (default: all), e.g. JPN,DEU or EU27.")
    ] = None,
    fraction: Annotated[float, typer.Option(help="Share of exports lost, 0-1.")] = 1.0,
    preset: Annotated[
        str | None,
        typer.Option(help="A shipped scenario, e.g. china-gallium-germanium-2023 (see --list)."),
    ] = None,
    scenario: Annotated[Path | None, typer.Option(help="A scenario TOML file.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the shipped presets.")] = False,
    by: Annotated[str, typer.Option(help="Rows per product, sector or country.")] = "product",
    downstream: Annotated[
        bool,
        typer.Option(
            "--downstream",
            help="Follow the value chains: downstream products at risk and the "
            "countries producing them (instead of the direct impact).",
        ),
    ] = False,
    year: YearOption = None,
    redirect_fraction: Annotated[
        float,
        typer.Option(help="Share of other exporters' third-country sales that can be redirected."),
    ] = 0.5,
    limit: Annotated[int | None, typer.Option(help="Rows to show in the table.")] = 25,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """What if a supplier cuts us off? Lost imports, redirectable supply, shortfall."""
    if list_:
        from chokepoints.analysis.scenario import list_presets
        from chokepoints.analysis.scenario import preset as load_preset

        frame = pd.DataFrame(
            [{"preset": name, "name": load_preset(name).name} for name in list_presets()]
        )
        render(frame, fmt, output=output, console=console, sheet="presets")
        if output is not None:
            _print_written(output, len(frame))
        return
    importers = _split(importer)
    if downstream:
        frame = Workspace.open(home).downstream(
            preset=preset,
            scenario_file=str(scenario) if scenario else None,
            supplier=supplier,
            sectors=_split(sector),
            products=_split(product),
            importers=importers,
            fraction=fraction,
            year=year,
            countries=importers,
            source=source,
        )
        shown = frame.head(limit) if fmt is OutputFormat.table and limit else frame
        shown.attrs = frame.attrs
        _emit(
            shown,
            fmt,
            output,
            DOWNSTREAM_TABLE,
            f"Downstream of {frame.attrs['provenance']['scenario']['name']}",
        )
        return
    frame = Workspace.open(home).shock(
        preset=preset,
        scenario_file=str(scenario) if scenario else None,
        supplier=supplier,
        sectors=_split(sector),
        products=_split(product),
        importers=importers,
        fraction=fraction,
        year=year,
        redirect_fraction=redirect_fraction,
        allow_partial=allow_partial,
        source=source,
        by=by,
    )
    provenance = frame.attrs["provenance"]
    if importers and fmt is OutputFormat.table:
        shown = frame[
            frame["importer"].isin(
                {c for spec in importers for c in Workspace.open(home).countries_of(spec)}
            )
        ]
    else:
        shown = frame
    shown = shown.head(limit) if fmt is OutputFormat.table and limit else shown
    shown.attrs = frame.attrs
    title = f"{provenance['scenario']['name']} ({provenance['year']})"
    if fmt is OutputFormat.table:
        totals = pd.DataFrame(provenance["by_importer"]).head(10)
        render(totals, OutputFormat.table, title=f"{title}: by importer", console=console)
    columns = (
        SHOCK_TABLE
        if by == "product"
        else [
            "importer",
            "sector",
            "import_value_usd",
            "lost_value_usd",
            "lost_share",
            "redirectable_value_usd",
            "shortfall_value_usd",
            "shortfall_share",
            "n_products",
        ]
    )
    _emit(shown, fmt, output, columns, f"{title}: by {by}")


DOWNSTREAM_TABLE = [
    "chain",
    "country",
    "product",
    "label",
    "depth",
    "exports_usd",
    "export_share",
    "input_imports_usd",
    "input_supplier_share",
    "path",
]
EXPOSURE_TABLE = [
    "region",
    "sector",
    "face_value_reliance",
    "look_through_reliance",
    "output",
    "loss",
    "loss_share",
]


@app.command("exposure")
def exposure(
    country: Annotated[str, typer.Argument(help="ISO3 code or group whose sectors to show.")],
    supplier: Annotated[str, typer.Option(help="Supplier: ISO3 code or group (CHN).")],
    via: Annotated[
        str,
        typer.Option(
            help="trade (strategic sectors, from the store) or icio (input-output tables)."
        ),
    ] = "trade",
    icio: Annotated[
        Path | None,
        typer.Option(
            help="OECD ICIO csv/zip or folder (default: HOME/icio from `data fetch icio`)."
        ),
    ] = None,
    year: Annotated[
        int | None, typer.Option(help="Year (for ICIO: the table in a folder).")
    ] = None,
    theta: Annotated[float, typer.Option(help="Share of the supplier's inputs lost, 0-1.")] = 1.0,
    supplier_sectors: Annotated[
        str | None,
        typer.Option(
            "--supplier-sectors", help="ICIO: extract only these supplier industries, e.g. C26."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Rows to show in the table.")] = 25,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """How much does COUNTRY rely on a supplier: by sector (trade) or industry (input-output)?"""
    ws = Workspace.open(home)
    if via == "icio":
        frame = ws.exposure(
            country,
            supplier,
            via="icio",
            icio=str(icio) if icio else None,
            year=year,
            theta=theta,
            supplier_sectors=_split(supplier_sectors),
        )
        columns = EXPOSURE_TABLE
    else:
        frame = ws.exposure(country, supplier, via=via, year=year)
        columns = [
            "sector",
            "imports_usd",
            "from_supplier_usd",
            "supplier_share",
            "n_products",
            "n_products_top_supplier",
        ]
    shown = frame.head(limit) if fmt is OutputFormat.table and limit else frame
    shown.attrs = frame.attrs
    who = frame.attrs["provenance"]["economy"]
    _emit(shown, fmt, output, columns, f"{who}: reliance on {supplier.upper()} ({via})")


@app.command("diversify")
def diversify(
    country: Annotated[str, typer.Argument(help="Importer: ISO3 code or group.")],
    product: Annotated[
        str | None,
        typer.Argument(help="HS6 product, e.g. 850511; omit it for every concentrated import."),
    ] = None,
    year: YearOption = None,
    sector: SectorOption = None,
    exclude: Annotated[str | None, typer.Option(help="Suppliers to leave, e.g. CHN,RUS.")] = None,
    trusted: Annotated[
        str, typer.Option(help="Trusted partners: groups or countries.")
    ] = "like_minded",
    max_share: Annotated[float | None, typer.Option(help="Largest share of one supplier.")] = None,
    max_change: Annotated[
        float | None, typer.Option(help="Largest change of a supplier's share from today.")
    ] = None,
    redirect_fraction: Annotated[
        float, typer.Option(help="Share of a supplier's third-country sales it could redirect.")
    ] = 0.5,
    objective: Annotated[str, typer.Option(help="hhi or hhi_wgi (needs WGI data).")] = "hhi",
    side: Annotated[
        str, typer.Option(help="imports (where else to buy) or exports (where else to sell).")
    ] = "imports",
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Where else can we buy (or sell)? Alternative suppliers and an optimised sourcing mix."""
    if product is None:
        frame = Workspace.open(home).diversify_all(
            country,
            year=year,
            sector=sector,
            exclude=_split(exclude),
            trusted=_split(trusted),
            max_share=max_share,
            max_change=max_change,
            redirect_fraction=redirect_fraction,
            objective=objective,
            allow_partial=allow_partial,
            source=source,
        )
        _emit(
            frame.head(30) if fmt is OutputFormat.table else frame,
            fmt,
            output,
            [
                "product",
                "description",
                "imports_usd",
                "feasible",
                "hhi_before",
                "hhi_after",
                "replaced_share",
            ],
            f"{frame.attrs['provenance']['economy']}: optimised sourcing of concentrated imports",
        )
        return
    if side == "exports":
        frame = Workspace.open(home).markets(country, product, year=year, source=source)
        _emit(
            frame.head(25) if fmt is OutputFormat.table else frame,
            fmt,
            output,
            [
                "rank",
                "importer",
                "import_value_usd",
                "growth",
                "n_suppliers",
                "hhi",
                "top_supplier",
                "exporter_share",
                "wgi_scaled",
            ],
            f"Alternative markets for {frame.attrs['provenance']['economy']}'s {product}",
        )
        return
    if side != "imports":
        raise ChokepointsError(f"unknown --side {side!r}; use imports or exports")
    result = Workspace.open(home).diversify(
        country,
        product,
        year=year,
        exclude=_split(exclude),
        trusted=_split(trusted),
        max_share=max_share,
        max_change=max_change,
        redirect_fraction=redirect_fraction,
        objective=objective,
        allow_partial=allow_partial,
        source=source,
    )
    provenance = result["alternatives"].attrs["provenance"]
    if fmt is not OutputFormat.table:
        _emit_tables(result, fmt, output, provenance)
        return
    render(
        result["alternatives"].head(15)[
            [
                "rank",
                "exporter",
                "capacity_usd",
                "current_imports_usd",
                "current_share",
                "rca",
                "trusted",
            ]
        ],
        OutputFormat.table,
        title=f"Alternative suppliers of {product}",
        console=console,
    )
    mix = result["mix"]
    render(
        mix[mix["current_usd"].gt(0) | mix["new_usd"].gt(0)],
        OutputFormat.table,
        title="Optimised sourcing mix",
        console=console,
    )
    outcome = provenance["result"]
    console.print(
        f"HHI {outcome['hhi_before']:.3f} -> {outcome['hhi_after']:.3f}; "
        f"risky supply replaced by trusted partners: {outcome['replaced_share']:.0%}"
        if outcome["feasible"]
        else f"[yellow]infeasible:[/yellow] {outcome['explanation']}"
    )
    _print_provenance(provenance)


@app.command("compare")
def compare(
    partners: Annotated[list[str], typer.Argument(help="Two or more countries: JPN DEU ...")],
    year: YearOption = None,
    sector: SectorOption = None,
    trusted: Annotated[
        str, typer.Option(help="Trusted suppliers for joint diversification.")
    ] = "like_minded",
    exclude: Annotated[str | None, typer.Option(help="Risky suppliers, e.g. CHN,RUS.")] = None,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Where can partners help each other? Shared chokepoints, complementarity, best practice."""
    result = Workspace.open(home).compare(
        partners,
        year=year,
        sector=sector,
        trusted=_split(trusted),
        exclude=_split(exclude),
        allow_partial=allow_partial,
        source=source,
    )
    provenance = result["by_sector"].attrs["provenance"]
    if fmt is not OutputFormat.table:
        _emit_tables(result, fmt, output, provenance)
        return
    titles = {
        "by_sector": "By sector (number of products)",
        "shared": "Shared chokepoints",
        "complementarity": "Complementarity",
        "best_practice": "Best practice",
        "joint": "Joint diversification",
    }
    for name, frame in result.items():
        if frame.empty:
            console.print(f"{titles[name]}: none.")
        else:
            render(frame.head(15), OutputFormat.table, title=titles[name], console=console)
    _print_provenance(provenance)


@app.command("report")
def report(
    country: Annotated[str, typer.Argument(help="Country (ISO3) or group, e.g. JPN or EU27.")],
    vs: Annotated[
        list[str] | None,
        typer.Option("--vs", help="Partner for the cooperation view (repeatable, or DEU,FRA)."),
    ] = None,
    year: YearOption = None,
    sector: Annotated[
        list[str] | None,
        typer.Option(help="Sector to cover (repeatable; default: every strategic sector)."),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    home: HomeOption = None,
) -> None:
    """One self-contained HTML report with charts: dependencies, suppliers, trend, scenarios,
    diversification and, with --vs, cooperation. Opens offline; prints well."""
    ws = Workspace.open(home)
    size = _write_report(
        ws,
        country,
        _split(",".join(vs or [])),
        year,
        sector or [],
        output,
        allow_partial=allow_partial,
        source=source,
    )
    console.print(f"wrote {output} ({size / 1e6:.1f} MB); open it in a browser")


def _write_report(
    ws: Workspace,
    country: str,
    partners: list[str],
    year: int | None,
    sectors: list[str],
    output: Path,
    **options: Any,
) -> int:
    """Gather, chart and write one report with a progress bar; return its size in bytes."""
    from chokepoints.report import gather, write_report

    with _steps("report") as progress:
        content = gather(
            ws,
            country,
            partners=partners,
            year=year,
            sectors=sectors,
            progress=progress,
            **options,
        )
        return write_report(content, output)


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


@app.command("stress")
def stress(
    year: YearOption = None,
    sector: Annotated[
        list[str] | None,
        typer.Option(help="Sector to test (repeatable; default: every strategic sector)."),
    ] = None,
    importer: Annotated[
        str | None, typer.Option(help="Show these importers only, e.g. JPN,DEU or EU27.")
    ] = None,
    top: Annotated[
        int | None, typer.Option(help="Keep the N worst suppliers per importer and sector.")
    ] = 3,
    redirect_fraction: Annotated[
        float | None,
        typer.Option(
            help="Share of other exporters' third-country sales that can be redirected (0.5)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Rows to show in the table.")] = 30,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """The world's chokepoints: every supplier cut off from every importer, sector by sector."""
    importers = [s.strip() for s in (importer or "").split(",") if s.strip()]
    frame = Workspace.open(home).stress(
        year=year,
        sectors=sector or [],
        importers=importers,
        top=top,
        redirect_fraction=redirect_fraction,
        allow_partial=allow_partial,
        source=source,
    )
    shown = frame.head(limit) if fmt is OutputFormat.table and limit else frame
    shown.attrs = frame.attrs
    _emit(
        shown,
        fmt,
        output,
        STRESS_TABLE,
        f"Largest shortfalls if one supplier stops ({frame.attrs['provenance']['year']})",
    )


@app.command("product")
def product(
    code: Annotated[str, typer.Argument(help="HS code, e.g. 850511.")],
    year: YearOption = None,
    top: Annotated[int, typer.Option(help="Exporters and importers to show.")] = 10,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """The world picture of one product: exporters, concentration, who depends on it."""
    picture = Workspace.open(home).product(
        code, year=year, source=source, allow_partial=allow_partial
    )
    if fmt is not OutputFormat.table:
        _emit_tables(picture, fmt, output, picture["summary"].attrs["provenance"])
        return
    summary = picture["summary"].iloc[0]
    console.print(
        f"[bold]{code}[/bold] {summary.get('description') or ''}: world exports "
        f"{summary['world_export_value_usd'] / 1e9:,.2f} bn USD from {summary['n_exporters']} "
        f"exporters, HHI {summary['world_export_hhi']:.3f}, top {summary['top_exporter']} "
        f"{summary['top_exporter_share']:.1%}"
    )
    render(
        picture["exporters"].head(top)[["exporter", "export_value_usd", "world_share"]],
        OutputFormat.table,
        title="Top exporters",
        console=console,
    )
    importers = picture["importers"]
    render(
        importers.head(top)[
            [
                "importer",
                "import_value_usd",
                "n_suppliers",
                "hhi",
                "top_supplier",
                "top_supplier_share",
                "import_export_ratio",
                "dependent",
            ]
        ],
        OutputFormat.table,
        title=f"Top importers ({int(importers['dependent'].sum())} dependent by GeoDep)",
        console=console,
    )
    _print_provenance(picture["summary"].attrs["provenance"])


@app.command("trend")
def trend(
    country: Annotated[str, typer.Argument(help="ISO3 code or group.")],
    supplier: Annotated[str, typer.Option(help="Supplier: ISO3 code or group (CHN, RUS).")],
    sector: SectorOption = None,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Is COUNTRY moving away from a supplier? Shares and dependent products per year."""
    frame = Workspace.open(home).trend(
        country, supplier, sector=sector, source=source, allow_partial=allow_partial
    )
    change = frame.attrs["provenance"]["change"]
    _emit(
        frame,
        fmt,
        output,
        [
            "year",
            "imports_usd",
            "from_supplier_usd",
            "supplier_share",
            "n_products",
            "n_products_top_supplier",
            "n_dependent_on_supplier",
            "mean_hhi",
        ],
        f"{country.upper()} imports from {supplier.upper()}" + (f" in {sector}" if sector else ""),
    )
    stream = console if fmt is OutputFormat.table else errors
    stream.print(
        f"{change['from_year']}-{change['to_year']}: supplier share "
        f"{change['share_change'] * 100:+.1f} points, products dependent on it "
        f"{change['dependent_change']:+d}: [bold]{change['verdict']}[/bold]"
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
