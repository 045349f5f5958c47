"""The REST API on the demo store: every endpoint answers with the CLI's numbers (the CLI's JSON
run in this process, and DuckDB SQL straight over the store's Parquet files), downloads carry
the same rows, and every bad parameter gets 404 or 422 with one sentence, never 500."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from chokepoints.web.app import create_app
from chokepoints.web.settings import ServerSettings
from helpers import run_quietly

#: The module's server returns at most this many rows (the schema's bound is larger).
MAX_ROWS = 1000
GALLIUM = "china-gallium-germanium-2023"


@pytest.fixture(scope="module")
def client(demo_home: Path) -> Iterator[TestClient]:
    """One app over the demo store for the whole module."""
    with TestClient(create_app(ServerSettings(home=demo_home, max_rows=MAX_ROWS))) as client:
        yield client


@pytest.fixture(scope="module")
def cli_answers(demo_home: Path) -> dict[str, Any]:
    """The CLI's JSON for the questions the API is compared on (run in this process: the
    comparison is of numbers, not of the process)."""
    commands = {
        "deps": ("deps", "JPN"),
        "product": ("product", "850511"),
        "shock": ("shock", "--preset", GALLIUM),
        "diversify": ("diversify", "JPN", "850511", "--exclude", "CHN"),
        "compare": ("compare", "JPN,DEU"),
    }
    answers = {}
    for name, args in commands.items():
        code, out, err = run_quietly(*args, "--format", "json", "--home", str(demo_home))
        assert code == 0, err
        answers[name] = json.loads(out)
    return answers


def trade_files(home: Path) -> list[str]:
    """The committed trade files of a store, from its manifest."""
    manifest = json.loads((home / "manifest.json").read_text())
    return [str(home / p["path"]) for p in manifest["parts"] if p["table"] == "trade"]


def same_records(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Records equal field by field, floats to 12 significant digits."""
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        assert row.keys() == want.keys()
        for key, value in want.items():
            if isinstance(value, float):
                assert row[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
            else:
                assert row[key] == value, key


# -- the same numbers as the CLI ---------------------------------------------------------------
def test_dependencies_match_the_cli(client: TestClient, cli_answers: dict[str, Any]) -> None:
    body = client.get("/api/v1/dependencies/JPN").json()
    same_records(body["rows"], cli_answers["deps"])
    assert body["total"] == body["shown"] == len(cli_answers["deps"]) > 0
    assert body["provenance"]["economy"] == "JPN"
    assert body["provenance"]["method"]["name"] == "geodep"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/product/850511", "product"),
        ("/api/v1/diversify/JPN/850511?exclude=CHN", "diversify"),
        ("/api/v1/compare?economies=JPN,DEU", "compare"),
    ],
)
def test_multi_table_answers_match_the_cli(
    client: TestClient, cli_answers: dict[str, Any], url: str, name: str
) -> None:
    body = client.get(url).json()
    expected = dict(cli_answers[name])
    provenance = expected.pop("provenance")
    assert body["tables"].keys() == expected.keys()
    for table, rows in expected.items():
        same_records(body["tables"][table], rows)
    assert body["provenance"] == without_nan(provenance)


