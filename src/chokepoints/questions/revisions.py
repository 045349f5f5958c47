"""Answering across HS revisions: sector codes, older releases and product codes converted.

A question runs on one dataset in one HS revision. Sectors without a list for it are converted
(``reference.sectors.sector_products_in``); ``trend`` reaches back to years only an older
revision holds by converting those flows to the dataset's revision; ``product`` accepts a code
of another revision (``HS17:854140``). Every conversion goes into the provenance
(``hs_conversion``) with one sentence among the warnings. docs/methods/hs_revisions.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from chokepoints.analysis.concentration import FLOW_KEY
from chokepoints.datasets import Dataset, datasets, year_coverage
from chokepoints.errors import UnknownCodeError
from chokepoints.questions.common import check_sector_level, coverage, flows_of
from chokepoints.questions.context import Context
from chokepoints.reference.economies import Economy
from chokepoints.reference.hs_revisions import (
    REVISIONS,
    CodeConversion,
    ValueConversion,
    parse_code,
    revision_codes,
    value_weights,
)


def sector_selection(
    ctx: Context, sector: str | None, dataset: Dataset
) -> tuple[list[str] | None, CodeConversion | None]:
    """The codes of ``sector`` in the dataset's revision and the conversion made, if any:
    the sector's own list for it, else its nearest list converted. HS6 data only
    (``common.check_sector_level``)."""
    from chokepoints.reference.sectors import sector_products_in

    if sector is None:
        return None, None
    check_sector_level(sector, dataset)
    return sector_products_in(sector, dataset.classification, extra_dirs=ctx.sector_dirs)


def sector_table_conversions(
    ctx: Context, dataset: Dataset
) -> list[tuple[str, CodeConversion | None]]:
    """The conversions behind ``sector_table(..., converted=True)`` in the dataset's revision:
    one per sector without a list for it (for ``conversion_provenance``)."""
    from chokepoints.reference.sectors import list_sectors, sector_products_in

    if dataset.classification not in REVISIONS:
        return []
    column = f"n_{dataset.classification}"
    sectors = list_sectors(ctx.sector_dirs)
    lacking = sectors["id"] if column not in sectors else sectors.loc[sectors[column].isna(), "id"]
    return [
        (
            f"sector {sector}",
            sector_products_in(sector, dataset.classification, extra_dirs=ctx.sector_dirs)[1],
        )
        for sector in lacking
    ]


def conversion_provenance(
    made: Sequence[tuple[str, CodeConversion | ValueConversion | None]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``hs_conversion`` records and the sentences for ``warnings`` of the conversions
    ``made`` (what was converted, conversion or None)."""
    records, notes = [], []
    for what, conversion in made:
        if conversion is not None:
            records.append(conversion.record(what))
            notes.append(conversion.note(what))
    return records, notes


# -- flows of older revisions ----------------------------------------------------------------
def earlier_datasets(
    ctx: Context, dataset: Dataset, first_year: int, economy: Economy
) -> list[tuple[Dataset, list[int]]]:
    """Datasets of the same source and level in other HS revisions holding years before
    ``first_year`` that cover the imports of ``economy``: each year from the newest revision
    holding it, newest revisions first."""
    frame = coverage(ctx)
    others = [
        d
        for d in datasets(ctx.parts, frame)
        if d.source == dataset.source
        and d.level == dataset.level
        and d.classification != dataset.classification
        and d.classification in REVISIONS
    ]
    others.sort(key=lambda d: REVISIONS.index(d.classification), reverse=True)
    taken: set[int] = set()
    found = []
    for other in others:
        years = [
            held.year
            for held in year_coverage(other, frame, economy.members)
            if held.year < first_year and held.covered and held.year not in taken
        ]
        if years:
            taken.update(years)
            found.append((other, sorted(years)))
    return found


