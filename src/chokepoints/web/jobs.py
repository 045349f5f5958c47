"""Background jobs for questions longer than a request may take: the full HTML report (built by
the same code as ``chokepoints report``), the stress test over every sector, the world screen
and the optimised sourcing of every concentrated import.

``POST /api/v1/jobs`` answers 202 with the job's URLs at once; the job runs on the answerer's
pool (at most ``workers - 1`` at a time, so that pages keep a workspace), reports its progress
as server-sent events and keeps its result, cached like every answer per (store generation,
question, parameters). At most ``max_jobs`` are kept: a new job drops the oldest finished one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from chokepoints.errors import ChokepointsError
from chokepoints.web.answerer import Answerer
from chokepoints.web.formats import json_response, safe_name, table_response
from chokepoints.web.models import (
    DOWNLOADS,
    ECONOMY_PATTERN,
    ERRORS,
    NAME_PATTERN,
    Limit,
    OutputFormat,
    Problem,
)
from chokepoints.web.settings import ServerSettings

log = logging.getLogger("chokepoints.web")

Status = Literal["queued", "running", "done", "error"]
Progress = Callable[[str, int, int], None]

EconomyCode = Annotated[str, Field(pattern=ECONOMY_PATTERN, examples=["JPN"])]
SectorId = Annotated[str, Field(pattern=NAME_PATTERN, examples=["semiconductors"])]
JobYear = Annotated[int | None, Field(ge=1988, le=2100)]
JobShare = Annotated[float, Field(ge=0, le=1)]


class _Params(BaseModel):
    """Parameters of a job question: the Workspace's keyword names, nothing else, each of
    its JSON type (``0`` is no boolean, ``"3"`` no number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ReportParams(_Params):
    """``chokepoints report ECONOMY``: the report's questions for one economy."""

    economy: EconomyCode
    partners: list[EconomyCode] = Field(default=[], max_length=10, examples=[["DEU"]])
    year: JobYear = None
    sectors: list[SectorId] = Field(default=[], max_length=50)
    method: Literal["geodep", "ec2021"] = "geodep"
    allow_partial: bool = False
    source: Annotated[str | None, Field(pattern=NAME_PATTERN)] = None


class StressParams(_Params):
    """``Workspace.stress``: every supplier cut off, sector by sector."""

    year: JobYear = None
    sectors: list[SectorId] = Field(default=[], max_length=50)
    importers: list[EconomyCode] = Field(default=[], max_length=50, examples=[["JPN"]])
    top: Annotated[int | None, Field(ge=1, le=1000)] = 3
    redirect_fraction: Annotated[float | None, Field(gt=0, le=1)] = None
    allocation: Literal["pro_rata", "per_importer"] = "pro_rata"
    by: Literal["importer", "member"] = "importer"
    allow_partial: bool = False
    source: Annotated[str | None, Field(pattern=NAME_PATTERN)] = None


class ScreenParams(_Params):
    """``Workspace.dependencies_all``: GeoDep for every importer and product."""

    year: JobYear = None
    sector: SectorId | None = None
    include_all: bool = False
    allow_partial: bool = False
    source: Annotated[str | None, Field(pattern=NAME_PATTERN)] = None


class SourcingParams(_Params):
    """``Workspace.diversify_all``: the optimised sourcing of every concentrated import."""

    country: EconomyCode
    year: JobYear = None
    sector: SectorId | None = None
    min_hhi: JobShare = 0.4
    exclude: list[EconomyCode] = Field(default=[], max_length=50)
    trusted: list[EconomyCode] = Field(default=["like_minded"], max_length=50)
    max_share: Annotated[float | None, Field(gt=0, le=1)] = None
    min_share: JobShare = 0.01
    redirect_fraction: JobShare = 0.5
    objective: Literal["hhi", "hhi_wgi"] = "hhi"
    allow_partial: bool = False
    source: Annotated[str | None, Field(pattern=NAME_PATTERN)] = None


class ReportJob(BaseModel):
    """The full HTML report, as ``chokepoints report`` writes it."""

    model_config = ConfigDict(extra="forbid")
    question: Literal["report"]
    params: ReportParams


class StressJob(BaseModel):
    """The stress test (every sector by default)."""

    model_config = ConfigDict(extra="forbid")
    question: Literal["stress"]
    params: StressParams = StressParams()


class ScreenJob(BaseModel):
    """The world screen (``deps --all-importers``)."""

    model_config = ConfigDict(extra="forbid")
    question: Literal["dependencies_all"]
    params: ScreenParams = ScreenParams()


class SourcingJob(BaseModel):
    """Every concentrated import optimised (``diversify ECONOMY`` without a product)."""

    model_config = ConfigDict(extra="forbid")
    question: Literal["diversify_all"]
    params: SourcingParams


JobRequest = Annotated[
    ReportJob | StressJob | ScreenJob | SourcingJob,
    Body(
        discriminator="question",
        openapi_examples={
            "report": {"value": {"question": "report", "params": {"economy": "JPN"}}},
            "stress": {"value": {"question": "stress", "params": {"importers": ["JPN"]}}},
        },
    ),
]


class JobAnswer(BaseModel):
    """Where a job stands and where to follow it."""

    id: str
    question: str
    status: Status
    status_url: str
    events_url: str
    result_url: str
    progress: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Job:
    """One background question: its state, its events so far and, once done, its result."""

    id: str
    question: str
    params: dict[str, Any]
    key: Any
    status: Status = "queued"
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    result: Any = None
    error: tuple[int, str] | None = None
    created: float = field(default_factory=time.monotonic)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def finished(self) -> bool:
        """Done or failed: nothing more will happen."""
        return self.status in ("done", "error")

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Record an event and wake whoever follows the job (on the event loop's thread)."""
        self.events.append((event, data))
        self.changed.set()
        self.changed = asyncio.Event()

    def answer(self) -> dict[str, Any]:
        """The job's state as ``JobAnswer`` fields."""
        base = f"/api/v1/jobs/{self.id}"
        progress = [data for event, data in self.events if event == "progress"]
        return {
            "id": self.id,
            "question": self.question,
            "status": self.status,
            "status_url": base,
            "events_url": f"{base}/events",
            "result_url": f"{base}/result",
            "progress": progress[-1] if progress else None,
            "error": self.error[1] if self.error else None,
        }


class JobBoard:
    """The jobs of one app: started, followed, kept up to ``settings.max_jobs``."""

    def __init__(self, answerer: Answerer, settings: ServerSettings) -> None:
        self.answerer = answerer
        self.settings = settings
        self.jobs: dict[str, Job] = {}
        self._running: asyncio.Semaphore | None = None

    def start(self, question: str, params: dict[str, Any]) -> Job:
        """A job for ``question``: the one under way or finished for the same question and
        parameters on this store generation, else a new one (from the cache when answered)."""
        key = self.answerer.key(f"job:{question}", params)
        for job in self.jobs.values():
            if job.key == key and job.status != "error":
                return job
        self._make_room()
        job = Job(secrets.token_urlsafe(12), question, params, key)
        self.jobs[job.id] = job
        cached = self.answerer.cached(key)
        if cached is not None:
            job.publish("progress", {"done": 1, "total": 1, "description": "cached"})
            self._finish(job, cached)
        else:
            job.task = asyncio.get_running_loop().create_task(self._run(job))
        return job

    def get(self, job_id: str) -> Job:
        """The job called ``job_id``, or 404."""
        job = self.jobs.get(job_id)
        if job is None:
            raise HTTPException(
                404,
                f"no job {job_id} on this server (jobs are kept until "
                f"{self.settings.max_jobs} newer ones are made); start it again",
            )
        return job

    def _make_room(self) -> None:
        """Drop the oldest finished jobs beyond the limit; refuse when all are under way."""
        while len(self.jobs) >= self.settings.max_jobs:
            finished = [j for j in self.jobs.values() if j.finished]
            if not finished:
                raise HTTPException(
                    429,
                    f"{len(self.jobs)} jobs are under way, as many as this server keeps; "
                    "wait for one to finish",
                )
            del self.jobs[min(finished, key=lambda j: j.created).id]

    def _slots(self) -> asyncio.Semaphore:
        """Jobs running at once: one workspace of the pool stays free for requests."""
        if self._running is None:
            self._running = asyncio.Semaphore(max(1, len(self.answerer.workspaces) - 1))
        return self._running

    async def _run(self, job: Job) -> None:
        """Run the job's question on the pool, publishing its progress, keeping its result."""
        loop = asyncio.get_running_loop()

        def progress(description: str, done: int, total: int) -> None:
            data = {"done": done, "total": total, "description": description}
            loop.call_soon_threadsafe(job.publish, "progress", data)

        compute = QUESTIONS[job.question]
        async with self._slots():
            job.status = "running"
            job.publish("progress", {"done": 0, "total": 1, "description": "started"})
            try:
                result = await self.answerer.run(
                    lambda ws: compute(ws, job.params, progress),
                    timeout=self.settings.job_timeout_seconds,
                )
            except ChokepointsError as exc:
                from chokepoints.web.app import status_of

                job.error = (status_of(exc), str(exc))
                job.status = "error"
                job.publish("error", {"status": job.error[0], "detail": job.error[1]})
                return
            except Exception:
                log.exception("job %s (%s) failed", job.id, job.question)
                job.error = (500, "the job failed on an error of the server; its log says why")
                job.status = "error"
                job.publish("error", {"status": 500, "detail": job.error[1]})
                return
        self.answerer.remember(job.key, result)
        self._finish(job, result)

    def _finish(self, job: Job, result: Any) -> None:
        """Keep the result and tell the followers where it is."""
        job.result = result
        job.status = "done"
        job.publish("done", {"result_url": f"/api/v1/jobs/{job.id}/result"})


# -- the questions a job can run -------------------------------------------------------------
def _report(ws: Any, params: dict[str, Any], progress: Progress) -> bytes:
    """The report's HTML, gathered and rendered as ``chokepoints report`` does."""
    from chokepoints.report import gather, render_html

    options = dict(params)
    economy = options.pop("economy")
    content = gather(ws, economy, progress=progress, **options)
    return render_html(content).encode("utf-8")


def _asked(question: str) -> Callable[[Any, dict[str, Any], Progress], Any]:
    """A job asking ``Workspace.<question>`` in one step (these questions report no steps)."""

    def compute(ws: Any, params: dict[str, Any], progress: Progress) -> Any:
        progress(question, 0, 1)
        answer = getattr(ws, question)(**params)
        progress(question, 1, 1)
        return answer

    return compute


QUESTIONS: dict[str, Callable[[Any, dict[str, Any], Progress], Any]] = {
    "report": _report,
    "stress": _asked("stress"),
    "dependencies_all": _asked("dependencies_all"),
    "diversify_all": _asked("diversify_all"),
}


# -- endpoints -------------------------------------------------------------------------------
router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,40}$", description="The job's id.")]


def board_of(request: Request) -> JobBoard:
    """The job board of the app serving ``request``."""
    board: JobBoard = request.app.state.jobs
    return board


@router.post(
    "",
    status_code=202,
    response_model=JobAnswer,
    responses={**ERRORS, 429: {"model": Problem, "description": "Too many jobs under way."}},
)
async def start_job(request: Request, body: JobRequest) -> Response:
    """Start a long question in the background; follow ``events_url`` (server-sent events)
    and fetch ``result_url`` once it is done."""
    params = body.params.model_dump()
    job = board_of(request).start(body.question, params)
    return json_response(job.answer(), status=202)


@router.get("/{job_id}", response_model=JobAnswer, responses=ERRORS)
async def job_status(request: Request, job_id: JobId) -> Response:
    """Where the job stands: queued, running (with its last progress), done or error."""
    return json_response(board_of(request).get(job_id).answer())


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
)
async def job_events(request: Request, job_id: JobId) -> Response:
    """Server-sent events: ``progress`` (done, total, description), then ``done`` (with the
    result's URL) or ``error`` (status and one sentence). Reconnecting with
    ``Last-Event-ID`` resumes after that event."""
    job = board_of(request).get(job_id)
    try:
        start = int(request.headers.get("last-event-id", "-1")) + 1
    except ValueError:
        start = 0
    return StreamingResponse(
        _stream(request, job, max(0, start)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(request: Request, job: Job, start: int) -> AsyncIterator[bytes]:
    """The job's events from number ``start``, as they come, until it has finished."""
    sent = start
    while True:
        waiting = job.changed
        while sent < len(job.events):
            event, data = job.events[sent]
            yield f"id: {sent}\nevent: {event}\ndata: {json.dumps(data)}\n\n".encode()
            sent += 1
        if job.finished or await request.is_disconnected():
            return
        try:
            await asyncio.wait_for(waiting.wait(), timeout=15)
        except TimeoutError:
            yield b": keep-alive\n\n"


@router.get(
    "/{job_id}/result",
    responses={
        200: {"content": {"text/html": {}, "application/json": {}, **DOWNLOADS}},
        409: {"model": Problem, "description": "The job has not finished yet."},
        **ERRORS,
    },
)
async def job_result(
    request: Request, job_id: JobId, limit: Limit = None, fmt: OutputFormat = "json"
) -> Response:
    """The job's result: the report as an HTML attachment, a table as JSON, CSV or Parquet
    (``format``, ``limit``); the job's error when it failed, 409 while it runs."""
    from chokepoints.web.api import rows_limit

    job = board_of(request).get(job_id)
    if job.error is not None:
        return json_response({"detail": job.error[1]}, status=job.error[0])
    if not job.finished:
        return json_response(
            {"detail": f"job {job.id} is {job.status}; follow its events_url until it is done"},
            status=409,
        )
    name = safe_name("-".join([job.question, *_labels(job.params)]))
    if isinstance(job.result, bytes):
        return Response(
            job.result,
            media_type="text/html; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.html"'},
        )
    return table_response(job.result, fmt, rows_limit(request, limit), name)


def _labels(params: dict[str, Any]) -> list[str]:
    """The economies a job is about, for its result's file name."""
    found = [params.get("economy"), params.get("country"), *params.get("importers", [])]
    return [str(label) for label in found if label]
