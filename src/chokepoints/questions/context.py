"""What a question needs, handed to it by the ``Workspace``: tables, reference data and a cache.

Questions never see the ``Workspace`` (nothing points back up). The context holds the engine's
tables, the manifest's parts as they were when it was made, the user's groups and sector
folders, and a cache that lives as long as the context (the workspace makes a new one after
every ingest).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoints.reference.economies import Economies, Economy

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir
    import pandas as pd


class Memo:
    """Values remembered for one store generation, each computed once even when several
    threads ask for it at the same time (a server's workspaces share one)."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value under ``key``, computed by ``compute()`` the first time; a thread asking
        while another computes it waits for that value."""
        with self._lock:
            if key in self._values:
                return self._values[key]
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:
            if key not in self._values:
                value = compute()
                with self._lock:
                    self._values[key] = value
                    self._computing.pop(key, None)
        return self._values[key]


class Memos:
    """A ``Memo`` per store generation (the committed manifest), shared by the workspaces of
    one process reading the same store: a world-wide result is computed once for all of them.
    Only the latest ``keep`` generations are kept."""

    def __init__(self, keep: int = 2) -> None:
        self._by_manifest: dict[bytes, Memo] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def of(self, manifest: bytes) -> Memo:
        """The memo of the generation whose manifest is ``manifest``."""
        with self._lock:
            memo = self._by_manifest.pop(manifest, None) or Memo()
            self._by_manifest[manifest] = memo  # the most recent last
            while len(self._by_manifest) > self._keep:
                del self._by_manifest[next(iter(self._by_manifest))]
            return memo


@dataclass
class Context:
    """The engine's tables, the store's parts and the user's reference files, with a cache."""

    con: ibis.BaseBackend
    parts: list[dict[str, Any]]
    economies: Economies = field(default_factory=Economies)
    sector_dirs: tuple[Path, ...] = ()
    cache: Memo = field(default_factory=Memo)
    #: Answer one economy's or product's common questions from world screens (computed once
    #: per year for every economy, then sliced): worth it for a server, not for one question.
    screens: bool = False
    #: This context's engine's tables, by name (bound to its connection, so never shared).
    _tables: dict[str, ir.Table] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> ir.Table:
        """One of the canonical tables (``trade``, ``products``, ``governance``...), looked up
        once for the life of this context (each look-up asks the engine for the schema)."""
        if name not in self._tables:
            self._tables[name] = self.con.table(name)
        return self._tables[name]

    @property
    def trade(self) -> ir.Table:
        """The canonical ``trade`` table."""
        return self.table("trade")

    def economy(self, spec: str) -> Economy:
        """A country code, built-in group or user group as an Economy."""
        return self.economies.resolve(spec)

    def members(self, specs: list[str] | tuple[str, ...]) -> list[str]:
        """Sorted ISO3 codes of a list of countries and groups."""
        return self.economies.members(specs)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered under ``key`` for the life of this context."""
        return self.cache.get(key, compute)

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
