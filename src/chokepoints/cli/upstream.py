"""``production``, ``upstream`` and ``stages``: who mines and refines a commodity, where an
importer's supply of a chain product really comes from once its suppliers' own sourcing is
looked through, and at which step of a value chain supply is concentrated.
"""

from __future__ import annotations

from typing import Annotated

import typer

from chokepoints.cli.common import (
    FormatOption,
    HomeOption,
    LimitOption,
    OutputOption,
    PartialOption,
    SourceOption,
    YearOption,
    _emit,
    _format_for,
    _print_provenance,
    _table_rows,
    app,
    console,
)
from chokepoints.render import OutputFormat, render
from chokepoints.workspace import Workspace

PRODUCTION_TABLE = ["country", "quantity", "unit", "share"]
UPSTREAM_TABLE = ["via", "origin", "direct_share", "effective_share", "paths"]
TRANSIT_TABLE = ["origin", "reported_share", "corrected_share", "paths", "mirror_flag"]


@app.command("production")
def production(
    commodity: Annotated[str, typer.Argument(help="Commodity, e.g. rare_earths, cobalt, lithium.")],
    stage: Annotated[
        str | None,
        typer.Option(help="mine, refinery, smelter, plant or primary (default: mine if held)."),
    ] = None,
    year: YearOption = None,
    limit: LimitOption = 25,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Who mines or refines COMMODITY? Production shares, HHI and the world total used."""
    fmt = _format_for(fmt, output)
    frame = Workspace.open(home).production(commodity, stage=stage, year=year)
    provenance = frame.attrs["provenance"]
    method = provenance["method"]
    title = (
        f"{provenance['commodity']}: {provenance['stage']} production {provenance['year']} "
        f"(HHI {method['hhi']:.3f}; world total {method['world_total']:,.0f}, "
        f"{method['world_total_basis']})"
    )
    _emit(_table_rows(frame, fmt, limit), fmt, output, PRODUCTION_TABLE, title)


@app.command("upstream")
def upstream(
    importer: Annotated[str, typer.Argument(help="ISO3 code or group (JPN, EU27).")],
    product: Annotated[str, typer.Argument(help="A product of a value chain, e.g. 850511.")],
    depth: Annotated[
        int, typer.Option(help="Chain steps to look through (0: the direct suppliers).")
    ] = 1,
    transit: Annotated[
        bool,
        typer.Option(
            "--transit",
            help="Instead: give what transit hubs (NLD, BEL, SGP, HKG, ARE...) re-export back "
            "to their own origins, for any product.",
        ),
    ] = False,
    year: YearOption = None,
    limit: LimitOption = 25,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Where does IMPORTER's PRODUCT really come from? Direct and look-through origin shares."""
    fmt = _format_for(fmt, output)
    ws = Workspace.open(home)
    if transit:
        frame = ws.origins(importer, product, year=year, source=source, allow_partial=allow_partial)
        provenance = frame.attrs["provenance"]
        hubs = ", ".join(provenance["hubs"]) or "none"
        title = (
            f"{provenance['economy']}: origin of its {product} corrected for transit "
            f"({provenance['year']}; hubs: {hubs})"
        )
        _emit(_table_rows(frame, fmt, limit), fmt, output, TRANSIT_TABLE, title)
        return
    frame = ws.upstream(
        importer, product, depth=depth, year=year, source=source, allow_partial=allow_partial
    )
    provenance = frame.attrs["provenance"]
    title = (
        f"{provenance['economy']}: origin of its {product} ({provenance['year']}, depth {depth})"
    )
    _emit(_table_rows(frame, fmt, limit), fmt, output, UPSTREAM_TABLE, title)


STAGES_TABLE = ["label", "world_hhi", "world_top", "world_top_share", "import_hhi", "top_supplier",
                "top_supplier_share", "effective_top_origin"]  # fmt: skip


@app.command("stages")
def stages(
    country: Annotated[str, typer.Argument(help="ISO3 code or group (JPN, EU27).")],
    chain: Annotated[
        list[str] | None,
        typer.Option(help="A value chain (repeat for several; default: every chain)."),
    ] = None,
    year: YearOption = None,
    limit: LimitOption = 60,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Where in each value chain is supply concentrated? World and COUNTRY's concentration per
    step, from the mine (production data) to the final product."""
    fmt = _format_for(fmt, output)
    frame = Workspace.open(home).chain_stages(
        country, chains=chain or None, year=year, source=source, allow_partial=allow_partial
    )
    provenance = frame.attrs["provenance"]
    title = (
        f"{provenance['economy']}: concentration along the value chains ({provenance['year']}; "
        "world: production or exports; imports: the economy's own)"
    )
    if fmt is not OutputFormat.table or frame.empty:
        _emit(_table_rows(frame, fmt, limit), fmt, output, ["chain", "step", *STAGES_TABLE], title)
        return
    # One table per chain, steps upstream first, named as the chain files name them.
    from chokepoints.reference.chains import list_chains

    names = dict(zip(*(list_chains()[c] for c in ("id", "name")), strict=True))
    console.print(title, markup=False)
    for chain_id, steps in frame.groupby("chain", sort=False):
        shown = _table_rows(steps.reset_index(drop=True), fmt, limit)
        table = shown[STAGES_TABLE].rename(columns={"label": "step"})
        table.attrs = shown.attrs
        render(table, fmt, title=names.get(chain_id, chain_id), console=console)
    _print_provenance(provenance)
