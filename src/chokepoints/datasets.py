"""Which dataset and year of the store a question runs on, and the provenance its results carry.

The store may hold several sources (BACI, Comtrade extracts, tables, the demo world) in several
HS revisions and product levels. A question runs on one of them, at one product level, so that
flows are never counted twice. :func:`choose_dataset` picks it for the economy asked about: the
latest year whose imports (or exports) of that economy the data covers, preferring a complete
(world) dataset, and says why in the provenance. docs/data.md describes the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chokepoints import __version__
from chokepoints.errors import NoDataError

if TYPE_CHECKING:
    import pandas as pd

#: Notice printed with, and stored in, every result computed on the synthetic demo world.
DEMO_NOTE = "demo data (synthetic)"

#: Below this share of countries appearing as importers, a year is not a world dataset.
MIN_IMPORTER_SHARE = 0.5

#: Columns of the coverage frame :func:`choose_dataset` reads (one row per country seen).
COVERAGE_KEY = ["source", "classification", "level", "year"]


@dataclass(frozen=True)
class Dataset:
    """One source, HS revision and product level of the store, with the years it covers."""

    source: str
    classification: str
    releases: tuple[str, ...]
    years: tuple[int, ...]
    demo: bool
    reporter_sides: tuple[str, ...] = field(default=())
    #: Every year is one part whose rows share one reporter side, importer or reconciled (as
    #: recorded at ingest): its flow keys are distinct and no mirror data needs merging.
    distinct_keys: bool = False
    #: Digits of the product codes analysed (6 for HS6; 4 or 2 for headings and chapters).
    level: int = 6
    #: Why this dataset and year were chosen, when the store held several (for provenance).
    choice: str = ""
    #: Whether the user named this source: a partial year then runs with a warning.
    named: bool = False

    def latest_year(self) -> int:
        """The most recent year held."""
        return self.years[-1]

    @property
    def label(self) -> str:
        """``baci HS22`` (with the level when it is not HS6), for messages."""
        level = "" if self.level == 6 else f" {self.level}-digit"
        return f"{self.source} {self.classification}{level}"

    def provenance(self, **extra: Any) -> dict[str, Any]:
        """What a result computed on this dataset must say about itself."""
        record: dict[str, Any] = {
            "source": self.source,
            "releases": list(self.releases),
            "classification": self.classification,
            "level": self.level,
            "tool": f"chokepoints {__version__}",
            "demo": self.demo,
        }
        if self.demo:
            record["notice"] = DEMO_NOTE
        if self.choice:
            record["dataset_choice"] = self.choice
        record.update(extra)
        return record


def datasets(parts: list[dict[str, Any]], levels: pd.DataFrame | None = None) -> list[Dataset]:
    """The datasets described by the manifest's trade parts, largest first.

    ``levels`` (columns source, classification, level, year: the coverage frame) splits a
    source and revision holding several product levels into one dataset per level; without it
    every dataset is taken as HS6.
    """
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for part in parts:
        if part["table"] == "trade":
            grouped.setdefault((part["source"], part["classification"]), []).append(part)
    found = []
    for (source, classification), members in grouped.items():
        by_level = _years_by_level(levels, source, classification) or {
            6: sorted({p["year"] for p in members})
        }
        for level, years in by_level.items():
            found.append(
                Dataset(
                    source=source,
                    classification=classification,
                    releases=tuple(sorted({p["release"] for p in members})),
                    years=tuple(years),
                    demo=any(p.get("demo") for p in members),
                    reporter_sides=tuple(
                        sorted({s for p in members for s in p.get("reporter_sides", ())})
                    ),
                    distinct_keys=_distinct_keys(members),
                    level=level,
                )
            )
    rows = {key: sum(p["rows"] for p in members) for key, members in grouped.items()}
    return sorted(found, key=lambda d: (-rows[(d.source, d.classification)], d.level != 6))


def _years_by_level(
    levels: pd.DataFrame | None, source: str, classification: str
) -> dict[int, list[int]]:
    """Level -> sorted years of one source and revision in the coverage frame."""
    if levels is None or levels.empty:
        return {}
    mine = levels[(levels["source"] == source) & (levels["classification"] == classification)]
    return {
        int(level): sorted({int(y) for y in frame["year"]})
        for level, frame in mine.groupby("level", sort=True)
    }


def _distinct_keys(parts: list[dict[str, Any]]) -> bool:
    """Whether each year is one part holding one importer-side or reconciled reporter side."""
    years = [p["year"] for p in parts]
    if len(years) != len(set(years)):
        return False
    return all(p.get("reporter_sides") in (["importer"], ["reconciled"]) for p in parts)


@dataclass(frozen=True)
class YearCoverage:
    """What one year of one dataset covers: the world, and the economy asked about."""

    dataset: Dataset
    year: int
    importers: int
    countries: int
    covered: bool

    @property
    def complete(self) -> bool:
        """Whether the year holds (nearly) every country's imports, as BACI does."""
        return self.countries > 0 and self.importers / self.countries >= MIN_IMPORTER_SHARE

    def describe(self) -> str:
        """``atlas HS17 2022 (world)`` or ``baci HS92 2021 (imports of 1 of 109 countries)``."""
        scope = (
            "world"
            if self.complete
            else f"imports of {self.importers} of {self.countries} countries"
        )
        return f"{self.dataset.label} {self.year} ({scope})"


