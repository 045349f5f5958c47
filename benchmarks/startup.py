"""Benchmark: how long the command line takes to start, against a bare Python.

Each command runs ``--repeat`` times as a child process (the runs of all commands interleaved,
since a shared 2-core machine's timings wander), on the demo world in a temporary home:

* ``python``: ``python -c pass``, the floor every command pays;
* ``import``: ``python -c "import chokepoints"``;
* ``help``: ``chokepoints --help``;
* ``info``: ``chokepoints data info``, which reads only the manifest;
* ``deps``: ``chokepoints deps DEU``, one real question (engine, analysis and a table).

Prints the best and median seconds, the median's ratio to ``python -c pass`` and each
command's peak RSS (``os.wait4``, as ``harness.run_child`` measures it). Target: ``help`` and
``info`` under 0.5 s.

Compiled bytecode is kept, as an installed package has it, in a temporary
``PYTHONPYCACHEPREFIX`` (even under ``PYTHONDONTWRITEBYTECODE``, which would otherwise compile
every module at each run), warmed by one untimed run of each command; ``--no-bytecode``
sets ``PYTHONDONTWRITEBYTECODE`` instead, so that modules without bytecode beside them (a
source checkout's) are compiled at each run.

    python benchmarks/startup.py [--repeat 10] [--home HOME] [--no-bytecode]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: What the ``chokepoints`` console script runs (``[project.scripts]`` in pyproject.toml).
CLI = [sys.executable, "-c", "import sys; from chokepoints.cli import main; sys.exit(main())"]

COMMANDS = {
    "python": [sys.executable, "-c", "pass"],
    "import": [sys.executable, "-c", "import chokepoints"],
    "help": [*CLI, "--help"],
    "info": [*CLI, "data", "info"],
    "deps": [*CLI, "deps", "DEU"],
}


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one run of ``command``, its output discarded."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed")
    return seconds, usage.ru_maxrss / 1024


def measure(repeat: int, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """Per command: best and median seconds over ``repeat`` interleaved rounds (after one
    untimed run of each, which writes the bytecode), and peak RSS."""
    for command in COMMANDS.values():
        run_once(command, env)
    seconds: dict[str, list[float]] = {name: [] for name in COMMANDS}
    peaks: dict[str, float] = dict.fromkeys(COMMANDS, 0.0)
    for _ in range(repeat):
        for name, command in COMMANDS.items():
            took, peak = run_once(command, env)
            seconds[name].append(took)
            peaks[name] = max(peaks[name], peak)
    return {
        name: {
            "best": min(times),
            "median": statistics.median(times),
            "peak_rss_mib": peaks[name],
        }
        for name, times in seconds.items()
    }


def print_results(results: dict[str, dict[str, float]]) -> None:
    """One line per command: best and median seconds, ratio to ``python -c pass``, peak RSS."""
    floor = results["python"]["median"]
    print(f"{'command':<8} {'best s':>8} {'median s':>9} {'x python':>9} {'peak RSS MiB':>13}")
    for name, result in results.items():
        print(
            f"{name:<8} {result['best']:>8.3f} {result['median']:>9.3f} "
            f"{result['median'] / floor:>9.1f} {result['peak_rss_mib']:>13,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="Runs of each command.")
    parser.add_argument("--home", type=Path, help="A demo store to use (default: a new one).")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="Write no bytecode (compile at each run)."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chokepoints-startup-") as folder:
        home = args.home or Path(folder) / "home"
        env = {**os.environ, "CHOKEPOINTS_HOME": str(home), "NO_COLOR": "1"}
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env.pop("PYTHONPYCACHEPREFIX", None)
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "bytecode")
        if args.home is None:
            run_once([*CLI, "data", "demo"], env)
        cached = "no cached bytecode" if args.no_bytecode else "bytecode cached"
        print(f"{args.repeat} runs of each command on the demo store {home} ({cached})")
        print_results(measure(args.repeat, env))


if __name__ == "__main__":
    main()
