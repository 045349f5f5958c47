"""Dependency methods (geodep, ec2021, custom): hand-computed known answers, edge cases and
hypothesis properties. Expected values come from the arithmetic in the comments."""

from __future__ import annotations

import math
from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chokepoints.analysis import concentration as conc
from chokepoints.analysis import dependency as dep
from chokepoints.errors import InputError
from compiled import CompiledOnce
from oracle import flows_frame

YEARS = (2020, 2021, 2022)  # geodep's window for t = 2022


def run(expr: ir.Table) -> pd.DataFrame:
    """Execute ``expr`` on DuckDB."""
    return expr.to_pandas()


def rows_by(frame: pd.DataFrame, *key: str) -> dict[object, dict]:
    """The rows of ``frame`` as dicts, keyed by the value of ``key`` (a tuple if several)."""
    records = frame.to_dict("records")
    if len(key) == 1:
        return {row[key[0]]: row for row in records}
    return {tuple(row[k] for k in key): row for row in records}


def each_year(
    years: Iterable[int], flows: list[tuple[str, str, str, float]]
) -> list[tuple[int, str, str, str, float, None]]:
    """``(exporter, importer, product, value)`` flows repeated in every year of ``years``."""
    return [(y, e, i, p, v, None) for y in years for e, i, p, v in flows]


def diversified(importer: str, product: str) -> list[tuple[str, str, str, float]]:
    """Four suppliers of 25 each: HHI 4 * .25^2 = .25 for the importer and the world."""
    return [(e, importer, product, 25.0) for e in ("CHN", "USA", "DEU", "FRA")]


def concentrated(importer: str, product: str) -> list[tuple[str, str, str, float]]:
    """CHN 90 and USA 10: HHI .9^2 + .1^2 = .82 for the importer and the world."""
    return [("CHN", importer, product, 90.0), ("USA", importer, product, 10.0)]


# -- geodep --------------------------------------------------------------------------------

# One product per scenario, so that each product's world exports are the scenario's flows.
# JPN exports none of the scenario products (M/X = 9999) unless said otherwise.
TWO_OF_THREE, ONE_OF_THREE, NO_T_MINUS_2, ONLY_T, NOT_IN_T = (
    "810110",
    "810120",
    "810130",
    "810140",
    "810150",
)
NO_WORLD_HHI, NO_RATIO, RATIO_ONE, BOUNDARY = "280461", "280462", "280463", "280464"
GEODEP_WORLD = flows_frame(
    [
        # Criteria met in 2021 and 2022, not 2020 (diversified): 2 of 3 years.
        *each_year([2020], diversified("JPN", TWO_OF_THREE)),
        *each_year(
            [2021], [("CHN", "JPN", TWO_OF_THREE, 80.0), ("USA", "JPN", TWO_OF_THREE, 20.0)]
        ),
        *each_year([2022], concentrated("JPN", TWO_OF_THREE)),
        # Met in 2022 only: 1 of 3 years.
        *each_year([2020, 2021], diversified("JPN", ONE_OF_THREE)),
        *each_year([2022], concentrated("JPN", ONE_OF_THREE)),
        # Not imported in 2020, met in 2021 and 2022.
        *each_year([2021, 2022], concentrated("JPN", NO_T_MINUS_2)),
        # Imported and met in 2022 only: the two missing years count as not met.
        *each_year([2022], concentrated("JPN", ONLY_T)),
        # Met in 2020 and 2021, not imported in 2022.
        *each_year([2020, 2021], concentrated("JPN", NOT_IN_T)),
        # World export HHI too low: JPN buys CHN 90 + USA 10 but KOR buys 100 each from DEU,
        # FRA and GBR: world shares 90/400, 10/400, 3 x 100/400,
        # HHI = (8100 + 100 + 30000) / 160000 = .23875.
        *each_year(
            YEARS,
            [
                *concentrated("JPN", NO_WORLD_HHI),
                ("DEU", "KOR", NO_WORLD_HHI, 100.0),
                ("FRA", "KOR", NO_WORLD_HHI, 100.0),
                ("GBR", "KOR", NO_WORLD_HHI, 100.0),
            ],
        ),
        # JPN imports 100 and exports 200 (to KOR): M/X = .5. World: CHN 90, USA 10, JPN 200,
        # HHI = (8100 + 100 + 40000) / 300^2 = .5356. KOR buys from JPN alone: HHI 1, M/X 9999.
        *each_year(YEARS, [*concentrated("JPN", NO_RATIO), ("JPN", "KOR", NO_RATIO, 200.0)]),
        # JPN imports 100 from CHN and exports 100 to KOR: M/X = 1, not > 1.
        # World: CHN 100, JPN 100, HHI = .5.
        *each_year(YEARS, [("CHN", "JPN", RATIO_ONE, 100.0), ("JPN", "KOR", RATIO_ONE, 100.0)]),
        # Shares .5, .25, .25 for JPN and the world: HHI = .25 + .0625 + .0625 = .375 exactly.
        *each_year(
            YEARS,
            [
                ("CHN", "JPN", BOUNDARY, 50.0),
                ("USA", "JPN", BOUNDARY, 25.0),
                ("DEU", "JPN", BOUNDARY, 25.0),
            ],
        ),
    ]
)


