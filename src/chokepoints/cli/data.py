"""``chokepoints data`` (ingest local files, download and ingest, the demo world, what the store
holds) and the commands that read the store as it is: ``sql`` and ``groups``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from chokepoints.cli.common import (
    FormatOption,
    HomeOption,
    OutputOption,
    _download_bar,
    _format_for,
    _print_or_write,
    _steps,
    app,
    console,
    errors,
)
from chokepoints.datasets import DEMO_NOTE
from chokepoints.errors import ChokepointsError
from chokepoints.render import OutputFormat, print_fitted, text_table
from chokepoints.workspace import Workspace

data_app = typer.Typer(help="Ingest, download and inspect trade data.", no_args_is_help=True)
ingest_app = typer.Typer(help="Ingest local files into the store.", no_args_is_help=True)
fetch_app = typer.Typer(help="Download source data, then ingest it.", no_args_is_help=True)
app.add_typer(data_app, name="data")
data_app.add_typer(ingest_app, name="ingest")
data_app.add_typer(fetch_app, name="fetch")


ReplaceOption = Annotated[
    bool,
    typer.Option(
        "--replace",
        help="Let this ingest replace committed years by ones with over 1% fewer flows or "
        "less value (refused otherwise, as a likely mistake).",
    ),
]


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
                if last < first:
                    raise ChokepointsError(
                        f"--years {years!r}: {chunk!r} runs backwards; write {last}-{first}"
                    )
                chosen.update(range(first, last + 1))
            else:
                chosen.add(int(chunk))
        except ValueError as exc:
            raise ChokepointsError(
                f"--years {years!r}: {chunk!r} is not a year or a range like 2019-2022"
            ) from exc
    return sorted(chosen)


def _print_record(record: dict[str, Any]) -> None:
    """Summarise one ingest for the terminal."""
    years = record["years"]
    parts = []
    if years:
        span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
        parts.append(
            f"{', '.join(record['classifications'])} {span}, {record['rows']:,} flows, "
            f"{record['value_usd'] / 1e9:,.2f} bn USD"
        )
    parts += [
        f"{n:,} {name} rows"
        for name, n in record.get("tables", {}).items()
        if name != "products" or not years
    ]
    console.print(
        f"[green]Ingested[/green] {escape(record['source'])} {escape(record['release'])}: "
        + ", ".join(parts)
        + (f", replacing {record['replaced']} earlier part(s)" if record["replaced"] else "")
    )
    for note in record["notes"]:
        console.print(f"  [yellow]note:[/yellow] {escape(note)}")


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
    replace: ReplaceOption = False,
    home: HomeOption = None,
) -> None:
    """Ingest CEPII BACI bilateral HS6 trade (values stored in USD, quantities in tons).

    With --backend spark, Spark converts the yearly files; the checks and the commit are the same.
    """
    ws = Workspace.open(home)
    chosen = _parse_years(years)
    with _steps(f"BACI on {ws.engine_label}" if ws.settings.is_spark else "BACI") as progress:
        record = ws.ingest_baci(
            path,
            revision=revision,
            release=release,
            years=chosen,
            progress=progress,
            replace=replace,
        )
    _print_record(record)


@ingest_app.command("comtrade")
def ingest_comtrade(
    path: Annotated[Path, typer.Argument(help="Comtrade Plus CSV export (TradeData.csv).")],
    release: Annotated[
        str | None, typer.Option(help="Label for this extract, e.g. the download date 2026-06-19.")
    ] = None,
    replace: ReplaceOption = False,
    home: HomeOption = None,
) -> None:
    """Ingest a UN Comtrade Plus CSV export (imports and exports, any HS level)."""
    ws = Workspace.open(home)
    with _steps("Comtrade") as progress:
        record = ws.ingest_comtrade(path, release=release, progress=progress, replace=replace)
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
    replace: ReplaceOption = False,
    home: HomeOption = None,
) -> None:
    """Ingest a bilateral trade table you already have, with a column mapping."""
    _check_table_arguments(year, classification)
    mapping = _mapping(map_)
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
            replace=replace,
        )
    _print_record(record)


def _mapping(text: str) -> dict[str, str]:
    """``exporter=i,importer=j`` -> {"exporter": "i", "importer": "j"} (the ``--map`` option)."""
    mapping = {}
    for pair in text.split(","):
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ChokepointsError(
                f"--map entry {pair!r} is not of the form canonical=column (e.g. exporter=i)"
            )
        mapping[name.strip()] = column.strip()
    return mapping


def _check_table_arguments(year: int | None, classification: str) -> None:
    """Blame ``--year`` and ``--classification`` themselves, before any file is read."""
    from chokepoints.extract import plausible_year, year_range
    from chokepoints.schema import HS_REVISIONS

    if year is not None and not plausible_year(year):
        raise ChokepointsError(f"--year {year} is not a data year; use {year_range()}")
    name = classification.strip().upper()
    if name not in HS_REVISIONS and not re.fullmatch(r"CN\d{4}", name):
        raise ChokepointsError(
            f"--classification {classification!r} is not an HS revision or CN vintage; use "
            f"{', '.join(HS_REVISIONS)} or CN and a year, e.g. CN2022"
        )


@ingest_app.command("wgi")
def ingest_wgi(
    path: Annotated[Path, typer.Argument(help="wgidataset.xlsx (or its zip, or a CSV).")],
    release: Annotated[str | None, typer.Option(help="Release label, e.g. WGI-2024.")] = None,
    replace: ReplaceOption = False,
    home: HomeOption = None,
) -> None:
    """Ingest the World Bank Worldwide Governance Indicators (for governance-weighted risk)."""
    ws = Workspace.open(home)
    with _steps("WGI") as progress:
        record = ws.ingest_wgi(path, release=release, progress=progress, replace=replace)
    _print_record(record)


@ingest_app.command("usgs")
def ingest_usgs(
    path: Annotated[
        Path,
        typer.Argument(help="MCS2025_World_Data.csv or MCS2026_Commodities_Data.csv (USGS)."),
    ],
    release: Annotated[str | None, typer.Option(help="Release label, e.g. MCS2025.")] = None,
    replace: ReplaceOption = False,
    home: HomeOption = None,
) -> None:
    """Ingest USGS mine, refinery and smelter production (for production concentration)."""
    ws = Workspace.open(home)
    with _steps("USGS") as progress:
        record = ws.ingest_usgs(path, release=release, progress=progress, replace=replace)
    _print_record(record)


@ingest_app.command("production")
def ingest_production(
    path: Annotated[Path, typer.Argument(help="A production table (CSV or xlsx).")],
    map_: Annotated[
        str,
        typer.Option(
            "--map",
            help="Column mapping: commodity=C,country=C,year=C,quantity=C"
            "[,stage=C,unit=C,estimated=C,notes=C].",
        ),
    ],
    source: Annotated[str, typer.Option(help="Name to record as the source, e.g. bgs.")],
    stage: Annotated[
        str | None, typer.Option(help="Stage of every row when no stage column: mine, refinery...")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Unit of every row when no unit column.")] = None,
    release: Annotated[str, typer.Option(help="Release label to record.")] = "user",
    replace: ReplaceOption = False,
    home: HomeOption = None,
) -> None:
    """Ingest any production table (BGS, World Mining Data, your own) with a column mapping."""
    ws = Workspace.open(home)
    with _steps(source) as progress:
        record = ws.ingest_production(
            path,
            mapping=_mapping(map_),
            source=source,
            release=release,
            stage=stage,
            unit=unit,
            progress=progress,
            replace=replace,
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
    replace: ReplaceOption = False,
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
            replace=replace,
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


@fetch_app.command("usgs")
def fetch_usgs(
    edition: Annotated[
        int,
        typer.Option(help="Mineral Commodity Summaries edition: 2025 or 2026."),
    ],
    base_url: Annotated[
        str | None,
        typer.Option(
            help="ScienceBase URL (default https://www.sciencebase.gov; or $CHOKEPOINTS_USGS_URL)."
        ),
    ] = None,
    replace: ReplaceOption = False,
    home: HomeOption = None,
) -> None:
    """Download USGS world production data into HOME/downloads (resuming), then ingest it."""
    ws = Workspace.open(home)
    with _download_bar(f"USGS MCS{edition}") as download, _steps("USGS") as progress:
        record = ws.fetch_usgs(
            edition,
            base_url=base_url,
            download_progress=download,
            progress=progress,
            replace=replace,
        )
    _print_record(record)


@fetch_app.command("comtrade")
def fetch_comtrade(
    reporter: Annotated[
        str, typer.Option(help="Reporting countries, ISO3 (e.g. THA, or THA,VNM).")
    ],
    hs: Annotated[str, typer.Option(help="HS codes of 2, 4 or 6 digits, e.g. 8542,2805.")],
    years: Annotated[str, typer.Option(help="Years, e.g. 2014-2024 or 2019,2021.")],
    flow: Annotated[str, typer.Option(help="M (imports), X (exports) or M,X.")] = "M",
    partner: Annotated[str, typer.Option(help="Partner countries, ISO3, or all.")] = "all",
    key: Annotated[
        str | None,
        typer.Option(
            help="Comtrade subscription key, for the data endpoint (100,000 records a call; "
            "default $CHOKEPOINTS_COMTRADE_KEY). Without one, the preview endpoint (500 a call).",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="API host (default https://comtradeapi.un.org; or $CHOKEPOINTS_COMTRADE_URL)."
        ),
    ] = None,
    replace: ReplaceOption = False,
    home: HomeOption = None,
) -> None:
    """Download trade from the UN Comtrade API, then ingest it as `data ingest comtrade` does.

    Calls are split to stay under the endpoint's cap; an interrupted fetch continues where it
    stopped when the same command is run again (answers kept in HOME/.staging until the ingest).
    """
    ws = Workspace.open(home)
    with _steps("Comtrade") as progress:
        record = ws.fetch_comtrade(
            reporter,
            hs,
            _parse_years(years) or [],
            flow=flow,
            partner=partner,
            key=key,
            base_url=base_url,
            progress=progress,
            replace=replace,
        )
    _print_record(record)


@fetch_app.command("wgi")
def fetch_wgi(
    years: Annotated[
        str | None, typer.Option(help="A run of years, e.g. 1996-2023 (default: all).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="API root (default https://api.worldbank.org/v2; or $CHOKEPOINTS_WORLDBANK_URL)."
        ),
    ] = None,
    replace: ReplaceOption = False,
    home: HomeOption = None,
) -> None:
    """Download the Worldwide Governance Indicators from the World Bank API, then ingest them
    as `data ingest wgi` does."""
    ws = Workspace.open(home)
    with _steps("WGI") as progress:
        record = ws.fetch_wgi(
            years=_parse_years(years), base_url=base_url, progress=progress, replace=replace
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
    _print_icio(info["icio"])


@data_app.command("repair")
def data_repair(home: HomeOption = None) -> None:
    """Rebuild a lost or damaged manifest from the data files; move unknown files aside."""
    _print_repair(Workspace.open(home).repair())


def _print_repair(report: dict[str, Any]) -> None:
    """Say what ``Workspace.repair`` rebuilt, found missing and moved aside."""
    console.print(
        f"[green]Repaired[/green] {escape(report['manifest'])}: {report['parts']} part(s) live, "
        f"{len(report['rebuilt'])} of them rebuilt from their files' metadata, "
        f"{report['retired']} older part(s) kept as replaced.",
        highlight=False,
        soft_wrap=True,
    )
    for path in report["rebuilt"]:
        console.print(f"  rebuilt: {path}", highlight=False, markup=False, soft_wrap=True)
    for path in report["missing"]:
        console.print(
            f"  missing, dropped from the manifest: {path}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if report["moved"]:
        console.print(
            f"Moved {len(report['moved'])} file(s) the store does not know into "
            f"{report['folder']} (nothing was deleted):",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        for before, after in report["moved"].items():
            console.print(f"  {before} -> {after}", highlight=False, markup=False, soft_wrap=True)


def _print_info(info: dict[str, Any]) -> None:
    """Render ``Workspace.info()`` as rich tables."""
    console.print(f"Store: [bold]{escape(info['home'])}[/bold]")
    if not info["sources"]:
        console.print(
            "The store is empty: run `chokepoints data demo` or `chokepoints data "
            "ingest baci PATH`."
        )
        return
    rows = [
        [
            source["source"] + (" (demo)" if _labelled_demo(source) else ""),
            source["release"],
            source["classification"],
            str(year["year"]),
            f"{year['rows']:,}",
            f"{year['value_usd'] / 1e9:,.2f}",
            f"{year.get('reporters', 0):,}",
            f"{year.get('exporters', 0):,}",
            year.get("coverage", ""),
        ]
        for source in info["sources"]
        for year in source["years"]
    ]
    names = (
        "source", "release", "HS", "year", "flows", "value (bn USD)", "reporters", "exporters",
        "coverage",
    )  # fmt: skip
    numeric = [False, False, False, False, True, True, True, True, False]
    print_fitted(lambda width: text_table(names, rows, numeric, width=width, wider=WHOLE), console)
    console.print(
        f"{info['rows']:,} flows, {info['value_usd'] / 1e9:,.2f} bn USD, "
        f"{info['products']:,} product descriptions, {len(info['ingests'])} ingest(s)."
    )
    if info["demo"]:
        console.print(f"[yellow]{DEMO_NOTE}[/yellow]")


def _print_icio(tables: list[dict[str, Any]]) -> None:
    """The ICIO tables kept as Parquet in HOME/icio/cache, one row each."""
    if not tables:
        return
    rows = [
        [
            str(held["year"] or "?"),
            f"{held['regions']} x {held['sectors']}",
            " x ".join(f"{n:,}" for n in held["z_shape"]),
            held["source_file"],
            f"{held['source_bytes'] / 1e6:,.1f}",
            f"{held['cached_bytes'] / 1e6:,.1f}",
        ]
        for held in tables
    ]
    names = ("year", "regions x sectors", "Z", "source file", "source MB", "cached MB")
    numeric = [False, False, True, False, True, True]
    title = "ICIO tables held (Parquet copies)"
    print_fitted(
        lambda width: text_table(names, rows, numeric, title=title, width=width, wider=WHOLE),
        console,
    )


#: Where ``data info``'s columns left out on a narrow terminal can be seen.
WHOLE = "a wider terminal, or piped as in `chokepoints data info | less -S`, shows them"


def _labelled_demo(source: dict[str, Any]) -> bool:
    """Whether a source of demo data is not named ``demo`` and so needs the label."""
    return bool(source["demo"]) and source["source"] != "demo"


@app.command("groups")
def groups(
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """List country groups: built-in (EU27, G7, G20, OECD, ASEAN, Quad...) and HOME/groups.toml."""
    fmt = _format_for(fmt, output)
    frame = Workspace.open(home).groups()
    if fmt is OutputFormat.table:
        frame = frame.assign(
            size=frame["members"].map(len), members=frame["members"].map(" ".join)
        )[["group", "size", "members", "description"]]
    _print_or_write(frame, fmt, output, sheet="groups")


@app.command("sql")
def sql(
    query: Annotated[str, typer.Argument(help="SQL over the views trade, products, countries.")],
    unsafe: Annotated[
        bool,
        typer.Option(
            "--unsafe",
            help="Run on the engine's own connection: any file, the store included, and "
            "extensions.",
        ),
    ] = False,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Run a DuckDB SQL query over the store (read-only, no other files, unless --unsafe)."""
    fmt = _format_for(fmt, output)
    ws = Workspace.open(home)
    frame = ws.sql(query, unsafe=unsafe)
    _print_or_write(frame, fmt, output, sheet="sql")
    if ws.is_demo:  # on stderr, so that CSV and JSON output stay machine-readable
        errors.print(f"[yellow]{DEMO_NOTE}[/yellow]")
