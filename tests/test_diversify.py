"""Alternative suppliers and the sourcing optimiser: hand-solved cases and brute force.

Expected values come from the arithmetic in the comments, never from running the code.
"""

from __future__ import annotations

import os
import shutil

import ibis
import numpy as np
import pandas as pd
import pytest

from chokepoints.analysis.diversify import alternative_suppliers
from chokepoints.analysis.sourcing import optimise_sourcing
from chokepoints.errors import InputError
from oracle import flows_frame

P, Q = "850511", "271111"


def mix(rows: list[tuple], columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A current mix from (supplier, current_usd, capacity_usd, *extra) tuples."""
    return pd.DataFrame(rows, columns=["supplier", "current_usd", "capacity_usd", *columns])


def by_supplier(plan_mix: pd.DataFrame, column: str) -> dict[str, object]:
    """Supplier -> ``column`` of a plan's mix."""
    return dict(zip(plan_mix["supplier"], plan_mix[column], strict=True))


def test_ample_capacity_gives_equal_shares() -> None:
    # 60/30/10 -> HHI .36 + .09 + .01 = .46; no binding bound -> 1/3 each, HHI 1/3.
    plan = optimise_sourcing(mix([("A", 60.0, 1000.0), ("B", 30.0, 1000.0), ("C", 10.0, 1000.0)]))
    assert plan.feasible and plan.explanation == ""
    assert plan.mix["new_share"].tolist() == pytest.approx([1 / 3] * 3)
    assert plan.mix["new_usd"].sum() == pytest.approx(100.0)
    assert plan.hhi_before == pytest.approx(0.46)
    assert plan.hhi_after == pytest.approx(1 / 3)
    assert plan.mix["binding"].tolist() == ["", "", ""]
    assert plan.hhi_wgi_before is None


def test_capacity_bound_supplier_sits_at_its_bound() -> None:
    # C: 10 + 0.5 * 10 = 15 (share .15) < 1/3, so C is capped; A and B split .85: .425 each.
    plan = optimise_sourcing(mix([("A", 50.0, 100.0), ("B", 40.0, 100.0), ("C", 10.0, 10.0)]))
    shares = by_supplier(plan.mix, "new_share")
    assert shares == pytest.approx({"A": 0.425, "B": 0.425, "C": 0.15})
    assert by_supplier(plan.mix, "binding") == {"A": "", "B": "", "C": "capacity"}
    assert by_supplier(plan.mix, "upper_bound")["C"] == pytest.approx(15.0)
    assert plan.hhi_after == pytest.approx(2 * 0.425**2 + 0.15**2)


def test_max_share_binds_under_governance_weights() -> None:
    # Weights 1, 4, 4: s ∝ 1/w gives A 2/3, B = C = 1/6. With max_share .5: A .5, then
    # lambda / 4 = .25 for B and C. HHI_WGI = .25 * 1 + 2 * .0625 * 4 = .75; HHI = .375.
    # Before: .2/.4/.4 -> HHI .36, HHI_WGI .04 + 2 * .16 * 4 = 1.32.
    current = mix(
        [("A", 20.0, 1000.0, 1.0), ("B", 40.0, 1000.0, 4.0), ("C", 40.0, 1000.0, 4.0)],
        ("wgi_scaled",),
    )
    plan = optimise_sourcing(current, objective="hhi_wgi", max_share=0.5)
    assert by_supplier(plan.mix, "new_share") == pytest.approx({"A": 0.5, "B": 0.25, "C": 0.25})
    assert by_supplier(plan.mix, "binding") == {"A": "max_share", "B": "", "C": ""}
    assert plan.hhi_wgi_before == pytest.approx(1.32)
    assert plan.hhi_wgi_after == pytest.approx(0.75)
    assert plan.hhi_after == pytest.approx(0.375)


def test_max_share_binding_everywhere() -> None:
    # Four suppliers, ample capacity, max_share .25: the only feasible mix is .25 each.
    rows = [("A", 70.0, 1e3), ("B", 20.0, 1e3), ("C", 10.0, 1e3), ("D", 0.0, 1e3)]
    plan = optimise_sourcing(mix(rows), max_share=0.25)
    assert plan.mix["new_share"].tolist() == pytest.approx([0.25] * 4)
    assert set(plan.mix["binding"]) == {"max_share"}


def test_max_change_limits_both_ways() -> None:
    # 80/20, ample capacity, max_change .1: A may fall to .7 at most, B rise to .3 at most.
    plan = optimise_sourcing(mix([("A", 80.0, 1e3), ("B", 20.0, 1e3)]), max_change=0.1)
    assert by_supplier(plan.mix, "new_share") == pytest.approx({"A": 0.7, "B": 0.3})
    assert by_supplier(plan.mix, "binding") == {"A": "max_change", "B": "max_change"}


def test_exclusion_and_replaced_share() -> None:
    # CHN excluded. USA <= 30 + 50 = 80, KOR <= 10 + 20 = 30: KOR .3 (capacity), USA .7.
    # HHI .49 + .09 = .58. Without a trusted column every non-excluded supplier is trusted:
    # CHN's .6 all goes to USA and KOR, so replaced_share = .6 / .6 = 1.
    rows = [("CHN", 60.0, 500.0), ("USA", 30.0, 100.0), ("KOR", 10.0, 40.0)]
    plan = optimise_sourcing(mix(rows), exclude=["CHN"])
    assert by_supplier(plan.mix, "new_share") == pytest.approx({"CHN": 0, "USA": 0.7, "KOR": 0.3})
    assert by_supplier(plan.mix, "binding") == {"CHN": "excluded", "USA": "", "KOR": "capacity"}
    assert plan.hhi_after == pytest.approx(0.58)
    assert plan.replaced_share == pytest.approx(1.0)
    # With KOR untrusted, risky = CHN + KOR (.7 today); trusted USA gains .4: .4 / .7.
    trusted = mix([(*row, row[0] == "USA") for row in rows], ("trusted",))
    plan = optimise_sourcing(trusted, exclude=["CHN"])
    assert plan.replaced_share == pytest.approx(0.4 / 0.7)


def test_infeasible_exclusion_is_explained() -> None:
    # Excluding CHN and RUS leaves USA: 20 + 0.5 * 40 = 40 M USD for 100 M USD of imports.
    rows = [("CHN", 60e6, 500e6), ("RUS", 20e6, 100e6), ("USA", 20e6, 40e6)]
    plan = optimise_sourcing(mix(rows), exclude=["RUS", "CHN"])
    assert not plan.feasible
    assert plan.explanation == (
        "excluding CHN, RUS leaves 40.0 M USD of capacity for 100.0 M USD of imports "
        "(bounded by capacity)"
    )
    assert plan.mix["new_usd"].isna().all()
    assert np.isnan(plan.hhi_after) and np.isnan(plan.replaced_share)
    assert plan.hhi_before == pytest.approx(0.36 + 0.04 + 0.04)


def test_exclusion_against_max_change_is_explained() -> None:
    # CHN has 60 of 100; with max_change .2 it must keep 40, but exclusion allows 0.
    rows = [("CHN", 60e6, 500e6), ("USA", 40e6, 400e6)]
    plan = optimise_sourcing(mix(rows), exclude=["CHN"], max_change=0.2)
    assert not plan.feasible
    assert plan.explanation == (
        "CHN must keep at least 40.0 M USD (max_change) but may supply at most 0 USD (excluded)"
    )


def test_max_share_too_low_is_infeasible() -> None:
    # Three suppliers capped at .3 cover 90 of 100.
    rows = [("A", 70.0, 1e3), ("B", 20.0, 1e3), ("C", 10.0, 1e3)]
    plan = optimise_sourcing(mix(rows), max_share=0.3)
    assert not plan.feasible
    assert plan.explanation == (
        "the bounds leave 90 USD of capacity for 100 USD of imports (bounded by max_share)"
    )


def test_no_imports_is_infeasible_not_an_error() -> None:
    plan = optimise_sourcing(mix([("A", 0.0, 10.0)]))
    assert not plan.feasible
    assert plan.explanation == "there are no current imports to re-source"


def test_scaling_all_values_changes_nothing_but_the_amounts() -> None:
    rows = [("A", 50.0, 100.0), ("B", 40.0, 100.0), ("C", 10.0, 10.0), ("D", 0.0, 30.0)]
    # C excluded, D at capacity .15, A and B .425 each (under max_share .45).
    options = {"max_share": 0.45, "max_change": 0.3, "exclude": ["C"]}
    small = optimise_sourcing(mix(rows), **options)
    big = optimise_sourcing(mix([(s, c * 1e7, k * 1e7) for s, c, k in rows]), **options)
    assert small.feasible and big.feasible
    assert small.mix["new_share"].tolist() == pytest.approx([0.425, 0.425, 0.0, 0.15])
    assert big.mix["new_share"].tolist() == pytest.approx(small.mix["new_share"].tolist())
    assert big.mix["new_usd"].tolist() == pytest.approx((small.mix["new_usd"] * 1e7).tolist())
    assert big.mix["binding"].tolist() == small.mix["binding"].tolist()
    assert big.hhi_after == pytest.approx(small.hhi_after)


def test_bad_input_is_an_input_error() -> None:
    with pytest.raises(InputError, match="capacity_usd"):
        optimise_sourcing(pd.DataFrame({"supplier": ["A"], "current_usd": [1.0]}))
    with pytest.raises(InputError, match="wgi_scaled"):
        optimise_sourcing(mix([("A", 1.0, 1.0)]), objective="hhi_wgi")
    with pytest.raises(InputError, match="B current -1"):
        optimise_sourcing(mix([("A", 1.0, 1.0), ("B", -1.0, 1.0)]))
    with pytest.raises(InputError, match="max_share"):
        optimise_sourcing(mix([("A", 1.0, 1.0)]), max_share=1.5)


def grid_optimum(lower: np.ndarray, upper: np.ndarray, weights: np.ndarray) -> tuple[bool, float]:
    """Whether some 3-supplier mix on the 0.01 grid fits the bounds, and its least objective."""
    steps = np.round(np.arange(101) / 100, 2)
    s1, s2 = np.meshgrid(steps, steps, indexing="ij")
    shares = np.stack([s1, s2, np.round(1 - s1 - s2, 2)], axis=-1)
    fits = ((shares >= lower - 1e-9) & (shares <= upper + 1e-9)).all(axis=-1)
    if not fits.any():
        return False, np.nan
    return True, float((shares**2 * weights).sum(axis=-1)[fits].min())


@pytest.mark.parametrize("objective", ["hhi", "hhi_wgi"])
def test_matches_brute_force_on_random_instances(objective: str) -> None:
    # Values in whole USD with T = 100 and even capacities put every bound on the 0.01 grid,
    # so the grid optimum is within a second-order term (sum of squared 0.01 steps) of the
    # exact one: 3 * 1e-4 for HHI, times the largest weight (9) for HHI_WGI.
    rng = np.random.default_rng(20240501)
    tolerance = 3e-4 if objective == "hhi" else 3e-3
    for _ in range(150):
        cuts = np.sort(rng.integers(0, 101, size=2))
        current = np.diff(np.concatenate([[0], cuts, [100]])).astype(float)
        capacity = 2.0 * rng.integers(0, 40, size=3)
        weights = rng.integers(1, 10, size=3).astype(float)
        max_share = rng.choice([None, 0.35, 0.5, 0.8])
        max_change = rng.choice([None, 0.1, 0.25])
        excluded = ["C"] if rng.random() < 0.2 else []
        current_mix = pd.DataFrame(
            {
                "supplier": ["A", "B", "C"],
                "current_usd": current,
                "capacity_usd": capacity,
                "wgi_scaled": weights,
            }
        )
        plan = optimise_sourcing(
            current_mix,
            objective=objective,
            exclude=excluded,
            max_share=max_share,
            max_change=max_change,
            min_share=0.0,  # the continuous problem the grid solves
        )
        s0 = current / 100
        upper = s0 + 0.5 * capacity / 100
        lower = np.zeros(3)
        if max_share is not None:
            upper = np.minimum(upper, max_share)
        if max_change is not None:
            upper = np.minimum(upper, s0 + max_change)
            lower = np.maximum(lower, s0 - max_change)
        if excluded:
            upper[2] = 0.0
        w = weights if objective == "hhi_wgi" else np.ones(3)
        grid_feasible, grid_best = grid_optimum(lower, upper, w)
        assert plan.feasible == grid_feasible, (current, capacity, max_share, max_change)
        if not grid_feasible:
            assert plan.explanation
            continue
        shares = plan.mix["new_share"].to_numpy()
        assert shares.sum() == pytest.approx(1.0)
        assert (shares >= lower - 1e-9).all() and (shares <= upper + 1e-9).all()
        best = float((shares**2 * w).sum())
        assert best <= grid_best + 1e-9
        assert grid_best - best <= tolerance


#: 2022, product P. CHN sells 60 (6 t) to JPN, 40 (4 t) to FRA, 100 (no quantity) to USA;
#: USA sells 30 (2 t) to JPN and 20 to FRA; DEU 30 (1.5 t) to FRA; JPN 10 to FRA. Product Q:
#: FRA 100 to DEU, USA 50 to KOR. 2021: DEU -> JPN 1000 of P, which must not count.
WORLD = flows_frame(
    [
        (2022, "CHN", "JPN", P, 60.0, 6.0),
        (2022, "CHN", "FRA", P, 40.0, 4.0),
        (2022, "CHN", "USA", P, 100.0, None),
        (2022, "USA", "JPN", P, 30.0, 2.0),
        (2022, "USA", "FRA", P, 20.0, None),
        (2022, "DEU", "FRA", P, 30.0, 1.5),
        (2022, "JPN", "FRA", P, 10.0, None),
        (2022, "FRA", "DEU", Q, 100.0, None),
        (2022, "USA", "KOR", Q, 50.0, None),
        (2021, "DEU", "JPN", P, 1000.0, 1.0),
    ]
)


def test_alternative_suppliers_known_answer() -> None:
    scores = ibis.memtable(pd.DataFrame({"country": ["CHN", "USA"], "wgi_scaled": [7.0, 2.0]}))
    result = alternative_suppliers(
        ibis.memtable(WORLD), "JPN", P, 2022, scores=scores, trusted={"USA", "DEU", "JPN"}
    ).to_pandas()
    # JPN itself is not an alternative supplier; trusted first, then by capacity.
    assert result["exporter"].tolist() == ["DEU", "USA", "CHN"]
    assert result["rank"].tolist() == [1, 2, 3]
    rows = {row["exporter"]: row for row in result.to_dict("records")}
    # Capacity excludes sales to JPN: CHN 40 + 100, USA 20, DEU 30.
    assert {c: rows[c]["capacity_usd"] for c in rows} == {"CHN": 140.0, "USA": 20.0, "DEU": 30.0}
    assert {c: rows[c]["current_imports_usd"] for c in rows} == {"CHN": 60, "USA": 30, "DEU": 0}
    assert rows["CHN"]["current_share"] == pytest.approx(60 / 90)
    assert rows["DEU"]["current_share"] == 0.0
    # World exports of P: 200 + 50 + 30 + 10 = 290.
    assert rows["CHN"]["world_share"] == pytest.approx(200 / 290)
    # RCA: world exports 440, P 290. CHN 200/200, USA 50/100, DEU 30/30.
    assert rows["CHN"]["rca"] == pytest.approx(440 / 290)
    assert rows["USA"]["rca"] == pytest.approx(0.5 * 440 / 290)
    assert rows["DEU"]["rca"] == pytest.approx(440 / 290)
    assert [rows[c]["trusted"] for c in ("CHN", "USA", "DEU")] == [False, True, True]
    assert rows["CHN"]["wgi_scaled"] == 7.0 and pd.isna(rows["DEU"]["wgi_scaled"])
    # Unit values over flows with a quantity: CHN 100 / 10 t, USA 30 / 2, DEU 30 / 1.5.
    uv = {c: rows[c]["unit_value_usd_per_t"] for c in rows}
    assert uv == pytest.approx({"CHN": 10.0, "USA": 15.0, "DEU": 20.0})
    # Against the main supplier, CHN (60 of JPN's 90).
    ratio = {c: rows[c]["unit_value_ratio"] for c in rows}
    assert ratio == pytest.approx({"CHN": 1.0, "USA": 1.5, "DEU": 2.0})


def test_alternative_suppliers_defaults_and_chosen_main_supplier() -> None:
    result = alternative_suppliers(ibis.memtable(WORLD), "JPN", P, 2022, main_supplier="USA")
    rows = {row["exporter"]: row for row in result.to_pandas().to_dict("records")}
    # Nobody trusted: by capacity, CHN 140, DEU 30, USA 20; no scores, null WGI.
    assert result.to_pandas()["exporter"].tolist() == ["CHN", "DEU", "USA"]
    assert not any(rows[c]["trusted"] for c in rows)
    assert all(pd.isna(rows[c]["wgi_scaled"]) for c in rows)
    assert rows["CHN"]["unit_value_ratio"] == pytest.approx(10 / 15)
    assert rows["DEU"]["unit_value_ratio"] == pytest.approx(20 / 15)


@pytest.mark.spark
@pytest.mark.slow
def test_alternative_suppliers_same_on_spark() -> None:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime (Spark needs Java 17)")
    session = pyspark_sql.SparkSession.builder.master("local[1]").getOrCreate()
    spark = ibis.pyspark.connect(session)
    scores = pd.DataFrame({"country": ["CHN", "USA"], "wgi_scaled": [7.0, 2.0]})
    options = {"trusted": {"USA", "DEU"}}
    # Temporary views: managed tables would leave a spark-warehouse folder behind.
    session.createDataFrame(WORLD).createOrReplaceTempView("diversify_world")
    session.createDataFrame(scores).createOrReplaceTempView("diversify_scores")
    on_spark = alternative_suppliers(
        spark.table("diversify_world"),
        "JPN",
        P,
        2022,
        scores=spark.table("diversify_scores"),
        **options,
    ).to_pandas()
    on_duckdb = alternative_suppliers(
        ibis.memtable(WORLD), "JPN", P, 2022, scores=ibis.memtable(scores), **options
    ).to_pandas()
    pd.testing.assert_frame_equal(on_spark, on_duckdb, check_dtype=False)