@pytest.fixture(scope="module")
def geodep_rows() -> dict[tuple, dict]:
    """geodep for 2022 on GEODEP_WORLD, keyed by (importer, product)."""
    return rows_by(run(dep.geodep(ibis.memtable(GEODEP_WORLD), 2022)), "importer", "product")


def test_geodep_two_of_three_years_is_dependent(geodep_rows: dict) -> None:
    row = geodep_rows[("JPN", TWO_OF_THREE)]
    # 2020: HHI .25 fails; 2021: HHI .8^2 + .2^2 = .68 (JPN and world), M/X 9999;
    # 2022: .82, 9999.
    assert (row["years_met"], row["years_observed"], row["dependent"]) == (2, 3, True)
    # 2022 metrics.
    assert row["year"] == 2022
    assert (row["import_value_usd"], row["n_suppliers"], row["top_supplier"]) == (100.0, 2, "CHN")
    assert row["hhi"] == pytest.approx(0.82)
    assert row["world_export_hhi"] == pytest.approx(0.82)
    assert row["top_supplier_share"] == pytest.approx(0.9)
    assert (row["exports_usd"], row["import_export_ratio"]) == (0.0, 9999.0)
    assert row["crit_import_hhi"] and row["crit_world_export_hhi"]
    assert row["crit_import_export_ratio"]
    assert row["method"] == "geodep"


def test_geodep_one_of_three_years_is_not_dependent(geodep_rows: dict) -> None:
    row = geodep_rows[("JPN", ONE_OF_THREE)]
    # 2020 and 2021 fail (HHI .25), 2022 meets all three.
    assert (row["years_met"], row["years_observed"], row["dependent"]) == (1, 3, False)
    assert row["crit_import_hhi"] and row["crit_world_export_hhi"]


def test_geodep_missing_years_count_as_not_met(geodep_rows: dict) -> None:
    # Imported only in 2021 and 2022, met both times: 2 of 3 years.
    row = geodep_rows[("JPN", NO_T_MINUS_2)]
    assert (row["years_met"], row["years_observed"], row["dependent"]) == (2, 2, True)
    # Imported only in 2022: met in 1 of 3 years, not 1 of 1.
    row = geodep_rows[("JPN", ONLY_T)]
    assert (row["years_met"], row["years_observed"], row["dependent"]) == (1, 1, False)


def test_geodep_pair_not_imported_in_t(geodep_rows: dict) -> None:
    # Met in 2020 and 2021 (HHI .82, M/X 9999), nothing imported in 2022: still 2 of 3 years,
    # with no 2022 metrics.
    row = geodep_rows[("JPN", NOT_IN_T)]
    assert (row["years_met"], row["years_observed"], row["dependent"]) == (2, 2, True)
    assert row["year"] == 2022
    for column in ("import_value_usd", "hhi", "world_export_hhi", "import_export_ratio"):
        assert pd.isna(row[column]), column
    for column in ("crit_import_hhi", "crit_world_export_hhi", "crit_import_export_ratio"):
        assert pd.isna(row[column]), column


