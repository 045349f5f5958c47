"""Mineral commodities linked to the HS6 codes that carry them, per production stage and HS
revision.

Read from ``data/commodities.toml``: codes chosen by the maintainers for the revisions the file
lists (``revisions``), one list for all of them or one per revision. A dataset in another
revision gets no link (an HS6 code may change meaning between revisions: 850780 did in 2012),
so production never stands in for trade on codes that were not checked for it.
"""

from __future__ import annotations

import functools
from importlib import resources

from chokepoints.reference.toml_files import parse_toml

#: stage -> revision -> codes, per commodity.
Links = dict[str, dict[str, dict[str, tuple[str, ...]]]]


def commodity_codes(commodity: str, stage: str, classification: str) -> tuple[str, ...]:
    """The HS6 codes that carry ``commodity`` at ``stage`` in ``classification`` (HS17...);
    empty when none is listed for that revision."""
    return _links().get(commodity, {}).get(stage, {}).get(classification.upper(), ())


def commodities_of(code: str, classification: str) -> list[tuple[str, str]]:
    """The (commodity, stage) pairs an HS6 code carries in ``classification`` (811292:
    gallium and germanium)."""
    revision = classification.upper()
    return sorted(
        (commodity, stage)
        for commodity, stages in _links().items()
        for stage, codes in stages.items()
        if code in codes.get(revision, ())
    )


def link_revisions() -> tuple[str, ...]:
    """The HS revisions the links were chosen for."""
    return _file()[1]


@functools.cache
def _links() -> Links:
    """commodity -> stage -> revision -> HS6 codes."""
    commodities, revisions = _file()
    return {
        commodity: {
            stage: {
                revision: tuple(codes[revision] if isinstance(codes, dict) else codes)
                for revision in revisions
                if not isinstance(codes, dict) or revision in codes
            }
            for stage, codes in stages.items()
        }
        for commodity, stages in commodities.items()
    }


@functools.cache
def _file() -> tuple[dict[str, dict[str, list[str] | dict[str, list[str]]]], tuple[str, ...]]:
    """The packaged file's commodities and revisions."""
    path = resources.files("chokepoints.reference") / "data" / "commodities.toml"
    data = parse_toml(path.read_text(encoding="utf-8"), file="data/commodities.toml")
    return data["commodities"], tuple(data["revisions"])
