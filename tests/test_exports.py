"""Exports (CSV, JSON, Parquet, Excel) and plain terminal output, on the demo world.

Expected values come from the ``Workspace`` frames for the same question, never from the output
under test.
"""

from __future__ import annotations

import gc
import io
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from chokepoints import __version__, export
from chokepoints.errors import ChokepointsError
from chokepoints.workspace import Workspace
from helpers import assert_one_sentence_error, run
from kept import answers_kept

ANSI = re.compile(r"\x1b\[")
COMPARE_TABLES = ["by_sector", "shared", "complementarity", "best_practice", "joint"]


@pytest.fixture(scope="module", autouse=True)
def _answered_once() -> Iterator[None]:
    """The module checks how answers are written, not how they are computed: each question
    (``compare JPN DEU`` is asked by eight tests) is computed once and handed out as copies."""
    with answers_kept():
        yield


@pytest.fixture(scope="module")
def jpn_deu(demo_home: Path) -> Any:
    """``Workspace.compare`` of Japan and Germany on the demo store: the expected tables of
    the compare exports, computed once for the module (the tests only read them)."""
    return Workspace.open(demo_home).compare(["JPN", "DEU"])


# -- helpers ---------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    """None, NaN, NA and the empty string: what an empty Excel cell stands for."""
    if value is None or value is pd.NA or (isinstance(value, str) and value == ""):
        return True
    return isinstance(value, float) and math.isnan(value)


def _same(cell: Any, expected: Any) -> bool:
    """An Excel cell against a frame value: equal, or both missing; floats to 16 digits."""
    if hasattr(expected, "item"):
        expected = expected.item()
    if _missing(expected) or _missing(cell):
        return _missing(expected) and _missing(cell)
    if isinstance(expected, bool) or isinstance(cell, bool):
        return cell is expected
    if isinstance(expected, int | float):
        return isinstance(cell, int | float) and cell == pytest.approx(expected, rel=1e-15)
    return type(cell) is type(expected) and cell == expected


def _assert_sheet_matches(sheet: Any, frame: pd.DataFrame) -> None:
    """Header = the frame's columns; every cell = the frame's value at the same place."""
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [str(c) for c in frame.columns]
    assert len(rows) - 1 == len(frame), sheet.title
    for number, (row, expected) in enumerate(
        zip(rows[1:], frame.itertuples(index=False, name=None), strict=True)
    ):
        for column, cell, value in zip(frame.columns, row, expected, strict=True):
            assert _same(cell, value), (sheet.title, number, column, cell, value)


def _assert_provenance_sheet(sheet: Any, provenance: dict[str, Any]) -> None:
    """key/value rows; lists and dicts as JSON text."""
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("key", "value")
    found = {key: value for key, value in rows[1:]}
    assert list(found) == list(provenance)
    for key, expected in provenance.items():
        if isinstance(expected, list | dict):
            assert json.loads(found[key]) == json.loads(json.dumps(expected, default=str)), key
        else:
            assert _same(found[key], expected), key