def test_geodep_world_export_hhi_criterion(geodep_rows: dict) -> None:
    row = geodep_rows[("JPN", NO_WORLD_HHI)]
    assert row["world_export_hhi"] == pytest.approx(0.23875)
    assert row["hhi"] == pytest.approx(0.82)
    assert (row["crit_import_hhi"], row["crit_world_export_hhi"]) == (True, False)
    assert (row["years_met"], row["dependent"]) == (0, False)
    # KOR: three suppliers of 100: HHI 1/3.
    kor = geodep_rows[("KOR", NO_WORLD_HHI)]
    assert kor["hhi"] == pytest.approx(1 / 3)
    assert (kor["crit_import_hhi"], kor["dependent"]) == (False, False)


def test_geodep_import_export_ratio_criterion(geodep_rows: dict) -> None:
    row = geodep_rows[("JPN", NO_RATIO)]
    assert (row["import_value_usd"], row["exports_usd"]) == (100.0, 200.0)
    assert row["import_export_ratio"] == pytest.approx(0.5)
    assert row["world_export_hhi"] == pytest.approx(48200 / 90000)
    assert (row["crit_import_hhi"], row["crit_world_export_hhi"]) == (True, True)
    assert (row["crit_import_export_ratio"], row["years_met"], row["dependent"]) == (
        False,
        0,
        False,
    )
    # KOR's one supplier: HHI 1, no exports: M/X 9999; met in all three years.
    kor = geodep_rows[("KOR", NO_RATIO)]
    assert (kor["n_suppliers"], kor["hhi"], kor["top_supplier_share"]) == (1, 1.0, 1.0)
    assert (kor["exports_usd"], kor["import_export_ratio"]) == (0.0, 9999.0)
    assert (kor["years_met"], kor["years_observed"], kor["dependent"]) == (3, 3, True)


def test_geodep_ratio_of_exactly_one_does_not_count(geodep_rows: dict) -> None:
    row = geodep_rows[("JPN", RATIO_ONE)]
    assert row["import_export_ratio"] == 1.0
    assert (row["crit_import_hhi"], row["crit_import_export_ratio"]) == (True, False)
    assert (row["years_met"], row["dependent"]) == (0, False)
    assert geodep_rows[("KOR", RATIO_ONE)]["dependent"]


def test_geodep_thresholds_are_strict_and_parameters() -> None:
    world = ibis.memtable(GEODEP_WORLD)
    # BOUNDARY: import and world export HHI both exactly .375 (dyadic shares, exact).
    at = dep.GeoDep(import_hhi=0.375, world_export_hhi=0.375)
    row = rows_by(run(dep.geodep(world, 2022, params=at)), "importer", "product")[("JPN", BOUNDARY)]
    assert row["hhi"] == 0.375
    assert (row["crit_import_hhi"], row["crit_world_export_hhi"], row["years_met"]) == (
        False,
        False,
        0,
    )
    below = dep.GeoDep(import_hhi=0.37, world_export_hhi=0.37)
    row = rows_by(run(dep.geodep(world, 2022, params=below)), "importer", "product")[
        ("JPN", BOUNDARY)
    ]
    assert (row["crit_import_hhi"], row["years_met"], row["dependent"]) == (True, 3, True)
    # min_years=1: one year out of three is enough.
    rows = rows_by(
        run(dep.geodep(world, 2022, params=dep.GeoDep(min_years=1))), "importer", "product"
    )
    assert rows[("JPN", ONE_OF_THREE)]["dependent"]
    assert rows[("JPN", ONLY_T)]["dependent"]


def test_geodep_window_ignores_other_years() -> None:
    # The same world plus a 2019 year in which every pair would meet the criteria: for
    # t = 2022 nothing changes; for t = 2021 the window is 2019-2021.
    extra = flows_frame(each_year([2019], concentrated("JPN", ONE_OF_THREE)))
    world = ibis.memtable(pd.concat([GEODEP_WORLD, extra], ignore_index=True))
    rows = rows_by(run(dep.geodep(world, 2022)), "importer", "product")
    assert (rows[("JPN", ONE_OF_THREE)]["years_met"], rows[("JPN", ONE_OF_THREE)]["dependent"]) == (
        1,
        False,
    )
    rows = rows_by(run(dep.geodep(world, 2021)), "importer", "product")
    # 2019 met, 2020 and 2021 diversified: 1 of 3.
    assert rows[("JPN", ONE_OF_THREE)]["years_met"] == 1
    assert rows[("JPN", NOT_IN_T)]["years_met"] == 2  # 2020, 2021
    assert ("JPN", ONLY_T) not in rows  # first imported in 2022


