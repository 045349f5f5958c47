"""The questions users ask, answered as DataFrames with provenance.

"Where are we dependent?" (:func:`dependencies`), "what is the world picture of this product?"
(:func:`product_picture`) and "is it getting better?" (:func:`trend`). Each picks the dataset,
checks that it covers what the method needs, runs the Ibis analysis, and attaches product
descriptions, sectors and provenance. ``Workspace`` exposes them as methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from chokepoints.analysis import concentration, dependency
from chokepoints.analysis import trend as trend_analysis
from chokepoints.datasets import Dataset, choose_dataset
from chokepoints.errors import ChokepointsError, InputError, NoDataError

if TYPE_CHECKING:
    from chokepoints.workspace import Workspace

METHODS = ("geodep", "ec2021", "custom")
SIDES = ("imports", "exports")

#: Below this share of countries appearing as importers, a year is not a world dataset.
MIN_IMPORTER_SHARE = 0.5

#: Metrics that need the whole world's trade (all exporters' sales, the importer's exports).
WORLD_METRICS = {"world_export_hhi", "exports_usd", "import_export_ratio"}

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


class PartialCoverageError(ChokepointsError):
    """World-level criteria asked for on a year that covers only part of the world."""


@dataclass(frozen=True)
class Economy:
    """A country or a group of countries, as an importer or exporter."""

    name: str
    members: tuple[str, ...]

    @property
    def is_group(self) -> bool:
        """True for a group such as EU27 (intra-group flows are then not trade)."""
        return self.members != (self.name,)


def economy(ws: Workspace, spec: str) -> Economy:
    """Resolve ``DEU``, ``de``, ``EU27`` or a user group into an Economy."""
    from chokepoints.reference.countries import to_iso3
    from chokepoints.reference.groups import group_members, list_groups

    groups = {name.casefold(): name for name in list_groups(ws.groups_file)}
    key = spec.strip().casefold()
    if key in groups or key in ("eu",):
        name = groups.get(key, "EU27")
        return Economy(name, tuple(sorted(group_members(name, user_file=ws.groups_file))))
    iso3 = to_iso3(spec)
    return Economy(iso3, (iso3,))


def sector_codes(ws: Workspace, sector: str | None, classification: str) -> list[str] | None:
    """The HS codes of ``sector`` in ``classification`` (None when no sector is asked)."""
    if sector is None:
        return None
    from chokepoints.reference.sectors import sector_products

    return sector_products(sector, classification, extra_dirs=ws.sector_dirs)


# -- shared steps ----------------------------------------------------------------------------
def _flows(ws: Workspace, dataset: Dataset, years: Sequence[int]) -> ir.Table:
    """The dataset's HS6 flows for ``years``."""
    return concentration.select_flows(
        ws.trade, source=dataset.source, classification=dataset.classification, years=years
    )


def _check_coverage(flows: ir.Table, years: Sequence[int], *, allow_partial: bool) -> list[str]:
    """Refuse (or, with allow_partial, warn about) years that are not world datasets."""
    frame = concentration.coverage(flows).to_pandas()
    warnings = []
    for year in years:
        row = frame[frame["year"] == year]
        if row.empty:
            continue
        share = float(row["importer_share"].iloc[0])
        if share < MIN_IMPORTER_SHARE:
            importers, countries = int(row["n_importers"].iloc[0]), int(row["n_countries"].iloc[0])
            warnings.append(
                f"{year} covers the imports of {importers} of the {countries} countries seen: "
                "world export concentration and world-level ratios are partial"
            )
    if warnings and not allow_partial:
        raise PartialCoverageError(
            f"{warnings[0]}; ingest a complete year (e.g. a BACI archive) or pass "
            "--allow-partial to run anyway with this warning in the output"
        )
    return warnings


