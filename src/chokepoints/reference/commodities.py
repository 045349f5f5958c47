"""Mineral commodities linked to the HS6 codes that carry them, per production stage.

Read from ``data/commodities.toml`` (codes chosen by the maintainers, the same in HS17 and HS22),
so that the production concentration of a stage can be set beside the trade concentration of
its codes.
"""

from __future__ import annotations

import functools
from importlib import resources

from chokepoints.reference.toml_files import parse_toml


def commodity_codes(commodity: str, stage: str) -> tuple[str, ...]:
    """The HS6 codes that carry ``commodity`` at ``stage`` (empty when none is listed)."""
    return _links().get(commodity, {}).get(stage, ())


def commodities_of(code: str) -> list[tuple[str, str]]:
    """The (commodity, stage) pairs an HS6 code carries (811292: gallium and germanium)."""
    return sorted(
        (commodity, stage)
        for commodity, stages in _links().items()
        for stage, codes in stages.items()
        if code in codes
    )


@functools.cache
def _links() -> dict[str, dict[str, tuple[str, ...]]]:
    """commodity -> stage -> HS6 codes, from the packaged file."""
    path = resources.files("chokepoints.reference") / "data" / "commodities.toml"
    data = parse_toml(path.read_text(encoding="utf-8"), file="data/commodities.toml")
    return {
        commodity: {stage: tuple(codes) for stage, codes in stages.items()}
        for commodity, stages in data["commodities"].items()
    }