def test_geodep_row_per_pair_imported_in_the_window(geodep_rows: dict) -> None:
    # JPN: 9 products; KOR: NO_WORLD_HHI, NO_RATIO, RATIO_ONE.
    assert set(geodep_rows) == {
        *[
            ("JPN", p)
            for p in (
                *(TWO_OF_THREE, ONE_OF_THREE, NO_T_MINUS_2, ONLY_T, NOT_IN_T),
                *(NO_WORLD_HHI, NO_RATIO, RATIO_ONE, BOUNDARY),
            )
        ],
        ("KOR", NO_WORLD_HHI),
        ("KOR", NO_RATIO),
        ("KOR", RATIO_ONE),
    }
    assert {r["method"] for r in geodep_rows.values()} == {"geodep"}


def test_geodep_group_importer_counts_extra_group_flows_only() -> None:
    # Every year: CHN -> DEU 30, CHN -> FRA 30, USA -> DEU 40, FRA -> DEU 100 (intra-EU),
    # CHN -> KOR 200.
    world = ibis.memtable(
        flows_frame(
            each_year(
                YEARS,
                [
                    ("CHN", "DEU", "260300", 30.0),
                    ("CHN", "FRA", "260300", 30.0),
                    ("USA", "DEU", "260300", 40.0),
                    ("FRA", "DEU", "260300", 100.0),
                    ("CHN", "KOR", "260300", 200.0),
                ],
            )
        )
    )
    grouped = conc.as_group(world, "EU", ["DEU", "FRA"])
    rows = rows_by(run(dep.geodep(world, 2022, importer_flows=grouped)), "importer", "product")
    eu = rows[("EU", "260300")]
    # Extra-EU imports CHN 30 + 30 = 60, USA 40: HHI .36 + .16 = .52 (with the intra-EU 100 it
    # would be (60^2 + 40^2 + 100^2) / 200^2 = .38). EU exports outside: none, M/X 9999.
    # World exports (intra-EU trade is world trade): CHN 260, USA 40, FRA 100:
    # HHI = (67600 + 1600 + 10000) / 160000 = .495.
    assert (eu["import_value_usd"], eu["n_suppliers"], eu["top_supplier"]) == (100.0, 2, "CHN")
    assert eu["hhi"] == pytest.approx(0.52)
    assert (eu["exports_usd"], eu["import_export_ratio"]) == (0.0, 9999.0)
    assert eu["world_export_hhi"] == pytest.approx(0.495)
    assert (eu["years_met"], eu["dependent"]) == (3, True)
    assert not {key for key in rows if key[0] in {"DEU", "FRA"}}
    # Country by country instead: DEU buys CHN 30, USA 40, FRA 100:
    # HHI = (900 + 1600 + 10000) / 170^2 = 12500 / 28900; FRA exports 100 > its imports 30.
    alone = rows_by(run(dep.geodep(world, 2022)), "importer", "product")
    assert alone[("DEU", "260300")]["hhi"] == pytest.approx(12500 / 28900)
    assert alone[("FRA", "260300")]["import_export_ratio"] == pytest.approx(0.3)
    assert not alone[("FRA", "260300")]["dependent"]


def test_geodep_zero_valued_imports_are_not_dependent() -> None:
    # JPN's only import of the product is a flow worth 0 USD every year (the store accepts
    # value_usd = 0). JPN imports nothing: it cannot depend on CHN (it may have no row at all).
    # KOR buys 10 from USA: HHI 1, M/X 9999, world HHI (USA alone) 1: dependent.
    world = flows_frame(
        each_year(YEARS, [("CHN", "JPN", "850511", 0.0), ("USA", "KOR", "850511", 10.0)])
    )
    rows = rows_by(run(dep.geodep(ibis.memtable(world), 2022)), "importer", "product")
    assert rows[("KOR", "850511")]["dependent"]
    assert rows[("KOR", "850511")]["world_export_hhi"] == 1.0
    jpn = rows.get(("JPN", "850511"), {"crit_import_hhi": None, "dependent": False})
    assert pd.isna(jpn["crit_import_hhi"]) or not jpn["crit_import_hhi"]
    assert not jpn["dependent"]


