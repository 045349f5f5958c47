"""What the server was started with: where the store is, who may ask, and the limits."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

#: Rows a table answer returns at most (a client asks for fewer with ``limit``).
MAX_ROWS = 5000
#: Seconds a question may run before the server gives up on it and answers 504.
TIMEOUT_SECONDS = 30.0
#: Workspaces answering side by side (each with its own DuckDB connection).
WORKERS = 2
#: Answers kept in the cache (least recently used dropped first).
CACHE_ENTRIES = 512
#: Seconds a background job (a report, the stress test over every sector) may run.
JOB_TIMEOUT_SECONDS = 1800.0
#: Jobs kept with their results (the oldest finished one is dropped for a new one).
MAX_JOBS = 20
#: Bytes a request may send (a job's JSON body); the query string gets as many characters.
MAX_REQUEST_BYTES = 16_384


@dataclass(frozen=True)
class ServerSettings:
    """The server's settings; ``token`` None means no authentication (local binds only)."""

    home: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    timeout_seconds: float = TIMEOUT_SECONDS
    max_rows: int = MAX_ROWS
    workers: int = WORKERS
    cache_entries: int = CACHE_ENTRIES
    job_timeout_seconds: float = JOB_TIMEOUT_SECONDS
    max_jobs: int = MAX_JOBS
    #: Answer pages and questions from world screens prepared per store generation.
    screens: bool = True


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
