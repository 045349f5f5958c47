"""Steps shared by every question: economies, sectors, flows, coverage, descriptions.

Each question picks a dataset, checks that it covers what its method needs, runs the Ibis
analysis, and attaches product descriptions, sectors and provenance with these helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import pandas as pd

from chokepoints.analysis import concentration
from chokepoints.datasets import Dataset, choose_dataset
from chokepoints.errors import ChokepointsError

if TYPE_CHECKING:
    from chokepoints.workspace import Workspace

#: Below this share of countries appearing as importers, a year is not a world dataset.
MIN_IMPORTER_SHARE = 0.5

#: Metrics that need the whole world's trade (all exporters' sales, the importer's exports).
WORLD_METRICS = {"world_export_hhi", "exports_usd", "import_export_ratio"}


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


def flows_of(ws: Workspace, dataset: Dataset, years: Sequence[int]) -> ir.Table:
    """The dataset's HS6 flows for ``years``."""
    return concentration.select_flows(
        ws.trade,
        source=dataset.source,
        classification=dataset.classification,
        years=years,
        distinct_keys=dataset.distinct_keys,
    )


def check_coverage(
    ws: Workspace, dataset: Dataset, years: Sequence[int], *, allow_partial: bool
) -> list[str]:
    """Refuse (or, with allow_partial, warn about) years that are not world datasets.

    The coverage of every year of the dataset is computed once per workspace (a scan of all its
    flows) and kept until the next ingest, since every question asks for it.
    """
    frame = ws.memo(
        ("coverage", dataset.source, dataset.classification),
        lambda: concentration.coverage(flows_of(ws, dataset, dataset.years)).to_pandas(),
    )
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


def describe(ws: Workspace, frame: pd.DataFrame, classification: str) -> pd.DataFrame:
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


def finish(frame: pd.DataFrame, columns: list[str], provenance: dict[str, Any]) -> pd.DataFrame:
    """Order columns, reset the index and attach provenance."""
    frame = frame[
        [c for c in columns if c in frame.columns] + [c for c in frame.columns if c not in columns]
    ].reset_index(drop=True)
    frame.attrs["provenance"] = provenance
    return frame


def dataset_and_year(
    ws: Workspace, *, source: str | None = None, year: int | None = None
) -> tuple[Dataset, int]:
    """The dataset to analyse and the year: the one asked for, else its latest."""
    dataset = choose_dataset(ws.store.manifest()["parts"], source=source, year=year)
    return dataset, dataset.latest_year() if year is None else year
