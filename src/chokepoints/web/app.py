"""The FastAPI application: ``/api/v1`` (``web.api``), the pages (``web.pages``), vendored
static assets, token checks and one-sentence errors.

Errors a user can cause never show a traceback: a ChokepointsError becomes 404 (unknown code,
no data) or 422 (bad value), a timeout 504, a failed validation 422, each with one sentence in
``{"detail": ...}`` for the API and a page for the browser.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from chokepoints import __version__
from chokepoints.errors import ChokepointsError, NoDataError, UnknownCodeError
from chokepoints.web.answerer import Answerer, QuestionTimeout
from chokepoints.web.settings import MAX_REQUEST_BYTES, ServerSettings

STATIC = Path(__file__).parent / "static"
#: The cookie a browser keeps the token in after opening a link with ``?token=``.
TOKEN_COOKIE = "chokepoints_token"


def create_app(settings: ServerSettings) -> FastAPI:
    """The application over the store of ``settings.home``, read-only."""
    from chokepoints.web import api, jobs, pages

    answerer = Answerer(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepared = await answerer.prepare()
        if prepared is not None:
            await _warm(app, [f"/country/{prepared.economy}", f"/product/{prepared.product}"])
            answerer.forget()
        yield
        answerer.close()

    app = FastAPI(
        title="chokepoints",
        version=__version__,
        description="Economic-security supply-chain analysis on public trade data: "
        "dependencies, disruption scenarios, diversification. Read-only.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.answerer = answerer
    app.state.jobs = jobs.JobBoard(answerer, settings)
    app.middleware("http")(_request_limits)
    if settings.token is not None:
        app.middleware("http")(_token_check(settings.token))
    app.add_exception_handler(ChokepointsError, _user_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.include_router(api.router)
    app.include_router(jobs.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _warm(app: FastAPI, urls: list[str]) -> None:
    """Make ``urls`` through the app: the imports, templates, chart code and reference lookups
    every page needs are then ready, and the first analysts' pages cost what later ones do."""
    import httpx

    settings: ServerSettings = app.state.settings
    headers = {} if settings.token is None else {"Authorization": f"Bearer {settings.token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://warm") as client:
        for url in urls:
            await client.get(url, headers=headers)


def answerer_of(request: Request) -> Answerer:
    """The answerer of the app serving ``request``."""
    answerer: Answerer = request.app.state.answerer
    return answerer


def _token_check(
    token: str,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Middleware refusing every request without the token (header, cookie or ``?token=``).

    ``Authorization: Bearer TOKEN`` serves API clients; a link with ``?token=TOKEN`` stores it
    in an HttpOnly cookie and redirects to the same URL without it, for browsers.
    """
    expected = token.encode()

    def matches(given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), expected)

    async def check(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        header = request.headers.get("authorization", "")
        bearer = header[7:] if header.lower().startswith("bearer ") else None
        if matches(bearer) or matches(request.cookies.get(TOKEN_COOKIE)):
            return await call_next(request)
        if matches(request.query_params.get("token")):
            target = str(request.url.remove_query_params("token"))
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response
        return JSONResponse(
            {
                "detail": "this server needs its token: send 'Authorization: Bearer TOKEN' or "
                "open a link with ?token=TOKEN once"
            },
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    return check


async def _request_limits(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Refuse requests larger than ``MAX_REQUEST_BYTES``: a long query string (414), a body
    announced too large (413) or not announced at all (411)."""
    limit = MAX_REQUEST_BYTES
    if len(request.url.query) > limit:
        return JSONResponse(
            {"detail": f"the query string is longer than {limit:,} characters; ask for less"},
            status_code=414,
        )
    if request.method in ("POST", "PUT", "PATCH"):
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            return JSONResponse(
                {"detail": "send the request's Content-Length (bodies are not streamed)"},
                status_code=411,
            )
        if int(length) > limit:
            return JSONResponse(
                {"detail": f"the request body is over {limit:,} bytes; send less"},
                status_code=413,
            )
    return await call_next(request)


def status_of(exc: ChokepointsError) -> int:
    """The HTTP status of a user error: 404 unknown or absent, 504 timeout, 422 otherwise."""
    if isinstance(exc, UnknownCodeError | NoDataError):
        return 404
    if isinstance(exc, QuestionTimeout):
        return 504
    return 422


async def _user_error(request: Request, exc: Exception) -> Response:
    """A ChokepointsError as one sentence: JSON for the API, a page for a browser."""
    assert isinstance(exc, ChokepointsError)
    return _error_response(request, status_of(exc), str(exc))


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A failed validation as one sentence naming the parameter and what is wrong."""
    assert isinstance(exc, RequestValidationError)
    return _error_response(request, 422, validation_sentence(exc.errors()))


def validation_sentence(errors: Any) -> str:
    """The first validation error as ``parameter NAME: what is wrong``."""
    first: dict[str, Any] = next(iter(errors), {})
    where = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body")]
    name = ".".join(where) or "request"
    message = str(first.get("msg", "is not valid")).rstrip(".")
    return f"parameter {name}: {message[:1].lower()}{message[1:]}"


def _error_response(request: Request, status: int, message: str) -> Response:
    """The error for an API client (JSON) or a page request (the page's error template)."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status)
    from chokepoints.web.pages import error_page

    return error_page(request, status, message)