# -- Excel -----------------------------------------------------------------------------------
def test_compare_xlsx_has_every_table_and_provenance(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path, jpn_deu: Any
) -> None:
    target = tmp_path / "jpn-deu.xlsx"
    code, out, err = run(
        capsys,
        "compare",
        "JPN",
        "DEU",
        "--format",
        "xlsx",
        "-o",
        str(target),
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    assert out == ""
    expected = jpn_deu
    book = load_workbook(target)
    assert book.sheetnames == [*COMPARE_TABLES, "provenance"]
    for name in COMPARE_TABLES:
        assert not expected.frames()[name].empty, name
        _assert_sheet_matches(book[name], expected.frames()[name])
    _assert_provenance_sheet(book["provenance"], expected.by_sector.attrs["provenance"])
    # HS codes stay text with their leading zeros; the provenance says demo.
    codes = [row[0] for row in book["best_practice"].iter_rows(min_row=2, values_only=True)]
    assert codes == expected.best_practice["product"].tolist()
    assert any(c.startswith("0") for c in codes)
    assert f"wrote {sum(len(f) for f in expected.frames().values()):,} rows to" in err
    assert not list(tmp_path.glob("*.tmp"))


def test_diversify_and_product_xlsx_match_the_api(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    ws = Workspace.open(demo_home)
    target = tmp_path / "div.xlsx"
    code, _, err = run(
        capsys,
        "diversify",
        "JPN",
        "850511",
        "--max-share",
        "0.4",
        "--format",
        "xlsx",
        "-o",
        str(target),
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    result = ws.diversify("JPN", "850511", max_share=0.4)
    book = load_workbook(target)
    assert book.sheetnames == ["alternatives", "mix", "provenance"]
    _assert_sheet_matches(book["alternatives"], result.alternatives)
    _assert_sheet_matches(book["mix"], result.mix)
    provenance = result.alternatives.attrs["provenance"]
    _assert_provenance_sheet(book["provenance"], provenance)
    found = dict(book["provenance"].iter_rows(min_row=2, values_only=True))
    assert json.loads(found["result"])["hhi_after"] == pytest.approx(result.plan.hhi_after)
    assert found["demo"] is True and found["notice"] == "demo data (synthetic)"

    target = tmp_path / "product.xlsx"
    code, _, err = run(
        capsys,
        "product",
        "850511",
        "--format",
        "xlsx",
        "-o",
        str(target),
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    picture = ws.product("850511")
    book = load_workbook(target)
    assert book.sheetnames == ["summary", "exporters", "importers", "provenance"]
    for name in ("summary", "exporters", "importers"):
        _assert_sheet_matches(book[name], picture.frames()[name])
    _assert_provenance_sheet(book["provenance"], picture.summary.attrs["provenance"])


def test_single_table_xlsx_keeps_raw_numbers_with_formats(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "deps.xlsx"
    code, _, err = run(
        capsys,
        "deps",
        "JPN",
        "--all",
        "--format",
        "xlsx",
        "-o",
        str(target),
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    frame = Workspace.open(demo_home).dependencies("JPN", include_all=True)
    book = load_workbook(target)
    assert book.sheetnames == ["result", "provenance"]
    _assert_sheet_matches(book["result"], frame)
    _assert_provenance_sheet(book["provenance"], frame.attrs["provenance"])
    sheet = book["result"]
    header = [c.value for c in sheet[1]]
    money = sheet.cell(row=2, column=header.index("import_value_usd") + 1)
    share = sheet.cell(row=2, column=header.index("top_supplier_share") + 1)
    # USD, not millions, and a 0-1 share, shown with separators and as a percentage.
    assert money.value == pytest.approx(frame["import_value_usd"].iloc[0], rel=1e-15)
    assert money.number_format == "#,##0"
    assert share.value == pytest.approx(frame["top_supplier_share"].iloc[0], rel=1e-15)
    assert share.number_format == "0.0%"
    assert sheet.freeze_panes == "A2"


def test_every_format_command_writes_xlsx(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    ws = Workspace.open(demo_home)
    cases = {
        "batch": (
            ["diversify", "JPN", "--sector", "critical_minerals"],
            ws.diversify_all("JPN", sector="critical_minerals"),
        ),
        "markets": (
            ["diversify", "DEU", "850511", "--side", "exports"],
            ws.markets("DEU", "850511"),
        ),
        "sql": (
            ["sql", "SELECT exporter, sum(value_usd) AS v FROM trade GROUP BY 1 ORDER BY 1"],
            ws.sql("SELECT exporter, sum(value_usd) AS v FROM trade GROUP BY 1 ORDER BY 1"),
        ),
        "trend": (["trend", "JPN", "--supplier", "CHN"], ws.trend("JPN", "CHN")),
    }
    for name, (args, expected) in cases.items():
        target = tmp_path / f"{name}.xlsx"
        code, _, err = run(
            capsys, *args, "--format", "xlsx", "--output", str(target), "--home", str(demo_home)
        )
        assert code == 0, (name, err)
        book = load_workbook(target)
        assert book.sheetnames[-1] == "provenance" and len(book.sheetnames) == 2, name
        _assert_sheet_matches(book.worksheets[0], expected)
        _assert_provenance_sheet(book["provenance"], expected.attrs["provenance"])
    # Country groups: the member lists become JSON text in one cell.
    target = tmp_path / "groups.xlsx"
    code, _, err = run(
        capsys, "groups", "--format", "xlsx", "-o", str(target), "--home", str(demo_home)
    )
    assert code == 0, err
    groups = ws.groups()
    rows = list(load_workbook(target)["groups"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == groups["group"].tolist()
    assert [json.loads(r[2]) for r in rows] == [list(m) for m in groups["members"]]


def test_xlsx_needs_an_output_file(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    for args in (["deps", "JPN"], ["compare", "JPN", "DEU"], ["diversify", "JPN", "850511"]):
        code, out, err = run(capsys, *args, "--format", "xlsx", "--home", str(demo_home))
        assert_one_sentence_error(code, err)
        assert "--output" in err and out == ""
    # Said before any work: an empty store, which the question would refuse, is not reached.
    for fmt in ("xlsx", "parquet"):
        code, out, err = run(capsys, "deps", "JPN", "--format", fmt, "--home", str(tmp_path))
        assert_one_sentence_error(code, err)
        assert f"--format {fmt} needs --output FILE.{fmt}" in err and out == ""


# -- several tables as CSV, Parquet, JSON -----------------------------------------------------
def test_multi_table_csv_and_parquet_write_one_file_per_table(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path, jpn_deu: Any
) -> None:
    compared = jpn_deu
    provenance = compared.by_sector.attrs["provenance"]
    expected = compared.frames()
    code, _, err = run(
        capsys,
        "compare",
        "JPN",
        "DEU",
        "--format",
        "csv",
        "-o",
        str(tmp_path / "jd.csv"),
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"jd.{name}.csv" for name in COMPARE_TABLES
    )
    for name in COMPARE_TABLES:
        read = pd.read_csv(tmp_path / f"jd.{name}.csv", dtype={"product": str})
        assert list(read.columns) == list(expected[name].columns)
        assert len(read) == len(expected[name])
        if "product" in read:
            assert read["product"].tolist() == expected[name]["product"].tolist()
        numbers = expected[name].select_dtypes("number").columns
        pd.testing.assert_frame_equal(
            read[numbers], expected[name][numbers], check_dtype=False, rtol=1e-12
        )
    code, _, err = run(
        capsys,
        "compare",
        "JPN",
        "DEU",
        "--format",
        "parquet",
        "-o",
        str(tmp_path / "jd"),
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    for name in COMPARE_TABLES:
        table = pq.read_table(tmp_path / f"jd.{name}.parquet")
        meta = json.loads(table.schema.metadata[b"chokepoints.provenance"])
        assert meta == json.loads(json.dumps(provenance, default=str))
        pd.testing.assert_frame_equal(table.to_pandas(), expected[name], check_dtype=False)


def test_multi_table_csv_and_parquet_need_output(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    # The empty store (tmp_path) is never reached: the tables are named before any work.
    for fmt, home in (("csv", demo_home), ("parquet", demo_home), ("parquet", tmp_path)):
        code, out, err = run(capsys, "product", "850511", "--format", fmt, "--home", str(home))
        assert_one_sentence_error(code, err)
        assert f"FILE.summary.{fmt}" in err and out == ""
    code, out, err = run(capsys, "compare", "JPN", "DEU", "--format", "csv", "--home",
                         str(tmp_path))  # fmt: skip
    assert_one_sentence_error(code, err)
    assert "this result has 5 tables" in err and "FILE.by_sector.csv" in err


def test_multi_table_json_to_a_file(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "div.json"
    code, out, err = run(
        capsys,
        "diversify",
        "JPN",
        "850511",
        "--format",
        "json",
        "-o",
        str(target),
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    assert out == ""
    result = Workspace.open(demo_home).diversify("JPN", "850511")
    payload = json.loads(target.read_text(encoding="utf-8"))
    assert set(payload) == {"alternatives", "mix", "provenance"}
    assert [r["exporter"] for r in payload["alternatives"]] == result.alternatives[
        "exporter"
    ].tolist()
    assert [r["new_usd"] for r in payload["mix"]] == pytest.approx(result.mix["new_usd"])
    assert payload["provenance"]["result"]["hhi_after"] == pytest.approx(result.plan.hhi_after)


# -- one table as CSV, JSON, Parquet ----------------------------------------------------------
def test_single_table_round_trips(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    expected = Workspace.open(demo_home).dependencies("DEU", include_all=True)
    files = {fmt: tmp_path / f"deps.{fmt}" for fmt in ("csv", "json", "parquet")}
    for fmt, path in files.items():
        code, _, err = run(
            capsys,
            "deps",
            "DEU",
            "--all",
            "--format",
            fmt,
            "-o",
            str(path),
            "--home",
            str(demo_home),
        )
        assert code == 0, err
        assert f"wrote {len(expected):,} rows to {path}" in err
    text = {"product": str, "importer": str, "top_supplier": str}
    from_csv = pd.read_csv(files["csv"], dtype=text, keep_default_na=False, na_values=[""])
    from_json = pd.DataFrame(json.loads(files["json"].read_text(encoding="utf-8")))
    from_parquet = pq.read_table(files["parquet"]).to_pandas()
    for read in (from_csv, from_json, from_parquet):
        assert list(read.columns) == list(expected.columns)
        assert read["product"].tolist() == expected["product"].tolist()
        assert read["dependent"].astype(bool).tolist() == expected["dependent"].tolist()
        for column in ("import_value_usd", "hhi", "top_supplier_share"):
            assert read[column].tolist() == pytest.approx(expected[column].tolist(), rel=1e-12)
    pd.testing.assert_frame_equal(from_parquet, expected, check_dtype=False)
    meta = json.loads(pq.read_table(files["parquet"]).schema.metadata[b"chokepoints.provenance"])
    assert meta["method"] == expected.attrs["provenance"]["method"]


def test_output_alone_takes_the_format_from_the_extension(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    expected = Workspace.open(demo_home).dependencies("DEU", sector="batteries")
    target = tmp_path / "deu.CSV"
    home = ["--home", str(demo_home)]
    code, out, err = run(capsys, "deps", "DEU", "--sector", "batteries", "-o", str(target), *home)
    assert code == 0, err
    assert "┃" not in out  # no terminal table: the rows went to the file
    written = pd.read_csv(target, dtype={"product": str})
    assert written["product"].tolist() == expected["product"].tolist()
    workbook = tmp_path / "jpn-deu.xlsx"
    code, _, err = run(capsys, "compare", "JPN", "DEU", "-o", str(workbook), *home)
    assert code == 0, err
    assert "by_sector" in load_workbook(workbook, read_only=True).sheetnames
    unknown = tmp_path / "deu.txt"
    code, _, err = run(capsys, "deps", "DEU", "-o", str(unknown), *home)
    assert_one_sentence_error(code, err)
    assert "deu.txt" in err and not unknown.exists()


def test_csv_writes_lists_as_json(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    # groups' members are lists: JSON text in CSV as in the workbook, not Python's repr.
    expected = Workspace.open(demo_home).groups().set_index("group")["members"]
    code, out, err = run(capsys, "groups", "--format", "csv", "--home", str(demo_home))
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out)).set_index("group")
    assert json.loads(frame.loc["G7", "members"]) == list(expected["G7"])
    target = tmp_path / "groups.csv"
    assert run(capsys, "groups", "-o", str(target), "--home", str(demo_home))[0] == 0
    written = pd.read_csv(target).set_index("group")
    assert json.loads(written.loc["EU27", "members"]) == list(expected["EU27"])


# -- atomic writes ----------------------------------------------------------------------------
def test_write_into_a_missing_folder_fails_cleanly(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    for fmt, args in (
        ("xlsx", ["deps", "JPN"]),
        ("xlsx", ["compare", "JPN", "DEU"]),
        ("csv", ["compare", "JPN", "DEU"]),
        ("parquet", ["deps", "JPN"]),
    ):
        target = tmp_path / "absent" / f"out.{fmt}"
        code, _, err = run(
            capsys, *args, "--format", fmt, "-o", str(target), "--home", str(demo_home)
        )
        assert_one_sentence_error(code, err)
        assert f"cannot write {target}: there is no folder {target.parent}" in err
    # Before the work: the report is not gathered, from an empty store either.
    target = tmp_path / "absent" / "jpn.html"
    code, _, err = run(capsys, "report", "JPN", "-o", str(target), "--home", str(tmp_path / "h"))
    assert_one_sentence_error(code, err)
    assert f"cannot write {target}: there is no folder {target.parent}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["h"])
    assert not (tmp_path / "absent").exists()


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_failed_xlsx_write_keeps_the_old_file(
    capsys: pytest.CaptureFixture[str],
    demo_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import openpyxl

    target = tmp_path / "deps.xlsx"
    target.write_bytes(b"yesterday's workbook")

    def disk_full(book: Any, handle: Any) -> None:
        handle.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", disk_full)
    code, _, err = run(
        capsys, "deps", "JPN", "--format", "xlsx", "-o", str(target), "--home", str(demo_home)
    )
    assert_one_sentence_error(code, err)
    assert "No space left on device" in err
    assert target.read_bytes() == b"yesterday's workbook"
    gc.collect()  # no half-written sheet stream left to complain later
    assert [p.name for p in tmp_path.iterdir()] == ["deps.xlsx"]


def test_failed_table_leaves_no_file_of_the_set(
    capsys: pytest.CaptureFixture[str],
    demo_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = pd.DataFrame.to_csv

    def fail_on_joint(frame: pd.DataFrame, path: Any = None, **options: Any) -> Any:
        if path is not None and "joint" in str(path):
            Path(path).write_text("half", encoding="utf-8")
            raise OSError(28, "No space left on device")
        return original(frame, path, **options)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_on_joint)
    code, _, err = run(
        capsys,
        "compare",
        "JPN",
        "DEU",
        "--format",
        "csv",
        "-o",
        str(tmp_path / "jd.csv"),
        "--home",
        str(demo_home),
    )
    assert_one_sentence_error(code, err)
    assert "jd.joint.csv" in err
    # The four tables written before the failure were not renamed into place either.
    assert list(tmp_path.iterdir()) == []


def test_too_many_rows_for_a_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 4)
    frame = pd.DataFrame({"x": range(4)})
    with pytest.raises(ChokepointsError, match=r"big has 4 rows.*parquet or csv") as caught:
        export.write_xlsx({"big": frame}, tmp_path / "big.xlsx", {})
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    export.write_xlsx({"fits": frame.head(3)}, tmp_path / "fits.xlsx", {})
    assert load_workbook(tmp_path / "fits.xlsx")["fits"].max_row == 4


# -- Excel details ---------------------------------------------------------------------------
def test_sheet_names_are_valid_and_distinct() -> None:
    long = "a" * 40
    names = export.sheet_names([long, long, "by/sector?", "Provenance", "provenance", ""])
    assert names == ["a" * 31, "a" * 29 + "_2", "by_sector_", "Provenance", "provenance_2", "sheet"]
    assert all(len(n) <= 31 for n in names)


def test_table_paths() -> None:
    assert export.table_paths(Path("out/jd.csv"), ["shared", "joint"], ".csv") == [
        Path("out/jd.shared.csv"),
        Path("out/jd.joint.csv"),
    ]
    assert export.table_paths(Path("jd"), ["mix"], ".parquet") == [Path("jd.mix.parquet")]


def test_cells_that_excel_would_misread(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "text": ['=HYPERLINK("x")', "bell\x07", None],
            "codes": [["CHN", "RUS"], {"a": 1}, ()],
            "n": pd.array([1, None, 3], dtype="Int64"),
            "flag": [True, False, True],
        }
    )
    target = tmp_path / "odd.xlsx"
    export.write_xlsx({"odd": frame}, target, {"nested": {"k": [1, 2]}, "none": None})
    sheet = load_workbook(target)["odd"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[0] == ('=HYPERLINK("x")', '["CHN", "RUS"]', 1, True)
    assert sheet["A2"].data_type == "s"  # kept as text, not run as a formula
    assert rows[1] == ("bell", '{"a": 1}', None, False)
    assert rows[2] == (None, "[]", 3, True)
    provenance = dict(load_workbook(target)["provenance"].iter_rows(min_row=2, values_only=True))
    assert json.loads(provenance["nested"]) == {"k": [1, 2]} and provenance["none"] is None


# -- terminal output -------------------------------------------------------------------------
def test_batch_diversify_table_has_short_labels(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    code, out, err = run(capsys, "diversify", "JPN", "--home", str(demo_home))
    assert code == 0, err
    assert "HHI before" in out and "HHI after" in out and "replaced" in out
    assert not {"hhi_before", "hhi_after", "replaced_share"} & set(re.findall(r"[a-z_]+", out))
    first = Workspace.open(demo_home).diversify_all("JPN").iloc[0]
    assert f"{first['replaced_share']:.1%}" in out


def _environment(**extra: str) -> dict[str, str]:
    """The test's environment without colour switches, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "160", **extra})
    return env


CLI = [sys.executable, "-c", "from chokepoints.cli import main; main()"]

#: A child that runs each command of ``argv[1]`` (JSON) as ``chokepoints`` would, one after the
#: other, writing a separator line and the exit code after each: several commands on the same
#: pipes for one Python start-up (the console is made at import, as in a process of its own).
PIPED = """
import json, sys
from chokepoints.cli import main
for args in json.loads(sys.argv[1]):
    sys.argv = ["chokepoints", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
        stream.write(f"\\x1eEND {code}\\n")
        stream.flush()
"""


@pytest.mark.slow
def test_piped_output_has_no_escape_codes(demo_home: Path) -> None:
    cases = (
        (["deps", "JPN"], "dependent products"),
        (["compare", "JPN", "DEU"], "Shared chokepoints"),
        (["diversify", "JPN", "850511"], "Optimised sourcing mix"),
    )
    jobs = [[*args, "--home", str(demo_home)] for args, _ in cases]
    done = subprocess.run(
        [sys.executable, "-c", PIPED, json.dumps(jobs)],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outs = re.split(r"\x1eEND (\S+)\n", done.stdout)
    errs = re.split(r"\x1eEND (\S+)\n", done.stderr)
    assert outs[1::2] == errs[1::2] == ["0"] * len(cases), done.stderr
    for (args, expected), out, err in zip(cases, outs[0:-1:2], errs[0:-1:2], strict=True):
        assert expected in out, args
        assert "demo data (synthetic)" in out, args
        assert not ANSI.search(out) and not ANSI.search(err), args


def _on_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the CLI on a pseudo-terminal and return what it printed."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    child = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the child exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    child.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_no_color_and_dumb_terminals_get_plain_text(demo_home: Path) -> None:
    args = [*CLI, "deps", "JPN", "--limit", "3", "--home", str(demo_home)]
    styled = _on_terminal(args, _environment())
    assert ANSI.search(styled), "a colour terminal should get styles (else this test is moot)"
    for extra in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        plain = _on_terminal(args, _environment(**extra))
        assert "imports $m" in plain and "demo data (synthetic)" in plain, extra
        assert not ANSI.search(plain), extra


def test_piped_provenance_stays_on_one_line(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    # The provenance line is longer than 80 columns; piped, it must not be wrapped.
    code, out, _ = run(
        capsys, "diversify", "JPN", "850511", "--exclude", "CHN", "--home", str(demo_home)
    )
    assert code == 0
    (line,) = [x for x in out.splitlines() if "method diversify" in x]
    assert len(line) > 80 and "exclude=['CHN']" in line
    assert line.endswith(f"; chokepoints {__version__}")
