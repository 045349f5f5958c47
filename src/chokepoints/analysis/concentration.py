"""Concentration metrics on bilateral flows, as Ibis expressions (DuckDB or Spark).

Every function takes a *flows* table (``year, exporter, importer, product, value_usd,
quantity_t``: one dataset, one product level, one row per flow; see :func:`select_flows`) and
returns an Ibis table. Shares, Herfindahl-Hirschman indices and ratios follow
docs/methods/concentration.md:

* supplier share ``s_c = M_c / sum_c M_c`` of an importer's imports of a product in a year;
* ``HHI = sum_c s_c^2`` on the 0-1 scale (0.4 = 4,000 on the 0-10,000 scale), computed as
  ``sum(v^2) / sum(v)^2`` so that one row per flow needs no join;
* import/export ratio ``M / X``, 9999 when ``X = 0`` (CEPII GeoDep);
* revealed comparative advantage ``(X_cp / X_c) / (X_wp / X_w)`` (Balassa 1965).

A group importer (EU27, G7...) is handled by :func:`as_group`: intra-group flows are dropped so
that only extra-group flows count as its imports and exports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

FLOW_KEY = ("year", "exporter", "importer", "product")
IMPORT_KEY = ("year", "importer", "product")
EXPORT_KEY = ("year", "exporter", "product")

#: Import/export ratio used when a country does not export the product at all (CEPII GeoDep).
NO_EXPORTS_RATIO = 9999.0


#: The key of :func:`top_by`: the largest value first, then the smallest code.
TOP_KEY = dt.Struct({"neg_value": "float64", "code": "string"})


@ibis.udf.agg.builtin(name="arg_min")
def _duckdb_arg_min(arg: str, key: TOP_KEY) -> str:  # type: ignore[valid-type, empty-body]
    """DuckDB's native ``arg_min(arg, key)``."""


def top_by(arg: ir.StringColumn, key: ir.FloatingColumn) -> ir.StringScalar:
    """The ``arg`` of the row with the largest ``key`` (the top supplier, exporter, market);
    among rows tied on ``key``, the smallest ``arg`` (code), as every ranking here does.

    Without the tie rule each engine (and DuckDB from one run to the next, its threads
    combining partial results in any order) could name another of the tied codes. The key is
    ``(-key, arg)``, the smallest of which wins. On DuckDB this calls its native ``arg_min``:
    Ibis 12 compiles ``argmin`` to an ordered ``FIRST(arg ORDER BY key)``, which made GeoDep
    at BACI scale 15% slower. Other backends (Spark: ``min_by``) use Ibis's portable
    ``argmin``.
    """
    ranked = ibis.struct({"neg_value": (-key).cast("float64"), "code": arg.cast("string")})
    if ibis.get_backend(arg).name == "duckdb":
        return _duckdb_arg_min(arg, ranked)
    return arg.argmin(ranked)


def hhi_of_shares(shares: Iterable[float]) -> float:
    """``sum s^2`` of shares already computed (production shares, a sourcing mix), 0-1 scale."""
    return float(sum(share * share for share in shares))


def positive(flows: ir.Table) -> ir.Table:
    """Flows worth more than zero: a zero-valued flow supplies nothing and has no share."""
    return flows.filter(flows.value_usd > 0)


def attach(left: ir.Table, right: ir.Table, keys: Sequence[str]) -> ir.Table:
    """``left`` with the non-key columns of ``right`` joined on ``keys`` (null when absent)."""
    keys = list(keys)
    joined = left.left_join(right, keys)
    extra = [c for c in right.columns if c not in keys]
    return joined.select(*[left[c] for c in left.columns], *[right[c] for c in extra])


