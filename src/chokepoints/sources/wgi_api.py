"""The Worldwide Governance Indicators from the World Bank API (FORMATS.md section 5).

``fetch_wgi`` asks the API (REST v2, source 3) for the estimate series of the six WGI
dimensions, ``GOV_WGI_{VA,PV,GE,RQ,RL,CC}.EST``, for every economy, page by page as the answer's
header (``page``, ``pages``, ``total``) says, and checks that the pages hold the announced total.
Calls go through :mod:`chokepoints.sources.http` and are kept by
:class:`~chokepoints.sources.resumable.ResumableFetch`, so an interrupted fetch continues. The
estimates are then written in the bulk file's long layout (``codeindyr, code, countryname, year,
indicator, estimate``, ``..`` for a missing estimate) to ``HOME/downloads/wgi-api-<hash>.csv``
and read by :func:`chokepoints.sources.wgi.read_wgi`: the same codes, legacy-code mapping and
checks as ``data ingest wgi``.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from chokepoints import __version__
from chokepoints.errors import DownloadError, InputError
from chokepoints.extract import Extract, plausible_year, year_range
from chokepoints.reference.countries import known_iso3, normalize_iso3
from chokepoints.sources.http import url_join
from chokepoints.sources.resumable import ResumableFetch
from chokepoints.sources.wgi import INDICATORS, WORLD_BANK_AGGREGATES
from chokepoints.store import Progress

#: The World Bank API's root; ``CHOKEPOINTS_WORLDBANK_URL`` overrides it.
DEFAULT_WORLD_BANK_URL = "https://api.worldbank.org/v2"
WORLD_BANK_URL_VARIABLE = "CHOKEPOINTS_WORLDBANK_URL"
#: The API's database of the Worldwide Governance Indicators.
WGI_SOURCE = 3
#: The estimate series of each WGI dimension, by the bulk file's indicator code.
SERIES = {indicator: f"GOV_WGI_{indicator.upper()}.EST" for indicator in INDICATORS}
#: Rows asked for per page: one page holds a whole series (about 215 economies x 28 years).
PER_PAGE = 20_000
#: Columns of the CSV written for ``read_wgi``: the bulk file's long layout, its first six.
LONG_LAYOUT = ("codeindyr", "code", "countryname", "year", "indicator", "estimate")


def world_bank_base_url() -> str:
    """The World Bank API root: ``CHOKEPOINTS_WORLDBANK_URL`` or api.worldbank.org/v2."""
    return os.environ.get(WORLD_BANK_URL_VARIABLE) or DEFAULT_WORLD_BANK_URL


def fetch_wgi(
    home: Path | str,
    *,
    years: Iterable[int] | None = None,
    base_url: str | None = None,
    progress: Progress | None = None,
) -> Extract:
    """Fetch the six WGI estimate series (resuming an interrupted run) and return the Extract
    of the long-layout CSV they were written to, the fetch told in its notes.

    ``years`` keeps those years (all the API has when None); ``progress(page, pages done,
    pages known)`` follows the calls.
    """
    from chokepoints.sources.wgi import read_wgi

    chosen = _years(years)
    base = base_url or world_bank_base_url()
    run = ResumableFetch(home, "wgi", {"base": base, "years": chosen, "per_page": PER_PAGE})
    rows: list[list[str]] = []
    set_aside: dict[str, int] = {}
    updated: set[str] = set()
    headers = {"User-Agent": f"chokepoints/{__version__}"}
    with httpx.Client(follow_redirects=True, headers=headers) as client:
        for number, (indicator, series) in enumerate(SERIES.items()):
            page, pages, held, total = 1, 1, 0, 0
            while page <= pages:
                if progress is not None:
                    progress(f"{series} page {page}", number, len(SERIES))
                header, records = _page(run, client, base, series, page, chosen)
                if page == 1:
                    pages, total = header["pages"], header["total"]
                held += len(records)
                updated.add(str(header.get("lastupdated") or ""))
                rows += _rows(indicator, records, chosen, set_aside)
                page += 1
            if held != total:
                raise DownloadError(
                    f"the World Bank API announced {total} rows of {series} but its {pages} "
                    f"page(s) held {held}, so the series changed while it was fetched; run the "
                    "command again"
                )
    if progress is not None:
        progress("all series fetched", len(SERIES), len(SERIES))
    if not rows:
        raise DownloadError(
            f"the World Bank API has no WGI estimate for {_span(chosen)}; check years"
        )
    target = Path(home) / "downloads" / f"wgi-api-{run.digest}.csv"
    _write_long(rows, target)
    release = _release(updated)
    extract = read_wgi(target, release=release)
    reused = run.finished - run.calls
    notes = [
        f"fetched {len(rows)} WGI estimates ({_span(chosen)}) from the World Bank API ({base}, "
        f"source {WGI_SOURCE}) in {run.finished} call(s)"
        + (f", {reused} of them answered in an earlier run" if reused > 0 else "")
    ]
    if set_aside:
        listing = ", ".join(f"{name} ({n} rows)" for name, n in sorted(set_aside.items()))
        notes.append(
            f"set aside rows of entities the API gives no country code chokepoints knows: {listing}"
        )
    extract.notes[:0] = notes
    extract.committed = run.discard
    return extract


def _page(
    run: ResumableFetch,
    client: httpx.Client,
    base: str,
    series: str,
    page: int,
    years: tuple[int, int] | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One page of a series, from an earlier run or the API: (header, records)."""
    key = f"{series}-{page}"
    if run.entry(key) is None:
        params: dict[str, Any] = {
            "source": WGI_SOURCE,
            "format": "json",
            "per_page": PER_PAGE,
            "page": page,
        }
        if years is not None:
            params["date"] = f"{years[0]}:{years[1]}"
        url = f"{url_join(base, f'country/all/indicator/{series}')}?{urlencode(params)}"
        advice = (
            f"check the base URL (base_url or {WORLD_BANK_URL_VARIABLE}, default "
            f"{DEFAULT_WORLD_BANK_URL}) or try again later"
        )

        def check(body: Any) -> str | None:
            """Why the answer is not this page of the series, or None."""
            return _problem(body, page)

        try:
            run.fetch(key, url, client=client, check=check, advice=advice)
        except DownloadError as exc:
            if not run.finished:
                raise
            raise DownloadError(
                f"{exc}; the {run.finished} page(s) answered before are kept in {run.folder}, "
                "so the same command continues from there"
            ) from exc
        run.record(key, keep=True)
    header, records = run.answer(key)
    return header, records or []


