"""Resumable, verified HTTP downloads of large source archives (BACI zips are several GB).

A download writes to ``<dest>.part`` and resumes it with a ``Range`` request after a failure, so
an interrupted multi-gigabyte transfer never starts over. The file appears under its final name
only once its size (and checksum, and content when the caller can check it) is verified, so
``dest`` is never half-written. A web page served instead of the file (a login or error page
answered with HTTP 200) and a malformed URL fail at once, without retries.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import itertools
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from chokepoints import __version__
from chokepoints.errors import DownloadError, InputError
from chokepoints.schema import HS_REVISIONS

#: What a web page starts with, after blanks; a data archive never does.
_WEB_PAGE_STARTS = (b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")
#: Says why a complete download is unusable (e.g. a damaged zip), or None when it is fine.
ContentCheck = Callable[[Path], "str | None"]

#: Folder of CEPII's BACI archives (FORMATS.md section 1); ``CHOKEPOINTS_BACI_URL`` overrides it.
DEFAULT_BACI_BASE_URL = "https://www.cepii.fr/DATA_DOWNLOAD/baci/data"

#: What to check when a BACI archive is missing or a page comes back instead.
BACI_ADVICE = (
    "check the release and revision names (e.g. release 202501, revision HS22) against the "
    "publisher's download page"
)

_RELEASE = re.compile(r"[Vv]?(\d{6}[a-z]?)")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")
_CHUNK_SIZE = 1 << 20
#: The longest ``Retry-After`` waited for; a server asking for more is told to the user instead.
MAX_RETRY_AFTER = 300.0


class _RetryableError(Exception):
    """A failure worth retrying: connection error, 5xx or 429 answer, truncated body.

    ``wait`` is the server's ``Retry-After`` in seconds (0 when it sent none).
    """

    def __init__(self, message: str, wait: float = 0.0) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass
class _DownloadState:
    """What the attempts so far have learnt: the total size, if known, and the last status."""

    total: int | None = None
    status: int | None = None
    retry_after: float | None = None


def url_join(base: str, name: str) -> str:
    """Join a base URL and a file name with exactly one slash between them."""
    return f"{base.rstrip('/')}/{name.lstrip('/')}"


def baci_base_url() -> str:
    """The folder BACI archives are downloaded from: ``CHOKEPOINTS_BACI_URL`` or CEPII's."""
    return os.environ.get("CHOKEPOINTS_BACI_URL") or DEFAULT_BACI_BASE_URL


def baci_archive_url(base_url: str, revision: str, release: str) -> str:
    """URL of one BACI archive, ``{base}/BACI_{revision}_V{release}.zip``, after checking names.

    ``revision`` is an HS revision (HS92..HS22, any case); ``release`` is ``YYYYMM`` with an
    optional letter suffix, written with or without its leading ``V`` (``202401b``, ``V202501``).
    """
    rev = revision.strip().upper()
    if rev not in HS_REVISIONS:
        raise InputError(
            f"unknown HS revision {revision!r}",
            field="revision",
            hint=f"use one of {', '.join(HS_REVISIONS)}",
        )
    match = _RELEASE.fullmatch(release.strip())
    if match is None:
        raise InputError(
            f"BACI release {release!r} is not of the form YYYYMM with an optional letter",
            field="release",
            hint="write it as CEPII does, e.g. 202501 or V202401b",
        )
    return url_join(base_url, f"BACI_{rev}_V{match.group(1)}.zip")


