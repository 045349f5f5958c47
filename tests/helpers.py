"""Small test utilities: BACI-format files written by tests, and store snapshots."""

from __future__ import annotations

import hashlib
from pathlib import Path

BACI_HEADER = "t,i,j,k,v,q"

#: A tiny BACI HS17 year: France (251), USA (842), Taiwan (490), Japan (392), China (156).
SMALL_ROWS = [
    "2021,156,392,850511,1000.5,12.5",
    "2021,251,392,850511,200,NA",
    "2021,490,392,854231,3000.25,",
    "2021,842,156,854231,50,  1.000",
    "2021,392,842,10121,7.5,3",
]


def write_baci(
    folder: Path,
    rows: list[str],
    *,
    name: str = "BACI_HS17_Y2021_V202501.csv",
    header: str = BACI_HEADER,
) -> Path:
    """Write a BACI-layout CSV with ``rows`` under ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def snapshot(home: Path) -> dict[str, str]:
    """sha256 of every file under ``home`` except the lock file, keyed by relative path."""
    return {
        p.relative_to(home).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }
