"""Benchmark: a 30-year BACI panel (330 million flows) ingested, screened and trended.

Generates ``--years`` BACI yearly CSVs (default 30, 1995-2024) of ``--rows-per-year`` flows
(default 11 million, one real BACI year) with ``benchmarks/synthetic.py``'s panel generator,
one year at a time, never all in memory. Then, each step in its own child process:

* ``ingest``: ``Workspace.ingest_baci`` on the folder, the real path (parse, validate, commit);
* ``hand_sql``: hand-written DuckDB SQL over the store's Parquet files: the CEPII GeoDep screen
  of every importer and product in the last year (import HHI, world export HHI and
  imports/exports in the three years to it, docs/methods/dependency.md), then the trend of one
  importer's dependence on one supplier over every year (the practical limit);
* ``duckdb``: chokepoints on DuckDB (``engine.connect(store, "duckdb", memory_limit=...)``): the
  questions' dataset choice (``questions.common.dataset_and_year``, from the coverage the
  manifest recorded at ingest), ``dependency.geodep`` over all importers written to Parquet (what
  ``deps --all-importers`` computes, without its descriptions and sort in pandas), and
  ``questions.trend``;
* ``spark``: the same on Spark local (``engine.connect(store, "pyspark", session=...)``).

DuckDB runs with ``--memory-limit`` (default 6GB) and spills to ``WORK/spill/duckdb``; Spark's
driver gets ``--spark-memory`` and spills to ``WORK/spill/spark``. A ``compare`` child then
checks that the methods agree (same pairs, same dependent pairs, shares within 1e-9; the trend
year by year) and the parent prints the ingest's rows/s, seconds per step, the ratio to the hand
SQL and each process's peak RSS (for Spark, the Python driver and the JVM). Progress (each year
generated and ingested, each step done) goes to stderr.

    python benchmarks/panel.py [--years 30] [--rows-per-year 11000000] [--work DIR] [--keep]
        [--skip-spark] [--repeat 1] [--memory-limit 6GB] [--spark-memory 4g]
        [--country JPN] [--supplier CHN]
    python benchmarks/panel.py --years 3 --rows-per-year 200000     # smoke test, about 1 min
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: The screen's columns, written by every method and compared.
SCREEN_COLUMNS = [
    "year",
    "importer",
    "product",
    "years_met",
    "years_observed",
    "import_value_usd",
    "n_suppliers",
    "hhi",
    "top_supplier",
    "top_supplier_share",
    "world_export_hhi",
    "exports_usd",
    "import_export_ratio",
    "dependent",
]
#: The trend's columns compared (``questions.trend``'s, less its labels).
TREND_COLUMNS = [
    "year",
    "imports_usd",
    "from_supplier_usd",
    "supplier_share",
    "n_products",
    "n_products_top_supplier",
    "n_dependent",
    "n_dependent_on_supplier",
    "mean_hhi",
]
#: Shares and HHIs must agree to this (absolute); values and ratios to this relative error.
TOLERANCE = 1e-9


# -- hand-written SQL ------------------------------------------------------------------------
GEODEP_SQL = """
WITH flows AS NOT MATERIALIZED (
    SELECT year, exporter, importer, product, value_usd
    FROM read_parquet({files})
    WHERE year BETWEEN {first} AND {year} AND exporter <> importer AND value_usd > 0
),
imports AS (
    SELECT year, importer, product, sum(value_usd) AS import_value_usd,
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
flagged AS (
    SELECT i.*, w.world_export_hhi, coalesce(e.x, 0) AS exports_usd,
           CASE WHEN coalesce(e.x, 0) = 0 THEN 9999 ELSE i.import_value_usd / e.x END
               AS import_export_ratio
    FROM imports i
    LEFT JOIN world w USING (year, product)
    LEFT JOIN exports e
        ON e.year = i.year AND e.exporter = i.importer AND e.product = i.product
),
pairs AS (
    SELECT importer, product,
           count(*) FILTER (WHERE hhi > {hhi} AND coalesce(world_export_hhi > {world}, false)
                            AND import_export_ratio > {ratio}) AS years_met,
           count(*) AS years_observed
    FROM flagged GROUP BY importer, product
)
SELECT {year}::SMALLINT AS year, p.importer, p.product, p.years_met, p.years_observed,
       f.import_value_usd, f.n_suppliers, f.hhi, f.top_supplier, f.top_supplier_share,
       f.world_export_hhi, f.exports_usd, f.import_export_ratio,
       p.years_met >= {min_years} AS dependent
FROM pairs p
LEFT JOIN flagged f ON f.importer = p.importer AND f.product = p.product AND f.year = {year}
"""

#: One importer's dependence on one supplier, per year (docs/methods/dependency.md, Trend):
#: the single-year GeoDep criteria, with the importer's own exports of each product from the
#: world's flows. ``n_dependent_no_own_exports`` counts the products meeting them when the
#: importer's exports are taken as zero (what ``analysis.trend.supplier_trend`` computes).
TREND_SQL = """
WITH flows AS NOT MATERIALIZED (
    SELECT year, exporter, importer, product, value_usd
    FROM read_parquet({files})
    WHERE year <= {year} AND exporter <> importer AND value_usd > 0
),
mine AS (SELECT * FROM flows WHERE importer = '{country}'),
totals AS (
    SELECT year, sum(value_usd) AS imports_usd,
           coalesce(sum(value_usd) FILTER (WHERE exporter = '{supplier}'), 0)
               AS from_supplier_usd,
           count(DISTINCT product) AS n_products
    FROM mine GROUP BY year
),
imports AS (
    SELECT year, product, sum(value_usd) AS m,
           sum(value_usd * value_usd) / (sum(value_usd) * sum(value_usd)) AS hhi,
           arg_max(exporter, value_usd) AS top_supplier
    FROM mine GROUP BY year, product
),
exports AS (
    SELECT year, exporter, product, sum(value_usd) AS x
    FROM flows GROUP BY year, exporter, product
),
world AS (
    SELECT year, product, sum(x * x) / (sum(x) * sum(x)) AS world_export_hhi
    FROM exports GROUP BY year, product
),
flagged AS (
    SELECT i.*, i.top_supplier = '{supplier}' AS top_is_supplier,
           i.hhi > {hhi} AND coalesce(w.world_export_hhi > {world}, false) AS concentrated,
           CASE WHEN coalesce(e.x, 0) = 0 THEN 9999 ELSE i.m / e.x END > {ratio} AS importer_short
    FROM imports i
    LEFT JOIN world w USING (year, product)
    LEFT JOIN exports e
        ON e.year = i.year AND e.exporter = '{country}' AND e.product = i.product
),
counts AS (
    SELECT year,
           count(*) FILTER (WHERE top_is_supplier) AS n_products_top_supplier,
           count(*) FILTER (WHERE concentrated AND importer_short) AS n_dependent,
           count(*) FILTER (WHERE concentrated AND importer_short AND top_is_supplier)
               AS n_dependent_on_supplier,
           count(*) FILTER (WHERE concentrated) AS n_dependent_no_own_exports,
           count(*) FILTER (WHERE concentrated AND top_is_supplier)
               AS n_dependent_on_supplier_no_own_exports,
           avg(hhi) AS mean_hhi
    FROM flagged GROUP BY year
)
SELECT t.year, t.imports_usd, t.from_supplier_usd, t.from_supplier_usd / t.imports_usd
           AS supplier_share, t.n_products, c.* EXCLUDE (year)
FROM totals t JOIN counts c USING (year)
ORDER BY year
"""


def sql_list(files: list[Path]) -> str:
    """A DuckDB list literal of file paths."""
    return "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"


# -- the children ----------------------------------------------------------------------------
def child_generate(s: dict[str, Any]) -> dict[str, Any]:
    """Write the panel's yearly BACI CSVs (years already written are kept)."""
    from synthetic import generate_panel, panel_years

    started = time.perf_counter()
    files = generate_panel(Path(s["baci"]), s["rows_per_year"], panel_years(s["years"]))
    shutil.rmtree(Path(s["baci"]) / ".tmp", ignore_errors=True)
    size = sum(f.stat().st_size for f in files)
    return {"seconds": time.perf_counter() - started, "bytes": size, "files": len(files)}


def child_ingest(s: dict[str, Any]) -> dict[str, Any]:
    """``Workspace.ingest_baci`` on the folder of yearly CSVs, into a fresh store."""
    from chokepoints.workspace import Workspace

    started = time.perf_counter()

    def progress(what: str, done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        say(f"ingest: {what} ({done}/{total}), {elapsed:,.0f} s")

    record = Workspace.open(s["home"]).ingest_baci(Path(s["baci"]), progress=progress)
    return {"seconds": time.perf_counter() - started, "rows": record["rows"]}


def child_hand_sql(s: dict[str, Any]) -> dict[str, Any]:
    """The screen and the trend in hand-written DuckDB SQL over the store's files."""
    import duckdb

    from chokepoints.analysis.dependency import GeoDep

    files, year = store_files(s["home"])
    params = GeoDep()
    con = duckdb.connect(
        config={"memory_limit": s["memory_limit"], "temp_directory": s["duckdb_spill"]}
    )
    steps = Steps(s, "hand_sql")
    thresholds = {
        "hhi": params.import_hhi,
        "world": params.world_export_hhi,
        "ratio": params.import_export_ratio,
    }
    screen = GEODEP_SQL.format(
        files=sql_list(files),
        first=year - params.window + 1,
        year=year,
        min_years=params.min_years,
        **thresholds,
    )
    con.execute(f"COPY ({screen}) TO '{s['results']}/hand_sql.parquet' (FORMAT parquet)")
    steps.done("screen")
    trend = TREND_SQL.format(
        files=sql_list(files), year=year, country=s["country"], supplier=s["supplier"], **thresholds
    )
    con.execute(f"COPY ({trend}) TO '{s['results']}/hand_sql-trend.parquet' (FORMAT parquet)")
    steps.done("trend")
    return steps.result


def child_chokepoints(s: dict[str, Any], backend: str) -> dict[str, Any]:
    """chokepoints on ``backend``: dataset choice, GeoDep of every importer, one trend."""
    from chokepoints import engine, questions
    from chokepoints.analysis import dependency
    from chokepoints.questions import common
    from chokepoints.questions.context import Context
    from chokepoints.store import Store

    steps = Steps(s, backend)
    store = Store(Path(s["home"]))
    manifest = store.manifest()
    jvm = None
    if backend == "duckdb":
        con = engine.connect(store, "duckdb", manifest=manifest, memory_limit=s["memory_limit"])
        con.con.execute(f"SET temp_directory = '{s['duckdb_spill']}'")
    else:
        session = spark_session(s)
        jvm = session.sparkContext._gateway.proc.pid
        con = engine.connect(store, "pyspark", manifest=manifest, session=session)
    ctx = Context(con=con, parts=list(manifest["parts"]))
    steps.done("open")
    # What every question does first: choose the dataset and year (one scan of all the trade).
    dataset, year = common.dataset_and_year(ctx)
    steps.done("dataset")
    # The all-importers GeoDep screen: what `deps` does for one importer, for every one.
    params = dependency.GeoDep()
    years = list(range(year - params.window + 1, year + 1))
    common.check_coverage(ctx, dataset, years, allow_partial=False)
    flows = common.flows_of(ctx, dataset, years)
    held = len(set(years) & set(dataset.years))
    result = dependency.geodep(flows, year, params=params, years_held=held, top3=False)
    con.to_parquet(result.select(*SCREEN_COLUMNS), Path(s["results"]) / f"{backend}.parquet")
    steps.done("screen")
    frame = questions.trend(ctx, s["country"], s["supplier"])
    change = frame.attrs["provenance"]["change"]
    frame.attrs = {}
    frame[TREND_COLUMNS].to_parquet(Path(s["results"]) / f"{backend}-trend.parquet")
    steps.done("trend")
    steps.result["verdict"] = change["verdict"]
    if jvm is not None:
        steps.result["jvm_peak_rss_mib"] = peak_rss_of(jvm)
        session.stop()
    return steps.result


def spark_session(s: dict[str, Any]) -> Any:
    """A local Spark session with the library's local settings, ``--spark-memory`` for the
    driver and its scratch files under the work dir."""
    import warnings

    from pyspark.sql import SparkSession

    # PySpark 4.0 warns that it does not fully support pandas 3 on every conversion.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    conf = {
        "spark.app.name": "chokepoints-panel",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",  # as the engine's own local sessions
        "spark.driver.memory": s["spark_memory"],
        "spark.local.dir": s["spark_spill"],
        "spark.sql.warehouse.dir": str(Path(s["spark_spill"]) / "warehouse"),
    }
    builder = SparkSession.builder.master(s["spark_master"])
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def peak_rss_of(pid: int) -> float:
    """Peak RSS (MiB) of a running process of ours (``VmHWM``), e.g. Spark's JVM."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_compare(s: dict[str, Any]) -> dict[str, Any]:
    """How far each method's screen and trend are from the hand SQL's (and Spark's from
    DuckDB's): rows on one side only, flags that differ, largest differences."""
    import duckdb

    con = duckdb.connect(
        config={"memory_limit": s["memory_limit"], "temp_directory": s["duckdb_spill"]}
    )
    results = Path(s["results"])
    found = {}
    for method in ("hand_sql", "duckdb", "spark"):
        path = results / f"{method}.parquet"  # a file (DuckDB) or a folder of them (Spark)
        if path.is_file():
            found[method] = f"'{path}'"
        elif path.is_dir() and any(path.glob("*.parquet")):
            found[method] = f"'{path}/*.parquet'"
    report: dict[str, Any] = {"screen": {}, "trend": {}, "counts": {}}
    for method, scan in found.items():
        rows, dependent = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE dependent) FROM read_parquet({scan})"
        ).fetchone()
        report["counts"][method] = {"pairs": rows, "dependent": dependent}
    pairs = [("hand_sql", m) for m in ("duckdb", "spark")] + [("duckdb", "spark")]
    for base, other in pairs:
        if base in found and other in found:
            report["screen"][f"{other} vs {base}"] = compare_screens(con, found[base], found[other])
    for base, other in pairs:
        a, b = results / f"{base}-trend.parquet", results / f"{other}-trend.parquet"
        if a.is_file() and b.is_file():
            report["trend"][f"{other} vs {base}"] = compare_trends(con, a, b, base == "hand_sql")
    return report


