"""Where else can we buy, and where can partners help each other?

``diversify`` (alternative suppliers and an optimised sourcing mix for one product) and
``compare`` (shared chokepoints, complementarity, best practice and joint diversification
between partners): DataFrames with provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import pandas as pd

from chokepoints.defaults import DEFAULT_MIN_SHARE, DEFAULT_TRUSTED
from chokepoints.errors import NoDataError
from chokepoints.questions.common import (
    as_economies,
    check_coverage,
    code_level,
    dataset_and_year,
    describe,
    finish,
    flows_of,
    with_groups,
)
from chokepoints.questions.context import Context
from chokepoints.questions.revisions import conversion_provenance, sector_selection

ALTERNATIVE_COLUMNS = [
    "rank",
    "exporter",
    "capacity_usd",
    "current_imports_usd",
    "current_share",
    "world_share",
    "rca",
    "wgi_scaled",
    "trusted",
    "unit_value_usd_per_t",
    "unit_value_ratio",
]


def _scores(ctx: Context, year: int, *, objective: str = "hhi") -> ibis.Table | None:
    """WGI scores for ``year`` when governance indicators are in the store, else None.

    The governance-weighted objective cannot run without them: it raises instead.
    """
    from chokepoints.analysis.risk import governance_scores

    if ctx.rows("governance") == 0:
        if objective == "hhi_wgi":
            raise NoDataError(
                "objective hhi_wgi needs governance scores; "
                "run 'chokepoints data ingest wgi FILE' or use --objective hhi"
            )
        return None
    return governance_scores(ctx.table("governance"), year=year)


def diversify(
    ctx: Context,
    country: str,
    product: str,
    *,
    year: int | None = None,
    exclude: Sequence[str] = (),
    trusted: Sequence[str] = (DEFAULT_TRUSTED,),
    max_share: float | None = None,
    max_change: float | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
    max_new_suppliers: int | None = None,
    redirect_fraction: float = 0.5,
    objective: str = "hhi",
    allow_partial: bool = False,
    source: str | None = None,
) -> dict[str, Any]:
    """Alternative suppliers of ``product`` for ``country`` and the optimised sourcing mix.

    Every supplier of the new mix gets 0 or at least ``min_share`` of the imports (0
    disables), and at most ``max_new_suppliers`` of them supply nothing today (None: no cap).
    Returns ``{"alternatives": DataFrame, "mix": DataFrame, "plan": SourcingPlan}``; both
    frames carry the provenance (objective, constraints, HHI before and after, feasibility,
    supplier counts). ``mix`` lists the suppliers of today or of the new mix; ``plan.mix``
    every candidate.
    """
    from chokepoints.analysis.diversify import alternative_suppliers
    from chokepoints.analysis.sourcing import optimise_sourcing

    who = ctx.economy(country)
    product = product.strip()
    dataset, year = dataset_and_year(
        ctx, economy=who, source=source, year=year, level=code_level([product])
    )
    flows = as_economies(flows_of(ctx, dataset, [year]), [who])
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial)
    trusted_codes = with_groups(ctx.members(list(trusted)), [who])
    scores = _scores(ctx, year, objective=objective)
    table = alternative_suppliers(
        flows, who.name, product, year, scores=scores, trusted=trusted_codes
    )
    alternatives = table.to_pandas().sort_values("rank")
    if alternatives.empty or alternatives["current_imports_usd"].fillna(0).sum() == 0:
        raise NoDataError(f"{who.name} imported no {product} in {year} in {dataset.label}")
    current = pd.DataFrame(
        {
            "supplier": alternatives["exporter"],
            "current_usd": alternatives["current_imports_usd"].fillna(0.0),
            "capacity_usd": alternatives["capacity_usd"].fillna(0.0),
            "trusted": alternatives["trusted"],
        }
    )
    if scores is not None:
        current["wgi_scaled"] = alternatives["wgi_scaled"]
    excluded = with_groups(ctx.members(list(exclude)), [who])
    plan = optimise_sourcing(
        current,
        objective=objective,  # type: ignore[arg-type]
        redirect_fraction=redirect_fraction,
        exclude=excluded,
        max_share=max_share,
        max_change=max_change,
        min_share=min_share,
        max_new_suppliers=max_new_suppliers,
    )
    provenance = dataset.provenance(
        year=year,
        economy=who.name,
        members=list(who.members),
        product=product,
        warnings=warnings,
        method={"name": "diversify", **plan.parameters},
        result={
            "feasible": plan.feasible,
            "hhi_before": plan.hhi_before,
            "hhi_after": plan.hhi_after,
            "hhi_wgi_before": plan.hhi_wgi_before,
            "hhi_wgi_after": plan.hhi_wgi_after,
            "replaced_share": plan.replaced_share,
            "suppliers_before": plan.suppliers_before,
            "suppliers_after": plan.suppliers_after,
            "new_suppliers": plan.new_suppliers,
            "explanation": plan.explanation,
        },
        trusted=trusted_codes,
    )
    # Candidates left at zero are no part of the mix; a supplier of today left at zero is (the
    # buyer drops it), an excluded one included, at a new share of zero.
    # Largest new amount first, then today's largest (the only order when infeasible).
    mix = plan.mix[plan.mix["current_usd"].gt(0) | plan.mix["new_usd"].gt(0)]
    mix = mix.sort_values(["new_usd", "current_usd"], ascending=False, kind="stable")
    mix = mix.reset_index(drop=True)
    mix.attrs["provenance"] = provenance
    # An excluded supplier is left, not an alternative.
    alternatives = alternatives[~alternatives["exporter"].isin(excluded)].reset_index(drop=True)
    alternatives["rank"] = range(1, len(alternatives) + 1)
    return {
        "alternatives": finish(alternatives, ALTERNATIVE_COLUMNS, provenance),
        "mix": mix,
        "plan": plan,
    }


def compare(
    ctx: Context,
    partners: Sequence[str],
    *,
    year: int | None = None,
    sector: str | None = None,
    products: Sequence[str] | None = None,
    trusted: Sequence[str] = (DEFAULT_TRUSTED,),
    exclude: Sequence[str] = (),
    allow_partial: bool = False,
    source: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Partners side by side: ``by_sector``, ``shared``, ``complementarity``, ``best_practice``,
    ``joint``.

    ``by_sector`` counts, per strategic sector, the products in each of the other four tables;
    they are per product (restricted to ``sector`` and ``products`` when given), with
    descriptions. Every frame carries the same provenance.
    """
    from chokepoints.analysis import cooperation
    from chokepoints.reference.sectors import sector_table

    economies = ctx.economies.resolve_all(partners)
    codes = [e.name for e in economies]
    level = 6 if sector is not None else code_level(products or ())
    dataset, year = _covering_all(ctx, economies, source=source, year=year, level=level)
    flows = as_economies(flows_of(ctx, dataset, [year]), economies)
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial)
    chosen, conversion = sector_selection(ctx, sector, dataset)
    converted, notes = conversion_provenance([(f"sector {sector}", conversion)])
    warnings += notes
    if products is not None:
        chosen = [p for p in products if chosen is None or p in chosen]
    every = flows
    if chosen is not None:
        flows = flows.filter(flows["product"].isin(chosen))
    risky = with_groups(ctx.members(list(exclude)), economies)
    tables = {
        "shared": cooperation.shared_chokepoints(flows, codes, year),
        "complementarity": cooperation.complementarity(
            every, codes, year, risky_suppliers=risky, products=chosen
        ),
        "best_practice": cooperation.best_practice(flows, codes, year),
        "joint": cooperation.joint_diversification(
            flows,
            codes,
            year,
            trusted=with_groups(ctx.members(list(trusted)), economies),
            exclude=risky,
        ),
    }
    provenance = dataset.provenance(
        year=year,
        partners=codes,
        sector=sector,
        warnings=warnings,
        method={"name": "cooperation"},
        **({"hs_conversion": converted} if converted else {}),
    )
    sector_map = sector_table(dataset.classification, extra_dirs=ctx.sector_dirs, converted=True)
    if sector is not None:
        sector_map = sector_map[sector_map["sector"] == sector]
    # Each table is computed once (a few rows per product); the sector counts are taken from
    # the computed rows rather than by running every table's expression again.
    frames = {name: table.to_pandas() for name, table in tables.items()}
    joint = frames["joint"]
    counted = {
        "shared": frames["shared"],
        "complementary": frames["complementarity"],
        "compared": frames["best_practice"],
        "jointly_covered": joint[joint["covered"].astype(bool)],
    }
    result = {"by_sector": finish(_by_sector(counted, sector_map), [], provenance)}
    for name, computed in frames.items():
        frame = describe(ctx, computed, dataset.classification)
        if name in LOOKED_THROUGH and not frame.empty:
            frame = _with_effective_origin(ctx, dataset, year, economies, frame)
        result[name] = finish(frame, ["product", "description", "sector"], provenance)
    return result


