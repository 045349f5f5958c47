"""``diversify`` and ``compare``: alternative suppliers (or markets) and an optimised sourcing mix
for one country, and where partners can help each other.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import typer
from rich.markup import escape

from chokepoints.answers import Comparison, Diversification
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
)
from chokepoints.defaults import DEFAULT_MIN_SHARE
from chokepoints.errors import ChokepointsError
from chokepoints.render import BATCH_TABLE, OutputFormat, render
from chokepoints.workspace import Objective, Workspace


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
    min_share: Annotated[
        float,
        typer.Option(help="Smallest share proposed for a supplier, e.g. 0.01 (1%); 0: any."),
    ] = DEFAULT_MIN_SHARE,
    max_new_suppliers: Annotated[
        int | None, typer.Option(help="Most suppliers the mix may add to today's.")
    ] = None,
    redirect_fraction: Annotated[
        float, typer.Option(help="Share of a supplier's third-country sales it could redirect.")
    ] = 0.5,
    objective: Annotated[str, typer.Option(help="hhi or hhi_wgi (needs WGI data).")] = "hhi",
    limit: LimitOption = 25,
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
    fmt = _format_for(fmt, output, Diversification.table_names() if product else ())
    if product is None:
        frame = Workspace.open(home).diversify_all(
            country,
            year=year,
            sector=sector,
            exclude=_split(exclude),
            trusted=_split(trusted),
            max_share=max_share,
            max_change=max_change,
            min_share=min_share,
            max_new_suppliers=max_new_suppliers,
            redirect_fraction=redirect_fraction,
            objective=cast(Objective, objective),
            allow_partial=allow_partial,
            source=source,
        )
        _emit(
            _table_rows(frame, fmt, limit),
            fmt,
            output,
            [*BATCH_TABLE, "suppliers_after", "new_suppliers"],
            f"{frame.attrs['provenance']['economy']}: optimised sourcing of concentrated imports",
        )
        return
    if side == "exports":
        frame = Workspace.open(home).markets(country, product, year=year, source=source)
        _emit(
            _table_rows(frame, fmt, limit),
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
        min_share=min_share,
        max_new_suppliers=max_new_suppliers,
        redirect_fraction=redirect_fraction,
        objective=cast(Objective, objective),
        allow_partial=allow_partial,
        source=source,
    )
    provenance = result.alternatives.attrs["provenance"]
    if fmt is not OutputFormat.table:
        _emit_tables(result.frames(), fmt, output, provenance)
        return
    render(
        _table_rows(result.alternatives, fmt, limit)[
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
        title=f"{provenance['economy']}: alternative suppliers of {product}",
        console=console,
    )
    outcome = provenance["result"]
    min_share = provenance["method"]["min_share"]
    mix = result.mix
    # Suppliers dropped for holding less than min_share today are counted, not listed.
    small = mix["new_usd"].eq(0) & mix["current_share"].lt(min_share)
    render(mix[~small], OutputFormat.table, title="Optimised sourcing mix", console=console)
    if small.any():
        console.print(
            f"Not listed: {int(small.sum())} suppliers under {min_share * 100:g}% today "
            f"({mix.loc[small, 'current_share'].sum():.1%} of imports together), dropped."
        )
    if outcome["feasible"]:
        console.print(_mix_line(outcome, min_share))
        if outcome["replaced_share"] == outcome["replaced_share"]:  # NaN: no risky supplier
            console.print(
                f"Risky supply replaced by trusted partners: {outcome['replaced_share']:.0%}"
            )
    else:
        console.print(f"[yellow]infeasible:[/yellow] {escape(outcome['explanation'])}")
    _print_provenance(provenance)


def _mix_line(outcome: dict[str, Any], min_share: float) -> str:
    """'New mix: 7 suppliers (3 new, 1 dropped), HHI 0.685 -> 0.212; shares under 1% not
    proposed': the size of the proposed mix beside today's."""
    after, new = outcome["suppliers_after"], outcome["new_suppliers"]
    dropped = outcome["suppliers_before"] + new - after
    changes = f"{new} new" + (f", {dropped} dropped" if dropped else "")
    line = (
        f"New mix: {after} suppliers ({changes}), "
        f"HHI {outcome['hhi_before']:.3f} -> {outcome['hhi_after']:.3f}"
    )
    if min_share > 0:
        line += f"; shares under {min_share * 100:g}% not proposed"
    return line


#: The columns ``compare`` shows per table in a terminal, the most telling first: a narrow
#: terminal leaves out the last ones first (files get every column).
COMPARE_COLUMNS = {
    "shared": ["product", "description", "partner", "supplier", "supplier_share", "hhi",
               "imports_usd", "effective_top_origin", "effective_top_share", "sector"],
    "complementarity": ["product", "description", "exporter_partner", "importer_partner",
                        "coverable_share", "imports_usd", "top_supplier", "top_supplier_share",
                        "rca", "sector"],
    "best_practice": ["product", "description", "partner", "hhi", "best_partner", "best_hhi",
                      "top_suppliers", "imports_usd", "sector"],
    "joint": ["product", "description", "covered", "coverage_ratio", "risky_imports_usd",
              "trusted_capacity_usd", "pooled_imports_usd", "trusted_exports_usd", "sector"],
}  # fmt: skip


@app.command("compare")
def compare(
    partners: Annotated[
        list[str], typer.Argument(help="Two or more countries or groups: JPN DEU, or JPN,DEU.")
    ],
    year: YearOption = None,
    sector: SectorOption = None,
    trusted: Annotated[
        str, typer.Option(help="Trusted suppliers for joint diversification.")
    ] = "like_minded",
    exclude: Annotated[str | None, typer.Option(help="Risky suppliers, e.g. CHN,RUS.")] = None,
    limit: LimitOption = 15,
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    fmt: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    home: HomeOption = None,
) -> None:
    """Where can partners help each other? Shared chokepoints, complementarity, best practice."""
    fmt = _format_for(fmt, output, Comparison.table_names())
    result = Workspace.open(home).compare(
        [name for argument in partners for name in _split(argument)],  # JPN DEU or JPN,DEU
        year=year,
        sector=sector,
        trusted=_split(trusted),
        exclude=_split(exclude),
        allow_partial=allow_partial,
        source=source,
    )
    provenance = result.by_sector.attrs["provenance"]
    if fmt is not OutputFormat.table:
        _emit_tables(result.frames(), fmt, output, provenance)
        return
    titles = {
        "by_sector": "By sector (number of products)",
        "shared": "Shared chokepoints",
        "complementarity": "Complementarity",
        "best_practice": "Best practice",
        "joint": "Joint diversification",
    }
    for name, frame in result.frames().items():
        if frame.empty:
            console.print(f"{titles[name]}: none.")
        else:
            shown = _table_rows(frame, fmt, limit)
            columns = [c for c in COMPARE_COLUMNS.get(name, shown.columns) if c in shown.columns]
            render(shown[columns], fmt, title=titles[name], console=console)
        console.print()
    _print_provenance(provenance)
