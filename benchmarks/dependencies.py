"""Benchmark: CEPII GeoDep flags at BACI scale, against hand-written DuckDB SQL and pandas.

Generates the synthetic world of ``benchmarks/synthetic.py`` (N flows a year for three years,
default 11 million a year, the size of a real BACI year), then times in separate processes:

* ``chokepoints``: ``dependency.geodep(flows, year=t, top3=False)`` for every importer and
  product, on an Ibis DuckDB connection over the Parquet files, materialised to Arrow;
* ``duckdb_sql``: one hand-written DuckDB query returning the same columns and flags (with one
  row per flow, ``HHI = sum(v^2) / sum(v)^2`` needs no join): the practical limit;
* ``pandas``: the pandas oracle of the tests (``tests/oracle.py``), what an analyst writes.

Prints seconds, ratios and each process's peak RSS (medians of ``--repeat`` interleaved rounds)
and checks that the three agree on the number of rows and of dependent pairs. pandas runs on the
full data unless ``--pandas-rows-per-year`` is smaller; then it runs on a smaller world of the
same generator (checked there against the SQL) and its full-size time is extrapolated linearly
and labelled so. ``--memory-limit`` sets DuckDB's memory_limit for both DuckDB methods.

    python benchmarks/dependencies.py [--rows-per-year 11000000] [--repeat 1]
        [--pandas-rows-per-year N] [--memory-limit 2GB] [--keep]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
from harness import run_child
from synthetic import FLOW_COLUMNS, YEARS, generate_in_child

REPO = Path(__file__).resolve().parents[1]


def duckdb_options() -> dict[str, str]:
    """DuckDB settings given to the benchmark (``--memory-limit``), through the environment."""
    limit = os.environ.get("BENCH_DUCKDB_MEMORY_LIMIT")
    return {"memory_limit": limit} if limit else {}


def run_chokepoints(files: list[Path], year: int) -> dict[str, int]:
    """geodep on an Ibis DuckDB connection over the Parquet files, materialised to Arrow."""
    import ibis

    from chokepoints.analysis import dependency

    con = ibis.duckdb.connect(**duckdb_options())
    flows = con.read_parquet([str(f) for f in files]).select(*FLOW_COLUMNS)
    result = dependency.geodep(flows, year=year, top3=False).to_pyarrow()
    return {"rows": result.num_rows, "dependent": int(result["dependent"].to_numpy().sum())}


GEODEP_SQL = """
WITH flows AS NOT MATERIALIZED (
    SELECT year, exporter, importer, product, value_usd, quantity_t
    FROM read_parquet({files}) WHERE year BETWEEN {first} AND {year}
),
imports AS (
    SELECT year, importer, product,
           sum(value_usd) AS import_value_usd, sum(quantity_t) AS import_quantity_t,
           count(*) AS n_suppliers,
           sum(value_usd * value_usd) / (sum(value_usd) * sum(value_usd)) AS hhi,
           arg_max(exporter, value_usd) AS top_supplier,
           max(value_usd) / sum(value_usd) AS top_supplier_share
    FROM flows GROUP BY year, importer, product
),
exports AS (
    SELECT year, exporter, product, sum(value_usd) AS x
    FROM flows GROUP BY year, exporter, product
),
world AS (
    SELECT year, product, sum(x * x) / (sum(x) * sum(x)) AS world_export_hhi
    FROM exports GROUP BY year, product
),
metrics AS (
    SELECT i.*, w.world_export_hhi, coalesce(e.x, 0) AS exports_usd,
           CASE WHEN coalesce(e.x, 0) = 0 THEN 9999 ELSE i.import_value_usd / e.x END
               AS import_export_ratio
    FROM imports i
    LEFT JOIN world w USING (year, product)
    LEFT JOIN exports e
        ON e.year = i.year AND e.exporter = i.importer AND e.product = i.product
),
flagged AS (
    SELECT *, hhi > 0.4 AS crit_import_hhi,
           world_export_hhi > 0.4 AS crit_world_export_hhi,
           import_export_ratio > 1 AS crit_import_export_ratio
    FROM metrics
),
pairs AS (
    SELECT importer, product,
           count(*) FILTER (WHERE crit_import_hhi AND crit_world_export_hhi
                            AND crit_import_export_ratio) AS years_met,
           count(*) AS years_observed
    FROM flagged GROUP BY importer, product
)
SELECT {year}::SMALLINT AS year, p.importer, p.product, p.years_met, p.years_observed,
       f.import_value_usd, f.import_quantity_t, f.n_suppliers, f.hhi, f.top_supplier,
       f.top_supplier_share, f.world_export_hhi, f.exports_usd, f.import_export_ratio,
       f.crit_import_hhi, f.crit_world_export_hhi, f.crit_import_export_ratio,
       p.years_met >= 2 AS dependent, 'geodep' AS method
