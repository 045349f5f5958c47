"""Benchmark: look-through origin of every importer of every chain product, at BACI scale.

Generates one synthetic year of about 11 million flows (``benchmarks/synthetic.py``, in a child
process) and lays a value chain over its codes: 40 products each with an input one step up and
an input of that input (depth 2, as magnets <- rare-earth metals <- compounds). Then times,
each in its own child process:

* ``chokepoints``: the year's flows of the 120 products read from Parquet with Ibis/DuckDB,
  then ``analysis.upstream.effective_origins`` for every importer of every chain product (the
  shares only: the paths are listed for the importer a user asks about);
* ``pandas``: a straightforward version, one importer and one supplier at a time with
  dictionaries of supply mixes.

Prints seconds, peak RSS and the ratio, and checks that both find the same effective shares.
Target: under 10 s and 3 GB peak RSS.

    python benchmarks/upstream.py [--rows-per-year 11000000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import defaultdict
from pathlib import Path

from harness import print_results, run_child, run_in_child
from synthetic import generate_in_child

YEAR = 2022
CHAINS = 40


def chain_codes(files: list[Path]) -> list[tuple[str, str, str]]:
    """(product, input, input of the input) triples over the synthetic codes."""
    import duckdb

    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    codes = [
        row[0]
        for row in duckdb.sql(
            f"SELECT DISTINCT product FROM read_parquet({listing}) WHERE year = {YEAR} "
            "ORDER BY product"
        ).fetchall()
    ]
    step = len(codes) // (3 * CHAINS)
    return [(codes[3 * k * step], codes[(3 * k + 1) * step], codes[(3 * k + 2) * step])
            for k in range(CHAINS)]  # fmt: skip


def read_flows(files: list[Path], codes: list[str]):
    """The year's flows of ``codes`` (exporter, importer, product, value_usd) as pandas."""
    import ibis

    con = ibis.duckdb.connect()
    flows = con.read_parquet([str(f) for f in files])
    mine = flows.filter(flows.year == YEAR, flows["product"].isin(codes), flows.value_usd > 0)
    return mine.select("exporter", "importer", "product", "value_usd").to_pandas()


def run_chokepoints(files: list[Path]) -> dict[str, float]:
    """Every importer of every chain product, through two inputs."""
    import pandas as pd

    from chokepoints.analysis.upstream import effective_origins

    chains = chain_codes(files)
    flows = read_flows(files, [code for chain in chains for code in chain])
    results = [
        effective_origins(flows, product, [first, second], with_paths=False).assign(product=product)
        for product, first, second in chains
    ]
    frame = pd.concat(results, ignore_index=True)
    return summary(frame)


def run_pandas(files: list[Path]) -> dict[str, float]:
    """The same, one importer, supplier and origin at a time."""
    import pandas as pd

    chains = chain_codes(files)
    flows = read_flows(files, [code for chain in chains for code in chain])
    rows = []
    for product, first, second in chains:
        mixes = [mix_dict(flows[flows["product"] == code]) for code in (first, second)]
        mine = flows[flows["product"] == product]
        for importer, bought in mine.groupby("importer"):
            total = bought["value_usd"].sum()
            shares = {
                o: v / total for o, v in bought.groupby("exporter")["value_usd"].sum().items()
            }
            for mix in mixes:
                stepped: dict[str, float] = defaultdict(float)
                for supplier, share in shares.items():
                    for origin, part in mix.get(supplier, {supplier: 1.0}).items():
                        stepped[origin] += share * part
                shares = stepped
            rows += [(product, importer, o, s) for o, s in shares.items()]
    frame = pd.DataFrame(rows, columns=["product", "importer", "origin", "effective_share"])
    return summary(frame)


def mix_dict(flows) -> dict[str, dict[str, float]]:
    """country -> origin -> share of its supply of one input (imports plus its own exports)."""
    supply: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for exporter, importer, value in zip(
        flows["exporter"], flows["importer"], flows["value_usd"], strict=True
    ):
        supply[importer][exporter] += value
        supply[exporter][exporter] += value
    return {
        country: {origin: v / sum(parts.values()) for origin, v in parts.items()}
        for country, parts in supply.items()
    }


def summary(frame) -> dict[str, float]:
    """Row count and a checksum of the effective shares, to compare the methods."""
    kept = frame[frame["effective_share"] > 1e-12]
    weights = kept["effective_share"] * (kept["origin"].str.len() + 7 * kept["importer"].str.len())
    return {"rows": len(kept), "checksum": float(weights.sum())}


METHODS = {"chokepoints": run_chokepoints, "pandas": run_pandas}


def main() -> None:
    """Parse arguments; run one method (child) or the comparison (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-year", type=int, default=11_000_000)
    parser.add_argument("--child", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        __import__("chokepoints.analysis.upstream")
        __import__("ibis")
        run_in_child(METHODS, args.child, args.files)
        return
    with tempfile.TemporaryDirectory(prefix="chokepoints-upstream-") as folder:
        files = generate_in_child(Path(folder), args.rows_per_year)
        print(
            f"generated 3 x {args.rows_per_year:,} flows; look-through of every importer of "
            f"{CHAINS} chain products at depth 2 in {YEAR}, on {os.cpu_count()} cores"
        )
        results = {m: run_child(__file__, ["--child", m, *map(str, files)]) for m in METHODS}
    print_results(results)
    a, b = results["chokepoints"], results["pandas"]
    print(f"pandas / chokepoints: {b['seconds'] / a['seconds']:.2f}x; target: under 10 s, 3 GB")
    same = a["rows"] == b["rows"] and abs(a["checksum"] - b["checksum"]) <= 1e-6 * b["checksum"]
    print("agreement: " + ("same effective shares" if same else f"DIFFERENT: {a} vs {b}"))


if __name__ == "__main__":
    main()
