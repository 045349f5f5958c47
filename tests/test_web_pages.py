"""The web app's pages through FastAPI's TestClient on the demo store: each page answers 200 with
numbers checked against DuckDB SQL over the store's own Parquet files (not the code under test),
every chart has a table view and a CSV link, and bad input gives a 404/422 page, never a 500."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from chokepoints.reference.countries import labelled
from chokepoints.reference.sectors import sector_table
from chokepoints.report.content import money
from chokepoints.web.app import create_app
from chokepoints.web.settings import ServerSettings

GALLIUM = ("811292", "811299", "282560")  # the HS17 codes of china-gallium-germanium-2023
BATTERIES = "850760"


@pytest.fixture(scope="module")
def client(demo_home: Path) -> Iterator[TestClient]:
    """A client of the app over the session's demo store."""
    with TestClient(create_app(ServerSettings(home=demo_home))) as found:
        yield found


@pytest.fixture(scope="module")
def sql(demo_home: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB over the store's trade files, as ``trade``."""
    con = duckdb.connect()
    files = str(demo_home / "trade" / "**" / "*.parquet")
    con.execute(
        f"CREATE VIEW trade AS SELECT * FROM read_parquet('{files}', hive_partitioning=true)"
    )
    return con


def text_of(html: str) -> str:
    """The page's text without tags and with entities read, spaces collapsed."""
    import html as entities

    return re.sub(r"\s+", " ", entities.unescape(re.sub(r"<[^>]+>", " ", html)))


def has_link(html: str, path: str, **params: str) -> bool:
    """Whether the page links to ``path`` with (at least) these query parameters."""
    import html as entities
    from urllib.parse import parse_qsl, urlsplit

    for href in re.findall(r'href="([^"]+)"', html):
        url = urlsplit(entities.unescape(href))
        if url.path == path and params.items() <= dict(parse_qsl(url.query)).items():
            return True
    return False


def sections(html: str) -> dict[str, str]:
    """Each ``<section id=...>`` of a page by its id."""
    return dict(re.findall(r'<section class="card[^"]*" id="([^"]+)">(.*?)</section>', html, re.S))


def assert_charts_have_tables(html: str) -> None:
    """Every drawn chart sits in a section with a table view and a CSV download."""
    charted = [key for key, body in sections(html).items() if "data-figure=" in body]
    assert charted, "no chart on the page"
    for key in charted:
        body = sections(html)[key]
        assert "Table view:" in body, key
        assert re.search(r'class="csv" href="[^"]*(format=csv|\.csv)', body), key


def test_home_lists_the_datasets_held(client: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    flows, first, last = sql.execute("SELECT count(*), min(year), max(year) FROM trade").fetchall()[
        0
    ]
    response = client.get("/")
    assert response.status_code == 200
    text = text_of(response.text)
    assert f"{flows:,}" in text
    assert f"{first}-{last}" in text
    assert "Demo data (synthetic)" in text
    assert 'hx-get="/search"' in response.text


def test_search_finds_countries_groups_and_products(client: TestClient) -> None:
    text = text_of(client.get("/search", params={"q": "japan"}).text)
    assert "Japan (JPN)" in text
    products = client.get("/search", params={"q": "lithium-ion"}).text
    assert f'href="/product/{BATTERIES}"' in products
    assert 'href="/country/EU27"' in client.get("/search", params={"q": "eu27"}).text
    assert "Nothing matches" in text_of(client.get("/search", params={"q": "zzzz"}).text)


def test_country_page_top_supplier_matches_sql(
    client: TestClient, sql: duckdb.DuckDBPyConnection
) -> None:
    codes = sorted(set(sector_table("HS17")["product"]))
    rows = sql.execute(
        "SELECT exporter, sum(value_usd) AS v FROM trade WHERE importer = 'JPN' AND year = 2022 "
        "AND product IN (SELECT unnest(?)) GROUP BY exporter ORDER BY v DESC",
        [codes],
    ).fetchall()
    top, value = rows[0]
    share = value / sum(v for _, v in rows)
    response = client.get("/country/JPN")
    assert response.status_code == 200
    page = sections(response.text)
    suppliers = text_of(page["suppliers"])
    assert f"{labelled(top)} supplies {share:.1%} of these imports" in suppliers
    assert set(page) >= {"dependencies", "sectors", "suppliers", "map", "trend", "exports"}
    assert_charts_have_tables(response.text)
    assert has_link(
        response.text, "/api/v1/dependencies/JPN", year="2022", include_all="true", format="csv"
    )
    # The trend's verdict is stated with its years.
    assert re.search(r"from 2020 to 2022, .*: (de-risking|deepening|stable)\.", page["trend"])


def test_country_suppliers_csv_matches_sql(
    client: TestClient, sql: duckdb.DuckDBPyConnection
) -> None:
    codes = sorted(set(sector_table("HS17")["product"]))
    expected = sql.execute(
        "SELECT exporter, sum(value_usd) FROM trade WHERE importer = 'JPN' AND year = 2021 "
        "AND product IN (SELECT unnest(?)) GROUP BY exporter ORDER BY 2 DESC",
        [codes],
    ).fetchall()
    response = client.get("/country/JPN/suppliers.csv", params={"year": 2021})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["exporter"] for r in rows] == [e for e, _ in expected]
    assert float(rows[0]["imports_usd"]) == pytest.approx(expected[0][1])


def test_country_page_follows_year_and_sector(client: TestClient) -> None:
    response = client.get("/country/JPN", params={"year": 2021, "sector": "batteries"})
    assert response.status_code == 200
    text = text_of(response.text)
    assert "2021 · Storage batteries" in text
    assert '<option value="2021" selected>' in response.text
    assert '<option value="batteries" selected>' in response.text


def test_partial_request_gets_only_the_page_body(client: TestClient) -> None:
    response = client.get("/country/JPN", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "<main" in response.text
    assert "HX-Request" in response.headers["vary"]


def test_product_page_matches_sql(client: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    rows = sql.execute(
        "SELECT exporter, sum(value_usd) AS v FROM trade WHERE product = ? AND year = 2022 "
        "GROUP BY exporter ORDER BY v DESC",
        [BATTERIES],
    ).fetchall()
    world = sum(v for _, v in rows)
    response = client.get(f"/product/{BATTERIES}")
    assert response.status_code == 200
    figures = text_of(sections(response.text)["key-figures"])
    assert money(world) in figures
    assert f"{labelled(rows[0][0])}, {rows[0][1] / world:.0%}" in figures
    assert f"{len(rows)} Exporters" in figures
    assert_charts_have_tables(response.text)
    assert has_link(
        response.text, f"/api/v1/product/{BATTERIES}", year="2022", table="exporters", format="csv"
    )


def test_scenario_preset_loses_half_of_chinas_exports(
    client: TestClient, sql: duckdb.DuckDBPyConnection
) -> None:
    exports = sql.execute(
        "SELECT sum(value_usd) FROM trade WHERE exporter = 'CHN' AND year = 2022 "
        "AND product IN (SELECT unnest(?))",
        [list(GALLIUM)],
    ).fetchall()[0][0]
    response = client.get("/scenario", params={"preset": "china-gallium-germanium-2023"})
    assert response.status_code == 200
    text = text_of(response.text)
    # The preset stops half of China's exports of the products, to every importer.
    assert f"{money(0.5 * exports)} Imports lost" in text
    assert "Allocation rule:" in text and "pro rata to their losses" in text
    assert_charts_have_tables(response.text)
    assert has_link(
        response.text, "/api/v1/shock", preset="china-gallium-germanium-2023", format="csv"
    )
    csv_link = re.search(r'href="(/scenario/downstream\.csv[^"]*)"', response.text)
    assert csv_link is not None
    downstream = client.get(csv_link.group(1).replace("&amp;", "&"))
    assert downstream.status_code == 200
    assert "chain" in downstream.text.splitlines()[0]


def test_scenario_page_without_scenario_lists_presets(client: TestClient) -> None:
    response = client.get("/scenario")
    assert response.status_code == 200
    assert 'href="/scenario?preset=russia-gas-2022"' in response.text
    assert "data-figure" not in response.text


def test_custom_shock_states_optimistic_allocation(client: TestClient) -> None:
    response = client.get(
        "/scenario",
        params={
            "supplier": "CHN",
            "sector": "batteries",
            "fraction": "0.5",
            "allocation": "per_importer",
        },
    )
    assert response.status_code == 200
    assert "offered in full to each importer" in text_of(response.text)


def test_diversify_page_today_shares_match_sql(
    client: TestClient, sql: duckdb.DuckDBPyConnection
) -> None:
    rows = sql.execute(
        "SELECT exporter, sum(value_usd) FROM trade WHERE importer = 'JPN' AND product = ? "
        "AND year = 2022 GROUP BY exporter",
        [BATTERIES],
    ).fetchall()
    total = sum(v for _, v in rows)
    hhi = sum((v / total) ** 2 for _, v in rows)
    response = client.get(f"/diversify/JPN/{BATTERIES}")
    assert response.status_code == 200
    mix = text_of(sections(response.text)["mix"])
    assert f"falls from {hhi:.2f}" in mix
    china = dict(rows)["CHN"] / total
    # China's row of the mix table: today's value ($m), new value, then today's share.
    assert re.search(r"China \(CHN\) [\d,.]+ [\d,.]+ " + re.escape(f"{china:.1%}"), mix)
    assert "Alternative suppliers" in response.text and "why" in response.text


def test_diversify_max_share_below_the_optimum_is_refused_in_words(client: TestClient) -> None:
    open_ = text_of(client.get(f"/diversify/JPN/{BATTERIES}").text)
    capped = client.get(f"/diversify/JPN/{BATTERIES}", params={"max_share": "0.2"})
    assert capped.status_code == 200
    text = text_of(capped.text)
    assert "No mix meets these constraints" in text and "max_share" in text
    assert "No mix meets" not in open_
    assert 'value="0.2" data-output' in capped.text


def test_compare_page(client: TestClient) -> None:
    response = client.get("/compare", params={"economies": "JPN,DEU"})
    assert response.status_code == 200
    assert "Japan (JPN) · Germany (DEU)" in text_of(response.text)
    assert_charts_have_tables(response.text)
    assert has_link(
        response.text, "/api/v1/compare", economies="JPN,DEU", table="shared", format="csv"
    )


def test_pages_load_nothing_from_elsewhere(client: TestClient) -> None:
    for path in ("/", "/country/JPN", f"/product/{BATTERIES}"):
        html = client.get(path).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources
        assert not [s for s in sources if re.match(r"(https?:)?//", s)], path
    assert client.get("/vendor/plotly.min.js").status_code == 200
    world = client.get("/vendor/topojson/world_110m.json")
    assert world.status_code == 200 and world.json()["type"] == "Topology"
    assert client.get("/static/app.js").status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/country/XXX", 404, "unknown country or group 'XXX'"),
        ("/country/JPN?year=1990", 404, "no data for 1990"),
        ("/country/JPN?year=abc", 422, "parameter year"),
        ("/country/JPN?sector=nope", 404, "unknown sector 'nope'"),
        ("/country/JP%3BDROP", 422, "parameter economy"),
        ("/product/999999", 404, "no trade in product 999999"),
        ("/product/abc", 422, "parameter code"),
        ("/scenario?preset=nope", 404, "unknown scenario preset 'nope'"),
        ("/scenario?supplier=CHN&fraction=2", 422, "parameter fraction"),
        ("/diversify/JPN/999999", 404, "999999"),
        ("/diversify/JPN/850760?max_share=0", 422, "parameter max_share"),
        ("/compare?economies=JPN", 422, "two or more"),
        ("/search?q=" + "x" * 100, 422, "parameter q"),
    ],
)
def test_bad_input_is_a_page_with_one_sentence(
    client: TestClient, path: str, status: int, words: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    message = re.search(r'<p class="message">(.*?)</p>', response.text, re.S)
    assert message is not None
    sentence = text_of(message.group(1))
    assert words.lower() in sentence.lower()
    assert "Traceback" not in response.text


def test_a_page_is_kept_and_says_so(client: TestClient) -> None:
    """The first request for a URL makes the page, the next gets the same page kept; the
    header says which (the load benchmark reports latencies by it)."""
    first = client.get("/product/850511?year=2021")
    again = client.get("/product/850511?year=2021")
    other = client.get("/product/850511?year=2022")
    assert first.headers["X-Chokepoints-Cache"] == "miss"
    assert again.headers["X-Chokepoints-Cache"] == "hit" and again.text == first.text
    assert other.headers["X-Chokepoints-Cache"] == "miss"