# -- ec2021 --------------------------------------------------------------------------------

EU = ["DEU", "FRA", "ITA"]
EC_WORLD = flows_frame(
    [
        # 850511: extra-EU imports CHN 60 + 20 = 80, USA 20; intra-EU 30 + 10 = 40; the members
        # export 30 + 10 (intra) + 20 (to USA) = 60.
        (2022, "CHN", "DEU", "850511", 60.0, None),
        (2022, "CHN", "FRA", "850511", 20.0, None),
        (2022, "USA", "ITA", "850511", 20.0, None),
        (2022, "DEU", "FRA", "850511", 30.0, None),
        (2022, "ITA", "DEU", "850511", 10.0, None),
        (2022, "FRA", "USA", "850511", 20.0, None),
        # 271111: extra-EU USA 50, QAT 50; intra-EU (and all EU exports) 200.
        (2022, "USA", "DEU", "271111", 50.0, None),
        (2022, "QAT", "FRA", "271111", 50.0, None),
        (2022, "DEU", "FRA", "271111", 200.0, None),
        # 300490: extra-EU IND 100, nothing intra, no EU exports; JPN's import is not the EU's.
        (2022, "IND", "ITA", "300490", 100.0, None),
        (2022, "CHN", "JPN", "300490", 100.0, None),
        # 710812: traded inside the EU only: no extra-EU imports, no row.
        (2022, "DEU", "FRA", "710812", 10.0, None),
        # Another year, ignored for 2022.
        (2021, "CHN", "DEU", "850511", 1000.0, None),
        (2021, "USA", "DEU", "710812", 1000.0, None),
    ]
)


def test_ec2021_known_answer() -> None:
    result = dep.ec2021(ibis.memtable(EC_WORLD), 2022, group="EU27", members=EU)
    rows = rows_by(run(result), "product")
    assert set(rows) == {"850511", "271111", "300490"}
    magnets = rows["850511"]
    # HHI = .8^2 + .2^2 = .68; extra share 100 / (100 + 40) = 5/7; M/X = 100/60 = 5/3.
    assert (magnets["year"], magnets["importer"], magnets["method"]) == (2022, "EU27", "ec2021")
    assert (magnets["import_value_usd"], magnets["n_suppliers"]) == (100.0, 2)
    assert (magnets["top_supplier"], magnets["top_supplier_share"]) == ("CHN", pytest.approx(0.8))
    assert magnets["hhi"] == pytest.approx(0.68)
    assert (magnets["intra_imports_usd"], magnets["exports_usd"]) == (40.0, 60.0)
    assert magnets["extra_share"] == pytest.approx(5 / 7)
    assert magnets["import_export_ratio"] == pytest.approx(5 / 3)
    # World exports CHN 80, USA 20, DEU 30, ITA 10, FRA 20 = 160:
    # HHI = (6400 + 400 + 900 + 100 + 400) / 25600 = 8200 / 25600 = .3203125.
    assert magnets["world_export_hhi"] == pytest.approx(0.3203125)
    assert magnets["dependent"] and magnets["in_scope"]
    gas = rows["271111"]
    # HHI .5^2 + .5^2 = .5; extra share 100 / 300 = 1/3; M/X = 100 / 200 = .5.
    assert gas["hhi"] == pytest.approx(0.5)
    assert gas["extra_share"] == pytest.approx(1 / 3)
    assert gas["import_export_ratio"] == pytest.approx(0.5)
    assert (gas["crit_import_hhi"], gas["crit_extra_share"], gas["crit_import_export_ratio"]) == (
        True,
        False,
        False,
    )
    assert not gas["dependent"]
    medicine = rows["300490"]
    # One supplier: HHI 1; nothing intra: extra share 1; no EU exports: M/X 9999.
    assert (medicine["import_value_usd"], medicine["hhi"], medicine["extra_share"]) == (
        100.0,
        1.0,
        1.0,
    )
    assert (medicine["intra_imports_usd"], medicine["exports_usd"]) == (0.0, 0.0)
    assert medicine["import_export_ratio"] == 9999.0
    assert medicine["dependent"]


