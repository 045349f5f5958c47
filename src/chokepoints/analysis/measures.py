"""Which trade measure cuts which flow: the trace of a scenario built from a list of measures.

A measures file is run as an ordinary scenario (``analysis.scenario.direct_impact``, one shock
per measure and partner); this module says, per flow of the year, which measures cover it with
the same rule as ``cut_fraction`` (the supplier's members, the products, the importers, never
an importer of the supplier's own group) and which one *binds*: the largest fraction, the
measure listed first on a tie. The binding measure's cut is the scenario's loss on that flow,
so the losses attributed to measures add up to the scenario's.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from chokepoints.analysis.concentration import positive
from chokepoints.analysis.scenario import ResolvedShock

FLOW_KEY = ("exporter", "importer", "product")


def measured_flows(
    flows: ir.Table, year: int, shocks: Sequence[tuple[str, ResolvedShock]]
) -> ir.Table:
    """Per (flow of ``year``, measure covering it): ``value_usd``, the measure's ``fraction``,
    ``at_risk_usd = value_usd * fraction`` and ``binding`` (whether its cut is the flow's).

    ``shocks`` pairs each resolved shock with the id of its measure, in the file's order; a
    measure with several shocks (an import ban on two partners) covers each flow once, at its
    largest fraction. Importers are named as in ``flows`` (a group as one when grouped).
    """
    coverage: list[dict[str, object]] = []
    excluded: list[dict[str, object]] = []
    for order, (measure, shock) in enumerate(shocks):
        for member in shock.members:
            excluded.append({"order": order, "importer": member})
            for product in shock.products:
                for importer in shock.importers or (None,):
                    coverage.append(
                        {
                            "order": order,
                            "measure_id": measure,
                            "m_exporter": member,
                            "m_product": product,
                            "m_importer": importer,
                            "fraction": shock.fraction,
                        }
                    )
    codes = sorted({code for _, shock in shocks for code in shock.products})
    year_flows = positive(flows)
    year_flows = year_flows.filter(year_flows.year == year, year_flows["product"].isin(codes))
    year_flows = year_flows.group_by(list(FLOW_KEY)).aggregate(value_usd=year_flows.value_usd.sum())
    cover = ibis.memtable(coverage, schema=_COVERAGE_SCHEMA)
    joined = year_flows.join(
        cover,
        [year_flows.exporter == cover.m_exporter, year_flows["product"] == cover.m_product],
    )
    joined = joined.filter(joined.m_importer.isnull() | (joined.m_importer == joined.importer))
    own_group = ibis.memtable(excluded, schema={"order": "int64", "importer": "string"})
    covered = joined.anti_join(own_group, ["order", "importer"])
    # One row per (flow, measure): a measure's largest fraction, its first shock's order.
    per_measure = covered.group_by([*FLOW_KEY, "measure_id"]).aggregate(
        value_usd=covered.value_usd.max(),  # the flow's value, the same on each of its rows
        fraction=covered.fraction.max(),
        order=covered.order.min(),
    )
    rank = ibis.row_number().over(
        group_by=list(FLOW_KEY), order_by=[ibis.desc(per_measure.fraction), per_measure.order]
    )
    return per_measure.select(
        *FLOW_KEY,
        "measure_id",
        "value_usd",
        "fraction",
        at_risk_usd=per_measure.value_usd * per_measure.fraction,
        binding=rank == 0,
    )


_COVERAGE_SCHEMA = {
    "order": "int64",
    "measure_id": "string",
    "m_exporter": "string",
    "m_product": "string",
    "m_importer": "string",
    "fraction": "float64",
}


def measure_totals(measured: ir.Table) -> ir.Table:
    """Per measure: ``flows`` and ``importers`` it covers, ``matched_value_usd`` (their value),
    ``value_at_risk_usd`` (value x fraction, as if it were the only measure) and
    ``binding_lost_usd`` (the loss on the flows where it binds: these add up to the scenario's)."""
    return measured.group_by("measure_id").aggregate(
        flows=measured.count(),
        importers=measured.importer.nunique(),
        matched_value_usd=measured.value_usd.sum(),
        value_at_risk_usd=measured.at_risk_usd.sum(),
        binding_lost_usd=measured.binding.ifelse(measured.at_risk_usd, 0.0).sum(),
    )
