"""Cooperation between partners: shared chokepoints, complementarity, best practice, pooling.

Every function takes a *flows* table (``year, exporter, importer, product, value_usd,
quantity_t``; see ``concentration.select_flows``), a list of partner countries (ISO3) and one
year, and returns an Ibis table (DuckDB or Spark). Per HS6 product it answers one question of
docs/methods/cooperation.md:

* :func:`shared_chokepoints`: on which products does every partner depend on the same supplier?
* :func:`complementarity`: where can one partner sell what another buys from a risky supplier?
* :func:`best_practice`: which partner has the most diversified import mix, and how does it differ?
* :func:`joint_diversification`: can trusted suppliers' spare exports cover the partners' pooled
  imports from risky suppliers?

:func:`roll_up_by_sector` summarises any of these tables per sector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd

from chokepoints.analysis.concentration import (
    attach,
    export_rca,
    exporter_shares,
    import_concentration,
    positive,
)
from chokepoints.errors import InputError


def check_partners(partners: Sequence[str]) -> list[str]:
    """The partners as a list, after checking there are at least two distinct ones.

    Every comparison needs two sides; a repeated code would count one country twice.
    """
    codes = list(partners)
    if len(codes) < 2 or len(set(codes)) != len(codes):
        raise InputError(
            f"partners must be at least two distinct countries, got {codes}",
            field="partners",
            hint="pass e.g. ['JPN', 'DEU']",
        )
    return codes


def partner_imports(flows: ir.Table, partners: Sequence[str], year: int) -> ir.Table:
    """Per (partner, product) in ``year``: imports, HHI, top supplier and its share.

    ``import_concentration`` restricted to the partners as importers, with ``importer`` renamed
    ``partner`` and ``import_value_usd`` renamed ``imports_usd``.
    """
    this_year = flows.filter((flows.year == year) & flows.importer.isin(list(partners)))
    conc = import_concentration(this_year, top3=False)
    return conc.select(
        "product",
        partner=conc.importer,
        imports_usd=conc.import_value_usd,
        hhi=conc.hhi,
        top_supplier=conc.top_supplier,
        top_supplier_share=conc.top_supplier_share,
    )


def shared_chokepoints(
    flows: ir.Table,
    partners: Sequence[str],
    year: int,
    *,
    hhi_threshold: float = 0.4,
    share_threshold: float = 0.5,
) -> ir.Table:
    """Products on which every partner depends on the same dominant supplier, in long format.

    A partner depends on supplier ``s`` for a product when its import HHI > ``hhi_threshold``
    and ``s`` is its top supplier with a share > ``share_threshold``. A product is a shared
    chokepoint when this holds for every partner with the same ``s``: one supplier can then
    squeeze all of them at once, so they gain most from acting together.

    One row per (product, partner): ``product, supplier, partner, imports_usd, hhi,
    supplier_share``. :func:`shared_chokepoints_wide` gives one row per product.
    """
    partners = check_partners(partners)
    imports = partner_imports(flows, partners, year)
    dependent = imports.filter(
        (imports.hhi > hhi_threshold) & (imports.top_supplier_share > share_threshold)
    )
    shared = (
        dependent.group_by(["product", "top_supplier"])
        .aggregate(n_partners=dependent.partner.nunique())
        .filter(lambda t: t.n_partners == len(partners))
    )
    rows = dependent.semi_join(shared, ["product", "top_supplier"])
    return rows.select(
        "product",
        supplier=rows.top_supplier,
        partner=rows.partner,
        imports_usd=rows.imports_usd,
        hhi=rows.hhi,
        supplier_share=rows.top_supplier_share,
    ).order_by(["product", "partner"])


def shared_chokepoints_wide(shared: ir.Table, partners: Sequence[str]) -> ir.Table:
    """One row per shared chokepoint: ``product, supplier`` and per partner ``P``
    ``imports_usd_P, hhi_P, supplier_share_P``, plus the partners' ``total_imports_usd``.

    The wide view of :func:`shared_chokepoints` for reports that compare partners side by side.
    """
    partners = check_partners(partners)
    columns = {}
    for code in partners:
        mine = shared.partner == code
        columns[f"imports_usd_{code}"] = shared.imports_usd.max(where=mine)
        columns[f"hhi_{code}"] = shared.hhi.max(where=mine)
        columns[f"supplier_share_{code}"] = shared.supplier_share.max(where=mine)
    return (
        shared.group_by(["product", "supplier"])
        .aggregate(total_imports_usd=shared.imports_usd.sum(), **columns)
        .order_by("product")
    )


def complementarity(
    flows: ir.Table,
    partners: Sequence[str],
    year: int,
    *,
    rca_threshold: float = 1.0,
    risky_suppliers: Sequence[str] = (),
    hhi_threshold: float = 0.4,
    products: Sequence[str] | None = None,
) -> ir.Table:
    """Products one partner exports strongly while another depends on a risky supplier for them.

    Exporter side: a partner with revealed comparative advantage ``rca > rca_threshold``
    (Balassa 1965) and its share of world exports. Importer side: another partner whose import
    HHI > ``hhi_threshold`` and whose top supplier is in ``risky_suppliers`` (any top supplier
    when the list is empty). ``coverable_share = min(1, exports / imports)``: how much of the
    importer's purchases the exporter's current sales (to all markets) could replace.

    Columns: ``product, exporter_partner, rca, world_share, exports_usd, importer_partner,
    imports_usd, hhi, top_supplier, top_supplier_share, coverable_share``. ``products``
    restricts the rows to those codes; the RCA still compares with all of a country's exports,
    so pass every flow of the year, not only those of the products.
    """
    partners = check_partners(partners)
    this_year = flows.filter(flows.year == year)
    balance = export_rca(this_year, products)
    if products is not None:
        this_year = this_year.filter(this_year["product"].isin(list(products)))
        flows = this_year
    shares = exporter_shares(this_year)
    strong = balance.filter(balance.country.isin(partners) & (balance.rca > rca_threshold))
    strong = attach(
        strong.select("product", "country", "rca", "exports_usd"),
        shares.select("product", country=shares.exporter, world_share=shares.world_share),
        ["product", "country"],
    )
    exporters = strong.select(
        "product",
        exporter_partner=strong.country,
        rca=strong.rca,
        world_share=strong.world_share,
        exports_usd=strong.exports_usd,
    )
    imports = partner_imports(flows, partners, year)
    dependent = imports.filter(imports.hhi > hhi_threshold)
    if risky_suppliers:
        dependent = dependent.filter(dependent.top_supplier.isin(list(risky_suppliers)))
    importers = dependent.rename(importer_partner="partner")
    pairs = exporters.join(
        importers,
        [
            exporters["product"] == importers["product"],
            exporters.exporter_partner != importers.importer_partner,
        ],
    )
    pairs = pairs.select(
        exporters["product"],
        "exporter_partner",
        "rca",
        "world_share",
        "exports_usd",
        "importer_partner",
        "imports_usd",
        "hhi",
        "top_supplier",
        "top_supplier_share",
    )
    return pairs.mutate(
        coverable_share=ibis.least(ibis.literal(1.0), pairs.exports_usd / pairs.imports_usd)
    ).order_by(["product", "exporter_partner", "importer_partner"])


def best_practice(flows: ir.Table, partners: Sequence[str], year: int) -> ir.Table:
    """Per product imported by every partner: each partner's mix next to the most diversified one.

    The best partner has the lowest import HHI (ties broken by country code); its mix shows the
    others which suppliers they could add. One row per (product, partner): ``product, partner,
    imports_usd, hhi, is_best, best_partner, best_hhi, hhi_gap`` (``hhi - best_hhi``), its
    top-3 suppliers ``supplier_1..3, share_1..3`` and ``top_suppliers`` as text
    ("AUS 40%, CHL 35%, ARG 10%").
    """
    partners = check_partners(partners)
    this_year = positive(flows.filter((flows.year == year) & flows.importer.isin(partners)))
    total = this_year.value_usd.sum().over(group_by=["importer", "product"])
    rank = ibis.row_number().over(
        group_by=["importer", "product"],
        order_by=[ibis.desc(this_year.value_usd), this_year.exporter],
    )
    ranked = this_year.mutate(share=this_year.value_usd / total, rank=rank)
    top = {}
    for i in range(3):
        at = ranked["rank"] == i
        top[f"supplier_{i + 1}"] = ranked.exporter.max(where=at)
        top[f"share_{i + 1}"] = ranked.share.max(where=at)
    value = ranked.value_usd
    mixes = ranked.group_by(["product", ranked.importer.name("partner")]).aggregate(
        imports_usd=value.sum(),
        hhi=(value * value).sum() / (value.sum() * value.sum()),
        **top,
    )
    # One row per (product, partner), so a plain count (Spark has no distinct window count).
    n_partners = mixes.partner.count().over(group_by="product")
    order = ibis.row_number().over(group_by="product", order_by=[mixes.hhi, mixes.partner])
    mixes = mixes.mutate(n_partners=n_partners, order=order)
    mixes = mixes.filter(mixes.n_partners == len(partners))
    best = mixes.filter(mixes.order == 0).select(
        "product", best_partner=mixes.partner, best_hhi=mixes.hhi
    )
    joined = attach(mixes.drop("n_partners", "order"), best, ["product"])
    text = [_supplier_text(joined[f"supplier_{i}"], joined[f"share_{i}"]) for i in (1, 2, 3)]
    return (
        joined.mutate(
            is_best=joined.partner == joined.best_partner,
            hhi_gap=joined.hhi - joined.best_hhi,
            top_suppliers=ibis.coalesce(
                text[0] + ", " + text[1] + ", " + text[2], text[0] + ", " + text[1], text[0]
            ),
        )
        .relocate("is_best", "best_partner", "best_hhi", "hhi_gap", after="hhi")
        .order_by(["product", "partner"])
    )


def _supplier_text(supplier: ir.StringValue, share: ir.FloatingValue) -> ir.StringValue:
    """``"AUS 40%"``: a supplier and its share in whole percent (null when either is null)."""
    percent = (share * 100).round().cast("int64").cast("string")
    return supplier + " " + percent + "%"


def joint_diversification(
    flows: ir.Table,
    partners: Sequence[str],
    year: int,
    *,
    trusted: Sequence[str],
    exclude: Sequence[str] = (),
    redirect_fraction: float = 0.5,
) -> ir.Table:
    """Per product the partners import: can trusted suppliers replace their risky imports?

    Risky suppliers are ``exclude`` when given, otherwise every supplier that is neither trusted
    nor a partner. Trusted capacity is ``redirect_fraction`` times the trusted suppliers'
    (excluded ones left out) exports to countries outside the partners: what they sell elsewhere
    and could partly redirect. ``covered = capacity >= risky imports``; ``coverage_ratio =
    capacity / risky imports`` (null when there are no risky imports). Pooling matters: one
    partner alone may be covered while the group is not, because they draw on the same capacity.

    Columns: ``product, pooled_imports_usd, risky_imports_usd, trusted_exports_usd,
    trusted_capacity_usd, covered, coverage_ratio``.
    """
    partners = check_partners(partners)
    if not trusted:
        raise InputError(
            "trusted suppliers are needed to measure capacity",
            field="trusted",
            hint="pass e.g. the G7 members",
        )
    excluded = list(exclude)
    suppliers = [c for c in trusted if c not in excluded]
    this_year = positive(flows.filter(flows.year == year))
    bought = this_year.filter(this_year.importer.isin(partners))
    if excluded:
        risky = bought.exporter.isin(excluded)
    else:
        risky = ~bought.exporter.isin([*suppliers, *partners])
    pooled = bought.group_by("product").aggregate(
        pooled_imports_usd=bought.value_usd.sum(),
        risky_imports_usd=bought.value_usd.sum(where=risky),
    )
    sold = this_year.filter(this_year.exporter.isin(suppliers) & ~this_year.importer.isin(partners))
    capacity = sold.group_by("product").aggregate(trusted_exports_usd=sold.value_usd.sum())
    joined = attach(pooled, capacity, ["product"])
    risky_value = joined.risky_imports_usd.fill_null(0.0)
    exports = joined.trusted_exports_usd.fill_null(0.0)
    capacity_value = exports * redirect_fraction
    return joined.mutate(
        risky_imports_usd=risky_value,
        trusted_exports_usd=exports,
        trusted_capacity_usd=capacity_value,
        covered=capacity_value >= risky_value,
        coverage_ratio=(risky_value > 0).ifelse(capacity_value / risky_value, ibis.null("float64")),
    ).order_by("product")


def roll_up_by_sector(
    table: ir.Table | pd.DataFrame, sector_map: ir.Table | pd.DataFrame | Mapping[str, str]
) -> ir.Table | pd.DataFrame:
    """Per sector: products and rows of a cooperation table, and the sum of its value columns.

    ``sector_map`` is ``reference.sectors.sector_table`` (``product, sector``), another table
    with those columns, or a ``{product: sector}`` mapping; a product in several sectors counts
    in each. Columns: ``sector, n_products, n_rows`` and one sum per ``*_usd`` column, so a
    minister sees "12 shared chokepoints in batteries, worth $3bn" before the product list.

    A cooperation table already computed (a DataFrame) is rolled up in pandas, the same way,
    rather than sent back to the engine (on Spark every query is a job).
    """
    if isinstance(sector_map, Mapping):
        sector_map = pd.DataFrame(
            {"product": list(sector_map), "sector": list(sector_map.values())}
        )
    if isinstance(table, pd.DataFrame):
        if isinstance(sector_map, ir.Table):
            sector_map = sector_map.select("product", "sector").to_pandas()
        return _roll_up_frame(table, sector_map)
    if isinstance(sector_map, pd.DataFrame):
        sector_map = ibis.memtable(sector_map[["product", "sector"]])
    sectors = sector_map.select("product", "sector")
    joined = table.join(sectors, "product")
    sums = {c: joined[c].sum() for c in table.columns if c.endswith("_usd")}
    return (
        joined.group_by("sector")
        .aggregate(n_products=joined["product"].nunique(), n_rows=joined.count(), **sums)
        .order_by("sector")
    )


def _roll_up_frame(table: pd.DataFrame, sector_map: pd.DataFrame) -> pd.DataFrame:
    """:func:`roll_up_by_sector` of a computed table: an inner join on product, then per
    sector the distinct products, the rows and each ``*_usd`` column's sum (null when all its
    values are, as in SQL)."""
    joined = table.merge(sector_map[["product", "sector"]], on="product")
    sums = [c for c in table.columns if c.endswith("_usd")]
    grouped = joined.groupby("sector", sort=True)
    rolled = pd.DataFrame(
        {
            "n_products": grouped["product"].nunique(),
            "n_rows": grouped.size(),
            **{c: grouped[c].sum(min_count=1) for c in sums},
        }
    )
    rolled.index.name = "sector"
    return rolled.reset_index().astype({"n_products": "int64", "n_rows": "int64"})