def trade_values(
    ctx: Context, dataset: Dataset, year: int, codes: Sequence[str] | None = None
) -> dict[str, float]:
    """World trade per product of ``dataset`` in ``year`` (the trade weights of its revision)."""
    flows = flows_of(ctx, dataset, [year])
    if codes is not None:
        flows = flows.filter(flows["product"].isin(list(codes)))
    frame = flows.group_by("product").aggregate(value=flows.value_usd.sum()).to_pandas()
    return {str(p): float(v or 0.0) for p, v in zip(frame["product"], frame["value"], strict=True)}


def value_conversion(
    ctx: Context,
    from_rev: str,
    target: Dataset,
    near_year: int,
    codes: Sequence[str] | None = None,
) -> ValueConversion:
    """Weights carrying values of ``from_rev`` codes to ``target``'s revision, split by the
    trade of ``target`` in its year nearest ``near_year`` (the rule of ``value_weights``)."""
    year = min(target.years, key=lambda y: (abs(y - near_year), -y))
    values = trade_values(ctx, target, year)
    return value_weights(
        from_rev,
        target.classification,
        codes=codes,
        target_values=values,
        weighted_by=f"{target.label} {year} world trade",
    )


def converted_flows(flows: ir.Table, conversion: ValueConversion) -> ir.Table:
    """``flows`` with products of ``conversion.from_rev`` carried to its ``to_rev`` codes:
    value and quantity times the weight of each link, summed per flow key."""
    weights = ibis.memtable(conversion.weights[["from_code", "to_code", "weight"]])
    joined = flows.join(weights, flows["product"] == weights.from_code)
    carried = joined.select(
        joined.year,
        joined.exporter,
        joined.importer,
        joined.to_code.name("product"),
        (joined.value_usd * joined.weight).name("value_usd"),
        (joined.quantity_t * joined.weight).name("quantity_t"),
    )
    return carried.group_by(list(FLOW_KEY)).aggregate(
        value_usd=carried.value_usd.sum(), quantity_t=carried.quantity_t.sum()
    )


# -- product codes ---------------------------------------------------------------------------
def _holds(ctx: Context, dataset: Dataset, code: str) -> bool:
    """Whether the dataset has flows of ``code`` as written: data may hold codes outside the
    official list of its revision (a national or synthetic code), and those are its own. The
    codes held are read once per store generation."""

    def held() -> frozenset[str]:
        flows = flows_of(ctx, dataset, list(dataset.years))
        return frozenset(flows.select("product").distinct().to_pandas()["product"])

    key = ("codes held", dataset.source, dataset.classification, dataset.level, dataset.years)
    codes: frozenset[str] = ctx.memo(key, held)
    return code in codes


def product_code(
    ctx: Context, code: str, dataset: Dataset
) -> tuple[str, str | None, ValueConversion | None]:
    """The code asked about, the revision it was written in (when not the dataset's), and the
    conversion carrying the dataset's flows to that revision (None when none is needed).

    ``HS17:854140`` names the revision; a bare 6-digit code that is no code of the dataset's
    revision, and that the dataset holds no flow of, but a code of another revision is taken in
    the newest such revision.
    """
    bare, revision = parse_code(code)
    here = dataset.classification
    if here not in REVISIONS or len(bare) != 6:
        return bare, None, None
    if revision is None and bare not in revision_codes(here) and not _holds(ctx, dataset, bare):
        revision = next((r for r in reversed(REVISIONS) if bare in revision_codes(r)), None)
    if revision is None or revision == here:
        return bare, None, None
    if bare not in revision_codes(revision):
        raise UnknownCodeError(
            f"{bare} is not an {revision} code",
            hint="check the code, or write the revision it belongs to, e.g. HS17:854140",
        )
    weights = value_weights(here, revision)
    sources = sorted(set(weights.weights.loc[weights.weights["to_code"] == bare, "from_code"]))
    held = [d for d in datasets(ctx.parts, coverage(ctx)) if d.classification == revision]
    if held:
        conversion = value_conversion(ctx, here, held[0], dataset.latest_year(), codes=sources)
    else:
        conversion = value_weights(here, revision, codes=sources)
    return bare, revision, conversion
