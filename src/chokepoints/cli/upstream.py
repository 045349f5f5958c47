"""``production`` and ``upstream``: who mines and refines a commodity, and where an importer's
supply of a chain product really comes from once its suppliers' own sourcing is looked through.
"""

from __future__ import annotations

from typing import Annotated

import typer

from chokepoints.cli.common import (
    FormatOption,
    HomeOption,
    OutputOption,
    PartialOption,
    SourceOption,
    YearOption,
    _emit,
    _format_for,
    _table_rows,
    app,
)
from chokepoints.render import OutputFormat
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
    limit: Annotated[int | None, typer.Option(help="Rows to show in the table.")] = 25,
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
    limit: Annotated[int | None, typer.Option(help="Rows to show in the table.")] = 25,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Where does IMPORTER's PRODUCT really come from? Direct and look-through origin shares."""
    fmt = _format_for(fmt, output)
    ws = Workspace.open(home)
    options = {"year": year, "source": source, "allow_partial": allow_partial}
    if transit:
        frame = ws.origins(importer, product, **options)
        provenance = frame.attrs["provenance"]
        hubs = ", ".join(provenance["hubs"]) or "none"
        title = (
            f"{provenance['economy']}: origin of its {product} corrected for transit "
            f"({provenance['year']}; hubs: {hubs})"
        )
        _emit(_table_rows(frame, fmt, limit), fmt, output, TRANSIT_TABLE, title)
        return
    frame = ws.upstream(importer, product, depth=depth, **options)
    provenance = frame.attrs["provenance"]
    title = (
        f"{provenance['economy']}: origin of its {product} ({provenance['year']}, depth {depth})"
    )
    _emit(_table_rows(frame, fmt, limit), fmt, output, UPSTREAM_TABLE, title)
