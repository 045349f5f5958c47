"""The exception family of chokepoints.

Every error a user can cause (a bad file, an unknown code, a busy store) is a ChokepointsError
whose message is one sentence naming the file, line or field and what to do. The CLI prints that
sentence without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re


class ChokepointsError(Exception):
    """Base class of all user-facing errors."""


class SchemaError(ChokepointsError):
    """A table does not match its canonical schema."""


class InputError(ChokepointsError):
    """An input file is malformed: missing column, bad value, duplicate row, wrong revision."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file, self.line, self.field, self.hint = file, line, field, hint
        where = ""
        if file:
            where = f"{file}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        if field and not re.search(rf"(?<!\w){re.escape(field)}(?!\w)", message):
            message = f"{message} (field {field})"
        text = f"{where}{message}"
        if hint:
            text = f"{text}; {hint}"
        super().__init__(text)


class UnknownCodeError(InputError):
    """A country or product code that chokepoints cannot map."""


class StoreError(ChokepointsError):
    """The store cannot be read or written (permissions, disk full, corrupted manifest)."""


class StoreBusyError(StoreError):
    """Another process holds the store's write lock."""


class DownloadError(ChokepointsError):
    """A download failed, was truncated, or did not match its expected size or checksum."""


class NoDataError(ChokepointsError):
    """The store holds no data for what was asked (a year, a country, a product)."""


class DiskFullError(ChokepointsError):
    """No space left where a source is unpacked (the temporary folder, or next to an archive)."""


class ReplaceError(ChokepointsError):
    """An ingest would replace committed data by markedly less and was not told to."""