def test_ec2021_products_restrict_flags_not_rows() -> None:
    result = dep.ec2021(
        ibis.memtable(EC_WORLD), 2022, group="EU27", members=EU, products=["850511"]
    )
    rows = rows_by(run(result), "product")
    assert set(rows) == {"850511", "271111", "300490"}
    assert (rows["850511"]["in_scope"], rows["850511"]["dependent"]) == (True, True)
    # 300490 meets the three criteria but is out of scope.
    medicine = rows["300490"]
    assert medicine["crit_import_hhi"] and medicine["crit_extra_share"]
    assert medicine["crit_import_export_ratio"]
    assert (medicine["in_scope"], medicine["dependent"]) == (False, False)


def test_ec2021_thresholds_are_parameters() -> None:
    # 271111 has extra share 1/3 and M/X .5: lowering both thresholds below them flags it.
    params = dep.EC2021(extra_share=0.3, import_export_ratio=0.4)
    result = dep.ec2021(ibis.memtable(EC_WORLD), 2022, group="EU27", members=EU, params=params)
    assert rows_by(run(result), "product")["271111"]["dependent"]


# -- custom --------------------------------------------------------------------------------

# JPN: CHN 90, USA 10 (HHI .82, top CHN .9); KOR: USA 60, DEU 40 (HHI .36 + .16 = .52, top
# USA .6); FRA: CHN 50, USA 30, DEU 20 (HHI .25 + .09 + .04 = .38, top CHN .5).
CUSTOM_WORLD = flows_frame(
    [
        (2022, "CHN", "JPN", "850511", 90.0, None),
        (2022, "USA", "JPN", "850511", 10.0, None),
        (2022, "USA", "KOR", "850511", 60.0, None),
        (2022, "DEU", "KOR", "850511", 40.0, None),
        (2022, "CHN", "FRA", "850511", 50.0, None),
        (2022, "USA", "FRA", "850511", 30.0, None),
        (2022, "DEU", "FRA", "850511", 20.0, None),
        (2022, "CHN", "JPN", "010121", 5.0, None),
    ]
)


def custom_flags(rules: list[str]) -> dict[tuple, bool]:
    """``custom`` on CUSTOM_WORLD's metrics: dependent flag per (importer, product)."""
    metrics = dep.dependency_metrics(ibis.memtable(CUSTOM_WORLD))
    result = run(dep.custom(metrics, [dep.Rule.parse(r) for r in rules]))
    return {(r["importer"], r["product"]): r["dependent"] for r in result.to_dict("records")}


def test_custom_known_answer() -> None:
    flags = custom_flags(["hhi>0.5", "top_supplier=CHN"])
    # JPN 850511 (.82, CHN) and JPN 010121 (one supplier: 1, CHN); KOR's top is USA, FRA's
    # HHI .38.
    assert flags == {
        ("JPN", "850511"): True,
        ("JPN", "010121"): True,
        ("KOR", "850511"): False,
        ("FRA", "850511"): False,
    }
    # >= includes the bound: KOR's top share is exactly 60 / 100 = .6.
    assert custom_flags(["top_supplier_share>=0.6", "n_suppliers>1"]) == {
        ("JPN", "850511"): True,
        ("JPN", "010121"): False,
        ("KOR", "850511"): True,
        ("FRA", "850511"): False,
    }
    assert custom_flags(["importer!=JPN"]) == {
        ("JPN", "850511"): False,
        ("JPN", "010121"): False,
        ("KOR", "850511"): True,
        ("FRA", "850511"): True,
    }


def test_custom_records_its_rules() -> None:
    metrics = dep.dependency_metrics(ibis.memtable(CUSTOM_WORLD))
    rules = [dep.Rule.parse("hhi > 0.5"), dep.Rule.parse("top_supplier=CHN")]
    methods = set(run(dep.custom(metrics, rules))["method"])
    assert methods == {"custom: hhi>0.5 & top_supplier=CHN"}


