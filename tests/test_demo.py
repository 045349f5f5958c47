"""The synthetic demo world: deterministic, canonical, clean, and shaped like real trade."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from chokepoints.errors import InputError
from chokepoints.reference.countries import known_iso3
from chokepoints.reference.products import read_baci_product_file, strategic_products
from chokepoints.schema import PRODUCTS, TRADE, TRADE_KEY, conform
from chokepoints.sources.demo import (
    ORDINARY_PRODUCTS,
    PROFILES,
    demo_extract,
    demo_products,
    demo_trade,
)

DEFAULT_SEED = 20240501
YEARS = (2020, 2021, 2022)


@pytest.fixture(scope="module")
def table() -> pa.Table:
    """The default demo world (2020-2022)."""
    return demo_trade()


@pytest.fixture(scope="module", params=[DEFAULT_SEED, 1])
def flows(request: pytest.FixtureRequest) -> pd.DataFrame:
    """The demo world as pandas, for the default seed and another one: the patterns are built
    in, so they must hold whatever the seed."""
    return demo_trade(YEARS, request.param).to_pandas()


def hs17_catalogue() -> set[str]:
    """The HS17 codes of the strategic catalogue."""
    data = strategic_products()
    return set(data.loc[data["classification"] == "HS17", "product"])


def hs17_strategic() -> set[str]:
    """The demo's strategic products: the HS17 catalogue codes it has a profile for."""
    return hs17_catalogue() & set(PROFILES)


def exporter_shares(data: pd.DataFrame, products: list[str], year: int) -> pd.Series:
    """Each exporter's share of world exports of ``products`` in ``year``, largest first."""
    rows = data[data["product"].isin(products) & (data["year"] == year)]
    totals = rows.groupby("exporter")["value_usd"].sum()
    return (totals / totals.sum()).sort_values(ascending=False)


def supplier_shares(data: pd.DataFrame, importer: str, product: str, year: int) -> pd.Series:
    """Each supplier's share of ``importer``'s imports of ``product`` in ``year``."""
    rows = data[(data["importer"] == importer) & (data["product"] == product)]
    totals = rows[rows["year"] == year].groupby("exporter")["value_usd"].sum()
    return (totals / totals.sum()).sort_values(ascending=False)


# --- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_the_same_table(table: pa.Table) -> None:
    assert demo_trade(YEARS, DEFAULT_SEED).equals(table)


def test_another_seed_gives_another_world(table: pa.Table) -> None:
    other = demo_trade(YEARS, DEFAULT_SEED + 1)
    assert not other.equals(table)
    assert (
        other.column("value_usd").to_pylist()[:100] != table.column("value_usd").to_pylist()[:100]
    )


def test_a_year_does_not_depend_on_the_other_years_asked(table: pa.Table) -> None:
    alone = demo_trade((2021,), DEFAULT_SEED).to_pandas()
    within = table.to_pandas().query("year == 2021").reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, within)


# --- schema and integrity --------------------------------------------------------------------


def test_schema_is_exactly_trade(table: pa.Table) -> None:
    assert table.schema == TRADE
    assert conform(table, TRADE).equals(table)
    data = table.to_pandas()
    assert set(data["year"]) == set(YEARS)
    assert set(data["source"]) == {"demo"}
    assert set(data["release"]) == {"demo-1"}
    assert set(data["classification"]) == {"HS17"}
    assert set(data["level"]) == {6}
    assert set(data["reporter_side"]) == {"reconciled"}
    assert data["product"].str.fullmatch(r"\d{6}").all()


def test_no_duplicates_self_flows_or_non_positive_values(table: pa.Table) -> None:
    data = table.to_pandas()
    assert not data.duplicated(list(TRADE_KEY)).any()
    assert not (data["exporter"] == data["importer"]).any()
    assert (data["value_usd"] > 0).all()
    quantity = data["quantity_t"]
    assert (quantity.dropna() > 0).all()
    assert 0.01 < quantity.isna().mean() < 0.2  # some quantities are unknown, as in BACI


