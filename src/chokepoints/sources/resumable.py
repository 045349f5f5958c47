"""Resumable API fetches: the answer of every finished call kept until the data is committed.

A fetch of many API calls (Comtrade chunks, World Bank pages) works in
``HOME/downloads/.fetch/<kind>-<hash of the request>/``: each finished call's JSON answer is a
file there and ``manifest.json`` lists the calls done, so rerunning the same request after an
interruption asks only for the calls not yet answered. Each call goes through
:func:`chokepoints.sources.http.download` (retries, ``Retry-After``, web pages refused, the file
written whole or not at all). Other ingests into the home leave it alone; it is removed once the
fetched data is committed (``discard``, the extract's ``committed``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from chokepoints.errors import DownloadError
from chokepoints.sources import http

#: Where fetches keep their finished calls, under the home (beside the archives downloaded).
FETCHES = Path("downloads") / ".fetch"

#: Says what is wrong with a parsed answer (an error it reports, a missing field), or None.
AnswerCheck = Callable[[Any], "str | None"]


class ResumableFetch:
    """The work area of one API request: the answers of its finished calls and their manifest."""

    def __init__(self, home: Path | str, kind: str, request: Mapping[str, Any]) -> None:
        text = json.dumps(request, sort_keys=True, separators=(",", ":"))
        #: The request as its manifest holds it (tuples as lists), to tell another request's.
        self.request = json.loads(text)
        #: Names the request: the same request always works in the same folder.
        self.digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        self.folder = Path(home) / FETCHES / f"{kind}-{self.digest}"
        self._manifest = self.folder / "manifest.json"
        self._entries = self._read()
        #: Calls answered by the server in this run (the others came from an earlier run).
        self.calls = 0

    def _read(self) -> dict[str, dict[str, Any]]:
        """The manifest's entries by call key; none when it is absent, damaged or of another
        request."""
        try:
            data = json.loads(self._manifest.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("request") != self.request:
            return {}
        calls = data.get("calls")
        return calls if isinstance(calls, dict) else {}

    def entry(self, key: str) -> dict[str, Any] | None:
        """The manifest entry of a finished call, None when it must be (re)fetched.

        An entry with ``keep`` whose answer file has gone is not finished.
        """
        entry = self._entries.get(key)
        if entry is None or (entry.get("keep") and not self._answer_path(key).is_file()):
            return None
        return entry

    def answer(self, key: str) -> Any:
        """The kept JSON answer of a finished call; DownloadError when it has gone since (the
        same fetch, run at the same time, committed and removed it)."""
        try:
            return json.loads(self._answer_path(key).read_bytes())
        except (OSError, ValueError) as exc:
            raise DownloadError(
                f"the answer {self._answer_path(key)} of an earlier call is gone or damaged "
                f"({exc.__class__.__name__}), most likely because the same fetch ran at the same "
                "time and finished; run the same command again"
            ) from exc

    def fetch(
        self,
        key: str,
        url: str,
        *,
        client: httpx.Client,
        check: AnswerCheck,
        advice: str,
    ) -> Any:
        """Download ``url`` as call ``key`` and return its parsed JSON answer.

        The answer is kept only when it is complete JSON that ``check`` finds nothing wrong
        with; otherwise the DownloadError names the problem. ``advice`` ends the sentence of a
        404 or a web page served instead of the answer.
        """
        parsed: dict[str, Any] = {}

        def problem(path: Path) -> str | None:
            """Why the downloaded answer cannot be used, or None (keeping the parsed JSON)."""
            try:
                parsed["body"] = json.loads(path.read_bytes())
            except ValueError as exc:
                return f"the answer is not complete JSON ({exc}), so it was cut in transit"
            return check(parsed["body"])

        try:
            http.download(url, self._answer_path(key), client=client, check=problem, advice=advice)
        except OSError as exc:
            raise self._unwritable(exc) from exc
        self.calls += 1
        return parsed["body"]

    def record(self, key: str, *, keep: bool, **details: Any) -> dict[str, Any]:
        """Mark call ``key`` finished (its answer file kept when ``keep``); return the entry.

        The manifest is rewritten atomically, so an interruption leaves the previous one.
        """
        entry = {"keep": keep, **details}
        self._entries[key] = entry
        temporary = self._manifest.with_name(self._manifest.name + ".tmp")
        try:
            if not keep:
                self._answer_path(key).unlink(missing_ok=True)
            temporary.write_text(
                json.dumps({"request": self.request, "calls": self._entries}, indent=1),
                encoding="utf-8",
            )
            os.replace(temporary, self._manifest)
        except OSError as exc:
            raise self._unwritable(exc) from exc
        return entry

    def _unwritable(self, exc: OSError) -> DownloadError:
        """The sentence for a work area that cannot be written: removed by an ingest, or full."""
        return DownloadError(
            f"could not write to {self.folder} ({exc.strerror or exc}): if the same fetch "
            "finished meanwhile (it removes the folder), run the same command again, else free "
            "disk space or fix permissions"
        )

    def discard(self) -> None:
        """Remove the work area: the fetched data is committed, no rerun needs its calls."""
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def finished(self) -> int:
        """How many calls the manifest lists as finished."""
        return len(self._entries)

    def _answer_path(self, key: str) -> Path:
        """Where the answer of call ``key`` is kept."""
        return self.folder / f"{key}.json"
