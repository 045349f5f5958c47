"""What a question needs, handed to it by the ``Workspace``: tables, reference data and a cache.

Questions never see the ``Workspace`` (nothing points back up). The context holds the engine's
tables, the manifest's parts as they were when it was made, the user's groups and sector
folders, and a cache that lives as long as the context (the workspace makes a new one after
every ingest).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoints.reference.economies import Economies, Economy

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir
    import pandas as pd


@dataclass
class Context:
    """The engine's tables, the store's parts and the user's reference files, with a cache."""

    con: ibis.BaseBackend
    parts: list[dict[str, Any]]
    economies: Economies = field(default_factory=Economies)
    sector_dirs: tuple[Path, ...] = ()
    cache: dict[Hashable, Any] = field(default_factory=dict)

    def table(self, name: str) -> ir.Table:
        """One of the canonical tables (``trade``, ``products``, ``governance``...)."""
        return self.con.table(name)

    @property
    def trade(self) -> ir.Table:
        """The canonical ``trade`` table."""
        return self.con.table("trade")

    def economy(self, spec: str) -> Economy:
        """A country code, built-in group or user group as an Economy."""
        return self.economies.resolve(spec)

    def members(self, specs: list[str] | tuple[str, ...]) -> list[str]:
        """Sorted ISO3 codes of a list of countries and groups."""
        return self.economies.members(specs)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered under ``key`` for the life of this context."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def rows(self, name: str) -> int:
        """Rows of table ``name`` that the manifest's parts hold, counted without a query
        (every engine query costs a job on Spark)."""
        return sum(int(p.get("rows") or 0) for p in self.parts if p["table"] == name)

    def frame(self, name: str) -> pd.DataFrame:
        """A small companion table (``production``, ``governance``...) as pandas, read once for
        the life of this context; callers filter copies, never change it. Never ``trade``."""
        if name == "trade":
            raise ValueError("the trade table is never pulled into pandas whole")
        return self.memo(("frame", name), lambda: self.table(name).to_pandas())

    @property
    def governance_releases(self) -> list[str]:
        """Releases of the governance indicators held, for provenance."""
        return sorted({p["release"] for p in self.parts if p["table"] == "governance"})
