"""Where does a supply really come from? Look-through origin along the value chains.

``upstream``: for an importer and a chain product, the direct shares of its suppliers next to
the effective origin shares of the chain's inputs (``analysis.upstream``), per path of inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from chokepoints.analysis import upstream as analysis
from chokepoints.datasets import Dataset
from chokepoints.errors import InputError, NoDataError
from chokepoints.questions.common import (
    as_economies,
    check_coverage,
    code_level,
    dataset_and_year,
    finish,
    flows_of,
)
from chokepoints.questions.context import Context
from chokepoints.reference.chains import chain_graphs
from chokepoints.reference.commodities import commodities_of
from chokepoints.reference.economies import Economy

#: Columns of ``upstream`` results, in order.
UPSTREAM_COLUMNS = [
    "year",
    "importer",
    "product",
    "via",
    "origin",
    "direct_share",
    "effective_share",
    "paths",
    "looked_through",
]

#: How the suppliers' own (domestic) supply of an input is measured without production data.
DOMESTIC_RULE = "exports of the input (a lower bound of production)"


def domestic_supply(
    ctx: Context,
    frame: pd.DataFrame,
    code: str,
    year: int,
    economies: Sequence[Economy],
    classification: str,
) -> tuple[pd.Series | None, str]:
    """Countries' own supply of the input ``code`` in USD, from production data, and the rule
    used; (None, ``DOMESTIC_RULE``) when it cannot be: the code carries not exactly one
    commodity in ``classification`` (``reference/data/commodities.toml``), the store holds no
    production of it, its unit is not a mass, or the input's trade gives no quantity to value
    it with.

    Production (latest year up to ``year``, else the latest) is valued at the world unit value
    of the input's trade; countries the source does not list supply nothing of their own.
    Members of the group ``economies`` add up under the group's name.
    """
    from chokepoints.questions.production import production_near

    links = commodities_of(code, classification)
    if len(links) != 1 or not any(p["table"] == "production" for p in ctx.parts):
        return None, DOMESTIC_RULE
    commodity, stage = links[0]
    made = production_near(ctx, commodity, stage, year)
    if made is None:
        return None, DOMESTIC_RULE
    factors = made["unit"].map(analysis.tonnes_per)
    price = analysis.unit_value(frame[frame["product"] == code])
    if made.empty or factors.isna().any() or price is None:
        return None, DOMESTIC_RULE
    group_of = {m: e.name for e in economies if e.is_group for m in e.members}
    countries = made["country"].map(lambda country: group_of.get(country, country))
    value = (made["quantity"] * factors * price).groupby(countries.to_numpy()).sum()
    record = made.attrs["provenance"]
    rule = (
        f"{commodity} {stage} production {record['year']} ({record['source']} "
        f"{'/'.join(record['releases'])}) valued at the world unit value of {code} "
        f"(${price:,.0f}/t)"
    )
    return value, rule


def _domestic_supplies(
    ctx: Context,
    frame: pd.DataFrame,
    codes: set[str],
    year: int,
    who: Economy,
    dataset: Dataset,
) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """:func:`domestic_supply` of each input of ``codes``: the supplies measured from
    production, and the rule used for every input."""
    domestic, rules = {}, {}
    for code in sorted(codes):
        own, rules[code] = domestic_supply(ctx, frame, code, year, [who], dataset.classification)
        if own is not None:
            domestic[code] = own
    return domestic, rules


def input_paths(graphs: Sequence[Any], product: str, depth: int) -> list[list[str]]:
    """Every sequence of chain inputs upstream of ``product``, nearest first, up to ``depth``,
    in the chain ``graphs`` (``reference.chains.chain_graphs``) that hold the product; a path
    stops early where a chain starts. InputError when no chain holds it."""
    holding = [graph for graph in graphs if product in graph]
    if not holding:
        raise InputError(
            f"product {product} is in no value chain",
            hint="look through the products of the chains: chokepoints shock --downstream lists "
            "them",
        )
    paths: set[tuple[str, ...]] = set()

    def walk(graph: Any, code: str, path: tuple[str, ...]) -> None:
        inputs = sorted(graph.predecessors(code))
        if len(path) == depth or not inputs:
            paths.add(path)
            return
        for parent in inputs:
            walk(graph, parent, (*path, parent))

    for graph in holding:
        walk(graph, product, ())
    return [list(path) for path in sorted(paths)]


def upstream(
    ctx: Context,
    importer: str,
    product: str,
    *,
    year: int | None = None,
    depth: int = 1,
    source: str | None = None,
    allow_partial: bool = False,
) -> pd.DataFrame:
    """Direct and effective (look-through) origin shares of ``importer``'s supply of ``product``.

    One row per (path of inputs, origin). ``via`` names the inputs looked through, nearest
    first (``280530 < 284690``); ``looked_through`` is False where an input's trade is not in
    the store, its suppliers then being taken as origins (said in the warnings too).
    """
    if depth < 0:
        raise InputError(f"depth {depth} is negative", field="depth", hint="use 0, 1, 2...")
    who = ctx.economy(importer)
    product = product.strip()
    dataset, year = dataset_and_year(
        ctx, economy=who, source=source, year=year, level=code_level([product])
    )
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial)
    graphs = list(chain_graphs(dataset.classification).values())
    paths = input_paths(graphs, product, depth) if depth else [[]]
    codes = sorted({product, *(code for path in paths for code in path)})
    flows = as_economies(flows_of(ctx, dataset, [year]), [who])
    frame = flows.filter(flows["product"].isin(codes)).to_pandas()
    if frame[(frame["product"] == product) & (frame["importer"] == who.name)].empty:
        raise NoDataError(f"{who.name} imported no {product} in {year} in {dataset.label}")
    held = set(frame["product"])
    missing = sorted(code for code in codes if code != product and code not in held)
    if missing:
        warnings.append(
            f"the trade of input(s) {', '.join(missing)} is not in {dataset.label} {year}: at "
            "that step the suppliers are taken as the origins, so the effective shares there "
            "are not a finding"
        )
    looked = {code for path in paths for code in path} & held
    domestic, rules = _domestic_supplies(ctx, frame, looked, year, who, dataset)
    origins = analysis.Origins(frame, domestic)
    rows = [
        origins.of(product, path, importers=[who.name]).assign(
            via=" < ".join(path) if path else "(direct)",
            looked_through=all(code in held for code in path),
        )
        for path in paths
    ]
    table = pd.concat(rows, ignore_index=True).assign(year=year, product=product)
    provenance = dataset.provenance(
        year=year,
        economy=who.name,
        product=product,
        warnings=warnings,
        method={
            "name": "look_through_origin",
            "depth": depth,
            "domestic_supply": rules,
            "assumption": "proportionality: a supplier's exports carry its sourcing mix",
        },
        paths=[" < ".join(path) for path in paths],
    )
    return finish(table, UPSTREAM_COLUMNS, provenance)


def effective_top(
    ctx: Context, dataset: Dataset, year: int, who: Economy, products: Sequence[str]
) -> pd.DataFrame:
    """Per product of a value chain among ``products``: the importer's top effective origin
    through the product's nearest input (depth 1), its share, and whether the input's trade was
    held (``deps --look-through``). Products in no chain are left out."""
    graphs = list(chain_graphs(dataset.classification).values())
    paths = {
        product: input_paths(graphs, product, 1)
        for product in products
        if any(product in graph for graph in graphs)
    }
    if not paths:
        return pd.DataFrame(columns=["product", *LOOK_THROUGH_COLUMNS])
    codes = {p for p in paths} | {c for found in paths.values() for path in found for c in path}
    frame = chain_flows(ctx, dataset, year, who)
    frame = frame[frame["product"].isin(codes)]
    held = set(frame["product"])
    looked = {c for found in paths.values() for path in found for c in path} & held

    def origins() -> analysis.Origins:
        domestic, _ = _domestic_supplies(ctx, frame, looked, year, who, dataset)
        return analysis.Origins(frame, domestic)

    # A country leaves the flows and its inputs' supplies as they are: the countries of one
    # context (compare's partners) share one Origins, and so each input's mix.
    group = (who.name, who.members) if who.is_group else None
    key = ("origins", dataset.label, dataset.releases, year, group, tuple(sorted(codes)))
    inputs = {
        product: sorted({code for path in found for code in path})
        for product, found in paths.items()
    }
    chosen = {
        product: [code for code in candidates if code in held][:1] or candidates[:1]
        for product, candidates in inputs.items()
    }
    tops = ctx.memo(key, origins).tops(who.name, chosen)
    top = {
        product: (origin, share)
        for product, origin, share in zip(
            tops["product"], tops["origin"], tops["effective_share"], strict=True
        )
    }
    rows = [
        {
            "product": product,
            "effective_top_origin": top[product][0],
            "effective_top_share": float(top[product][1]),
            "looked_through": any(code in held for code in candidates),
        }
        for product, candidates in inputs.items()
        if product in top
    ]
    return pd.DataFrame(rows, columns=["product", *LOOK_THROUGH_COLUMNS])


def chain_flows(ctx: Context, dataset: Dataset, year: int, who: Economy) -> pd.DataFrame:
    """The year's flows of every value-chain product, ``who`` as one economy: fetched once per
    context, as ``deps --look-through``, ``stages`` and ``compare`` (and the report, which asks
    all three) need them for the same economy. A country leaves the flows as they are, so all
    countries share one fetch (``compare JPN DEU USA`` makes one, not three)."""

    def fetch() -> pd.DataFrame:
        graphs = chain_graphs(dataset.classification).values()
        codes = sorted({code for graph in graphs for code in graph})
        flows = as_economies(flows_of(ctx, dataset, [year]), [who])
        return flows.filter(flows["product"].isin(codes)).to_pandas()

    group = (who.name, who.members) if who.is_group else None
    key = ("chain flows", dataset.label, dataset.releases, year, group)
    return ctx.memo(key, fetch)


#: Columns ``deps --look-through`` adds.
LOOK_THROUGH_COLUMNS = ["effective_top_origin", "effective_top_share", "looked_through"]


#: Columns of ``origins`` results, in order.
ORIGIN_COLUMNS = ["year", "importer", "product", "origin", "reported_share", "corrected_share",
                  "paths", "mirror_ratio", "mirror_flag"]  # fmt: skip


def mirror_check(
    ctx: Context, dataset: Dataset, year: int, who: Economy, product: str
) -> tuple[pd.DataFrame | None, str]:
    """The mirror gaps (``analysis.upstream.mirror_gaps``) of ``who``'s imports of ``product``
    per supplier, when the dataset holds both reporter sides; else None. Also a sentence for
    the provenance."""
    if not {"importer", "exporter"} <= set(dataset.reporter_sides):
        return None, (
            f"not checked: {dataset.label} holds one reporter side "
            f"({', '.join(dataset.reporter_sides) or 'unknown'})"
        )
    t = ctx.trade
    members = list(who.members) if who.is_group else [who.name]
    rows = t.filter(
        t.source == dataset.source,
        t.classification == dataset.classification,
        t.level == dataset.level,
        t.year == year,
        t.product == product,
        t.importer.isin(members),
        ~t.exporter.isin(members),
    ).select("exporter", "importer", "reporter_side", "value_usd")
    frame = rows.to_pandas().assign(importer=who.name)
    gaps = analysis.mirror_gaps(frame)
    flagged = gaps[gaps["mirror_flag"] != ""]
    listed = ", ".join(
        f"{e} {f}" for e, f in zip(flagged["exporter"], flagged["mirror_flag"], strict=True)
    )
    return gaps, (
        f"{len(flagged)} of {len(gaps)} supplier flows differ between the importer's and the "
        f"exporter's report by more than {analysis.MIRROR_TOLERANCE:.0%} or are reported by "
        f"one side only{': ' + listed if listed else ''}"
    )


def origins(
    ctx: Context,
    importer: str,
    product: str,
    *,
    year: int | None = None,
    source: str | None = None,
    allow_partial: bool = False,
) -> pd.DataFrame:
    """Reported and origin-corrected import shares of ``importer``'s ``product``: what transit
    hubs (``analysis.upstream.transit_mix``) re-export is given back to the hubs' own origins."""
    who = ctx.economy(importer)
    product = product.strip()
    dataset, year = dataset_and_year(
        ctx, economy=who, source=source, year=year, level=code_level([product])
    )
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial)
    flows = as_economies(flows_of(ctx, dataset, [year]), [who])
    frame = flows.filter(flows["product"] == product).to_pandas()
    direct = analysis.import_shares(frame)
    direct = direct[direct["importer"] == who.name]
    if direct.empty:
        raise NoDataError(f"{who.name} imported no {product} in {year} in {dataset.label}")
    mix, hubs = analysis.transit_mix(frame)
    # A hub may buy from another hub: the re-exports are followed through a few hubs.
    steps = [mix] * analysis.TRANSIT_STEPS if hubs else []
    result = analysis.look_through(direct, steps).rename(
        columns={"direct_share": "reported_share", "effective_share": "corrected_share"}
    )
    result = result.assign(year=year, product=product)
    gaps, mirror = mirror_check(ctx, dataset, year, who, product)
    if gaps is None:
        result = result.assign(mirror_ratio=float("nan"), mirror_flag="")
    else:
        result = result.merge(
            gaps[["exporter", "mirror_ratio", "mirror_flag"]].rename(
                columns={"exporter": "origin"}
            ),
            on="origin",
            how="left",
        )
        result["mirror_flag"] = result["mirror_flag"].fillna("")
        if (gaps["mirror_flag"] != "").any():
            warnings.append(f"mirror-flow gaps: {mirror}")
    provenance = dataset.provenance(
        year=year,
        economy=who.name,
        product=product,
        warnings=warnings,
        hubs=hubs,
        method={
            "name": "transit_correction",
            "hubs": list(analysis.HUBS),
            "hub_coverage": analysis.HUB_COVERAGE,
            "re_exports": "min(imports, exports) of the hub, carrying the mix of its imports",
        },
        mirror=mirror,
    )
    return finish(result, ORIGIN_COLUMNS, provenance)
