"""Benchmark: one country's HTML report on a BACI-scale synthetic store.

Generates three synthetic years of about 11 million flows each (the generator of
``benchmarks/synthetic.py``), ingests them into a fresh store with ``ingest_table``, and
adds 12 user sectors of 25 synthetic products each (the generator's codes are not real HS
codes, so the shipped sectors would match nothing). Then, each in its own child process:

* ``report``: ``chokepoints report`` for the largest importer with a partner, i.e. gathering
  every section (dependencies, import sources, trend, stress test, diversification,
  cooperation), charting and writing the HTML; prints the time of each part and the file size;
* ``deps``: the baseline, the one question an analyst would run by hand first
  (``Workspace.dependencies`` for the same country, all products), to show what the other
  sections and the charts add on top of it.

Target: the report under 15 s on 2 cores and under 10 MB.

    python benchmarks/report.py [--rows-per-year 11000000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from harness import run_child
from synthetic import generate_in_child

SECTORS = 12
PER_SECTOR = 25


def prepare(folder: Path, rows_per_year: int) -> tuple[Path, list[str]]:
    """A store home holding the generated years and the benchmark sectors; the top importers."""
    import duckdb

    from chokepoints.workspace import Workspace

    files = generate_in_child(folder / "flows", rows_per_year)
    home = folder / "home"
    ws = Workspace.open(home)
    mapping = {c: c for c in ("exporter", "importer", "product", "value_usd", "quantity_t")}
    for file in files:
        year = int(file.parent.name.split("=")[1])
        ws.ingest_table(file, mapping=mapping, year=year, classification="HS17", source="bench")
    con = duckdb.connect()
    listed = ",".join(f"'{f}'" for f in files)
    top = con.execute(
        f"SELECT importer FROM read_parquet([{listed}]) GROUP BY 1 ORDER BY sum(value_usd) DESC "
        "LIMIT 2"
    ).fetchall()
    products = [
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT product FROM read_parquet([{listed}]) ORDER BY hash(product) "
            f"LIMIT {SECTORS * PER_SECTOR}"
        ).fetchall()
    ]
    sectors = home / "sectors"
    sectors.mkdir()
    for n in range(SECTORS):
        codes = ", ".join(f'"{p}"' for p in products[n * PER_SECTOR : (n + 1) * PER_SECTOR])
        (sectors / f"bench_{n:02d}.toml").write_text(
            f'id = "bench_{n:02d}"\nname = "Benchmark sector {n}"\n'
            f'description = "Synthetic products for the report benchmark"\n'
            f'sources = ["benchmarks/report.py"]\n\n[codes]\nHS17 = [{codes}]\n'
        )
    return home, [r[0] for r in top]


def run_report(home: Path, country: str, partner: str) -> dict[str, float]:
    """Gather, chart and write the report; time each part."""
    from chokepoints.report import gather
    from chokepoints.report.html import render_html
    from chokepoints.workspace import Workspace

    ws = Workspace.open(home)
    sectors = [f"bench_{n:02d}" for n in range(SECTORS)]
    started = time.perf_counter()
    content = gather(ws, country, partners=[partner], sectors=sectors)
    gathered = time.perf_counter()
    html = render_html(content)
    rendered = time.perf_counter()
    target = home / "report.html"
    target.write_text(html, encoding="utf-8")
    return {
        "gather_seconds": gathered - started,
        "render_seconds": rendered - gathered,
        "size_mb": target.stat().st_size / 1e6,
        "dependent_products": int(content.dependencies["dependent"].sum()),
        "products": len(content.dependencies),
    }


def run_deps(home: Path, country: str, partner: str) -> dict[str, float]:
    """The baseline: one dependencies question for the same country."""
    from chokepoints.workspace import Workspace

    frame = Workspace.open(home).dependencies(country, include_all=True)
    return {"products": len(frame)}


METHODS = {"report": run_report, "deps": run_deps}


def main() -> None:
    """Parse arguments; run one method (child) or prepare the store and run both (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-year", type=int, default=11_000_000)
    parser.add_argument("--child", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        __import__("chokepoints.report")
        home, country, partner = args.args
        started = time.perf_counter()
        result = METHODS[args.child](Path(home), country, partner)
        print(json.dumps({"seconds": time.perf_counter() - started, **result}))
        return
    with tempfile.TemporaryDirectory(prefix="chokepoints-report-") as folder:
        started = time.perf_counter()
        home, (country, partner) = prepare(Path(folder), args.rows_per_year)
        print(
            f"store: 3 x {args.rows_per_year:,} flows, {SECTORS} sectors x {PER_SECTOR} products, "
            f"prepared in {time.perf_counter() - started:.0f} s; {os.cpu_count()} cores; "
            f"report for {country} with {partner}"
        )
        results = {}
        for method in METHODS:
            results[method] = run_child(__file__, ["--child", method, str(home), country, partner])
            figures = ", ".join(
                f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v:,}"
                for k, v in results[method].items()
            )
            print(f"{method:<7} {figures}")
        ratio = results["report"]["seconds"] / results["deps"]["seconds"]
        print(f"report / deps alone: {ratio:.2f}x; targets: report under 15 s and 10 MB")


if __name__ == "__main__":
    main()
