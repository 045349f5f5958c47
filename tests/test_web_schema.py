"""The API's OpenAPI schema: it documents every endpoint of the contract with examples, and
schemathesis, generating requests from it against the app on the demo store, finds no server
error and no response that contradicts it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from chokepoints.web.app import create_app
from chokepoints.web.settings import ServerSettings

#: The API paths of the contract between the API and the pages (web-common).
CONTRACT = [
    "/api/v1/dependencies/{economy}",
    "/api/v1/risk/{economy}",
    "/api/v1/product/{code}",
    "/api/v1/trend/{economy}",
    "/api/v1/shock",
    "/api/v1/stress/{economy}",
    "/api/v1/exposure/{economy}",
    "/api/v1/diversify/{economy}/{product}",
    "/api/v1/markets/{economy}",
    "/api/v1/compare",
    "/api/v1/upstream/{economy}",
    "/api/v1/groups",
    "/api/v1/sectors",
    "/api/v1/chains",
    "/api/v1/datasets",
    "/api/v1/jobs",
    "/api/v1/jobs/{job_id}/events",
    "/api/v1/jobs/{job_id}/result",
]


@pytest.fixture(scope="module")
def app(demo_home: Path) -> Any:
    """One app over the demo store for the module."""
    return create_app(ServerSettings(home=demo_home))


@pytest.fixture(scope="module")
def openapi(app: Any) -> dict[str, Any]:
    """The schema as a client reads it."""
    with TestClient(app) as client:
        response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def test_schema_documents_the_contract(openapi: dict[str, Any]) -> None:
    missing = [path for path in CONTRACT if path not in openapi["paths"]]
    assert missing == []


def test_parameters_carry_examples(openapi: dict[str, Any]) -> None:
    parameters = {
        p["name"]: p
        for p in openapi["paths"]["/api/v1/diversify/{economy}/{product}"]["get"]["parameters"]
    }
    assert parameters["economy"]["examples"]["Japan"]["value"] == "JPN"
    assert parameters["product"]["examples"]["rare-earth magnets"]["value"] == "850511"
    assert parameters["economy"]["schema"]["pattern"].startswith("^")
    limit = parameters["limit"]["schema"]["anyOf"][0]
    assert (limit["minimum"], limit["maximum"]) == (1, 5000)


def test_errors_are_documented_as_one_sentence(openapi: dict[str, Any]) -> None:
    responses = openapi["paths"]["/api/v1/dependencies/{economy}"]["get"]["responses"]
    for status in ("404", "422", "504"):
        reference = responses[status]["content"]["application/json"]["schema"]["$ref"]
        assert reference.endswith("/Problem")
    assert set(responses["200"]["content"]) == {
        "application/json",
        "text/csv",
        "application/vnd.apache.parquet",
    }


@pytest.fixture(scope="module")
def api_schema(app: Any) -> Any:
    """The schema loaded by schemathesis from the app itself; jobs are left out (each would
    start a report in the background; ``test_web_jobs`` covers them)."""
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex="^/api/v1/jobs")


@schemathesis.check
def refusals_are_one_sentence(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx answer is ``{"detail": one sentence}``: a line of text, no traceback."""
    if 400 <= response.status_code < 500:
        detail = response.json()["detail"]
        assert isinstance(detail, str) and detail, detail
        assert "\n" not in detail and "Traceback" not in detail, detail
    return None


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_responses_match_the_schema(case: Any) -> None:
    """Every default check but ``positive_data_acceptance``: a schema-valid request may still be
    refused with 422 when its values do not go together (a preset and a supplier; csv of a
    multi-table answer without ``table``), and then says so in one sentence."""
    case.call_and_validate(
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
        additional_checks=[refusals_are_one_sentence],
    )
