"""Input paths checked before any reader opens them: existing regular files (or folders).

A reader handed a named pipe waits forever for a writer, one handed ``/dev/zero`` reads without
end, and a folder given for a file surfaces as "does not exist". :func:`check_input` refuses
each in one sentence naming the path, before a byte is read.
"""

from __future__ import annotations

import stat
from pathlib import Path

from chokepoints.errors import InputError


def check_input(path: Path | str, *, folders: bool = False) -> Path:
    """``path`` once it is an existing regular file, or with ``folders`` also a folder."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise InputError("no such file; check the path", file=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read it ({exc.strerror or exc})", file=str(path)) from exc
    if stat.S_ISDIR(mode) and not folders:
        raise InputError(f"{path} is a folder; give a file")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise InputError(
            f"{path} is {node_kind(mode)}, not a regular file; give the path of a file"
        )
    return path


def node_kind(mode: int) -> str:
    """'a character device', 'a named pipe (FIFO)' ...: what a non-regular file is."""
    kinds = (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")
