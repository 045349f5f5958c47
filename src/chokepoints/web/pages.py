"""Server-rendered pages (Jinja2, htmx for partial updates, Plotly for charts)."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """The home page: datasets held and a quick search."""
    return HTMLResponse("<!doctype html><title>chokepoints</title><h1>chokepoints</h1>")


def error_page(request: Request, status: int, message: str) -> Response:
    """A user error as a page: the sentence, and a link home."""
    return HTMLResponse(
        "<!doctype html><title>chokepoints: error</title>"
        f"<p>{html.escape(message)}</p><a href='/'>home</a>",
        status_code=status,
    )
