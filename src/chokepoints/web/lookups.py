"""What the pages list besides answers: sector names, years held, groups, scenario presets and
the products' descriptions, each read once per store generation through the answerer's cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from chokepoints.questions.disruption import STRESS_EXCLUDED_SECTORS
from chokepoints.reference.countries import countries
from chokepoints.web.answerer import Answerer
from chokepoints.workspace import Workspace


async def _remembered(answerer: Answerer, name: str, read: Callable[[Workspace], Any]) -> Any:
    """``read(workspace)``, cached under ``name`` until the store changes."""
    key = answerer.key(f"lookup:{name}", {})
    found = answerer.cached(key)
    if found is None:
        found = await answerer.run(read, timeout=answerer.settings.timeout_seconds)
        answerer.remember(key, found)
    return found


async def sector_names(answerer: Answerer) -> dict[str, str]:
    """Sector id -> name (built-in and the store's own sector files), in the files' order."""
    from chokepoints.reference.sectors import list_sectors

    def read(ws: Workspace) -> dict[str, str]:
        table = list_sectors(ws.sector_dirs)
        return dict(zip(table["id"], table["name"], strict=True))

    names: dict[str, str] = await _remembered(answerer, "sectors", read)
    return names


def sector_order(names: dict[str, str]) -> list[str]:
    """Sectors in the order a product listed in several is filed under: the specific sectors
    first, the broad ones (the EU's sensitive ecosystems) last."""
    return [s for s in names if s not in STRESS_EXCLUDED_SECTORS] + [
        s for s in names if s in STRESS_EXCLUDED_SECTORS
    ]


async def info(answerer: Answerer) -> dict[str, Any]:
    """What the store holds (``data info``)."""
    found: dict[str, Any] = await answerer.ask("info")
    return found


async def years_of(answerer: Answerer, source: str | None) -> list[int]:
    """The years the store holds for ``source`` (every source's when None), latest first."""
    held = await info(answerer)
    years = {
        int(y["year"])
        for entry in held["sources"]
        if source is None or entry["source"] == source
        for y in entry["years"]
    }
    return sorted(years, reverse=True)


async def groups(answerer: Answerer) -> pd.DataFrame:
    """Country groups (built-in and the store's ``groups.toml``) with their members."""
    found: pd.DataFrame = await answerer.ask("groups")
    return found


async def products(answerer: Answerer) -> pd.DataFrame:
    """Every product code the store describes, with its description (one row per code)."""

    def read(ws: Workspace) -> pd.DataFrame:
        table = ws.products.select("product", "description").execute()
        return table.drop_duplicates("product").sort_values("product", ignore_index=True)

    found: pd.DataFrame = await _remembered(answerer, "products", read)
    return found


@dataclass(frozen=True)
class Preset:
    """A shipped scenario, as the scenario page lists it."""

    id: str
    name: str
    description: str


def presets() -> list[Preset]:
    """The shipped scenarios (``shock --list``)."""
    from chokepoints.analysis.scenario import list_presets, preset

    found = []
    for name in list_presets():
        scenario = preset(name)
        found.append(Preset(name, scenario.name, scenario.description))
    return found


def country_matches(text: str, limit: int = 8) -> list[tuple[str, str]]:
    """Countries whose ISO3 code or name contains ``text``: (ISO3, name), exact codes first."""
    table = countries()
    table = table[table["is_country"]]
    needle = text.strip().casefold()
    if not needle:
        return []
    code = table["iso3"].str.casefold() == needle
    named = table["name"].str.casefold().str.contains(needle, regex=False)
    found = pd.concat([table[code], table[named & ~code]]).head(limit)
    return list(zip(found["iso3"], found["name"], strict=True))
