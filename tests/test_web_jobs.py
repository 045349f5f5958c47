"""Background jobs: a report job followed over server-sent events from a real uvicorn server
gives the very file ``chokepoints report`` writes; a stress job gives the CLI's rows; jobs are
reused, bounded and fail in one sentence; and the cache is dropped when the store changes."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient

from api_server import serving
from chokepoints.web.app import create_app
from chokepoints.web.settings import ServerSettings
from chokepoints.workspace import Workspace
from helpers import run_quietly


def chokepoints(home: Path, *args: str) -> str:
    """Run the CLI (in this process: the comparison is of answers, not of the process);
    return its stdout."""
    code, out, err = run_quietly(*args, "--home", str(home))
    assert code == 0, err
    return out


def events(client: httpx.Client, url: str) -> list[tuple[str, dict[str, Any]]]:
    """The server-sent events of a job until it ends, as (event, data)."""
    found: list[tuple[str, dict[str, Any]]] = []
    event = None
    with client.stream("GET", url, timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event is not None:
                found.append((event, json.loads(line[len("data: ") :])))
    return found


def finished(client: Any, job: dict[str, Any]) -> dict[str, Any]:
    """The job's status once it is done or failed."""
    while True:
        status: dict[str, Any] = client.get(job["status_url"]).json()
        if status["status"] in ("done", "error"):
            return status
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server(demo_home: Path) -> Iterator[str]:
    """A real uvicorn server over the demo store; its base URL."""
    with serving(create_app(ServerSettings(home=demo_home))) as port:
        yield f"http://127.0.0.1:{port}"


def test_report_job_streams_progress_and_gives_the_cli_report(
    server: str, demo_home: Path, tmp_path: Path
) -> None:
    with httpx.Client(base_url=server) as client:
        response = client.post(
            "/api/v1/jobs", json={"question": "report", "params": {"economy": "JPN"}}
        )
        assert response.status_code == 202
        job = response.json()
        assert job["events_url"] == f"/api/v1/jobs/{job['id']}/events"
        stream = events(client, job["events_url"])
        result = client.get(job["result_url"])
    progress = [data for event, data in stream if event == "progress"]
    steps = [p for p in progress if p["description"] != "started"]
    assert [p["done"] for p in steps] == list(range(len(steps)))
    assert {p["total"] for p in steps} == {len(steps)} and len(steps) >= 5
    assert steps[0]["description"] == "dependencies"
    assert stream[-1] == ("done", {"result_url": job["result_url"]})
    assert result.headers["content-type"].startswith("text/html")
    assert result.headers["content-disposition"] == 'attachment; filename="report-JPN.html"'
    written = tmp_path / "report.html"
    chokepoints(demo_home, "report", "JPN", "--output", str(written))
    # Byte for byte but for Plotly's packed float arrays: sums over sets round differently in
    # their last bit from one process (hash seed) to another, and then even their length may
    # differ (the JSON escapes each "/" of the base64 text).
    assert without_packed_floats(result.content) == without_packed_floats(written.read_bytes())


def without_packed_floats(html: bytes) -> bytes:
    """``html`` with the base64 float arrays of Plotly figures blanked."""
    return re.sub(rb'"bdata":"[^"]*"', b'"bdata":""', html)


def test_stress_job_gives_the_cli_rows(server: str, demo_home: Path) -> None:
    expected = json.loads(chokepoints(demo_home, "stress", "--importer", "JPN", "--format", "json"))
    with httpx.Client(base_url=server) as client:
        body = {"question": "stress", "params": {"importers": ["JPN"]}}
        job = client.post("/api/v1/jobs", json=body).json()
        assert finished(client, job)["status"] == "done"
        rows = client.get(job["result_url"]).json()["rows"]
        again = client.post("/api/v1/jobs", json=body).json()
        csv = client.get(job["result_url"] + "?format=csv&limit=2")
    assert [(r["supplier"], r["sector"]) for r in rows] == [
        (r["supplier"], r["sector"]) for r in expected
    ]
    assert [r["shortfall_value_usd"] for r in rows] == pytest.approx(
        [r["shortfall_value_usd"] for r in expected]
    )
    assert again["id"] == job["id"] and again["status"] == "done"
    assert csv.headers["content-disposition"] == 'attachment; filename="stress-JPN.csv"'
    assert len(csv.text.strip().splitlines()) == 3