def select_flows(
    trade: ir.Table,
    *,
    source: str | None = None,
    classification: str | None = None,
    level: int = 6,
    years: Sequence[int] | None = None,
    distinct_keys: bool = False,
) -> ir.Table:
    """One dataset's flows at one product level, one row per (year, exporter, importer, product).

    Rows reported by the importer (or reconciled, as in BACI) are used as they are; rows
    reported only by the exporter fill the gaps (mirror data). Self-flows (re-imports) are
    dropped, since a country is not its own supplier. ``distinct_keys`` says the rows are
    already one per key from one reporter side (``Dataset.distinct_keys``): the merge, a
    hash aggregation over every flow, is then skipped.
    """
    t = trade.filter(trade.level == level)
    if source is not None:
        t = t.filter(t.source == source)
    if classification is not None:
        t = t.filter(t.classification == classification)
    if years is not None:
        t = t.filter(t.year.isin(list(years)))
    t = t.filter(t.exporter != t.importer)
    if distinct_keys:
        return t.select(*FLOW_KEY, "value_usd", "quantity_t")
    direct = t.filter(t.reporter_side.isin(["importer", "reconciled"]))
    mirror = t.filter(t.reporter_side == "exporter").anti_join(direct, list(FLOW_KEY))
    both = direct.select(*FLOW_KEY, "value_usd", "quantity_t").union(
        mirror.select(*FLOW_KEY, "value_usd", "quantity_t")
    )
    return both.group_by(list(FLOW_KEY)).aggregate(
        value_usd=both.value_usd.sum(), quantity_t=both.quantity_t.sum()
    )


def as_group(flows: ir.Table, name: str, members: Sequence[str]) -> ir.Table:
    """Flows of a group of countries seen as one economy called ``name``.

    Flows between members are dropped; the group's imports are its members' imports from
    outside, its exports their exports to outside; flows not touching the group are kept.
    World-level metrics must still come from the original flows (intra-group trade is world
    trade): pass the result as ``importer_flows`` next to the world's ``flows``.
    """
    members = list(members)
    inside_exporter = flows.exporter.isin(members)
    inside_importer = flows.importer.isin(members)
    relabelled = flows.filter(~(inside_exporter & inside_importer)).mutate(
        exporter=inside_exporter.ifelse(ibis.literal(name), flows.exporter),
        importer=inside_importer.ifelse(ibis.literal(name), flows.importer),
    )
    return relabelled.group_by(list(FLOW_KEY)).aggregate(
        value_usd=relabelled.value_usd.sum(), quantity_t=relabelled.quantity_t.sum()
    )


def supplier_shares(flows: ir.Table) -> ir.Table:
    """Per (year, importer, product, exporter): value, quantity and the exporter's share."""
    flows = positive(flows)
    total = flows.value_usd.sum().over(group_by=list(IMPORT_KEY))
    return flows.select(
        *IMPORT_KEY, "exporter", "value_usd", "quantity_t", share=flows.value_usd / total
    )


def import_concentration(
    flows: ir.Table,
    *,
    focus: Mapping[str, Sequence[str]] | None = None,
    top3: bool = True,
) -> ir.Table:
    """Per (year, importer, product): imports, suppliers, HHI, top supplier and top-3 share.

    ``focus`` maps names to supplier countries (``{"CHN": ["CHN"], "G7": [...]}``); each adds a
    column ``share_<name>``: the share of imports coming from those suppliers. ``top3=False``
    skips the top-3 share, which needs a ranking window (the costliest step at BACI scale).
    """
    flows = positive(flows)
    if top3:
        rank = ibis.row_number().over(
            group_by=list(IMPORT_KEY), order_by=[ibis.desc(flows.value_usd), flows.exporter]
        )
        flows = flows.mutate(rank=rank)
    value = flows.value_usd
    total = value.sum()
    extra = {
        f"share_{name.lower()}": value.sum(where=flows.exporter.isin(list(members))) / total
        for name, members in (focus or {}).items()
    }
    if top3:
        extra["top3_share"] = value.sum(where=flows["rank"] < 3) / total
    result = flows.group_by(list(IMPORT_KEY)).aggregate(
        import_value_usd=total,
        import_quantity_t=flows.quantity_t.sum(),
        n_suppliers=flows.count(),
        hhi=(value * value).sum() / (total * total),
        top_supplier=top_by(flows.exporter, value),
        top_supplier_share=value.max() / total,
        **extra,
    )
    return result.mutate(**{k: result[k].fill_null(0.0) for k in extra})


