"""The questions users ask, answered as DataFrames with provenance; ``Workspace`` exposes them.

The ``Workspace`` imports each question where it is asked, so that commands asking none
(``--help``, ``data info``) load neither this package nor the engines it needs.
"""

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
