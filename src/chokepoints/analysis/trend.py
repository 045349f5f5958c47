"""How an importer's dependency on one supplier moves over the years.

Answers "are we really moving away from China?": per year, the supplier's share of the
importer's imports (of a sector, or of everything), the number of products it is the top
supplier of, and the number of products that are dependent on it by the single-year GeoDep
criteria (import HHI, world export HHI, import/export ratio) with it as top supplier.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from chokepoints.analysis.concentration import top_by
from chokepoints.analysis.dependency import GeoDep, dependency_metrics


def supplier_trend(
    flows: ir.Table,
    *,
    importer: str,
    supplier: str,
    supplier_members: Sequence[str],
    importer_flows: ir.Table | None = None,
    products: Sequence[str] | None = None,
    params: GeoDep = GeoDep(),
    world: ir.Table | None = None,
) -> ir.Table:
    """Per year: imports, imports from ``supplier``, its share, and products depending on it.

    ``supplier_members`` are the countries making up ``supplier`` (one country, or a group
    such as the EU27). ``products`` restricts everything to a sector's codes. ``world``: the
    world export concentration of ``flows`` when at hand (see ``dependency_metrics``).
    """
    if products is not None:
        flows = flows.filter(flows["product"].isin(list(products)))
        if importer_flows is not None:
            importer_flows = importer_flows.filter(importer_flows["product"].isin(list(products)))
    local = flows if importer_flows is None else importer_flows
    mine = local.filter(local.importer == importer)
    from_supplier = mine.exporter.isin(list(supplier_members))
    totals = mine.group_by("year").aggregate(
        imports_usd=mine.value_usd.sum(),
        from_supplier_usd=mine.value_usd.sum(where=from_supplier),
        n_products=mine["product"].nunique(),
    )
    # Its exports too: the import/export ratio needs them (with its imports alone every
    # product would look like one it does not export).
    own = local.filter((local.importer == importer) | (local.exporter == importer))
    metrics = dependency_metrics(flows, importer_flows=own, top3=False, world=world)
    metrics = metrics.filter(metrics.importer == importer)
    top_is_supplier = metrics.top_supplier.isin(list(supplier_members))
    dependent = (
        (metrics.hhi > params.import_hhi)
        & (metrics.world_export_hhi > params.world_export_hhi).fill_null(False)
        & (metrics.import_export_ratio > params.import_export_ratio)
    )
    counts = metrics.group_by("year").aggregate(
        n_products_top_supplier=top_is_supplier.ifelse(1, 0).sum(),
        n_dependent=dependent.ifelse(1, 0).sum(),
        n_dependent_on_supplier=(dependent & top_is_supplier).ifelse(1, 0).sum(),
        mean_hhi=metrics.hhi.mean(),
    )
    joined = totals.join(counts, "year")
    return joined.mutate(
        importer=ibis.literal(importer),
        supplier=ibis.literal(supplier),
        from_supplier_usd=joined.from_supplier_usd.fill_null(0.0),
        supplier_share=joined.from_supplier_usd.fill_null(0.0) / joined.imports_usd,
    ).order_by("year")


def trend_verdict(
    first_share: float,
    last_share: float,
    first_dependent: int,
    last_dependent: int,
    *,
    tolerance: float = 0.01,
) -> str:
    """``de-risking``, ``deepening`` or ``stable``: the direction of the supplier's grip.

    De-risking when the supplier's share fell by more than ``tolerance`` (1 percentage point)
    without more products depending on it, or when fewer products depend on it at an equal
    share; deepening in the opposite cases; stable otherwise.
    """
    change = last_share - first_share
    if (change < -tolerance and last_dependent <= first_dependent) or (
        abs(change) <= tolerance and last_dependent < first_dependent
    ):
        return "de-risking"
    if (change > tolerance and last_dependent >= first_dependent) or (
        abs(change) <= tolerance and last_dependent > first_dependent
    ):
        return "deepening"
    return "stable"


def supplier_exposure_by_sector(
    flows: ir.Table,
    sectors: ir.Table,
    *,
    importer: str,
    supplier_members: Sequence[str],
) -> ir.Table:
    """Per sector: the importer's imports, those from the supplier, their share, and products.

    ``sectors`` maps products to sectors (``product``, ``sector``). ``n_products_top_supplier``
    counts the sector's products of which the supplier is the largest supplier.
    """
    mine = flows.filter(flows.importer == importer)
    from_supplier = mine.exporter.isin(list(supplier_members))
    per_product = mine.group_by("product").aggregate(
        imports_usd=mine.value_usd.sum(),
        from_supplier_usd=mine.value_usd.sum(where=from_supplier),
        top=top_by(mine.exporter, mine.value_usd),
    )
    joined = per_product.join(sectors.select("product", "sector"), "product")
    by_sector = joined.group_by("sector").aggregate(
        imports_usd=joined.imports_usd.sum(),
        from_supplier_usd=joined.from_supplier_usd.fill_null(0.0).sum(),
        n_products=joined.count(),
        n_products_top_supplier=joined.top.isin(list(supplier_members)).ifelse(1, 0).sum(),
    )
    return by_sector.mutate(
        supplier_share=by_sector.from_supplier_usd / by_sector.imports_usd
    ).order_by([ibis.desc("from_supplier_usd"), "sector"])