def world_exports(flows: ir.Table) -> ir.Table:
    """Per (year, product): world exports, exporters, world export HHI, top exporter and share."""
    flows = positive(flows)
    by_exporter = flows.group_by(list(EXPORT_KEY)).aggregate(x=flows.value_usd.sum())
    x = by_exporter.x
    total = x.sum()
    return by_exporter.group_by(["year", "product"]).aggregate(
        world_export_value_usd=total,
        n_exporters=by_exporter.count(),
        world_export_hhi=(x * x).sum() / (total * total),
        top_exporter=top_by(by_exporter.exporter, x),
        top_exporter_share=x.max() / total,
    )


def exporter_totals(flows: ir.Table) -> ir.Table:
    """Per (year, exporter, product): the exporter's sales to all markets (``x``)."""
    flows = positive(flows)
    return flows.group_by(list(EXPORT_KEY)).aggregate(x=flows.value_usd.sum())


def world_export_hhi(totals: ir.Table) -> ir.Table:
    """Per (year, product): the world export HHI, from :func:`exporter_totals`.

    Only what dependency criteria need, so that one exporter aggregation serves both the world
    HHI and the importers' own exports.
    """
    x = totals.x
    return totals.group_by(["year", "product"]).aggregate(
        world_export_hhi=(x * x).sum() / (x.sum() * x.sum())
    )


def exporter_shares(flows: ir.Table) -> ir.Table:
    """Per (year, product, exporter): exports and the exporter's share of world exports."""
    flows = positive(flows)
    by_exporter = flows.group_by(list(EXPORT_KEY)).aggregate(export_value_usd=flows.value_usd.sum())
    world = by_exporter.export_value_usd.sum().over(group_by=["year", "product"])
    return by_exporter.mutate(world_share=by_exporter.export_value_usd / world)


def trade_balance(flows: ir.Table) -> ir.Table:
    """Per (year, country, product): exports, imports, import/export ratio and RCA.

    ``import_export_ratio`` is ``imports / exports``, 9999 when exports are 0 (CEPII GeoDep).
    ``rca`` is Balassa's ``(X_cp / X_c) / (X_wp / X_w)``; null for countries without exports.
    """
    flows = positive(flows)
    exports = flows.group_by(["year", flows.exporter.name("country"), "product"]).aggregate(
        exports_usd=flows.value_usd.sum()
    )
    imports = flows.group_by(["year", flows.importer.name("country"), "product"]).aggregate(
        imports_usd=flows.value_usd.sum()
    )
    joined = exports.outer_join(imports, ["year", "country", "product"]).select(
        year=ibis.coalesce(exports.year, imports.year),
        country=ibis.coalesce(exports.country, imports.country),
        product=ibis.coalesce(exports.product, imports.product),
        exports_usd=exports.exports_usd.fill_null(0.0),
        imports_usd=imports.imports_usd.fill_null(0.0),
    )
    country_total = joined.exports_usd.sum().over(group_by=["year", "country"])
    product_total = joined.exports_usd.sum().over(group_by=["year", "product"])
    world_total = joined.exports_usd.sum().over(group_by=["year"])
    rca = (joined.exports_usd / country_total) / (product_total / world_total)
    return joined.mutate(
        import_export_ratio=(joined.exports_usd == 0).ifelse(
            NO_EXPORTS_RATIO, joined.imports_usd / joined.exports_usd
        ),
        rca=(country_total > 0).ifelse(rca, ibis.null("float64")),
    )


