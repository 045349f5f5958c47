"""The command line starts without the heavy libraries: ``--help`` and ``data info`` import no
data frame library, query engine or plotting library (their speed is measured by
``benchmarks/startup.py``, never asserted here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import chokepoints
from chokepoints import schema, store

#: Libraries the commands that ask no question must not import.
HEAVY = ("pandas", "ibis", "pyarrow", "plotly", "scipy", "pymrio", "networkx")

#: Runs the command line as the ``chokepoints`` script does, then prints the modules imported.
WRAPPER = """
import json, sys
from chokepoints.cli import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def run_cli(*args: str) -> tuple[int, str, set[str]]:
    """Run ``chokepoints ARGS`` in a fresh Python: (exit code, output, top-level modules)."""
    source = str(Path(chokepoints.__file__).resolve().parents[1])
    path = os.pathsep.join([source, *filter(None, [os.environ.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, "NO_COLOR": "1", "COLUMNS": "200"},
        check=False,
    )
    output, _, last = done.stdout.rstrip("\n").rpartition("\n")
    result = json.loads(last)
    return result["code"], output, {name.split(".")[0] for name in result["modules"]}


def test_help_imports_no_heavy_library() -> None:
    code, output, modules = run_cli("--help")
    assert code == 0
    assert "deps" in output and "data" in output
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_data_info_imports_no_heavy_library(demo_home: Path) -> None:
    code, output, modules = run_cli("data", "info", "--home", str(demo_home))
    assert code == 0
    assert "demo data (synthetic)" in output
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def held_per_year(home: Path) -> list[tuple[int, int, float, int, int, int, bool]]:
    """Per year of the demo store, read with DuckDB from its Parquet files (not the manifest):
    rows, value, reporters, importers, exporters and whether any row is reconciled."""
    files = sorted(str(p) for p in (home / "trade").rglob("*.parquet"))
    return duckdb.execute(
        """
        SELECT year, count(*), sum(value_usd),
               count(DISTINCT CASE WHEN reporter_side = 'exporter' THEN exporter
                                   ELSE importer END),
               count(DISTINCT importer), count(DISTINCT exporter),
               bool_or(reporter_side = 'reconciled')
        FROM read_parquet(?) GROUP BY year ORDER BY year
        """,
        [files],
    ).fetchall()


def test_data_info_says_what_the_files_hold(demo_home: Path) -> None:
    held = held_per_year(demo_home)
    assert [year for year, *_ in held] == [2020, 2021, 2022]
    code, output, _ = run_cli("data", "info", "--json", "--home", str(demo_home))
    assert code == 0
    info = json.loads(output)
    assert info["rows"] == sum(rows for _, rows, *_ in held)
    assert info["value_usd"] == pytest.approx(sum(value for _, _, value, *_ in held), rel=1e-12)
    [source] = info["sources"]
    assert [
        (
            y["year"],
            y["rows"],
            y["value_usd"],
            y["reporters"],
            y["importers"],
            y["exporters"],
            y["coverage"] == "reconciled (world)",
        )
        for y in source["years"]
    ] == [
        (year, rows, pytest.approx(value, rel=1e-12), *counts, reconciled)
        for year, rows, value, *counts, reconciled in held
    ]


def test_data_info_table_shows_each_year(demo_home: Path) -> None:
    code, output, _ = run_cli("data", "info", "--home", str(demo_home))
    assert code == 0
    for year, rows, value, reporters, _, exporters, _ in held_per_year(demo_home):
        cells = [str(year), f"{rows:,}", f"{value / 1e9:,.2f}", str(reporters), str(exporters)]
        [line] = [line for line in output.splitlines() if f" {year} " in line]
        assert [cell for cell in line.replace("│", " ").split() if cell in cells] == cells
        assert "reconciled (world)" in line


@pytest.mark.parametrize("width", [60, 80])
def test_data_info_on_a_narrow_terminal_cuts_no_number(demo_home: Path, width: int) -> None:
    """At 60 and 80 columns ``data info`` leaves out whole columns, says which, and prints
    every number it keeps whole (rich alone would shorten "3,288.54" to "3,288.…")."""
    from rich.console import Console

    from chokepoints.cli import data
    from chokepoints.workspace import Workspace

    console = Console(width=width, force_terminal=True, color_system=None)
    saved, data.console = data.console, console
    try:
        with console.capture() as captured:
            data._print_info(Workspace.open(demo_home).info())
    finally:
        data.console = saved
    text = captured.get()
    assert "…" not in text and "left out for width:" in text
    for year, rows, value, *_ in held_per_year(demo_home):
        [line] = [line for line in text.splitlines() if f" {year} " in line]
        assert f" {rows:,} " in line and f" {value / 1e9:,.2f} " in line


def test_store_data_folders_are_the_schema_tables() -> None:
    assert ("trade", *schema.COMPANION_TABLES) == store.DATA_FOLDERS


def test_workspace_is_importable_from_the_package() -> None:
    from chokepoints import Workspace
    from chokepoints.workspace import Workspace as Defined

    assert Workspace is Defined
    with pytest.raises(AttributeError):
        chokepoints.Nothing  # noqa: B018


def test_question_functions_stay_over_their_submodules() -> None:
    """``questions.dependencies`` is the function, even once its module of the same name was
    imported on its own (which sets the submodule as the package's attribute)."""
    check = (
        "import chokepoints.questions.dependencies\n"
        "from chokepoints import questions\n"
        "print(questions.dependencies.__module__, questions.dependencies.__name__)\n"
    )
    source = str(Path(chokepoints.__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": source},
        check=True,
    )
    assert done.stdout.split() == ["chokepoints.questions.dependencies", "dependencies"]