def compare_screens(con: Any, base: str, other: str) -> dict[str, Any]:
    """Differences between two screens joined on (importer, product)."""
    shares = ["hhi", "top_supplier_share", "world_export_hhi"]
    relative = ["import_value_usd", "exports_usd", "import_export_ratio"]
    share_diffs = ", ".join(f"max(abs(a.{c} - b.{c})) AS {c}" for c in shares)
    relative_diffs = ", ".join(
        f"max(abs(a.{c} - b.{c}) / greatest(abs(a.{c}), 1e-300)) AS {c}" for c in relative
    )
    query = f"""
        SELECT count(*) FILTER (WHERE a.product IS NULL) AS only_other,
               count(*) FILTER (WHERE b.product IS NULL) AS only_base,
               count(*) FILTER (WHERE a.dependent IS DISTINCT FROM b.dependent)
                   AS dependent_differs,
               count(*) FILTER (WHERE a.years_met IS DISTINCT FROM b.years_met)
                   AS years_met_differs,
               count(*) FILTER (WHERE a.n_suppliers IS DISTINCT FROM b.n_suppliers)
                   AS n_suppliers_differs,
               count(*) FILTER (WHERE a.top_supplier IS DISTINCT FROM b.top_supplier)
                   AS top_supplier_differs,
               {share_diffs}, {relative_diffs}
        FROM read_parquet({base}) a
        FULL JOIN read_parquet({other}) b USING (importer, product)
    """
    result = con.execute(query)
    names = [d[0] for d in result.description]
    row = dict(zip(names, result.fetchone(), strict=True))
    counts = ["only_other", "only_base", "dependent_differs", "years_met_differs"]
    counts.append("n_suppliers_differs")
    worst = max((row[c] or 0.0) for c in [*shares, *relative])
    row["agree"] = all(row[c] == 0 for c in counts) and worst <= TOLERANCE
    return row


