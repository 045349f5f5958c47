"""Steps shared by every question: dataset and year, flows, economies, coverage, descriptions.

Each question picks a dataset and year for the economy it is asked about, checks that the data
covers what its method needs, runs the Ibis analysis, and attaches product descriptions,
sectors and provenance with these helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from chokepoints.analysis import concentration
from chokepoints.datasets import COVERAGE_KEY, Dataset, choose_dataset, datasets, year_coverage
from chokepoints.errors import ChokepointsError, InputError
from chokepoints.questions.context import Context
from chokepoints.reference.economies import Economy, disjoint

#: Metrics that need the whole world's trade (all exporters' sales, the importer's exports).
WORLD_METRICS = {"world_export_hhi", "exports_usd", "import_export_ratio"}


class PartialCoverageError(ChokepointsError):
    """World-level criteria asked for on a year that covers only part of the world."""


def coverage(ctx: Context) -> pd.DataFrame:
    """Reported imports and exports per (source, classification, level, year, country).

    Summed from what the manifest's trade parts recorded at ingest (``recorded_coverage``),
    else (a store ingested before they recorded it) one scan of the trade table; kept for the
    life of the context: every question reads it to choose its dataset and to check world
    coverage.
    """

    def compute() -> pd.DataFrame:
        recorded = recorded_coverage(ctx.parts)
        if recorded is not None:
            return recorded
        return concentration.country_coverage(ctx.trade).to_pandas()

    return ctx.memo("country_coverage", compute)


def recorded_coverage(parts: Sequence[dict[str, Any]]) -> pd.DataFrame | None:
    """The frame of ``concentration.country_coverage`` from the ``country_coverage`` that each
    trade part's record holds (per level, each country's ``[imports, exports]``; see
    ``store._coverage``), summed over the parts of a year; None when a part lacks it."""
    trade = [p for p in parts if p["table"] == "trade"]
    if not all(isinstance(p.get("country_coverage"), dict) for p in trade):
        return None
    sums: dict[tuple[str, str, int, int, str], list[float]] = {}
    for part in trade:
        for level, countries in part["country_coverage"].items():
            for country, (imports, exports) in countries.items():
                key = (part["source"], part["classification"], int(level), part["year"], country)
                total = sums.setdefault(key, [0.0, 0.0])
                total[0] += imports
                total[1] += exports
    frame = pd.DataFrame(
        [(*key, imports, exports) for key, (imports, exports) in sorted(sums.items())],
        columns=[*COVERAGE_KEY, "country", "imports_usd", "exports_usd"],
    )
    return frame.astype(
        {"level": "int8", "year": "int16", "imports_usd": float, "exports_usd": float}
    )


def dataset_and_year(
    ctx: Context,
    *,
    economy: Economy | None = None,
    side: str = "imports",
    source: str | None = None,
    year: int | None = None,
    level: int | None = None,
) -> tuple[Dataset, int]:
    """The dataset and year to answer on: see ``datasets.choose_dataset`` for the rule."""
    frame = coverage(ctx)
    available = datasets(ctx.parts, frame)
    who = None if economy is None else (economy.name, economy.members)
    return choose_dataset(
        available, frame, economy=who, side=side, source=source, year=year, level=level
    )


def code_level(codes: Sequence[str]) -> int | None:
    """The product level (number of digits) of the codes a user typed, or None for none.

    Mixing levels (``8542`` with ``854231``) is refused: every figure is per product at one level.
    """
    levels = sorted({len(code.strip()) for code in codes})
    if len(levels) > 1:
        raise InputError(
            f"products {', '.join(codes)} mix {' and '.join(map(str, levels))}-digit codes",
            hint="ask about codes of one level at a time",
        )
    return levels[0] if levels else None


def flows_of(ctx: Context, dataset: Dataset, years: Sequence[int]) -> ir.Table:
    """The dataset's flows for ``years`` at its product level."""
    return concentration.select_flows(
        ctx.trade,
        source=dataset.source,
        classification=dataset.classification,
        level=dataset.level,
        years=years,
        distinct_keys=dataset.distinct_keys,
    )


def reimport_note(ctx: Context, dataset: Dataset, year: int, economy: Economy) -> list[str]:
    """A note when the data holds re-imports of a country from itself (Comtrade reports them
    with the reporter as partner): they are left out, since no one is its own supplier."""
    if economy.is_group:
        return []
    key = (dataset.source, dataset.classification, dataset.level, year, economy.name)
    value = self_trade(ctx).get(key, 0.0)
    if value <= 0:
        return []
    return [
        f"re-imports of {economy.name} from itself ({value / 1e6:,.1f} M USD in {year}) are not "
        "counted as imports from a supplier"
    ]


