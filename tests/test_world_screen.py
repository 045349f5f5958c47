"""``deps --all-importers`` (``Workspace.dependencies_all``): GeoDep for every importer and
product, checked against the independent pandas oracle on the demo world's own files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import oracle
from chokepoints import Workspace
from helpers import run


def demo_flows(home: Path) -> pd.DataFrame:
    """The demo store's trade of 2020-2022 read straight from its Parquet files."""
    files = sorted(str(p) for p in (home / "trade").rglob("*.parquet"))
    query = f"""
        SELECT year, exporter, importer, product, value_usd, quantity_t
        FROM read_parquet({files}) WHERE year BETWEEN 2020 AND 2022
    """
    return duckdb.sql(query).df()


@pytest.fixture(scope="module")
def expected(demo_home: Path) -> pd.DataFrame:
    """The oracle's GeoDep of 2022 for every pair imported in 2022."""
    found = oracle.geodep(demo_flows(demo_home), 2022)
    return found[found["import_value_usd"] > 0].set_index(["importer", "product"])


def test_the_screen_flags_what_the_oracle_flags(demo_home: Path, expected: pd.DataFrame) -> None:
    screen = Workspace.open(demo_home).dependencies_all(include_all=True)
    got = screen.set_index(["importer", "product"])
    assert sorted(got.index) == sorted(expected.index)
    assert got["dependent"].astype(bool).sum() == expected["dependent"].sum() > 0
    for column in ("hhi", "world_export_hhi", "import_export_ratio", "import_value_usd"):
        assert got[column].tolist() == pytest.approx(
            expected.loc[got.index, column].tolist(), rel=1e-9
        ), column
    assert (got["dependent"] == expected.loc[got.index, "dependent"]).all()
    # By importer, then import value: CEPII's database order.
    assert screen["importer"].is_monotonic_increasing
    first = screen[screen["importer"] == screen["importer"].iloc[0]]
    assert first["import_value_usd"].is_monotonic_decreasing
    assert screen.attrs["provenance"]["economy"] == "all importers"


def test_dependent_only_by_default_and_one_country_agrees(demo_home: Path) -> None:
    ws = Workspace.open(demo_home)
    screen = ws.dependencies_all()
    assert screen["dependent"].all()
    deu = ws.dependencies("DEU")
    mine = screen[screen["importer"] == "DEU"]
    assert sorted(mine["product"]) == sorted(deu["product"])


def test_the_cli_writes_the_screen_as_json_and_parquet(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path, expected: pd.DataFrame
) -> None:
    code, out, err = run(
        capsys, "deps", "--all-importers", "--format", "json", "--home", str(demo_home)
    )
    assert code == 0, err
    rows = json.loads(out)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    flagged = {(r["importer"], r["product"]) for r in rows}
    assert flagged == set(expected.index[expected["dependent"]])
    target = tmp_path / "world.parquet"
    code, _, err = run(
        capsys, "deps", "--all-importers", "-o", str(target), "--home", str(demo_home)
    )
    assert code == 0, err
    written = pd.read_parquet(target)
    assert len(written) == len(flagged)


def test_the_world_screen_refuses_one_country_options(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    code, _, err = run(capsys, "deps", "DEU", "--all-importers", "--home", str(demo_home))
    assert code == 1
    assert "--all-importers" in err and "DEU" in err and "Traceback" not in err
    code, _, err = run(capsys, "deps", "--home", str(demo_home))
    assert code == 1 and "COUNTRY" in err
