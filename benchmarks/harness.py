"""Shared piece of the benchmark scripts: each method in a child process, with its peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_child(script: str, args: list[str]) -> dict[str, float]:
    """Run ``script args`` in a child; return the JSON it prints plus its peak RSS (MiB).

    Each method runs in its own process so that its peak RSS (from ``os.wait4``) is its own.
    """
    child = subprocess.Popen([sys.executable, script, *args], stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(args)} failed")
    result = json.loads(output)
    result["peak_rss_mib"] = usage.ru_maxrss / 1024
    return result


def run_in_child(
    methods: dict[str, Callable[[list[Path]], dict[str, float]]], name: str, files: list[Path]
) -> None:
    """The child's side: run ``methods[name]`` on ``files`` and print its figures and seconds."""
    started = time.perf_counter()
    result = methods[name](files)
    print(json.dumps({"seconds": time.perf_counter() - started, **result}))


def print_results(results: dict[str, dict[str, float]]) -> None:
    """One line per method: seconds, rows and peak RSS."""
    print(f"{'method':<12} {'seconds':>8} {'rows':>10} {'peak RSS MiB':>13}")
    for method, result in results.items():
        print(
            f"{method:<12} {result['seconds']:>8.2f} {result['rows']:>10,.0f} "
            f"{result['peak_rss_mib']:>13,.0f}"
        )
