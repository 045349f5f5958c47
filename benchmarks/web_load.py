"""Benchmark: the web server under 20 analysts browsing country and product views.

Generates a BACI-scale synthetic year (``--rows-per-year``, default 11 million flows, about 200
countries and 5,000 HS6-like products; ``benchmarks/synthetic.py``'s panel generator, as BACI
CSVs), ingests it with ``Workspace.ingest_baci`` into a store (kept in ``--work`` and reused),
starts ``chokepoints serve`` on a free loopback port, and runs locust headless (``--users``,
default 20, for ``--seconds``, default 60) against it. Each simulated analyst opens country
views (``VIEWS["country"]``), product views and, as the baseline in the same run, a reference
list answered from the cache without touching the trade data (``VIEWS["baseline"]``).

A view's first request for a URL in the run is *uncached* (the server computes the answer),
later ones *cached*; locust names them apart. Prints p50/p95 latency per kind, request and
error counts, the ratio of cached views' p95 to the baseline's, and the server's peak RSS.
Targets (issue #15): p95 < 300 ms cached, < 2 s uncached country views, no errors.

    python benchmarks/web_load.py [--rows-per-year 11000000] [--seconds 60] [--users 20]
        [--work DIR]
    python benchmarks/web_load.py --rows-per-year 300000 --seconds 15   # smoke test

This file is also the locustfile: locust imports it as a module (``locust -f``), and only then
is the user class defined (importing locust patches the standard library with gevent, which the
parent, managing processes, does without).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: What an analyst opens: the country and product pages; the baseline is a cached reference
#: list (no trade data read), the floor of what a request costs on this server.
VIEWS = {
    "country": "/country/{economy}",
    "product": "/product/{code}",
    "baseline": "/api/v1/groups",
}
#: Countries and products browsed: drawn from the largest traders and the first codes, so that
#: analysts meet each other's views (cached) as well as new ones.
ECONOMIES = 40
PRODUCTS = 150
#: Seconds an analyst reads a view before the next one.
THINK = (0.5, 2.0)


def say(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the store -------------------------------------------------------------------------------
def build_store(work: Path, rows: int) -> Path:
    """A store holding one synthetic year of ``rows`` flows (reused when already built)."""
    home = work / f"store-{rows}"
    if (home / "manifest.json").is_file():
        return home
    baci = work / f"baci-{rows}"
    sys.path.insert(0, str(HERE))
    from synthetic import generate_panel, panel_years

    started = time.perf_counter()
    generate_panel(baci, rows, panel_years(1))
    shutil.rmtree(baci / ".tmp", ignore_errors=True)
    say(f"generated {rows:,} flows in {time.perf_counter() - started:,.0f} s")
    started = time.perf_counter()
    script = (
        "import sys; from pathlib import Path; from chokepoints.workspace import Workspace; "
        "Workspace.open(Path(sys.argv[1])).ingest_baci(Path(sys.argv[2]))"
    )
    subprocess.run([sys.executable, "-c", script, str(home), str(baci)], check=True)
    say(f"ingested in {time.perf_counter() - started:,.0f} s")
    shutil.rmtree(baci)
    return home


def browse_lists(home: Path) -> dict[str, list[str]]:
    """The economies (largest importers first) and products (most traded) analysts open."""
    import duckdb

    from chokepoints.store import Store

    store = Store(home)
    files = [str(f) for f in store.files("trade", store.manifest())]
    con = duckdb.connect()
    economies = con.execute(
        "SELECT importer FROM read_parquet(?) GROUP BY importer ORDER BY sum(value_usd) DESC "
        f"LIMIT {ECONOMIES}",
        [files],
    ).fetchall()
    products = con.execute(
        "SELECT product FROM read_parquet(?) GROUP BY product ORDER BY sum(value_usd) DESC "
        f"LIMIT {PRODUCTS}",
        [files],
    ).fetchall()
    return {"economies": [e for (e,) in economies], "products": [p for (p,) in products]}


# -- the server ------------------------------------------------------------------------------
def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``chokepoints serve`` on loopback, its output in ``log``; returns once it answers (it
    prepares its world screens first)."""
    import httpx

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chokepoints",
                "serve",
                "--home",
                str(home),
                "--port",
                str(port),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/datasets", timeout=60).is_success:
                say(f"server ready in {time.perf_counter() - started:,.0f} s (log: {log})")
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not answer within 300 s; see {log}")