def test_custom_null_metric_fails_its_rule() -> None:
    # NOT_IN_T has no 2022 metrics: hhi is null, so no rule on hhi holds.
    metrics = dep.geodep(ibis.memtable(GEODEP_WORLD), 2022)
    for rule in ("hhi<0.5", "hhi>=0.5", "hhi!=0.5"):
        result = run(dep.custom(metrics, [dep.Rule.parse(rule)]))
        assert result["dependent"].dtype == bool, rule
        assert not rows_by(result, "importer", "product")[("JPN", NOT_IN_T)]["dependent"], rule


def test_custom_rules_on_codes_and_flags() -> None:
    # Product codes are codes, not numbers: "product=010121" must match JPN's 010121 (and keep
    # its leading zero), "product=850511" the three 850511 rows.
    assert custom_flags(["product=010121"]) == {
        ("JPN", "850511"): False,
        ("JPN", "010121"): True,
        ("KOR", "850511"): False,
        ("FRA", "850511"): False,
    }
    assert sum(custom_flags(["product=850511"]).values()) == 3
    # A flag column: on GEODEP_WORLD, JPN's RATIO_ONE meets the HHI criterion but not M/X > 1.
    metrics = dep.geodep(ibis.memtable(GEODEP_WORLD), 2022)
    rules = [
        dep.Rule.parse("crit_import_hhi=true"),
        dep.Rule.parse("crit_import_export_ratio=false"),
    ]
    rows = rows_by(run(dep.custom(metrics, rules)), "importer", "product")
    assert {key for key, row in rows.items() if row["dependent"]} == {
        ("JPN", NO_RATIO),
        ("JPN", RATIO_ONE),
    }


def test_custom_rejects_bad_rules() -> None:
    metrics = dep.dependency_metrics(ibis.memtable(CUSTOM_WORLD))
    with pytest.raises(InputError, match="unknown metric"):
        dep.custom(metrics, [dep.Rule.parse("hhhi>0.5")])
    with pytest.raises(InputError, match="at least one rule"):
        dep.custom(metrics, [])
    with pytest.raises(InputError, match="not of the form"):
        dep.Rule.parse("hhi about 0.5")
    with pytest.raises(InputError, match="is a number"):
        dep.custom(metrics, [dep.Rule.parse("hhi>high")])
    rule = dep.Rule.parse(" top_supplier_share >= 0.7 ")
    assert (rule.metric, rule.operator, str(rule)) == (
        "top_supplier_share",
        ">=",
        "top_supplier_share>=0.7",
    )


def test_method_parameters_for_provenance() -> None:
    assert dep.GeoDep().parameters() == {
        "name": "geodep",
        "version": "2024",
        "import_hhi": 0.4,
        "world_export_hhi": 0.4,
        "import_export_ratio": 1.0,
        "window": 3,
        "min_years": 2,
    }
    assert dep.EC2021().parameters()["extra_share"] == 0.5


# -- properties ----------------------------------------------------------------------------

CODES = ("CHN", "USA", "DEU", "FRA", "JPN")
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
flow_keys = st.tuples(
    st.sampled_from(YEARS),
    st.sampled_from(CODES),
    st.sampled_from(CODES),
    st.sampled_from(("850511", "271111")),
).filter(lambda key: key[1] != key[2])


@st.composite
def worlds(draw: st.DrawFn) -> pd.DataFrame:
    """Up to 30 distinct flows in 2020-2022 with whole-dollar values (exact sums)."""
    chosen = draw(st.lists(flow_keys, min_size=1, max_size=30, unique=True))
    values = draw(st.lists(st.integers(1, 10**6), min_size=len(chosen), max_size=len(chosen)))
    return flows_frame(
        (*key, float(value), None) for key, value in zip(chosen, values, strict=True)
    )


ONCE = CompiledOnce()


def _ec2021_eu(table: ir.Table) -> ir.Table:
    return dep.ec2021(table, 2022, group="EU", members=["DEU", "FRA"])


def _geodep_2022(table: ir.Table) -> ir.Table:
    return dep.geodep(table, 2022)