def download(
    url: str,
    dest: Path,
    *,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    client: httpx.Client | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 2.0,
    check: ContentCheck | None = None,
    advice: str = BACI_ADVICE,
) -> Path:
    """Download ``url`` to ``dest`` through a resumable ``.part`` file and return ``dest``.

    ``advice`` ends the sentence of a 404 or a web page served instead of the file: what the
    user should check (the BACI release and revision by default).

    Connection errors, 5xx/429 answers and truncated bodies are retried ``retries`` times,
    resuming each time, after ``backoff * 2**k`` seconds, or the answer's ``Retry-After`` when
    longer; one asking for more than ``MAX_RETRY_AFTER`` seconds stops at once and says so, since
    a server throttling that hard (a daily quota) will not answer within the retries.
    ``progress(bytes_done, total)`` is
    called after every chunk. ``dest`` is written (atomically) only when the size matches the
    server's and ``expected_size``, the SHA-256 matches ``expected_sha256`` when given, and
    ``check`` finds nothing wrong with the content (a resume spliced onto the bytes of another
    version of the file, for instance); otherwise the ``.part`` file is deleted.
    """
    _check_url(url)
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    if client is None:
        client = httpx.Client(follow_redirects=True)
    state = _DownloadState()
    try:
        for attempt in range(retries + 1):
            try:
                _fetch(client, url, part, state, expected_size, progress, timeout, advice)
                break
            except (_RetryableError, httpx.TransportError) as exc:
                state.retry_after = getattr(exc, "wait", None) or None
                wait = max(backoff * 2**attempt, state.retry_after or 0.0)
                if attempt == retries or wait > MAX_RETRY_AFTER:
                    message = _failure_message(url, part, state, exc, attempt + 1)
                    raise DownloadError(message) from exc
                time.sleep(wait)
    finally:
        if own_client:
            client.close()
    _verify(url, part, state.total, expected_size, expected_sha256)
    reason = None if check is None else check(part)
    if reason is not None:
        part.unlink()
        raise DownloadError(
            f"the download of {url} is not usable ({reason}); it was deleted, so running the "
            "download again fetches it afresh"
        )
    os.replace(part, dest)
    return dest


def _check_url(url: str) -> None:
    """Raise DownloadError at once for a URL that is not a well-formed http(s) address."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        reason = str(exc)
    else:
        if parsed.scheme in ("http", "https") and parsed.host:
            return
        reason = "it needs http:// or https:// and a host name"
    raise DownloadError(
        f"{url!r} is not a valid download URL ({reason}); check --base-url or the "
        "CHOKEPOINTS_*_URL environment variable"
    )


def _fetch(
    client: httpx.Client,
    url: str,
    part: Path,
    state: _DownloadState,
    expected_size: int | None,
    progress: Callable[[int, int | None], None] | None,
    timeout: float,
    advice: str,
) -> None:
    """Make one request and append to (206) or rewrite (200) ``part`` until the body ends."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"chokepoints/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        state.status = response.status_code
        if response.status_code == 416 and offset:
            _settle_unsatisfiable_range(response, part, offset, state, expected_size)
            return
        _raise_for_status(url, response, advice)
        if response.status_code == 206:
            start, total = _parse_content_range(url, response.headers.get("Content-Range", ""))
            if start != offset:
                part.unlink()
                raise _RetryableError(f"server resumed at byte {start} instead of {offset}")
            mode = "ab"
        else:  # 200: the server ignored the Range header or there was nothing to resume
            offset = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            mode = "wb"
        state.total = total
        if total is not None and expected_size is not None and total != expected_size:
            raise DownloadError(
                f"{url} is {total} bytes but {expected_size} were expected; check the URL "
                "or the expected size"
            )
        chunks = response.iter_bytes()  # unbuffered: keep every byte that arrived
        first = next(chunks, b"")
        _refuse_web_page(url, response, first if offset == 0 else b"", advice)
        done = offset
        with part.open(mode) as file:
            for chunk in itertools.chain([first], chunks):
                file.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    if total is not None and done < total:
        raise _RetryableError(f"body ended after {done} of {total} bytes")


