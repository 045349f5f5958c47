"""Economies: a country, a built-in group (EU27, G7...) or a user's group, resolved one way.

Every question, scenario, the stress test and the report name importers and suppliers as
economies. A group buys and sells as one: flows between its members are not its trade
(``analysis.concentration.as_group``). :class:`Economies` resolves names against the built-in
groups and the user's ``groups.toml``, so that the user's groups are known wherever a name is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.countries import to_iso3
from chokepoints.reference.groups import group_members, list_groups

#: Names accepted for a built-in group besides its own (``eu`` is the EU27).
_ALIASES = {"eu": "EU27"}


@dataclass(frozen=True)
class Economy:
    """A country or a group of countries, as an importer or exporter."""

    name: str
    members: tuple[str, ...]

    @property
    def is_group(self) -> bool:
        """True for a group such as EU27 (intra-group flows are then not trade)."""
        return self.members != (self.name,)


class Economies:
    """Resolves country codes and group names (built-in and the user's) into economies."""

    def __init__(self, user_file: Path | None = None) -> None:
        self.user_file = user_file
        self._groups = {name.casefold(): name for name in list_groups(user_file)}

    def resolve(self, spec: str) -> Economy:
        """``DEU``, ``de``, ``276``, ``EU27``, ``eu`` or a user group as an Economy.

        Group names win over country codes; anything else is an UnknownCodeError naming the
        groups known.
        """
        key = spec.strip().casefold()
        name = self._groups.get(key) or _ALIASES.get(key)
        if name is not None:
            members = group_members(name, user_file=self.user_file)
            return Economy(name, tuple(sorted(members)))
        try:
            iso3 = to_iso3(spec)
        except UnknownCodeError:
            raise UnknownCodeError(
                f"unknown country or group {spec.strip()!r}",
                hint="use ISO3 codes such as DEU or CHN, or a group: "
                + ", ".join(dict.fromkeys(self._groups.values())),
            ) from None
        return Economy(iso3, (iso3,))

    def resolve_all(self, specs: Iterable[str]) -> list[Economy]:
        """Each of ``specs`` as an Economy, in order, without repeats."""
        found = [self.resolve(spec) for spec in specs]
        return list({economy.name: economy for economy in found}.values())

    def members(self, specs: Iterable[str]) -> list[str]:
        """Sorted ISO3 codes of a list of countries and groups."""
        return sorted({code for spec in specs for code in self.resolve(spec).members})


def disjoint(economies: Sequence[Economy]) -> None:
    """Refuse economies that share a country: a country cannot buy as two economies at once."""
    seen: dict[str, str] = {}
    for economy in economies:
        for member in economy.members:
            other = seen.get(member)
            if other is not None and other != economy.name:
                raise InputError(
                    f"{member} is in both {other} and {economy.name}",
                    hint="name economies that do not overlap (a group buys as one)",
                )
            seen[member] = economy.name