def export_rca(flows: ir.Table, products: Sequence[str] | None = None) -> ir.Table:
    """Per (year, country, product): exports and Balassa's RCA, for ``products`` only.

    The same ``rca`` as :func:`trade_balance` (``(X_cp / X_c) / (X_wp / X_w)``, totals over
    every product), but the per-product sums are taken on the chosen products alone, so asking
    for a few products costs two small aggregations over the flows instead of one per (country,
    product) pair.
    """
    flows = positive(flows)
    country = flows.group_by(["year", flows.exporter.name("country")]).aggregate(
        x_c=flows.value_usd.sum()
    )
    world = flows.group_by("year").aggregate(x_w=flows.value_usd.sum())
    chosen = flows if products is None else flows.filter(flows["product"].isin(list(products)))
    per_pair = chosen.group_by(["year", chosen.exporter.name("country"), "product"]).aggregate(
        exports_usd=chosen.value_usd.sum()
    )
    per_product = chosen.group_by(["year", "product"]).aggregate(x_wp=chosen.value_usd.sum())
    joined = (
        per_pair.join(country, ["year", "country"])
        .join(per_product, ["year", "product"])
        .join(world, "year")
    )
    rca = (joined.exports_usd / joined.x_c) / (joined.x_wp / joined.x_w)
    return joined.select("year", "country", "product", "exports_usd", rca=rca)


def export_dependence(
    flows: ir.Table, *, focus: Mapping[str, Sequence[str]] | None = None
) -> ir.Table:
    """Per (year, exporter, product): how much the exporter's sales hang on one market.

    Columns: export value, number of markets, destination HHI, top market and its share,
    ``share_<name>`` for each ``focus`` group of markets, and ``share_of_exports`` (the product's
    share of the exporter's total exports that year).
    """
    flows = positive(flows)
    value = flows.value_usd
    total = value.sum()
    extra = {
        f"share_{name.lower()}": value.sum(where=flows.importer.isin(list(members))) / total
        for name, members in (focus or {}).items()
    }
    per_product = flows.group_by(list(EXPORT_KEY)).aggregate(
        export_value_usd=total,
        n_markets=flows.count(),
        market_hhi=(value * value).sum() / (total * total),
        top_market=top_by(flows.importer, value),
        top_market_share=value.max() / total,
        **extra,
    )
    all_products = per_product.export_value_usd.sum().over(group_by=["year", "exporter"])
    return per_product.mutate(
        share_of_exports=per_product.export_value_usd / all_products,
        **{k: per_product[k].fill_null(0.0) for k in extra},
    )


def country_coverage(trade: ir.Table) -> ir.Table:
    """Per (source, classification, level, year, country): its reported imports and exports.

    Read from the canonical ``trade`` table, not from flows: a country's imports count as
    reported on importer-side or reconciled rows, its exports on exporter-side or reconciled
    rows, so that a file of one country's imports covers that country and no other. Every
    country seen in a year has a row (zero when it reports nothing), which gives the number of
    countries seen. Choosing a dataset for an economy reads this table.
    """
    keys = ["source", "classification", "level", "year"]
    t = trade.filter(trade.value_usd > 0, trade.exporter != trade.importer)
    imports = t.reporter_side.isin(["importer", "reconciled"]).ifelse(t.value_usd, 0.0)
    exports = t.reporter_side.isin(["exporter", "reconciled"]).ifelse(t.value_usd, 0.0)
    sides = t.select(*keys, country=t.importer, imports_usd=imports, exports_usd=0.0).union(
        t.select(*keys, country=t.exporter, imports_usd=0.0, exports_usd=exports)
    )
    return sides.group_by([*keys, "country"]).aggregate(
        imports_usd=sides.imports_usd.sum(), exports_usd=sides.exports_usd.sum()
    )


def coverage(flows: ir.Table) -> ir.Table:
    """Per year: countries seen as importers and exporters, and the share that import.

    World-level criteria (world export HHI, a country's exports to all markets) are only
    meaningful when the data covers (nearly) every importer, as BACI does. A file of one
    country's imports has many exporters and one importer: ``importer_share`` tells them apart.
    """
    flows = positive(flows)
    importers = flows.group_by("year").aggregate(n_importers=flows.importer.nunique())
    exporters = flows.group_by("year").aggregate(n_exporters=flows.exporter.nunique())
    countries = (
        flows.select("year", country=flows.importer)
        .union(flows.select("year", country=flows.exporter))
        .distinct()
    )
    seen = countries.group_by("year").aggregate(n_countries=countries.count())
    joined = importers.join(exporters, "year").join(seen, "year")
    return joined.mutate(importer_share=joined.n_importers / joined.n_countries)
