"""What if a supplier cuts us off? Scenario impacts, value chains, stress test, input-output.

``shock``, ``downstream``, ``stress`` and ``io_exposure``: DataFrames with provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from chokepoints import __version__
from chokepoints.errors import InputError, NoDataError
from chokepoints.questions.common import (
    as_economies,
    check_coverage,
    dataset_and_year,
    describe,
    finish,
    flows_of,
    sector_codes,
)
from chokepoints.questions.context import Context
from chokepoints.reference.economies import Economy, disjoint

if TYPE_CHECKING:
    from chokepoints.sources.measures import Measure

# -- shocks ----------------------------------------------------------------------------------
SHOCK_COLUMNS = [
    "year",
    "importer",
    "product",
    "description",
    "sector",
    "measure_id",
    "import_value_usd",
    "lost_value_usd",
    "lost_quantity_t",
    "lost_share",
    "redirectable_value_usd",
    "shortfall_value_usd",
    "own_exports_usd",
    "kept_value_usd",
    "shared_spare_usd",
    "total_lost_usd",
]

#: Ways of summing a shock's impact: per product, per sector, per importer, and per product
#: with a group importer split into its members.
SHOCK_BY = ("product", "sector", "country", "member")


def shock(
    ctx: Context,
    *,
    scenario: Any = None,
    preset: str | None = None,
    scenario_file: str | None = None,
    measures: str | None = None,
    supplier: str | None = None,
    sectors: Sequence[str] = (),
    products: Sequence[str] = (),
    importers: Sequence[str] = (),
    fraction: float = 1.0,
    year: int | None = None,
    redirect_fraction: float = 0.5,
    allocation: str = "pro_rata",
    allow_partial: bool = False,
    source: str | None = None,
    by: str = "product",
) -> pd.DataFrame:
    """Direct impact of a disruption scenario per (importer, product), sorted by shortfall.

    ``by="sector"`` or ``by="country"`` sums it per (importer, sector) or per importer;
    ``by="member"`` lists a group importer's members one by one instead of the group as one
    buyer. The world's spare capacity of each product is shared among all importers hit
    (``allocation``: ``pro_rata`` or the optimistic ``per_importer``).

    The scenario is a ``Scenario`` object, a preset name, a TOML file, a measures CSV file
    (``measures``: each row a measure on an HS6 code, see ``sources.measures``), or the generic
    "supplier X stops exporting sectors S (or products P) to importers I". The frame's
    provenance holds the scenario, its sources, the allocation rule, totals per importer
    (``by_importer``) and for the world (``world``); with ``measures``, each row names the
    measures binding on it (``measure_id``) and the provenance lists every measure with its
    matched flows and value at risk (``measures``).
    """
    from chokepoints.analysis import scenario as scenarios

    if by not in SHOCK_BY:
        raise InputError(f"unknown by {by!r}", field="by", hint=f"use {', '.join(SHOCK_BY)}")
    scenarios.check_allocation(allocation)
    listed: list[Measure] = []
    if measures:
        from chokepoints.sources.measures import read_measures

        listed = read_measures(measures, economies=ctx.economies)
    else:
        scenario = _scenario(
            ctx,
            {
                "scenario": scenario,
                "preset": preset,
                "scenario_file": scenario_file,
                "supplier": supplier,
                "sectors": sectors,
                "products": products,
                "importers": importers,
                "fraction": fraction,
            },
        )
    dataset, year = dataset_and_year(ctx, source=source, year=year, level=6)
    from chokepoints.questions.revisions import conversion_provenance, sector_selection

    measure_ids: list[str] = []
    made: list[tuple[str, Any]] = []
    if measures:
        from chokepoints.questions.measures import in_revision, measures_scenario

        listed, made = in_revision(listed, dataset.classification)
        scenario, measure_ids = measures_scenario(
            listed, dataset.classification, file=measures, sector_dirs=ctx.sector_dirs
        )
    # Sectors without a list in the data's revision are cut by their converted codes: say so.
    shocked = sorted({sector for shock in scenario.shocks for sector in shock.sectors or ()})
    made += [(f"sector {s}", sector_selection(ctx, s, dataset)[1]) for s in shocked]
    converted, notes = conversion_provenance(made)
    flows = flows_of(ctx, dataset, [year])
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial) + notes
    by_member = by == "member"
    if not by_member:
        flows = _grouped_for(flows, scenario.importer_economies, scenario.supplier_economies)
    impact = scenarios.scenario_impact(
        flows,
        scenario,
        year=year,
        classification=dataset.classification,
        redirect_fraction=redirect_fraction,
        allocation=allocation,
        by_member=by_member,
    )
    frame = impact.to_pandas()
    if frame.empty:
        raise NoDataError(
            f"scenario {scenario.id} cuts no flow in {year} in {dataset.label}: the supplier "
            "sells none of its products there"
        )
    order = ["shortfall_value_usd", "lost_value_usd"]
    # Then by key, so that rows tied on value keep one order whichever engine answered.
    frame = describe(ctx, frame, dataset.classification).sort_values(
        [*order, "importer", "product"], ascending=[False, False, True, True]
    )
    by_importer = (
        frame.groupby("importer")[
            ["lost_value_usd", "redirectable_value_usd", "shortfall_value_usd"]
        ]
        .sum()
        .sort_values("shortfall_value_usd", ascending=False, kind="stable")
    )
    provenance = dataset.provenance(
        year=year,
        warnings=warnings,
        **({"hs_conversion": converted} if converted else {}),
        method={
            "name": "direct_impact",
            "redirect_fraction": redirect_fraction,
            "allocation": allocation,
        },
        world=_world_totals(frame),
        scenario={
            "id": scenario.id,
            "name": scenario.name,
            "sources": list(scenario.sources),
            "shocks": [
                {
                    "supplier": s.supplier,
                    "fraction": s.fraction,
                    "importers": [e.name for e in s.importers] if s.importers else "all",
                }
                for s in scenario.shocks
            ],
        },
        by_importer=by_importer.reset_index().to_dict(orient="records"),
    )
    if by in ("sector", "country"):
        summed = (
            scenarios.impact_by_sector(impact, dataset.classification, ctx.sector_dirs)
            if by == "sector"
            else scenarios.impact_by_country(impact)
        )
        summed_frame = summed.to_pandas()
        keys = [k for k in ("importer", "sector") if k in summed_frame.columns]
        frame = summed_frame.sort_values(
            [*order, *keys], ascending=[False] * len(order) + [True] * len(keys)
        )
    if measures:
        frame, provenance["measures"] = _traced(
            ctx, frame, flows, scenario, measure_ids, listed, dataset.classification, year, by
        )
    return finish(frame, SHOCK_COLUMNS, provenance)


def _traced(
    ctx: Context,
    frame: pd.DataFrame,
    flows: ibis.Table,
    scenario: Any,
    measure_ids: list[str],
    listed: Sequence[Measure],
    classification: str,
    year: int,
    by: str,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """``frame`` with the ids of the measures binding on each row (``measure_id``), and the
    table of measures (matched flows, value at risk) as records for the provenance."""
    from chokepoints.analysis.measures import measure_totals, measured_flows
    from chokepoints.questions.measures import binding_ids, measure_table
    from chokepoints.reference.sectors import sector_table

    resolved = scenario.resolve(classification, by_member=by == "member")
    measured = measured_flows(flows, year, list(zip(measure_ids, resolved, strict=True)))
    table = measure_table(listed, measure_totals(measured).to_pandas(), classification, year)
    keys = {"product": ["importer", "product"], "member": ["importer", "product"]}.get(
        by, ["importer", "sector"] if by == "sector" else ["importer"]
    )
    sectors = sector_table(classification, extra_dirs=ctx.sector_dirs) if by == "sector" else None
    ids = binding_ids(measured.to_pandas(), keys, [m.id for m in listed], sectors)
    frame = frame.merge(ids.rename("measure_id"), left_on=keys, right_index=True, how="left")
    return frame, table.to_dict(orient="records")


def _grouped_for(
    flows: ibis.Table, importers: Sequence[Economy], suppliers: Sequence[Economy]
) -> ibis.Table:
    """Flows with the group importers buying as one; a supplier may not overlap them."""
    groups = [e for e in importers if e.is_group]
    if not groups:
        return flows
    overlapping = [s for s in suppliers if any(set(s.members) & set(g.members) for g in groups)]
    disjoint([*groups, *overlapping])  # refuses, naming the country in both
    return as_economies(flows, groups)


def _world_totals(frame: pd.DataFrame) -> dict[str, float]:
    """Lost, shared spare capacity, redirected and short over every importer and product hit."""
    per_product = frame.groupby("product")
    return {
        "lost_value_usd": float(frame["lost_value_usd"].sum()),
        "shared_spare_usd": float(per_product["shared_spare_usd"].first().sum()),
        "redirectable_value_usd": float(frame["redirectable_value_usd"].sum()),
        "shortfall_value_usd": float(frame["shortfall_value_usd"].sum()),
    }


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
    ctx: Context,
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
    from chokepoints.reference.chains import chain_graphs, list_chains, load_chain

    scenario = _scenario(ctx, scenario_options)
    dataset, year = dataset_and_year(ctx, source=source, year=year, level=6)
    shocked = set(scenario.products_for(dataset.classification))
    suppliers = sorted({m for s in scenario.shocks for m in s.members})
    flows = flows_of(ctx, dataset, [year])
    frames = []
    graphs = chain_graphs(dataset.classification)
    for chain_id in chains or list(graphs):
        graph = graphs.get(chain_id)
        if graph is None:
            load_chain(chain_id)  # an unknown id is an error; a known one lacks this revision
            continue
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
        frame = frame[frame["country"].isin(ctx.members(list(countries)))]
    frame = frame.sort_values(
        ["chain", "depth", "exports_usd", "product", "country", "path"],
        ascending=[True, True, False, True, True, True],
    )
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
    return finish(frame, DOWNSTREAM_COLUMNS, provenance)


def _scenario(ctx: Context, options: dict[str, Any]) -> Any:
    """The Scenario described by :func:`shock`'s options, names read with the user's groups
    and sectors."""
    from chokepoints.analysis import scenario as scenarios

    if options.get("scenario") is not None:
        return options["scenario"]
    if options.get("preset"):
        return scenarios.preset(options["preset"])
    if options.get("scenario_file"):
        return scenarios.load_scenario(
            options["scenario_file"], economies=ctx.economies, sector_dirs=ctx.sector_dirs
        )
    if options.get("supplier"):
        return scenarios.build_scenario(
            options["supplier"],
            sectors=list(options.get("sectors") or []) or None,
            products=list(options.get("products") or []) or None,
            importers=list(options.get("importers") or []) or None,
            fraction=options.get("fraction", 1.0),
            economies=ctx.economies,
            sector_dirs=ctx.sector_dirs,
        )
    raise InputError(
        "no scenario given", hint="use --preset NAME, --scenario FILE or --supplier ISO3"
    )


# -- input-output exposure --------------------------------------------------------------------
def io_exposure(
    ctx: Context,
    country: str,
    supplier: str,
    *,
    icio: Path | str,
    year: int | None = None,
    theta: float = 1.0,
    supplier_sectors: Sequence[str] | None = None,
    cache: Path,
) -> pd.DataFrame:
    """Per sector of ``country``: face-value and look-through reliance on ``supplier``, and the
    output it would lose if ``supplier`` stopped supplying intermediate inputs (share ``theta``;
    only its ``supplier_sectors``, e.g. ``["C26"]``, when given).

    ``icio`` is an OECD ICIO file or folder (default: ``HOME/icio``, where ``data fetch icio``
    puts it). Regions are the table's own codes (ISO3 for countries). The parsed table is kept
    as Parquet in ``cache`` (``HOME/icio/cache``) and later read from there
    (``sources.icio_cache``).
    """
    from chokepoints.analysis import input_output as io
    from chokepoints.sources.icio_cache import read_icio_cached

    location = Path(icio)
    if not location.exists():
        raise NoDataError(
            f"no input-output table at {location}: run `chokepoints data fetch icio --year Y` "
            "or pass --icio FILE (an OECD ICIO csv or zip)"
        )
    read = read_icio_cached(location, year, cache)
    system = read.system
    # Gross output and coefficients only: pymrio's calc_system would also invert I - A
    # explicitly (L), seconds of work on a full table that no figure here uses.
    demand = system.Y.sum(axis=1)
    coefficients = io.technical_coefficients(system.Z, system.Z.sum(axis=1) + demand)
    who, by = ctx.economy(country), ctx.economy(supplier)
    regions = set(system.Z.index.get_level_values(0))
    missing = [c for c in (*who.members, *by.members) if c not in regions]
    if set(who.members) <= set(missing) or set(by.members) <= set(missing):
        raise NoDataError(
            f"{', '.join(missing)} not in this input-output table (its regions: "
            f"{', '.join(sorted(regions)[:12])}...)"
        )
    suppliers = [m for m in by.members if m in regions]
    face = io.face_value_reliance(system.Z, suppliers)
    look = io.look_through_reliance(coefficients, suppliers)
    loss = io.hypothetical_extraction(
        coefficients, demand, suppliers, supplier_sectors or None, theta=theta
    )
    frame = pd.DataFrame({"face_value_reliance": face, "look_through_reliance": look}).join(loss)
    frame = frame[frame.index.get_level_values(0).isin(who.members)]
    frame.index = frame.index.set_names(["region", "sector"])
    frame = frame.reset_index().sort_values("look_through_reliance", ascending=False)
    frame.insert(0, "supplier", by.name)
    provenance = {
        "source": "icio",
        "releases": [str(read.file.name)],
        "classification": "ICIO sectors",
        "year": read.year,
        "icio": {"file": read.file.name, "sha256": read.sha256, "read": read.how},
        "economy": who.name,
        "tool": f"chokepoints {__version__}",
        "demo": False,
        "method": {
            "name": "input_output",
            "theta": theta,
            "reliance": "Baldwin, Freeman & Theodorakopoulos (2023)",
            "extraction": "Miller & Blair (2009), hypothetical extraction of rows",
        },
    }
    return finish(
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

#: Sectors of the batch stress test by default: the catalogue's, without the EU proxy.
STRESS_EXCLUDED_SECTORS = ("eu_sensitive_ecosystems",)


def stress(
    ctx: Context,
    *,
    year: int | None = None,
    sectors: Sequence[str] = (),
    importers: Sequence[str] = (),
    top: int | None = None,
    redirect_fraction: float | None = None,
    allocation: str = "pro_rata",
    by: str = "importer",
    allow_partial: bool = False,
    source: str | None = None,
) -> pd.DataFrame:
    """Every supplier x every strategic sector x every importer, ranked by shortfall.

    Each (supplier, sector) is a world-wide cut-off whose spare capacity is shared among all
    the importers it hits (``allocation``). ``importers`` (countries or groups) restricts the
    rows shown, not the computation; a group among them buys as one unless ``by="member"``.
    ``top`` keeps the N worst suppliers per importer and sector.
    """
    from chokepoints.analysis import stress as stress_analysis
    from chokepoints.reference.sectors import sector_table

    if by not in ("importer", "member"):
        raise InputError(f"unknown by {by!r}", field="by", hint="use importer or member")
    chosen = ctx.economies.resolve_all(importers)
    dataset, year = dataset_and_year(ctx, source=source, year=year, level=6)
    table = sector_table(dataset.classification, extra_dirs=ctx.sector_dirs)
    if sectors:
        unknown = sorted(set(sectors) - set(table["sector"]))
        if unknown:
            sector_codes(ctx, unknown[0], dataset)  # raises a clear error
        table = table[table["sector"].isin(list(sectors))]
    else:
        table = table[~table["sector"].isin(STRESS_EXCLUDED_SECTORS)]
    flows = flows_of(ctx, dataset, [year])
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial)
    if by == "importer":
        flows = as_economies(flows, chosen)
    # Every figure of the stress test is per product before the sector roll-up, so the
    # sectors' products are all it needs to read.
    flows = flows.filter(flows["product"].isin(sorted(set(table["product"]))))
    fraction = (
        stress_analysis.DEFAULT_REDIRECT_FRACTION
        if redirect_fraction is None
        else redirect_fraction
    )
    result = stress_analysis.stress_test(
        flows,
        year,
        ibis.memtable(table[["product", "sector"]]),
        redirect_fraction=fraction,
        allocation=allocation,
    )
    if chosen:
        names = {code for e in chosen for code in (e.members if by == "member" else (e.name,))}
        result = result.filter(result.importer.isin(sorted(names)))
    if top is not None:
        result = result.filter(result["rank"] <= top)
    frame = result.to_pandas().sort_values(
        ["shortfall_value_usd", "importer", "sector", "supplier"],
        ascending=[False, True, True, True],
    )
    provenance = dataset.provenance(
        year=year,
        warnings=warnings,
        method={
            "name": "stress_test",
            "fraction": 1.0,
            "redirect_fraction": fraction,
            "allocation": allocation,
        },
        sectors=sorted(table["sector"].unique()),
    )
    return finish(frame, stress_analysis.STRESS_COLUMNS, provenance)
