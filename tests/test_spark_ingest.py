"""BACI ingested with Spark gives the store that DuckDB gives: manifests, rows, files, errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from chokepoints.config import EngineSettings
from chokepoints.errors import ChokepointsError, InputError
from chokepoints.sources.baci import read_baci_files
from chokepoints.sources.baci_spark import EXTRACT_FOLDER, ingest_baci_spark, spark_writer
from chokepoints.store import Store
from chokepoints.workspace import Workspace
from helpers import SMALL_ROWS, require_spark, run, snapshot, write_baci

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

ALGERIA = "baci/V202301_Anesouadou"
#: Splits of 64 KiB: Spark reads each test file in several tasks and writes several files, as it
#: does a BACI year in 128 MiB splits, so the rows' order and the files' bytes are put to the test.
SPLITS = {"spark.sql.files.maxPartitionBytes": "65536"}


@pytest.fixture(scope="module")
def spark() -> EngineSettings:
    """Engine settings that use this worker's local Spark (see conftest), with small splits."""
    require_spark("Spark ingest tests")
    return EngineSettings(backend="pyspark", spark_conf=SPLITS)


# -- comparing two stores ---------------------------------------------------------------------
def assert_same_store(duck: Path, spark: Path) -> None:
    """The two homes hold the same ingest: manifest records, part records and part files."""
    by_duck, by_spark = Store(duck).manifest(), Store(spark).manifest()
    (ingest_duck,), (ingest_spark,) = by_duck["ingests"], by_spark["ingests"]
    for key in ("source", "release", "classifications", "years", "files", "rows", "value_usd"):
        assert ingest_duck[key] == ingest_spark[key], key
    for key in ("notes", "tables", "replaced", "demo"):
        assert ingest_duck[key] == ingest_spark[key], key
    assert _parts(by_duck) == _parts(by_spark)
    # Independent of the store's code: every row of every trade file, sorted.
    assert _rows(duck) == _rows(spark)
    # Files of one row group (up to 122,880 rows, as here) are the same bytes: same schema,
    # metadata, rows and order. In larger files DuckDB cuts row groups where its input's
    # batches end, which differ between a CSV and Spark's Parquet (benchmarks/ingest.py).
    assert _digests(duck) == _digests(spark)