def compare_trends(con: Any, base: Path, other: Path, against_sql: bool) -> dict[str, Any]:
    """Differences between two trends joined on year."""
    counts = ["n_products", "n_products_top_supplier", "n_dependent", "n_dependent_on_supplier"]
    values = ["imports_usd", "from_supplier_usd"]
    shares = ["supplier_share", "mean_hhi"]
    parts = [f"count(*) FILTER (WHERE a.{c} IS DISTINCT FROM b.{c}) AS {c}" for c in counts]
    parts += [f"max(abs(a.{c} - b.{c}) / abs(a.{c})) AS {c}" for c in values]
    parts += [f"max(abs(a.{c} - b.{c})) AS {c}" for c in shares]
    parts += ["count(*) FILTER (WHERE a.year IS NULL OR b.year IS NULL) AS years_differ"]
    if against_sql:
        # The library's trend leaves out the importer's own exports (see TREND_SQL).
        parts += [
            "count(*) FILTER (WHERE a.n_dependent_no_own_exports <> b.n_dependent) "
            "AS n_dependent_no_own_exports",
            "count(*) FILTER (WHERE a.n_dependent_on_supplier_no_own_exports "
            "<> b.n_dependent_on_supplier) AS n_dependent_on_supplier_no_own_exports",
            "sum(b.n_dependent - a.n_dependent) AS n_dependent_excess",
        ]
    result = con.execute(
        f"SELECT {', '.join(parts)} FROM '{base}' a FULL JOIN '{other}' b USING (year)"
    )
    names = [d[0] for d in result.description]
    row = dict(zip(names, result.fetchone(), strict=True))
    exact = ["n_products", "n_products_top_supplier", "years_differ"]
    if not against_sql:
        exact += ["n_dependent", "n_dependent_on_supplier"]
    worst = max((row[c] or 0.0) for c in [*values, *shares])
    row["agree"] = all(row[c] == 0 for c in exact) and worst <= TOLERANCE
    return row


