"""The server's defences: the token on a non-loopback bind (a real uvicorn on 0.0.0.0, asked
through 127.0.0.1 only), ``serve`` refusing to open up without one, paths and SQL refused by
validation, and a store left byte for byte as it was after every endpoint was asked."""

from __future__ import annotations

import hashlib
import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api_server import serving
from chokepoints.web.app import TOKEN_COOKIE, create_app
from chokepoints.web.settings import ServerSettings

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "s3cret-token-for-tests-only-9f2c"


@pytest.fixture(scope="module")
def open_server(demo_home: Path) -> Iterator[str]:
    """The app with a token on every interface (0.0.0.0); its loopback URL."""
    settings = ServerSettings(home=demo_home, host="0.0.0.0", token=TOKEN)
    with serving(create_app(settings), host="0.0.0.0") as port:
        yield f"http://127.0.0.1:{port}"


def test_requests_without_the_token_are_refused(open_server: str) -> None:
    url = open_server + "/api/v1/groups"
    none = httpx.get(url)
    wrong = httpx.get(url, headers={"Authorization": "Bearer not-the-token"})
    cookie = httpx.get(url, cookies={TOKEN_COOKIE: "not-the-token"})
    query = httpx.get(url, params={"token": "not-the-token"})
    for response in (none, wrong, cookie, query):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "needs its token" in response.json()["detail"]
    page = httpx.get(open_server + "/")
    assert page.status_code == 401


def test_the_token_lets_in(open_server: str) -> None:
    right = httpx.get(open_server + "/api/v1/groups", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200 and right.json()["rows"]


def test_a_link_with_the_token_sets_a_cookie(open_server: str) -> None:
    with httpx.Client(base_url=open_server) as browser:
        first = browser.get("/api/v1/groups", params={"token": TOKEN})
        assert first.status_code == 303
        assert first.headers["location"].endswith("/api/v1/groups")  # token gone from the URL
        assert "httponly" in first.headers["set-cookie"].lower()
        assert browser.cookies[TOKEN_COOKIE] == TOKEN
        later = browser.get("/api/v1/sectors")
    assert later.status_code == 200


# -- serve -------------------------------------------------------------------------------------
def serve(home: Path, *args: str) -> subprocess.Popen[str]:
    """``chokepoints serve ARGS --home HOME`` in a subprocess, without a token in the env."""
    env = {k: v for k, v in os.environ.items() if k != "CHOKEPOINTS_TOKEN"}
    env.update(PYTHONPATH=str(ROOT / "src"), NO_COLOR="1", COLUMNS="200")
    return subprocess.Popen(
        [sys.executable, "-m", "chokepoints", "serve", *args, "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_serve_refuses_another_interface_without_a_token(demo_home: Path) -> None:
    process = serve(demo_home, "--host", "0.0.0.0", "--port", "0")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "--token" in lines[0] and "--no-auth" in lines[0]
    assert "Traceback" not in err


def test_serve_refuses_an_empty_token(demo_home: Path) -> None:
    process = serve(demo_home, "--host", "0.0.0.0", "--token", " ")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "--token is empty" in err


def test_serve_without_auth_warns(demo_home: Path) -> None:
    process = serve(demo_home, "--host", "0.0.0.0", "--port", "0", "--no-auth")
    try:
        assert process.stderr is not None
        ready, _, _ = select.select([process.stderr], [], [], 60)
        assert ready, "serve printed nothing"
        line = process.stderr.readline()
        assert line.startswith("warning: serving 0.0.0.0 without a token")
        time.sleep(0.5)
        assert process.poll() is None  # it serves
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- validation --------------------------------------------------------------------------------
HOSTILE = [
    "/api/v1/product/..%2F..%2Fetc%2Fpasswd",
    "/api/v1/product/..%252F..%252Fetc%252Fpasswd",
    "/api/v1/dependencies/..%2F..%2Fx",
    "/api/v1/dependencies/JPN?economy=../../x",
    "/api/v1/dependencies/JPN'; DROP TABLE trade;--",
    "/api/v1/dependencies/JPN?sector=x' OR '1'='1",
    "/api/v1/dependencies/JPN?source=../../etc",
    "/api/v1/dependencies/JPN?products=850511;DELETE FROM trade",
    "/api/v1/trend/JPN?supplier=CHN'--",
    "/api/v1/shock?preset=../../reference/scenarios/x",
    "/api/v1/shock?supplier=CHN&products=850511&scenario_file=/etc/passwd",
    "/api/v1/compare?economies=JPN,DEU);DROP TABLE trade",
    "/api/v1/diversify/JPN/850511?exclude=CHN%00",
    "/api/v1/exposure/JPN?supplier=CHN&via=icio&icio=/etc/passwd",
    "/api/v1/jobs/..%2F..%2Fetc%2Fpasswd/result",
]


@pytest.fixture(scope="module")
def client(demo_home: Path) -> Iterator[TestClient]:
    """The app on the demo store, without a token (a loopback bind)."""
    with TestClient(create_app(ServerSettings(home=demo_home))) as client:
        yield client


@pytest.mark.parametrize("url", HOSTILE)
def test_paths_and_sql_are_refused_by_validation(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (404, 422), response.text
    assert isinstance(response.json()["detail"], str)


# -- read-only ---------------------------------------------------------------------------------
def fingerprint(home: Path) -> dict[str, str]:
    """Every file and folder under ``home`` (the lock file too): sha256 of files, 'dir' else."""
    return {
        path.relative_to(home).as_posix(): (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        )
        for path in sorted(home.rglob("*"))
    }


#: One request per API endpoint, the downloads and a job: what a team could ask.
EVERY_ENDPOINT = [
    "/api/v1/datasets",
    "/api/v1/groups",
    "/api/v1/sectors",
    "/api/v1/chains",
    "/api/v1/presets",
    "/api/v1/dependencies/JPN?look_through=true&share_from=CHN",
    "/api/v1/dependencies/JPN?format=parquet",
    "/api/v1/risk/JPN",
    "/api/v1/product/850511?format=csv&table=importers",
    "/api/v1/trend/JPN?supplier=CHN",
    "/api/v1/shock?preset=china-gallium-germanium-2023",
    "/api/v1/downstream?preset=china-gallium-germanium-2023",
    "/api/v1/stress/JPN",
    "/api/v1/exposure/JPN?supplier=CHN",
    "/api/v1/diversify/JPN/850511?format=parquet&table=mix",
    "/api/v1/markets/CHN?product=850511",
    "/api/v1/compare?economies=JPN,DEU",
    "/api/v1/upstream/JPN?product=850511",
]


def test_the_app_never_writes_to_the_store(demo_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "store"
    shutil.copytree(demo_home, home)
    before = fingerprint(home)
    app = create_app(ServerSettings(home=home))
    asked = {url.split("?")[0] for url in EVERY_ENDPOINT}
    with TestClient(app) as client:
        for url in EVERY_ENDPOINT:
            assert client.get(url).status_code in (200, 404), url
        job = client.post("/api/v1/jobs", json={"question": "report", "params": {"economy": "JPN"}})
        status_url = job.json()["status_url"]
        while client.get(status_url).json()["status"] not in ("done", "error"):
            time.sleep(0.05)
        assert client.get(job.json()["result_url"]).status_code == 200
    routes = [r.path for r in app.routes if isinstance(r, APIRoute) and "/api/v1/" in r.path]
    unasked = [
        path
        for path in routes
        if "/jobs" not in path
        and not any(re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", path), url) for url in asked)
    ]
    assert unasked == []
    assert fingerprint(home) == before
