"""Production concentration: who mines or refines a commodity, and how concentrated that is.

Shares follow the EU CRM method's "global supply" (JRC 2017 guidelines; METHODS.md section 2),
computed on production rather than trade. The rule for the denominator, stated in every
result: the **published world total** when the source gives one (USGS "World total
(rounded)") and the countries do not add up to more, else the sum of the countries listed and
"Other countries". "Other countries" is
not one producer: it enters the denominator, not the HHI, so the HHI over the listed countries
is a lower bound when it is large (its share is reported).
"""

from __future__ import annotations

import pandas as pd

from chokepoints.analysis.concentration import hhi_of_shares

#: Columns of :func:`production_shares`.
PRODUCTION_COLUMNS = ["year", "commodity", "stage", "country", "quantity", "unit", "share"]


def production_shares(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, object]]:
    """Countries' shares of one commodity, stage, year and type of production (``rows``: the
    production table's rows of it), and a summary: HHI, top producer, the world total used as
    denominator and how it was obtained, and the share of "Other countries"."""
    countries = rows[rows["aggregate"].isna() & rows["quantity"].notna()]
    countries = countries[countries["quantity"] > 0]
    published = rows[(rows["aggregate"] == "world_total") & rows["quantity"].notna()]
    others = float(rows.loc[rows["aggregate"] == "other_countries", "quantity"].fillna(0).sum())
    listed = float(countries["quantity"].sum())
    world, basis = listed + others, "sum of the countries listed and other countries"
    if not published.empty and float(published["quantity"].iloc[0]) >= world:
        world, basis = float(published["quantity"].iloc[0]), "published world total"
    elif not published.empty:
        basis += " (more than the published, rounded, world total)"
    frame = countries[["year", "commodity", "stage", "country", "quantity", "unit"]].copy()
    frame["share"] = frame["quantity"] / world if world else float("nan")
    frame = frame.sort_values(["quantity", "country"], ascending=[False, True], ignore_index=True)
    top = frame.iloc[0] if not frame.empty else None
    summary: dict[str, object] = {
        "world_total": world,
        "world_total_basis": basis,
        "listed_total": listed,
        "other_countries_share": round(others / world, 6) if world else None,
        "hhi": round(hhi_of_shares(frame["share"]), 6) if world else None,
        "top_producer": None if top is None else str(top["country"]),
        "top_share": None if top is None else round(float(top["share"]), 6),
        "n_producers": len(frame),
    }
    return frame[PRODUCTION_COLUMNS], summary