class Steps:
    """Seconds per step of a child, on stderr as they finish and in ``WORK/results/M.json``
    (read by the parent when the child is stopped before the end)."""

    def __init__(self, s: dict[str, Any], method: str) -> None:
        self.path = Path(s["results"]) / f"{method}.steps.json"
        self.method = method
        self.last = time.perf_counter()
        self.result: dict[str, Any] = {"steps": {}}

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.result["steps"][step] = now - self.last
        self.last = now
        self.path.write_text(json.dumps(self.result))
        say(f"{self.method}: {step} done in {self.result['steps'][step]:,.1f} s")


def store_files(home: str) -> tuple[list[Path], int]:
    """The store's trade files and its last year."""
    from chokepoints.store import Store

    store = Store(Path(home))
    manifest = store.manifest()
    year = max(p["year"] for p in manifest["parts"] if p["table"] == "trade")
    return store.files("trade", manifest), year


def say(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "generate": child_generate,
    "ingest": child_ingest,
    "hand_sql": child_hand_sql,
    "duckdb": lambda s: child_chokepoints(s, "duckdb"),
    "spark": lambda s: child_chokepoints(s, "spark"),
    "compare": child_compare,
}


# -- the parent ------------------------------------------------------------------------------
def run(method: str, s: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """Run one child; return its JSON, its peak RSS (MiB) and, if it failed, why.

    Each child is the leader of a new process group, so that a timeout stops it and whatever
    it started (Spark's JVM) and nothing else.
    """
    command = [sys.executable, __file__, "--child", method, "--settings", json.dumps(s)]
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, cwd=s["work"], start_new_session=True
    )
    stopped = threading.Event()

    def stop() -> None:
        stopped.set()
        os.killpg(child.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, stop) if timeout else None
    if timer:
        timer.start()
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if timer:
        timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss / 1024
    if code:
        steps = Path(s["results"]) / f"{method}.steps.json"
        partial = json.loads(steps.read_text()) if steps.is_file() else {"steps": {}}
        why = f"stopped after {timeout:,.0f} s" if stopped.is_set() else f"exit code {code}"
        return {**partial, "failed": why, "peak_rss_mib": peak}
    # The JSON is the last line: Spark's JVM shares the child's standard output.
    last = [line for line in output.splitlines() if line.strip()][-1]
    return {**json.loads(last), "peak_rss_mib": peak}