def without_nan(value: Any) -> Any:
    """``value`` with NaN as null, as strict JSON has it (the CLI's JSON writes NaN)."""
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nan(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def test_shock_preset_matches_the_cli(client: TestClient, cli_answers: dict[str, Any]) -> None:
    body = client.get(f"/api/v1/shock?preset={GALLIUM}").json()
    same_records(body["rows"], cli_answers["shock"])
    by_importer = body["provenance"]["by_importer"]
    lost = {row["importer"]: row["lost_value_usd"] for row in by_importer}
    for importer in {row["importer"] for row in body["rows"]}:
        rows = [r["lost_value_usd"] for r in body["rows"] if r["importer"] == importer]
        assert lost[importer] == pytest.approx(sum(rows))
    assert body["provenance"]["method"]["allocation"] == "pro_rata"


def test_dependency_metrics_match_sql_over_the_store(client: TestClient, demo_home: Path) -> None:
    """Import value, supplier count, HHI and top share recomputed from the Parquet files."""
    found = (
        duckdb.connect()
        .execute(
            """
        WITH flows AS (
            SELECT product, exporter, sum(value_usd) AS v FROM read_parquet(?)
            WHERE importer = 'JPN' AND year = 2022 GROUP BY ALL),
        totals AS (SELECT product, sum(v) AS total FROM flows GROUP BY ALL)
        SELECT product, any_value(total), count(*), sum((v / total) ^ 2), max(v / total),
               arg_max(exporter, v)
        FROM flows JOIN totals USING (product) GROUP BY product
        """,
            [trade_files(demo_home)],
        )
        .fetchall()
    )
    expected = {row[0]: row[1:] for row in found}
    rows = client.get("/api/v1/dependencies/JPN?include_all=true").json()["rows"]
    assert len(rows) == len(expected)
    for row in rows:
        value, suppliers, hhi, top_share, top = expected[row["product"]]
        assert row["import_value_usd"] == pytest.approx(value)
        assert row["n_suppliers"] == suppliers
        assert row["hhi"] == pytest.approx(hhi)
        assert row["top_supplier_share"] == pytest.approx(top_share)
        assert row["top_supplier"] == top


# -- every other endpoint ----------------------------------------------------------------------
def test_datasets_count_the_rows_of_the_store(client: TestClient, demo_home: Path) -> None:
    [(rows,)] = (
        duckdb.connect()
        .execute("SELECT count(*) FROM read_parquet(?)", [trade_files(demo_home)])
        .fetchall()
    )
    body = client.get("/api/v1/datasets").json()
    assert body["rows"] == rows
    assert [y["year"] for y in body["sources"][0]["years"]] == [2020, 2021, 2022]
    assert "home" not in body  # no server path to clients


def test_trend_shares_and_verdict(client: TestClient) -> None:
    body = client.get("/api/v1/trend/JPN?supplier=CHN").json()
    assert [r["year"] for r in body["rows"]] == [2020, 2021, 2022]
    for row in body["rows"]:
        assert row["supplier_share"] == pytest.approx(row["from_supplier_usd"] / row["imports_usd"])
    assert body["provenance"]["change"]["verdict"] in ("de-risking", "deepening", "stable")


def test_stress_rows_of_one_importer(client: TestClient) -> None:
    body = client.get("/api/v1/stress/JPN?top=2").json()
    assert body["total"] > 0
    assert {r["importer"] for r in body["rows"]} == {"JPN"}
    assert max(r["rank"] for r in body["rows"]) <= 2
    shortfalls = [r["shortfall_value_usd"] for r in body["rows"]]
    assert shortfalls == sorted(shortfalls, reverse=True)


def test_exposure_shares(client: TestClient) -> None:
    rows = client.get("/api/v1/exposure/JPN?supplier=CHN").json()["rows"]
    assert rows
    for row in rows:
        assert row["supplier_share"] == pytest.approx(row["from_supplier_usd"] / row["imports_usd"])


def test_markets_upstream_downstream(client: TestClient) -> None:
    markets = client.get("/api/v1/markets/CHN?product=850511").json()["rows"]
    assert markets and {(r["exporter"], r["product"]) for r in markets} == {("CHN", "850511")}
    assert "CHN" not in {r["importer"] for r in markets}
    upstream = client.get("/api/v1/upstream/JPN?product=850511&depth=0").json()["rows"]
    assert upstream and {(r["importer"], r["product"]) for r in upstream} == {("JPN", "850511")}
    downstream = client.get(f"/api/v1/downstream?preset={GALLIUM}").json()
    assert downstream["rows"] and downstream["provenance"]["scenario"]["name"]


def test_custom_shock_cuts_the_supplier_named(client: TestClient, demo_home: Path) -> None:
    [(sold,)] = (
        duckdb.connect()
        .execute(
            "SELECT sum(value_usd) FROM read_parquet(?) "
            "WHERE exporter = 'CHN' AND importer = 'JPN' "
            "AND product = '850511' AND year = 2022",
            [trade_files(demo_home)],
        )
        .fetchall()
    )
    body = client.get("/api/v1/shock?supplier=CHN&products=850511&fraction=0.5&importers=JPN")
    rows = body.json()["rows"]
    assert [(r["importer"], r["product"]) for r in rows] == [("JPN", "850511")]
    assert rows[0]["lost_value_usd"] == pytest.approx(0.5 * sold)


def test_reference_lists(client: TestClient) -> None:
    groups = {r["group"]: r["members"] for r in client.get("/api/v1/groups").json()["rows"]}
    assert set(groups["G7"]) == {"CAN", "FRA", "DEU", "ITA", "JPN", "GBR", "USA"}
    sectors = {r["id"] for r in client.get("/api/v1/sectors").json()["rows"]}
    assert {"semiconductors", "batteries", "critical_minerals"} <= sectors
    chains = {r["id"] for r in client.get("/api/v1/chains").json()["rows"]}
    assert "li_ion_batteries" in chains
    presets = {r["preset"] for r in client.get("/api/v1/presets").json()["rows"]}
    assert GALLIUM in presets


def test_limit_cuts_rows_and_says_how_many(client: TestClient) -> None:
    whole = client.get("/api/v1/dependencies/JPN").json()
    body = client.get("/api/v1/dependencies/JPN?limit=3").json()
    assert (body["shown"], body["total"]) == (3, whole["total"])
    assert body["rows"] == whole["rows"][:3]


# -- downloads ---------------------------------------------------------------------------------
def test_csv_download_holds_the_json_rows(client: TestClient) -> None:
    rows = client.get("/api/v1/dependencies/JPN?limit=5").json()["rows"]
    response = client.get("/api/v1/dependencies/JPN?limit=5&format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="dependencies-JPN.csv"'
    frame = pd.read_csv(io.StringIO(response.text), dtype={"product": str})
    assert list(frame.columns) == list(rows[0])
    assert frame["product"].tolist() == [r["product"] for r in rows]
    assert frame["hhi"].tolist() == pytest.approx([r["hhi"] for r in rows])


def test_parquet_download_carries_the_provenance(client: TestClient) -> None:
    body = client.get("/api/v1/product/850511").json()
    response = client.get("/api/v1/product/850511?format=parquet&table=exporters")
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert 'filename="product-850511.exporters.parquet"' in response.headers["content-disposition"]
    table = pq.read_table(io.BytesIO(response.content))
    assert table.column("exporter").to_pylist() == [
        r["exporter"] for r in body["tables"]["exporters"]
    ]
    provenance = json.loads(table.schema.metadata[b"chokepoints.provenance"])
    assert provenance["year"] == body["provenance"]["year"] == 2022
    assert provenance["source"] == body["provenance"]["source"] == "demo"


# -- bad parameters: one sentence, never 500 ---------------------------------------------------
BAD = [
    ("/api/v1/dependencies/XYZ", 404, "unknown country or group 'XYZ'"),
    ("/api/v1/dependencies/JPN?sector=nope", 404, "unknown sector 'nope'"),
    ("/api/v1/dependencies/JPN?share_from=CHN,XYZ", 404, "'XYZ'"),
    ("/api/v1/dependencies/JPN?year=2030", 404, "2030"),
    ("/api/v1/dependencies/JPN?year=1800", 422, "parameter year"),
    ("/api/v1/dependencies/JPN?method=magic", 422, "parameter method"),
    ("/api/v1/dependencies/JPN?method=custom&rules=hhi%3E0.5;drop", 422, "rule"),
    ("/api/v1/dependencies/JPN?limit=0", 422, "parameter limit"),
    ("/api/v1/dependencies/JPN?limit=1001", 422, "limit 1001"),
    ("/api/v1/dependencies/JPN?limit=99999999", 422, "parameter limit"),
    ("/api/v1/dependencies/JPN?format=xlsx", 422, "parameter format"),
    ("/api/v1/dependencies/JPN?secter=batteries", 422, "'secter'"),
    ("/api/v1/product/999999", 404, "999999"),
    ("/api/v1/product/12345", 422, "parameter code"),
    ("/api/v1/product/850511?format=csv", 422, "table"),
    ("/api/v1/product/850511?format=csv&table=nope", 422, "table"),
    ("/api/v1/trend/JPN", 422, "parameter supplier"),
    ("/api/v1/trend/JPN?supplier=XYZ", 404, "'XYZ'"),
    ("/api/v1/shock?supplier=CHN&sectors=batteries&fraction=1.5", 422, "parameter fraction"),
    ("/api/v1/shock?supplier=CHN&sectors=batteries&fraction=0", 422, "parameter fraction"),
    ("/api/v1/shock?preset=no-such-thing", 404, "unknown scenario preset"),
    (f"/api/v1/shock?preset={GALLIUM}&supplier=CHN", 422, "not both"),
    ("/api/v1/shock", 422, "no scenario"),
    ("/api/v1/shock?supplier=CHN&sectors=nope", 422, "unknown sector 'nope'"),
    ("/api/v1/stress/JPN?sectors=nope", 404, "unknown sector"),
    ("/api/v1/stress/JPN?allocation=fair", 422, "parameter allocation"),
    ("/api/v1/exposure/JPN", 422, "parameter supplier"),
    ("/api/v1/diversify/JPN/850511?max_share=2", 422, "parameter max_share"),
    ("/api/v1/diversify/JPN/850511?exclude=XYZ", 404, "'XYZ'"),
    ("/api/v1/diversify/JPN/850511?objective=cheap", 422, "parameter objective"),
    ("/api/v1/markets/CHN", 422, "parameter product"),
    ("/api/v1/compare?economies=JPN", 422, "parameter economies"),
    ("/api/v1/compare?economies=JPN,XYZ", 404, "'XYZ'"),
    ("/api/v1/upstream/JPN?product=850511&depth=9", 422, "parameter depth"),
    ("/api/v1/risk/JPN", 404, "governance"),
]


@pytest.mark.parametrize(("url", "status", "words"), BAD)
def test_bad_parameters_get_one_sentence(
    client: TestClient, url: str, status: int, words: str
) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and words in detail
    assert "\n" not in detail and "Traceback" not in detail


def test_a_question_past_the_timeout_answers_504(demo_home: Path) -> None:
    settings = ServerSettings(home=demo_home, timeout_seconds=1e-6)
    with TestClient(create_app(settings)) as hurried:
        response = hurried.get("/api/v1/stress/JPN")
    assert response.status_code == 504
    assert "longer than the server's limit" in response.json()["detail"]


def test_requests_for_an_answer_being_computed_share_it(demo_home: Path) -> None:
    """Five requests at once for one new answer: one computation, the same frame for all (a
    separate computation would give each request a frame of its own)."""
    import asyncio

    from chokepoints.web.answerer import Answerer

    answerer = Answerer(ServerSettings(home=demo_home, workers=2))

    async def five() -> list[Any]:
        asks = [answerer.ask("dependencies", country="KOR", year=2021) for _ in range(5)]
        return list(await asyncio.gather(*asks))

    try:
        answers = asyncio.run(five())
    finally:
        answerer.close()
    assert all(answer is answers[0] for answer in answers)
    assert len(answers[0]) > 0
