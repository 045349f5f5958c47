"""The REST API under ``/api/v1``: one endpoint per ``Workspace`` question, JSON by default
(the CLI's field names plus ``provenance``), CSV and Parquet with ``?format=``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from chokepoints.web.app import answerer_of

router = APIRouter(prefix="/api/v1", tags=["api"])


@router.get("/datasets")
async def datasets(request: Request) -> dict[str, Any]:
    """What the store holds: datasets, releases, years, coverage (``data info``)."""
    answerer = answerer_of(request)
    info: dict[str, Any] = await answerer.run(lambda ws: ws.info(), timeout=None)
    return info
