"""Benchmark: batch diversification and partner comparison at BACI scale.

Generates three synthetic years of about 11 million flows each (the generator of
``benchmarks/synthetic.py``, in a child process) and times, each in its own child process:

* ``batch``: for the largest importer, every concentrated import (HHI > 0.4) optimised with
  ``diversify.supplier_capacities`` + ``optimise_many`` (exact water-filling);
* ``slsqp``: the baseline, the same optimisation with ``scipy.optimize.minimize(SLSQP)`` on the
  first 200 of those products, extrapolated to all of them (labelled as such);
* ``choice``: the optimiser alone on those products, continuous (``min_share=0``) against the
  default ``min_share=0.01`` and against ``min_share=0.01, max_new_suppliers=3`` (best of
  three runs each, in the same process), with the ratios;
* ``compare``: the four cooperation analyses for the two largest importers over all products.

Targets: batch and compare under 10 s each on 2 cores.

    python benchmarks/diversify.py [--rows-per-year 11000000]
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

HERE = Path(__file__).resolve().parent
YEAR = 2022
BASELINE_SAMPLE = 200


def _flows(files: list[Path]):
    """An Ibis DuckDB table over the generated files, and the two largest importers."""
    import ibis

    con = ibis.duckdb.connect()
    flows = con.read_parquet([str(f) for f in files])
    top = (
        flows.filter(flows.year == YEAR)
        .group_by("importer")
        .aggregate(m=flows.value_usd.sum())
        .order_by(ibis.desc("m"))
        .limit(2)
        .to_pandas()["importer"]
        .tolist()
    )
    return flows, top


def _concentrated_capacities(files: list[Path]):
    """Capacities of the largest importer's concentrated imports, materialised."""
    from chokepoints.analysis.concentration import import_concentration
    from chokepoints.analysis.diversify import supplier_capacities

    flows, (importer, _) = _flows(files)
    mine = flows.filter((flows.year == YEAR) & (flows.importer == importer))
    chosen = import_concentration(mine, top3=False)
    chosen = chosen.filter(chosen.hhi > 0.4).select("product")
    return supplier_capacities(flows, importer, YEAR).semi_join(chosen, "product").to_pandas()


def run_batch(files: list[Path]) -> dict[str, float]:
    """Query and optimise every concentrated import of the largest importer."""
    from chokepoints.analysis.sourcing import optimise_many

    capacities = _concentrated_capacities(files)
    summary, _ = optimise_many(capacities, max_share=0.4)
    return {"products": len(summary), "feasible": int(summary["feasible"].sum())}


#: Optimiser settings timed by ``choice``; the first is the baseline of the ratios.
CHOICES = {
    "continuous": {"min_share": 0.0},
    "min_share": {"min_share": 0.01},
    "capped": {"min_share": 0.01, "max_new_suppliers": 3},
}


def run_choice(files: list[Path]) -> dict[str, float]:
    """The optimiser alone, continuous against min_share and max_new_suppliers."""
    from chokepoints.analysis.sourcing import optimise_many

    capacities = _concentrated_capacities(files)
    figures: dict[str, float] = {"rows": len(capacities)}
    for name, options in CHOICES.items():
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            summary, _ = optimise_many(capacities, max_share=0.4, **options)
            runs.append(time.perf_counter() - started)
        figures[f"{name}_seconds"] = min(runs)
        figures[f"{name}_mean_suppliers"] = float(summary["suppliers_after"].mean())
    for name in list(CHOICES)[1:]:
        figures[f"{name}_ratio"] = figures[f"{name}_seconds"] / figures["continuous_seconds"]
    return figures


def run_slsqp(files: list[Path]) -> dict[str, float]:
    """The baseline: SLSQP on a sample of the same problems, extrapolated."""
    import numpy as np
    from scipy.optimize import minimize

    capacities = _concentrated_capacities(files)
    groups = list(capacities.groupby("product"))
    started = time.perf_counter()
    for _, group in groups[:BASELINE_SAMPLE]:
        current = group["current_usd"].to_numpy()
        total = current.sum()
        upper = np.minimum((current + 0.5 * group["capacity_usd"].to_numpy()) / total, 0.4)
        if upper.sum() < 1:
            continue
        start = np.minimum(current / total, upper)
        start = start + (1 - start.sum()) * (upper - start) / max((upper - start).sum(), 1e-12)
        minimize(
            lambda s: float(s @ s),
            start,
            jac=lambda s: 2 * s,
            method="SLSQP",
            bounds=list(zip(np.zeros_like(upper), upper, strict=True)),
            constraints=[{"type": "eq", "fun": lambda s: s.sum() - 1.0}],
        )
    sample = min(len(groups), BASELINE_SAMPLE)
    per_product = (time.perf_counter() - started) / max(sample, 1)
    return {"products": len(groups), "extrapolated_optimise_seconds": per_product * len(groups)}


def run_compare(files: list[Path]) -> dict[str, float]:
    """The four cooperation analyses for the two largest importers, materialised."""
    from chokepoints.analysis import cooperation

    flows, partners = _flows(files)
    rows = 0
    rows += cooperation.shared_chokepoints(flows, partners, YEAR).to_pyarrow().num_rows
    rows += cooperation.complementarity(flows, partners, YEAR).to_pyarrow().num_rows
    rows += cooperation.best_practice(flows, partners, YEAR).to_pyarrow().num_rows
    trusted = ["USA", "JPN", "DEU", "FRA", "GBR", "CAN", "ITA", "KOR", "AUS"]
    rows += (
        cooperation.joint_diversification(
            flows, partners, YEAR, trusted=[t for t in trusted if t not in partners]
        )
        .to_pyarrow()
        .num_rows
    )
    return {"rows": rows}


METHODS = {"batch": run_batch, "slsqp": run_slsqp, "choice": run_choice, "compare": run_compare}


def measure(method: str, files: list[Path]) -> dict[str, float]:
    """Run one method in its own process; return its figures and peak RSS."""
    return run_child(__file__, ["--child", method, *map(str, files)])


def main() -> None:
    """Parse arguments; run one method (child) or all of them (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-year", type=int, default=11_000_000)
    parser.add_argument("--child", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        __import__("chokepoints.analysis.diversify")
        __import__("chokepoints.analysis.cooperation")
        started = time.perf_counter()
        result = METHODS[args.child](args.files)
        print(json.dumps({"seconds": time.perf_counter() - started, **result}))
        return
    with tempfile.TemporaryDirectory(prefix="chokepoints-diversify-") as folder:
        files = generate_in_child(Path(folder), args.rows_per_year)
        print(f"generated 3 x {args.rows_per_year:,} flows; year {YEAR}; {os.cpu_count()} cores")
        for method in METHODS:
            result = measure(method, files)
            figures = ", ".join(
                f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v:,}" for k, v in result.items()
            )
            print(f"{method:<8} {figures}")
        print("targets: batch and compare under 10 s each")


if __name__ == "__main__":
    main()