def main() -> None:
    """Parse arguments; run one child, or the whole benchmark (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--rows-per-year", type=int, default=11_000_000)
    parser.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (a rerun skips generation)"
    )
    parser.add_argument(
        "--reuse-store",
        action="store_true",
        help="with --keep: reuse the store a previous run ingested (no ingest figures)",
    )
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the DuckDB methods; medians are reported"
    )
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit (6GB)")
    parser.add_argument("--spark-memory", default="4g", help="Spark driver memory (4g)")
    parser.add_argument("--spark-master", default="local[*]")
    parser.add_argument(
        "--spark-timeout", type=float, default=3600, help="seconds before Spark is stopped"
    )
    parser.add_argument("--country", default="JPN", help="importer of the trend (JPN)")
    parser.add_argument("--supplier", default="CHN", help="supplier of the trend (CHN)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # Imports are paid once per process, whatever the data size: keep them out of timing.
        if args.child in ("duckdb", "spark", "hand_sql"):
            __import__("chokepoints.questions.dependencies")
        print(json.dumps(CHILDREN[args.child](json.loads(args.settings))))
        return

    created = args.work is None
    work = Path(tempfile.mkdtemp(prefix="chokepoints-panel-")) if created else args.work
    work = work.resolve()
    s = settings(args, work)
    try:
        figures = benchmark(args, s)
        report(args, figures)
    finally:
        if args.keep:
            print(f"kept {work}")
        elif created:
            shutil.rmtree(work, ignore_errors=True)
        else:
            for name in ("baci", "home", "results", "spill"):
                shutil.rmtree(work / name, ignore_errors=True)


def settings(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """What every child is told: the folders and the options."""
    s = {
        "work": str(work),
        "baci": str(work / "baci"),
        "home": str(work / "home"),
        "results": str(work / "results"),
        "duckdb_spill": str(work / "spill" / "duckdb"),
        "spark_spill": str(work / "spill" / "spark"),
        "years": args.years,
        "rows_per_year": args.rows_per_year,
        "memory_limit": args.memory_limit,
        "spark_memory": args.spark_memory,
        "spark_master": args.spark_master,
        "country": args.country,
        "supplier": args.supplier,
    }
    for key in ("duckdb_spill", "spark_spill"):
        Path(s[key]).mkdir(parents=True, exist_ok=True)
    return s


def benchmark(args: argparse.Namespace, s: dict[str, Any]) -> dict[str, Any]:
    """Generate (unless kept), ingest (unless reused), run each method, compare."""
    figures: dict[str, Any] = {}
    baci, marker = Path(s["baci"]), Path(s["baci"]) / "panel.json"
    wanted = {"years": args.years, "rows_per_year": args.rows_per_year}
    if marker.is_file() and json.loads(marker.read_text()) != wanted:
        say(f"{baci} holds another panel: generating anew")
        shutil.rmtree(baci)
    baci.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(wanted))
    say(f"generating {args.years} x {args.rows_per_year:,} flows into {baci} (years kept skipped)")
    figures["generate"] = checked(run("generate", s), "generation")
    home, stamp = Path(s["home"]), Path(s["work"]) / "store.json"
    reuse = args.reuse_store and stamp.is_file() and json.loads(stamp.read_text()) == wanted
    if reuse:
        say(f"reusing the store in {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)
        stamp.unlink(missing_ok=True)
        figures["ingest"] = checked(run("ingest", s), "ingest")
        stamp.write_text(json.dumps(wanted))
    results = Path(s["results"])
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir()
    # DuckDB methods in interleaved rounds (a 2-core machine's timings wander), Spark once.
    rounds: dict[str, list[dict[str, Any]]] = {"hand_sql": [], "duckdb": []}
    for number in range(args.repeat):
        for method, runs in rounds.items():
            say(f"running {method} (round {number + 1} of {args.repeat})")
            runs.append(run(method, s))
            if "failed" in runs[-1]:
                raise SystemExit(f"{method} failed ({runs[-1]['failed']})")
    for method, runs in rounds.items():
        figures[method] = medians(runs)
    if not args.skip_spark:
        say("running spark")
        figures["spark"] = run("spark", s, args.spark_timeout)
        if "failed" in figures["spark"]:
            say(f"spark failed: {figures['spark']['failed']}")
        shutil.rmtree(s["spark_spill"], ignore_errors=True)
    figures["compare"] = checked(run("compare", s), "comparison")
    return figures


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each step's seconds and of the peak RSS over rounds."""
    steps = {step: statistics.median(r["steps"][step] for r in runs) for step in runs[0]["steps"]}
    peak = statistics.median(r["peak_rss_mib"] for r in runs)
    return {**runs[-1], "steps": steps, "peak_rss_mib": peak, "rounds": len(runs)}