#: Tables of ``compare`` whose rows (product, partner) get the look-through origin beside the
#: direct shares: is a partner's diversification real upstream?
LOOKED_THROUGH = ("shared", "best_practice")


def _with_effective_origin(
    ctx: Context, dataset: Any, year: int, economies: Sequence[Any], frame: pd.DataFrame
) -> pd.DataFrame:
    """``frame`` (one row per product and partner) with each partner's top effective origin of
    the chain products through their input (``questions.upstream.effective_top``)."""
    from chokepoints.questions.upstream import effective_top

    products = sorted(set(frame["product"]))
    found = pd.concat(
        [
            effective_top(ctx, dataset, year, economy, products).assign(partner=economy.name)
            for economy in economies
        ],
        ignore_index=True,
    )
    merged = frame.merge(found, on=["product", "partner"], how="left")
    # A product in no value chain was not looked through.
    return merged.assign(looked_through=merged["looked_through"].fillna(False).astype(bool))


def _covering_all(
    ctx: Context,
    economies: Sequence[Any],
    *,
    source: str | None,
    year: int | None,
    level: int | None,
) -> tuple[Any, int]:
    """The dataset and year chosen for the first partner, checked to cover every other one."""
    dataset, year = dataset_and_year(
        ctx, economy=economies[0], source=source, year=year, level=level
    )
    for other in economies[1:]:
        dataset_and_year(ctx, economy=other, source=dataset.source, year=year, level=dataset.level)
    return dataset, year


