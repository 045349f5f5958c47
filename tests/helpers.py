"""Small test utilities: BACI-format files written by tests, and store snapshots."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from chokepoints import cli

BACI_HEADER = "t,i,j,k,v,q"

#: A tiny BACI HS17 year: France (251), USA (842), Taiwan (490), Japan (392), China (156).
SMALL_ROWS = [
    "2021,156,392,850511,1000.5,12.5",
    "2021,251,392,850511,200,NA",
    "2021,490,392,854231,3000.25,",
    "2021,842,156,854231,50,  1.000",
    "2021,392,842,10121,7.5,3",
]


def write_baci(
    folder: Path,
    rows: list[str],
    *,
    name: str = "BACI_HS17_Y2021_V202501.csv",
    header: str = BACI_HEADER,
) -> Path:
    """Write a BACI-layout CSV with ``rows`` under ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def snapshot(home: Path) -> dict[str, str]:
    """sha256 of every file under ``home`` except the lock file, keyed by relative path."""
    return {
        p.relative_to(home).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def _invoke(args: tuple[str, ...]) -> int:
    """``chokepoints ARGS`` in-process; its exit code."""
    argv = sys.argv
    sys.argv = ["chokepoints", *args]
    try:
        cli.main()
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``chokepoints ARGS`` in-process; return (exit code, stdout, stderr)."""
    code = _invoke(args)
    out, err = capsys.readouterr()
    return code, out, err


def run_quietly(*args: str) -> tuple[int, str, str]:
    """Run ``chokepoints ARGS`` in-process with stdout and stderr captured in buffers (no
    capsys: for module and session fixtures); return (exit code, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _invoke(args)
    return code, out.getvalue(), err.getvalue()


def assert_one_sentence_error(code: int, err: str) -> None:
    """A user error: exit 1, a single 'error:' sentence, no traceback."""
    assert code == 1
    assert "Traceback" not in err
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1, err


def require_spark(what: str = "the Spark tests") -> None:
    """Skip when PySpark or Java is missing; under ``CI=true`` fail instead, naming ``what``."""
    import os
    import shutil

    try:
        import pyspark  # noqa: F401
    except ImportError:
        reason: str | None = "PySpark is not installed (pip install '.[spark]')"
    else:
        java = shutil.which("java") is not None or os.environ.get("JAVA_HOME")
        reason = None if java else "no Java runtime (Spark needs Java 17)"
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} must run in CI: {reason}")
    pytest.skip(reason)
