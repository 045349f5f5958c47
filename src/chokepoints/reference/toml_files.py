"""Reading the TOML files users write (country groups, sectors) with errors that name the line."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from chokepoints.errors import InputError

_TOML_WHERE = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)")


def parse_toml(text: str, *, file: str) -> dict[str, Any]:
    """The parsed ``text`` of ``file``, or an InputError naming the line tomllib complains of."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_WHERE.search(message)
        line = None
        if match is not None:
            line = int(match.group(1)) if match.group(1) else len(text.splitlines())
        raise InputError(
            f"not valid TOML: {_TOML_WHERE.sub('', message)}", file=file, line=line
        ) from exc


def read_text(path: Path | str, *, what: str) -> str:
    """The UTF-8 text of a user's ``what`` file (``"sector"``...), or a one-sentence error."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"cannot read the {what} file ({reason})", file=str(path)) from exc


def packaged_files(folder: str) -> list[tuple[str, str]]:
    """(name, text) of the ``*.toml`` files shipped in ``chokepoints/reference/<folder>``."""
    root = resources.files("chokepoints.reference").joinpath(folder)
    return [
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in sorted(root.iterdir(), key=lambda item: item.name)
        if entry.name.endswith(".toml")
    ]
