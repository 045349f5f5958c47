"""HS revisions bridged: links between HS92, HS96, HS02, HS07, HS12, HS17 and HS22 codes.

The links are the UN Statistics Division's correlation tables between adjacent revisions
(``reference/hs/concordance.parquet``, built by ``scripts/build_hs_concordance.py``; its source
files and their sha256 are in ``concordance.toml``). Revisions further apart are linked through
the ones between (HS92 -> HS96 -> ... -> HS22): two codes are linked when a chain of links joins
them. A link's relation, ``from:to``, says how many codes are on each side: ``1:1`` a code
renamed or kept, ``n:1`` several codes merged into one, ``1:n`` one code split into several,
``n:n`` both.

Two uses (docs/methods/hs_revisions.md):

- **Codes** (a sector, a chain step): a list of codes of one revision becomes the codes of
  the other revision linked mainly to them; a code that is also linked to codes outside the
  list holds other goods too and is named as approximate.
- **Values** (trade flows): a code's value goes to the codes it is linked to, whole when it has
  one (``1:1``, ``n:1``: exact, merged codes are summed), split when it has several (``1:n``,
  ``n:n``) in proportion to the trade of the target codes where that is known (trade weights,
  each target's trade shared among the codes it comes from), else by links alone, which is
  flagged approximate.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.schema import HS_REVISIONS

#: The revisions, oldest first.
REVISIONS = tuple(HS_REVISIONS)

#: The stated rule for values, as results' provenance gives it.
SPLIT_RULE = (
    "n:1 merged codes summed (exact); a code split into several (1:n, n:n) shared in proportion "
    "to the trade of each target code divided by the number of codes it comes from (trade "
    "weights of the target revision), by that number alone where no trade is known "
    "(approximate)"
)


@functools.cache
def concordance_metadata() -> dict[str, Any]:
    """The packaged ``concordance.toml``: source, sha256 of the table, source files, pairs."""
    text = resources.files("chokepoints.reference").joinpath("hs", "concordance.toml")
    return tomllib.loads(text.read_text(encoding="utf-8"))


def source_note() -> str:
    """One line naming the tables the links come from, for provenance."""
    meta = concordance_metadata()
    files = ", ".join(f"{f['name']} (sha256 {f['sha256'][:12]})" for f in meta["files"])
    return f"{meta['source']}: {files}"


@functools.cache
def _adjacent() -> pd.DataFrame:
    """Every stored link between adjacent revisions: from_rev (the newer), from_code, to_rev,
    to_code."""
    path = resources.files("chokepoints.reference").joinpath("hs", "concordance.parquet")
    with resources.as_file(path) as file:
        table = pq.read_table(file, columns=["from_rev", "from_code", "to_rev", "to_code"])
    return table.to_pandas()


@functools.cache
def revision_codes(revision: str) -> frozenset[str]:
    """The 6-digit codes of one revision (every code of the UNSD tables)."""
    revision = check_revision(revision)
    links = _adjacent()
    codes = set(links.loc[links["from_rev"] == revision, "from_code"])
    codes |= set(links.loc[links["to_rev"] == revision, "to_code"])
    return frozenset(codes)


def check_revision(revision: str) -> str:
    """``revision`` upper-cased, or an ``UnknownCodeError`` listing the revisions."""
    name = revision.strip().upper()
    if name not in HS_REVISIONS:
        raise UnknownCodeError(
            f"unknown HS revision {revision!r}", hint=f"use one of {', '.join(REVISIONS)}"
        )
    return name


@functools.cache
def _links(from_rev: str, to_rev: str) -> pd.DataFrame:
    """Links ``from_code -> to_code`` between two revisions, through those between."""
    start, end = REVISIONS.index(from_rev), REVISIONS.index(to_rev)
    step = 1 if end > start else -1
    adjacent = _adjacent()
    path = pd.DataFrame({"from_code": sorted(revision_codes(from_rev))})
    path["code"] = path["from_code"]
    for index in range(start, end, step):
        here, there = REVISIONS[index], REVISIONS[index + step]
        if step < 0:  # stored newer -> older: the direction we walk
            pair = adjacent[(adjacent["from_rev"] == here) & (adjacent["to_rev"] == there)]
            pair = pair[["from_code", "to_code"]].rename(columns={"from_code": "code"})
        else:
            pair = adjacent[(adjacent["from_rev"] == there) & (adjacent["to_rev"] == here)]
            pair = pair.rename(columns={"to_code": "code", "from_code": "to_code"})
            pair = pair[["code", "to_code"]]
        path = path.merge(pair, on="code")[["from_code", "to_code"]]
        path = path.drop_duplicates().rename(columns={"to_code": "code"})
    return path.rename(columns={"code": "to_code"}).reset_index(drop=True)


def links(from_rev: str, to_rev: str) -> pd.DataFrame:
    """Links between the codes of two revisions: ``from_code, to_code, relation``, sorted.

    ``relation`` is ``from:to``: ``1:n`` when the from code is linked to several to codes and
    each of them to it alone, ``n:1`` the opposite, ``n:n`` both, ``1:1`` neither. Between a
    revision and itself every code is linked to itself. A copy, which callers may change.
    """
    from_rev, to_rev = check_revision(from_rev), check_revision(to_rev)
    if from_rev == to_rev:
        codes = sorted(revision_codes(from_rev))
        frame = pd.DataFrame({"from_code": codes, "to_code": codes})
    else:
        frame = _links(from_rev, to_rev).copy()
    several_from = frame.groupby("to_code")["from_code"].transform("size") > 1
    several_to = frame.groupby("from_code")["to_code"].transform("size") > 1
    marks = {True: "n", False: "1"}
    frame["relation"] = several_from.map(marks) + ":" + several_to.map(marks)
    return frame.sort_values(["from_code", "to_code"], ignore_index=True)


def nearest_revision(revision: str, available: Iterable[str]) -> str | None:
    """Of ``available`` revisions, the one closest in time to ``revision`` (newer on a tie);
    ``revision`` itself when available, None when none is."""
    order = {name: REVISIONS.index(name) for name in available if name in HS_REVISIONS}
    if not order:
        return None
    here = REVISIONS.index(check_revision(revision))
    return min(order, key=lambda name: (abs(order[name] - here), -order[name]))


# -- codes -----------------------------------------------------------------------------------
#: A new target code (one that continues no code of the same number) is kept for a list of
#: codes when at least this share of its links are to them.
MAIN_SHARE = 1 / 3


@dataclass(frozen=True)
class CodeConversion:
    """A list of codes of one revision expressed in another.

    ``codes``: the target codes kept, sorted: those at least half of whose links are to listed
    codes (``MAIN_SHARE``), and for a listed code with none such, its targets with the largest
    such share. ``partial``: kept code -> the unlisted from codes it is also linked to (it
    holds other goods too, so figures on it are approximate for the list). ``dropped``: target
    codes linked to listed codes but mostly to others (the HS2022 e-waste codes 8549xx, linked
    to hundreds of HS2017 machines, are left out of a list of batteries). ``unmatched``: listed
    codes that are not codes of ``from_rev``.
    """

    from_rev: str
    to_rev: str
    codes: tuple[str, ...]
    relations: dict[str, int]
    partial: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()

    @property
    def approximate(self) -> bool:
        """Whether some kept code also holds goods outside the list, or some link was dropped."""
        return bool(self.partial or self.dropped)

    def record(self, what: str) -> dict[str, Any]:
        """The provenance entry of this conversion, ``what`` naming what was converted."""
        return {
            "what": what,
            "from": self.from_rev,
            "to": self.to_rev,
            "table": source_note(),
            "rule": "the target codes at least half of whose links are to listed codes; one "
            "also linked to unlisted codes holds other goods too (approximate)",
            "links": dict(self.relations),
            "codes": list(self.codes),
            "approximate": self.approximate,
            "approximate_codes": {code: list(others) for code, others in self.partial.items()},
            "dropped_codes": list(self.dropped),
            "unmatched": list(self.unmatched),
        }

    def note(self, what: str) -> str:
        """One sentence for the reader: what was converted and what is approximate."""
        text = (
            f"{what}: {self.from_rev} codes converted to {len(self.codes)} {self.to_rev} codes "
            "with the UNSD correlation tables"
        )
        if self.partial:
            text += f"; approximate: {_some(sorted(self.partial))} also hold other goods"
        if self.dropped:
            text += f"; left out, mostly other goods: {_some(self.dropped)}"
        if self.unmatched:
            text += f"; not {self.from_rev} codes, left out: {', '.join(self.unmatched)}"
        return text


def convert_codes(codes: Iterable[str], from_rev: str, to_rev: str) -> CodeConversion:
    """The codes of ``to_rev`` standing for ``codes`` of ``from_rev`` (see ``CodeConversion``)."""
    listed = tuple(sorted(set(codes)))
    return _convert_codes(listed, check_revision(from_rev), check_revision(to_rev))


@functools.cache
def _convert_codes(listed: tuple[str, ...], from_rev: str, to_rev: str) -> CodeConversion:
    """``convert_codes`` of sorted distinct codes, remembered (sectors and chains ask often)."""
    table = links(from_rev, to_rev)
    reached = set(table.loc[table["from_code"].isin(listed), "to_code"])
    table = table[table["to_code"].isin(reached)].assign(listed=table["from_code"].isin(listed))
    share = table.groupby("to_code")["listed"].mean()
    # A target code linked to the code of the same number continues it: that link is its
    # main content, and links to other codes are pieces moved in or out.
    continued = table.loc[table["from_code"] == table["to_code"], ["to_code", "listed"]]
    main = dict(zip(continued["to_code"], continued["listed"], strict=True))
    mine = table[table["listed"]].assign(share=lambda f: f["to_code"].map(share))
    keep = mine["share"] >= MAIN_SHARE
    continuing = mine["to_code"].isin(list(main))
    keep[continuing] = mine.loc[continuing, "to_code"].map(main).astype(bool)
    # A listed code none of whose targets is kept keeps those where it weighs most.
    orphan = ~keep.groupby(mine["from_code"]).transform("any")
    best = mine["share"] == mine.groupby("from_code")["share"].transform("max")
    kept = mine[keep | (orphan & best)]
    targets = sorted(set(kept["to_code"]))
    outside = table[table["to_code"].isin(targets) & ~table["listed"]]
    return CodeConversion(
        from_rev=from_rev,
        to_rev=to_rev,
        codes=tuple(targets),
        relations={k: int(v) for k, v in kept["relation"].value_counts().sort_index().items()},
        partial={
            code: tuple(sorted(group["from_code"]))
            for code, group in outside.groupby("to_code", sort=True)
        },
        dropped=tuple(sorted(reached - set(targets))),
        unmatched=tuple(code for code in listed if code not in revision_codes(from_rev)),
    )


def _some(codes: Iterable[str], shown: int = 5) -> str:
    """The first ``shown`` codes, and how many more."""
    codes = list(codes)
    more = len(codes) - shown
    return ", ".join(codes[:shown]) + (f" and {more} more" if more > 0 else "")


# -- values ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueConversion:
    """Weights that carry values of ``from_rev`` codes to ``to_rev`` codes, and how they were set.

    ``weights``: ``from_code, to_code, weight, relation``; the weights of a from code sum to 1.
    ``weighted_by``: what the trade weights came from (None when no trade was known).
    ``equal``: from codes split by links alone for want of trade in their targets
    (approximate).
    """

    from_rev: str
    to_rev: str
    weights: pd.DataFrame
    weighted_by: str | None
    equal: tuple[str, ...]

    @property
    def approximate(self) -> bool:
        """Whether some code was split by links alone, for want of trade weights."""
        return bool(self.equal)

    @property
    def split(self) -> tuple[str, ...]:
        """The from codes split between several target codes."""
        counts = self.weights.groupby("from_code")["to_code"].size()
        return tuple(sorted(counts.index[counts > 1]))

    def record(self, what: str) -> dict[str, Any]:
        """The provenance entry of this conversion, ``what`` naming what was converted."""
        relations = self.weights.drop_duplicates(["from_code", "to_code"])["relation"]
        return {
            "what": what,
            "from": self.from_rev,
            "to": self.to_rev,
            "table": source_note(),
            "rule": SPLIT_RULE,
            "links": {k: int(v) for k, v in relations.value_counts().sort_index().items()},
            "split_codes": len(self.split),
            "weighted_by": self.weighted_by,
            "approximate": self.approximate,
            "approximate_codes": list(self.equal),
        }

    def note(self, what: str) -> str:
        """One sentence for the reader: what was converted, by which rule, what is approximate."""
        text = f"{what}: {self.from_rev} codes converted to {self.to_rev} with the UNSD tables"
        if self.split:
            text += f"; {len(self.split)} codes split between several {self.to_rev} codes" + (
                f" by trade weights of {self.weighted_by}" if self.weighted_by else ""
            )
        if self.equal:
            text += (
                f"; approximate: {_some(self.equal)} split by links alone (no trade in their "
                "targets)"
            )
        return text


def value_weights(
    from_rev: str,
    to_rev: str,
    *,
    codes: Iterable[str] | None = None,
    target_values: Mapping[str, float] | None = None,
    weighted_by: str | None = None,
) -> ValueConversion:
    """Weights carrying values of ``codes`` (default every code) of ``from_rev`` to ``to_rev``.

    A code linked to one target gives it its whole value (weight 1; several codes merged into
    one target add up: exact). A code linked to several targets ``t`` splits its value in
    proportion to ``v_t / n_t``: ``v_t`` the value of ``t`` in ``target_values`` (trade of the
    target revision, named by ``weighted_by``) and ``n_t`` the number of codes ``t`` comes
    from, so that a target fed by hundreds of codes (HS2022's e-waste 8549xx) takes little of
    each. When none of its targets has a positive value, in proportion to ``1 / n_t``
    (flagged approximate).
    """
    table = links(from_rev, to_rev)
    sources = table.groupby("to_code")["from_code"].transform("size")
    if codes is not None:
        keep = table["from_code"].isin(set(codes))
        table, sources = table[keep], sources[keep]
    values = table["to_code"].map(dict(target_values or {})).fillna(0.0).clip(lower=0.0)
    count = table.groupby("from_code")["to_code"].transform("size")
    by_value = values / sources
    by_count = 1.0 / sources
    total = by_value.groupby(table["from_code"]).transform("sum")
    weighted = total > 0
    share = by_value.where(weighted, by_count)
    weights = share / share.groupby(table["from_code"]).transform("sum")
    frame = table.assign(weight=weights.astype(float))
    equal = sorted(set(table.loc[~weighted & (count > 1), "from_code"]))
    used = weighted_by if target_values and bool(weighted[count > 1].any()) else None
    return ValueConversion(
        from_rev=check_revision(from_rev),
        to_rev=check_revision(to_rev),
        weights=frame[["from_code", "to_code", "weight", "relation"]].reset_index(drop=True),
        weighted_by=used,
        equal=tuple(equal),
    )


# -- user codes ------------------------------------------------------------------------------
def parse_code(text: str) -> tuple[str, str | None]:
    """A product code as typed, and its revision when written ``HS17:854140`` (else None)."""
    code = text.strip()
    if ":" not in code:
        return code, None
    revision, _, bare = code.partition(":")
    name = revision.strip().upper()
    if name not in HS_REVISIONS:
        raise InputError(
            f"{text!r}: {revision.strip()!r} is not an HS revision",
            hint=f"write the code alone or as REVISION:CODE with one of {', '.join(REVISIONS)}, "
            "e.g. HS17:854140",
        )
    return bare.strip(), name
