"""UN Comtrade API downloads (FORMATS.md section 2), read as a Comtrade Plus CSV export.

``fetch_comtrade`` asks the preview endpoint (no key; at most 500 records a call) or, with a
subscription key, the data endpoint (100,000 a call) for annual goods trade, totals only (second
partner World, customs procedure C00, mode of transport 0), one call per reporter and flow with at
most 12 years and 200 product codes. A call that returns the cap may have been cut, so it is
split, by years and then by codes, and asked again; a single reporter, flow, year and code that
still fills the cap stops the fetch, since its answer cannot be known whole. Calls go through
:mod:`chokepoints.sources.http` (429 and ``Retry-After`` honoured, bounded retries, web pages
refused) and are kept by :class:`~chokepoints.sources.resumable.ResumableFetch`, so a rerun of
the same request continues where an interrupted one stopped. The records are then written in the
47 columns of a Comtrade Plus export to ``HOME/downloads/comtrade-<hash>.csv`` and read by
:func:`chokepoints.sources.comtrade.read_comtrade`: the same mapping and checks as
``data ingest comtrade``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import math
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from chokepoints import __version__
from chokepoints.errors import DownloadError, InputError
from chokepoints.extract import Extract, plausible_year, year_range
from chokepoints.sources.comtrade import EXPORT_COLUMNS, REPORTER_SIDES, REQUIRED_COLUMNS
from chokepoints.sources.http import url_join
from chokepoints.sources.resumable import ResumableFetch
from chokepoints.store import Progress

#: The Comtrade API host; ``CHOKEPOINTS_COMTRADE_URL`` overrides it.
DEFAULT_COMTRADE_URL = "https://comtradeapi.un.org"
COMTRADE_URL_VARIABLE = "CHOKEPOINTS_COMTRADE_URL"
#: Where the subscription key is read from when none is given.
COMTRADE_KEY_VARIABLE = "CHOKEPOINTS_COMTRADE_KEY"
#: Years per call: comtradr's limit for annual data.
MAX_YEARS = 12
#: Product codes per call, which keeps the URL far below the API's 4096 characters.
MAX_CODES = 200

_HS_CODE = re.compile(r"\d{2}|\d{4}|\d{6}")


@dataclass(frozen=True)
class Endpoint:
    """One way of asking Comtrade for final data: its path and its records-per-call cap."""

    name: str
    path: str
    cap: int


PREVIEW = Endpoint("preview", "public/v1/preview/C/A/HS", 500)
DATA = Endpoint("data", "data/v1/get/C/A/HS", 100_000)


@dataclass(frozen=True)
class ComtradeRequest:
    """What to fetch: reporters (ISO3) and their Comtrade codes, flows, HS codes, years and
    partners (None for all)."""

    reporters: dict[str, int]
    flows: tuple[str, ...]
    codes: tuple[str, ...]
    years: tuple[int, ...]
    partners: dict[str, int] | None


@dataclass(frozen=True)
class Chunk:
    """One call: a reporter and flow, some years and some product codes."""

    reporter: str
    flow: str
    years: tuple[int, ...]
    codes: tuple[str, ...]

    @property
    def key(self) -> str:
        """A file-name-safe identity of the call, the same in every run."""
        return f"{self.reporter}-{self.flow}-" + _digest([*map(str, self.years), "|", *self.codes])

    @property
    def label(self) -> str:
        """The call in words for messages: ``THA M 2014-2018 8542,2805``."""
        codes = ",".join(self.codes) if len(self.codes) <= 4 else f"{len(self.codes)} codes"
        return f"{self.reporter} {self.flow} {_span(self.years, '-')} {codes}"

    def halves(self) -> tuple[Chunk, Chunk] | None:
        """The call split in two, by years while it has several, then by codes; None when it
        asks for one year and one code."""
        if len(self.years) > 1:
            middle = len(self.years) // 2
            return (
                dataclasses.replace(self, years=self.years[:middle]),
                dataclasses.replace(self, years=self.years[middle:]),
            )
        if len(self.codes) > 1:
            middle = len(self.codes) // 2
            return (
                dataclasses.replace(self, codes=self.codes[:middle]),
                dataclasses.replace(self, codes=self.codes[middle:]),
            )
        return None


def comtrade_base_url() -> str:
    """The Comtrade API host: ``CHOKEPOINTS_COMTRADE_URL`` or comtradeapi.un.org."""
    return os.environ.get(COMTRADE_URL_VARIABLE) or DEFAULT_COMTRADE_URL


def comtrade_request(
    reporter: str | Sequence[str],
    hs: str | Sequence[str],
    years: Iterable[int],
    *,
    flow: str | Sequence[str] = "M",
    partner: str | Sequence[str] = "all",
) -> ComtradeRequest:
    """Check and normalise what to fetch; InputError naming the parameter otherwise.

    Reporters and partners are ISO3 (or ISO2, or M49) codes, ``partner="all"`` asks for every
    partner; flows are ``M`` and ``X``; HS codes have 2, 4 or 6 digits.
    """
    reporters = _countries(reporter, "reporter")
    flows = tuple(dict.fromkeys(f.upper() for f in _items(flow)))
    unknown = [f for f in flows if f not in REPORTER_SIDES]
    if not flows or unknown:
        raise InputError(
            f"flow {', '.join(unknown) or 'is empty'}: chokepoints keeps imports (M) and "
            "exports (X)",
            field="flow",
            hint="write M, X or M,X",
        )
    codes = tuple(dict.fromkeys(_items(hs)))
    bad = [c for c in codes if not _HS_CODE.fullmatch(c)]
    if not codes or bad:
        raise InputError(
            f"hs {bad[0]!r} is not an HS code" if bad else "hs names no product code",
            field="hs",
            hint="write HS codes of 2, 4 or 6 digits separated by commas, e.g. 8542,2805",
        )
    chosen = tuple(sorted(set(years)))
    implausible = [y for y in chosen if not plausible_year(y)]
    if not chosen or implausible:
        raise InputError(
            f"years {implausible[0]} is not a year of trade data ({year_range()})"
            if implausible
            else "years names no year",
            field="years",
            hint="write years such as 2014-2024",
        )
    partners = _items(partner)
    every = [p.lower() for p in partners] in ([], ["all"])
    return ComtradeRequest(
        reporters=reporters,
        flows=flows,
        codes=codes,
        years=chosen,
        partners=None if every else _countries(partner, "partner"),
    )


def fetch_comtrade(
    request: ComtradeRequest,
    home: Path | str,
    *,
    key: str | None = None,
    base_url: str | None = None,
    progress: Progress | None = None,
) -> Extract:
    """Fetch ``request`` from the Comtrade API (resuming an interrupted run of it) and return
    the Extract of the CSV export it was written to, with the fetch told in its notes.

    ``key`` defaults to ``CHOKEPOINTS_COMTRADE_KEY``. Without a key the preview endpoint
    answers; with one, the data endpoint, the key sent as the ``subscription-key`` query
    parameter (never written to a message or a file). ``progress(call, calls done, calls
    known)`` follows the calls.
    """
    from chokepoints.sources.comtrade import read_comtrade

    key = key or os.environ.get(COMTRADE_KEY_VARIABLE) or None
    base = base_url or comtrade_base_url()
    endpoint = DATA if key else PREVIEW
    run = ResumableFetch(
        home,
        "comtrade",
        {
            "base": base,
            "endpoint": endpoint.name,
            "reporters": request.reporters,
            "flows": request.flows,
            "codes": request.codes,
            "years": request.years,
            "partners": request.partners,
        },
    )
    chunks, splits, records = _fetch_chunks(run, request, endpoint, base, key, progress)
    if not records:
        raise DownloadError(
            f"Comtrade has no {endpoint.name} data for {_described(request)} (all "
            f"{len(chunks)} call(s) answered with no record); check the reporter, flow, codes and "
            "years, or whether the reporter has published those years"
        )
    target = Path(home) / "downloads" / f"comtrade-{run.digest}.csv"
    _write_export(run, chunks, target)
    release = dt.datetime.now(dt.UTC).date().isoformat()
    extract = read_comtrade(target, release=release)
    reused = len(chunks) + splits - run.calls
    extract.notes.insert(
        0,
        f"fetched {records} records of {_described(request)} from the Comtrade {endpoint.name} "
        f"API ({base}) in {len(chunks) + splits} call(s)"
        + (f", {reused} of them answered in an earlier run" if reused > 0 else "")
        + (
            f"; {splits} call(s) returned the cap of {endpoint.cap:,} records and were split"
            if splits
            else ""
        ),
    )
    extract.committed = run.discard
    return extract


def _fetch_chunks(
    run: ResumableFetch,
    request: ComtradeRequest,
    endpoint: Endpoint,
    base: str,
    key: str | None,
    progress: Progress | None,
) -> tuple[list[Chunk], int, int]:
    """Answer every call of ``request``, splitting capped ones; return the finished calls in
    order, how many calls were split and how many records the finished ones hold."""
    pending = deque(_plan(request))
    done: list[Chunk] = []
    splits = records = 0
    hooks = {"request": [_key_adder(key)]} if key else {}
    headers = {"User-Agent": f"chokepoints/{__version__}"}
    with httpx.Client(follow_redirects=True, event_hooks=hooks, headers=headers) as client:
        while pending:
            chunk = pending.popleft()
            if progress is not None:
                progress(chunk.label, len(done), len(done) + len(pending) + 1)
            entry = run.entry(chunk.key)
            if entry is None:
                entry = _call(run, client, chunk, request, endpoint, base)
            if entry["capped"]:
                halves = chunk.halves()
                if halves is None:
                    raise DownloadError(_cap_message(chunk, endpoint, entry["records"]))
                pending.extendleft(reversed(halves))
                splits += 1
            else:
                done.append(chunk)
                records += entry["records"]
    if progress is not None:
        progress("all calls answered", len(done), len(done))
    return done, splits, records


def _call(
    run: ResumableFetch,
    client: httpx.Client,
    chunk: Chunk,
    request: ComtradeRequest,
    endpoint: Endpoint,
    base: str,
) -> dict[str, Any]:
    """Make one call and record it: its record count and whether it filled the cap."""
    params = {
        "reporterCode": request.reporters[chunk.reporter],
        "flowCode": chunk.flow,
        "period": ",".join(str(year) for year in chunk.years),
        "cmdCode": ",".join(chunk.codes),
        **(
            {"partnerCode": ",".join(str(c) for c in request.partners.values())}
            if request.partners
            else {}
        ),
        "partner2Code": 0,
        "customsCode": "C00",
        "motCode": 0,
        "includeDesc": "true",
        "maxRecords": endpoint.cap,
    }
    url = f"{url_join(base, endpoint.path)}?{urlencode(params)}"
    advice = (
        f"check the base URL (base_url or {COMTRADE_URL_VARIABLE}, default "
        f"{DEFAULT_COMTRADE_URL})"
        + (
            f" and the subscription key (--key or {COMTRADE_KEY_VARIABLE})"
            if endpoint is DATA
            else ""
        )
        + ", or try again later"
    )
    try:
        body = run.fetch(chunk.key, url, client=client, check=_problem, advice=advice)
    except DownloadError as exc:
        if not run.finished:
            raise
        raise DownloadError(
            f"{exc}; the {run.finished} call(s) answered before are kept in {run.folder}, so the "
            "same command continues from there"
        ) from exc
    count = len(body["data"])
    announced = body.get("count")
    capped = count >= endpoint.cap or (isinstance(announced, int) and announced > count)
    return run.record(chunk.key, keep=not capped, label=chunk.label, records=count, capped=capped)


def _problem(body: Any) -> str | None:
    """Why a parsed answer is not Comtrade data: an error it reports, no data list, a record
    without the columns the export reader needs; None when it is fine."""
    if isinstance(body, dict):
        error = body.get("error") or (body.get("errorObject") or {}).get("errorMessage")
        if error:
            return f"Comtrade answered with the error {str(error)!r}"
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return "the answer is JSON but has no data list, so it is not a Comtrade data answer"
    for number, record in enumerate(body["data"], start=1):
        missing = [c for c in REQUIRED_COLUMNS if not isinstance(record, dict) or c not in record]
        if missing:
            return f"record {number} of the answer has no {', '.join(missing)}"
    return None


def _cap_message(chunk: Chunk, endpoint: Endpoint, records: int) -> str:
    """The sentence that stops a fetch whose smallest call still fills the cap."""
    remedy = (
        f"fetch with a subscription key ({COMTRADE_KEY_VARIABLE} or --key), which allows "
        f"{DATA.cap:,} records a call"
        if endpoint is PREVIEW
        else "ask for fewer partners"
    )
    return (
        f"Comtrade's {endpoint.name} endpoint returned {records:,} records, its cap of "
        f"{endpoint.cap:,} a call, for {chunk.label} alone, so that answer may be cut and nothing "
        f"was ingested; {remedy}"
    )


def _plan(request: ComtradeRequest) -> Iterator[Chunk]:
    """The first calls: per reporter and flow, runs of at most MAX_YEARS years and MAX_CODES
    codes."""
    for reporter in request.reporters:
        for flow in request.flows:
            for years in _batches(request.years, MAX_YEARS):
                for codes in _batches(request.codes, MAX_CODES):
                    yield Chunk(reporter, flow, years, codes)


def _write_export(run: ResumableFetch, chunks: list[Chunk], target: Path) -> None:
    """Write the kept answers' records as a Comtrade Plus CSV export at ``target``, whole or not
    at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    with part.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for chunk in chunks:
            for record in run.answer(chunk.key)["data"]:
                writer.writerow([_cell(record.get(column)) for column in EXPORT_COLUMNS])
    os.replace(part, target)


