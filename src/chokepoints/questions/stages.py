"""Where in a value chain is supply concentrated? Stage by stage, from the mine to the product.

``chain_stages``: for one economy and the value chains (``reference/chains``), each step upstream
first with the world's concentration at that step (production shares for production nodes,
world export shares for traded codes), the economy's own import concentration and top
supplier, and the top effective origin looked through the step's nearest input.
"""

from __future__ import annotations

import pandas as pd

from chokepoints.analysis.concentration import hhi_of_shares
from chokepoints.errors import NoDataError
from chokepoints.questions.common import (
    as_economies,
    check_coverage,
    dataset_and_year,
    finish,
    flows_of,
)
from chokepoints.questions.context import Context
from chokepoints.questions.upstream import effective_top
from chokepoints.reference.chains import ChainNode, ValueChain, chain_graphs, load_chain

#: Columns of ``chain_stages`` results, in order.
STAGE_COLUMNS = [
    "chain", "step", "label", "stage", "codes", "basis", "world_hhi", "world_top",
    "world_top_share", "imports_usd", "import_hhi", "top_supplier", "top_supplier_share",
    "effective_top_origin", "effective_top_share",
]  # fmt: skip


def chain_stages(
    ctx: Context,
    country: str,
    *,
    chains: list[str] | None = None,
    year: int | None = None,
    source: str | None = None,
    allow_partial: bool = False,
) -> pd.DataFrame:
    """Per value chain (default: every chain with codes in the dataset's revision) and step,
    upstream first: how concentrated the world's supply is there and how concentrated
    ``country``'s imports are. ``basis`` says what measured the world: ``production YEAR
    (source)``, ``world exports``, or why nothing could."""
    who = ctx.economy(country)
    dataset, year = dataset_and_year(ctx, economy=who, source=source, year=year)
    warnings = check_coverage(ctx, dataset, [year], allow_partial=allow_partial)
    revision = dataset.classification
    wanted = chains or sorted(chain_graphs(revision))
    found = [load_chain(chain_id).in_revision(revision) for chain_id in wanted]
    for chain in found:
        chain.graph(revision)  # refuses a chain without codes in this revision, in one sentence
    notes = [note for chain in found if (note := chain.conversion_note())]
    warnings += notes
    codes = sorted(
        {code for chain in found for node in chain.nodes.values() for code in node.codes[revision]}
    )
    flows = flows_of(ctx, dataset, [year])
    flows = flows.filter(flows["product"].isin(codes))
    world = flows.to_pandas()
    mine = as_economies(flows, [who])
    mine = mine.filter(mine["importer"] == who.name).to_pandas()
    effective = effective_top(ctx, dataset, year, who, sorted(set(mine["product"])))
    rows = [
        _step_row(ctx, chain, node, revision, year, world, mine, effective)
        for chain in found
        for node in chain.ordered_steps()
    ]
    frame = pd.DataFrame(rows, columns=STAGE_COLUMNS)
    if frame["imports_usd"].fillna(0).sum() == 0:
        raise NoDataError(
            f"{who.name} imported nothing of the value chains {', '.join(wanted)} in {year} "
            f"in {dataset.label}"
        )
    provenance = dataset.provenance(
        year=year,
        economy=who.name,
        chains=wanted,
        warnings=warnings,
        **(
            {
                "hs_conversion": [
                    c.record(f"chain {chain.id} step {step}")
                    for chain in found
                    for step, c in chain.conversions.items()
                ]
            }
            if notes
            else {}
        ),
        method={
            "name": "chain_stages",
            "world": "production or world export HHI",
            "imports": "import HHI of the step's codes",
            "effective": "look-through depth 1",
        },
    )
    return finish(frame, STAGE_COLUMNS, provenance)


def _step_row(
    ctx: Context,
    chain: ValueChain,
    node: ChainNode,
    classification: str,
    year: int,
    world: pd.DataFrame,
    mine: pd.DataFrame,
    effective: pd.DataFrame,
) -> dict[str, object]:
    """One step's row: the world's concentration there and the economy's imports of it."""
    row: dict[str, object] = {
        "chain": chain.id,
        "step": node.id,
        "label": node.label,
        "stage": node.stage,
    }
    if node.production is not None:
        commodity, stage = node.production
        row["codes"] = f"{commodity} ({stage})"
        return {**row, **_production_concentration(ctx, commodity, stage, year)}
    codes = list(node.codes[classification])
    row["codes"] = ", ".join(codes)
    exports = world[world["product"].isin(codes)].groupby("exporter")["value_usd"].sum()
    exports = exports[exports > 0].sort_values(ascending=False)
    if exports.empty:
        return {**row, "basis": "trade not in the store"}
    shares = exports / exports.sum()
    row.update(
        basis="world exports",
        world_hhi=hhi_of_shares(shares),
        world_top=str(shares.index[0]),
        world_top_share=float(shares.iloc[0]),
    )
    imports = mine[mine["product"].isin(codes)]
    by_supplier = imports.groupby("exporter")["value_usd"].sum()
    by_supplier = by_supplier[by_supplier > 0].sort_values(ascending=False)
    row["imports_usd"] = float(by_supplier.sum())
    if not by_supplier.empty:
        shares = by_supplier / by_supplier.sum()
        row.update(
            import_hhi=hhi_of_shares(shares),
            top_supplier=str(shares.index[0]),
            top_supplier_share=float(shares.iloc[0]),
        )
        largest = imports.groupby("product")["value_usd"].sum().idxmax()
        looked = effective[effective["product"] == largest]
        if not looked.empty and bool(looked["looked_through"].iloc[0]):
            row.update(
                effective_top_origin=looked["effective_top_origin"].iloc[0],
                effective_top_share=float(looked["effective_top_share"].iloc[0]),
            )
    return row


def _production_concentration(
    ctx: Context, commodity: str, stage: str, year: int
) -> dict[str, object]:
    """The world's production concentration of a production node (latest year up to
    ``year``, else the latest), or a basis saying the store holds none."""
    from chokepoints.questions.production import production_near

    frame = production_near(ctx, commodity, stage, year)
    if frame is None:
        return {"basis": "production not in the store"}
    record = frame.attrs["provenance"]
    method = record["method"]
    return {
        "basis": f"production {record['year']} ({record['source']})",
        "world_hhi": method["hhi"],
        "world_top": method["top_producer"],
        "world_top_share": method["top_share"],
    }