def _describe(ws: Workspace, frame: pd.DataFrame, classification: str) -> pd.DataFrame:
    """Add ``description`` (from the store, else the sector files) and ``sector`` columns."""
    from chokepoints.reference.sectors import sector_table

    products = ws.sql(
        "SELECT product, any_value(description) AS description FROM products "
        f"WHERE classification = '{classification}' GROUP BY product"
    )
    sectors = sector_table(classification, extra_dirs=ws.sector_dirs)
    by_product = sectors.groupby("product").agg(
        sector=("sector", lambda s: ",".join(sorted(set(s)))),
        sector_description=("description", "first"),
    )
    frame = frame.merge(products, on="product", how="left").merge(
        by_product, left_on="product", right_index=True, how="left"
    )
    frame["description"] = frame["description"].fillna(frame.pop("sector_description"))
    return frame


def _finish(frame: pd.DataFrame, columns: list[str], provenance: dict[str, Any]) -> pd.DataFrame:
    """Order columns, reset the index and attach provenance."""
    frame = frame[
        [c for c in columns if c in frame.columns] + [c for c in frame.columns if c not in columns]
    ].reset_index(drop=True)
    frame.attrs["provenance"] = provenance
    return frame


# -- deps ------------------------------------------------------------------------------------
def dependencies(
    ws: Workspace,
    country: str,
    *,
    year: int | None = None,
    sector: str | None = None,
    method: str = "geodep",
    side: str = "imports",
    rules: Sequence[str] = (),
    top: int | None = None,
    include_all: bool = False,
    allow_partial: bool = False,
    source: str | None = None,
    share_from: Sequence[str] = (),
) -> pd.DataFrame:
    """Products on which ``country`` (or a group) depends: one row per product, sorted.

    By default only dependent products, by import value; ``include_all`` lists every imported
    product with its metrics and flag. ``side='exports'`` looks at the country's exports whose
    sales hang on one market instead. ``share_from`` (countries or groups, e.g. ``["CHN",
    "RUS"]``) adds a ``share_<name>`` column per entry: the share of imports (or, on the export
    side, of sales) going through them.
    """
    focus = {spec: list(economy(ws, spec).members) for spec in share_from}
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    if side not in SIDES:
        raise InputError(f"unknown side {side!r}", hint="use imports or exports")
    dataset = choose_dataset(ws.store.manifest()["parts"], source=source, year=year)
    year = dataset.latest_year() if year is None else year
    who = economy(ws, country)
    codes = sector_codes(ws, sector, dataset.classification)
    if side == "exports":
        frame, params = _export_dependencies(ws, dataset, who, year, focus)
        warnings: list[str] = []
        key = "exporter"
    else:
        frame, params, warnings = _import_dependencies(
            ws, dataset, who, year, method, rules, allow_partial, focus
        )
        key = "importer"
    if frame.empty:
        raise NoDataError(
            f"no {side} of {who.name} in {year} in {dataset.source} {dataset.classification}"
        )
    if codes is not None:
        frame = frame[frame["product"].isin(codes)]
    frame = _describe(ws, frame, dataset.classification)
    value = "import_value_usd" if side == "imports" else "export_value_usd"
    frame = frame.sort_values(["dependent", value], ascending=[False, False])
    if not include_all:
        frame = frame[frame["dependent"]]
    if top is not None:
        frame = frame.head(top)
    provenance = dataset.provenance(
        year=year,
        method=params,
        side=side,
        economy=who.name,
        members=list(who.members),
        sector=sector,
        warnings=warnings,
    )
    if warnings:
        frame = frame.assign(warning="; ".join(warnings))
    frame = frame.assign(**{key: who.name})
    columns = DEPENDENCY_COLUMNS if side == "imports" else EXPORT_COLUMNS
    return _finish(frame, columns, provenance)