def _refuse_web_page(url: str, response: httpx.Response, start: bytes, advice: str) -> None:
    """Raise DownloadError when the answer is an HTML page, by its type or its first bytes."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    looks_like_page = start.lstrip()[:9].lower().startswith(_WEB_PAGE_STARTS)
    if kind not in ("text/html", "application/xhtml+xml") and not looks_like_page:
        return
    raise DownloadError(
        f"the server returned a web page, not the file, for {url} (HTTP "
        f"{response.status_code}, {kind or 'no content type'}: a maintenance, login or error "
        f"page); open it in a browser, or {advice}"
    )


def _settle_unsatisfiable_range(
    response: httpx.Response,
    part: Path,
    offset: int,
    state: _DownloadState,
    expected_size: int | None,
) -> None:
    """Accept a 416 answer when ``part`` already holds the whole file, else restart from zero."""
    match = _UNSATISFIED_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    total = int(match.group(1)) if match else expected_size
    if total == offset:
        state.total = total
        return
    part.unlink()
    raise _RetryableError(f"server refused to resume at byte {offset} (HTTP 416)")


def _raise_for_status(url: str, response: httpx.Response, advice: str) -> None:
    """Raise DownloadError for a final 4xx answer (with the start of its text and ``advice``),
    _RetryableError for 5xx and 429."""
    status = response.status_code
    if status == 404:
        raise DownloadError(f"{url} was not found (HTTP 404); {advice}")
    if status >= 500 or status == 429:
        raise _RetryableError(f"server answered HTTP {status}", wait=_retry_after(response))
    if status not in (200, 206):
        said = _short_text(response)
        raise DownloadError(
            f"{url} answered HTTP {status} {response.reason_phrase}"
            + (f" ({said!r})" if said else "")
            + f"; {advice}"
        )


def _short_text(response: httpx.Response, limit: int = 200) -> str:
    """The start of a plain-text or JSON error answer, on one line (an API's reason, such as
    an exhausted quota); empty for other bodies."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind not in ("text/plain", "application/json", "application/problem+json"):
        return ""
    text = " ".join(response.read()[: limit * 4].decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _retry_after(response: httpx.Response) -> float:
    """Seconds the answer's ``Retry-After`` asks to wait (a number or an HTTP date), else 0."""
    header = response.headers.get("Retry-After", "").strip()
    if header.isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _parse_content_range(url: str, header: str) -> tuple[int, int | None]:
    """Start byte and total size of a 206 answer's ``Content-Range: bytes a-b/total``."""
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if match is None:
        raise DownloadError(f"{url} answered 206 with an unreadable Content-Range {header!r}")
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _failure_message(
    url: str, part: Path, state: _DownloadState, exc: Exception, attempts: int
) -> str:
    """One sentence on a download that failed after ``attempts``: what arrived, what to do."""
    arrived = part.stat().st_size if part.exists() else 0
    of_total = f"of {state.total}" if state.total is not None else "of an unknown total"
    if state.status is not None and (state.status >= 500 or state.status == 429):
        cause = f"the server answered HTTP {state.status}"
        if state.retry_after is not None:
            cause += f" and asked to wait {state.retry_after:.0f} s before trying again"
    else:
        cause = str(exc) or type(exc).__name__
    kept = (
        f"the partial file {part} is kept and re-running the download resumes it"
        if arrived
        else "nothing was kept; try again later"
    )
    return (
        f"download of {url} failed after {attempts} attempt(s) ({cause}): {arrived} bytes "
        f"{of_total} arrived; {kept}"
    )


def _verify(
    url: str,
    part: Path,
    total: int | None,
    expected_size: int | None,
    expected_sha256: str | None,
) -> None:
    """Check a finished ``part`` against the announced size, ``expected_size`` and the SHA-256.

    A complete file with the wrong size or checksum cannot be fixed by resuming, so it is deleted.
    """
    size = part.stat().st_size
    for what, wanted in (("the server announced", total), ("expected", expected_size)):
        if wanted is not None and size != wanted:
            part.unlink()
            raise DownloadError(
                f"download of {url} has {size} bytes but {what} {wanted}; the file was "
                "deleted, run the download again"
            )
    if expected_sha256 is not None:
        digest = hashlib.sha256()
        with part.open("rb") as file:
            for block in iter(lambda: file.read(_CHUNK_SIZE), b""):
                digest.update(block)
        if digest.hexdigest() != expected_sha256.strip().lower():
            part.unlink()
            raise DownloadError(
                f"download of {url} has SHA-256 {digest.hexdigest()} but "
                f"{expected_sha256} was expected; the file was deleted, check the checksum "
                "or run the download again"
            )
