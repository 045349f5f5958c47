"""Benchmark: CEPII GeoDep flags at BACI scale, against hand-written DuckDB SQL and pandas.

Generates a synthetic world of N flows a year for three years (default 11 million a year, the
size of a real BACI year) with DuckDB, deterministically: ~220 real ISO3 codes, 5,000 HS6-like
codes, distinct (exporter, importer, product) keys drawn with a skew towards large economies,
about 75-90% of a year's flows present the year before or after, and lognormal values with a
dominant exporter for some products, so that some imports and world exports are concentrated.
It is written like the store (``trade/source=.../classification=.../year=YYYY/*.parquet``, one
file per year, the canonical trade columns), then timed in separate processes:

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
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
YEARS = (2020, 2021, 2022)
N_PRODUCTS = 5000
#: Large economies first: the skewed draws make the first codes the biggest traders.
LARGE = [
    *("CHN", "USA", "DEU", "JPN", "KOR", "FRA", "ITA", "GBR", "NLD", "IND", "CAN", "MEX"),
    *("BEL", "ESP", "CHE", "TWN", "SGP", "RUS", "AUS", "BRA", "POL", "THA", "MYS", "VNM"),
    *("SAU", "ARE", "IDN", "SWE", "AUT", "TUR", "IRL", "CZE", "NOR", "DNK", "HUN", "ISR"),
]
#: Products whose flows from one exporter are multiplied, making world exports concentrated.
DOMINATED_SHARE = 0.15
DOMINANCE = 300.0


def country_codes(n: int = 220) -> list[str]:
    """``n`` real ISO3 codes of BACI countries, the large economies first."""
    from chokepoints.reference.countries import countries

    table = countries()
    baci = sorted(table.loc[table["baci_code"].notna() & table["is_country"], "iso3"])
    codes = [*LARGE, *(c for c in baci if c not in LARGE)]
    return codes[:n]


def uniform(salt: int, number: str) -> str:
    """SQL for a deterministic uniform number in (0, 1] hashed from the integer ``number``.

    ``salt`` (0-63) gives independent draws from one number; DuckDB's ``hash(a, b)`` would
    not, its combination of arguments leaves them correlated.
    """
    return f"((hash(({number}) * 64 + {salt}) >> 11) + 1) / 9007199254740992.0"


def normal(salt: int, number: str) -> str:
    """SQL for a deterministic standard normal number (Box-Muller on two hashed uniforms)."""
    return f"(sqrt(-2 * ln({uniform(salt, number)})) * cos(2 * pi() * {uniform(salt + 1, number)}))"


def generate(folder: Path, rows_per_year: int) -> list[Path]:
    """Write three years of ``rows_per_year`` synthetic flows, one Parquet file a year."""
    codes = country_codes()
    n_countries = len(codes)
    pool = math.ceil(rows_per_year * 1.25)  # each year takes N of these keys
    candidates = pool * 2  # draws, before removing repeated keys
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute("CREATE TABLE codes (c INTEGER, iso3 VARCHAR)")
    con.executemany("INSERT INTO codes VALUES (?, ?)", list(enumerate(codes)))
    # Products: chapter 01-97, then 52 subheadings each: 010110, 010120, ...
    con.execute(
        f"""
        CREATE TABLE products AS
        SELECT range AS p,
               printf('%02d%02d%02d', 1 + range % 97, 1 + (range // 97) // 4,
                      10 * (1 + (range // 97) % 4)) AS product,
               CASE WHEN {uniform(7, "range")} < {DOMINATED_SHARE}
                    THEN floor(20 * pow({uniform(8, "range")}, 2))::INTEGER END AS dominant,
               exp(3 + {normal(9, "range")}) AS price
        FROM range({N_PRODUCTS})
        """
    )
    # Keys: skewed draws (importers and exporters towards the first codes, products mildly),
    # repeated keys removed, the first ``pool`` distinct keys in draw order kept, numbered.
    con.execute(
        f"""
        CREATE TABLE pool AS
        WITH draws AS (
            SELECT range AS r,
                   least(floor({n_countries} * pow({uniform(1, "range")}, 1.8)),
                         {n_countries - 1})::INTEGER AS e,
                   least(floor({n_countries - 1} * pow({uniform(2, "range")}, 1.5)),
                         {n_countries - 2})::INTEGER AS i0,
                   least(floor({N_PRODUCTS} * pow({uniform(3, "range")}, 1.3)),
                         {N_PRODUCTS - 1})::INTEGER AS p
            FROM range({candidates})
        ),
        distinct_keys AS (
            SELECT e, CASE WHEN i0 >= e THEN i0 + 1 ELSE i0 END AS i, p, min(r) AS first
            FROM draws GROUP BY ALL
        )
        SELECT row_number() OVER (ORDER BY first) - 1 AS k, e, i, p
        FROM distinct_keys QUALIFY k < {pool}
        """
    )
    found = con.execute("SELECT count(*) FROM pool").fetchone()[0]
    if found < pool:
        raise SystemExit(f"only {found:,} distinct keys for a pool of {pool:,}: too many rows")
    files = []
    for index, year in enumerate(YEARS):
        # Year j keeps the keys k with (k - shift_j) mod pool < N: consecutive years share
        # about 87% of their flows, the first and last 75%.
        shift = index * (pool - rows_per_year) // 2
        path = folder / "trade" / "source=bench" / "classification=HS17" / f"year={year}"
        path.mkdir(parents=True)
        target = path / "all-bench.parquet"
        key_year = f"k * 4 + {index}"
        con.execute(
            f"""
            COPY (
                SELECT {year}::SMALLINT AS year, x.iso3 AS exporter, m.iso3 AS importer,
                       products.product, 'HS17' AS classification, 6::TINYINT AS level,
                       greatest(1, round(
                           100000 * exp(2.2 * {normal(11, "k")} + 0.3 * {normal(13, key_year)})
                           * CASE WHEN pool.e = products.dominant THEN {DOMINANCE} ELSE 1 END
                       )) AS value_usd,
                       CASE WHEN {uniform(15, key_year)} < 0.05 THEN NULL
                            ELSE round(value_usd / products.price, 3) END AS quantity_t,
                       'bench' AS source, 'synthetic' AS release, 'reconciled' AS reporter_side
                FROM pool
                JOIN codes x ON x.c = pool.e
                JOIN codes m ON m.c = pool.i
                JOIN products ON products.p = pool.p
                WHERE (k - {shift} + {pool}) % {pool} < {rows_per_year}
                ORDER BY exporter, importer, product
            ) TO '{target}' (FORMAT parquet, COMPRESSION zstd)
            """
        )
        files.append(target)
    con.close()
    return files


FLOW_COLUMNS = ["year", "exporter", "importer", "product", "value_usd", "quantity_t"]


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


def generate_in_child(folder: Path, rows_per_year: int) -> list[Path]:
    """:func:`generate` in a child process.

    A child started by ``subprocess`` (vfork + exec on Linux) inherits its parent's peak RSS
    as the floor of its own ``ru_maxrss``: the parent must never hold the data in memory, or
    every measured peak would be at least the generator's.
    """
    command = [sys.executable, __file__, "--generate-into", str(folder)]
    command += ["--rows-per-year", str(rows_per_year)]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [Path(f) for f in json.loads(output)]


def measure(method: str, files: list[Path]) -> dict[str, float]:
    """Run one method in a child process; return its seconds, rows, dependent pairs, peak RSS."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", method, *map(str, files)],
        stdout=subprocess.PIPE,
        text=True,
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{method} failed with exit code {child.returncode}")
    result = json.loads(output)
    result["peak_rss_mib"] = usage.ru_maxrss / 1024
    return result


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
    parser.add_argument("--generate-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_into:
        files = generate(args.generate_into, args.rows_per_year)
        print(json.dumps([str(f) for f in files]))
        return
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
