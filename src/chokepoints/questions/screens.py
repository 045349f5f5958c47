"""World screens: one year's answers for every economy and product at once, computed once per
store generation and then sliced, so that a server asked about many economies pays one
world-wide pass instead of one scan of the trade table per question.

Each screen is the very function the one-economy question runs (``dependency.geodep``,
``concentration.export_dependence``, ``exporter_shares``, ``world_exports``), asked without
narrowing to an economy: every one of them is computed per (importer or exporter, product),
so an economy's slice of the world answer is its own answer. ``tests/test_screen_slices.py``
holds both paths equal, economy by economy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chokepoints.analysis import concentration, dependency
from chokepoints.errors import ChokepointsError
from chokepoints.questions.common import check_coverage, dataset_and_year, flows_of
from chokepoints.questions.context import Context

if TYPE_CHECKING:
    from chokepoints.datasets import Dataset


@dataclass(frozen=True)
class Sliced:
    """A world-wide frame and, per value of its key column, where its rows are: a range when
    the frame is sorted by the key (a view, nothing copied), else their positions."""

    frame: pd.DataFrame
    positions: Mapping[str, slice | np.ndarray]

    @classmethod
    def by(cls, frame: pd.DataFrame, column: str, *, sort: bool = True) -> Sliced:
        """``frame`` sliced by ``column``; sorted by it first (rows of one key keep their
        order) unless ``sort`` is False, when slices are taken by position."""
        if not sort:
            found = frame.groupby(column, sort=False).indices
            return cls(frame, {str(key): rows for key, rows in found.items()})
        frame = frame.sort_values(column, kind="stable", ignore_index=True)
        return cls(frame, _runs(pa.array(frame[column])))

    def rows(self, key: str) -> pd.DataFrame:
        """The rows whose key is ``key`` (none when absent), indexed from 0."""
        found = self.positions.get(key)
        chosen = self.frame.iloc[found if found is not None else slice(0, 0)]
        return chosen.reset_index(drop=True)


@dataclass(frozen=True)
class ImportFlows:
    """The year's positive flows sorted by importer, with each importer's rows."""

    table: pa.Table
    ranges: dict[str, slice]

    def of(self, importer: str) -> pa.Table:
        """The flows into ``importer`` (an empty table when it imports nothing)."""
        found = self.ranges.get(importer, slice(0, 0))
        return self.table.slice(found.start, found.stop - found.start)


def _runs(keys: pa.Array | pa.ChunkedArray) -> dict[str, slice]:
    """Where each key's rows are in ``keys``, sorted by key: one range per run of equal keys."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    runs = pc.run_end_encode(keys)
    stops = runs.run_ends.to_numpy()
    starts = np.r_[0, stops[:-1]]
    return {
        str(key): slice(int(start), int(stop))
        for key, start, stop in zip(runs.values.to_pylist(), starts, stops, strict=True)
    }


def _screen(
    ctx: Context, kind: str, dataset: Dataset, year: int, compute: Callable[[], object]
) -> object:
    """One screen of ``dataset``'s ``year``, remembered for the store generation."""
    key = ("screen", kind, dataset.source, dataset.classification, dataset.level, year)
    return ctx.memo(key, compute)


def imports(ctx: Context, dataset: Dataset, year: int, years_held: int) -> tuple[Sliced, Sliced]:
    """GeoDep for every (importer, product) of ``year``, sliced by importer and by product.

    ``world`` is the memoised world export concentration every one-economy question uses, so
    the screen and those questions share it.
    """
    from chokepoints.questions.dependencies import world_concentration

    def compute() -> tuple[Sliced, Sliced]:
        params = dependency.GeoDep()
        years = list(range(year - params.window + 1, year + 1))
        flows = flows_of(ctx, dataset, years)
        world = world_concentration(ctx, dataset, years, None)
        frame = dependency.geodep(
            flows, year, params=params, years_held=years_held, world=world
        ).to_pandas()
        by_importer = Sliced.by(frame, "importer")
        # A product's importers are a few hundred rows: taken by position from the same copy.
        return by_importer, Sliced.by(by_importer.frame, "product", sort=False)

    found: tuple[Sliced, Sliced] = _screen(  # type: ignore[assignment]
        ctx, f"imports {years_held}", dataset, year, compute
    )
    return found


