"""Build ``reference/hs/concordance.parquet`` from the UNSD HS correlation tables.

Usage: ``python scripts/build_hs_concordance.py [SHARED_DATA_DIR]`` (default
``$CHOKEPOINTS_SHARED_DATA`` or ``../shared/data``; the tables are in its ``hs/`` folder).

Writes one row per link between two adjacent HS revisions, newer to older: ``from_rev,
from_code, to_rev, to_code, relation``, the relation newer:older as the UNSD writes it (``n:1``
when several newer codes come from one older code). HS2022-HS2017 and HS2017-HS2012 come from
the UNSD workbooks themselves; the older pairs from the Harvard Growth Lab's stack of the same
UNSD tables, which is checked to equal the workbooks where they overlap. The relation is that
of each link, from the number of links of its two codes, as the 2017 and 2022 tables give it;
the older tables call every link of a group with several codes on both sides ``n:n``, which is
checked to hold. ``concordance.toml`` records the source files, their sha256 and the rows per
pair.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "chokepoints" / "reference" / "hs"
WORKBOOKS = {
    ("HS22", "HS17"): "HS 2022 to HS 2017 ConversionAndCorrelationTables.xlsx",
    ("HS17", "HS12"): "HS 2017 to HS 2012 ConversionAndCorrelationTables.xlsx",
}
STACK = "HS_consolidated_comtrade_concordances.csv"
#: The stack's ``adjustment`` label of each adjacent pair (newer, older).
ADJUSTMENTS = {
    ("HS22", "HS17"): "2022 to 2017",
    ("HS17", "HS12"): "2017 to 2012",
    ("HS12", "HS07"): "2012 to 2007",
    ("HS07", "HS02"): "2007 to 2002",
    ("HS02", "HS96"): "2002 to 1996",
    ("HS96", "HS92"): "1996 to 1992",
}
SOURCE = (
    "UN Statistics Division, HS correlation and conversion tables "
    "(unstats.un.org/unsd/classifications/Econ), via harvard-growth-lab/"
    "comtrade-conversion-weights at 503c5d89287fdba5f9af8cb7482ba344b8da7cea"
)


def read_workbook(path: Path) -> pd.DataFrame:
    """The ``Correlation Tables`` sheet as ``from_code, to_code, relation`` (6-digit text)."""
    sheet = pd.read_excel(path, sheet_name="Correlation Tables", header=1, dtype=str)
    sheet.columns = ["from_code", "to_code", "relation"]
    return sheet.apply(lambda column: column.str.strip())


def read_stack(path: Path) -> dict[tuple[str, str], pd.DataFrame]:
    """The stack's HS pairs, each as ``from_code, to_code, relation`` with zeros restored."""
    stack = pd.read_csv(path, dtype=str)
    pairs = {}
    for pair, label in ADJUSTMENTS.items():
        rows = stack[stack["adjustment"] == label]
        pairs[pair] = pd.DataFrame(
            {
                "from_code": rows["code.after"].str.zfill(6),
                "to_code": rows["code.before"].str.zfill(6),
                "relation": rows["Relationship"].str.strip(),
            }
        ).reset_index(drop=True)
    return pairs


def relation(several_newer: pd.Series, several_older: pd.Series) -> pd.Series:
    """``n:1``-style labels from whether each link has several newer and several older codes."""
    marks = {True: "n", False: "1"}
    return several_newer.map(marks) + ":" + several_older.map(marks)


def degree_relation(links: pd.DataFrame) -> pd.Series:
    """``1:1``, ``1:n``, ``n:1`` or ``n:n`` of each link from the number of links of its ends:
    ``n`` on the left when its older code has several newer codes, on the right when its newer
    code has several older codes (the UNSD convention)."""
    newer_per_older = links.groupby("to_code")["from_code"].transform("size")
    older_per_newer = links.groupby("from_code")["to_code"].transform("size")
    return relation(newer_per_older > 1, older_per_newer > 1)


