"""Benchmark: reading an OECD ICIO table of the real size from its CSV, then from its Parquet copy.

Generates (once, kept in ``--workdir``) a table in the OECD layout at the size of the 2023
release: 77 regions (76 economies + ROW) x 45 industries = 3,465 rows and columns of ``Z``,
6 final-demand columns per region (462), rows ``TLS``, ``VA``, ``OUT`` and column ``OUT``,
values in million USD written at full precision (Python's shortest round-trip repr): about
230 MB, as the real file. Then times, each in its own child process with its peak RSS:

* ``parse``: ``sources.icio.read_icio``, the CSV parsed by pymrio (the baseline);
* ``first``: ``read_icio_cached`` on an empty cache: the parse plus writing the Parquet copy;
* ``second``: ``read_icio_cached`` again: the copy, found by the source's path, size and mtime;
* ``hashed``: the same after touching the source: the copy found by the SHA-256 of the file;
* ``question_first`` / ``question_second`` (with ``--question``): the whole
  ``Workspace.exposure(..., via="icio")`` on an empty home, then again.

Prints seconds, peak RSS and the ratios; checks that the copy's ``Z`` and ``Y`` equal the parse's.
Target: the second read under 3 s. BLAS threads are pinned to ``--threads`` (default 2).

    python benchmarks/icio_cache.py [--workdir /tmp/chokepoints-icio-bench] [--question]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from harness import run_child, run_in_child

REGIONS = 77
INDUSTRIES = [
    "A01_02",
    "A03",
    "B05_06",
    "B07_08",
    "B09",
    "C10T12",
    "C13T15",
    "C16",
    "C17_18",
    "C19",
    "C20",
    "C21",
    "C22",
    "C23",
    "C24",
    "C25",
    "C26",
    "C27",
    "C28",
    "C29",
    "C301",
    "C302T309",
    "C31T33",
    "D",
    "E",
    "F",
    "G",
    "H49",
    "H50",
    "H51",
    "H52",
    "H53",
    "I",
    "J58T60",
    "J61",
    "J62_63",
    "K",
    "L",
    "M",
    "N",
    "O",
    "P",
    "Q",
    "R_S",
    "T",
]
FINAL_DEMAND = ("HFCE", "NPISH", "GGFC", "GFCF", "INVNT", "DPABR")
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def region_codes() -> list[str]:
    """76 ISO3 codes of the reference table (none matching pymrio's final-demand regex) + ROW."""
    import re

    from chokepoints.reference.countries import known_iso3

    demand = re.compile("HFCE|NPISH|NPS|GGFC|GFCF|INVNT|INV|DIRP|DPABR|FD|P33|DISC|OUT")
    codes = sorted(c for c in known_iso3() if not demand.search(c))
    return [*codes[: REGIONS - 1], "ROW"]


def generate(path: Path, seed: int = 2023) -> None:
    """Write a table in the OECD layout: ``Z`` dense and random, ``Y`` sized so that every
    column of ``A`` sums to about 0.5, TLS and VA closing each column, OUT the row totals."""
    rng = np.random.default_rng(seed)
    regions = region_codes()
    labels = [f"{r}_{i}" for r in regions for i in INDUSTRIES]
    demand_labels = [f"{r}_{f}" for r in regions for f in FINAL_DEMAND]
    n, m = len(labels), len(demand_labels)
    z = rng.lognormal(0.0, 2.0, (n, n)) * (rng.random((n, n)) < 0.85)
    y = rng.random((n, m))
    y *= (z.sum(axis=1) / y.sum(axis=1))[:, None]
    out = z.sum(axis=1) + y.sum(axis=1)
    tls = 0.05 * out
    va = out - z.sum(axis=0) - tls
    header = ",".join(["V1", *labels, *demand_labels, "OUT"])
    partial = path.with_name(path.name + ".part")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        for k, label in enumerate(labels):
            values = np.concatenate([z[k], y[k], [out[k]]])
            handle.write(label + "," + ",".join(map(repr, values.tolist())) + "\n")
        for label, row in (("TLS", tls), ("VA", va), ("OUT", out)):
            values = np.concatenate([row, np.zeros(m), [0.0]])
            handle.write(label + "," + ",".join(map(repr, values.tolist())) + "\n")
    partial.rename(path)


def _parse(files: list[Path]) -> dict[str, float]:
    from chokepoints.sources.icio import read_icio

    system = read_icio(files[0])
    return {"rows": len(system.Z)}


def _cached(files: list[Path]) -> dict[str, float]:
    from chokepoints.sources.icio_cache import read_icio_cached

    read = read_icio_cached(files[0], None, files[1])
    return {"rows": len(read.system.Z), "from_cache": float(read.how == "cache")}


def _question(files: list[Path]) -> dict[str, float]:
    from chokepoints.workspace import Workspace

    frame = Workspace.open(files[1]).exposure("DEU", "CHN", via="icio", icio=files[0])
    return {
        "rows": len(frame),
        "from_cache": float(frame.attrs["provenance"]["icio"]["read"] == "cache"),
    }


METHODS = {
    "parse": _parse,
    "first": _cached,
    "second": _cached,
    "hashed": _cached,
    "question_first": _question,
    "question_second": _question,
}


def check_equal(csv: Path, cache: Path) -> bool:
    """Whether the copy's ``Z`` and ``Y`` equal the parse's, value for value and label for label."""
    from chokepoints.sources.icio import read_icio
    from chokepoints.sources.icio_cache import read_icio_cached

    parsed, cached = read_icio(csv), read_icio_cached(csv, None, cache)
    return (
        cached.how == "cache"
        and parsed.Z.equals(cached.system.Z)
        and parsed.Y.equals(cached.system.Y)
    )


def main() -> None:
    """Parse arguments; run one method (child) or the comparison (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/chokepoints-icio-bench"))
    parser.add_argument("--question", action="store_true", help="Also time Workspace.exposure.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        for module in ("pandas", "pymrio", "pyarrow.parquet", "chokepoints.sources.icio_cache"):
            __import__(module)
        run_in_child(METHODS, args.child, args.files)
        return
    if any(os.environ.get(v) != str(args.threads) for v in THREAD_VARIABLES):
        os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(args.threads)))
        os.execv(sys.executable, [sys.executable, *sys.argv])
    args.workdir.mkdir(parents=True, exist_ok=True)
    csv, cache, home = (args.workdir / p for p in ("2020_SML.csv", "cache", "home"))
    if not csv.exists():
        started = time.perf_counter()
        generate(csv)
        print(f"generated {csv} in {time.perf_counter() - started:.0f} s")
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    n = REGIONS * len(INDUSTRIES)
    print(
        f"table: {n:,} x {n:,} Z + {REGIONS * len(FINAL_DEMAND)} final-demand columns "
        f"({REGIONS} regions x {len(INDUSTRIES)} industries), {csv.stat().st_size / 1e6:,.0f} MB"
    )
    results = {}
    for method in ("parse", "first", "second", "hashed"):
        if method == "hashed":
            os.utime(csv)  # a new mtime: the copy is found by the file's hash
        results[method] = run_child(__file__, ["--child", method, str(csv), str(cache)])
    if args.question:
        for method in ("question_first", "question_second"):
            results[method] = run_child(__file__, ["--child", method, str(csv), str(home)])
    copy_mb = sum(f.stat().st_size for f in next(cache.iterdir()).iterdir()) / 1e6
    print(f"{'method':<16} {'seconds':>8} {'peak RSS MiB':>13} {'from copy':>10}")
    for method, result in results.items():
        used = {1.0: "yes", 0.0: "no"}.get(result.get("from_cache", -1.0), "-")
        print(f"{method:<16} {result['seconds']:>8.2f} {result['peak_rss_mib']:>13,.0f} {used:>10}")
    parse, second = results["parse"], results["second"]
    print(
        f"parse / second read: {parse['seconds'] / second['seconds']:.1f}x faster; peak RSS "
        f"{second['peak_rss_mib']:,.0f} MiB from the copy, {parse['peak_rss_mib']:,.0f} MiB "
        f"parsing; copy {copy_mb:,.0f} MB on disk; target: second read under 3 s"
    )
    if args.question:
        a, b = results["question_first"], results["question_second"]
        print(f"exposure question: {a['seconds']:.1f} s first, {b['seconds']:.1f} s second")
    print("copy equal to the parse (Z, Y): " + ("yes" if check_equal(csv, cache) else "NO"))
    print(json.dumps({m: {k: round(v, 3) for k, v in r.items()} for m, r in results.items()}))


if __name__ == "__main__":
    main()