def _problem(body: Any, page: int) -> str | None:
    """Why a parsed answer is not page ``page`` of a series: the API's error message, another
    shape, another page; None when it is."""
    if isinstance(body, list) and body and isinstance(body[0], dict) and "message" in body[0]:
        messages = body[0]["message"] if isinstance(body[0]["message"], list) else []
        said = "; ".join(
            f"{m.get('key', '')}: {m.get('value', '')}".strip(": ")
            for m in messages
            if isinstance(m, dict)
        )
        return f"the World Bank API answered with the error {said or body[0]['message']!r}"
    if not (
        isinstance(body, list)
        and len(body) == 2
        and isinstance(body[0], dict)
        and isinstance(body[1], list | type(None))
    ):
        return "the answer is not a World Bank API page ([header, rows])"
    header = body[0]
    for field in ("page", "pages", "total"):
        if not isinstance(header.get(field), int):
            return f"the page header has no whole number {field}"
    if header["page"] != page:
        return f"the server answered page {header['page']} when page {page} was asked"
    for number, record in enumerate(body[1] or [], start=1):
        if not (
            isinstance(record, dict)
            and isinstance(record.get("country"), dict)
            and isinstance(record.get("date"), str)
            and "value" in record
        ):
            return f"row {number} of the page has no country, date or value"
    return None


def _rows(
    indicator: str,
    records: list[dict[str, Any]],
    years: tuple[int, int] | None,
    set_aside: dict[str, int],
) -> list[list[str]]:
    """The long-layout rows of one page: the ISO3 code (else the API's country id), the name,
    the year, the indicator and the estimate (``..`` when null).

    Rows of an entity with no ISO3 whose id is no code known here (a region the API lists
    without a code) are counted in ``set_aside`` by name; an ISO3 code that is unknown stays, so
    that ``read_wgi`` refuses it as for the bulk file.
    """
    rows = []
    known = known_iso3() | WORLD_BANK_AGGREGATES
    for record in records:
        country = record["country"]
        name = str(country.get("value") or "")
        iso3 = str(record.get("countryiso3code") or "").strip()
        code = iso3 or str(country.get("id") or "").strip()
        if not iso3 and normalize_iso3(code) not in known:
            set_aside[name or code or "(no name)"] = set_aside.get(name or code, 0) + 1
            continue
        year = record["date"].strip()
        if years is not None and _outside(year, years):
            continue
        value = record["value"]
        estimate = (
            ".."
            if value is None
            else repr(float(value))
            if isinstance(value, int | float) and math.isfinite(value)
            else str(value)
        )
        rows.append([f"{code}{indicator}{year}", code, name, year, indicator, estimate])
    return rows


def _outside(year: str, years: tuple[int, int]) -> bool:
    """True for a four-digit year out of ``years``; any other text is left to ``read_wgi``."""
    return bool(re.fullmatch(r"\d{4}", year)) and not years[0] <= int(year) <= years[1]


def _write_long(rows: list[list[str]], target: Path) -> None:
    """Write ``rows`` under the long layout's header at ``target``, whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    with part.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(LONG_LAYOUT)
        writer.writerows(rows)
    os.replace(part, target)


def _years(years: Iterable[int] | None) -> tuple[int, int] | None:
    """The (first, last) years asked for, checked; None for all."""
    if years is None:
        return None
    chosen = sorted(set(years))
    implausible = [y for y in chosen if not plausible_year(y)]
    if not chosen or implausible:
        raise InputError(
            f"years {implausible[0]} is not a year ({year_range()})"
            if implausible
            else "years names no year",
            field="years",
            hint="write years such as 1996-2023, or leave them out for all",
        )
    if chosen[-1] - chosen[0] != len(chosen) - 1:
        raise InputError(
            f"years {', '.join(map(str, chosen))} leave gaps; the World Bank API takes a range",
            field="years",
            hint=f"write a range such as {chosen[0]}-{chosen[-1]}",
        )
    return chosen[0], chosen[-1]


def _span(years: tuple[int, int] | None) -> str:
    """``1996-2023``, or ``all years``."""
    return "all years" if years is None else f"{years[0]}-{years[1]}"


def _release(updated: set[str]) -> str | None:
    """``WGI-<year>`` of the API's ``lastupdated`` date (the World Bank names each update by
    the year it is published), None when the pages do not agree on one."""
    found = {value[:4] for value in updated if re.match(r"\d{4}-", value)}
    return f"WGI-{found.pop()}" if len(found) == 1 else None