def group_relation(links: pd.DataFrame) -> pd.Series:
    """The relation of each link's connected group of codes: ``n:n`` when the group has
    several newer and several older codes (how the older UNSD tables label its links)."""
    nodes = pd.concat(["n" + links["from_code"], "o" + links["to_code"]]).unique()
    parent = {node: node for node in nodes}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for newer, older in zip(links["from_code"], links["to_code"], strict=True):
        parent[root("n" + newer)] = root("o" + older)
    group = links["from_code"].map(lambda code: root("n" + code))
    newer = links.groupby(group)["from_code"].transform("nunique")
    older = links.groupby(group)["to_code"].transform("nunique")
    return relation(newer > 1, older > 1)


def sha256(path: Path) -> str:
    """The file's sha256 in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(shared: Path) -> None:
    """Check the tables against each other and write the parquet file and its metadata."""
    folder = shared / "hs"
    stack = read_stack(folder / STACK)
    frames = []
    for (newer, older), links in stack.items():
        name = WORKBOOKS.get((newer, older))
        if name is not None:
            official = read_workbook(folder / name)
            key = ["from_code", "to_code", "relation"]
            same = official.sort_values(key, ignore_index=True).equals(
                links.sort_values(key, ignore_index=True)
            )
            if not same:
                raise SystemExit(f"{STACK} differs from {name} for {newer}->{older}")
            links = official
        if links.duplicated(["from_code", "to_code"]).any():
            raise SystemExit(f"{newer}->{older}: a link is listed twice")
        if not links["from_code"].str.fullmatch(r"\d{6}").all():
            raise SystemExit(f"{newer}->{older}: a code is not 6 digits")
        own, group = degree_relation(links), group_relation(links)
        wrong = links[(links["relation"] != own) & (links["relation"] != group)]
        if not wrong.empty:
            raise SystemExit(f"{newer}->{older}: relations disagree with the links:\n{wrong}")
        frames.append(links.assign(from_rev=newer, to_rev=older, relation=own))
    table = pd.concat(frames, ignore_index=True)[
        ["from_rev", "from_code", "to_rev", "to_code", "relation"]
    ].sort_values(["from_rev", "from_code", "to_code"], ignore_index=True)
    arrow = pa.Table.from_pandas(table, preserve_index=False).cast(
        pa.schema([(name, pa.string()) for name in table.columns])
    )
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "concordance.parquet"
    pq.write_table(arrow, target, compression="zstd", use_dictionary=True)
    counts = table.groupby(["from_rev", "to_rev"]).size()
    lines = [
        "# Written by scripts/build_hs_concordance.py; do not edit by hand.",
        "# concordance.parquet: links between adjacent HS revisions, newer -> older.",
        f'source = "{SOURCE}"',
        f'sha256 = "{sha256(target)}"',
        "",
    ]
    for name in [*WORKBOOKS.values(), STACK]:
        lines += [
            "[[files]]",
            f'name = "{name}"',
            f'sha256 = "{sha256(folder / name)}"',
            f"bytes = {(folder / name).stat().st_size}",
            "",
        ]
    for newer, older in ADJUSTMENTS:
        rows = counts[(newer, older)]
        used = WORKBOOKS.get((newer, older), STACK)
        label = ADJUSTMENTS[(newer, older)]
        lines += [
            "[[pairs]]",
            f'from_rev = "{newer}"',
            f'to_rev = "{older}"',
            f"links = {rows}",
            f'table = "{used}"' + ("" if used != STACK else f'  # adjustment "{label}"'),
            "",
        ]
    (OUT / "concordance.toml").write_text("\n".join(lines), encoding="utf-8")
    print(f"{target}: {len(table)} links, {target.stat().st_size} bytes")


if __name__ == "__main__":
    default = os.environ.get("CHOKEPOINTS_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    build(Path(sys.argv[1] if len(sys.argv) > 1 else default))
