"""Who mines and refines a commodity? Production shares and their concentration.

``production``: per country, its production of one commodity at one stage in one year and its
share of the world, with the HHI, the top producer and the world total used as denominator in
the provenance (``analysis.production``).
"""

from __future__ import annotations

import pandas as pd

from chokepoints import __version__
from chokepoints.analysis.production import PRODUCTION_COLUMNS, production_shares
from chokepoints.errors import NoDataError
from chokepoints.questions.common import finish
from chokepoints.questions.context import Context
from chokepoints.sources.usgs import commodity_id

#: Stages tried, in this order, when none is asked for.
STAGE_ORDER = ("mine", "refinery", "smelter", "plant", "primary", "other")


def production(
    ctx: Context,
    commodity: str,
    *,
    stage: str | None = None,
    year: int | None = None,
    detail: str | None = None,
) -> pd.DataFrame:
    """Countries' production of ``commodity`` (``rare_earths``, ``"Rare earths"``) at ``stage``
    (default: mine if published, else the first of refinery, smelter...) in ``year`` (default:
    the latest with figures), one type of production (``detail``, default the one with the most
    countries), largest first."""
    held = ctx.frame("production")
    wanted = commodity_id(commodity)
    rows = held[held["commodity"] == wanted].reset_index(drop=True)
    if rows.empty:
        raise NoDataError(
            f"no production of {wanted} in the store (it holds "
            f"{', '.join(sorted(set(held['commodity']))) or 'no production data'}): ingest the "
            "USGS world data with `chokepoints data ingest usgs FILE`"
        )
    stages = [s for s in STAGE_ORDER if s in set(rows["stage"])]
    chosen = stage or stages[0]
    rows = rows[rows["stage"] == chosen]
    if rows.empty:
        raise NoDataError(f"no {chosen} production of {wanted}; stages held: {', '.join(stages)}")
    with_figures = rows[rows["quantity"].notna()]
    year = year if year is not None else int(with_figures["year"].max())
    rows = rows[rows["year"] == year]
    if rows.empty:
        raise NoDataError(f"no {chosen} production of {wanted} in {year}")
    details = _details(rows)
    chosen_detail = detail or details[0]
    frame, summary = production_shares(_of_detail(rows, chosen_detail))
    trade = _trade_concentration(ctx, wanted, chosen)
    with_disagreement(trade, summary["hhi"])  # type: ignore[arg-type]
    provenance = {
        "source": ", ".join(sorted(set(rows["source"]))),
        "releases": sorted(set(rows["release"])),
        "classification": "production",
        "year": year,
        "commodity": wanted,
        "stage": chosen,
        "detail": chosen_detail,
        "other_details": [d for d in details if d != chosen_detail],
        "tool": f"chokepoints {__version__}",
        "demo": False,
        "method": {"name": "production_concentration", **summary},
        "trade": trade,
        "warnings": [
            *([f"{int(rows['estimated'].sum())} figure(s) of {year} are estimates"]
              if rows["estimated"].any() else []),
            *([trade["disagreement"]] if trade and trade.get("disagreement") else []),
        ],
    }  # fmt: skip
    return finish(frame, PRODUCTION_COLUMNS, provenance)


def year_up_to(rows: pd.DataFrame, year: int) -> int | None:
    """The latest year of production ``rows`` with figures up to ``year``, else the latest
    with figures; None when no row has a figure."""
    years = sorted(set(rows.loc[rows["quantity"].notna(), "year"]))
    if not years:
        return None
    return int(max([y for y in years if y <= year] or years))


def production_near(ctx: Context, commodity: str, stage: str, year: int) -> pd.DataFrame | None:
    """:func:`production` of ``commodity`` at ``stage`` in the latest year up to ``year`` with
    figures (else the latest), or None when the store holds none of it."""
    held = ctx.frame("production")
    chosen = year_up_to(held[(held["commodity"] == commodity) & (held["stage"] == stage)], year)
    return None if chosen is None else production(ctx, commodity, stage=stage, year=chosen)


def _details(rows: pd.DataFrame) -> list[str]:
    """The types of production in ``rows``, the one published for the most countries first."""
    sizes = rows[rows["aggregate"].isna()].groupby("detail").size()
    counts = sizes.sort_values(ascending=False, kind="stable")
    return [str(d) for d in counts.index] or sorted(set(rows["detail"]))


def _of_detail(rows: pd.DataFrame, detail: str) -> pd.DataFrame:
    """The countries' rows of one type of production, with the aggregate rows that go with it:
    those of the same type, else those of the stage when they are of one type (USGS writes the
    cobalt world total as "Mine production" next to countries' "Mine production, cobalt
    content")."""
    kept = [rows[rows["aggregate"].isna() & (rows["detail"] == detail)]]
    for _, aggregates in rows[rows["aggregate"].notna()].groupby("aggregate"):
        same = aggregates[aggregates["detail"] == detail]
        if same.empty and len(set(aggregates["detail"])) == 1:
            same = aggregates
        kept.append(same)
    return pd.concat(kept, ignore_index=True)