def self_trade(ctx: Context) -> dict[tuple[str, str, int, int, str], float]:
    """Trade of every country with itself, per (source, classification, level, year, country):
    one scan of the trade table for the life of the context, read by :func:`reimport_note`."""

    def compute() -> dict[tuple[str, str, int, int, str], float]:
        t = ctx.trade
        own = t.filter(t.exporter == t.importer)
        keys = ["source", "classification", "level", "year"]
        frame = (
            own.group_by([*keys, own.exporter.name("country")])
            .aggregate(value_usd=own.value_usd.sum())
            .to_pandas()
        )
        return {
            (r.source, r.classification, int(r.level), int(r.year), r.country): float(
                r.value_usd or 0.0
            )
            for r in frame.itertuples(index=False)
        }

    return ctx.memo("self_trade", compute)


def as_economies(flows: ir.Table, economies: Sequence[Economy]) -> ir.Table:
    """``flows`` with each group among ``economies`` buying and selling as one.

    Flows between members of a group are dropped and its members relabelled with the group's
    name (``concentration.as_group``); countries are left as they are. Economies must not
    overlap: a country cannot buy as two economies at once.
    """
    disjoint(economies)
    for economy in economies:
        if economy.is_group:
            flows = concentration.as_group(flows, economy.name, economy.members)
    return flows


def with_groups(codes: Sequence[str], economies: Sequence[Economy]) -> list[str]:
    """``codes`` (ISO3) plus the names of the group economies all of whose members are in them.

    Once a group buys and sells as one, its members appear in the flows under its name: a list
    of trusted or excluded suppliers that holds every member must hold the name too.
    """
    chosen = set(codes)
    named = {e.name for e in economies if e.is_group and set(e.members) <= chosen}
    return sorted(chosen | named)


def check_coverage(
    ctx: Context,
    dataset: Dataset,
    years: Sequence[int],
    *,
    allow_partial: bool,
) -> list[str]:
    """Refuse (or, with allow_partial, warn about) years that are not world datasets.

    A dataset the user named (``source=``) is taken as known to be partial: it warns.
    """
    warnings = [
        f"{held.dataset.label} {held.year} covers the imports of {held.importers} of the "
        f"{held.countries} countries seen: world export concentration and world-level ratios "
        "are partial"
        for held in year_coverage(dataset, coverage(ctx), None)
        if held.year in years and not held.complete
    ]
    if warnings and not (allow_partial or dataset.named):
        raise PartialCoverageError(
            f"{warnings[0]}; ingest a complete year (e.g. a BACI archive) or pass "
            "--allow-partial to run anyway with this warning in the output"
        )
    return warnings


def sector_codes(ctx: Context, sector: str | None, dataset: Dataset) -> list[str] | None:
    """The HS codes of ``sector`` in the dataset's revision (None when no sector is asked),
    converted from the sector's nearest list when it has none for that revision (see
    ``questions.revisions.sector_selection``, which also returns the conversion).
    """
    if sector is None:
        return None
    from chokepoints.reference.sectors import sector_products_in

    check_sector_level(sector, dataset)
    codes, _ = sector_products_in(sector, dataset.classification, extra_dirs=ctx.sector_dirs)
    return codes


def check_sector_level(sector: str, dataset: Dataset) -> None:
    """Sector lists are HS6 codes: on data of another level they are refused rather than cut."""
    if dataset.level != 6:
        raise InputError(
            f"sector {sector} lists 6-digit codes but {dataset.label} holds "
            f"{dataset.level}-digit products",
            hint="drop --sector, name the products, or ingest 6-digit data",
        )


def describe(ctx: Context, frame: pd.DataFrame, classification: str) -> pd.DataFrame:
    """Add ``description`` (from the store, else the sector files) and ``sector`` columns."""
    from chokepoints.reference.sectors import sector_table

    def sectors_by_product() -> pd.DataFrame:
        sectors = sector_table(classification, extra_dirs=ctx.sector_dirs, converted=True)
        return sectors.groupby("product").agg(
            sector=("sector", lambda s: ",".join(sorted(set(s)))),
            sector_description=("description", "first"),
        )

    found = descriptions(ctx, classification)
    by_product = ctx.memo(("sectors by product", classification), sectors_by_product)
    frame = frame.merge(found, on="product", how="left").merge(
        by_product, left_on="product", right_index=True, how="left"
    )
    frame["description"] = frame["description"].fillna(frame.pop("sector_description"))
    return frame


def descriptions(ctx: Context, classification: str) -> pd.DataFrame:
    """The store's product descriptions of one classification (``product, description``),
    looked up once per context: every question describes its rows with them."""

    def lookup() -> pd.DataFrame:
        products = ctx.table("products")
        mine = products.filter(products.classification == classification)
        return mine.group_by("product").aggregate(description=mine.description.arbitrary())

    return ctx.memo(("descriptions", classification), lambda: lookup().to_pandas())


def finish(frame: pd.DataFrame, columns: list[str], provenance: dict[str, Any]) -> pd.DataFrame:
    """Order columns, reset the index and attach provenance."""
    frame = frame[
        [c for c in columns if c in frame.columns] + [c for c in frame.columns if c not in columns]
    ].reset_index(drop=True)
    frame.attrs["provenance"] = provenance
    return frame