def _by_sector(tables: dict[str, pd.DataFrame], sector_map: pd.DataFrame) -> pd.DataFrame:
    """Per sector, the number of products in each cooperation table and the shared imports.

    Columns: sector, ``<name>_products`` per table, and shared_imports_usd (the partners'
    imports of their shared chokepoints, summed). Sectors with no product in any table are left
    out.
    """
    from chokepoints.analysis.cooperation import roll_up_by_sector

    frames = []
    for name, table in tables.items():
        rolled = roll_up_by_sector(table, sector_map).set_index("sector")
        counts = rolled[["n_products"]].rename(columns={"n_products": f"{name}_products"})
        if name == "shared":
            counts["shared_imports_usd"] = rolled["imports_usd"]
        frames.append(counts)
    columns = [f"{name}_products" for name in tables]
    joined = pd.concat(frames, axis=1).reindex(columns=[*columns, "shared_imports_usd"])
    joined[columns] = joined[columns].fillna(0).astype("int64")
    joined["shared_imports_usd"] = joined["shared_imports_usd"].fillna(0.0)
    joined.index.name = "sector"
    return joined.reset_index().sort_values("sector", kind="stable").reset_index(drop=True)


MARKET_COLUMNS = [
    "rank",
    "year",
    "exporter",
    "product",
    "importer",
    "import_value_usd",
    "growth",
    "n_suppliers",
    "hhi",
    "top_supplier",
    "exporter_sales_usd",
    "exporter_share",
    "wgi_scaled",
]


