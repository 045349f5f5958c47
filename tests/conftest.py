"""Shared fixtures: the real public data folder, and a fresh store home per test."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from chokepoints.workspace import Workspace
from helpers import require_spark
from spark_cluster import QUICK_JVM

REPO = Path(__file__).resolve().parents[1]

#: The tests' Spark queries read a few MB each: generating and compiling Java for every whole
#: stage costs more there than it saves, so the JVMs the tests start, in this process or in a
#: child, leave it off (expression code generation stays: interpreting every expression cost
#: the parity tests 14% more JVM time). The numbers do not depend on it.
os.environ.setdefault(
    "PYSPARK_SUBMIT_ARGS", "--conf spark.sql.codegen.wholeStage=false pyspark-shell"
)
#: Their drivers live a few minutes: quick JVM options (``spark_cluster.QUICK_JVM``) cost a
#: third less CPU than Java's defaults (a fresh CLI run on Spark: 19 s of CPU, not 31 s).
os.environ.setdefault("SPARK_SUBMIT_OPTS", QUICK_JVM)

#: Settings of the one local Spark a test process starts (``local_spark``): its jobs read a few
#: MB, so one shuffle partition, no adaptive re-planning and no web UI.
SPARK_TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
}


def pytest_configure(config: pytest.Config) -> None:
    """Where writing bytecode is turned off (``PYTHONDONTWRITEBYTECODE``, as in some CI images)
    and the install compiled nothing (``pip install --no-compile``), every Python process the
    suite starts (xdist workers, CLI children, servers) compiled pandas, ibis, sqlglot... from
    source again: 2.7 s instead of 0.8 s to import them, 85 s of CPU per run. The run writes
    them once into a cache of its own in the temporary folder instead, not into the tree."""
    if not sys.dont_write_bytecode:
        return
    prefix = os.environ.get("PYTHONPYCACHEPREFIX") or str(
        Path(tempfile.gettempdir()) / "chokepoints-tests-pycache"
    )
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"] = prefix
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every Spark test without a group of its own runs on one pytest-xdist worker: one JVM
    and one set of Spark homes for all of them instead of one per worker and module. Before
    xdist reads the groups (``--dist loadgroup``)."""
    for item in items:
        if item.get_closest_marker("spark") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("spark"))


def start_local_spark() -> None:
    """Start this process's Spark on ``local[2]`` with ``SPARK_TEST_CONF``, unless one runs
    (a module may have stopped the last one)."""
    from pyspark import SparkContext

    from chokepoints.engine import spark_session

    running = SparkContext._active_spark_context
    if running is None or running._jsc is None:
        spark_session("local[2]", SPARK_TEST_CONF)
        # Spark's Ctrl-C handler outlives a stopped context, and then fails and swallows the
        # interrupt: the tests that interrupt this process later need Python's own.
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every Spark test but the cluster's finds this worker's one local Spark running, started
    with the tests' settings before the first one's fixtures (not with the library's defaults,
    by whichever fixture comes first): one JVM start and warm-up per worker."""
    group = item.get_closest_marker("xdist_group")
    if item.get_closest_marker("spark") and not (group and "spark_cluster" in group.args):
        require_spark()
        start_local_spark()


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


def shared_home(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Path:
    """A store built once per test run: the first xdist worker to ask builds it under a lock,
    the others wait and read it."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, shared by the workers
    home, ready = root / f"shared-{name}", root / f"shared-{name}.ready"
    with FileLock(str(root / f"shared-{name}.lock")):
        if not ready.exists():
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            build(home)
            ready.touch()
    return home


@pytest.fixture(scope="session")
def atlas(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A store holding the real 2022 slices, ingested once per run; tests only read it."""
    home = shared_home(
        tmp_path_factory, "atlas", lambda home: ingest_atlas(Workspace.open(home), shared_data)
    )
    return Workspace.open(home)


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the demo world, built once per run (the workers share it); tests only
    read it."""
    return shared_home(tmp_path_factory, "demo", lambda home: Workspace.open(home).load_demo())


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
