"""``shock``, ``stress`` and ``exposure``: what a supplier cutting its exports costs importers, the
world's worst such cuts, and how much a country relies on one supplier, by sector or industry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer

from chokepoints.cli.common import (
    FormatOption,
    HomeOption,
    LimitOption,
    OutputOption,
    PartialOption,
    SourceOption,
    YearOption,
    _at_least_zero,
    _emit,
    _emit_tables,
    _format_for,
    _print_or_write,
    _split,
    _table_rows,
    app,
    console,
)
from chokepoints.render import STRESS_TABLE, OutputFormat, render
from chokepoints.workspace import Allocation, ShockBy, StressBy, Via, Workspace

#: Columns shown in terminal tables (files get every column).
#: Lost, redirected and short come first: a narrow terminal leaves columns out from the right,
#: and the shortfall is what a shock is run for.
SHOCK_TABLE = [
    "importer",
    "product",
    "description",
    "lost_value_usd",
    "redirectable_value_usd",
    "shortfall_value_usd",
    "lost_share",
    "import_value_usd",
    "own_exports_usd",
]
SHOCK_GROUP_TABLE = [
    "importer",
    "sector",
    "lost_value_usd",
    "redirectable_value_usd",
    "shortfall_value_usd",
    "shortfall_share",
    "lost_share",
    "import_value_usd",
    "n_products",
]
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
#: The tables of ``shock --measures`` written to a file: the impact and the measures traced.
MEASURE_TABLES = ("impact", "measures")
#: Columns of the table of measures shown in the terminal (files get every column), what a
#: reader needs first on the left: a narrow terminal leaves out columns from the right.
MEASURE_TABLE = [
    "measure_id",
    "imposing",
    "type",
    "value_at_risk_usd",
    "binding_lost_usd",
    "status",
    "fraction",
    "direction",
    "partners",
    "matched_value_usd",
    "flows",
    "codes",
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
    measures: Annotated[
        Path | None,
        typer.Option(
            help="A CSV of trade measures (imposing economy, HS6, HS revision, type: ban, "
            "licensing, quota, tax...; OECD inventory and Global Trade Alert headers read too)."
        ),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the shipped presets.")] = False,
    by: Annotated[
        str,
        typer.Option(
            help="Rows per product, sector or country; member: per product with a group "
            "importer split into its members (by default a group buys as one)."
        ),
    ] = "product",
    allocation: Annotated[
        str,
        typer.Option(
            help="How the world's spare capacity is shared among the importers hit: pro_rata "
            "(to their losses) or per_importer (optimistic: each offered all of it)."
        ),
    ] = "pro_rata",
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
    limit: LimitOption = 25,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """What if a supplier cuts us off? Lost imports, redirectable supply, shortfall."""
    import pandas as pd

    fmt = _format_for(fmt, output, MEASURE_TABLES if measures else ())
    if list_:
        from chokepoints.analysis.scenario import list_presets
        from chokepoints.analysis.scenario import preset as load_preset

        frame = pd.DataFrame(
            [{"preset": name, "name": load_preset(name).name} for name in list_presets()]
        )
        _print_or_write(frame, fmt, output, sheet="presets")
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
        _emit(
            _table_rows(frame, fmt, limit),
            fmt,
            output,
            DOWNSTREAM_TABLE,
            f"Downstream of {frame.attrs['provenance']['scenario']['name']}",
        )
        return
    frame = Workspace.open(home).shock(
        preset=preset,
        scenario_file=str(scenario) if scenario else None,
        measures=str(measures) if measures else None,
        supplier=supplier,
        sectors=_split(sector),
        products=_split(product),
        importers=importers,
        fraction=fraction,
        year=year,
        redirect_fraction=redirect_fraction,
        allocation=cast(Allocation, allocation),
        allow_partial=allow_partial,
        source=source,
        by=cast(ShockBy, by),
    )
    provenance = frame.attrs["provenance"]
    if measures and fmt is not OutputFormat.table:
        _emit_tables(
            dict(zip(MEASURE_TABLES, (frame, pd.DataFrame(provenance["measures"])), strict=True)),
            fmt,
            output,
            {k: v for k, v in provenance.items() if k != "measures"},
        )
        return
    shown = _table_rows(frame, fmt, limit)
    # A preset's name may carry the year of the measure: the data year is said apart from it.
    title = f"{provenance['scenario']['name']} on {provenance['year']} trade"
    if fmt is OutputFormat.table:
        totals = pd.DataFrame(provenance["by_importer"])
        totals = totals.sort_values("lost_value_usd", ascending=False, kind="stable")
        render(
            _table_rows(totals, fmt, 10 if limit is None else min(limit, 10) or None),
            OutputFormat.table,
            title=f"{title}: by importer",
            console=console,
        )
        console.print(_world_line(provenance), highlight=False)
    columns = SHOCK_TABLE if by in ("product", "member") else SHOCK_GROUP_TABLE
    if measures:
        columns = [columns[0], "measure_id", *columns[1:]]
        render(
            _table_rows(pd.DataFrame(provenance["measures"])[MEASURE_TABLE], fmt, limit),
            OutputFormat.table,
            title=f"{title}: the measures",
            console=console,
        )
    _emit(shown, fmt, output, columns, f"{title}: by {by}")


def _world_line(provenance: dict) -> str:
    """The world totals of a shock in one sentence, with the allocation rule."""
    world = provenance["world"]
    rule = provenance["method"]["allocation"]
    shared = (
        "shared pro rata to the losses of the importers hit"
        if rule == "pro_rata"
        else "offered in full to each importer (optimistic bound)"
    )
    return (
        f"World: {world['lost_value_usd'] / 1e6:,.1f} M USD lost; spare capacity "
        f"{world['shared_spare_usd'] / 1e6:,.1f} M USD {shared}; shortfall "
        f"{world['shortfall_value_usd'] / 1e6:,.1f} M USD."
    )


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
        int | None,
        typer.Option(
            help="Keep the N worst suppliers per importer and sector.", callback=_at_least_zero
        ),
    ] = 3,
    redirect_fraction: Annotated[
        float | None,
        typer.Option(
            help="Share of other exporters' third-country sales that can be redirected (0.5)."
        ),
    ] = None,
    allocation: Annotated[
        str,
        typer.Option(
            help="How each cut-off's spare capacity is shared among the importers it hits: "
            "pro_rata or per_importer (optimistic)."
        ),
    ] = "pro_rata",
    by: Annotated[
        str,
        typer.Option(help="importer (a group buys as one) or member (a group's members)."),
    ] = "importer",
    limit: LimitOption = 30,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """The world's chokepoints: each supplier cut off from the world, sector by sector, and
    the shortfall every importer is left with."""
    fmt = _format_for(fmt, output)
    importers = _split(importer)
    frame = Workspace.open(home).stress(
        year=year,
        sectors=sector or [],
        importers=importers,
        top=top,
        redirect_fraction=redirect_fraction,
        allocation=cast(Allocation, allocation),
        by=cast(StressBy, by),
        allow_partial=allow_partial,
        source=source,
    )
    _emit(
        _table_rows(frame, fmt, limit),
        fmt,
        output,
        STRESS_TABLE,
        f"Largest shortfalls if one supplier stops ({frame.attrs['provenance']['year']})",
    )


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
    limit: LimitOption = 25,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """How much does COUNTRY rely on a supplier: by sector (trade) or industry (input-output)?"""
    fmt = _format_for(fmt, output)
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
        frame = ws.exposure(country, supplier, via=cast(Via, via), year=year)
        columns = [
            "sector",
            "imports_usd",
            "from_supplier_usd",
            "supplier_share",
            "n_products",
            "n_products_top_supplier",
        ]
    who = frame.attrs["provenance"]["economy"]
    _emit(
        _table_rows(frame, fmt, limit),
        fmt,
        output,
        columns,
        f"{who}: reliance on {supplier.upper()} ({via})",
    )
