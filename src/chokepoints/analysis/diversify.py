"""Where else to buy a product, and where else to sell one.

Documented in ``docs/methods/diversify.md``; the optimiser that chooses a new mix is in
:mod:`chokepoints.analysis.sourcing`.

* :func:`alternative_suppliers` lists, as an Ibis expression over a flows table (portable
  operations only, DuckDB or Spark), every exporter of a product with the reasons to consider
  it: spare capacity, revealed comparative advantage, governance, trusted-group membership,
  the existing relationship and its unit value against the current main supplier.
* :func:`alternative_markets` the other importers an exporter could sell a product to.
* :func:`supplier_capacities` the input of the batch optimiser (``sourcing.optimise_many``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import ibis
import ibis.expr.types as ir

from chokepoints.analysis.concentration import attach, export_rca, positive, top_by


def alternative_suppliers(
    flows: ir.Table,
    importer: str,
    product: str,
    year: int,
    *,
    scores: ir.Table | None = None,
    trusted: Collection[str] = frozenset(),
    main_supplier: str | None = None,
) -> ir.Table:
    """Every exporter of ``product`` in ``year`` other than ``importer``, ranked, with reasons.

    Columns: exporter, capacity_usd (its exports of the product to every market but the
    importer), current_imports_usd (the importer's imports from it), current_share (of the
    importer's imports), world_share (of world exports), rca (Balassa 1965, from
    :func:`~chokepoints.analysis.concentration.export_rca`), wgi_scaled (0-10, higher =
    worse; null without ``scores``), trusted (member of ``trusted``), unit_value_usd_per_t
    (value / tonnes over its flows that report a quantity, null without any),
    unit_value_ratio (against ``main_supplier``, by default the importer's largest supplier)
    and rank: 1 = first, ordered by trusted first, then capacity_usd descending, then exporter.
    """
    flows = positive(flows.filter(flows.year == year))
    rca = export_rca(flows, [product])
    rca = rca.select(exporter=rca.country, rca=rca.rca)
    sales = flows.filter(flows["product"] == product)
    to_importer = sales.importer == importer
    priced = (sales.quantity_t > 0).fill_null(False)
    per_exporter = sales.group_by("exporter").aggregate(
        export_value_usd=sales.value_usd.sum(),
        capacity_usd=sales.value_usd.sum(where=~to_importer),
        current_imports_usd=sales.value_usd.sum(where=to_importer),
        _priced_usd=sales.value_usd.sum(where=priced),
        _priced_t=sales.quantity_t.sum(where=priced),
    )
    per_exporter = per_exporter.mutate(
        world_share=per_exporter.export_value_usd / per_exporter.export_value_usd.sum().over()
    )
    t = per_exporter.filter(per_exporter.exporter != importer)
    imports_total = t.current_imports_usd.fill_null(0.0).sum().over()
    t = t.mutate(
        capacity_usd=t.capacity_usd.fill_null(0.0),
        current_imports_usd=t.current_imports_usd.fill_null(0.0),
        unit_value_usd_per_t=(t._priced_t > 0).ifelse(
            t._priced_usd / t._priced_t, ibis.null("float64")
        ),
        _imports_total=imports_total,
    )
    t = t.mutate(
        current_share=(t._imports_total > 0).ifelse(
            t.current_imports_usd / t._imports_total, ibis.null("float64")
        )
    )
    if main_supplier is None:
        main = t.filter(t.current_imports_usd > 0)
        main = main.order_by([ibis.desc(main.current_imports_usd), main.exporter]).limit(1)
    else:
        main = t.filter(t.exporter == main_supplier)
    main = main.aggregate(_main_uv=main.unit_value_usd_per_t.max())
    t = t.cross_join(main)
    t = t.mutate(unit_value_ratio=t.unit_value_usd_per_t / t._main_uv)
    members = sorted(trusted)
    is_trusted = t.exporter.isin(members) if members else ibis.literal(False)
    t = t.mutate(trusted=is_trusted)
    t = t.left_join(rca, "exporter").select(*t.columns, "rca")
    if scores is None:
        t = t.mutate(wgi_scaled=ibis.null("float64"))
    else:
        wgi = scores.select(exporter=scores.country, wgi_scaled=scores.wgi_scaled)
        t = t.left_join(wgi, "exporter").select(*t.columns, "wgi_scaled")
    order = [ibis.desc(t.trusted), ibis.desc(t.capacity_usd), t.exporter]
    t = t.mutate(rank=(ibis.row_number().over(order_by=order) + 1).cast("int32"))
    return t.select(
        "rank",
        "exporter",
        "capacity_usd",
        "current_imports_usd",
        "current_share",
        "world_share",
        t.rca.cast("float64").name("rca"),
        t.wgi_scaled.cast("float64").name("wgi_scaled"),
        "trusted",
        "unit_value_usd_per_t",
        "unit_value_ratio",
    ).order_by("rank")


def alternative_markets(
    flows: ir.Table,
    exporter: str,
    product: str,
    years: Sequence[int],
    *,
    scores: ir.Table | None = None,
) -> ir.Table:
    """Other importers of ``product`` an exporter could sell to, ranked by import demand.

    Per importer (not the exporter itself) in the last of ``years``: its imports of the product,
    their yearly growth since the first year it imported it within ``years`` (compound rate),
    its suppliers and their HHI (a concentrated market has room for a new supplier only if the
    incumbent can be displaced; a diversified one takes newcomers more easily), the exporter's
    current sales there and share, and the importer's WGI score when ``scores`` are given.
    ``rank`` orders by import demand, largest first.
    """
    years = sorted(years)
    last = years[-1]
    f = positive(flows.filter(flows["product"] == product))
    f = f.filter(f.year.isin(years) & (f.importer != exporter))
    by_year = f.group_by(["importer", "year"]).aggregate(m=f.value_usd.sum())
    first = by_year.group_by("importer").aggregate(first_year=by_year.year.min())
    base = by_year.join(
        first, [by_year.importer == first.importer, by_year.year == first.first_year]
    ).select(importer=by_year.importer, first_year=first.first_year, first_m=by_year.m)
    now = f.filter(f.year == last)
    value = now.value_usd
    total = value.sum()
    current = now.group_by("importer").aggregate(
        import_value_usd=total,
        n_suppliers=now.count(),
        hhi=(value * value).sum() / (total * total),
        top_supplier=top_by(now.exporter, value),
        exporter_sales_usd=value.sum(where=now.exporter == exporter),
    )
    joined = attach(current, base, ["importer"])
    span = ibis.literal(last) - joined.first_year
    growth = (span > 0).ifelse(
        (joined.import_value_usd / joined.first_m).pow(1.0 / span.cast("float64")) - 1.0,
        ibis.null("float64"),
    )
    result = joined.mutate(
        exporter_sales_usd=joined.exporter_sales_usd.fill_null(0.0),
        exporter_share=joined.exporter_sales_usd.fill_null(0.0) / joined.import_value_usd,
        growth=growth,
    ).drop("first_m")
    if scores is not None:
        result = attach(
            result,
            scores.select(importer=scores.country, wgi_scaled=scores.wgi_scaled),
            ["importer"],
        )
    rank = ibis.row_number().over(order_by=[ibis.desc(result.import_value_usd), result.importer])
    return result.mutate(
        year=ibis.literal(last).cast("int16"),
        exporter=ibis.literal(exporter),
        product=ibis.literal(product),
        rank=rank + 1,
    )


def supplier_capacities(
    flows: ir.Table, importer: str, year: int, *, products: Sequence[str] | None = None
) -> ir.Table:
    """Per (product, exporter) of the importer's imports: its purchases and the capacity.

    The batch form of :func:`alternative_suppliers` for ``sourcing.optimise_many``: every
    exporter of every product the importer buys, with ``current_usd`` (the importer's
    purchases from it) and ``capacity_usd`` (its sales of the product to every other market).
    """
    f = positive(flows.filter(flows.year == year))
    if products is not None:
        f = f.filter(f["product"].isin(list(products)))
    bought = f.filter(f.importer == importer).select("product").distinct()
    f = f.filter(f.exporter != importer).semi_join(bought, "product")
    mine = f.importer == importer
    return f.group_by(["product", "exporter"]).aggregate(
        current_usd=f.value_usd.sum(where=mine).fill_null(0.0),
        capacity_usd=f.value_usd.sum(where=~mine).fill_null(0.0),
    )
