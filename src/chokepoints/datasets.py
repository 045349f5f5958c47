"""Which dataset of the store an analysis runs on, and the provenance its results carry.

The store may hold several sources (BACI, Comtrade extracts, tables, the demo world) in several
HS revisions. An analysis runs on one of them at one product level, so that flows are never
counted twice; this module picks it (the caller may name a source) and describes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chokepoints import __version__
from chokepoints.errors import NoDataError

#: Notice printed with, and stored in, every result computed on the synthetic demo world.
DEMO_NOTE = "demo data (synthetic)"


@dataclass(frozen=True)
class Dataset:
    """One source and HS revision of the store, with the years it covers."""

    source: str
    classification: str
    releases: tuple[str, ...]
    years: tuple[int, ...]
    demo: bool
    reporter_sides: tuple[str, ...] = field(default=())
    #: Every year is one part whose rows share one reporter side, importer or reconciled (as
    #: recorded at ingest): its flow keys are distinct and no mirror data needs merging.
    distinct_keys: bool = False

    def latest_year(self) -> int:
        """The most recent year held."""
        return self.years[-1]

    def provenance(self, **extra: Any) -> dict[str, Any]:
        """What a result computed on this dataset must say about itself."""
        record = {
            "source": self.source,
            "releases": list(self.releases),
            "classification": self.classification,
            "tool": f"chokepoints {__version__}",
            "demo": self.demo,
        }
        if self.demo:
            record["notice"] = DEMO_NOTE
        record.update(extra)
        return record


def datasets(parts: list[dict[str, Any]]) -> list[Dataset]:
    """The datasets described by the manifest's trade parts, largest first."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for part in parts:
        if part["table"] == "trade":
            grouped.setdefault((part["source"], part["classification"]), []).append(part)
    found = [
        Dataset(
            source=source,
            classification=classification,
            releases=tuple(sorted({p["release"] for p in members})),
            years=tuple(sorted({p["year"] for p in members})),
            demo=any(p.get("demo") for p in members),
            reporter_sides=tuple(sorted({s for p in members for s in p.get("reporter_sides", ())})),
            distinct_keys=_distinct_keys(members),
        )
        for (source, classification), members in grouped.items()
    ]
    rows = {key: sum(p["rows"] for p in members) for key, members in grouped.items()}
    return sorted(found, key=lambda d: -rows[(d.source, d.classification)])


def _distinct_keys(parts: list[dict[str, Any]]) -> bool:
    """Whether each year is one part holding one importer-side or reconciled reporter side."""
    years = [p["year"] for p in parts]
    if len(years) != len(set(years)):
        return False
    return all(p.get("reporter_sides") in (["importer"], ["reconciled"]) for p in parts)


def choose_dataset(
    parts: list[dict[str, Any]], *, source: str | None = None, year: int | None = None
) -> Dataset:
    """The dataset to analyse: ``source`` if named, else the largest holding ``year``.

    Raises NoDataError naming what the store holds when nothing fits.
    """
    available = datasets(parts)
    if not available:
        raise NoDataError(
            "the store holds no trade data: run `chokepoints data demo` or `chokepoints data "
            "ingest baci PATH` first"
        )
    described = ", ".join(
        f"{d.source} {d.classification} {d.years[0]}-{d.years[-1]}" for d in available
    )
    candidates = [d for d in available if source is None or d.source == source]
    if not candidates:
        raise NoDataError(f"no data from source {source!r}; the store holds {described}")
    if year is not None:
        with_year = [d for d in candidates if year in d.years]
        if not with_year:
            latest = max(y for d in candidates for y in d.years)
            raise NoDataError(
                f"no data for {year} (latest ingested year: {latest}); the store holds {described}"
            )
        candidates = with_year
    return candidates[0]