def exports(ctx: Context, dataset: Dataset, year: int) -> Sliced:
    """How much each exporter's sales of each product hang on one market, sliced by exporter."""

    def compute() -> Sliced:
        flows = flows_of(ctx, dataset, [year])
        return Sliced.by(concentration.export_dependence(flows).to_pandas(), "exporter")

    found: Sliced = _screen(ctx, "exports", dataset, year, compute)  # type: ignore[assignment]
    return found


def exporters(ctx: Context, dataset: Dataset, year: int) -> tuple[Sliced, Sliced]:
    """Per product: its exporters with their world shares, and its world summary."""

    def compute() -> tuple[Sliced, Sliced]:
        flows = flows_of(ctx, dataset, [year])
        shares = concentration.exporter_shares(flows).to_pandas()
        summary = concentration.world_exports(flows).to_pandas()
        return Sliced.by(shares, "product"), Sliced.by(summary, "product")

    found: tuple[Sliced, Sliced] = _screen(  # type: ignore[assignment]
        ctx, "exporters", dataset, year, compute
    )
    return found


def import_flows(ctx: Context, dataset: Dataset, year: int) -> ImportFlows:
    """The year's positive flows, sorted by importer, for questions on one importer's
    purchases (``import_sources``): a slice instead of a scan of the trade table."""

    def compute() -> ImportFlows:
        flows = concentration.positive(flows_of(ctx, dataset, [year]))
        flows = flows.select("year", "importer", "exporter", "product", "value_usd")
        table = flows.order_by("importer").to_pyarrow()
        ranges = _runs(table.column("importer"))
        # Codes repeat across millions of flows: held as dictionaries, a fraction the size.
        for name in ("importer", "exporter", "product"):
            at = table.schema.get_field_index(name)
            table = table.set_column(at, name, table.column(name).dictionary_encode())
        return ImportFlows(table, ranges)

    found: ImportFlows = _screen(  # type: ignore[assignment]
        ctx, "import flows", dataset, year, compute
    )
    return found


@dataclass(frozen=True)
class Prepared:
    """What ``prepare`` screened, with the largest importer and the most traded product (a
    server makes their pages once to have every lazy part ready)."""

    label: str
    economy: str
    product: str


def prepare(ctx: Context, say: Callable[[str], None]) -> Prepared | None:
    """Compute the screens of the default dataset's latest year, and the memos every question
    reads (self-trade, descriptions); None when the store holds no complete year to screen."""
    from chokepoints.questions.common import descriptions, self_trade

    try:
        dataset, year = dataset_and_year(ctx)
        check_coverage(ctx, dataset, [year], allow_partial=False)
    except ChokepointsError as exc:
        say(f"no world screen prepared: {exc}")
        return None
    params = dependency.GeoDep()
    window = range(year - params.window + 1, year + 1)
    held = len(set(window) & set(dataset.years))
    what = f"{dataset.label} {year}"
    say(f"preparing the world screens of {what} (every economy's dependencies)")
    imports(ctx, dataset, year, held)
    say(f"preparing the world screens of {what} (export markets, exporters)")
    exports(ctx, dataset, year)
    _, summaries = exporters(ctx, dataset, year)
    say(f"preparing the world screens of {what} (import flows by importer)")
    flows = import_flows(ctx, dataset, year)
    self_trade(ctx)
    descriptions(ctx, dataset.classification)
    largest = max(flows.ranges.items(), key=lambda item: item[1].stop - item[1].start)[0]
    summary = summaries.frame
    product = str(summary.loc[summary["world_export_value_usd"].idxmax(), "product"])
    return Prepared(what, largest, product)
