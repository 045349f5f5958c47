"""Benchmark: ingesting one BACI-format year, against pandas and a hand-written DuckDB COPY.

Generates a BACI-layout yearly CSV of N rows (default 11 million, the size of one real BACI
year: numeric country codes, HS6 codes partly without their leading zero, values in kUSD,
quantities space-padded with some ``NA`` and blanks), then times in separate processes:

* ``chokepoints``: ``Workspace.ingest_baci`` into a fresh store (validation and commit included);
* ``duckdb_copy``: one ``COPY (SELECT ... FROM read_csv(...)) TO '...parquet'`` with the same
  conversions and the same typed CSV parsing, but no validation (the practical limit);
* ``pandas``: ``read_csv`` + conversions + ``to_parquet``, what analysts do today.

Prints rows/s, the ratios to the DuckDB COPY, and each process's peak RSS (medians over
``--repeat`` interleaved rounds, since a 2-core machine's timings wander by a few percent).

With ``--engines``, it instead writes a multi-year BACI archive (``--years`` yearly files of
``--rows`` flows from ``synthetic.generate_panel``, zipped as ``BACI_HS92_V202501.zip``) and
ingests it in separate processes on each engine: ``duckdb`` (``Workspace.ingest_baci``) and
``spark`` (``--backend spark``: ``ingest_baci_spark`` on ``--spark-master``). It prints the rows/s
of each, the ratio, the seconds Spark took to start (counted in its total), and the peak RSS of
each process (for Spark, of the Python driver and of its JVM). It checks that both stores' part
files hold the same rows in the same order, schema and metadata, and says how many are also the
same bytes (DuckDB cuts row groups where its input's batches end, which differ between a CSV
and Spark's Parquet, so files of more than one row group may not be).

    python benchmarks/ingest.py [--rows 11000000] [--repeat 3] [--keep]
    python benchmarks/ingest.py --engines [--years 3] [--rows 2000000] [--spark-master local[*]]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import duckdb
from harness import run_child
from synthetic import generate_panel, panel_years

BACI_CODES = [
    4,
    8,
    12,
    24,
    32,
    36,
    40,
    50,
    56,
    76,
    100,
    116,
    124,
    152,
    156,
    170,
    188,
    191,
    203,
    208,
    218,
    231,
    246,
    251,
    276,
    288,
    300,
    344,
    348,
    360,
    364,
    368,
    372,
    376,
    381,
    392,
    398,
    404,
    410,
    414,
    458,
    484,
    490,
    504,
    528,
    554,
    566,
    579,
    586,
    604,
    608,
    616,
    620,
    634,
    642,
    643,
    682,
    699,
    702,
    703,
    704,
    705,
    710,
    724,
    752,
    757,
    764,
    784,
    792,
    804,
    818,
    826,
    842,
    858,
    862,
]


def generate(path: Path, rows: int) -> None:
    """Write a BACI-format CSV of ``rows`` random flows with DuckDB (deterministic seed)."""
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    codes = ", ".join(map(str, BACI_CODES))
    if rows > 5000 * len(BACI_CODES) * (len(BACI_CODES) - 1):
        raise SystemExit("too many rows for distinct (exporter, importer, product) flows")
    con.execute(
        f"""
        COPY (
          WITH n AS (SELECT range AS r, range // 5000 AS pair FROM range({rows})),
          p AS (SELECT r, pair // {len(BACI_CODES) - 1} AS e,
                       pair % {len(BACI_CODES) - 1} AS m FROM n)
          SELECT 2021 AS t,
                 list_element([{codes}], 1 + e::INTEGER) AS i,
                 list_element([{codes}], 1 + (CASE WHEN m < e THEN m ELSE m + 1 END)::INTEGER)
                     AS j,
                 CAST(10000 + (r % 5000) * 17 AS VARCHAR) AS k,
                 printf('%.3f', 0.001 + random() * 5000) AS v,
                 CASE WHEN r % 50 = 0 THEN '           NA'
                      WHEN r % 97 = 0 THEN ''
                      ELSE lpad(printf('%.3f', random() * 900), 15, ' ') END AS q
          FROM p
        ) TO '{path}' (HEADER, DELIMITER ',', QUOTE '')
        """
    )
    con.close()


def run_chokepoints(csv: Path, out: Path) -> int:
    """Ingest with chokepoints into a fresh home; return the rows committed."""
    from chokepoints.workspace import Workspace

    return Workspace.open(out).ingest_baci(csv, revision="HS17", release="V202501")["rows"]


def run_duckdb_copy(csv: Path, out: Path) -> int:
    """The same conversions in one hand-written DuckDB COPY to Parquet."""
    from chokepoints.reference.countries import baci_numeric_map

    con = duckdb.connect()
    con.execute("CREATE TABLE codes (code INTEGER, iso3 VARCHAR)")
    con.executemany("INSERT INTO codes VALUES (?, ?)", list(baci_numeric_map().items()))
    out.mkdir(parents=True)
    columns = "{'t': 'SMALLINT', 'i': 'INTEGER', 'j': 'INTEGER', 'k': 'VARCHAR', 'v': 'DOUBLE', "
    columns += "'q': 'VARCHAR'}"
    con.execute(
        f"""
        COPY (
          SELECT r.t AS year, e.iso3 AS exporter, m.iso3 AS importer,
                 lpad(trim(r.k), 6, '0') AS product, 'HS17' AS classification,
                 CAST(6 AS TINYINT) AS level, r.v * 1000 AS value_usd,
                 TRY_CAST(NULLIF(NULLIF(trim(r.q), ''), 'NA') AS DOUBLE) AS quantity_t,
                 'baci' AS source, 'V202501' AS release, 'reconciled' AS reporter_side
          FROM read_csv('{csv}', header = true, columns = {columns}) AS r
          LEFT JOIN codes e ON e.code = r.i
          LEFT JOIN codes m ON m.code = r.j
        ) TO '{out / "trade.parquet"}' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    return con.execute(f"SELECT count(*) FROM '{out / 'trade.parquet'}'").fetchall()[0][0]


def run_pandas(csv: Path, out: Path) -> int:
    """What analysts do today: pandas read_csv with text codes, convert, to_parquet."""
    import pandas as pd

    from chokepoints.reference.countries import baci_numeric_map

    frame = pd.read_csv(
        csv,
        dtype={"t": "int16", "i": "int32", "j": "int32", "k": str, "q": str},
        keep_default_na=False,
    )
    codes = baci_numeric_map()
    result = pd.DataFrame(
        {
            "year": frame["t"],
            "exporter": frame["i"].map(codes),
            "importer": frame["j"].map(codes),
            "product": frame["k"].str.strip().str.zfill(6),
            "classification": "HS17",
            "level": 6,
            "value_usd": frame["v"] * 1000,
            "quantity_t": pd.to_numeric(frame["q"].str.strip().replace({"NA": None, "": None})),
            "source": "baci",
            "release": "V202501",
            "reporter_side": "reconciled",
        }
    )
    out.mkdir(parents=True)
    result.to_parquet(out / "trade.parquet", compression="zstd", index=False)
    return len(result)


METHODS = {"chokepoints": run_chokepoints, "duckdb_copy": run_duckdb_copy, "pandas": run_pandas}


# -- the same archive on both engines ---------------------------------------------------------
def write_archive(folder: Path, rows: int, years: int) -> Path:
    """``years`` synthetic BACI yearly files of ``rows`` flows, zipped as an official archive."""
    files = generate_panel(folder / "csv", rows, panel_years(years))
    archive = folder / "BACI_HS92_V202501.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for path in files:
            bundle.write(path, path.name)
    shutil.rmtree(folder / "csv")
    return archive


def ingest_on_duckdb(archive: Path, out: Path, _master: str) -> dict[str, float]:
    """``chokepoints data ingest baci ARCHIVE``."""
    from chokepoints.workspace import Workspace

    return {"rows": Workspace.open(out).ingest_baci(archive)["rows"]}


def ingest_on_spark(archive: Path, out: Path, master: str) -> dict[str, float]:
    """``chokepoints --backend spark data ingest baci ARCHIVE``, Spark's start timed apart."""
    from chokepoints.config import EngineSettings
    from chokepoints.engine import spark_session
    from chokepoints.sources.baci_spark import ingest_baci_spark
    from chokepoints.store import Store

    started = time.perf_counter()
    session = spark_session(master)
    start = time.perf_counter() - started
    moments: dict[str, float] = {}

    def progress(what: str, _done: int, _total: int) -> None:
        moments[what.split()[0]] = time.perf_counter()  # the last of each kind of step

    settings = EngineSettings(backend="pyspark")
    record = ingest_baci_spark(Store(out), archive, settings, progress=progress)
    return {
        "rows": record["rows"],
        "spark_start": start,
        "spark_convert": moments["converted"] - started - start,
        "jvm_peak_rss_mib": peak_rss_of(session.sparkContext._gateway.proc.pid),
    }


def peak_rss_of(pid: int) -> float:
    """Peak RSS (MiB) of a running process of ours (``VmHWM``), e.g. Spark's JVM."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


ENGINES = {"duckdb": ingest_on_duckdb, "spark": ingest_on_spark}


def compare_engines(args: argparse.Namespace, workdir: Path) -> None:
    """Ingest the same archive on DuckDB and on Spark, ``--repeat`` interleaved rounds; print
    the medians and check that the two stores hold the same part files."""
    started = time.perf_counter()
    command = [sys.executable, __file__, "--archive-into", str(workdir)]
    subprocess.run([*command, "--rows", str(args.rows), "--years", str(args.years)], check=True)
    archive = workdir / "BACI_HS92_V202501.zip"
    size = archive.stat().st_size / 2**20
    print(
        f"generated {args.years} years of {args.rows:,} flows ({size:,.0f} MiB zipped) in "
        f"{time.perf_counter() - started:.1f} s on {os.cpu_count()} cores"
    )
    rounds = []
    for _ in range(args.repeat):
        figures = {}
        for engine in ENGINES:
            out = workdir / f"out-{engine}"
            shutil.rmtree(out, ignore_errors=True)
            command = ["--child", engine, "--csv", str(archive), "--out", str(out)]
            figures[engine] = run_child(__file__, [*command, "--spark-master", args.spark_master])
        rounds.append(figures)
    duck, spark = (workdir / f"out-{engine}" for engine in ENGINES)
    same = _part_contents(duck) == _part_contents(spark)
    print(f"same rows in the same order, schema and metadata: {'yes' if same else 'NO'}")
    by_duck, by_spark = _part_digests(duck), _part_digests(spark)
    alike = sum(by_duck[key] == by_spark.get(key) for key in by_duck)
    print(f"part files with the same bytes: {alike} of {len(by_duck)}")
    results = {
        e: {k: statistics.median(r[e][k] for r in rounds) for k in rounds[0][e]} for e in ENGINES
    }
    rows = args.rows * args.years
    print(f"medians of {args.repeat} rounds, {rows:,} rows; Spark on {args.spark_master}")
    print(f"{'engine':<8} {'seconds':>8} {'rows/s':>12} {'peak RSS MiB':>24}")
    for engine, result in results.items():
        assert result["rows"] == rows, (engine, result["rows"])
        rss = f"{result['peak_rss_mib']:,.0f}"
        if "jvm_peak_rss_mib" in result:
            rss = f"{rss} + JVM {result['jvm_peak_rss_mib']:,.0f}"
        print(f"{engine:<8} {result['seconds']:>8.2f} {rows / result['seconds']:>12,.0f} {rss:>24}")
    spark, duck = results["spark"], results["duckdb"]
    print(f"spark / duckdb: {spark['seconds'] / duck['seconds']:.2f}x the time")
    print(
        f"of which Spark's start: {spark['spark_start']:.1f} s; without it "
        f"{(spark['seconds'] - spark['spark_start']) / duck['seconds']:.2f}x"
    )
    rest = spark["seconds"] - spark["spark_start"] - spark["spark_convert"]
    print(
        f"extracting the archive and Spark's conversion: {spark['spark_convert']:.1f} s; then "
        f"DuckDB's checks, part files and commit: {rest:.1f} s"
    )


def _part_contents(home: Path) -> dict[str, tuple[Any, ...]]:
    """Per part file of a store, by its folder: its rows (count, and a hash of each row with its
    place in the file), its schema and its key-value metadata."""
    import pyarrow.parquet as pq

    con = duckdb.connect()
    contents = {}
    for path in sorted(home.rglob("*.parquet")):
        footer = pq.read_metadata(path)
        columns = ", ".join(f'"{name}"' for name in footer.schema.names)
        rows = con.execute(
            f"SELECT count(*), sum(hash(file_row_number, {columns})) "
            f"FROM read_parquet('{path}', file_row_number = true)"
        ).fetchall()[0]
        key = path.parent.relative_to(home).as_posix()
        contents[key] = (rows, footer.schema.to_arrow_schema(), footer.metadata)
    return contents


def _part_digests(home: Path) -> dict[str, str]:
    """sha256 of each part file of a store, by its folder."""
    import hashlib

    return {
        p.parent.relative_to(home).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*.parquet"))
    }


def measure(method: str, csv: Path, workdir: Path) -> dict[str, float]:
    """Run one method in a child process; return its seconds, rows and peak RSS (MiB)."""
    out = workdir / f"out-{method}"
    shutil.rmtree(out, ignore_errors=True)
    result = run_child(__file__, ["--child", method, "--csv", str(csv), "--out", str(out)])
    shutil.rmtree(out, ignore_errors=True)
    return result


def main() -> None:
    """Parse arguments; either run one method (child) or the whole comparison (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=11_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    parser.add_argument(
        "--engines", action="store_true", help="ingest a multi-year archive on DuckDB and Spark"
    )
    parser.add_argument("--years", type=int, default=3, help="yearly files (with --engines)")
    parser.add_argument("--spark-master", default="local[*]", help="Spark master (--engines)")
    parser.add_argument("--child", choices=sorted({*METHODS, *ENGINES}), help=argparse.SUPPRESS)
    parser.add_argument("--generate-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--archive-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_into:
        generate(args.generate_into, args.rows)
        return
    if args.archive_into:
        write_archive(args.archive_into, args.rows, args.years)
        return
    if args.child:
        # Imports are paid once per process, whatever the file size: keep them out of timing.
        __import__("chokepoints.workspace")
        __import__("pandas")
        started = time.perf_counter()
        if args.child in ENGINES:
            figures = ENGINES[args.child](args.csv, args.out, args.spark_master)
        else:
            figures = {"rows": METHODS[args.child](args.csv, args.out)}
        print(json.dumps({"seconds": time.perf_counter() - started, **figures}))
        return

    workdir = Path(tempfile.mkdtemp(prefix="chokepoints-bench-"))
    if args.engines:
        try:
            compare_engines(args, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    try:
        csv = workdir / "BACI_HS17_Y2021_V202501.csv"
        started = time.perf_counter()
        # In a child: a child inherits its parent's peak RSS as the floor of its own, so the
        # parent must never hold the generator's memory.
        subprocess.run(
            [sys.executable, __file__, "--generate-into", str(csv), "--rows", str(args.rows)],
            check=True,
        )
        size = csv.stat().st_size / 2**20
        print(
            f"generated {args.rows:,} rows ({size:,.0f} MiB) in "
            f"{time.perf_counter() - started:.1f} s on {os.cpu_count()} cores"
        )
        rounds = [
            {m: measure(m, csv, workdir) for m in ("duckdb_copy", "chokepoints", "pandas")}
            for _ in range(args.repeat)
        ]
        results = {
            m: {k: statistics.median(r[m][k] for r in rounds) for k in rounds[0][m]}
            for m in rounds[0]
        }
        base = results["duckdb_copy"]["seconds"]
        print(f"medians of {args.repeat} rounds")
        print(
            f"{'method':<12} {'seconds':>8} {'rows/s':>12} {'x DuckDB COPY':>14} "
            f"{'peak RSS MiB':>13}"
        )
        for method, result in results.items():
            assert result["rows"] == args.rows, (method, result["rows"])
            print(
                f"{method:<12} {result['seconds']:>8.2f} "
                f"{result['rows'] / result['seconds']:>12,.0f} "
                f"{result['seconds'] / base:>14.2f} {result['peak_rss_mib']:>13,.0f}"
            )
        print(
            f"pandas / chokepoints: "
            f"{results['pandas']['seconds'] / results['chokepoints']['seconds']:.2f}x"
        )
        parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(peak RSS of this parent process, a floor of the figures above: {parent:,.0f} MiB)")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
