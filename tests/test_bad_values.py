"""Values that must be refused: implausible years, wrong code lengths, float-looking country
codes, values beyond any trade, a table posing as a reader's source, a zip whose listing is
damaged; and hypothesis-generated BACI and Comtrade CSVs, valid and mutated.

Every refusal is one sentence naming file, line and field, and leaves the store byte-identical.
Expected lines and sums are computed from the text the test writes.
"""

from __future__ import annotations

import math
import shutil
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chokepoints.errors import InputError
from chokepoints.sources.table import read_table
from chokepoints.workspace import Workspace
from helpers import SMALL_ROWS, assert_one_sentence_error, run, snapshot, write_baci

BACI_OPTIONS = ("--revision", "HS17", "--release", "V202501")
TABLE_OPTIONS = (
    "--map",
    "exporter=i,importer=j,product=cmd,value_usd=value,year=t",
    "--classification",
    "HS17",
    "--source",
    "atlas",
)
#: A Comtrade Plus export trimmed to the columns the reader needs (it ignores the others).
COMTRADE_HEADER = (
    "typeCode,freqCode,refYear,reporterCode,reporterISO,flowCode,partnerCode,partnerISO,"
    "classificationCode,cmdCode,primaryValue,netWgt"
)
#: Thailand (764) imports from China (156), Japan (392), the USA (842), in HS17 (H5).
COMTRADE_ROWS = [
    "C,A,2021,764,THA,M,156,CHN,H5,854231,1500.5,10",
    "C,A,2021,764,THA,M,392,JPN,H5,854231,250,",
    "C,A,2021,764,THA,M,842,USA,H5,854239,75.25,3",
]
TABLE_HEADER = "t,i,j,cmd,value"
TABLE_ROWS = ["2022,CHN,JPN,850511,1000", "2022,DEU,FRA,280461,20.5", "2022,USA,KOR,854231,7"]
WGI_HEADER = (
    "codeindyr,code,countryname,year,indicator,estimate,stddev,nsource,pctrank,pctranklower,"
    "pctrankupper"
)
WGI_ROWS = [
    "DEUcc2022,DEU,Germany,2022,cc,1.8,0.2,5,50,40,60",
    "FRAva2022,FRA,France,2022,va,1.1,0.2,5,50,40,60",
]


@dataclass(frozen=True)
class Case:
    """A file of one source with one bad line: what to write, and what the sentence must say."""

    kind: str
    rows: list[str]
    field: str
    says: str
    #: How many lines before the last one the first bad line is.
    before_last: int = 0

    @property
    def line(self) -> int:
        """The first bad line (the header is line 1, the rows follow)."""
        return len(self.rows) + 1 - self.before_last

    def write(self, folder: Path) -> Path:
        """Write the header and rows under the kind's file name."""
        header, default = {
            "baci": ("t,i,j,k,v,q", "baci_hs17.csv"),
            "comtrade": (COMTRADE_HEADER, "TradeData.csv"),
            "table": (TABLE_HEADER, "slices.csv"),
            "wgi": (WGI_HEADER, "wgi.csv"),
        }[self.kind]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / default
        path.write_text("\n".join([header, *self.rows]) + "\n", encoding="utf-8")
        return path


def baci(*rows: str, field: str, says: str) -> Case:
    """A BACI case: the small HS17 year of the helpers, then ``rows``, the first of them bad."""
    return Case("baci", [*SMALL_ROWS, *rows], field, says, before_last=len(rows) - 1)


def comtrade(row: str, field: str, says: str) -> Case:
    """A Comtrade case: three good rows, then ``row``."""
    return Case("comtrade", [*COMTRADE_ROWS, row], field, says)


def table(row: str, field: str, says: str) -> Case:
    """A table case: three good rows, then ``row``."""
    return Case("table", [*TABLE_ROWS, row], field, says)


def wgi(row: str, field: str, says: str) -> Case:
    """A WGI case: two good rows, then ``row``."""
    return Case("wgi", [*WGI_ROWS, row], field, says)


