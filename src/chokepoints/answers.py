"""Typed answers of the ``Workspace``: the provenance every result carries, and the small
dataclasses of DataFrames that multi-table questions return.

Every DataFrame still carries its provenance as a plain dict in ``frame.attrs["provenance"]``
(for pandas users, exports and JSON); :func:`provenance` reads it back as a typed
:class:`Provenance`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from chokepoints.analysis.sourcing import SourcingPlan

#: The provenance keys :class:`Provenance` holds as fields; any other key goes to ``details``.
_FIELDS = (
    "source",
    "releases",
    "classification",
    "level",
    "year",
    "tool",
    "engine",
    "demo",
    "notice",
    "dataset_choice",
    "method",
    "warnings",
    "hs_conversion",
)


@dataclass(frozen=True)
class Provenance:
    """How a result was made: the data (source, release, HS revision, product level, year),
    the method and its parameters, the engine and tool, and the warnings a reader must see.

    ``hs_conversions`` records each conversion between HS revisions the answer made (a sector's
    codes, flows of an older release, a product code): from, to, the UNSD tables, the rule,
    the links by relation and whether it is ``approximate``.
    ``details`` holds what is particular to a question (``economy``, ``members``, ``sector``,
    ``scenario``, ``objective``...), under the names the JSON export uses.
    """

    source: str | None = None
    releases: tuple[str, ...] = ()
    classification: str | None = None
    level: int | None = None
    year: int | None = None
    tool: str | None = None
    engine: str | None = None
    demo: bool = False
    notice: str | None = None
    dataset_choice: str | None = None
    method: Mapping[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    hs_conversions: tuple[Mapping[str, Any], ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Provenance:
        """The typed form of a provenance dict, as found in ``frame.attrs["provenance"]``."""
        method = record.get("method")
        return cls(
            source=record.get("source"),
            releases=tuple(record.get("releases") or ()),
            classification=record.get("classification"),
            level=record.get("level"),
            year=record.get("year"),
            tool=record.get("tool"),
            engine=record.get("engine"),
            demo=bool(record.get("demo", False)),
            notice=record.get("notice"),
            dataset_choice=record.get("dataset_choice"),
            method=method if isinstance(method, Mapping) else None,
            warnings=tuple(record.get("warnings") or ()),
            hs_conversions=tuple(record.get("hs_conversion") or ()),
            details={k: v for k, v in record.items() if k not in _FIELDS},
        )

    def as_dict(self) -> dict[str, Any]:
        """The plain dict form (the one ``attrs`` and the exports hold), without empty fields."""
        record: dict[str, Any] = {
            "source": self.source,
            "releases": list(self.releases),
            "classification": self.classification,
            "level": self.level,
            "year": self.year,
            "tool": self.tool,
            "engine": self.engine,
            "demo": self.demo,
            "notice": self.notice,
            "dataset_choice": self.dataset_choice,
            "method": dict(self.method) if self.method is not None else None,
            "warnings": list(self.warnings),
            "hs_conversion": [dict(c) for c in self.hs_conversions] or None,
        }
        record = {k: v for k, v in record.items() if v is not None}
        record.update(self.details)
        return record


def provenance(frame: pd.DataFrame) -> Provenance:
    """The typed provenance of a result frame (empty when it carries none)."""
    return Provenance.of(frame.attrs.get("provenance", {}))


class _Tables:
    """What every multi-table answer has: its frames by name, and the one provenance they
    share."""

    @classmethod
    def table_names(cls) -> list[str]:
        """The names of the DataFrame fields, in the order declared: known before asking."""
        return [f.name for f in fields(cls) if f.type == "pd.DataFrame"]  # type: ignore[arg-type]

    def frames(self) -> dict[str, pd.DataFrame]:
        """The DataFrame fields by name, in the order declared (for exports)."""
        return {name: getattr(self, name) for name in self.table_names()}

    @property
    def provenance(self) -> Provenance:
        """How the answer was made (the same for all its frames)."""
        return provenance(next(iter(self.frames().values())))


@dataclass(frozen=True)
class ProductPicture(_Tables):
    """The world picture of one product (``Workspace.product``).

    Attributes
    ----------
    summary
        One row: world export value, number of exporters, world export HHI, the top exporter
        and its share.
    exporters
        Exporters by value, with their share of world exports.
    importers
        Importers by value, with their import concentration, top supplier and GeoDep metrics
        and flag.
    """

    summary: pd.DataFrame
    exporters: pd.DataFrame
    importers: pd.DataFrame


@dataclass(frozen=True)
class Diversification(_Tables):
    """Alternative suppliers and an optimised sourcing mix (``Workspace.diversify``).

    Attributes
    ----------
    alternatives
        Suppliers the country does not buy from (or little), ranked, with their reasons.
    mix
        The proposed mix: current and proposed value and share per supplier, with the bound
        that binds.
    plan
        The optimiser's result: feasibility, objective, HHI before and after, constraints.
    """

    alternatives: pd.DataFrame
    mix: pd.DataFrame
    plan: SourcingPlan


@dataclass(frozen=True)
class Comparison(_Tables):
    """Partners side by side (``Workspace.compare``).

    Attributes
    ----------
    by_sector
        Per strategic sector, the number of products in each of the four tables below.
    shared
        Products on which every partner depends, with each one's top supplier.
    complementarity
        Products one partner depends on that another exports.
    best_practice
        Products where one partner is concentrated and another is diversified.
    joint
        What the partners' trusted suppliers could replace of their risky imports together.
    """

    by_sector: pd.DataFrame
    shared: pd.DataFrame
    complementarity: pd.DataFrame
    best_practice: pd.DataFrame
    joint: pd.DataFrame