def markets(
    ctx: Context,
    country: str,
    product: str,
    *,
    year: int | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Other importers of a product ``country`` exports, ranked by demand, with growth and room.

    Growth is measured over the dataset's years up to ``year`` (at most the last five).
    """
    from chokepoints.analysis.diversify import alternative_markets

    who = ctx.economy(country)
    product = product.strip()
    dataset, year = dataset_and_year(
        ctx, economy=who, side="exports", source=source, year=year, level=code_level([product])
    )
    years = [y for y in dataset.years if year - 4 <= y <= year]
    flows = as_economies(flows_of(ctx, dataset, years), [who])
    table = alternative_markets(flows, who.name, product, years, scores=_scores(ctx, year))
    frame = table.to_pandas().sort_values("rank")
    if frame.empty:
        raise NoDataError(f"no imports of {product} in {year} in {dataset.label}")
    provenance = dataset.provenance(
        year=year,
        years=years,
        economy=who.name,
        product=product,
        method={"name": "alternative_markets"},
    )
    return finish(frame, MARKET_COLUMNS, provenance)


def diversify_all(
    ctx: Context,
    country: str,
    *,
    year: int | None = None,
    sector: str | None = None,
    products: Sequence[str] | None = None,
    min_hhi: float = 0.4,
    exclude: Sequence[str] = (),
    trusted: Sequence[str] = (DEFAULT_TRUSTED,),
    max_share: float | None = None,
    max_change: float | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
    max_new_suppliers: int | None = None,
    redirect_fraction: float = 0.5,
    objective: str = "hhi",
    allow_partial: bool = False,
    source: str | None = None,
) -> pd.DataFrame:
    """The optimised sourcing of every concentrated import (HHI > ``min_hhi``) in one call.

    One row per product: imports, feasibility, HHI (and HHI_WGI with governance data) before
    and after, the share of risky supply replaced by trusted partners, the number of suppliers
    before and after and of new ones, and the reason when no mix meets the constraints
    (``min_share`` and ``max_new_suppliers`` as in :func:`diversify`). ``products`` restricts
    the batch to those HS codes.
    """
    from chokepoints.analysis.concentration import import_concentration
    from chokepoints.analysis.diversify import supplier_capacities
    from chokepoints.analysis.sourcing import SUMMARY_COLUMNS, optimise_many

    who = ctx.economy(country)
    level = 6 if sector is not None else code_level(products or ())
    dataset, year = dataset_and_year(ctx, economy=who, source=source, year=year, level=level)
    flows = as_economies(flows_of(ctx, dataset, [year]), [who])
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial)
    codes, conversion = sector_selection(ctx, sector, dataset)
    converted, notes = conversion_provenance([(f"sector {sector}", conversion)])
    warnings += notes
    if products is not None:
        codes = [p for p in products if codes is None or p in codes]
    if codes is not None:
        flows = flows.filter(flows["product"].isin(codes))
    mine = flows.filter(flows.importer == who.name)
    concentration = import_concentration(mine, top3=False)
    chosen = concentration.filter(concentration.hhi > min_hhi).select("product")
    capacities = supplier_capacities(flows, who.name, year).semi_join(chosen, "product")
    frame = capacities.to_pandas()
    if frame.empty:
        raise NoDataError(f"no import of {who.name} in {year} has an HHI above {min_hhi}")
    trusted_codes = set(with_groups(ctx.members(list(trusted)), [who]))
    frame["trusted"] = frame["exporter"].isin(trusted_codes)
    scores = _scores(ctx, year, objective=objective)
    if scores is not None:
        wgi = scores.select(exporter=scores.country, wgi_scaled=scores.wgi_scaled).to_pandas()
        frame = frame.merge(wgi, on="exporter", how="left")
    summary, _ = optimise_many(
        frame,
        objective=objective,  # type: ignore[arg-type]
        redirect_fraction=redirect_fraction,
        exclude=with_groups(ctx.members(list(exclude)), [who]),
        max_share=max_share,
        max_change=max_change,
        min_share=min_share,
        max_new_suppliers=max_new_suppliers,
    )
    summary = describe(ctx, summary, dataset.classification).sort_values(
        ["imports_usd", "product"], ascending=[False, True]
    )
    provenance = dataset.provenance(
        year=year,
        economy=who.name,
        sector=sector,
        warnings=warnings,
        method={
            "name": "diversify_batch",
            "objective": objective,
            "min_hhi": min_hhi,
            "exclude": list(exclude),
            "max_share": max_share,
            "max_change": max_change,
            "min_share": min_share,
            "max_new_suppliers": max_new_suppliers,
            "redirect_fraction": redirect_fraction,
        },
        **({"hs_conversion": converted} if converted else {}),
    )
    # The optimiser's summary, each product described.
    return finish(summary, ["product", "description", "sector", *SUMMARY_COLUMNS[1:]], provenance)
