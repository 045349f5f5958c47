"""Reading the TOML files users write (country groups, sectors) with errors that name the line."""

from __future__ import annotations

import re
import tomllib
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