def checked(result: dict[str, Any], what: str) -> dict[str, Any]:
    """A child's result; exit when it failed (nothing after it can run)."""
    if "failed" in result:
        raise SystemExit(f"{what} failed ({result['failed']})")
    return result


def report(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Print the figures, the ratios and the agreement."""
    rows = args.years * args.rows_per_year
    generated = figures["generate"]
    print(
        f"panel: {args.years} years x {args.rows_per_year:,} flows = {rows:,} rows "
        f"({generated['bytes'] / 2**30:,.1f} GiB of BACI CSV); {os.cpu_count()} cores; "
        f"DuckDB memory_limit {args.memory_limit}, Spark driver {args.spark_memory}"
    )
    if "ingest" in figures:
        ingest = figures["ingest"]
        print(
            f"ingest (Workspace.ingest_baci, folder of yearly CSVs): {ingest['rows']:,} rows in "
            f"{ingest['seconds']:,.1f} s = {ingest['rows'] / ingest['seconds']:,.0f} rows/s, "
            f"peak RSS {ingest['peak_rss_mib']:,.0f} MiB"
        )
    if args.repeat > 1:
        print(f"hand_sql and duckdb: medians of {args.repeat} interleaved rounds")
    header = ("method", "dataset s", "screen s", "x SQL", "trend s", "x SQL", "peak RSS MiB")
    print("{:<10} {:>10} {:>9} {:>6} {:>9} {:>6} {:>13}".format(*header))
    base = figures["hand_sql"].get("steps", {})
    for method in ("hand_sql", "duckdb", "spark"):
        if method not in figures:
            continue
        result = figures[method]
        steps = result.get("steps", {})

        def cell(step: str, steps: dict[str, float] = steps) -> str:
            return f"{steps[step]:,.1f}" if step in steps else "-"

        def ratio(step: str, steps: dict[str, float] = steps) -> str:
            return f"{steps[step] / base[step]:.2f}" if step in steps and step in base else "-"

        rss = f"{result['peak_rss_mib']:,.0f}"
        if "jvm_peak_rss_mib" in result:
            rss = f"{result['peak_rss_mib']:,.0f} + JVM {result['jvm_peak_rss_mib']:,.0f}"
        print(
            f"{method:<10} {cell('dataset'):>10} {cell('screen'):>9} {ratio('screen'):>6} "
            f"{cell('trend'):>9} {ratio('trend'):>6} {rss:>13}"
        )
        if "failed" in result:
            print(f"{'':<10} FAILED: {result['failed']} (steps done: {', '.join(steps) or 'none'})")
    print(
        "dataset: the questions' dataset choice (from the manifest's recorded coverage; the "
        "hand SQL needs none); screen: GeoDep of every importer and product in the last year, "
        f"written to Parquet; trend: {args.country}'s dependence on {args.supplier} over every year"
    )
    for method in ("duckdb", "spark"):
        steps = figures.get(method, {}).get("steps", {})
        if "screen" in steps and "screen" in base:
            total = steps["dataset"] + steps["screen"]
            print(
                f"{method}: screen {steps['screen'] / base['screen']:.2f}x the hand SQL "
                f"(target <= 1.5x on DuckDB); with the dataset choice "
                f"{total / base['screen']:.2f}x"
            )
    for method in ("duckdb", "spark"):
        if "verdict" in figures.get(method, {}):
            print(f"{method}: trend verdict {figures[method]['verdict']!r}")
    compare = figures["compare"]
    for method, counts in compare["counts"].items():
        print(f"{method}: {counts['pairs']:,} pairs, {counts['dependent']:,} dependent")
    for label, row in compare["screen"].items():
        verdict = "agree" if row["agree"] else "DISAGREE"
        print(f"screen {label}: {verdict} {json.dumps(row, default=str)}")
    for label, row in compare["trend"].items():
        verdict = "agree" if row["agree"] else "DISAGREE"
        if label.endswith("hand_sql") and row["agree"] and row["n_dependent"]:
            verdict = (
                "agree, but for n_dependent and n_dependent_on_supplier, which are the hand SQL's "
                "counts without the importer's own exports"
                if not row["n_dependent_no_own_exports"]
                and not row["n_dependent_on_supplier_no_own_exports"]
                else "agree but for n_dependent (not explained by the importer's own exports)"
            )
        print(f"trend {label}: {verdict} {json.dumps(row, default=str)}")
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(peak RSS of this parent process, a floor of every figure above: {floor:,.0f} MiB)")


if __name__ == "__main__":
    main()
