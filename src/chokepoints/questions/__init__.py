"""The questions users ask, answered as DataFrames with provenance; ``Workspace`` exposes them.

The question modules (and the query engine and data frames they need) are imported on first
use (PEP 562), so that commands asking no question (``--help``, ``data info``) start fast.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chokepoints.questions.common import PartialCoverageError
    from chokepoints.questions.dependencies import (
        dependencies,
        dependencies_all,
        import_sources,
        product_picture,
        supply_risk,
        trade_exposure,
        trend,
    )
    from chokepoints.questions.disruption import downstream, io_exposure, shock, stress
    from chokepoints.questions.partners import compare, diversify, diversify_all, markets

#: The module of each name this package exports.
_MODULES = {
    "PartialCoverageError": "common",
    "dependencies": "dependencies",
    "dependencies_all": "dependencies",
    "import_sources": "dependencies",
    "product_picture": "dependencies",
    "supply_risk": "dependencies",
    "trade_exposure": "dependencies",
    "trend": "dependencies",
    "downstream": "disruption",
    "io_exposure": "disruption",
    "shock": "disruption",
    "stress": "disruption",
    "compare": "partners",
    "diversify": "partners",
    "diversify_all": "partners",
    "markets": "partners",
}

__all__ = [
    "PartialCoverageError",
    "compare",
    "dependencies",
    "dependencies_all",
    "diversify",
    "diversify_all",
    "downstream",
    "import_sources",
    "io_exposure",
    "markets",
    "product_picture",
    "shock",
    "stress",
    "supply_risk",
    "trade_exposure",
    "trend",
]


def __getattr__(name: str) -> Any:
    """An exported question, its module imported on first use."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    globals()[name] = value
    return value


class _Questions(types.ModuleType):
    """This package, whose exported functions its submodules never hide.

    Importing a submodule sets it as an attribute of its package: ``questions.dependencies``
    would become the module ``questions/dependencies.py`` instead of the function of that name.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _MODULES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Questions
