"""Server-rendered pages (Jinja2, htmx-style partial updates, Plotly charts): home, search,
country, product, scenario, diversification and compare, and the vendored scripts they load.

Every page's state is in its URL (path and query string), so a link reproduces the view; the
page's script swaps in the changed part and pushes the new URL. The pages only ask the
``Workspace`` questions through the answerer (``explore`` and ``policy`` say which).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from pydantic import BeforeValidator, Field

from chokepoints.web import explore, policy
from chokepoints.web.app import answerer_of
from chokepoints.web.rendering import csv_response_text, page

if TYPE_CHECKING:
    import pandas as pd

router = APIRouter(include_in_schema=False)
#: Says whether a page came from those kept (``hit``) or was made for the request (``miss``).
CACHE_HEADER = "X-Chokepoints-Cache"
#: A page endpoint: the request first, then its path and query parameters.
Endpoint = Callable[..., Awaitable[Response]]

#: An empty form field counts as not given.
_Empty = BeforeValidator(lambda value: None if value == "" else value)
#: Country, group or HS code as a path segment: letters, digits, ``_`` and ``-`` only.
Economy = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{2,40}$")]
Code = Annotated[str, Field(pattern=r"^[0-9]{2,6}$")]
Year = Annotated[Annotated[int, Field(ge=1900, le=2100)] | None, _Empty, Query()]
Sector = Annotated[Annotated[str, Field(pattern=r"^[a-z0-9_]{1,60}$")] | None, _Empty, Query()]
#: Comma lists of countries, groups, sectors or products.
Names = Annotated[str | None, _Empty, Query(pattern=r"^[A-Za-z0-9_,\- ]{0,400}$")]
Fraction = Annotated[Annotated[float, Field(gt=0, le=1)] | None, _Empty, Query()]
Allocation = Annotated[str | None, _Empty, Query(pattern=r"^(pro_rata|per_importer)$")]
#: Cache lifetime of the vendored scripts and map (they change with the package only).
VENDOR_CACHE = {"Cache-Control": "public, max-age=86400"}


def kept(endpoint: Endpoint) -> Endpoint:
    """A page endpoint whose page is kept per URL (and partial or whole) until the store
    changes: a page is a function of its URL and the store, so the next analyst opening it
    costs neither a question nor the rendering of its charts."""

    @functools.wraps(endpoint)
    async def serve(request: Request, *args: Any, **kwargs: Any) -> Response:
        answerer = answerer_of(request)
        partial = request.headers.get("hx-request") == "true"
        key = ("page", request.url.path, request.url.query, partial)
        body = answerer.cached(key)
        if body is not None:
            return HTMLResponse(body, headers={"Vary": "HX-Request", CACHE_HEADER: "hit"})
        response = await endpoint(request, *args, **kwargs)
        if response.status_code == 200:
            answerer.remember(key, bytes(response.body))
        response.headers[CACHE_HEADER] = "miss"
        return response

    return cast(Endpoint, serve)


async def made(request: Request, template: str, context: dict[str, Any]) -> Response:
    """The page rendered in a worker thread: turning its charts to JSON takes a while, and on
    the event loop it would hold up every other request, kept pages included."""
    return await run_in_threadpool(page, request, template, **context)


def _split(text: str | None) -> tuple[str, ...]:
    """A comma list as a tuple of its trimmed, non-empty items."""
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


@router.get("/", response_class=HTMLResponse)
@kept
async def home(request: Request) -> Response:
    """The home page: datasets held, a quick search, where to start."""
    context = await explore.home(answerer_of(request))
    return await made(request, "home.html", context)


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, q: Annotated[str, Query(max_length=80)] = "") -> Response:
    """Countries, groups and products matching ``q``."""
    context = await explore.search(answerer_of(request), q)
    return await made(request, "search.html", context)


@router.get("/country/{economy}", response_class=HTMLResponse)
@kept
async def country(
    request: Request, economy: Economy, year: Year = None, sector: Sector = None
) -> Response:
    """A country's or group's dependencies, suppliers, map, trend and export markets."""
    context = await explore.country(answerer_of(request), economy, year=year, sector=sector)
    return await made(request, "country.html", context)


@router.get("/country/{economy}/suppliers.csv")
async def country_suppliers(
    request: Request, economy: Economy, year: Year = None, sector: Sector = None
) -> Response:
    """The country page's suppliers table as CSV."""
    context = await explore.country(answerer_of(request), economy, year=year, sector=sector)
    suppliers = next(c for c in context["charts"] if c.key == "suppliers").tables[0].frame
    return _csv(suppliers, f"{context['who']}-suppliers-{context['year']}.csv")


