"""Shared fixtures: the real public data folder, and a fresh store home per test."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from chokepoints.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]

#: The tests' Spark queries read a few MB each: generating and compiling Java for every query
#: (whole-stage and expression code generation) costs more there than it saves, so the JVMs the
#: tests start, in this process or in a child, interpret instead (a fifth less time for the
#: parity tests; the numbers do not depend on it).
os.environ.setdefault(
    "PYSPARK_SUBMIT_ARGS",
    "--conf spark.sql.codegen.wholeStage=false --conf spark.sql.codegen.factoryMode=NO_CODEGEN "
    "pyspark-shell",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every Spark test without a group of its own runs on one pytest-xdist worker: one JVM
    and one set of Spark homes for all of them instead of one per worker and module. Before
    xdist reads the groups (``--dist loadgroup``)."""
    for item in items:
        if item.get_closest_marker("spark") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("spark"))


def shared_data_dir() -> Path:
    """The folder of real public data files (CHOKEPOINTS_SHARED_DATA, else ../shared/data)."""
    configured = os.environ.get("CHOKEPOINTS_SHARED_DATA")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data; skips when absent, fails when absent under CI=true."""
    path = shared_data_dir()
    if not path.is_dir():
        message = (
            f"real data folder {path} not found: set CHOKEPOINTS_SHARED_DATA to the shared/data "
            "folder to run the tests on real files"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


#: Complete BACI 2022 slices for 30 critical-material products (i,j,cmd,value in USD).
ATLAS = "baci/V202601_critical_materials_atlas/baci_2022.csv"


def ingest_atlas(ws: Workspace, shared_data: Path) -> Workspace:
    """Ingest the real 2022 slices as the README's `ingest table` example does."""
    ws.ingest_table(
        shared_data / ATLAS,
        mapping={"exporter": "i", "importer": "j", "product": "cmd", "value_usd": "value"},
        year=2022,
        classification="HS17",
        source="atlas",
    )
    return ws


@pytest.fixture(scope="session")
def atlas(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A store holding the real 2022 slices, ingested once per session."""
    return ingest_atlas(Workspace.open(tmp_path_factory.mktemp("atlas")), shared_data)


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the demo world, built once per session; tests only read it."""
    home = tmp_path_factory.mktemp("demo")
    Workspace.open(home).load_demo()
    return home


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty workspace home for one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def demo_report(demo_home: Path) -> Any:
    """The report's content for Japan with Germany on the demo store, gathered once per
    session (its heaviest question, ``compare``, costs seconds); tests only read it."""
    from chokepoints.report import gather

    return gather(Workspace.open(demo_home), "JPN", partners=["DEU"])
