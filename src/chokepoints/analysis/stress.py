"""Batch stress test: every supplier country x every sector, ranked by the loss it would cause.

For each (supplier, sector) the test cuts all of the supplier's exports of the sector's products
to every importer (fraction 1 unless given), and measures per (importer, product), then summed
over the sector:

* ``lost_value_usd``: the importer's imports from the supplier (times the fraction);
* ``redirectable_value_usd``: the importer's part of the product's spare pool, ``r`` times the
  other exporters' sales to the importers that do not buy from the supplier (``r`` is the
  redirect fraction, 0.5 by default), shared among all the importers the cut-off hits pro rata
  to their losses (``scenario.shared_redirect``; ``allocation="per_importer"`` gives the
  optimistic bound instead);
* ``shortfall_value_usd = lost - redirectable``.

A row of the test is therefore the importer's share of a world-wide cut-off, and agrees with
``shock --supplier S --sector X`` for every importer. One Ibis expression computes the whole
table (the world's chokepoints) at BACI scale; see docs/methods/scenarios.md.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from chokepoints.analysis.concentration import positive
from chokepoints.analysis.scenario import check_allocation, shared_redirect

#: Columns of the stress-test table, in order.
STRESS_COLUMNS = [
    "year",
    "importer",
    "sector",
    "supplier",
    "sector_imports_usd",
    "lost_value_usd",
    "lost_share",
    "redirectable_value_usd",
    "shortfall_value_usd",
    "shortfall_share",
    "n_products",
    "rank",
]

#: Share of other exporters' sales to third countries assumed redirectable to a cut-off importer.
DEFAULT_REDIRECT_FRACTION = 0.5


def stress_test(
    flows: ir.Table,
    year: int,
    sectors: ir.Table,
    *,
    fraction: float = 1.0,
    redirect_fraction: float = DEFAULT_REDIRECT_FRACTION,
    allocation: str = "pro_rata",
) -> ir.Table:
    """Per (importer, sector, supplier): loss, redirectable supply and shortfall if cut off.

    ``sectors`` maps products to sectors (columns ``product``, ``sector``; a product may be in
    several sectors). Columns of the result: year, importer, sector, supplier, sector_imports_usd,
    lost_value_usd, lost_share (of the importer's imports of the sector), redirectable_value_usd,
    shortfall_value_usd, shortfall_share, n_products (products the supplier sells it), rank
    (1 = the supplier whose cut-off leaves the largest shortfall for that importer and sector).
    """
    check_allocation(allocation)
    f = positive(flows.filter(flows.year == year))
    pairs = f.group_by(["importer", "product", "exporter"]).aggregate(v=f.value_usd.sum())
    # Totals by window rather than by joining aggregates back: joining two per-(country,
    # product) tables lets the optimiser pair them on product alone, a join that explodes.
    cut = pairs.select(
        "importer",
        "product",
        supplier=pairs.exporter,
        lost=pairs.v * fraction,
        m=pairs.v.sum().over(group_by=["importer", "product"]),
        sup_x=pairs.v.sum().over(group_by=["exporter", "product"]),
        world_x=pairs.v.sum().over(group_by=["product"]),
    )
    # The supplier's customers are all hit: the pool is what the other exporters sell to the
    # importers that buy nothing from it, i.e. world imports less its customers' imports.
    cut = cut.mutate(hit_m=cut.m.sum().over(group_by=["supplier", "product"]))
    pool = redirect_fraction * (cut.world_x - cut.hit_m).clip(lower=0.0)
    redirectable = shared_redirect(cut.lost, pool, cut.sup_x * fraction, allocation)
    imports = pairs.group_by(["importer", "product"]).aggregate(m=pairs.v.sum())
    per_product = cut.mutate(redirectable=redirectable)
    in_sectors = per_product.join(sectors.select("product", "sector"), "product")
    sector_imports = (
        imports.join(sectors.select("product", "sector"), "product")
        .group_by(["importer", "sector"])
        .aggregate(sector_imports_usd=ibis._.m.sum())
    )
    totals = in_sectors.group_by(["importer", "sector", "supplier"]).aggregate(
        lost_value_usd=in_sectors.lost.sum(),
        redirectable_value_usd=in_sectors.redirectable.sum(),
        n_products=in_sectors["product"].nunique(),
    )
    totals = totals.join(sector_imports, ["importer", "sector"])
    shortfall = totals.lost_value_usd - totals.redirectable_value_usd
    ranked = totals.mutate(
        shortfall_value_usd=shortfall,
        lost_share=totals.lost_value_usd / totals.sector_imports_usd,
        shortfall_share=shortfall / totals.sector_imports_usd,
    )
    rank = ibis.row_number().over(
        group_by=["importer", "sector"],
        order_by=[ibis.desc(ranked.shortfall_value_usd), ranked.supplier],
    )
    return ranked.mutate(year=ibis.literal(year).cast("int16"), rank=rank + 1).select(
        *STRESS_COLUMNS
    )
