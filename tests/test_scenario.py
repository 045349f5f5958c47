"""Disruption scenarios: hand-computed direct impacts, TOML validation and the presets.

Expected values come from the arithmetic in the comments, never from running the code.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import ibis
import pandas as pd
import pytest

from chokepoints import engine
from chokepoints.analysis import scenario as sc
from chokepoints.analysis.concentration import select_flows
from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.groups import group_members
from chokepoints.store import Store
from chokepoints.workspace import Workspace
from oracle import flows_frame

P, G = "811292", "271121"  # gallium/germanium unwrought, natural gas in gaseous state

#: 2022, product P. JPN imports 100: CHN 80 (8 t), AUS 20 (2 t). KOR imports 100: AUS 30,
#: USA 30, CHN 40 (4 t). DEU imports 10 from JPN. Exports: CHN 120, AUS 50, USA 30, JPN 10;
#: world 210. A 2021 flow CHN -> JPN checks that years never mix.
WORLD = flows_frame(
    [
        (2022, "CHN", "JPN", P, 80.0, 8.0),
        (2022, "AUS", "JPN", P, 20.0, 2.0),
        (2022, "AUS", "KOR", P, 30.0, 3.0),
        (2022, "USA", "KOR", P, 30.0, None),
        (2022, "CHN", "KOR", P, 40.0, 4.0),
        (2022, "JPN", "DEU", P, 10.0, 1.0),
        (2021, "CHN", "JPN", P, 999.0, 9.0),
    ]
)


def shock(
    supplier: str = "CHN",
    fraction: float = 1.0,
    importers: tuple[str, ...] | None = None,
    products: tuple[str, ...] = (P,),
) -> sc.ResolvedShock:
    """A resolved shock on ``supplier`` (a country: members = itself)."""
    return sc.ResolvedShock(supplier, (supplier,), products, importers, fraction)


def impact(frame: pd.DataFrame, shocks, **options) -> dict[str, dict]:
    """Rows of the direct impact in 2022 keyed by importer (one product per world)."""
    result = sc.direct_impact(ibis.memtable(frame), 2022, shocks, **options).to_pandas()
    return {row["importer"]: row for row in result.to_dict("records")}


def test_direct_impact_known_answer() -> None:
    rows = impact(WORLD, shock())
    assert set(rows) == {"JPN", "KOR"}  # DEU buys from JPN only: nothing lost, no row
    jpn, kor = rows["JPN"], rows["KOR"]
    # JPN loses 1.0 * 80 = 80 (8 t) of 100 and KOR 40 (4 t): 120 in all. The world's spare
    # capacity is what exporters other than CHN sell to importers the cut does not hit: JPN's
    # 10 to DEU, x 0.5 = 5, one pool shared pro rata: JPN 80 * 5/120, KOR 40 * 5/120.
    assert jpn["import_value_usd"] == pytest.approx(100.0)
    assert jpn["lost_value_usd"] == pytest.approx(80.0)
    assert jpn["lost_quantity_t"] == pytest.approx(8.0)
    assert jpn["lost_share"] == pytest.approx(0.8)
    assert jpn["shared_spare_usd"] == pytest.approx(5.0)
    assert jpn["total_lost_usd"] == pytest.approx(120.0)
    assert jpn["redirectable_value_usd"] == pytest.approx(80 * 5 / 120)
    assert jpn["shortfall_value_usd"] == pytest.approx(80 - 80 * 5 / 120)
    assert jpn["own_exports_usd"] == pytest.approx(10.0)
    assert jpn["kept_value_usd"] == pytest.approx(20.0)
    assert kor["lost_value_usd"] == pytest.approx(40.0)
    assert kor["lost_quantity_t"] == pytest.approx(4.0)
    assert kor["lost_share"] == pytest.approx(0.4)
    assert kor["redirectable_value_usd"] == pytest.approx(40 * 5 / 120)
    assert kor["shortfall_value_usd"] == pytest.approx(40 - 40 * 5 / 120)
    assert kor["own_exports_usd"] == pytest.approx(0.0)
    assert kor["kept_value_usd"] == pytest.approx(60.0)
    # Together they get the pool, never more.
    assert jpn["redirectable_value_usd"] + kor["redirectable_value_usd"] == pytest.approx(5.0)


def test_per_importer_allocation_is_the_optimistic_bound() -> None:
    rows = impact(WORLD, shock(), allocation="per_importer")
    # Each importer is offered the whole pool of 5: min(80, 5) and min(40, 5).
    assert rows["JPN"]["redirectable_value_usd"] == pytest.approx(5.0)
    assert rows["KOR"]["redirectable_value_usd"] == pytest.approx(5.0)
    with pytest.raises(InputError, match="allocation"):
        impact(WORLD, shock(), allocation="greedy")


def test_pool_larger_than_the_losses_covers_them_all() -> None:
    # Only JPN is cut off (by CHN): KOR is not hit, so AUS's 30 and USA's 30 to KOR, CHN's
    # excluded, and JPN's 10 to DEU are spare: 70 x 0.5 = 35 for JPN's loss of 80.
    rows = impact(WORLD, shock(importers=("JPN",)))
    assert rows["JPN"]["shared_spare_usd"] == pytest.approx(35.0)
    assert rows["JPN"]["redirectable_value_usd"] == pytest.approx(35.0)
    # With redirect fraction 1 the pool, 70, is smaller than the loss: 70 redirected.
    full = impact(WORLD, shock(importers=("JPN",)), redirect_fraction=1.0)
    assert full["JPN"]["redirectable_value_usd"] == pytest.approx(70.0)


def test_conservation_lost_plus_kept_is_before() -> None:
    for rows in (impact(WORLD, shock()), impact(WORLD, shock(fraction=0.3))):
        for row in rows.values():
            assert row["lost_value_usd"] + row["kept_value_usd"] == pytest.approx(
                row["import_value_usd"]
            )
            assert row["redirectable_value_usd"] + row["shortfall_value_usd"] == pytest.approx(
                row["lost_value_usd"]
            )


def test_partial_fraction_and_redirect_fraction() -> None:
    rows = impact(WORLD, shock(fraction=0.5))
    # JPN loses 0.5 * 80 = 40 (4 t), KOR 20: 60 in all; the pool is still 0.5 * 10 = 5
    # (JPN and KOR are hit, so nothing sold to them is spare): JPN 40 * 5/60, KOR 20 * 5/60.
    assert rows["JPN"]["lost_value_usd"] == pytest.approx(40.0)
    assert rows["JPN"]["lost_quantity_t"] == pytest.approx(4.0)
    assert rows["JPN"]["redirectable_value_usd"] == pytest.approx(40 * 5 / 60)
    assert rows["JPN"]["shortfall_value_usd"] == pytest.approx(40 - 40 * 5 / 60)
    assert rows["KOR"]["shortfall_value_usd"] == pytest.approx(20 - 20 * 5 / 60)
    # redirect_fraction 1: the pool is 10, JPN gets 80 * 10/120; 0: nothing redirected.
    assert impact(WORLD, shock(), redirect_fraction=1.0)["JPN"]["redirectable_value_usd"] == (
        pytest.approx(80 * 10 / 120)
    )
    assert impact(WORLD, shock(), redirect_fraction=0.0)["JPN"]["shortfall_value_usd"] == (
        pytest.approx(80.0)
    )


def test_importers_filter() -> None:
    rows = impact(WORLD, shock(importers=("JPN",)))
    assert set(rows) == {"JPN"}
    assert rows["JPN"]["lost_value_usd"] == pytest.approx(80.0)


def test_multiple_shocks_take_the_largest_fraction_per_supplier() -> None:
    # CHN 0.5 to all and 1.0 to JPN: JPN loses max(0.5, 1.0) * 80 = 80, not 120; KOR 0.5 * 40.
    rows = impact(WORLD, [shock(fraction=0.5), shock(importers=("JPN",))])
    assert rows["JPN"]["lost_value_usd"] == pytest.approx(80.0)
    assert rows["KOR"]["lost_value_usd"] == pytest.approx(20.0)


def test_multiple_suppliers_add_up_and_leave_fewer_alternatives() -> None:
    # CHN and AUS both stop: JPN loses 80 + 20 = 100 (10 t), KOR 40 + 30 = 70. Spare: what
    # USA and JPN sell to importers not hit, JPN's 10 to DEU, x 0.5 = 5, shared over 170.
    rows = impact(WORLD, [shock(), shock("AUS")])
    assert rows["JPN"]["lost_value_usd"] == pytest.approx(100.0)
    assert rows["JPN"]["lost_quantity_t"] == pytest.approx(10.0)
    assert rows["JPN"]["redirectable_value_usd"] == pytest.approx(100 * 5 / 170)
    assert rows["JPN"]["shortfall_value_usd"] == pytest.approx(100 - 100 * 5 / 170)


#: 2022, product G: DEU sells 50 to FRA (intra-EU) and 30 to JPN, FRA 10 to JPN, USA 60 to JPN.
GROUP_WORLD = flows_frame(
    [
        (2022, "DEU", "FRA", G, 50.0, 5.0),
        (2022, "DEU", "JPN", G, 30.0, 3.0),
        (2022, "FRA", "JPN", G, 10.0, 1.0),
        (2022, "USA", "JPN", G, 60.0, 6.0),
    ]
)


def test_group_supplier_spares_intra_group_trade() -> None:
    scenario = sc.build_scenario("EU27", products=[G])
    (resolved,) = scenario.resolve("HS17")
    assert resolved.supplier == "EU27"
    assert set(resolved.members) == group_members("EU27")
    rows = impact(GROUP_WORLD, resolved)
    # FRA is an EU member: its 50 from DEU is intra-group, not shocked.
    assert set(rows) == {"JPN"}
    # JPN loses 30 + 10 = 40 of 100. Alternatives: USA, 60 - 60 to JPN = 0: nothing redirected.
    assert rows["JPN"]["lost_value_usd"] == pytest.approx(40.0)
    assert rows["JPN"]["lost_share"] == pytest.approx(0.4)
    assert rows["JPN"]["redirectable_value_usd"] == pytest.approx(0.0)
    assert rows["JPN"]["shortfall_value_usd"] == pytest.approx(40.0)


def test_aggregates_by_country_and_sector() -> None:
    table = sc.direct_impact(ibis.memtable(WORLD), 2022, shock())
    country = sc.impact_by_country(table).to_pandas().set_index("importer")
    # JPN: 80 lost of 100, shortfall 80 - 80 * 5/120 -> shares 0.8 and that / 100.
    assert country.loc["JPN", "lost_value_usd"] == pytest.approx(80.0)
    assert country.loc["JPN", "lost_share"] == pytest.approx(0.8)
    assert country.loc["JPN", "shortfall_share"] == pytest.approx((80 - 80 * 5 / 120) / 100)
    assert country.loc["JPN", "n_products"] == 1
    sectors = sc.impact_by_sector(table, "HS17").to_pandas()
    minerals = sectors[sectors["sector"] == "critical_minerals"].set_index("importer")
    # 811292 is a critical mineral: KOR's sector row is its product row.
    assert minerals.loc["KOR", "lost_value_usd"] == pytest.approx(40.0)
    assert minerals.loc["KOR", "shortfall_value_usd"] == pytest.approx(40 - 40 * 5 / 120)


# -- scenario files ------------------------------------------------------------------------------
GOOD = """\
id = "test-shock"
name = "Test"
description = "A test scenario"
sources = ["made up"]