def _parts(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Part records without what names the ingest (its id, in the path too)."""
    return [
        {k: v for k, v in part.items() if k not in ("path", "ingest")} for part in manifest["parts"]
    ]


def _rows(home: Path) -> list[tuple[Any, ...]]:
    files = sorted((home / "trade").rglob("*.parquet"))
    listing = ", ".join(f"'{f}'" for f in files)
    return duckdb.sql(f"SELECT * FROM read_parquet([{listing}]) ORDER BY ALL").fetchall()


def _digests(home: Path) -> dict[str, str]:
    """sha256 of each data file, keyed by its folder (the partition) and table."""
    return {
        path.parent.relative_to(home).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(home.rglob("*.parquet"))
    }


# -- archives ---------------------------------------------------------------------------------
def algeria_archive(shared_data: Path, folder: Path) -> Path:
    """The real Algeria imports of 2021 packed as an official BACI HS92 V202301 archive."""
    source = shared_data / ALGERIA
    archive = folder / "BACI_HS92_V202301.zip"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(source / "Algeria_import_transaction.csv", "BACI_HS92_Y2021_V202301.csv")
        bundle.write(source / "country_codes_V202301.csv", "country_codes_V202301.csv")
        bundle.write(source / "product_codes_HS92_V202301.csv", "product_codes_HS92_V202301.csv")
    return archive


#: 2022 in another layout: pandas' index column, quoted codes, Taiwan (490) exporting.
ROWS_2022 = [
    "0,2022,156,392,850511,2000,20",
    '1,2022,"156","842","854231",10,1',
    "2,2022,490,156,854231,300.5,NA",
]


def synthetic_archive(folder: Path) -> Path:
    """A BACI HS17 archive of 2021 and 2022 with the format's quirks: q as NA, blank or padded,
    k without its leading zero, v padded, India as 699, Taiwan as 490 (N/A in the country file
    of V202301's layout)."""
    y2021 = write_baci(folder / "in", [*SMALL_ROWS, "2021,699,842,280469,  12.125,           NA"])
    y2022 = write_baci(
        folder / "in", ROWS_2022, name="BACI_HS17_Y2022_V202501.csv", header=",t,i,j,k,v,q"
    )
    archive = folder / "BACI_HS17_V202501.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(y2021, y2021.name)
        bundle.write(y2022, y2022.name)
        bundle.writestr(
            "country_codes_V202501.csv",
            '"country_code","country_name_abbreviation","country_name_full",'
            '"iso_2digit_alpha","iso_3digit_alpha"\n'
            '"490","Other Asia, nes","Other Asia, not elsewhere specified","N/A","N/A"\n',
        )
        bundle.writestr(
            "product_codes_HS17_V202501.csv",
            'code,description\n"850511","Permanent magnets of metal"\n'
            '"854231","Processors and controllers"\n"010121","Horses"\n'
            '"280469","Silicon"\n',
        )
    return archive


# -- the same store from both engines -----------------------------------------------------------
def test_real_archive_by_cli_then_deps_on_duckdb(
    spark: EngineSettings,
    shared_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    archive = algeria_archive(shared_data, tmp_path / "archive")
    by_spark = tmp_path / "spark"
    code, out, err = run(
        capsys,
        "--backend",
        "spark",
        "data",
        "ingest",
        "baci",
        str(archive),
        "--home",
        str(by_spark),
    )
    assert code == 0, err
    assert "Ingested baci V202301: HS92 2021, 31,396 flows" in out
    Workspace.open(tmp_path / "duck").ingest_baci(archive)
    assert_same_store(tmp_path / "duck", by_spark)
    # Awk on the raw file (tr -d '\r'): 31396 rows, sum(v) = 34286908.188 kUSD.
    record = Store(by_spark).manifest()["ingests"][0]
    assert record["rows"] == 31396
    assert record["value_usd"] == pytest.approx(34_286_908.188 * 1000, rel=1e-12)
    assert not any((by_spark / EXTRACT_FOLDER).rglob("*")), "the extracted members are removed"

    # The file holds Algeria's imports only, so world-level figures are partial.
    deps = ["deps", "DZA", "--allow-partial", "--home", str(by_spark)]
    code, out, err = run(capsys, *deps, "--format", "json")
    assert code == 0, err
    maize = next(row for row in json.loads(out) if row["product"] == "100590")
    # awk -F, '$5==100590 {s+=$6; n++; if ($6>m) {m=$6; t=$3}}': 792582.054 kUSD from 9
    # suppliers, the largest Argentina (32) with 547246.112.
    assert maize["import_value_usd"] == pytest.approx(792_582_054.0)
    assert maize["n_suppliers"] == 9
    assert maize["top_supplier"] == "ARG"
    assert maize["top_supplier_share"] == pytest.approx(547_246.112 / 792_582.054, rel=1e-9)
    code, out, _ = run(capsys, *deps, "--limit", "1")
    assert code == 0 and "engine: duckdb" in out


def test_synthetic_archive_of_two_years(spark: EngineSettings, tmp_path: Path) -> None:
    archive = synthetic_archive(tmp_path)
    steps: list[tuple[str, int, int]] = []
    record = ingest_baci_spark(
        Store(tmp_path / "spark"), archive, spark, progress=lambda *step: steps.append(step)
    )
    Workspace.open(tmp_path / "duck").ingest_baci(archive)
    assert_same_store(tmp_path / "duck", tmp_path / "spark")
    # By hand: 2021 sums 1000.5 + 200 + 3000.25 + 50 + 7.5 + 12.125 kUSD, 2022 2000 + 10 + 300.5.
    assert record["years"] == [2021, 2022] and record["rows"] == 9
    assert record["value_usd"] == pytest.approx((4270.375 + 2310.5) * 1000, rel=1e-12)
    assert ("converting 2 file(s) with Spark", 0, 2) in steps
    assert ("converted with Spark", 2, 2) in steps
    taiwan = duckdb.sql(
        f"SELECT sum(value_usd) FROM read_parquet('{tmp_path}/spark/trade/**/*.parquet') "
        "WHERE exporter = 'TWN'"
    ).fetchall()[0][0]
    assert taiwan == pytest.approx((3000.25 + 300.5) * 1000)


def test_spark_converts_the_real_file_itself_in_file_order(
    spark: EngineSettings, shared_data: Path, tmp_path: Path
) -> None:
    """Spark, not the DuckDB fallback, converts a real file: no line is left to DuckDB, and
    the rows are those DuckDB reads, in the same order, from the files of several tasks."""
    source = shared_data / ALGERIA / "Algeria_export_transaction.csv"  # 300 kB: 5 splits
    extract, files = read_baci_files(source, revision="HS92", release="V202301")
    from chokepoints.engine import spark_session

    write = spark_writer(spark_session(None, spark.spark_conf), files)
    (build,) = write(extract, tmp_path / "converted", lambda *_: None)
    written = sorted((tmp_path / "converted" / "0").glob("*.parquet"))
    assert len(written) > 1
    con = duckdb.connect()
    flags = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE _header), count(*) FILTER (WHERE _rejected) "
        f"FROM read_parquet({[str(f) for f in written]})"
    ).fetchall()[0]
    assert flags == (6480 + 1, 1, 0)
    con.execute("SET preserve_insertion_order = true")
    assert build(con).fetchall() == extract.trade[0].build(con).fetchall()


def test_lines_spark_may_read_otherwise_go_to_duckdb(spark: EngineSettings, tmp_path: Path) -> None:
    """Numbers DuckDB reads but Spark may not read alike (1e3, .5) leave the file to DuckDB,
    which stores what the DuckDB path stores."""
    rows = [*SMALL_ROWS[:3], "2021,842,156,854231,1e3,  .5"]
    path = write_baci(tmp_path / "in", rows)
    extract, files = read_baci_files(path)
    from chokepoints.engine import spark_session

    write = spark_writer(spark_session(None, spark.spark_conf), files)
    write(extract, tmp_path / "converted", lambda *_: None)
    rejected = duckdb.sql(
        f"SELECT count(*) FILTER (WHERE _rejected) FROM '{tmp_path}/converted/0/*.parquet'"
    ).fetchall()[0][0]
    assert rejected == 1
    ingest_baci_spark(Store(tmp_path / "spark"), path, spark)
    Workspace.open(tmp_path / "duck").ingest_baci(path)
    assert_same_store(tmp_path / "duck", tmp_path / "spark")
    quantity = duckdb.sql(
        f"SELECT value_usd, quantity_t FROM read_parquet('{tmp_path}/spark/trade/**/*.parquet') "
        "WHERE exporter = 'USA'"
    ).fetchall()
    assert quantity == [(1_000_000.0, 0.5)]


# -- errors -----------------------------------------------------------------------------------
def _bad_bytes(folder: Path) -> Path:
    """A BACI file of 1,000 flows with a byte that is not UTF-8 on line 902, past what the
    header check reads."""
    rows = [f"2021,156,392,{100000 + n},1,1" for n in range(1000)]
    rows[900] = rows[900].replace(",1,1", ",1,\xff")
    path = write_baci(folder, rows)
    path.write_bytes(path.read_bytes().replace("\xff".encode(), b"\xff"))
    return path


#: name: (writes the bad file in a folder, words the error must hold)
BAD_FILES = {
    "header without q": (
        lambda d: write_baci(d, [r.rsplit(",", 1)[0] for r in SMALL_ROWS], header="t,i,j,k,v"),
        "missing column(s) q",
    ),
    "a year other than the file name's": (
        lambda d: write_baci(d, [*SMALL_ROWS, "2022,156,392,854231,1,1"]),
        "1 row(s) of year 2022 in a file named for 2021",
    ),
    "a row of seven fields": (
        lambda d: write_baci(d, [SMALL_ROWS[0], SMALL_ROWS[1] + ",9", *SMALL_ROWS[2:]]),
        "line 3: 7 fields where the header has 6",
    ),
    "a line of spaces": (
        lambda d: write_baci(d, [*SMALL_ROWS[:2], "   ", *SMALL_ROWS[2:]]),
        "line 4: 1 fields where the header has 6",
    ),
    "a value that is not a number": (
        lambda d: write_baci(d, [*SMALL_ROWS[:3], "2021,842,156,854231,abc,1"]),
        "line 5: 'abc' is not a number (field v)",
    ),
    "a quoted empty code": (
        lambda d: write_baci(d, [*SMALL_ROWS, '2021,"",392,854231,1,1']),
        "line 7: missing or unreadable exporter in 1 row(s) (field i)",
    ),
    "an unknown country code": (
        lambda d: write_baci(d, [*SMALL_ROWS, "2021,999,392,854231,1,1"]),
        "unknown exporter country code '?999' in 1 row(s)",
    ),
    "a byte that is not UTF-8": (_bad_bytes, "line 902: byte 0xff is not UTF-8 text"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_same_sentence_and_store_unchanged(
    spark: EngineSettings, tmp_path: Path, case: str
) -> None:
    write, words = BAD_FILES[case]
    path = write(tmp_path / "in")
    with pytest.raises(InputError) as by_duckdb:
        Workspace.open(tmp_path / "duck").ingest_baci(path)
    home = tmp_path / "spark"
    Workspace.open(home).ingest_baci(write_baci(tmp_path / "good", SMALL_ROWS))
    before = snapshot(home)
    with pytest.raises(InputError) as by_spark:
        ingest_baci_spark(Store(home), path, spark)
    assert str(by_spark.value) == str(by_duckdb.value)
    assert words in str(by_spark.value)
    assert snapshot(home) == before


def test_store_url_is_refused_before_anything_runs(tmp_path: Path) -> None:
    settings = EngineSettings(backend="pyspark", spark_store_url="hdfs://namenode:8020/cp")
    path = write_baci(tmp_path / "in", SMALL_ROWS)
    with pytest.raises(ChokepointsError, match="ingest with --backend duckdb"):
        ingest_baci_spark(Store(tmp_path / "home"), path, settings)
    assert not (tmp_path / "home").exists()


def test_archive_members_are_extracted_beside_the_store(tmp_path: Path) -> None:
    archive = synthetic_archive(tmp_path)
    extract, files = read_baci_files(archive, workdir=tmp_path / "home" / EXTRACT_FOLDER)
    assert all(f.path.is_relative_to(tmp_path / "home" / EXTRACT_FOLDER) for f in files)
    assert [f.header for f in files] == [list("tijkvq"), ["_index", *"tijkvq"]]
    assert extract.cleanup is not None
    extract.cleanup()
    assert not any((tmp_path / "home" / EXTRACT_FOLDER).iterdir())
    shutil.rmtree(tmp_path / "home")
