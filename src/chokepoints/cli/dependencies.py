"""``deps``, ``risk``, ``product`` and ``trend``: where a country depends on few suppliers, how
risky that supply is, one product's world picture, and whether a dependency is shrinking.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.markup import escape

from chokepoints.answers import ProductPicture
from chokepoints.cli.common import (
    FormatOption,
    HomeOption,
    LimitOption,
    OutputOption,
    PartialOption,
    SectorOption,
    SourceOption,
    YearOption,
    _emit,
    _emit_tables,
    _format_for,
    _print_provenance,
    _split,
    _table_rows,
    app,
    console,
    errors,
)
from chokepoints.errors import ChokepointsError
from chokepoints.render import DEPS_TABLE, EXPORTS_TABLE, OutputFormat, render
from chokepoints.workspace import Method, Side, Workspace

if TYPE_CHECKING:
    import pandas as pd

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


#: Products shown, with their metrics, when a ``deps`` table would otherwise be empty.
NEAR_MISSES = 10


@app.command("deps")
def deps(
    country: Annotated[
        str | None, typer.Argument(help="ISO3 code (DEU) or group (EU27, G7...).")
    ] = None,
    year: YearOption = None,
    sector: SectorOption = None,
    all_importers: Annotated[
        bool,
        typer.Option(
            "--all-importers",
            help="GeoDep for every importer (the world screen, like CEPII's database) instead "
            "of one COUNTRY; best written with --format json or parquet and --output.",
        ),
    ] = False,
    method: Annotated[str, typer.Option(help="geodep, ec2021 or custom.")] = "geodep",
    side: Annotated[str, typer.Option(help="imports, or exports (one-market sales).")] = "imports",
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", help="Custom rule, repeatable: 'hhi>0.5', 'top_supplier=CHN'."),
    ] = None,
    limit: LimitOption = 25,
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
    look_through: Annotated[
        bool,
        typer.Option(
            "--look-through",
            help="Add, for products of a value chain, the top origin of their input once the "
            "suppliers' own sourcing is looked through, and its share.",
        ),
    ] = False,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Where is COUNTRY dependent? Products imported from few suppliers, by method."""
    fmt = _format_for(fmt, output)
    ws = Workspace.open(home)
    if all_importers:
        _refuse_with_all_importers(country, method, side, rule, share_from, look_through)
        frame = ws.dependencies_all(
            year=year, sector=sector, include_all=all_, allow_partial=allow_partial, source=source
        )
        title = (
            f"Every importer: {'products' if all_ else 'dependent products'}"
            + (f" in {_sector_name(sector)}" if sector else "")
            + f" (GeoDep, {frame.attrs['provenance']['year']})"
        )
        _emit(_table_rows(frame, fmt, limit), fmt, output, ["importer", *DEPS_TABLE], title)
        return
    if country is None:
        raise ChokepointsError("name a COUNTRY (ISO3 code or group), or use --all-importers")

    def ask(*, top: int | None, include_all: bool) -> pd.DataFrame:
        """``deps`` with this command's options."""
        return ws.dependencies(
            country,
            year=year,
            sector=sector,
            method=cast(Method, method),
            side=cast(Side, side),
            rules=rule or [],
            top=top,
            include_all=include_all,
            share_from=_split(share_from),
            look_through=look_through,
            allow_partial=allow_partial,
            source=source,
        )

    frame = ask(top=None, include_all=all_)
    what = "products" if all_ else "dependent products"
    near_misses = frame.empty and fmt is OutputFormat.table and not all_
    if near_misses:
        # Nothing flagged: show the largest products, whose metrics say why they do not count.
        what = "no dependent products"
        frame = ask(top=NEAR_MISSES, include_all=True)
    who = frame.attrs["provenance"]["economy"]
    title = (
        f"{who}: {what}"
        + (f" in {_sector_name(sector)}" if sector else "")
        + f" ({side}, {frame.attrs['provenance']['year']})"
        + ("; the largest, with their metrics" if near_misses else "")
    )
    columns = DEPS_TABLE if side == "imports" else EXPORTS_TABLE
    shares = [c for c in frame.columns if c.startswith("share_") and c != "share_of_exports"]
    if look_through:
        shares += ["effective_top_origin", "effective_top_share"]
    _emit(_table_rows(frame, fmt, limit), fmt, output, columns[:-1] + shares + columns[-1:], title)