def year_coverage(
    dataset: Dataset,
    coverage: pd.DataFrame,
    members: Sequence[str] | None,
    side: str = "imports",
) -> list[YearCoverage]:
    """Per year of ``dataset``: importers seen, countries seen, and whether ``members`` are covered.

    ``coverage`` has one row per (source, classification, level, year, country) with the
    country's reported ``imports_usd`` and ``exports_usd``. An economy is covered on the
    imports side when at least half of its members seen that year (and at least one) have
    reported imports; likewise for exports. With no members, every year counts as covered.
    """
    mine = coverage[
        (coverage["source"] == dataset.source)
        & (coverage["classification"] == dataset.classification)
        & (coverage["level"] == dataset.level)
    ]
    column = "imports_usd" if side == "imports" else "exports_usd"
    found = []
    for year, frame in mine.groupby("year", sort=True):
        importers = int((frame["imports_usd"] > 0).sum())
        covered = True
        if members is not None:
            seen = frame[frame["country"].isin(list(members))]
            reported = int((seen[column] > 0).sum())
            covered = reported > 0 and reported >= len(seen) * MIN_IMPORTER_SHARE
        found.append(YearCoverage(dataset, int(year), importers, len(frame), covered))
    return found


def choose_dataset(
    available: list[Dataset],
    coverage: pd.DataFrame,
    *,
    economy: tuple[str, Sequence[str]] | None = None,
    side: str = "imports",
    source: str | None = None,
    year: int | None = None,
    level: int | None = None,
) -> tuple[Dataset, int]:
    """The dataset and year to answer on, with the reason in ``Dataset.choice``.

    Candidates are the datasets of ``source`` (all when None) at ``level`` (HS6 first when
    None) holding ``year`` (any when None) whose ``side`` of ``economy`` (name, ISO3 members)
    is covered. The best is complete (a world dataset) rather than partial, then the latest
    year, then HS6, then the largest. Raises NoDataError with one sentence listing what is held.
    """
    if not available:
        raise NoDataError(
            "the store holds no trade data: run `chokepoints data demo` or `chokepoints data "
            "ingest baci PATH` first"
        )
    name, members = economy if economy is not None else ("", None)
    every = [c for d in available for c in year_coverage(d, coverage, members, side)]
    held = "; ".join(
        f"{d.label} {_span(d.years)}" for d in available if source is None or d.source == source
    )
    pool = [c for c in every if source is None or c.dataset.source == source]
    if not pool:
        sources = ", ".join(sorted({d.source for d in available}))
        raise NoDataError(f"no data from source {source!r}; the store holds {sources}")
    if level is not None:
        pool = [c for c in pool if c.dataset.level == level]
        if not pool:
            raise NoDataError(
                f"no {level}-digit data{_from(source)}; the store holds {held}",
            )
    if year is not None:
        pool = [c for c in pool if c.year == year]
        if not pool:
            latest = max(y for d in available for y in d.years)
            raise NoDataError(
                f"no data for {year}{_from(source)} (latest ingested year: {latest}); "
                f"the store holds {held}"
            )
    fitting = [c for c in pool if c.covered]
    if not fitting:
        what = f"the {side} of {name}"
        raise NoDataError(
            f"no dataset covers {what}{' in ' + str(year) if year else ''}{_from(source)}; the "
            "store holds " + "; ".join(c.describe() for c in pool)
        )
    order = sorted(
        fitting,
        key=lambda c: (c.complete, c.year, c.dataset.level == 6, -available.index(c.dataset)),
        reverse=True,
    )
    best = order[0]
    others = sorted({c.dataset.label for c in every} - {best.dataset.label})
    reason = f"{best.describe()}"
    if name:
        reason += f", the {'latest ' if year is None else ''}year covering the {side} of {name}"
    if others:
        reason += f"; also held: {', '.join(others)}"
    return replace(best.dataset, choice=reason, named=source is not None), best.year


def _span(years: Sequence[int]) -> str:
    """``2021`` or ``2017-2021``."""
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def _from(source: str | None) -> str:
    """`` from source 'baci'`` when a source was named."""
    return f" from source {source!r}" if source else ""