def test_size_countries_and_products(table: pa.Table) -> None:
    data = table.to_pandas()
    rows_per_year = data.groupby("year").size()
    assert rows_per_year.between(30_000, 80_000).all()
    countries = set(data["exporter"]) | set(data["importer"])
    assert 60 <= len(countries) <= 80
    assert countries <= known_iso3()
    assert {"TWN", "COD", "QAT", "CHN", "JPN", "DEU"} <= countries
    products = set(data["product"])
    assert products >= hs17_strategic()
    assert products == hs17_strategic() | set(ORDINARY_PRODUCTS)
    assert 140 <= len(ORDINARY_PRODUCTS) <= 160
    assert not set(ORDINARY_PRODUCTS) & hs17_catalogue()


def test_every_profile_is_a_catalogue_product_with_its_description() -> None:
    assert set(PROFILES) <= hs17_catalogue()
    assert 70 <= len(PROFILES) <= 90
    catalogue = strategic_products()
    catalogue = catalogue[catalogue["classification"] == "HS17"].set_index("product")
    products = demo_products().to_pandas().set_index("product")
    codes = sorted(PROFILES)
    assert list(products.index[: len(codes)]) == codes  # strategic first, by code
    assert (products.loc[codes, "description"] == catalogue.loc[codes, "description"]).all()


@pytest.mark.shared_data
def test_every_demo_product_is_a_real_hs17_code(shared_data: Path) -> None:
    path = shared_data / "baci" / "V202401_tradalyze" / "product_codes_HS17_V202401.csv"
    hs17 = read_baci_product_file(path.name, path.read_text(encoding="utf-8"))
    known = set(hs17.column("product").to_pylist())
    assert set(demo_products().column("product").to_pylist()) - known == set()


# --- the Extract -----------------------------------------------------------------------------


def test_extract_is_marked_as_demo_and_builds_relations(table: pa.Table) -> None:
    extract = demo_extract()
    assert extract.demo is True
    assert (extract.source, extract.release, extract.files) == ("demo", "demo-1", [])
    assert extract.notes[0].startswith("demo data (synthetic): ")
    assert len(extract.trade) == 1
    part = extract.trade[0]
    assert (part.origin, part.slice) == ("demo world", "all")
    con = duckdb.connect()
    assert part.build(con).to_arrow_table().cast(TRADE).equals(table)
    assert "products" in extract.tables
    products = extract.tables["products"](con).to_arrow_table()
    assert products.column_names == PRODUCTS.names
    products = conform(products, PRODUCTS)  # DuckDB drops the not-null flags only
    assert set(products.column("product").to_pylist()) == set(table.column("product").to_pylist())
    assert products.column("description").null_count == 0


def test_extract_rows_number_the_table_rows(table: pa.Table) -> None:
    part = demo_extract().trade[0]
    assert part.rows is not None
    rows = part.rows()
    assert next(rows) == (1, table.slice(0, 1).to_pylist()[0])
    assert next(rows) == (2, table.slice(1, 1).to_pylist()[0])


def test_extract_needs_years() -> None:
    with pytest.raises(InputError, match="no years"):
        demo_extract(years=())


# --- realistic patterns, computed with plain pandas -------------------------------------------


@pytest.mark.parametrize("year", YEARS)
def test_china_dominates_magnets_and_processed_minerals(flows: pd.DataFrame, year: int) -> None:
    # China's profile weight is 0.82 for magnets (the rest split among a few others).
    assert exporter_shares(flows, ["850511"], year)["CHN"] > 0.6
    for product in ("284690", "280530", "811292", "250410", "811010", "810194", "810411",
                    "854140", "850760", "280461"):  # fmt: skip
        shares = exporter_shares(flows, [product], year)
        assert shares.index[0] == "CHN", product
        assert shares.iloc[0] > 0.45, product


