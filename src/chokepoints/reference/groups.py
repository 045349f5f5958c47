"""Country groups (EU27, G7, G20, OECD, ASEAN, Quad, like-minded partners) and user-defined ones.

Built-in groups live in ``data/groups.toml``, each with its source; EU27, G7 and OECD are read
from country_converter's table so they follow its updates. Users add groups in a TOML file of
the same shape (``[groups.NAME]`` with ``description`` and ``members``). Group names are matched
case-insensitively, and a comma list such as ``"JPN,G7,S19"`` expands to sorted ISO3 codes.
Memberships are current ones, applied to every year.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.countries import coco_table, to_iso3
from chokepoints.reference.toml_files import parse_toml

_USER_GROUP_KEYS = {"description", "members"}


@dataclass(frozen=True)
class _Group:
    """One group: its name as written, description, ISO3 members and other accepted names."""

    name: str
    description: str
    members: frozenset[str]
    aliases: tuple[str, ...] = ()


def group_members(name: str, *, user_file: Path | None = None) -> frozenset[str]:
    """ISO3 codes of the group called ``name`` (any case, or an alias such as ``EU``)."""
    return _lookup(name, user_file).members


def list_groups(user_file: Path | None = None) -> dict[str, str]:
    """Name -> description of every group: the built-in ones, then those of ``user_file``."""
    groups = {group.name: group.description for group in _builtin_groups()}
    if user_file is not None:
        groups.update({group.name: group.description for group in _read_user_file(user_file)})
    return groups


def load_user_groups(path: Path) -> dict[str, frozenset[str]]:
    """Name -> ISO3 members of the groups defined in the user TOML file ``path``.

    Members may be written in any code ``to_iso3`` accepts (``S19`` -> ``TWN``, ``US``, ``842``).
    """
    return {group.name: group.members for group in _read_user_file(path)}


def expand_countries(spec: str, user_file: Path | None = None) -> list[str]:
    """Sorted unique ISO3 codes of a comma list of country codes and group names.

    ``"JPN,DEU,G7,S19"`` gives the G7 plus Taiwan; group names win over country codes.
    """
    index = _index(user_file)
    tokens = [token.strip() for token in spec.split(",") if token.strip()]
    if not tokens:
        raise InputError(
            f"no country or group in {spec!r}", hint="write e.g. 'JPN,DEU' or 'EU27,USA'"
        )
    codes: set[str] = set()
    for token in tokens:
        group = index.get(token.casefold())
        if group is not None:
            codes |= group.members
            continue
        try:
            codes.add(to_iso3(token))
        except UnknownCodeError:
            raise UnknownCodeError(
                f"{token!r} is neither a country code nor a country group",
                hint=f"use ISO3 codes such as DEU or USA, or a group: {_names(index)}",
            ) from None
    return sorted(codes)


def _lookup(name: str, user_file: Path | None) -> _Group:
    """The group called ``name`` or one of its aliases, or UnknownCodeError listing the groups."""
    index = _index(user_file)
    group = index.get(name.strip().casefold())
    if group is None:
        raise UnknownCodeError(
            f"unknown country group {name!r}", hint=f"available groups: {_names(index)}"
        )
    return group


def _names(index: dict[str, _Group]) -> str:
    """The distinct group names of an index, for error messages."""
    return ", ".join(dict.fromkeys(group.name for group in index.values()))


def _index(user_file: Path | None) -> dict[str, _Group]:
    """Casefolded name or alias -> group, for the built-in groups and those of ``user_file``."""
    index = dict(_builtin_index())
    if user_file is not None:
        index.update({group.name.casefold(): group for group in _read_user_file(user_file)})
    return index


@functools.cache
def _builtin_index() -> dict[str, _Group]:
    """Casefolded name or alias -> built-in group."""
    return {
        key.casefold(): group for group in _builtin_groups() for key in (group.name, *group.aliases)
    }


@functools.cache
def _builtin_groups() -> tuple[_Group, ...]:
    """The groups of ``data/groups.toml``, in file order, with coco columns resolved."""
    text = (
        resources.files("chokepoints.reference")
        .joinpath("data", "groups.toml")
        .read_text(encoding="utf-8")
    )
    table = coco_table()
    groups = []
    for name, entry in tomllib.loads(text)["groups"].items():
        if "coco_column" in entry:
            column = table[entry["coco_column"]]
            codes = table.loc[column.str.strip() != "", "ISO3"]
        else:
            codes = entry["members"]
        members = frozenset(to_iso3(code, what=f"member of group {name}") for code in codes)
        groups.append(_Group(name, entry["description"], members, tuple(entry.get("aliases", ()))))
    return tuple(groups)


def _read_user_file(path: Path) -> list[_Group]:
    """Parse and check a user groups file; every problem is an InputError naming the file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the groups file ({exc.strerror})", file=file) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is not UTF-8 text (byte {exc.start}); save it as UTF-8", file=file
        ) from exc
    data = parse_toml(text, file=file)
    tables = data.get("groups")
    if not isinstance(tables, dict) or set(data) != {"groups"}:
        raise InputError(
            "expected only [groups.NAME] tables",
            file=file,
            hint='write e.g. [groups.chips] with members = ["USA", "JPN"]',
        )
    groups: list[_Group] = []
    seen: dict[str, str] = {}
    for name, entry in tables.items():
        _check_user_group_name(name, seen, file)
        seen[name.casefold()] = name
        groups.append(_read_user_group(name, entry, text, file))
    return groups