def _import_dependencies(
    ws: Workspace,
    dataset: Dataset,
    who: Economy,
    year: int,
    method: str,
    rules: Sequence[str],
    allow_partial: bool,
    focus: dict[str, list[str]],
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Run one dependency method for one economy; return rows, parameters and warnings."""
    if method == "geodep":
        params = dependency.GeoDep()
        years = list(range(year - params.window + 1, year + 1))
    else:
        years = [year]
    flows = _flows(ws, dataset, years)
    parsed = [dependency.Rule.parse(r) for r in rules]
    needs_world = method != "custom" or any(r.metric in WORLD_METRICS for r in parsed)
    warnings = _check_coverage(flows, years, allow_partial=allow_partial) if needs_world else []
    local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
    if method == "geodep":
        missing = sorted(set(years) - set(dataset.years))
        if missing:
            warnings.append(
                f"years {', '.join(map(str, missing))} are not in the store: persistence is "
                f"judged on {len(years) - len(missing)} of {len(years)} years"
            )
        result = dependency.geodep(flows, year, importer_flows=local, params=params, focus=focus)
        parameters = params.parameters()
    elif method == "ec2021":
        ec = dependency.EC2021()
        result = dependency.ec2021(
            flows, year, group=who.name, members=who.members, params=ec, focus=focus
        )
        parameters = ec.parameters()
    else:
        metrics = dependency.dependency_metrics(flows, importer_flows=local, focus=focus)
        result = dependency.custom(metrics, parsed)
        parameters = {"name": "custom", "rules": [str(r) for r in parsed]}
    frame = result.filter(result.importer == who.name).to_pandas()
    return frame, parameters, warnings


def _export_dependencies(
    ws: Workspace,
    dataset: Dataset,
    who: Economy,
    year: int,
    focus: dict[str, list[str]],
    threshold: float = 0.4,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Products whose sales hang on one market: destination HHI above ``threshold``."""
    flows = _flows(ws, dataset, [year])
    local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
    table = concentration.export_dependence(local.filter(local.exporter == who.name), focus=focus)
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
    ws: Workspace,
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

    dataset = choose_dataset(ws.store.manifest()["parts"], source=source, year=year)
    year = dataset.latest_year() if year is None else year
    who = economy(ws, country)
    codes = sector_codes(ws, sector, dataset.classification)
    governance = ws.con.table("governance")
    if governance.count().to_pyarrow().as_py() == 0:
        raise NoDataError(
            "no governance indicators in the store: ingest the World Bank WGI file first "
            "(`chokepoints data ingest wgi wgidataset.xlsx`)"
        )
    flows = _flows(ws, dataset, [year])
    warnings = _check_coverage(flows, [year], allow_partial=allow_partial)
    local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
    mine = local.filter(local.importer == who.name)
    imports = concentration.import_concentration(mine, top3=False).select(
        "year", "importer", "product", "import_value_usd", "hhi"
    )
    result = risk.supply_risk_trade(
        concentration.supplier_shares(mine),
        concentration.exporter_shares(flows),
        concentration.trade_balance(local),
        risk.governance_scores(governance, year=year),
        restrictions=None if restrictions is None else ibis.memtable(restrictions),
    )
    frame = concentration.attach(result, imports, ["year", "importer", "product"]).to_pandas()
    if frame.empty:
        raise NoDataError(f"no imports of {who.name} in {year}")
    if codes is not None:
        frame = frame[frame["product"].isin(codes)]
    frame = _describe(ws, frame, dataset.classification).sort_values("supply_risk", ascending=False)
    provenance = dataset.provenance(
        year=year,
        economy=who.name,
        sector=sector,
        warnings=warnings,
        method={
            "name": "eu_crm_trade_shares",
            "wgi_rescaling": "10 - (mean + 2.5) * 2",
            "missing_score": risk.NEUTRAL_SCORE,
            "eol_rir": 0.0,
            "substitution_index": 1.0,
            "restrictions": 0 if restrictions is None else len(restrictions),
        },
        governance=sorted(
            {p["release"] for p in ws.store.manifest()["parts"] if p["table"] == "governance"}
        ),
    )
    return _finish(frame, RISK_COLUMNS, provenance)


# -- shocks ----------------------------------------------------------------------------------
SHOCK_COLUMNS = [
    "year",
    "importer",
    "product",
    "description",
    "sector",
    "import_value_usd",
    "lost_value_usd",
    "lost_quantity_t",
    "lost_share",
    "redirectable_value_usd",
    "shortfall_value_usd",
    "own_exports_usd",
    "kept_value_usd",
]


def shock(
    ws: Workspace,
    *,
    scenario: Any = None,
    preset: str | None = None,
    scenario_file: str | None = None,
    supplier: str | None = None,
    sectors: Sequence[str] = (),
    products: Sequence[str] = (),
    importers: Sequence[str] = (),
    fraction: float = 1.0,
    year: int | None = None,
    redirect_fraction: float = 0.5,
    allow_partial: bool = False,
    source: str | None = None,
    by: str = "product",
) -> pd.DataFrame:
    """Direct impact of a disruption scenario per (importer, product), sorted by shortfall.

    ``by="sector"`` or ``by="country"`` sums it per (importer, sector) or per importer.

    The scenario is a ``Scenario`` object, a preset name, a TOML file, or the generic "supplier
    X stops exporting sectors S (or products P) to importers I". The frame's provenance holds
    the scenario, its sources, and totals per importer (``by_importer``).
    """
    from chokepoints.analysis import scenario as scenarios

    scenario = _scenario(
        {
            "scenario": scenario,
            "preset": preset,
            "scenario_file": scenario_file,
            "supplier": supplier,
            "sectors": sectors,
            "products": products,
            "importers": importers,
            "fraction": fraction,
        }
    )
    dataset = choose_dataset(ws.store.manifest()["parts"], source=source, year=year)
    year = dataset.latest_year() if year is None else year
    flows = _flows(ws, dataset, [year])
    warnings = _check_coverage(flows, [year], allow_partial=allow_partial)
    impact = scenarios.scenario_impact(
        flows,
        scenario,
        year=year,
        classification=dataset.classification,
        redirect_fraction=redirect_fraction,
    )
    if by not in ("product", "sector", "country"):
        raise InputError(f"unknown --by {by!r}", hint="use product, sector or country")
    frame = impact.to_pandas()
    if frame.empty:
        raise NoDataError(
            f"scenario {scenario.id} cuts no flow in {year} in {dataset.source} "
            f"{dataset.classification}: the supplier sells none of its products there"
        )
    order = ["shortfall_value_usd", "lost_value_usd"]
    frame = _describe(ws, frame, dataset.classification).sort_values(order, ascending=False)
    by_importer = (
        frame.groupby("importer")[
            ["lost_value_usd", "redirectable_value_usd", "shortfall_value_usd"]
        ]
        .sum()
        .sort_values("shortfall_value_usd", ascending=False)
    )
    provenance = dataset.provenance(
        year=year,
        warnings=warnings,
        method={"name": "direct_impact", "redirect_fraction": redirect_fraction},
        scenario={
            "id": scenario.id,
            "name": scenario.name,
            "sources": list(scenario.sources),
            "shocks": [
                {
                    "supplier": s.supplier,
                    "fraction": s.fraction,
                    "importers": list(s.importers) if s.importers else "all",
                }
                for s in scenario.shocks
            ],
        },
        by_importer=by_importer.reset_index().to_dict(orient="records"),
    )
    if by != "product":
        summed = (
            scenarios.impact_by_sector(impact, dataset.classification)
            if by == "sector"
            else scenarios.impact_by_country(impact)
        )
        frame = summed.to_pandas().sort_values(order, ascending=False)
    return _finish(frame, SHOCK_COLUMNS, provenance)


DOWNSTREAM_COLUMNS = [
    "year",
    "chain",
    "country",
    "product",
    "label",
    "stage",
    "depth",
    "path",
    "exports_usd",
    "export_share",
    "input_imports_usd",
    "input_imports_from_suppliers_usd",
    "input_supplier_share",
]


def downstream(
    ws: Workspace,
    *,
    chains: Sequence[str] = (),
    year: int | None = None,
    countries: Sequence[str] = (),
    min_export_share: float = 0.0,
    source: str | None = None,
    **scenario_options: Any,
) -> pd.DataFrame:
    """Downstream products at risk from a scenario, and the countries producing them.

    The scenario is given as to :func:`shock` (``preset``, ``scenario_file``, ``supplier`` with
    ``sectors``/``products``...). Every curated value chain holding a shocked product is
    followed (or only ``chains``); ``countries`` restricts the producers shown.
    """
    from chokepoints.analysis import propagation
    from chokepoints.reference.chains import list_chains, load_chain

    scenario = _scenario(scenario_options)
    dataset = choose_dataset(ws.store.manifest()["parts"], source=source, year=year)
    year = dataset.latest_year() if year is None else year
    shocked = set(scenario.products_for(dataset.classification))
    suppliers = sorted({m for s in scenario.shocks for m in s.members})
    flows = _flows(ws, dataset, [year])
    frames = []
    for chain_id in chains or list_chains()["id"].tolist():
        try:
            graph = load_chain(chain_id).graph(dataset.classification)
        except InputError:
            continue  # no list of codes for this revision
        if not shocked & set(graph.nodes):
            continue
        table = propagation.exposed_producers(
            flows, graph, shocked, year, min_export_share=min_export_share, suppliers=suppliers
        )
        frames.append(table.to_pandas().assign(chain=chain_id))
    if not frames:
        raise NoDataError(
            f"none of the products of scenario {scenario.id} is in a value chain for "
            f"{dataset.classification} (chains: {', '.join(list_chains()['id'])})"
        )
    frame = pd.concat(frames, ignore_index=True)
    if countries:
        chosen = {c for spec in countries for c in economy(ws, spec).members}
        frame = frame[frame["country"].isin(chosen)]
    frame = frame.sort_values(["chain", "depth", "exports_usd"], ascending=[True, True, False])
    provenance = dataset.provenance(
        year=year,
        method={"name": "value_chain_propagation", "min_export_share": min_export_share},
        scenario={
            "id": scenario.id,
            "name": scenario.name,
            "shocked": sorted(shocked),
            "suppliers": suppliers,
        },
    )
    return _finish(frame, DOWNSTREAM_COLUMNS, provenance)


def _scenario(options: dict[str, Any]) -> Any:
    """The Scenario described by :func:`shock`'s options."""
    from chokepoints.analysis import scenario as scenarios

    if options.get("scenario") is not None:
        return options["scenario"]
    if options.get("preset"):
        return scenarios.preset(options["preset"])
    if options.get("scenario_file"):
        return scenarios.load_scenario(options["scenario_file"])
    if options.get("supplier"):
        return scenarios.build_scenario(
            options["supplier"],
            sectors=list(options.get("sectors") or []) or None,
            products=list(options.get("products") or []) or None,
            importers=list(options.get("importers") or []) or None,
            fraction=options.get("fraction", 1.0),
        )
    raise InputError(
        "no scenario given", hint="use --preset NAME, --scenario FILE or --supplier ISO3"
    )


# -- trade exposure ----------------------------------------------------------------------------
def trade_exposure(
    ws: Workspace,
    country: str,
    supplier: str,
    *,
    year: int | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Per strategic sector: the country's imports, those from ``supplier`` and their share."""
    from chokepoints.analysis.trend import supplier_exposure_by_sector
    from chokepoints.reference.sectors import sector_table

    dataset = choose_dataset(ws.store.manifest()["parts"], source=source, year=year)
    year = dataset.latest_year() if year is None else year
    who, by = economy(ws, country), economy(ws, supplier)
    flows = _flows(ws, dataset, [year])
    local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
    table = sector_table(dataset.classification, extra_dirs=ws.sector_dirs)
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
    provenance = dataset.provenance(
        year=year, economy=who.name, supplier=by.name, method={"name": "trade_exposure"}
    )
    return _finish(
        frame,
        SUPPLIER_COLUMNS,
        provenance,
    )


# -- input-output exposure --------------------------------------------------------------------
def io_exposure(
    ws: Workspace,
    country: str,
    supplier: str,
    *,
    icio: str | None = None,
    year: int | None = None,
    theta: float = 1.0,
    supplier_sectors: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per sector of ``country``: face-value and look-through reliance on ``supplier``, and the
    output it would lose if ``supplier`` stopped supplying intermediate inputs (share ``theta``;
    only its ``supplier_sectors``, e.g. ``["C26"]``, when given).

    ``icio`` is an OECD ICIO file or folder (default: ``HOME/icio``, where ``data fetch icio``
    puts it). Regions are the table's own codes (ISO3 for countries).
    """
    from chokepoints.analysis import input_output as io
    from chokepoints.sources.icio import read_icio

    location = Path(icio) if icio else ws.home / "icio"
    if not location.exists():
        raise NoDataError(
            f"no input-output table at {location}: run `chokepoints data fetch icio --year Y` "
            "or pass --icio FILE (an OECD ICIO csv or zip)"
        )
    system = read_icio(location, year)
    system.calc_system()
    who, by = economy(ws, country), economy(ws, supplier)
    regions = set(system.Z.index.get_level_values(0))
    missing = [c for c in (*who.members, *by.members) if c not in regions]
    if set(who.members) <= set(missing) or set(by.members) <= set(missing):
        raise NoDataError(
            f"{', '.join(missing)} not in this input-output table (its regions: "
            f"{', '.join(sorted(regions)[:12])}...)"
        )
    suppliers = [m for m in by.members if m in regions]
    face = io.face_value_reliance(system.Z, suppliers)
    look = io.look_through_reliance(system.A, suppliers)
    loss = io.hypothetical_extraction(
        system.A, system.Y.sum(axis=1), suppliers, supplier_sectors or None, theta=theta
    )
    frame = pd.DataFrame({"face_value_reliance": face, "look_through_reliance": look}).join(loss)
    frame = frame[frame.index.get_level_values(0).isin(who.members)]
    frame.index = frame.index.set_names(["region", "sector"])
    frame = frame.reset_index().sort_values("look_through_reliance", ascending=False)
    frame.insert(0, "supplier", by.name)
    provenance = {
        "source": "icio",
        "releases": [str(location.name)],
        "classification": "ICIO sectors",
        "year": year,
        "economy": who.name,
        "tool": ws.provenance()["tool"],
        "demo": False,
        "method": {
            "name": "input_output",
            "theta": theta,
            "reliance": "Baldwin, Freeman & Theodorakopoulos (2023)",
            "extraction": "Miller & Blair (2009), hypothetical extraction of rows",
        },
    }
    return _finish(
        frame,
        [
            "region",
            "sector",
            "supplier",
            "face_value_reliance",
            "look_through_reliance",
            "output",
            "output_after",
            "loss",
            "loss_share",
        ],
        provenance,
    )


# -- stress test -----------------------------------------------------------------------------
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

#: Sectors of the batch stress test by default: the catalogue's, without the EU proxy.
STRESS_EXCLUDED_SECTORS = ("eu_sensitive_ecosystems",)


def stress(
    ws: Workspace,
    *,
    year: int | None = None,
    sectors: Sequence[str] = (),
    importers: Sequence[str] = (),
    top: int | None = None,
    redirect_fraction: float | None = None,
    allow_partial: bool = False,
    source: str | None = None,
) -> pd.DataFrame:
    """Every supplier x every strategic sector x every importer, ranked by shortfall.

    ``importers`` (countries or groups) restricts the rows shown, not the computation of
    spare capacity; ``top`` keeps the N worst suppliers per importer and sector.
    """
    from chokepoints.analysis import stress as stress_analysis
    from chokepoints.reference.sectors import sector_table

    dataset = choose_dataset(ws.store.manifest()["parts"], source=source, year=year)
    year = dataset.latest_year() if year is None else year
    table = sector_table(dataset.classification, extra_dirs=ws.sector_dirs)
    if sectors:
        unknown = sorted(set(sectors) - set(table["sector"]))
        if unknown:
            sector_codes(ws, unknown[0], dataset.classification)  # raises a clear error
        table = table[table["sector"].isin(list(sectors))]
    else:
        table = table[~table["sector"].isin(STRESS_EXCLUDED_SECTORS)]
    flows = _flows(ws, dataset, [year])
    warnings = _check_coverage(flows, [year], allow_partial=allow_partial)
    fraction = (
        stress_analysis.DEFAULT_REDIRECT_FRACTION
        if redirect_fraction is None
        else redirect_fraction
    )
    result = stress_analysis.stress_test(
        flows, year, ibis.memtable(table[["product", "sector"]]), redirect_fraction=fraction
    )
    if importers:
        chosen = sorted({c for spec in importers for c in economy(ws, spec).members})
        result = result.filter(result.importer.isin(chosen))
    if top is not None:
        result = result.filter(result["rank"] <= top)
    frame = result.to_pandas().sort_values(
        ["shortfall_value_usd", "importer", "sector"], ascending=[False, True, True]
    )
    provenance = dataset.provenance(
        year=year,
        warnings=warnings,
        method={"name": "stress_test", "fraction": 1.0, "redirect_fraction": fraction},
        sectors=sorted(table["sector"].unique()),
    )
    return _finish(frame, STRESS_COLUMNS, provenance)


# -- product ---------------------------------------------------------------------------------
def product_picture(
    ws: Workspace,
    code: str,
    *,
    year: int | None = None,
    source: str | None = None,
    allow_partial: bool = False,
) -> dict[str, pd.DataFrame]:
    """The world picture of one product: summary, exporters, and importers depending on it."""
    dataset = choose_dataset(ws.store.manifest()["parts"], source=source, year=year)
    year = dataset.latest_year() if year is None else year
    code = code.strip()
    params = dependency.GeoDep()
    years = list(range(year - params.window + 1, year + 1))
    flows = _flows(ws, dataset, years)
    flows = flows.filter(flows["product"] == code)
    warnings = _check_coverage(flows, [year], allow_partial=allow_partial)
    this_year = flows.filter(flows.year == year)
    exporters = concentration.exporter_shares(this_year).to_pandas()
    if exporters.empty:
        raise NoDataError(
            f"no trade in product {code} in {year} in {dataset.source} {dataset.classification}"
        )
    exporters = exporters.sort_values("export_value_usd", ascending=False)
    summary = concentration.world_exports(this_year).to_pandas()
    summary = _describe(ws, summary, dataset.classification)
    importers = dependency.geodep(flows, year, params=params).to_pandas()
    importers = importers.sort_values(["dependent", "import_value_usd"], ascending=False)
    provenance = dataset.provenance(
        year=year, product=code, method=params.parameters(), warnings=warnings
    )
    return {
        "summary": _finish(summary, ["year", "product", "description", "sector"], provenance),
        "exporters": _finish(exporters, ["year", "product", "exporter"], provenance),
        "importers": _finish(importers, DEPENDENCY_COLUMNS, provenance),
    }


# -- trend -----------------------------------------------------------------------------------
def trend(
    ws: Workspace,
    country: str,
    supplier: str,
    *,
    sector: str | None = None,
    source: str | None = None,
    allow_partial: bool = False,
) -> pd.DataFrame:
    """Per year: the supplier's share of the country's imports and the products depending on it.

    The provenance carries the change from the first to the last year and its verdict
    (``de-risking``, ``deepening`` or ``stable``).
    """
    dataset = choose_dataset(ws.store.manifest()["parts"], source=source)
    who, by = economy(ws, country), economy(ws, supplier)
    codes = sector_codes(ws, sector, dataset.classification)
    flows = _flows(ws, dataset, dataset.years)
    warnings = _check_coverage(flows, dataset.years, allow_partial=allow_partial)
    local = concentration.as_group(flows, who.name, who.members) if who.is_group else flows
    table = trend_analysis.supplier_trend(
        flows,
        importer=who.name,
        supplier=by.name,
        supplier_members=by.members,
        importer_flows=local,
        products=codes,
    )
    frame = table.to_pandas()
    if frame.empty:
        raise NoDataError(
            f"no imports of {who.name} in {dataset.source} "
            f"{dataset.classification}" + (f" in sector {sector}" if sector else "")
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
        years=list(dataset.years),
        economy=who.name,
        supplier=by.name,
        sector=sector,
        change=change,
        warnings=warnings,
        method=dependency.GeoDep().parameters(),
    )
    return _finish(
        frame,
        [*SUPPLIER_COLUMNS, "n_dependent", "n_dependent_on_supplier", "mean_hhi"],
        provenance,
    )