#: Difference of HHI between production and trade from which the two are said to disagree.
DISAGREEMENT = 0.15


def _trade_concentration(ctx: Context, commodity: str, stage: str) -> dict[str, object] | None:
    """The world export concentration of the HS codes carrying ``commodity`` at ``stage``, in
    the latest complete year of the store (None without codes or trade data); a copy of the
    one computed once per context, free to be added to."""
    found = ctx.memo(
        ("trade_concentration", commodity, stage),
        lambda: _world_export_concentration(ctx, commodity, stage),
    )
    return None if found is None else dict(found)


def _world_export_concentration(
    ctx: Context, commodity: str, stage: str
) -> dict[str, object] | None:
    """What :func:`_trade_concentration` returns, computed."""
    from chokepoints.analysis.concentration import hhi_of_shares
    from chokepoints.questions.common import dataset_and_year, flows_of
    from chokepoints.reference.commodities import commodity_codes

    if not any(p["table"] == "trade" for p in ctx.parts):
        return None
    dataset, year = dataset_and_year(ctx, level=6)
    codes = commodity_codes(commodity, stage, dataset.classification)
    if not codes:
        return None
    flows = flows_of(ctx, dataset, [year])
    mine = flows.filter(flows["product"].isin(list(codes)))
    exports = mine.group_by("exporter").aggregate(x=mine.value_usd.sum()).to_pandas()
    exports = exports[exports["x"] > 0].sort_values(["x", "exporter"], ascending=[False, True])
    found: dict[str, object] = {"codes": list(codes), "dataset": dataset.label, "year": year}
    if exports.empty:
        return {**found, "world_export_hhi": None}
    shares = exports["x"] / exports["x"].sum()
    found.update(
        world_export_hhi=hhi_of_shares(shares),
        top_exporter=str(exports["exporter"].iloc[0]),
        top_exporter_share=float(shares.iloc[0]),
    )
    return found


def with_disagreement(trade: dict[str, object] | None, production_hhi: float | None) -> None:
    """Add to ``trade`` a sentence when production and trade concentration differ by more than
    ``DISAGREEMENT`` (the chokepoint then sits at the more concentrated of the two)."""
    if not trade or trade.get("world_export_hhi") is None or production_hhi is None:
        return
    traded = float(trade["world_export_hhi"])  # type: ignore[arg-type]
    if abs(production_hhi - traded) < DISAGREEMENT:
        return
    more = "production" if production_hhi > traded else "trade"
    trade["disagreement"] = (
        f"production and trade concentration disagree: production HHI {production_hhi:.3f}, "
        f"world export HHI {traded:.3f} of {', '.join(trade['codes'])} in "  # type: ignore[arg-type]
        f"{trade['year']}: the {more} stage is the chokepoint"
    )


def production_supply(
    ctx: Context, world: pd.DataFrame, year: int, classification: str
) -> tuple[pd.DataFrame, list[str]]:
    """World supply shares with production shares in place of trade shares where known.

    ``world`` holds the trade shares (year, product, exporter, world_share). A product that
    carries exactly one commodity at one stage in ``classification``
    (``reference/data/commodities.toml``) whose
    production the store holds gets the countries' production shares of the latest year up to
    ``year`` (else the latest); the ``basis`` column says which. Returns the frame and one note
    per product switched.
    """
    from chokepoints.analysis.risk import TRADE_BASIS
    from chokepoints.reference.commodities import commodities_of

    held = ctx.frame("production")
    world = world.assign(basis=TRADE_BASIS)
    if held.empty:
        return world, []
    frames, notes, switched = [], [], []
    for product in sorted(set(world["product"])):
        links = commodities_of(product, classification)
        if len(links) != 1:
            continue
        commodity, stage = links[0]
        rows = held[(held["commodity"] == commodity) & (held["stage"] == stage)]
        chosen = year_up_to(rows, year)
        if chosen is None:
            continue
        rows = rows[rows["year"] == chosen]
        shares, _ = production_shares(_of_detail(rows, _details(rows)[0]))
        switched.append(product)
        frames.append(
            pd.DataFrame(
                {
                    "year": year,
                    "product": product,
                    "exporter": shares["country"],
                    "world_share": shares["share"],
                    "basis": PRODUCTION_BASIS,
                }
            )
        )
        notes.append(f"global supply of {product}: {commodity} {stage} production {chosen}")
    kept = world[~world["product"].isin(switched)]
    return pd.concat([kept, *frames], ignore_index=True), notes


#: ``basis`` of a risk row whose global supply is production shares.
PRODUCTION_BASIS = "production_shares"