def peak_rss_mib(pid: int) -> float:
    """Peak RSS (MiB) of a running process (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the load --------------------------------------------------------------------------------
def run_locust(url: str, lists: dict[str, list[str]], users: int, seconds: int, out: Path) -> Path:
    """locust headless against ``url``; returns the prefix of its CSV statistics."""
    prefix = out / "locust"
    env = {
        **os.environ,
        "WEB_LOAD_LISTS": json.dumps(lists),
        "WEB_LOAD_BY_SERVER": str(out / "by_server.json"),
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(Path(__file__)), "--headless",
        "--host", url, "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{seconds}s", "--csv", str(prefix), "--only-summary",
        "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    subprocess.run(command, check=True, env=env, cwd=out)
    return prefix


def read_stats(prefix: Path) -> list[dict[str, str]]:
    """locust's per-name statistics (``PREFIX_stats.csv``)."""
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def report(stats: list[dict[str, str]], rss: float, args: argparse.Namespace) -> None:
    """p50/p95 per kind of request, errors, the ratio to the baseline and the peak RSS."""
    print(
        f"\nweb load: {args.users} users for {args.seconds} s, "
        f"{args.rows_per_year:,} flows in the store\n"
    )
    print(f"{'request':<22}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    rows = {row["Name"]: row for row in stats}
    for name, row in rows.items():
        print(
            f"{name:<22}{row['Request Count']:>8}{row['Failure Count']:>8}{row['50%']:>9}"
            f"{row['95%']:>9}{float(row['Max Response Time']):>9.0f}"
        )
    baseline = float(rows.get("baseline", {}).get("95%", "nan") or "nan")
    for name in ("country cached", "product cached"):
        if name in rows and baseline == baseline and baseline > 0:
            print(f"{name} p95 / baseline p95: {float(rows[name]['95%']) / baseline:.1f}")
    print(f"server peak RSS: {rss:,.0f} MiB")


def report_by_server(path: Path) -> None:
    """p50/p95 of the pages by what the server says: ``hit`` (a kept page) or ``miss`` (made
    for the request, perhaps after waiting for another request's computation)."""
    if not path.is_file():
        return
    times: dict[tuple[str, str], list[float]] = {}
    for kind, said, ms in json.loads(path.read_text()):
        times.setdefault((kind, said), []).append(ms)
    print("\nby the server's X-Chokepoints-Cache header")
    print(f"{'page':<22}{'count':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for (kind, said), values in sorted(times.items()):
        ordered = sorted(values)
        p50 = ordered[len(ordered) // 2]
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(f"{kind + ' ' + said:<22}{len(ordered):>8}{p50:>9.0f}{p95:>9.0f}")


def main() -> None:
    """Build the store, serve it, load it, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-year", type=int, default=11_000_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--work", type=Path, help="work folder, kept (default: a temporary one)")
    args = parser.parse_args()
    if importlib.util.find_spec("locust") is None:
        sys.exit("locust is not installed: pip install -e '.[bench]'")
    work = args.work or Path(tempfile.mkdtemp(prefix="web-load-"))
    work.mkdir(parents=True, exist_ok=True)
    home = build_store(work, args.rows_per_year)
    lists = browse_lists(home)
    port = free_port()
    server = start_server(home, port, work / "server.log")
    try:
        prefix = run_locust(f"http://127.0.0.1:{port}", lists, args.users, args.seconds, work)
        rss = peak_rss_mib(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    report(read_stats(prefix), rss, args)
    report_by_server(work / "by_server.json")
    if args.work is None:
        shutil.rmtree(work)


# -- the locustfile ----------------------------------------------------------------------------
if __name__ != "__main__":
    from locust import HttpUser, between, events, task

    _LISTS = json.loads(os.environ.get("WEB_LOAD_LISTS", '{"economies": [], "products": []}'))
    _SEEN: set[str] = set()
    #: (kind, what the server says of its cache, milliseconds) of every page answered.
    _BY_SERVER: list[tuple[str, str, float]] = []

    @events.request.add_listener
    def _by_server(name: str, response_time: float, response: Any, **_: Any) -> None:
        """Each page's time, under the cache state the server reports for it."""
        said = getattr(response, "headers", {}).get("X-Chokepoints-Cache")
        if said:
            _BY_SERVER.append((name.split()[0], said, response_time))

    @events.quitting.add_listener
    def _write_by_server(**_: Any) -> None:
        Path(os.environ["WEB_LOAD_BY_SERVER"]).write_text(json.dumps(_BY_SERVER))

    class Analyst(HttpUser):
        """Opens country and product views, and now and then the baseline."""

        wait_time = between(*THINK)

        def view(self, kind: str, url: str) -> None:
            """GET ``url``, named by kind and whether this run asked it before."""
            name = f"{kind} {'cached' if url in _SEEN else 'uncached'}"
            _SEEN.add(url)
            self.client.get(url, name=name)

        @task(3)
        def country(self) -> None:
            economy = random.choice(_LISTS["economies"])
            self.view("country", VIEWS["country"].format(economy=economy))

        @task(2)
        def product(self) -> None:
            code = random.choice(_LISTS["products"])
            self.view("product", VIEWS["product"].format(code=code))

        @task(1)
        def baseline(self) -> None:
            self.client.get(VIEWS["baseline"], name="baseline")


if __name__ == "__main__":
    main()