def test_mine_and_chip_countries_lead_their_products(flows: pd.DataFrame) -> None:
    assert exporter_shares(flows, ["260500"], 2022)["COD"] > 0.8  # cobalt ores
    lithium = exporter_shares(flows, ["283691"], 2022)
    assert lithium.index[0] == "CHL"
    assert lithium[["CHL", "ARG"]].sum() > 0.7
    assert exporter_shares(flows, ["260400"], 2022)[["PHL", "IDN"]].sum() > 0.7  # nickel ores
    assert exporter_shares(flows, ["854232"], 2022).index[0] == "KOR"  # memories
    assert exporter_shares(flows, ["854239"], 2022).index[0] == "TWN"
    chips = exporter_shares(flows, ["854231", "854232", "854239"], 2022)
    assert chips[["TWN", "KOR"]].sum() > 0.5
    tools = exporter_shares(flows, ["848620"], 2022)
    assert tools[["NLD", "JPN", "USA"]].sum() > 0.7
    lng = exporter_shares(flows, ["271111"], 2022)
    assert set(lng.index[:3]) <= {"QAT", "AUS", "USA", "RUS"}
    antibiotics = ["294110", "294120", "294130", "294150", "294190"]
    assert exporter_shares(flows, antibiotics, 2022)[["CHN", "IND"]].sum() > 0.6


def test_japan_buys_rare_earths_from_china_less_each_year(flows: pd.DataFrame) -> None:
    first = supplier_shares(flows, "JPN", "284690", YEARS[0])
    last = supplier_shares(flows, "JPN", "284690", YEARS[-1])
    assert first.index[0] == last.index[0] == "CHN"
    # The China-Japan weight drifts by exp(-0.15) a year: over two years the share falls.
    assert last["CHN"] < first["CHN"]


def test_russian_gas_to_germany_collapses_in_2022(flows: pd.DataFrame) -> None:
    gas = flows[(flows["product"] == "271121") & (flows["importer"] == "DEU")]
    from_russia = gas[gas["exporter"] == "RUS"].set_index("year")["value_usd"]
    assert supplier_shares(flows, "DEU", "271121", 2021).index[0] == "RUS"
    assert from_russia[2022] < 0.5 * from_russia[2021]
    assert gas[gas["year"] == 2022]["value_usd"].sum() > 0  # Germany still imports gas


def test_japan_and_germany_are_big_importers_of_strategic_goods(flows: pd.DataFrame) -> None:
    # Demand ~ size**0.8, times 2.5 for Japan and 2 for Germany on strategic goods: about 53
    # and 38 against 77 (USA), at most 61 (China) and 15 or less for anyone else, before noise.
    strategic = flows[flows["product"].isin(hs17_strategic()) & (flows["year"] == 2022)]
    imports = strategic.groupby(["product", "importer"])["value_usd"].sum()
    rank = imports.groupby(level="product").rank(ascending=False)
    top_five = rank[rank <= 5].index.get_level_values("importer").value_counts()
    products = strategic["product"].nunique()
    assert top_five["JPN"] > 2 / 3 * products
    assert top_five["DEU"] > 2 / 3 * products
    assert top_five["FRA"] < 1 / 2 * products


def test_ordinary_products_are_diversified(flows: pd.DataFrame) -> None:
    ordinary = flows[flows["product"].isin(ORDINARY_PRODUCTS) & (flows["year"] == 2022)]
    germany = ordinary[ordinary["importer"] == "DEU"]
    shares = germany["value_usd"] / germany.groupby("product")["value_usd"].transform("sum")
    hhi = (shares**2).groupby(germany["product"]).sum()
    assert len(hhi) == len(ORDINARY_PRODUCTS)
    assert (hhi < 0.4).mean() >= 0.9
    assert hhi.median() < 0.25
    # Strategic products are far more concentrated on the export side than ordinary ones.
    strategic = flows[flows["product"].isin(hs17_strategic()) & (flows["year"] == 2022)]

    def export_hhi(rows: pd.DataFrame) -> pd.Series:
        totals = rows.groupby(["product", "exporter"])["value_usd"].sum()
        return (
            ((totals / totals.groupby(level="product").transform("sum")) ** 2)
            .groupby(level="product")
            .sum()
        )

    assert export_hhi(ordinary).median() < 0.2
    assert export_hhi(strategic).median() > 2 * export_hhi(ordinary).median()
