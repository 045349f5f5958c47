"""Benchmark: the batch stress test at BACI scale, against a straightforward pandas version.

Generates one synthetic year of about 11 million flows (the generator of
``benchmarks/synthetic.py``, in a child process), assigns one product in ten to twelve
sectors, and times, each in its own child process:

* ``chokepoints``: ``analysis.stress.stress_test`` (every supplier x every sector x every
  importer) on an Ibis DuckDB connection, materialised to Arrow;
* ``pandas``: the same table with groupby/merge (the world-wide cut-off of each supplier, its
  spare pool shared pro rata among the importers it hits).

Prints seconds, peak RSS and the ratio, and checks that both find the same total shortfall.
Target: the stress test under 30 s on 2 cores. Then runs ``benchmarks/extraction.py``: the
hypothetical extraction of one country from a 3,000 x 3,000 input-output system (target 2 s).

    python benchmarks/stress.py [--rows-per-year 11000000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import print_results, run_child, run_in_child
from synthetic import generate_in_child

HERE = Path(__file__).resolve().parent
YEAR = 2022
SECTORS = 12
REDIRECT = 0.5


def sector_map(files: list[Path]):
    """One product in ten of the year, spread over SECTORS sectors (a pandas frame)."""
    import duckdb

    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    products = duckdb.sql(
        f"SELECT DISTINCT product FROM read_parquet({listing}) WHERE year = {YEAR} ORDER BY product"
    ).df()
    chosen = products.iloc[::10].reset_index(drop=True)
    chosen["sector"] = [f"sector_{n % SECTORS:02d}" for n in range(len(chosen))]
    return chosen


def run_chokepoints(files: list[Path]) -> dict[str, float]:
    """The Ibis stress test, materialised."""
    import ibis

    from chokepoints.analysis.stress import stress_test

    con = ibis.duckdb.connect()
    flows = con.read_parquet([str(f) for f in files])
    sectors = ibis.memtable(sector_map(files))
    result = stress_test(flows, YEAR, sectors, redirect_fraction=REDIRECT).to_pyarrow()
    return {
        "rows": result.num_rows,
        "shortfall": float(result["shortfall_value_usd"].to_numpy().sum()),
    }


def run_pandas(files: list[Path]) -> dict[str, float]:
    """The same table with plain pandas groupby and merge."""
    import numpy as np
    import pandas as pd

    flows = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    flows = flows[(flows["year"] == YEAR) & (flows["value_usd"] > 0)]
    sectors = sector_map(files)
    pairs = flows.groupby(["importer", "product", "exporter"], as_index=False)["value_usd"].sum()
    imports = pairs.groupby(["importer", "product"], as_index=False)["value_usd"].sum()
    sold = pairs.groupby(["exporter", "product"], as_index=False)["value_usd"].sum()
    world = sold.groupby("product", as_index=False)["value_usd"].sum()
    cut = pairs.rename(columns={"exporter": "supplier", "value_usd": "lost"})
    cut = cut.merge(imports.rename(columns={"value_usd": "m"}), on=["importer", "product"])
    cut = cut.merge(world.rename(columns={"value_usd": "world_x"}), on="product")
    cut = cut.merge(
        sold.rename(columns={"exporter": "supplier", "value_usd": "sup_x"}),
        on=["supplier", "product"],
    )
    # The supplier's customers are all hit; the pool is what the others sell to the rest.
    hit_m = (
        cut.groupby(["supplier", "product"], as_index=False)["m"]
        .sum()
        .rename(columns={"m": "hit_m"})
    )
    cut = cut.merge(hit_m, on=["supplier", "product"])
    pool = REDIRECT * (cut["world_x"] - cut["hit_m"]).clip(lower=0.0)
    cut["redirectable"] = cut["lost"] * np.minimum(1.0, pool / cut["sup_x"])
    cut = cut.merge(sectors, on="product")
    totals = cut.groupby(["importer", "sector", "supplier"], as_index=False)[
        ["lost", "redirectable"]
    ].sum()
    shortfall = (totals["lost"] - totals["redirectable"]).sum()
    return {"rows": len(totals), "shortfall": float(shortfall)}


METHODS = {"chokepoints": run_chokepoints, "pandas": run_pandas}


def measure(method: str, files: list[Path]) -> dict[str, float]:
    """Run one method in its own process; return its figures and peak RSS."""
    return run_child(__file__, ["--child", method, *map(str, files)])


def main() -> None:
    """Parse arguments; run one method (child) or the comparison (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-year", type=int, default=11_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        __import__("chokepoints.analysis.stress")
        __import__("pandas")
        run_in_child(METHODS, args.child, args.files)
        return
    with tempfile.TemporaryDirectory(prefix="chokepoints-stress-") as folder:
        files = generate_in_child(Path(folder), args.rows_per_year)
        print(
            f"generated 3 x {args.rows_per_year:,} flows; stress test of {YEAR} "
            f"on {os.cpu_count()} cores"
        )
        rounds = [{m: measure(m, files) for m in METHODS} for _ in range(args.repeat)]
        results = {
            m: {k: statistics.median(r[m][k] for r in rounds) for k in rounds[0][m]}
            for m in METHODS
        }
        print_results(results)
        a, b = results["chokepoints"], results["pandas"]
        print(
            f"pandas / chokepoints: {b['seconds'] / a['seconds']:.2f}x; "
            f"target: chokepoints under 30 s"
        )
        same = a["rows"] == b["rows"] and abs(a["shortfall"] - b["shortfall"]) <= 1e-6 * max(
            1.0, abs(b["shortfall"])
        )
        print(
            "agreement: " + ("same rows and total shortfall" if same else f"DIFFERENT: {a} vs {b}")
        )
    print(
        "input-output: extraction of one country from a 3,000 x 3,000 system "
        "(benchmarks/extraction.py; target under 2 s)",
        flush=True,
    )
    subprocess.run([sys.executable, str(HERE / "extraction.py")], check=True)


if __name__ == "__main__":
    main()