def _sector_name(sector: str) -> str:
    """A sector as titles name it: its name in the sector files (``Storage batteries``)."""
    from chokepoints.reference.sectors import sector_names

    return sector_names(sector)


def _refuse_with_all_importers(
    country: str | None,
    method: str,
    side: str,
    rule: list[str] | None,
    share_from: str | None,
    look_through: bool,
) -> None:
    """Refuse, in one sentence, the options the world screen does not take."""
    given = [
        (country is not None, f"a COUNTRY ({country})"),
        (method != "geodep", "--method"),
        (side != "imports", "--side"),
        (bool(rule), "--rule"),
        (share_from is not None, "--share-from"),
        (look_through, "--look-through"),
    ]
    named = [what for found, what in given if found]
    if named:
        raise ChokepointsError(
            f"--all-importers screens every importer with GeoDep and takes no {named[0]}; "
            "drop it, or drop --all-importers"
        )


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
    limit: LimitOption = 25,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Governance-weighted concentration (HHI_WGI) and EU CRM supply risk on trade shares."""
    import pandas as pd

    fmt = _format_for(fmt, output)
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
    title = (
        f"{frame.attrs['provenance']['economy']}: supply risk"
        + (f" in {_sector_name(sector)}" if sector else "")
        + f" ({frame.attrs['provenance']['year']}, trade shares)"
    )
    _emit(_table_rows(frame, fmt, limit), fmt, output, RISK_TABLE, title)


@app.command("product")
def product(
    code: Annotated[str, typer.Argument(help="HS code, e.g. 850511.")],
    year: YearOption = None,
    limit: LimitOption = 10,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """The world picture of one product: exporters, concentration, who depends on it."""
    fmt = _format_for(fmt, output, ProductPicture.table_names())
    picture = Workspace.open(home).product(
        code, year=year, source=source, allow_partial=allow_partial
    )
    if fmt is not OutputFormat.table:
        _emit_tables(picture.frames(), fmt, output, picture.summary.attrs["provenance"])
        return
    summary = picture.summary.iloc[0]
    console.print(
        f"[bold]{escape(code)}[/bold] {escape(summary.get('description') or '')}: world exports "
        f"{summary['world_export_value_usd'] / 1e9:,.2f} bn USD from {summary['n_exporters']} "
        f"exporters, HHI {summary['world_export_hhi']:.3f}, top {summary['top_exporter']} "
        f"{summary['top_exporter_share']:.1%}"
    )
    render(
        _table_rows(picture.exporters, OutputFormat.table, limit)[
            ["exporter", "export_value_usd", "world_share"]
        ],
        OutputFormat.table,
        title="Top exporters",
        console=console,
    )
    importers = picture.importers
    render(
        _table_rows(importers, OutputFormat.table, limit)[
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
    _print_provenance(picture.summary.attrs["provenance"])


@app.command("trend")
def trend(
    country: Annotated[str, typer.Argument(help="ISO3 code or group.")],
    supplier: Annotated[str, typer.Option(help="Supplier: ISO3 code or group (CHN, RUS).")],
    sector: SectorOption = None,
    year: Annotated[
        int | None,
        typer.Option(help="Last year of the series (default: the latest covering the country)."),
    ] = None,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Is COUNTRY moving away from a supplier? Shares and dependent products per year."""
    fmt = _format_for(fmt, output)
    frame = Workspace.open(home).trend(
        country, supplier, sector=sector, year=year, source=source, allow_partial=allow_partial
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
        f"{country.upper()} imports from {supplier.upper()}"
        + (f" in {_sector_name(sector)}" if sector else ""),
    )
    stream = console if fmt is OutputFormat.table else errors
    stream.print(
        f"{change['from_year']}-{change['to_year']}: supplier share "
        f"{change['share_change'] * 100:+.1f} points, products dependent on it "
        f"{change['dependent_change']:+d}: [bold]{change['verdict']}[/bold]"
    )
