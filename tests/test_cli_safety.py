"""Issue #11, "Nothing lost, ever", on the command line: outputs only replace regular files,
``sql`` cannot reach beyond the store, and every user error or Ctrl-C is one sentence.

Real files, real device nodes, pipes, sockets, subprocesses and signals; no mocks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chokepoints.cli.common import in_flag_words
from chokepoints.errors import ChokepointsError, InputError
from chokepoints.export import check_target
from chokepoints.inputs import check_input
from chokepoints.reference.countries import countries
from chokepoints.render import rich_table, terminal_console
from chokepoints.workspace import Workspace
from helpers import assert_one_sentence_error, run, snapshot

ATLAS = "baci/V202601_critical_materials_atlas/baci_2022.csv"
ATLAS_MAP = "exporter=i,importer=j,product=cmd,value_usd=value"
TABLE_OPTIONS = ["--map", ATLAS_MAP, "--year", "2022", "--classification", "HS17", "--source", "x"]
#: The change to cli/data.py (owned elsewhere) that the marked cases wait for.


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    """A named pipe nobody writes to: opening it for reading would wait forever."""
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    """A listening Unix socket in the file system."""
    path = tmp_path / "s.csv"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        yield path


def one_sentence(code: int, err: str, *names: str) -> None:
    """A user error: exit 1, one 'error:' sentence, no traceback, naming every one of ``names``."""
    assert_one_sentence_error(code, err)
    for name in names:
        assert name in err, (name, err)


def cli(*args: str, timeout: float = 60, **options) -> subprocess.Popen[str]:
    """``chokepoints ARGS`` in a new process, SIGINT delivered as to a terminal's foreground job."""
    return subprocess.Popen(
        [sys.executable, "-c", "from chokepoints.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_a_terminal_would,
        **options,
    )


def _as_a_terminal_would() -> None:
    """SIGINT neither ignored nor blocked, as in a shell's foreground job (not a background one)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def wait_for_parquet(process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until ``process`` holds a Parquet file open: past its imports, the query reads."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        for descriptor in Path(f"/proc/{process.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(descriptor).endswith(".parquet"):
                    return
        time.sleep(0.01)
    raise AssertionError("the query never opened the store's files")


# -- 1. -o writes only regular files or new paths ------------------------------------------------
OUTPUT_CASES = {
    "sql-csv-to-dev-null": (["sql", "SELECT 1 AS x", "--format", "csv"], "/dev/null"),
    "deps-xlsx-to-dev-null": (["deps", "JPN", "--format", "xlsx"], "/dev/null"),
    "compare-csv-to-dev-null": (["compare", "JPN", "DEU", "--format", "csv"], "/dev/null"),
    "report-to-dev-null": (["report", "JPN", "--sector", "batteries"], "/dev/null"),
    "sql-to-fifo": (["sql", "SELECT 1 AS x", "--format", "json"], "fifo"),
    "groups-to-socket": (["groups", "--format", "csv"], "socket"),
    "deps-parquet-to-folder": (["deps", "JPN", "--format", "parquet"], "folder"),
    "report-to-folder": (["report", "JPN", "--sector", "batteries"], "folder"),
}
KIND_WORDS = {
    "/dev/null": "character device",
    "fifo": "named pipe",
    "socket": "socket",
    "folder": "is a folder; give a file",
}


@pytest.mark.parametrize("arguments, target", OUTPUT_CASES.values(), ids=OUTPUT_CASES.keys())
def test_output_refuses_what_is_not_a_regular_file(
    capsys: pytest.CaptureFixture[str],
    demo_home: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    arguments: list[str],
    target: str,
) -> None:
    if target == "fifo":
        path = request.getfixturevalue("fifo")
    elif target == "socket":
        path = request.getfixturevalue("unix_socket")
    elif target == "folder":
        path = tmp_path / "out.parquet"
        path.mkdir()
    else:
        path = Path(target)
    kind = stat.S_IFMT(path.stat().st_mode)
    before = snapshot(demo_home)
    code, out, err = run(capsys, *arguments, "-o", str(path), "--home", str(demo_home))
    one_sentence(code, err, f"cannot write {path}", KIND_WORDS[target])
    assert out == ""
    assert stat.S_IFMT(path.stat().st_mode) == kind  # the node itself is still there
    assert snapshot(demo_home) == before
    if path.parent != Path("/dev"):
        assert not list(path.parent.glob(".*.tmp"))


def test_output_over_a_regular_file_is_replaced_whole(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "x.csv"
    target.write_text("yesterday\n")
    code, _, err = run(capsys, "sql", "SELECT 1 AS x", "-o", str(target), "--home", str(demo_home))
    assert code == 0, err
    assert target.read_text() == "x\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_check_target_accepts_new_paths_and_regular_files(tmp_path: Path) -> None:
    check_target(tmp_path / "new.csv")
    (tmp_path / "old.csv").write_text("")
    check_target(tmp_path / "old.csv")
    with pytest.raises(ChokepointsError, match="character device"):
        check_target(Path("/dev/zero"))


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder on a file system mounted read-only (needs root; skipped otherwise)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a read-only tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.parametrize(
    "arguments",
    [["report", "JPN", "--sector", "batteries"], ["deps", "JPN", "--format", "csv"]],
    ids=["report", "deps-csv"],
)
def test_output_on_a_read_only_file_system(
    capsys: pytest.CaptureFixture[str],
    demo_home: Path,
    read_only_folder: Path,
    arguments: list[str],
) -> None:
    target = read_only_folder / "out.html"
    code, _, err = run(capsys, *arguments, "-o", str(target), "--home", str(demo_home))
    one_sentence(code, err, f"cannot write {target}", "Read-only file system")
    assert list(read_only_folder.iterdir()) == []


# -- 2. sql reads the store's tables and nothing else --------------------------------------------
def store_file(home: Path) -> Path:
    """One of the store's trade Parquet files."""
    return Workspace.open(home).store.files("trade")[0]


SANDBOX_CASES = {
    "copy-over-the-manifest": (
        "COPY (SELECT 1 AS x) TO '{home}/manifest.json' (FORMAT csv)",
        "manifest.json",
    ),
    "copy-over-a-store-file": (
        "COPY (SELECT 1 AS x) TO '{parquet}' (FORMAT parquet, USE_TMP_FILE false)",
        "reaches outside the store",
    ),
    "read-any-file": ("SELECT * FROM read_text('/etc/passwd')", "/etc/passwd"),
    "read-a-store-file-by-path": ("SELECT count(*) FROM read_parquet('{parquet}')", ".parquet"),
    "attach": ("ATTACH '{tmp}/new.db' AS other", "new.db"),
    "install": ("INSTALL httpfs", "reaches outside the store"),
    "load": ("LOAD httpfs", "extensions is disabled"),
    "setting-undone": ("SET enable_external_access = true", "changes a setting"),
    "lock-undone": ("SET lock_configuration = false", "changes a setting"),
    "url": ("SELECT * FROM read_csv('https://example.com/x.csv')", "example.com"),
}


@pytest.mark.parametrize("query, named", SANDBOX_CASES.values(), ids=SANDBOX_CASES.keys())
def test_sql_cannot_reach_beyond_the_store(
    capsys: pytest.CaptureFixture[str],
    demo_home: Path,
    tmp_path: Path,
    query: str,
    named: str,
) -> None:
    text = query.format(home=demo_home, parquet=store_file(demo_home), tmp=tmp_path)
    before = snapshot(demo_home)
    code, out, err = run(capsys, "sql", text, "--home", str(demo_home))
    one_sentence(code, err, "SQL refused", named, "--unsafe")
    assert out == ""
    assert snapshot(demo_home) == before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("query", ["", "   \n\t "], ids=["empty", "whitespace"])
def test_empty_sql_is_one_sentence(
    capsys: pytest.CaptureFixture[str], demo_home: Path, query: str
) -> None:
    code, _, err = run(capsys, "sql", query, "--home", str(demo_home))
    one_sentence(code, err, "the SQL query is empty")


def test_sandbox_keeps_every_table(demo_home: Path) -> None:
    ws = Workspace.open(demo_home)
    for table in ("trade", "products", "countries", "governance", "production"):
        query = f"SELECT count(*) AS n FROM {table}"
        assert ws.sql(query)["n"][0] == ws.sql(query, unsafe=True)["n"][0], table
    assert ws.sql("SELECT count(*) AS n FROM countries")["n"][0] == len(countries())
    total = "SELECT sum(value_usd) AS v FROM trade WHERE year = 2022 AND importer = 'JPN'"
    assert ws.sql(total)["v"][0] == pytest.approx(ws.sql(total, unsafe=True)["v"][0], rel=1e-12)


def test_unsafe_api_keeps_the_old_connection(demo_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    Workspace.open(demo_home).sql(f"COPY (SELECT 42 AS x) TO '{target}'", unsafe=True)
    assert target.read_text().splitlines() == ["x", "42"]


def test_unsafe_flag_on_the_command_line(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    query = f"COPY (SELECT 42 AS x) TO '{target}'"
    code, _, err = run(capsys, "sql", query, "--unsafe", "--home", str(demo_home))
    assert code == 0, err
    assert target.read_text().splitlines() == ["x", "42"]


# -- 3. no tracebacks ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["abc", "-5", "nan"])
def test_bad_lock_timeout_names_the_variable(
    capsys: pytest.CaptureFixture[str], home: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CHOKEPOINTS_LOCK_TIMEOUT", value)
    code, _, err = run(capsys, "data", "demo", "--home", str(home))
    one_sentence(code, err, f"CHOKEPOINTS_LOCK_TIMEOUT is {value!r}", "number of seconds")
    assert snapshot(home) == {}


MARKUP = "[/x] [bold]b[/bold] [link=file:///etc]"


def test_markup_in_an_sql_result_is_printed_as_text(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    query = f"SELECT '{MARKUP}' AS \"[/y]\", 1 AS n"
    code, out, err = run(capsys, "sql", query, "--home", str(demo_home))
    assert code == 0, err
    assert "[/x] [bold]b[/bold]" in out and "[/y]" in out and "Traceback" not in err


def test_markup_in_a_group_description_is_printed_as_text(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    (home / "groups.toml").write_text(
        f'[groups.chips]\ndescription = "{MARKUP}"\nmembers = ["USA", "JPN"]\n'
    )
    code, out, err = run(capsys, "groups", "--home", str(home))
    assert code == 0, err
    assert "[/x]" in out.replace("\n", "")


def test_markup_in_a_product_description_is_printed_as_text() -> None:
    import pandas as pd

    frame = pd.DataFrame({"product": ["850511"], "description": [f"Magnets {MARKUP}"]})
    console = terminal_console()
    with console.capture() as captured:
        console.print(rich_table(frame, title="[/t] title"))
    assert "[/x]" in captured.get() and "[/t] title" in captured.get()


def test_markup_in_an_error_is_printed_as_text(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    code, _, err = run(capsys, "deps", "[/x]", "--home", str(demo_home))
    one_sentence(code, err, "[/x]")


def test_ctrl_c_during_an_ingest_leaves_the_store_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    run(capsys, "data", "demo", "--home", str(home))
    before = snapshot(home)
    big = write_big_baci(tmp_path / "BACI_HS17_Y2021_V202501.csv", rows=300_000)
    process = cli("data", "ingest", "baci", str(big), "--home", str(home))
    deadline = time.monotonic() + 60
    while not (home / ".staging").exists() and process.poll() is None:
        assert time.monotonic() < deadline, "the ingest never started staging"
        time.sleep(0.005)
    assert process.poll() is None, "the ingest finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.startswith("error: interrupted") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "Ingested" not in out
    assert snapshot(home) == before
    assert not (home / ".staging").exists()


def test_ctrl_c_cancels_a_long_query(demo_home: Path) -> None:
    # Every pair of the demo's 215,564 flows: minutes of work, reading the store as it goes.
    query = "SELECT count(*) FROM trade a, trade b WHERE a.value_usd * b.value_usd < 0"
    process = cli("sql", query, "--home", str(demo_home))
    wait_for_parquet(process)
    time.sleep(0.5)
    assert process.poll() is None
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert time.monotonic() - interrupted < 10  # cancelled, not run to the end
    assert err.startswith("error: interrupted") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def write_big_baci(path: Path, rows: int) -> Path:
    """A valid BACI-layout year of ``rows`` distinct flows between real countries."""
    table = countries()
    codes = [int(c) for c in table[table["is_country"]]["baci_code"].dropna().head(60)]
    pairs = [(i, j) for i in codes for j in codes if i != j]
    with path.open("w", encoding="utf-8") as handle:
        handle.write("t,i,j,k,v,q\n")
        for n in range(rows):
            i, j = pairs[n % len(pairs)]
            handle.write(f"2021,{i},{j},{850100 + n // len(pairs)},{n % 997 + 1.5},1.25\n")
    return path


# -- inputs that are not regular files -----------------------------------------------------------
INPUT_CASES = {
    "baci-dev-zero": (["baci", "/dev/zero", "--revision", "HS17", "--release", "V202501"], "zero"),
    "baci-fifo": (["baci", "{fifo}", "--revision", "HS17", "--release", "V202501"], "fifo"),
    "comtrade-fifo": (["comtrade", "{fifo}"], "fifo"),
    "comtrade-folder": (["comtrade", "{folder}"], "folder"),
    "table-dev-zero": (
        ["table", "/dev/zero", *TABLE_OPTIONS],
        "zero",
    ),
    "wgi-fifo": (["wgi", "{fifo}"], "fifo"),
}
INPUT_WORDS = {"zero": "character device", "fifo": "named pipe", "folder": "is a folder"}


@pytest.mark.parametrize("arguments, kind", INPUT_CASES.values(), ids=INPUT_CASES.keys())
def test_ingest_refuses_what_is_not_a_regular_file(
    tmp_path: Path, fifo: Path, arguments: list[str], kind: str
) -> None:
    home = tmp_path / "home"
    filled = [a.format(fifo=fifo, folder=tmp_path) for a in arguments]
    process = cli("data", "ingest", *filled, "--home", str(home))
    try:
        _, err = process.communicate(timeout=60)  # a guard against a hang, not a speed test
    finally:
        process.kill()
    one_sentence(process.returncode, err, INPUT_WORDS[kind])
    assert not home.exists() or snapshot(home) == {}


@pytest.mark.parametrize(
    "path, folders, message",
    [
        ("/dev/zero", False, "/dev/zero is a character device, not a regular file"),
        ("{fifo}", False, "pipe.csv is a named pipe (FIFO), not a regular file"),
        ("{tmp}", False, "is a folder; give a file"),
        ("{tmp}/absent.csv", True, "absent.csv: no such file"),
    ],
    ids=["device", "fifo", "folder", "missing"],
)
def test_check_input(tmp_path: Path, fifo: Path, path: str, folders: bool, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_input(path.format(fifo=fifo, tmp=tmp_path), folders=folders)
    assert check_input(tmp_path, folders=True) == tmp_path


def test_groups_file_not_in_utf8(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    (home / "groups.toml").write_bytes(
        '[groups.x]\ndescription = "café"\nmembers = ["USA"]\n'.encode("latin-1")
    )
    code, _, err = run(capsys, "groups", "--home", str(home))
    one_sentence(code, err, "groups.toml", "UTF-8")


# -- 4. messages in our words ----------------------------------------------------------------------
FLAG_CASES = {
    "shock-redirect-fraction": (
        ["shock", "--supplier", "CHN", "--sector", "batteries", "--redirect-fraction", "2"],
        "--redirect-fraction 2.0",
    ),
    "diversify-redirect-fraction": (
        ["diversify", "JPN", "850511", "--redirect-fraction", "3"],
        "--redirect-fraction is 3.0",
    ),
    "diversify-max-share": (["diversify", "JPN", "850511", "--max-share", "3"], "--max-share"),
    "shock-negative-limit": (
        ["shock", "--supplier", "CHN", "--sector", "batteries", "--limit", "-3"],
        "--limit is -3",
    ),
    "stress-negative-top": (["stress", "--top", "-1"], "--top is -1"),
    "deps-negative-limit": (["deps", "JPN", "--limit", "-2"], "--limit is -2"),
    "product-negative-limit": (["product", "850511", "--limit", "-2"], "--limit is -2"),
    "output-folder": (["sql", "SELECT 1", "-o", "{tmp}"], "is a folder; give a file"),
}


@pytest.mark.parametrize("arguments, named", FLAG_CASES.values(), ids=FLAG_CASES.keys())
def test_argument_errors_blame_the_flag(
    capsys: pytest.CaptureFixture[str],
    demo_home: Path,
    tmp_path: Path,
    arguments: list[str],
    named: str,
) -> None:
    before = snapshot(demo_home)
    filled = [a.format(tmp=tmp_path) for a in arguments]
    code, _, err = run(capsys, *filled, "--home", str(demo_home))
    one_sentence(code, err, named)
    assert "redirect_fraction" not in err and "max_share" not in err
    assert snapshot(demo_home) == before


DATA_FLAG_CASES = {
    "table-year": (["--year", "99999", "--classification", "HS17"], "--year"),
    "table-classification": (["--year", "2022", "--classification", "CNfoo"], "--classification"),
}


@pytest.mark.parametrize("options, named", DATA_FLAG_CASES.values(), ids=DATA_FLAG_CASES.keys())
def test_ingest_table_options_are_blamed_not_the_file(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    shared_data: Path,
    options: list[str],
    named: str,
) -> None:
    arguments = ["data", "ingest", "table", str(shared_data / ATLAS), "--map", ATLAS_MAP]
    code, _, err = run(capsys, *arguments, *options, "--source", "x", "--home", str(home))
    one_sentence(code, err, named)
    assert "baci_2022.csv" not in err and "Conversion Error" not in err
    assert snapshot(home) == {}


def test_backwards_year_range_is_refused(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    big = write_big_baci(tmp_path / "BACI_HS17_Y2021_V202501.csv", rows=10)
    code, _, err = run(
        capsys, "data", "ingest", "baci", str(big), "--years", "2022-2019", "--home", str(home)
    )
    one_sentence(code, err, "--years", "2022-2019")
    assert snapshot(home) == {}


def test_library_parameter_names_become_flags() -> None:
    assert in_flag_words("pass allow_partial=True or lower redirect_fraction") == (
        "pass --allow-partial=True or lower --redirect-fraction"
    )
    # Paths, longer names and words that are no flag stay as they are.
    kept = "/tmp/max_share/x.csv, max_share.csv, top_supplier, import_value_usd"
    assert in_flag_words(kept) == kept