def test_failed_job_says_why_in_one_sentence(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        body = {"question": "report", "params": {"economy": "XYZ"}}
        job = client.post("/api/v1/jobs", json=body).json()
        stream = events(client, job["events_url"])
        result = client.get(job["result_url"])
    event, data = stream[-1]
    assert event == "error" and data["status"] == 404
    assert "unknown country or group 'XYZ'" in data["detail"]
    assert result.status_code == 404 and result.json()["detail"] == data["detail"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"question": "sql", "params": {}}, "does not match any of the expected tags"),
        ({"question": "report", "params": {}}, "parameter report.params.economy"),
        ({"question": "report", "params": {"economy": "../../etc"}}, "pattern"),
        ({"question": "stress", "params": {"home": "/tmp"}}, "extra inputs"),
        ({"question": "stress", "params": {"allow_partial": 1}}, "boolean"),
        ({"question": "stress", "params": {"top": 0}}, "greater than or equal to 1"),
    ],
)
def test_bad_job_bodies_are_refused(server: str, body: dict[str, Any], words: str) -> None:
    response = httpx.post(server + "/api/v1/jobs", json=body)
    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_oversized_and_unknown(server: str) -> None:
    big = httpx.post(
        server + "/api/v1/jobs",
        content=b"{" + b" " * 20_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413
    assert httpx.get(server + "/api/v1/jobs/nosuchjob123/result").status_code == 404
    long_query = httpx.get(server + "/api/v1/groups?x=" + "a" * 20_000)
    assert long_query.status_code == 414


def test_jobs_kept_are_bounded(demo_home: Path) -> None:
    with TestClient(create_app(ServerSettings(home=demo_home, max_jobs=2))) as client:
        jobs = []
        for sector in ("batteries", "solar_pv", "semiconductors"):
            body = {"question": "stress", "params": {"sectors": [sector], "importers": ["JPN"]}}
            job = client.post("/api/v1/jobs", json=body).json()
            assert finished(client, job)["status"] == "done"
            jobs.append(job)
        statuses = [client.get(job["status_url"]).status_code for job in jobs]
    assert statuses == [404, 200, 200]


def ingest_next_year(home: Path) -> None:
    """Commit a copy of 2022's trade as 2023 into the store at ``home``."""
    manifest = json.loads((home / "manifest.json").read_text())
    files = [str(home / p["path"]) for p in manifest["parts"] if p["table"] == "trade"]
    table = home.parent / "trade-2023.csv"
    duckdb.connect().execute(
        f"COPY (SELECT exporter, importer, product, value_usd FROM read_parquet(?) "
        f"WHERE year = 2022) TO '{table}' (HEADER)",
        [files],
    )
    Workspace.open(home).ingest_table(
        table,
        mapping={"exporter": "exporter", "importer": "importer", "product": "product",
                 "value_usd": "value_usd"},
        classification="HS17",
        source="later",
        year=2023,
    )  # fmt: skip


def test_cache_is_dropped_when_the_store_changes(demo_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "store"
    shutil.copytree(demo_home, home)
    with TestClient(create_app(ServerSettings(home=home))) as client:
        before = client.get("/api/v1/dependencies/JPN").json()
        cached = client.get("/api/v1/dependencies/JPN").json()
        page_before = client.get("/country/JPN").text
        job = client.post("/api/v1/jobs", json={"question": "stress", "params": {}}).json()
        finished(client, job)
        ingest_next_year(home)
        after = client.get("/api/v1/dependencies/JPN").json()
        page_after = client.get("/country/JPN").text
        rerun = client.post("/api/v1/jobs", json={"question": "stress", "params": {}}).json()
        rerun_status = finished(client, rerun)
        rerun_rows = client.get(rerun["result_url"] + "?limit=1").json()["rows"]
    assert cached == before and before["provenance"]["year"] == 2022
    assert after["provenance"]["year"] == 2023
    # The kept page is dropped with the answers: the page now shows the new year.
    assert '<option value="2022" selected' in page_before
    assert '<option value="2023" selected' in page_after
    assert {r["year"] for r in after["rows"]} == {2023}
    assert rerun["id"] != job["id"] and rerun_status["status"] == "done"
    assert rerun_rows[0]["year"] == 2023
