"""The questions answered by a real Spark standalone cluster (a master and two workers on
127.0.0.1, see ``spark_cluster.py``) are DuckDB's answers, and the workers' executors did the
work: the driver's REST API counts their completed tasks before and after each question.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from chokepoints.errors import ChokepointsError
from chokepoints.workspace import Workspace
from helpers import run
from spark_cluster import (  # noqa: F401  (spark_cluster is a fixture)
    LOOPBACK,
    SparkCluster,
    driver_conf,
    get_json,
    spark_cluster,
)

# One cluster per module: where pytest-xdist is told --dist loadgroup, these run on one worker.
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark_cluster")]

#: The questions asked on both engines, with the Workspace call that asks them (``compare`` is
#: asked through the command line below: asking it twice would double the file's time).
QUESTIONS: dict[str, Callable[[Workspace], Any]] = {
    "trend": lambda ws: ws.trend("JPN", "CHN", sector="critical_minerals"),
    "diversify": lambda ws: ws.diversify("JPN", "850511", exclude=["RUS"], max_share=0.6),
    "dependencies": lambda ws: ws.dependencies("JPN", sector="critical_minerals"),
    "shock": lambda ws: ws.shock(
        supplier="CHN", sectors=["critical_minerals"], importers=["JPN", "DEU"]
    ),
}
#: Questions that do not run on Spark yet, and why. They are still asked and must fail (a
#: strict xfail), so that the day one works the test says so and it leaves this list.
NOT_ON_SPARK_YET: dict[str, str] = {}


@pytest.fixture(scope="module")
def on_cluster(
    spark_cluster: SparkCluster,  # noqa: F811
    demo_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Workspace]:
    """The demo store answered by the cluster; the driver (this process) binds to 127.0.0.1,
    and its executors run this Python; the Spark session stops before the cluster does."""
    _stop_running_spark()
    folder = tmp_path_factory.mktemp("driver")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        patch.setenv("SPARK_LOCAL_IP", LOOPBACK)
        ws = Workspace.open(
            demo_home,
            backend="spark",
            spark_master=spark_cluster.master_url,
            spark_conf=driver_conf(folder),
        )
        try:
            ws.con  # noqa: B018  (starts the driver and registers the application)
            yield ws
        finally:
            _stop_running_spark()


def _stop_running_spark() -> None:
    """Stop a SparkContext another test left running in this process."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()


def _session(ws: Workspace) -> Any:
    """The workspace's Spark session."""
    return ws.con._session


def _worker_tasks(ws: Workspace) -> dict[str, int]:
    """Completed tasks per executor on the workers (the driver's entry left out), from the
    driver's REST API."""
    context = _session(ws).sparkContext
    base = context.uiWebUrl.rstrip("/")
    executors = get_json(f"{base}/api/v1/applications/{context.applicationId}/executors")
    return {e["id"]: e["completedTasks"] for e in executors if e["id"] != "driver"}


def _driver_tasks(ws: Workspace) -> int:
    """Tasks the driver ran itself (none, when the cluster's executors do the work)."""
    context = _session(ws).sparkContext
    base = context.uiWebUrl.rstrip("/")
    executors = get_json(f"{base}/api/v1/applications/{context.applicationId}/executors")
    return sum(e["completedTasks"] for e in executors if e["id"] == "driver")


def _tasks_after(ws: Workspace, before: dict[str, int]) -> dict[str, int]:
    """Tasks completed since ``before``, per executor, once Spark's listener caught up."""
    deadline = time.monotonic() + 10
    while True:
        now = _worker_tasks(ws)
        done = {key: count - before.get(key, 0) for key, count in now.items()}
        if sum(done.values()) > 0 or time.monotonic() > deadline:
            return done
        time.sleep(0.2)