def flags(world: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """geodep 2022 and ec2021 2022 (EU = DEU, FRA) on ``world``, sorted, argmax names dropped."""
    ONCE.load(world=world)
    geodep = ONCE.query(_geodep_2022).drop(columns="top_supplier")
    ec = ONCE.query(_ec2021_eu)
    return {
        "geodep": geodep.sort_values(["importer", "product"]).reset_index(drop=True),
        "ec2021": ec.drop(columns="top_supplier").sort_values("product").reset_index(drop=True),
    }


@FAST
@given(world=worlds())
def test_dependency_flags_follow_the_criteria(world: pd.DataFrame) -> None:
    results = flags(world)
    geodep = results["geodep"]
    assert (geodep["years_met"] <= geodep["years_observed"]).all()
    assert (geodep["years_observed"] <= 3).all()
    assert (geodep["dependent"] == (geodep["years_met"] >= 2)).all()
    current = geodep[geodep["hhi"].notna()]
    assert (current["crit_import_hhi"] == (current["hhi"] > 0.4)).all()
    assert (current["crit_import_export_ratio"] == (current["import_export_ratio"] > 1)).all()
    ec = results["ec2021"]
    assert ((ec["extra_share"] > 0) & (ec["extra_share"] <= 1)).all()
    criteria = ec["crit_import_hhi"] & ec["crit_extra_share"] & ec["crit_import_export_ratio"]
    assert (ec["dependent"] == criteria).all()


@FAST
@given(world=worlds(), data=st.data())
def test_dependency_flags_do_not_depend_on_row_order(
    world: pd.DataFrame, data: st.DataObject
) -> None:
    order = data.draw(st.permutations(range(len(world))))
    shuffled = flags(world.iloc[list(order)].reset_index(drop=True))
    for method, expected in flags(world).items():
        pd.testing.assert_frame_equal(shuffled[method], expected, check_exact=True)


@FAST
@given(world=worlds(), factor=st.sampled_from([2.0**-20, 0.5, 4.0, 2.0**30]) | st.floats(1e-3, 1e3))
def test_dependency_flags_are_invariant_to_scaling(world: pd.DataFrame, factor: float) -> None:
    # A power of two scales exactly: every metric and flag must be bit for bit the same. Other
    # factors round, so a metric sitting on a threshold (M = X, extra = intra) may cross it:
    # then the metrics are compared within 1e-9 and the flags left to the exact case.
    exact = math.frexp(factor)[0] == 0.5
    scaled = flags(world.assign(value_usd=world["value_usd"] * factor))
    dollars = ["import_value_usd", "exports_usd", "intra_imports_usd"]
    for method, base in flags(world).items():
        expected = base.assign(**{c: base[c] * factor for c in dollars if c in base.columns})
        result = scaled[method]
        if not exact:
            decided = [c for c in base.columns if c.startswith("crit_")]
            decided += ["years_met", "dependent"]
            expected, result = (
                expected.drop(columns=decided, errors="ignore"),
                result.drop(columns=decided, errors="ignore"),
            )
        pd.testing.assert_frame_equal(result, expected, check_exact=exact, rtol=1e-9)


def test_trend_counts_a_product_the_importer_exports_more_of_as_not_dependent() -> None:
    from chokepoints.analysis.trend import supplier_trend

    # JPN buys p1 and p2 from CHN 90 / USA 10 (import and world HHI .82). It also sells 1,000
    # of p1 to KOR: imports/exports 100/1,000 = 0.1 < 1, so only p2 is a dependency on CHN.
    flows = flows_frame(
        each_year(
            [2022],
            [*concentrated("JPN", "p1"), *concentrated("JPN", "p2"), ("JPN", "KOR", "p1", 1000.0)],
        )
    )
    rows = run(
        supplier_trend(
            ibis.memtable(flows), importer="JPN", supplier="CHN", supplier_members=["CHN"]
        )
    )
    row = rows.iloc[0]
    assert (row["n_dependent"], row["n_dependent_on_supplier"]) == (1, 1)
    assert row["imports_usd"] == pytest.approx(200.0)  # its exports are not imports
    assert row["n_products"] == 2