def _check_user_group_name(name: str, seen: dict[str, str], file: str) -> None:
    """Refuse a user group name that shadows a built-in group, a country code or another group."""
    builtin = _builtin_index().get(name.casefold())
    if builtin is not None:
        raise InputError(
            f"group {name!r} would redefine the built-in group {builtin.name}",
            file=file,
            hint=f"give it another name, e.g. my_{name}",
        )
    if name.casefold() in seen:
        raise InputError(
            f"groups {seen[name.casefold()]!r} and {name!r} differ only in case", file=file
        )
    try:
        code = to_iso3(name)
    except UnknownCodeError:
        return
    raise InputError(
        f"group name {name!r} is also the country code of {code}",
        file=file,
        hint="give the group a name that is not a country code",
    )


def _read_user_group(name: str, entry: object, text: str, file: str) -> _Group:
    """One ``[groups.NAME]`` table of a user file, with its members mapped to ISO3."""
    if not isinstance(entry, dict):
        raise InputError(f"groups.{name} must be a table", file=file)
    unknown = sorted(set(entry) - _USER_GROUP_KEYS)
    if unknown:
        raise InputError(
            f"group {name!r} has unknown key(s) {', '.join(unknown)}",
            file=file,
            hint="a group has only description and members",
        )
    raw = entry.get("members")
    if not isinstance(raw, list) or not raw:
        raise InputError(
            f"group {name!r} needs a non-empty members list",
            file=file,
            field="members",
            hint='write e.g. members = ["USA", "JPN"]',
        )
    members = set()
    for member in raw:
        iso3 = _member_iso3(member)
        if iso3 is None:
            raise UnknownCodeError(
                f"group {name!r} has unknown member {member!r}",
                file=file,
                line=_line_of(text, name, str(member)),
                field="members",
                hint="use ISO3 codes such as DEU, JPN or USA",
            )
        members.add(iso3)
    description = entry.get("description", f"user group from {Path(file).name}")
    return _Group(name, str(description), frozenset(members))


def _member_iso3(member: object) -> str | None:
    """ISO3 code of a member as written in a user file (text or number), or None if unknown."""
    if isinstance(member, bool) or not isinstance(member, str | int):
        return None
    try:
        return to_iso3(member)
    except UnknownCodeError:
        return None


def _line_of(text: str, group: str, value: str) -> int | None:
    """Line number of the quoted ``value`` at or after the header of ``group``, if found."""
    lines = text.splitlines()
    header = re.compile(rf"""\s*\[\s*groups\s*\.\s*["']?{re.escape(group)}["']?\s*\]""")
    start = next((i for i, line in enumerate(lines) if header.match(line)), 0)
    for number, line in enumerate(lines[start:], start=start + 1):
        if f'"{value}"' in line or f"'{value}'" in line:
            return number
    return None
