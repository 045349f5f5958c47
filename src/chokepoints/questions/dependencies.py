"""Where are we dependent, on whom, how badly, and is it getting better?

``dependencies`` (deps), ``dependencies_all`` (deps --all-importers), ``supply_risk`` (risk),
``product_picture`` (product), ``trend`` and ``trade_exposure``: DataFrames with descriptions,
sectors and provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from chokepoints.analysis import concentration, dependency
from chokepoints.analysis import trend as trend_analysis
from chokepoints.datasets import Dataset
from chokepoints.errors import InputError, NoDataError
from chokepoints.questions import screens
from chokepoints.questions.common import (
    WORLD_METRICS,
    check_coverage,
    code_level,
    dataset_and_year,
    describe,
    finish,
    flows_of,
    reimport_note,
)
from chokepoints.questions.context import Context
from chokepoints.questions.revisions import (
    conversion_provenance,
    converted_flows,
    earlier_datasets,
    product_code,
    sector_selection,
    sector_table_conversions,
    value_conversion,
)
from chokepoints.reference.economies import Economy

METHODS = ("geodep", "ec2021", "custom")
SIDES = ("imports", "exports")

#: Columns of ``deps`` results, in order (documented in docs/methods/dependency.md).
DEPENDENCY_COLUMNS = [
    "year",
    "importer",
    "product",
    "description",
    "sector",
    "import_value_usd",
    "import_quantity_t",
    "n_suppliers",
    "hhi",
    "top_supplier",
    "top_supplier_share",
    "top3_share",
    "world_export_hhi",
    "exports_usd",
    "import_export_ratio",
    "dependent",
    "persistence",
    "method",
]
#: Leading columns of the supplier views (exposure by sector, trend by year).
SUPPLIER_COLUMNS = [
    "year",
    "importer",
    "supplier",
    "sector",
    "imports_usd",
    "from_supplier_usd",
    "supplier_share",
    "n_products",
    "n_products_top_supplier",
]
EXPORT_COLUMNS = [
    "year",
    "exporter",
    "product",
    "description",
    "sector",
    "export_value_usd",
    "n_markets",
    "market_hhi",
    "top_market",
    "top_market_share",
    "share_of_exports",
    "dependent",
    "method",
]


# -- deps ------------------------------------------------------------------------------------
def dependencies(
    ctx: Context,
    country: str,
    *,
    year: int | None = None,
    sector: str | None = None,
    products: Sequence[str] | None = None,
    method: str = "geodep",
    side: str = "imports",
    rules: Sequence[str] = (),
    top: int | None = None,
    include_all: bool = False,
    allow_partial: bool = False,
    source: str | None = None,
    share_from: Sequence[str] = (),
    look_through: bool = False,
) -> pd.DataFrame:
    """Products on which ``country`` (or a group) depends: one row per product, sorted.

    ``look_through`` adds, for products of a value chain, the top effective origin of the
    importer's supply through the product's input and its share (see ``questions.upstream``).

    By default only dependent products, by import value; ``include_all`` lists every imported
    product with its metrics and flag. ``side='exports'`` looks at the country's exports whose
    sales hang on one market instead. ``share_from`` (countries or groups, e.g. ``["CHN",
    "RUS"]``) adds a ``share_<name>`` column per entry: the share of imports (or, on the export
    side, of sales) going through them. ``products`` (HS codes) narrows the list like a sector.
    """
    focus = {spec: list(ctx.economy(spec).members) for spec in share_from}
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    if side not in SIDES:
        raise InputError(f"unknown side {side!r}", hint="use imports or exports")
    who = ctx.economy(country)
    level = 6 if sector is not None else code_level(products or ())
    dataset, year = dataset_and_year(
        ctx, economy=who, side=side, source=source, year=year, level=level
    )
    listed, conversion = sector_selection(ctx, sector, dataset)
    codes = _chosen_codes(listed, products)
    if side == "exports":
        frame, params = _export_dependencies(ctx, dataset, who, year, focus)
        warnings: list[str] = []
        key = "exporter"
    else:
        frame, params, warnings = _import_dependencies(
            ctx, dataset, who, year, method, rules, allow_partial, focus, codes
        )
        warnings += reimport_note(ctx, dataset, year, who)
        key = "importer"
    if frame.empty:
        raise NoDataError(f"no {side} of {who.name} in {year} in {dataset.label}")
    if codes is not None:
        frame = frame[frame["product"].isin(codes)]
    frame = describe(ctx, frame, dataset.classification)
    value = "import_value_usd" if side == "imports" else "export_value_usd"
    # Products last: rows tied on value keep one order whichever engine answered.
    frame = frame.sort_values(["dependent", value, "product"], ascending=[False, False, True])
    if not include_all:
        frame = frame[frame["dependent"]]
    if top is not None:
        frame = frame.head(top)
    converted, notes = conversion_provenance([(f"sector {sector}", conversion)])
    warnings += notes
    if look_through and side == "imports":
        from chokepoints.questions.upstream import effective_top

        found = effective_top(ctx, dataset, year, who, list(frame["product"]))
        frame = frame.merge(found, on="product", how="left")
        # A product in no value chain was not looked through.
        frame["looked_through"] = frame["looked_through"].fillna(False).astype(bool)
    provenance = dataset.provenance(
        year=year,
        method=params,
        side=side,
        economy=who.name,
        members=list(who.members),
        sector=sector,
        warnings=warnings,
        **({"hs_conversion": converted} if converted else {}),
    )
    if warnings:
        frame = frame.assign(warning="; ".join(warnings))
    frame = frame.assign(**{key: who.name})
    columns = DEPENDENCY_COLUMNS if side == "imports" else EXPORT_COLUMNS
    return finish(frame, columns, provenance)


def dependencies_all(
    ctx: Context,
    *,
    year: int | None = None,
    sector: str | None = None,
    products: Sequence[str] | None = None,
    include_all: bool = False,
    allow_partial: bool = False,
    source: str | None = None,
) -> pd.DataFrame:
    """GeoDep for every importer and product of one year: the world screen, like CEPII's
    published database. Dependent pairs only unless ``include_all``; by importer, then value.

    The world dataset is required (every importer's flows), so a reporter-only extract is
    refused as for one country's ``deps`` on a partial year.
    """
    level = 6 if sector is not None else code_level(products or ())
    dataset, year = dataset_and_year(ctx, source=source, year=year, level=level)
    listed, conversion = sector_selection(ctx, sector, dataset)
    codes = _chosen_codes(listed, products)
    params = dependency.GeoDep()
    years = list(range(year - params.window + 1, year + 1))
    warnings = check_coverage(ctx, dataset, years, allow_partial=allow_partial)
    flows = flows_of(ctx, dataset, years)
    if codes is not None:
        flows = flows.filter(flows["product"].isin(codes))
    missing = sorted(set(years) - set(dataset.years))
    held = len(years) - len(missing)
    if missing:
        warnings.append(dependency.short_history_warning(missing, held, params, year))
    result = dependency.geodep(flows, year, params=params, years_held=held)
    result = result.filter(result.import_value_usd > 0)  # imported in the year asked
    if not include_all:
        result = result.filter(result.dependent)
    frame = describe(ctx, result.to_pandas(), dataset.classification)
    frame = frame.sort_values(
        ["importer", "import_value_usd", "product"], ascending=[True, False, True]
    )
    converted, notes = conversion_provenance([(f"sector {sector}", conversion)])
    warnings += notes
    provenance = dataset.provenance(
        year=year,
        method=params.parameters(),
        side="imports",
        economy="all importers",
        sector=sector,
        warnings=warnings,
        **({"hs_conversion": converted} if converted else {}),
    )
    if warnings:
        frame = frame.assign(warning="; ".join(warnings))
    return finish(frame, DEPENDENCY_COLUMNS, provenance)


def _chosen_codes(sector: list[str] | None, products: Sequence[str] | None) -> list[str] | None:
    """The codes of a sector, of a product list, of both (their intersection) or None."""
    if products is None:
        return sector
    return [p for p in products if sector is None or p in sector]


def world_concentration(
    ctx: Context, dataset: Dataset, years: Sequence[int], codes: Sequence[str] | None
) -> ir.Table:
    """The world export HHI per (year, product) of the dataset over ``years`` (of ``codes``
    when given): the one world-wide aggregation of the dependency metrics, made once per store
    generation and shared by every economy asked about (a server answers many)."""
    chosen = None if codes is None else tuple(sorted(codes))
    key = (
        "world_export_concentration",
        dataset.source,
        dataset.classification,
        dataset.level,
        tuple(years),
        chosen,
    )

    def compute() -> ir.Table:
        flows = flows_of(ctx, dataset, years)
        if chosen is not None:
            flows = flows.filter(flows["product"].isin(list(chosen)))
        return ibis.memtable(dependency.world_export_concentration(flows).to_pandas())

    world: ir.Table = ctx.memo(key, compute)
    return world


def _import_dependencies(
    ctx: Context,
    dataset: Dataset,
    who: Economy,
    year: int,
    method: str,
    rules: Sequence[str],
    allow_partial: bool,
    focus: dict[str, list[str]],
    codes: list[str] | None,
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Run one dependency method for one economy; return rows, parameters and warnings.

    Every import-side metric is per product, so flows are narrowed to ``codes`` (when given)
    once the world coverage has been checked on all of them.
    """
    if method == "geodep":
        params = dependency.GeoDep()
        years = list(range(year - params.window + 1, year + 1))
    else:
        years = [year]
    flows = flows_of(ctx, dataset, years)
    parsed = [dependency.Rule.parse(r) for r in rules]
    needs_world = method != "custom" or any(r.metric in WORLD_METRICS for r in parsed)
    warnings = (
        check_coverage(ctx, dataset, years, allow_partial=allow_partial) if needs_world else []
    )
    if codes is not None:
        flows = flows.filter(flows["product"].isin(codes))
    local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
    # Its own trade only: the metrics of one importer need its imports (concentration) and
    # its exports (M/X); the world-wide part comes from ``world_concentration``.
    local = local.filter((local.importer == who.name) | (local.exporter == who.name))
    if method == "geodep":
        missing = sorted(set(years) - set(dataset.years))
        held = len(years) - len(missing)
        if missing:
            warnings.append(dependency.short_history_warning(missing, held, params, year))
        if ctx.screens and not focus and not who.is_group:
            frame = screens.imports(ctx, dataset, year, held)[0].rows(who.name)
            if codes is not None:
                frame = frame[frame["product"].isin(codes)]
            return frame, params.parameters(), warnings
        result = dependency.geodep(
            flows,
            year,
            importer_flows=local,
            params=params,
            focus=focus,
            years_held=held,
            world=world_concentration(ctx, dataset, years, codes),
        )
        parameters = params.parameters()
    elif method == "ec2021":
        ec = dependency.EC2021()
        result = dependency.ec2021(
            flows, year, group=who.name, members=who.members, params=ec, focus=focus
        )
        parameters = ec.parameters()
    else:
        metrics = dependency.dependency_metrics(
            flows,
            importer_flows=local,
            focus=focus,
            world=world_concentration(ctx, dataset, years, codes),
        )
        result = dependency.custom(metrics, parsed)
        parameters = {"name": "custom", "rules": [str(r) for r in parsed]}
    frame = result.filter(result.importer == who.name).to_pandas()
    return frame, parameters, warnings


def _export_dependencies(
    ctx: Context,
    dataset: Dataset,
    who: Economy,
    year: int,
    focus: dict[str, list[str]],
    threshold: float = 0.4,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Products whose sales hang on one market: destination HHI above ``threshold``."""
    if ctx.screens and not focus and not who.is_group:
        frame = screens.exports(ctx, dataset, year).rows(who.name)
    else:
        flows = flows_of(ctx, dataset, [year])
        local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
        table = concentration.export_dependence(
            local.filter(local.exporter == who.name), focus=focus
        )
        frame = table.to_pandas()
    frame["dependent"] = frame["market_hhi"] > threshold
    frame["method"] = "market_concentration"
    return frame, {"name": "market_concentration", "market_hhi": threshold}


# -- supply risk -----------------------------------------------------------------------------
RISK_COLUMNS = [
    "year",
    "importer",
    "product",
    "description",
    "sector",
    "import_value_usd",
    "hhi",
    "hhi_wgi_importer",
    "hhi_wgi_global",
    "import_reliance",
    "supply_risk",
    "scored_share_importer",
    "scored_share_global",
    "basis",
]


def supply_risk(
    ctx: Context,
    country: str,
    *,
    year: int | None = None,
    sector: str | None = None,
    restrictions: pd.DataFrame | None = None,
    allow_partial: bool = False,
    source: str | None = None,
) -> pd.DataFrame:
    """Governance-weighted concentration and EU CRM supply risk of a country's imports.

    Runs on trade shares (no production data), which every row says in ``basis``.
    ``restrictions`` (country, product or empty for all, factor >= 1) raises the weight of
    suppliers that restrict exports.
    """
    from chokepoints.analysis import risk

    who = ctx.economy(country)
    dataset, year = dataset_and_year(
        ctx, economy=who, source=source, year=year, level=6 if sector else None
    )
    codes, conversion = sector_selection(ctx, sector, dataset)
    if ctx.rows("governance") == 0:
        raise NoDataError(
            "no governance indicators in the store: ingest the World Bank WGI file first "
            "(`chokepoints data ingest wgi wgidataset.xlsx`)"
        )
    flows = flows_of(ctx, dataset, [year])
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial)
    local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
    mine = local.filter(local.importer == who.name)
    imports = concentration.import_concentration(mine, top3=False).select(
        "year", "importer", "product", "import_value_usd", "hhi"
    )
    world = concentration.exporter_shares(flows)
    world, production_notes = _with_production(ctx, world, year, dataset.classification)
    result = risk.supply_risk_trade(
        concentration.supplier_shares(mine),
        world,
        concentration.trade_balance(local),
        risk.governance_scores(ctx.table("governance"), year=year),
        restrictions=None if restrictions is None else ibis.memtable(restrictions),
    )
    frame = concentration.attach(result, imports, ["year", "importer", "product"]).to_pandas()
    if frame.empty:
        raise NoDataError(f"no imports of {who.name} in {year}")
    if codes is not None:
        frame = frame[frame["product"].isin(codes)]
    frame = describe(ctx, frame, dataset.classification).sort_values(
        ["supply_risk", "product"], ascending=[False, True]
    )
    converted, notes = conversion_provenance([(f"sector {sector}", conversion)])
    warnings += notes
    provenance = dataset.provenance(
        year=year,
        economy=who.name,
        sector=sector,
        warnings=warnings,
        **({"hs_conversion": converted} if converted else {}),
        global_supply=production_notes or "world export shares (no production data held)",
        method={
            "name": "eu_crm_trade_shares",
            "wgi_rescaling": "10 - (mean + 2.5) * 2",
            "missing_score": risk.NEUTRAL_SCORE,
            "eol_rir": 0.0,
            "substitution_index": 1.0,
            "restrictions": 0 if restrictions is None else len(restrictions),
        },
        governance=ctx.governance_releases,
    )
    return finish(frame, RISK_COLUMNS, provenance)


def _with_production(
    ctx: Context, world: ibis.Table, year: int, classification: str
) -> tuple[ibis.Table, list[str]]:
    """World supply shares, production shares where the store holds them for products of
    ``classification`` (EU CRM's GS)."""
    from chokepoints.questions.production import production_supply

    if ctx.rows("production") == 0:
        return world, []
    frame, notes = production_supply(ctx, world.to_pandas(), year, classification)
    return ibis.memtable(frame), notes


# -- trade exposure ----------------------------------------------------------------------------
def trade_exposure(
    ctx: Context,
    country: str,
    supplier: str,
    *,
    year: int | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Per strategic sector: the country's imports, those from ``supplier`` and their share."""
    from chokepoints.analysis.trend import supplier_exposure_by_sector
    from chokepoints.reference.sectors import sector_table

    who, by = ctx.economy(country), ctx.economy(supplier)
    dataset, year = dataset_and_year(ctx, economy=who, source=source, year=year, level=6)
    flows = flows_of(ctx, dataset, [year])
    local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
    table = sector_table(dataset.classification, extra_dirs=ctx.sector_dirs, converted=True)
    result = supplier_exposure_by_sector(
        concentration.positive(local),
        ibis.memtable(table[["product", "sector"]]),
        importer=who.name,
        supplier_members=by.members,
    )
    frame = result.to_pandas()
    if frame.empty:
        raise NoDataError(f"no imports of {who.name} in {year} in the strategic sectors")
    frame.insert(0, "supplier", by.name)
    frame.insert(0, "importer", who.name)
    frame.insert(0, "year", year)
    converted, notes = conversion_provenance(sector_table_conversions(ctx, dataset))
    provenance = dataset.provenance(
        year=year,
        economy=who.name,
        supplier=by.name,
        method={"name": "trade_exposure"},
        **({"hs_conversion": converted, "warnings": notes} if converted else {}),
    )
    return finish(
        frame,
        SUPPLIER_COLUMNS,
        provenance,
    )


# -- product ---------------------------------------------------------------------------------
def product_picture(
    ctx: Context,
    code: str,
    *,
    year: int | None = None,
    source: str | None = None,
    allow_partial: bool = False,
) -> dict[str, pd.DataFrame]:
    """The world picture of one product: summary, exporters, and importers depending on it.

    ``code`` may name another HS revision than the dataset's (``HS17:854140``, or a bare code
    that only another revision has): the dataset's flows are then carried to that revision
    (``questions.revisions.product_code``) and the conversion stated in the provenance.
    """
    from chokepoints.reference.hs_revisions import parse_code

    bare, _ = parse_code(code)
    dataset, year = dataset_and_year(ctx, source=source, year=year, level=code_level([bare]))
    code, revision, conversion = product_code(ctx, code, dataset)
    params = dependency.GeoDep()
    years = list(range(year - params.window + 1, year + 1))
    flows = flows_of(ctx, dataset, years)
    if conversion is not None:
        sources = list(conversion.weights["from_code"].unique())
        flows = converted_flows(flows.filter(flows["product"].isin(sources)), conversion)
    flows = flows.filter(flows["product"] == code)
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial)
    what = f"product {revision}:{code} from {dataset.label}"
    converted, notes = conversion_provenance([(what, conversion)])
    warnings += notes
    this_year = flows.filter(flows.year == year)
    held = len(set(years) & set(dataset.years))
    sliced = ctx.screens and conversion is None
    if sliced:
        by_product, summaries = screens.exporters(ctx, dataset, year)
        exporters, summary = by_product.rows(code), summaries.rows(code)
    else:
        exporters = concentration.exporter_shares(this_year).to_pandas()
    if exporters.empty:
        raise NoDataError(f"no trade in product {code} in {year} in {dataset.label}")
    exporters = exporters.sort_values(["export_value_usd", "exporter"], ascending=[False, True])
    if not sliced:
        summary = concentration.world_exports(this_year).to_pandas()
    summary = describe(ctx, summary, revision or dataset.classification)
    if sliced:
        importers = screens.imports(ctx, dataset, year, held)[1].rows(code)
    else:
        importers = dependency.geodep(flows, year, params=params, years_held=held).to_pandas()
    importers = importers.sort_values(
        ["dependent", "import_value_usd", "importer"], ascending=[False, False, True]
    )
    provenance = dataset.provenance(
        year=year,
        product=code,
        method=params.parameters(),
        warnings=warnings,
        **({"product_revision": revision, "hs_conversion": converted} if converted else {}),
    )
    return {
        "summary": finish(summary, ["year", "product", "description", "sector"], provenance),
        "exporters": finish(exporters, ["year", "product", "exporter"], provenance),
        "importers": finish(importers, DEPENDENCY_COLUMNS, provenance),
    }


# -- trend -----------------------------------------------------------------------------------
def trend(
    ctx: Context,
    country: str,
    supplier: str,
    *,
    sector: str | None = None,
    products: Sequence[str] | None = None,
    year: int | None = None,
    source: str | None = None,
    allow_partial: bool = False,
) -> pd.DataFrame:
    """Per year up to ``year`` (default the latest covered): the supplier's share of the
    country's imports and the products depending on it.

    The provenance carries the change from the first to the last year and its verdict
    (``de-risking``, ``deepening`` or ``stable``).
    """
    who, by = ctx.economy(country), ctx.economy(supplier)
    level = 6 if sector is not None else code_level(products or ())
    dataset, year = dataset_and_year(ctx, economy=who, source=source, year=year, level=level)
    years = [y for y in dataset.years if y <= year]
    listed, conversion = sector_selection(ctx, sector, dataset)
    codes = _chosen_codes(listed, products)
    flows = flows_of(ctx, dataset, years)
    warnings = check_coverage(ctx, dataset, years, allow_partial=allow_partial)
    made: list[tuple[str, Any]] = [(f"sector {sector}", conversion)]
    for older, older_years in earlier_datasets(ctx, dataset, years[0], who):
        warnings += check_coverage(ctx, older, older_years, allow_partial=allow_partial)
        carried = value_conversion(ctx, older.classification, dataset, older_years[-1])
        flows = flows.union(converted_flows(flows_of(ctx, older, older_years), carried))
        made.append((f"{older.label} {_years_span(older_years)} flows", carried))
        years = sorted({*years, *older_years})
    converted, notes = conversion_provenance(made)
    warnings += notes
    local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
    table = trend_analysis.supplier_trend(
        flows,
        importer=who.name,
        supplier=by.name,
        supplier_members=by.members,
        importer_flows=local,
        products=codes,
        world=world_concentration(ctx, dataset, years, codes),
    )
    frame = table.to_pandas()
    if frame.empty:
        raise NoDataError(
            f"no imports of {who.name} in {dataset.label}"
            + (f" in sector {sector}" if sector else "")
        )
    first, last = frame.iloc[0], frame.iloc[-1]
    verdict = trend_analysis.trend_verdict(
        float(first["supplier_share"]),
        float(last["supplier_share"]),
        int(first["n_dependent_on_supplier"]),
        int(last["n_dependent_on_supplier"]),
    )
    change = {
        "from_year": int(first["year"]),
        "to_year": int(last["year"]),
        "share_change": float(last["supplier_share"] - first["supplier_share"]),
        "dependent_change": int(last["n_dependent_on_supplier"] - first["n_dependent_on_supplier"]),
        "verdict": verdict,
    }
    frame["sector"] = sector or "all products"
    provenance = dataset.provenance(
        years=years,
        economy=who.name,
        supplier=by.name,
        sector=sector,
        change=change,
        warnings=warnings,
        method=dependency.GeoDep().parameters(),
        **({"hs_conversion": converted} if converted else {}),
    )
    return finish(
        frame,
        [*SUPPLIER_COLUMNS, "n_dependent", "n_dependent_on_supplier", "mean_hhi"],
        provenance,
    )


def _years_span(years: Sequence[int]) -> str:
    """``2021`` or ``1995-2021``."""
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def import_sources(
    ctx: Context,
    country: str,
    *,
    products: Sequence[str] | None = None,
    year: int | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Where ``country``'s imports (of ``products``, default all) come from, per exporter.

    Columns: exporter (ISO3 or group name), imports_usd, share (of the country's imports of
    those products), n_products (bought from it); largest first. A group's imports are its
    members' purchases from outside the group.
    """
    who = ctx.economy(country)
    dataset, year = dataset_and_year(
        ctx, economy=who, source=source, year=year, level=code_level(products or ())
    )
    if ctx.screens and not who.is_group:
        # The importer's slice of the year's flows, sorted by importer once per generation.
        flows = ibis.memtable(screens.import_flows(ctx, dataset, year).of(who.name))
    else:
        flows = flows_of(ctx, dataset, [year])
        if who.is_group:
            flows = concentration.as_group(flows, who.name, who.members)
    mine = concentration.positive(flows.filter(flows.importer == who.name))
    if products is not None:
        mine = mine.filter(mine["product"].isin(list(products)))
    table = mine.group_by("exporter").aggregate(
        imports_usd=mine.value_usd.sum(), n_products=mine["product"].nunique()
    )
    # On the workspace's own connection: an expression over a screen's slice alone names no
    # backend, and Ibis's default one is shared by every thread of a server.
    frame = ctx.con.execute(table)
    if frame.empty:
        raise NoDataError(f"{who.name} imported none of these products in {year}")
    frame["share"] = frame["imports_usd"] / frame["imports_usd"].sum()
    frame = frame.sort_values(["imports_usd", "exporter"], ascending=[False, True])
    provenance = dataset.provenance(
        year=year,
        economy=who.name,
        method={"name": "import_sources"},
        n_products=(None if products is None else len(products)),
    )
    return finish(frame, ["exporter", "imports_usd", "share", "n_products"], provenance)