CASES = {
    "baci-year-five-digits": baci(
        "20211,156,392,850760,1,1", field="t", says="year 20211 is outside 1948-"
    ),
    "baci-year-too-early": baci(
        "1900,156,392,850760,1,1", field="t", says="year 1900 is outside 1948-"
    ),
    "baci-k-heading": baci("2021,156,392,8507,1,1", field="k", says="'8507' has 4 digits"),
    "baci-k-chapter": baci("2021,156,392,85,1,1", field="k", says="'85' has 2 digits"),
    "baci-k-eight-digits": baci(
        "2021,156,392,85076010,1,1", field="k", says="'85076010' has 8 digits"
    ),
    "baci-k-seven-digits": baci("2021,156,392,8507601,1,1", field="k", says="code '8507601'"),
    "baci-k-three-digits": baci("2021,156,392,850,1,1", field="k", says="code '850'"),
    "baci-k-empty": baci("2021,156,392,,1,1", field="k", says="missing or unreadable product"),
    "baci-i-float": baci(
        "2021,12.0,392,850760,1,1", field="i", says="unknown exporter country code '?12.0'"
    ),
    "baci-j-float": baci(
        "2021,156,392.0,850760,1,1", field="j", says="unknown importer country code '?392.0'"
    ),
    "baci-i-fraction": baci("2021,156.7,392,850760,1,1", field="i", says="'?156.7'"),
    "baci-v-sum-overflows": baci(
        "2021,156,392,850760,1e305,1",
        "2021,156,251,850760,1e305,1",
        field="v",
        says="value 1e+308 USD is above",
    ),
    "baci-v-above-bound": baci(
        "2021,156,392,850760,2e12,1", field="v", says="value 2e+15 USD is above"
    ),
    "comtrade-year-five-digits": comtrade(
        "C,A,20211,764,THA,M,410,KOR,H5,854231,5,1", "refYear", "refYear 20211 is not a year"
    ),
    "comtrade-year-too-early": comtrade(
        "C,A,1947,764,THA,M,410,KOR,H5,854231,5,1", "refYear", "refYear 1947 is not a year"
    ),
    "comtrade-code-seven-digits": comtrade(
        "C,A,2021,764,THA,M,410,KOR,H5,8542310,5,1", "cmdCode", "'8542310' has 7 digits"
    ),
    "comtrade-partner-float": comtrade(
        "C,A,2021,764,THA,M,410.0,KOR,H5,854231,5,1", "partnerCode", "'410.0' is not a whole"
    ),
    "comtrade-value-above-bound": comtrade(
        "C,A,2021,764,THA,M,410,KOR,H5,854231,2e15,1", "primaryValue", "2e+15 USD is above"
    ),
    "comtrade-value-text": comtrade(
        "C,A,2021,764,THA,M,410,KOR,H5,854231,lots,1", "primaryValue", "'lots' is not a number"
    ),
    "table-year-five-digits": table("20211,USA,JPN,854231,7", "t", "'20211' is not a four-digit"),
    "table-year-too-early": table("1900,USA,JPN,854231,7", "t", "year 1900 is outside 1948-"),
    "table-code-seven-digits": table("2022,USA,JPN,8542310,7", "cmd", "code '8542310'"),
    "table-exporter-float": table("2022,12.0,JPN,854231,7", "i", "unknown exporter country code"),
    "table-value-above-bound": table("2022,USA,JPN,854231,1e16", "value", "1e+16 USD is above"),
    "wgi-year-too-early": wgi(
        "DEUva1900,DEU,Germany,1900,va,1.4,0.2,5,50,40,60", "year", "year '1900' is outside 1948-"
    ),
    "wgi-year-five-digits": wgi(
        "DEUva2022,DEU,Germany,20221,va,1.4,0.2,5,50,40,60", "year", "'20221' is not a year"
    ),
    "wgi-estimate-text": wgi(
        "DEUva2022,DEU,Germany,2022,va,high,0.2,5,50,40,60", "estimate", "'high' is not a number"
    ),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding a small BACI year and a WGI table, so that 'unchanged' means something."""
    folder = tmp_path_factory.mktemp("template")
    ws = Workspace.open(folder / "home")
    rows = [r.replace("2021,", "2020,", 1) for r in SMALL_ROWS]
    ws.ingest_baci(write_baci(folder, rows, name="BACI_HS17_Y2020_V202501.csv"))
    ws.ingest_wgi(Case("wgi", WGI_ROWS, "", "").write(folder))
    return ws.home


@pytest.fixture
def loaded(template: Path, tmp_path: Path) -> Path:
    """A copy of the template home for one test."""
    return Path(shutil.copytree(template, tmp_path / "home"))


def ingest(capsys: pytest.CaptureFixture[str], kind: str, path: Path, home: Path):
    """Run ``chokepoints data ingest KIND PATH`` with the options that kind of file needs."""
    options = {"baci": BACI_OPTIONS, "table": TABLE_OPTIONS}.get(kind, ())
    return run(capsys, "data", "ingest", kind, str(path), *options, "--home", str(home))


def test_the_good_rows_of_every_case_ingest(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    """Without their bad line, the files of the cases are accepted: the bad line is the cause."""
    good = {"baci": SMALL_ROWS, "comtrade": COMTRADE_ROWS, "table": TABLE_ROWS, "wgi": WGI_ROWS}
    for kind, rows in good.items():
        code, _, err = ingest(capsys, kind, Case(kind, rows, "", "").write(tmp_path / kind), home)
        assert code == 0, err


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_value_is_one_sentence_with_file_line_field(
    capsys: pytest.CaptureFixture[str], loaded: Path, tmp_path: Path, case: Case
) -> None:
    before = snapshot(loaded)
    path = case.write(tmp_path / "bad")

    code, out, err = ingest(capsys, case.kind, path, loaded)

    assert_one_sentence_error(code, err)
    assert f"{path.name}, line {case.line}: " in err
    assert f"(field {case.field})" in err or f"line {case.line}: {case.field} " in err, err
    assert case.says in err
    assert "Ingested" not in out
    assert snapshot(loaded) == before


def test_five_digit_baci_code_gets_its_leading_zero_back(home: Path, tmp_path: Path) -> None:
    """The one tolerated length: a 6-digit code written as a number (10121 for 010121)."""
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path, ["2021,392,842,10121,7.5,3", "2021,156,392,850511,1,"]))
    products = ws.sql("SELECT product, level FROM trade ORDER BY product").to_dict("records")
    assert products == [{"product": "010121", "level": 6}, {"product": "850511", "level": 6}]


def test_space_padded_baci_country_codes_are_read(home: Path, tmp_path: Path) -> None:
    """Padding is tolerated (tradalyze trims i and j too); only the written number counts."""
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path, ["2021, 156 ,392,850511,1,1", "2021,156,  251,850511,2,"]))
    pairs = ws.sql("SELECT exporter, importer FROM trade ORDER BY importer").values.tolist()
    assert pairs == [["CHN", "FRA"], ["CHN", "JPN"]]


def test_seven_digit_cn_code_gets_its_leading_zero_back(home: Path, tmp_path: Path) -> None:
    """CN codes have 8 digits, so under CN a 7-digit code did lose its zero."""
    path = tmp_path / "cn.csv"
    path.write_text("i,j,cmd,value\nDEU,FRA,1012100,5\n")
    ws = Workspace.open(home)
    ws.ingest_table(
        path,
        mapping={"exporter": "i", "importer": "j", "product": "cmd", "value_usd": "value"},
        year=2022,
        classification="CN2022",
        source="eurostat",
    )
    assert ws.sql("SELECT product, level FROM trade").to_dict("records") == [
        {"product": "01012100", "level": 8}
    ]


@pytest.mark.parametrize("source", ["baci", "comtrade", "demo", "wgi"])
def test_table_cannot_take_a_readers_source_name(
    capsys: pytest.CaptureFixture[str], loaded: Path, tmp_path: Path, source: str
) -> None:
    """A table named baci would replace BACI parts of its years (same source, year, slice)."""
    before = snapshot(loaded)
    path = Case("table", [r.replace("2022", "2020") for r in TABLE_ROWS], "", "").write(tmp_path)
    options = [*TABLE_OPTIONS[:-1], source]

    code, _, err = run(
        capsys, "data", "ingest", "table", str(path), *options, "--home", str(loaded)
    )

    assert_one_sentence_error(code, err)
    assert f"source name '{source}' is the one `chokepoints " in err
    assert f"e.g. my_{source}" in err
    assert snapshot(loaded) == before


@pytest.mark.parametrize("year", ["20211", "1947"])
def test_table_year_option_out_of_range(
    capsys: pytest.CaptureFixture[str], loaded: Path, tmp_path: Path, year: str
) -> None:
    before = snapshot(loaded)
    path = tmp_path / "t.csv"
    path.write_text("i,j,cmd,value\nDEU,FRA,850511,5\n")
    options = ("--map", "exporter=i,importer=j,product=cmd,value_usd=value", "--year", year)
    options += ("--classification", "HS17", "--source", "atlas")

    code, _, err = run(
        capsys, "data", "ingest", "table", str(path), *options, "--home", str(loaded)
    )

    assert_one_sentence_error(code, err)
    assert f"year {year} is not a" in err and "1948-" in err
    assert snapshot(loaded) == before


@pytest.mark.parametrize("year", [20211, 1947])
def test_table_year_argument_out_of_range(tmp_path: Path, year: int) -> None:
    path = tmp_path / "t.csv"
    path.write_text("i,j,cmd,value\nDEU,FRA,850511,5\n")
    mapping = {"exporter": "i", "importer": "j", "product": "cmd", "value_usd": "value"}
    with pytest.raises(InputError, match=rf"^year {year} is not a year of trade data \(1948-"):
        read_table(path, mapping=mapping, year=year, classification="HS17", source="atlas")


# -- a zip whose central directory leaves a member out ----------------------------------------
def drop_last_listing(data: bytes) -> bytes:
    """The zip with its central directory's last entry removed and the end record adjusted.

    The member's bytes stay where they were: zipfile still opens the archive and lists the
    other members, as a damaged directory that lost an entry would.
    """
    end = data.rindex(b"PK\x05\x06")
    (_, disk, cd_disk, on_disk, total, size, offset, comment) = struct.unpack(
        "<4s4H2LH", data[end : end + 22]
    )
    directory = data[offset : offset + size]
    last = directory.rindex(b"PK\x01\x02")
    record = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", disk, cd_disk, on_disk - 1, total - 1, last, offset, comment
    )
    return data[:offset] + directory[:last] + record + data[end + 22 :]


def test_zip_with_a_member_missing_from_its_directory_is_refused(
    capsys: pytest.CaptureFixture[str], loaded: Path, tmp_path: Path
) -> None:
    member = write_baci(tmp_path / "m", SMALL_ROWS)
    archive = tmp_path / "BACI_HS17_V202501.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(member, member.name)
        bundle.writestr("product_codes_HS17_V202501.csv", "code,description\n850511,Magnets\n")
    archive.write_bytes(drop_last_listing(archive.read_bytes()))
    with zipfile.ZipFile(archive) as bundle:  # the damage the test means: a silent omission
        assert bundle.namelist() == [member.name]
    before = snapshot(loaded)

    code, _, err = run(capsys, "data", "ingest", "baci", str(archive), "--home", str(loaded))

    assert_one_sentence_error(code, err)
    assert f"{archive.name}: the archive is truncated or damaged" in err
    assert "bytes before the central directory are not listed" in err
    assert snapshot(loaded) == before


# -- hypothesis: generated BACI and Comtrade texts ----------------------------------------------
#: BACI codes of countries (exporter and importer are drawn apart) and HS17 codes.
BACI_COUNTRIES = [156, 251, 276, 392, 410, 490, 842]
HS17_CODES = ["010121", "280461", "850511", "854231", "854239", "870380"]
#: Comtrade partners (M49 code, ISO3) of Thailand's imports.
PARTNERS = [(156, "CHN"), (392, "JPN"), (842, "USA"), (276, "DEU"), (410, "KOR")]

#: Values as they are written: up to three decimals, never negative, at most 10^9.
amounts = st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False).map(str)
quantities = st.one_of(st.just("NA"), st.just(""), st.just("  NA"), amounts)
baci_rows = st.lists(
    st.tuples(
        st.sampled_from(BACI_COUNTRIES),
        st.sampled_from(BACI_COUNTRIES),
        st.sampled_from(HS17_CODES),
        amounts,
        quantities,
    ).filter(lambda row: row[0] != row[1]),
    min_size=1,
    max_size=30,
    unique_by=lambda row: row[:3],
)
comtrade_rows = st.lists(
    st.tuples(st.sampled_from(PARTNERS), st.sampled_from(HS17_CODES), amounts),
    min_size=1,
    max_size=30,
    unique_by=lambda row: (row[0], row[1]),
)
years = st.integers(min_value=1995, max_value=2024)
FAST = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def baci_text(year: int, rows: list[tuple]) -> list[str]:
    """The lines of a BACI file (header first) for generated rows."""
    return ["t,i,j,k,v,q", *(f"{year},{i},{j},{k},{v},{q}" for i, j, k, v, q in rows)]


def comtrade_text(year: int, rows: list[tuple]) -> list[str]:
    """The lines of a trimmed Comtrade export (header first) of Thai imports."""
    body = (f"C,A,{year},764,THA,M,{code},{iso},H5,{cmd},{v},1" for (code, iso), cmd, v in rows)
    return [COMTRADE_HEADER, *body]


def fresh(factory: pytest.TempPathFactory) -> tuple[Workspace, Path]:
    """A new workspace and a folder for its input, both unique to one example."""
    folder = factory.mktemp("example")
    return Workspace.open(folder / "home"), folder


def written(folder: Path, name: str, lines: list[str], *, newline: bool = True) -> Path:
    """Write ``lines`` (with or without the final newline) and return the path."""
    path = folder / name
    path.write_text("\n".join(lines) + ("\n" if newline else ""), encoding="utf-8")
    return path


@FAST
@given(year=years, rows=baci_rows)
def test_generated_baci_ingests_exactly_what_was_written(
    tmp_path_factory: pytest.TempPathFactory, year: int, rows: list[tuple]
) -> None:
    ws, folder = fresh(tmp_path_factory)
    path = written(folder, "baci_hs17.csv", baci_text(year, rows))

    record = ws.ingest_baci(path, revision="HS17", release="V202501")

    assert record["rows"] == len(rows)
    assert record["years"] == [year]
    assert math.isclose(record["value_usd"], sum(float(r[3]) for r in rows) * 1000, rel_tol=1e-12)


@FAST
@given(year=years, rows=comtrade_rows)
def test_generated_comtrade_ingests_exactly_what_was_written(
    tmp_path_factory: pytest.TempPathFactory, year: int, rows: list[tuple]
) -> None:
    ws, folder = fresh(tmp_path_factory)
    path = written(folder, "TradeData.csv", comtrade_text(year, rows))

    record = ws.ingest_comtrade(path)

    assert record["rows"] == len(rows)
    assert record["years"] == [year]
    assert math.isclose(record["value_usd"], sum(float(r[2]) for r in rows), rel_tol=1e-12)


def _replace_field(line: str, index: int, value: str) -> str:
    """``line`` with its comma-separated field ``index`` replaced by ``value``."""
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


#: Mutations of one data line, by source: the field index and the value written there. The
#: missing field drops the line's last field; the unterminated case cuts the final newline.
MUTATIONS = {
    "baci": {
        "non-numeric value": (4, "12x"),
        "bad year": (0, "20211"),
        "bad code length": (3, "8542"),
    },
    "comtrade": {
        "non-numeric value": (10, "12x"),
        "bad year": (2, "20211"),
        "bad code length": (9, "8542310"),
    },
}
KINDS = [
    "non-numeric value",
    "missing field",
    "bad year",
    "bad code length",
    "unterminated last line",
]


def mutate(lines: list[str], index: int, source: str, mutation: str) -> list[str]:
    """The file's lines with data line ``index`` broken by ``mutation``."""
    line = lines[index]
    if mutation == "missing field":
        line = line.rsplit(",", 1)[0]
    else:
        line = _replace_field(line, *MUTATIONS[source][mutation])
    return [*lines[:index], line, *lines[index + 1 :]]


def broken(
    lines: list[str], source: str, mutation: str, draw: st.DataObject
) -> tuple[list[str], int, bool]:
    """(lines, first bad line, final newline?) of a file broken by ``mutation``."""
    if mutation == "unterminated last line":
        return lines, len(lines), False
    bad = draw.draw(st.integers(min_value=2, max_value=len(lines)), "line")
    return mutate(lines, bad - 1, source, mutation), bad, True


def refuse(
    ingest: Callable[[Path], object], path: Path, before: dict[str, str], home: Path
) -> InputError:
    """Ingest ``path`` expecting an InputError of one line, with the store unchanged."""
    with pytest.raises(InputError) as caught:
        ingest(path)
    assert "\n" not in str(caught.value)
    assert snapshot(home) == before
    return caught.value


@FAST
@given(
    year=years,
    rows=baci_rows,
    mutation=st.sampled_from(KINDS),
    data=st.data(),
)
def test_mutated_baci_is_refused_at_the_right_line(
    tmp_path_factory: pytest.TempPathFactory,
    year: int,
    rows: list[tuple],
    mutation: str,
    data: st.DataObject,
) -> None:
    ws, folder = fresh(tmp_path_factory)
    lines, bad, newline = broken(baci_text(year, rows), "baci", mutation, data)
    path = written(folder, "baci_hs17.csv", lines, newline=newline)

    error = refuse(
        lambda p: ws.ingest_baci(p, revision="HS17", release="V202501"), path, {}, ws.home
    )

    assert (error.file, error.line) == (path.name, bad), str(error)


@FAST
@given(
    year=years,
    rows=comtrade_rows,
    mutation=st.sampled_from(KINDS),
    data=st.data(),
)
def test_mutated_comtrade_is_refused_at_the_right_line(
    tmp_path_factory: pytest.TempPathFactory,
    year: int,
    rows: list[tuple],
    mutation: str,
    data: st.DataObject,
) -> None:
    ws, folder = fresh(tmp_path_factory)
    lines, bad, newline = broken(comtrade_text(year, rows), "comtrade", mutation, data)
    path = written(folder, "TradeData.csv", lines, newline=newline)

    error = refuse(ws.ingest_comtrade, path, {}, ws.home)

    assert (error.file, error.line) == (path.name, bad), str(error)


def test_latin1_byte_in_a_baci_file_is_named_on_its_real_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Line 1 is the header; the Latin-1 'é' (0xe9) sits on line 2501, past DuckDB's sample.
    rows = ["t,i,j,k,v,q", *(f"2021,156,392,850511,{n}.5,1" for n in range(1, 3000))]
    rows[2500] = "2021,156,392,850511,12\xe9,1"
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "BACI_HS17_Y2021_V202501.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    home = tmp_path / "home"
    Workspace.open(home).ingest_baci(write_baci(tmp_path / "ok", SMALL_ROWS))
    before = snapshot(home)
    code, _, err = run(capsys, "data", "ingest", "baci", str(path), "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "BACI_HS17_Y2021_V202501.csv, line 2501: byte 0xe9 is not UTF-8 text" in err
    assert snapshot(home) == before