@router.get("/product/{code}", response_class=HTMLResponse)
@kept
async def product(request: Request, code: Code, year: Year = None) -> Response:
    """A product's world picture: exporters and the importers' concentration."""
    context = await explore.product(answerer_of(request), code, year=year)
    return await made(request, "product.html", context)


def _shock(
    preset: str | None,
    supplier: str | None,
    sector: str | None,
    product: str | None,
    importer: str | None,
    fraction: float | None,
    year: int | None,
    allocation: str | None,
) -> policy.Shock:
    """The scenario the scenario page's query string states."""
    return policy.Shock(
        preset=preset,
        supplier=None if preset else supplier,
        sectors=_split(sector),
        products=_split(product),
        importers=_split(importer),
        fraction=1.0 if fraction is None else fraction,
        year=year,
        allocation=allocation or "pro_rata",
    )


@router.get("/scenario", response_class=HTMLResponse)
@kept
async def scenario(
    request: Request,
    preset: Annotated[str | None, _Empty, Query(pattern=r"^[a-z0-9\-]{1,80}$")] = None,
    supplier: Names = None,
    sector: Names = None,
    product: Names = None,
    importer: Names = None,
    fraction: Fraction = None,
    year: Year = None,
    allocation: Allocation = None,
) -> Response:
    """A preset or custom supply shock: impacts by importer and downstream."""
    shock = _shock(preset, supplier, sector, product, importer, fraction, year, allocation)
    context = await policy.scenario(answerer_of(request), shock)
    return await made(request, "scenario.html", context)


@router.get("/scenario/downstream.csv")
async def scenario_downstream(
    request: Request,
    preset: Annotated[str | None, _Empty, Query(pattern=r"^[a-z0-9\-]{1,80}$")] = None,
    supplier: Names = None,
    sector: Names = None,
    product: Names = None,
    importer: Names = None,
    fraction: Fraction = None,
    year: Year = None,
) -> Response:
    """The scenario page's downstream table as CSV."""
    shock = _shock(preset, supplier, sector, product, importer, fraction, year, None)
    frame = await policy.downstream_of(answerer_of(request), shock)
    return _csv(frame, "downstream.csv")


@router.get("/diversify/{economy}/{code}", response_class=HTMLResponse)
@kept
async def diversify(
    request: Request,
    economy: Economy,
    code: Code,
    year: Year = None,
    exclude: Names = None,
    trusted: Names = None,
    max_share: Fraction = None,
) -> Response:
    """Alternative suppliers and the optimised mix, under the page's constraints."""
    context = await policy.diversify(
        answerer_of(request),
        economy,
        code,
        year=year,
        exclude=_split(exclude),
        trusted=_split(trusted),
        max_share=None if max_share is None or max_share >= 1 else max_share,
    )
    return await made(request, "diversify.html", context)


@router.get("/compare", response_class=HTMLResponse)
@kept
async def compare(
    request: Request,
    economies: Names = "JPN,DEU",
    year: Year = None,
    sector: Sector = None,
) -> Response:
    """Two or more partners side by side."""
    partners = _split(economies)
    if len(partners) < 2:
        return error_page(
            request, 422, "parameter economies: name two or more, e.g. economies=JPN,DEU"
        )
    context = await policy.compare(answerer_of(request), partners, year=year, sector=sector)
    return await made(request, "compare.html", context)


@router.get("/vendor/plotly.min.js")
async def plotly_js() -> Response:
    """Plotly.js as the plotly package ships it (the report inlines the same file)."""
    path = resources.files("plotly") / "package_data" / "plotly.min.js"
    return FileResponse(str(path), media_type="text/javascript", headers=VENDOR_CACHE)


@router.get("/vendor/topojson/world_110m.json")
async def world_map() -> Response:
    """The world map the report's maps draw (Plotly fetches it from ``topojsonURL``)."""
    path = resources.files("chokepoints.report") / "assets" / "world_110m.json"
    return FileResponse(str(path), media_type="application/json", headers=VENDOR_CACHE)


def _csv(frame: pd.DataFrame, name: str) -> Response:
    """A table as a CSV download."""
    return PlainTextResponse(
        csv_response_text(frame),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def error_page(request: Request, status: int, message: str) -> Response:
    """A user error as a page: the sentence, and the way back."""
    return page(request, "error.html", status=status, message=message, code=status)
