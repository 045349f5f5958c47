"""Choosing the engine: flags, environment, config.toml and defaults, in that order, and bad
values refused in one sentence that names where they came from. Nothing here starts Spark."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from chokepoints import config
from chokepoints.config import engine_settings
from chokepoints.errors import ChokepointsError
from chokepoints.workspace import Workspace
from helpers import assert_one_sentence_error, require_spark, run


@pytest.fixture(autouse=True)
def no_engine_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without the engine's environment variables."""
    monkeypatch.delenv(config.BACKEND_VARIABLE, raising=False)
    monkeypatch.delenv(config.MASTER_VARIABLE, raising=False)


def _config(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_is_duckdb(home: Path) -> None:
    ws = Workspace.open(home)
    assert ws.backend == "duckdb" and ws.engine_label == "duckdb"


def test_precedence_argument_flag_environment_file_default(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(
        home,
        'backend = "spark"\n[spark]\nmaster = "spark://file:7077"\nexecutor_memory = "2g"\n'
        '[spark.conf]\n"spark.executor.cores" = 2\n"spark.eventLog.enabled" = true\n',
    )
    settings = engine_settings(home)
    assert (settings.backend, settings.spark_master) == ("pyspark", "spark://file:7077")
    assert settings.spark_conf == {
        "spark.executor.memory": "2g",
        "spark.executor.cores": "2",
        "spark.eventLog.enabled": "true",
    }
    monkeypatch.setenv(config.MASTER_VARIABLE, "spark://environment:7077")
    assert engine_settings(home).spark_master == "spark://environment:7077"
    with config.chosen(spark_master=("spark://flag:7077", "--spark-master")):
        assert engine_settings(home).spark_master == "spark://flag:7077"
        settings = engine_settings(home, spark_master="local[2]", spark_conf={"spark.x.y": 1})
        assert settings.spark_master == "local[2]"
        assert settings.spark_conf["spark.x.y"] == "1"
        assert settings.spark_conf["spark.executor.memory"] == "2g"  # merged key by key
    monkeypatch.setenv(config.BACKEND_VARIABLE, "duckdb")
    assert engine_settings(home).backend == "duckdb"
    # A master named by the caller asks for Spark; against an explicit duckdb it is refused.
    assert engine_settings(home, backend="pyspark").backend == "pyspark"
    with pytest.raises(ChokepointsError, match=r"spark_master is given but the engine is duckdb"):
        engine_settings(home, spark_master="local[2]")


def test_master_alone_chooses_spark(home: Path) -> None:
    ws = Workspace.open(home, spark_master="spark://127.0.0.1:7077")
    assert ws.backend == "pyspark"
    assert ws.engine_label == "spark (spark://127.0.0.1:7077)"
    assert Workspace.open(home, backend="spark").engine_label == "spark (local[*])"


@pytest.mark.parametrize(
    "master",
    [
        "local",
        "local[*]",
        "local[4]",
        "local[*,3]",
        "spark://127.0.0.1:7077",
        "spark://a.example:7077,b.example:7077",
        "sc://spark.example:15002",
        "sc://spark.example:15002/;token=abc;use_ssl=true",
        "yarn",
        "k8s://https://kube.example:6443",
    ],
)
def test_master_forms_accepted(master: str) -> None:
    assert config.check_master(master) == master


@pytest.mark.parametrize(
    "master",
    ["spark://host", "spark:/host:7077", "local[0]", "local[x]", "http://h:1", "sc://h:99999", ""],
)
def test_malformed_master_refused(master: str) -> None:
    with pytest.raises(ChokepointsError, match=r"spark_master is .* not a Spark master URL; use"):
        config.check_master(master)


def test_connect_token_not_printed(home: Path) -> None:
    ws = Workspace.open(home, spark_master="sc://spark.example:15002/;token=SECRET")
    assert ws.engine_label == "spark (sc://spark.example:15002)"


def test_bad_flags_one_sentence(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    code, _, err = run(capsys, "--backend", "postgres", "deps", "JPN", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "--backend is 'postgres'" in err and "duckdb or spark" in err
    code, _, err = run(capsys, "--spark-master", "spark:/x", "deps", "JPN", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "--spark-master is 'spark:/x'" in err and "spark://HOST:PORT" in err
    code, _, err = run(
        capsys,
        "--backend",
        "duckdb",
        "--spark-master",
        "local[2]",
        "deps",
        "JPN",
        "--home",
        str(home),
    )
    assert_one_sentence_error(code, err)
    assert "--spark-master is given but the engine is duckdb (--backend)" in err


def test_bad_environment_one_sentence(
    capsys: pytest.CaptureFixture[str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.BACKEND_VARIABLE, "sprak")
    code, _, err = run(capsys, "deps", "JPN", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "CHOKEPOINTS_BACKEND is 'sprak'" in err and "unset CHOKEPOINTS_BACKEND" in err
    monkeypatch.setenv(config.BACKEND_VARIABLE, "spark")
    monkeypatch.setenv(config.MASTER_VARIABLE, "spark://nohost")
    code, _, err = run(capsys, "deps", "JPN", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "CHOKEPOINTS_SPARK_MASTER is 'spark://nohost'" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[spark]\nmaster = "local[2]\n', "line 2: not valid TOML"),
        ('backend = "spark"\n\n[spark]\nmastr = "local[2]"\n', "line 4: [spark] mastr is not"),
        ("[spark]\nexecutor_memory = 4\n", "line 2: [spark] executor_memory is 4; write it as"),
        ('[spark]\nexecutor_memory = "lots"\n', "line 2: [spark] executor_memory is 'lots'"),
        ('[spark.conf]\nexecutor.memory = "2g"\n', "line 2: [spark.conf] executor is read as"),
        ('[spark.conf]\n"executor.memory" = "2g"\n', "line 2: [spark.conf] executor.memory is"),
        ('[spark]\nmaster = "spark://h"\n', "line 2: [spark] master is 'spark://h', not a"),
        ('backend = "polars"\n', "line 1: backend is 'polars', not an engine"),
        ('[sprak]\nmaster = "local"\n', "line 1: sprak is not a setting of the top level"),
        ('[duckdb]\nmemory_limit = "much"\n', "line 2: [duckdb] memory_limit is 'much'"),
        ("[duckdb]\nthreads = 0\n", "line 2: [duckdb] threads is 0; write a whole number"),
        ('[duckdb]\nmemory = "4GB"\n', "line 2: [duckdb] memory is not a setting of [duckdb]"),
    ],
)
def test_bad_config_names_file_line_and_field(
    capsys: pytest.CaptureFixture[str], home: Path, text: str, expected: str
) -> None:
    path = _config(home, text)
    code, _, err = run(capsys, "data", "info", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert f"{path}, {expected}" in err.replace("\n", "")


def test_duckdb_settings_from_config_and_arguments(demo_home: Path, tmp_path: Path) -> None:
    import duckdb

    home = tmp_path / "home"
    home.mkdir()
    for item in demo_home.iterdir():
        (home / item.name).symlink_to(item)
    spill = tmp_path / "spill"
    _config(home, f'[duckdb]\nmemory_limit = "512MB"\nthreads = 1\ntemp_directory = "{spill}"\n')
    # What DuckDB itself reports for the same settings, on a connection of its own.
    reference = duckdb.connect(config={"memory_limit": "512MB", "threads": 1})
    setting = "SELECT current_setting('{}')"
    ws = Workspace.open(home)
    raw = ws.con.con
    for name in ("memory_limit", "threads"):
        expected = reference.execute(setting.format(name)).fetchall()[0]
        assert raw.execute(setting.format(name)).fetchall()[0] == expected, name
    assert raw.execute(setting.format("temp_directory")).fetchall()[0] == (str(spill),)
    assert not ws.dependencies("DEU").empty
    # An argument wins over the file.
    raw = Workspace.open(home, memory_limit="256MB", threads=2).con.con
    reference = duckdb.connect(config={"memory_limit": "256MB"})
    assert (
        raw.execute(setting.format("memory_limit")).fetchall()[0]
        == reference.execute(setting.format("memory_limit")).fetchall()[0]
    )
    assert raw.execute(setting.format("threads")).fetchall()[0] == (2,)


def test_flag_and_environment_forgotten_after_the_command(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    assert run(capsys, "--backend", "spark", "groups", "--home", str(home))[0] == 0
    assert Workspace.open(home).backend == "duckdb"


def test_duckdb_provenance_names_the_engine(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    Workspace.open(home).load_demo()
    code, out, _ = run(capsys, "deps", "JPN", "--limit", "2", "--home", str(home))
    assert code == 0 and "engine: duckdb" in out


def test_cli_starts_without_pyspark(home: Path) -> None:
    # The command line imports PySpark only when Spark answers (and opening does not start it).
    script = (
        "import sys\n"
        "from chokepoints import cli\n"
        "from chokepoints.workspace import Workspace\n"
        f"sys.argv = ['chokepoints', '--backend', 'duckdb', 'groups', '--home', {str(home)!r}]\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        f"Workspace.open({str(home)!r}, backend='spark')\n"
        "print('pyspark' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_spark_connect_without_client_libraries(home: Path) -> None:
    pytest.importorskip("pyspark")
    ws = Workspace.open(home, spark_master="sc://127.0.0.1:1")
    with pytest.raises(ChokepointsError, match=r"Spark Connect.*sc://127\.0\.0\.1:1"):
        ws.con  # noqa: B018


def test_info_and_sql_read_with_duckdb_when_spark_answers(home: Path) -> None:
    Workspace.open(home).load_demo()
    ws = Workspace.open(home, backend="spark")
    info = ws.info()
    assert info["rows"] > 0 and info["sources"][0]["years"][0]["reporters"] > 0
    assert ws.sql("SELECT count(*) AS n FROM trade")["n"].iloc[0] == info["rows"]
    assert ws._con is None  # neither started Spark
    with pytest.raises(ChokepointsError, match="unsafe SQL runs on the DuckDB engine"):
        ws.sql("SELECT 1", unsafe=True)


def test_spark_refuses_a_home_with_a_colon(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "store:2026"
    home.mkdir()
    for item in demo_home.iterdir():
        (home / item.name).symlink_to(item)
    code, _, err = run(capsys, "--backend", "spark", "deps", "DEU", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "Hadoop paths may not contain ':'" in err


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_spark_starts_quietly(demo_home: Path) -> None:
    """Spark's start-up warnings stay off the user's terminal: only the answer, the provenance
    and the JVM's own notice about incubator modules (printed before any logging starts)."""
    require_spark()
    # The cheapest question that runs Spark jobs (a third less than deps): the start is the
    # point here, the answers are checked against DuckDB's in test_parity.
    args = ["--backend", "spark", "upstream", "DEU", "850511", "--home", str(demo_home)]
    script = f"import sys\nfrom chokepoints import cli\nsys.argv = ['x', *{args!r}]\ncli.main()"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    noise = [
        line
        for line in done.stderr.splitlines()
        if re.search(r"\b(WARN|INFO)\b|log4j|log level|FutureWarning|require_minimum", line)
    ]
    assert noise == [], noise
    assert "engine: spark (local[*])" in done.stdout
    # The demo's Germany buys its magnets (850511) from China first of all.
    assert "CHN -> DEU" in done.stdout


def test_master_nobody_listens_at(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    # Spark would retry for a minute and print Java stack traces; this is one sentence at once.
    import socket

    Workspace.open(home).load_demo()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens: the socket is bound, not listening
        code, _, err = run(
            capsys,
            "--spark-master",
            f"spark://127.0.0.1:{port}",
            "deps",
            "JPN",
            "--home",
            str(home),
        )
    assert_one_sentence_error(code, err)
    assert f"no Spark master answers at spark://127.0.0.1:{port}" in err
    assert "--spark-master" in err


def test_help_names_the_engine_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and "--backend" in text and "--spark-master" in text
    assert "else [spark] master in HOME/config.toml" in text