[[shocks]]
supplier = "CHN"
fraction = 0.5
start_year = 2023
sectors = ["critical_minerals"]
importers = ["JPN", "G7"]
products = { HS17 = ["811292"], HS22 = ["811292"] }
"""


def test_scenario_from_toml() -> None:
    scenario = sc.scenario_from_toml(GOOD, file="test.toml")
    (only,) = scenario.shocks
    assert only.members == ("CHN",)
    assert only.fraction == 0.5
    # Importers are economies: the G7 buys as one, next to JPN.
    assert [e.name for e in only.importers or ()] == ["JPN", "G7"]
    assert set(only.importers[1].members) == group_members("G7")
    assert scenario.baseline_year == 2022
    assert "811292" in scenario.products_for("HS17")
    assert "250410" in scenario.products_for("HS17")  # natural graphite, via critical_minerals


def test_products_for_a_missing_revision_is_an_error() -> None:
    scenario = sc.scenario_from_toml(GOOD.replace('sectors = ["critical_minerals"]\n', ""))
    with pytest.raises(InputError, match="no HS12 products"):
        scenario.products_for("HS12")


@pytest.mark.parametrize(
    ("old", "new", "message", "line"),
    [
        ("fraction = 0.5", "fraction = 1.5", r"fraction 1\.5 is not in \(0, 1\]", 8),
        ("fraction = 0.5", "fraction = 0", r"fraction 0 is not in \(0, 1\]", 8),
        ("start_year", "start_yr", "unknown key", 9),
        ('supplier = "CHN"', 'supplier = "XXX"', "unknown country or group 'XXX'", 7),
        ('"G7"]', '"GX7"]', "unknown country or group 'GX7'", 11),
        ('["critical_minerals"]', '["minerals"]', "unknown sector 'minerals'", 10),
        ('HS17 = ["811292"]', 'HS17 = ["8112"]', "not a quoted 6-digit", 12),
        ("HS22 =", "HS23 =", "unknown HS revision 'HS23'", 12),
        ('name = "Test"', 'name = "Test"\ncolour = "red"', "unknown key", 3),
    ],
)
def test_scenario_validation_errors(old: str, new: str, message: str, line: int) -> None:
    with pytest.raises(InputError, match=message) as caught:
        sc.scenario_from_toml(GOOD.replace(old, new), file="bad.toml")
    assert caught.value.file == "bad.toml"
    assert caught.value.line == line


def test_shock_without_products_or_sectors() -> None:
    text = GOOD.replace('sectors = ["critical_minerals"]\n', "").replace(
        'products = { HS17 = ["811292"], HS22 = ["811292"] }\n', ""
    )
    with pytest.raises(InputError, match="needs products or sectors") as caught:
        sc.scenario_from_toml(text, file="bad.toml")
    assert caught.value.line == 6  # the [[shocks]] header


def test_invalid_toml_and_missing_shocks() -> None:
    with pytest.raises(InputError, match="not valid TOML"):
        sc.scenario_from_toml("id = ", file="bad.toml")
    with pytest.raises(InputError, match="missing key"):
        sc.scenario_from_toml(GOOD.split("[[shocks]]")[0], file="bad.toml")


def test_load_scenario_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert sc.load_scenario(path).id == "test-shock"
    with pytest.raises(InputError, match="cannot read"):
        sc.load_scenario(tmp_path / "absent.toml")


def test_build_scenario_validates_like_files() -> None:
    with pytest.raises(InputError, match="fraction"):
        sc.build_scenario("CHN", sectors=["critical_minerals"], fraction=0.0)
    with pytest.raises(InputError, match="needs products or sectors"):
        sc.build_scenario("CHN")
    generic = sc.build_scenario("CHN", sectors=["semiconductors"], importers=["JPN"])
    assert [e.name for e in generic.shocks[0].importers or ()] == ["JPN"]
    assert generic.products_for("HS17")


def test_direct_impact_rejects_bad_parameters() -> None:
    with pytest.raises(InputError, match="redirect_fraction"):
        sc.direct_impact(ibis.memtable(WORLD), 2022, shock(), redirect_fraction=2.0)
    with pytest.raises(InputError, match="no shock"):
        sc.direct_impact(ibis.memtable(WORLD), 2022, [])


# -- presets ---------------------------------------------------------------------------------------
REQUIRED_PRESETS = {
    "china-gallium-germanium-2023",
    "china-graphite-2023",
    "china-antimony-2024",
    "china-us-ban-2024",
    "russia-gas-2022",
    "russia-oil-2022",
    "russia-coal-2022",
}


def test_presets_load_with_sources() -> None:
    assert set(sc.list_presets()) >= REQUIRED_PRESETS
    for name in sc.list_presets():
        scenario = sc.preset(name)
        assert scenario.id == name
        assert scenario.sources
        assert all(shock.rationale and shock.start_year for shock in scenario.shocks)
    assert [e.name for e in sc.preset("china-us-ban-2024").shocks[0].importers or ()] == ["USA"]
    (eu,) = sc.preset("russia-gas-2022").shocks[0].importers or ()
    assert eu.name == "EU27" and set(eu.members) == group_members("EU27")
    with pytest.raises(UnknownCodeError, match="presets: "):
        sc.preset("nothing")


@pytest.mark.shared_data
@pytest.mark.parametrize("revision", ["HS92", "HS12", "HS17", "HS22"])
def test_preset_codes_exist_in_baci(shared_data: Path, revision: str) -> None:
    path = shared_data / "baci" / "V202401_tradalyze" / f"product_codes_{revision}_V202401.csv"
    with path.open(encoding="utf-8") as handle:
        known = {row["code"] for row in csv.DictReader(handle)}
    for name in sc.list_presets():
        codes = set(sc.preset(name).products_for(revision))
        assert codes and codes <= known, (name, sorted(codes - known))


# -- engines -------------------------------------------------------------------------------------
@pytest.mark.spark
@pytest.mark.slow
def test_duckdb_and_spark_agree_on_a_scenario(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI") == "true":
            pytest.fail("Spark parity tests must run in CI: no Java runtime")
        pytest.skip("no Java runtime (Spark needs Java 17)")
    Workspace.open(tmp_path).load_demo()
    store = Store(tmp_path)
    scenario = sc.build_scenario(
        "CHN", sectors=["critical_minerals", "semiconductors"], fraction=0.7
    )
    results = []
    for backend in ("duckdb", "pyspark"):
        con = engine.connect(store, backend)
        flows = select_flows(con.table("trade"), source="demo", classification="HS17")
        table = sc.scenario_impact(flows, scenario, year=2022, classification="HS17")
        by_sector = sc.impact_by_sector(table, "HS17")
        results.append(
            (
                table.to_pandas().sort_values(["importer", "product"], ignore_index=True),
                by_sector.to_pandas().sort_values(["importer", "sector"], ignore_index=True),
            )
        )
    (duck_rows, duck_sectors), (spark_rows, spark_sectors) = results
    assert len(duck_rows) > 0
    pd.testing.assert_frame_equal(
        duck_rows, spark_rows[list(duck_rows.columns)], check_dtype=False, rtol=1e-9
    )
    pd.testing.assert_frame_equal(
        duck_sectors, spark_sectors[list(duck_sectors.columns)], check_dtype=False, rtol=1e-9
    )
