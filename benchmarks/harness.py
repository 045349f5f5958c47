"""Shared piece of the benchmark scripts: each method in a child process, with its peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