# -- comparing answers -----------------------------------------------------------------------
def assert_same(duck: Any, spark: Any, where: str = "answer") -> None:
    """Equal answers up to row order and float rounding: frames, dataclasses, dicts, lists and
    numbers."""
    if isinstance(duck, pd.DataFrame):
        assert isinstance(spark, pd.DataFrame), where
        assert list(spark.columns) == list(duck.columns), where
        pd.testing.assert_frame_equal(
            _ordered(duck), _ordered(spark), check_dtype=False, rtol=1e-9, atol=1e-9, obj=where
        )
        duck_record = duck.attrs.get("provenance") or {}
        assert_same(duck_record, spark.attrs.get("provenance") or {}, f"{where}.attrs")
    elif isinstance(duck, pd.Series):
        assert_same(duck.to_frame(), spark.to_frame(), where)
    elif dataclasses.is_dataclass(duck):
        assert type(spark) is type(duck), where
        for item in dataclasses.fields(duck):
            assert_same(getattr(duck, item.name), getattr(spark, item.name), f"{where}.{item.name}")
    elif isinstance(duck, dict):
        assert isinstance(spark, dict), where
        if "engine" in duck:
            # A provenance: the engine that answered is the one thing that differs.
            duck, spark = dict(duck), dict(spark)
            assert duck.pop("engine") == "duckdb", where
            assert str(spark.pop("engine", "")).startswith("spark"), where
        assert sorted(spark) == sorted(duck), where
        for key in duck:
            assert_same(duck[key], spark[key], f"{where}[{key!r}]")
    elif isinstance(duck, list | tuple):
        assert len(spark) == len(duck), where
        for index, (one, other) in enumerate(zip(duck, spark, strict=True)):
            assert_same(one, other, f"{where}[{index}]")
    elif isinstance(duck, float | np.floating) and not pd.isna(duck):
        assert spark == pytest.approx(duck, rel=1e-9, abs=1e-9), where
    else:
        assert spark == duck or (pd.isna(duck) and pd.isna(spark)), f"{where}: {duck} {spark}"


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by every column (floats rounded, so that the last digit does not decide)."""
    keys = frame.copy()
    for column in keys.columns:
        if pd.api.types.is_float_dtype(keys[column]):
            keys[column] = keys[column].round(6)
        keys[column] = keys[column].astype(str)
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return frame.loc[order].reset_index(drop=True)


@pytest.fixture(scope="module")
def duckdb_answers(demo_home: Path) -> dict[str, Any]:
    """Every question answered by DuckDB on the same store."""
    ws = Workspace.open(demo_home, backend="duckdb")
    return {name: ask(ws) for name, ask in QUESTIONS.items()}


# -- the questions on the cluster ------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=pytest.mark.xfail(reason=NOT_ON_SPARK_YET[name], strict=True)
            if name in NOT_ON_SPARK_YET
            else (),
        )
        for name in QUESTIONS
    ],
)
def test_cluster_answers_like_duckdb(
    on_cluster: Workspace, duckdb_answers: dict[str, Any], name: str
) -> None:
    before = _worker_tasks(on_cluster)
    answer = QUESTIONS[name](on_cluster)
    done = _tasks_after(on_cluster, before)
    assert_same(duckdb_answers[name], answer, name)
    # The work was done by the executors on the workers, not by the driver.
    assert sum(done.values()) > 0, f"no task ran on the workers for {name}: {done}"
    assert _driver_tasks(on_cluster) == 0


def test_both_workers_run_executors_of_the_application(
    on_cluster: Workspace,
    spark_cluster: SparkCluster,  # noqa: F811
) -> None:
    context = _session(on_cluster).sparkContext
    assert context.master == spark_cluster.master_url
    assert on_cluster.engine_label == f"spark ({spark_cluster.master_url})"
    apps = spark_cluster.master_state()["activeapps"]
    assert [app["id"] for app in apps] == [context.applicationId]
    assert apps[0]["cores"] == 2  # one core on each worker
    # Each worker runs one executor of this application ...
    hosted = []
    for index in range(len(spark_cluster.worker_webs)):
        executors = spark_cluster.worker_state(index)["executors"]
        ours = [e for e in executors if e["appid"] == context.applicationId]
        assert len(ours) == 1, executors
        hosted.append(str(ours[0]["id"]))
    # ... and both completed tasks.
    before = _worker_tasks(on_cluster)
    trade = on_cluster.trade
    rows = trade.group_by(["year", "importer"]).aggregate(value=trade.value_usd.sum()).execute()
    assert len(rows) > 0
    _tasks_after(on_cluster, before)
    tasks = _worker_tasks(on_cluster)
    assert sorted(tasks) == sorted(hosted)
    assert all(count > 0 for count in tasks.values()), tasks


def test_store_read_from_a_url(on_cluster: Workspace, demo_home: Path, tmp_path: Path) -> None:
    # The workers read the store at [spark] store_url (here a file:// copy) instead of HOME.
    mirror = tmp_path / "mirror"
    shutil.copytree(demo_home, mirror)
    ws = Workspace.open(
        demo_home,
        backend="spark",
        spark_master=on_cluster.settings.spark_master,
        spark_store_url=mirror.as_uri(),
    )
    files = _session(ws).table("trade").inputFiles()
    assert files and all(f.startswith(f"{mirror.as_uri()}/trade/") for f in files), files
    duck = Workspace.open(demo_home, backend="duckdb")
    assert ws.trade.count().execute() == duck.trade.count().execute()


def test_another_master_is_refused_while_one_runs(on_cluster: Workspace, demo_home: Path) -> None:
    ws = Workspace.open(demo_home, spark_master="local[1]")
    with pytest.raises(ChokepointsError, match=r"already runs Spark on spark://127\.0\.0\.1"):
        ws.con  # noqa: B018


# -- the command line on the cluster ---------------------------------------------------------
#: Commands run on the cluster and on DuckDB, compared by their JSON output: the one question
#: not asked through ``Workspace`` above (``deps`` and ``shock`` there were the same questions
#: again, 6 s of the cluster's time).
CLI_COMMANDS = {
    "compare": ["compare", "JPN", "DEU", "--sector", "batteries", "--exclude", "CHN"],
}
#: Commands that do not run on Spark yet, and why (a strict xfail, as for the questions).
CLI_NOT_ON_SPARK_YET: dict[str, str] = {}


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            name,
            marks=pytest.mark.xfail(reason=CLI_NOT_ON_SPARK_YET[name], strict=True)
            if name in CLI_NOT_ON_SPARK_YET
            else (),
        )
        for name in CLI_COMMANDS
    ],
)
def test_cli_on_the_cluster(
    capsys: pytest.CaptureFixture[str],
    on_cluster: Workspace,
    demo_home: Path,
    command: str,
) -> None:
    master = on_cluster.settings.spark_master
    args = [*CLI_COMMANDS[command], "--format", "json", "--home", str(demo_home)]
    before = _worker_tasks(on_cluster)
    code, out, err = run(capsys, "--backend", "spark", "--spark-master", master, *args)
    assert code == 0, err
    assert f"engine: spark ({master})" in err
    assert sum(_tasks_after(on_cluster, before).values()) > 0
    spark = json.loads(out)
    code, out, err = run(capsys, "--backend", "duckdb", *args)
    assert code == 0, err
    assert "engine: duckdb" in err
    duck = json.loads(out)
    # The engine that answered is the one thing that differs (where the JSON holds provenance).
    assert _engines(duck) | _engines(spark) in (set(), {"duckdb", f"spark ({master})"})
    assert_same(_numbers(duck), _numbers(spark), command)


def _engines(value: Any) -> set[str]:
    """The ``engine`` named in every provenance of a JSON answer, taken out of it."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("provenance"), dict) and "engine" in value["provenance"]:
            found.add(value["provenance"].pop("engine"))
        for item in value.values():
            found |= _engines(item)
    return found


def _numbers(value: Any) -> Any:
    """JSON with lists of records as frames, so that row order and float rounding do not count."""
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return pd.DataFrame(value)
    return value


def test_report_on_the_cluster(on_cluster: Workspace, demo_home: Path, tmp_path: Path) -> None:
    """The report's content gathered by the cluster is DuckDB's: every table (dependencies,
    suppliers, trend, exports, stress, diversification, cooperation...) and every provenance,
    for two sectors and a partner; the executors did the work, and the page is written."""
    from chokepoints.report import gather, write_report

    def ask(ws: Workspace) -> Any:
        return gather(ws, "JPN", partners=["DEU"], sectors=["permanent_magnets", "batteries"])

    before = _worker_tasks(on_cluster)
    spark = ask(on_cluster)
    assert sum(_tasks_after(on_cluster, before).values()) > 0
    duck = ask(Workspace.open(demo_home, backend="duckdb"))
    assert not duck.dependencies.empty and duck.cooperation
    assert_same(duck, spark, "report")
    output = tmp_path / "jpn.html"
    write_report(spark, output)
    assert output.stat().st_size > 1_000_000 and "JPN" in output.read_text(encoding="utf-8")