FROM pairs p
LEFT JOIN flagged f ON f.importer = p.importer AND f.product = p.product AND f.year = {year}
"""


def run_duckdb_sql(files: list[Path], year: int) -> dict[str, int]:
    """The same result from one hand-written DuckDB query, materialised to Arrow."""
    con = duckdb.connect(config=duckdb_options())
    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    query = GEODEP_SQL.format(files=listing, first=year - 2, year=year)
    result = con.sql(query).to_arrow_table()
    return {"rows": result.num_rows, "dependent": int(result["dependent"].to_numpy().sum())}


def run_pandas(files: list[Path], year: int) -> dict[str, int]:
    """The pandas oracle of the tests on the same files."""
    import pandas as pd

    spec = importlib.util.spec_from_file_location("oracle", REPO / "tests" / "oracle.py")
    oracle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracle)
    flows = pd.concat([pd.read_parquet(f, columns=FLOW_COLUMNS) for f in files], ignore_index=True)
    result = oracle.geodep(flows, year, top3=False)
    return {"rows": len(result), "dependent": int(result["dependent"].sum())}


METHODS = {"chokepoints": run_chokepoints, "duckdb_sql": run_duckdb_sql, "pandas": run_pandas}


def measure(method: str, files: list[Path]) -> dict[str, float]:
    """Run one method in a child process; return its seconds, rows, dependent pairs, peak RSS."""
    return run_child(__file__, ["--child", method, *map(str, files)])


def rounds(methods: list[str], files: list[Path], repeat: int) -> dict[str, dict[str, float]]:
    """Medians over ``repeat`` interleaved rounds of each method."""
    runs = [{m: measure(m, files) for m in methods} for _ in range(repeat)]
    return {m: {k: statistics.median(r[m][k] for r in runs) for k in runs[0][m]} for m in methods}


def main() -> None:
    """Parse arguments; either run one method (child) or the whole comparison (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-year", type=int, default=11_000_000)
    parser.add_argument(
        "--pandas-rows-per-year",
        type=int,
        help="run pandas on a smaller world and extrapolate (default: the full size)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument(
        "--memory-limit", help="DuckDB memory_limit for both DuckDB methods (e.g. 2GB)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated Parquet files")
    parser.add_argument("--child", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # Imports are paid once per process, whatever the data size: keep them out of timing.
        __import__("ibis")
        __import__("pandas")
        __import__("chokepoints.analysis.dependency")
        started = time.perf_counter()
        result = METHODS[args.child](args.files, YEARS[-1])
        print(json.dumps({"seconds": time.perf_counter() - started, **result}))
        return

    if args.memory_limit:
        os.environ["BENCH_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
    small = args.pandas_rows_per_year
    if small is not None and small >= args.rows_per_year:
        small = None
    workdir = Path(tempfile.mkdtemp(prefix="chokepoints-bench-"))
    try:
        started = time.perf_counter()
        files = generate_in_child(workdir / "full", args.rows_per_year)
        size = sum(f.stat().st_size for f in files) / 2**20
        print(
            f"generated {len(YEARS)} x {args.rows_per_year:,} flows ({size:,.0f} MiB of Parquet) "
            f"in {time.perf_counter() - started:.1f} s; {os.cpu_count()} cores"
        )
        methods = ["duckdb_sql", "chokepoints"] if small else [*METHODS]
        results = rounds(methods, files, args.repeat)
        if small:
            small_files = generate_in_child(workdir / "small", small)
            checked = rounds(["duckdb_sql", "pandas"], small_files, args.repeat)
            if checked["pandas"]["dependent"] != checked["duckdb_sql"]["dependent"]:
                raise SystemExit(f"pandas disagrees with the SQL at {small:,} rows: {checked}")
            scale = args.rows_per_year / small
            results["pandas"] = checked["pandas"] | {
                "seconds": checked["pandas"]["seconds"] * scale,
                "peak_rss_mib": checked["pandas"]["peak_rss_mib"] * scale,
            }
        report(results, args, small)
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(peak RSS of this parent process, a floor of every figure above: {floor:,.0f} MiB)")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def report(
    results: dict[str, dict[str, float]], args: argparse.Namespace, small: int | None
) -> None:
    """Print the table, the ratios and the agreement check."""
    base = results["duckdb_sql"]["seconds"]
    print(f"geodep {YEARS[-1]} (window {YEARS[0]}-{YEARS[-1]}), medians of {args.repeat} round(s)")
    header = ("method", "seconds", "x SQL", "peak RSS MiB", "pairs", "dependent")
    print("{:<12} {:>9} {:>7} {:>13} {:>10} {:>10}".format(*header))
    for method, result in results.items():
        label = f"{method}*" if method == "pandas" and small else method
        print(
            f"{label:<12} {result['seconds']:>9.2f} {result['seconds'] / base:>7.2f} "
            f"{result['peak_rss_mib']:>13,.0f} {result['rows']:>10,.0f} "
            f"{result['dependent']:>10,.0f}"
        )
    if small:
        print(
            f"* pandas ran on {small:,} flows a year; its seconds and RSS are extrapolated "
            f"linearly to {args.rows_per_year:,} (x{args.rows_per_year / small:.2f}), and its "
            "pairs are those of the smaller world (agreement checked there against the SQL)"
        )
    chokepoints = results["chokepoints"]
    print(f"chokepoints / SQL: {chokepoints['seconds'] / base:.2f}x (target <= 1.5x)")
    print(
        f"pandas / chokepoints: {results['pandas']['seconds'] / chokepoints['seconds']:.2f}x "
        "(target >= 5x)"
    )
    print(f"chokepoints peak RSS: {chokepoints['peak_rss_mib'] / 1024:.2f} GiB (target < 3 GB)")
    compared = ["duckdb_sql", "chokepoints"] if small else list(results)
    counts = {m: (results[m]["rows"], results[m]["dependent"]) for m in compared}
    if len(set(counts.values())) != 1:
        raise SystemExit(f"the methods disagree on (pairs, dependent pairs): {counts}")
    print(f"agreement: {', '.join(compared)} find the same pairs and dependent pairs")


if __name__ == "__main__":
    main()
