"""Benchmark: hypothetical extraction of one country from a 3,000 x 3,000 input-output system.

Generates a random, well-conditioned multi-regional system, deterministically: R regions x S
sectors (default 60 x 50 = 3,000, about the size of OECD ICIO's 81 x 50), dense domestic blocks
and about 5% non-zero foreign coefficients, every column of ``A`` rescaled to sum to 0.3-0.7
(so ``I - A`` is diagonally dominant), and positive final demand. Then times, as medians of
``--repeat`` runs:

* ``chokepoints``: ``hypothetical_extraction(A, y, region)`` on labelled frames: one LU solve
  of ``I - A`` against ``[y, E]`` and a Woodbury update for ``x*``, plus the pandas labelling;
* ``explicit_inverse``: the textbook route, ``x = inv(I - A) y`` and ``x* = inv(I - A*) y``,
  the baseline that the kernel avoids.

Prints seconds, their ratio, the largest difference between the two results and the process's
peak RSS. BLAS threads are limited to ``--threads`` (default 2) by re-executing the script with
``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` set.

    python benchmarks/extraction.py [--regions 60] [--sectors 50] [--repeat 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np
import pandas as pd

from chokepoints.analysis.input_output import hypothetical_extraction

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
FOREIGN_DENSITY = 0.05


def random_system(regions: int, sectors: int, seed: int = 42) -> tuple[pd.DataFrame, pd.Series]:
    """A labelled ``(A, y)`` with dense domestic blocks, sparse trade and column sums < 1."""
    rng = np.random.default_rng(seed)
    n = regions * sectors
    a = rng.random((n, n)) * (rng.random((n, n)) < FOREIGN_DENSITY)
    for r in range(regions):
        block = slice(r * sectors, (r + 1) * sectors)
        a[block, block] = rng.random((sectors, sectors)) * 4.0
    a *= rng.uniform(0.3, 0.7, n) / a.sum(axis=0)
    labels = pd.MultiIndex.from_product(
        [[f"R{r:02d}" for r in range(regions)], [f"S{s:02d}" for s in range(sectors)]],
        names=["region", "sector"],
    )
    demand = pd.Series(rng.uniform(10.0, 1000.0, n), index=labels)
    return pd.DataFrame(a, index=labels, columns=labels), demand


def explicit_inverse_loss(a: np.ndarray, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The baseline: ``x - x*`` through two explicitly inverted Leontief matrices."""
    eye = np.eye(len(a))
    extracted = a.copy()
    extracted[rows] = 0.0
    return np.linalg.inv(eye - a) @ y - np.linalg.inv(eye - extracted) @ y


def median_seconds(run, repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls of ``run`` and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    """Parse arguments, pin BLAS threads, build the system and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=60)
    parser.add_argument("--sectors", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if any(os.environ.get(v) != str(args.threads) for v in THREAD_VARIABLES):
        os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(args.threads)))
        os.execv(sys.executable, [sys.executable, *sys.argv])

    a, y = random_system(args.regions, args.sectors)
    supplier = "R00"
    rows = np.asarray(a.index.get_level_values(0) == supplier)
    ours, result = median_seconds(lambda: hypothetical_extraction(a, y, supplier), args.repeat)
    baseline, expected = median_seconds(
        lambda: explicit_inverse_loss(a.to_numpy(), y.to_numpy(), rows), args.repeat
    )
    loss = result["loss"].to_numpy()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"system: {len(a):,} x {len(a):,} ({args.regions} regions x {args.sectors} sectors)")
    print(f"BLAS threads: {args.threads}; repeats: {args.repeat} (medians)")
    print(f"extraction of {supplier} (chokepoints, LU + Woodbury): {ours:.3f} s")
    print(f"explicit-inverse baseline:                     {baseline:.3f} s")
    print(f"baseline / chokepoints: {baseline / ours:.1f}x")
    print(f"total output loss: {loss.sum():,.1f} of {result['output'].sum():,.1f}")
    print(f"max |difference| to baseline: {np.abs(loss - expected).max():.2e}")
    print(f"peak RSS: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