def _cell(value: Any) -> str:
    """A JSON value as the export writes it: null empty, booleans in lower case, floats exact."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def _key_adder(key: str) -> Any:
    """An httpx request hook adding the subscription key, so no URL in a message carries it."""

    def add(request: httpx.Request) -> None:
        request.url = request.url.copy_merge_params({"subscription-key": key})

    return add


def _countries(codes: str | Sequence[str], what: str) -> dict[str, int]:
    """ISO3 -> Comtrade (M49) code of each country named, in the order given."""
    import pandas as pd

    from chokepoints.reference.countries import countries, to_iso3

    table = countries().set_index("iso3")["m49_code"]
    chosen: dict[str, int] = {}
    for code in _items(codes):
        iso3 = to_iso3(code, what=what)
        m49 = table.get(iso3)
        if m49 is None or pd.isna(m49):
            raise InputError(
                f"{what} {code!r} ({iso3}) has no Comtrade code", field=what, hint="check it"
            )
        chosen[iso3] = int(m49)
    if not chosen:
        raise InputError(f"{what} names no country", field=what, hint="write ISO3 codes, e.g. THA")
    return chosen


def _items(value: str | Sequence[str]) -> list[str]:
    """``"THA, VNM"`` or ``["THA", "VNM"]`` -> ``["THA", "VNM"]``."""
    parts = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [p.strip() for p in parts if p.strip()]


def _batches(items: Sequence[Any], size: int) -> Iterator[tuple[Any, ...]]:
    """``items`` in consecutive runs of at most ``size``."""
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def _span(years: Sequence[int], dash: str) -> str:
    """``2014-2018`` for consecutive years, ``2014,2016`` otherwise, ``2014`` for one."""
    if len(years) == 1:
        return str(years[0])
    if years[-1] - years[0] == len(years) - 1:
        return f"{years[0]}{dash}{years[-1]}"
    return ",".join(str(y) for y in years)


def _digest(codes: Sequence[str]) -> str:
    """A short hash of the parts of a call, for file names."""
    return hashlib.sha256(",".join(codes).encode()).hexdigest()[:10]


def _described(request: ComtradeRequest) -> str:
    """The request in words: ``THA M 8542,2805 2014-2024``."""
    codes = ",".join(request.codes) if len(request.codes) <= 4 else f"{len(request.codes)} codes"
    return (
        f"{','.join(request.reporters)} {','.join(request.flows)} {codes} "
        f"{_span(request.years, '-')}"
    )
