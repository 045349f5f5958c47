"""Cooperation between partners: hand-built worlds with answers derived in the comments.

Expected values come from the arithmetic below, never from running the code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ibis
import pandas as pd
import pytest

from chokepoints import engine
from chokepoints.analysis import cooperation as coop
from chokepoints.errors import InputError
from chokepoints.store import Store
from helpers import require_spark
from oracle import flows_frame

M, R, W = "850511", "847950", "100190"  # magnets, robots, wheat

#: 2022. Magnets M: JPN buys CHN 80, USA 15, AUS 5 (HHI .64 + .0225 + .0025 = .665, CHN .8);
#: DEU buys CHN 90, JPN 10 (HHI .81 + .01 = .82, CHN .9); FRA buys CHN 50, USA 50 (HHI .5,
#: CHN .5, not above .5). Robots R: DEU sells USA 300 and FRA 100; JPN buys CHN 900, KOR 100
#: (HHI .82, CHN .9). Wheat W: DEU sells FRA 100, USA sells FRA 900, CHN sells JPN 100.
#: World exports: M 300, R 1400, W 1100, all 2800. DEU exports R 400 + W 100 = 500, so
#: RCA(DEU, R) = (400/500) / (1400/2800) = 1.6, world share 400/1400 = 2/7, and
#: RCA(DEU, W) = (100/500) / (1100/2800) = 0.509 < 1. JPN exports only M 10:
#: RCA(JPN, M) = 1 / (300/2800) = 28/3, world share 10/300 = 1/30.
#: 2021: one flow CHN -> JPN 5 of R, to check that years never mix.
WORLD = flows_frame(
    [
        (2022, "CHN", "JPN", M, 80.0, None),
        (2022, "USA", "JPN", M, 15.0, None),
        (2022, "AUS", "JPN", M, 5.0, None),
        (2022, "CHN", "DEU", M, 90.0, None),
        (2022, "JPN", "DEU", M, 10.0, None),
        (2022, "CHN", "FRA", M, 50.0, None),
        (2022, "USA", "FRA", M, 50.0, None),
        (2022, "DEU", "USA", R, 300.0, None),
        (2022, "DEU", "FRA", R, 100.0, None),
        (2022, "CHN", "JPN", R, 900.0, None),
        (2022, "KOR", "JPN", R, 100.0, None),
        (2022, "DEU", "FRA", W, 100.0, None),
        (2022, "USA", "FRA", W, 900.0, None),
        (2022, "CHN", "JPN", W, 100.0, None),
        (2021, "CHN", "JPN", R, 5.0, None),
    ]
)
PAIR = ["JPN", "DEU"]
SECTORS = {M: "magnets", R: "robotics", W: "food"}


@pytest.fixture
def flows() -> ibis.Table:
    """The hand-built world as an Ibis table on DuckDB."""
    return ibis.memtable(WORLD)


def records(expr: ibis.Table, *key: str) -> dict[object, dict]:
    """The rows of ``expr`` as dicts keyed by ``key`` (a tuple when several)."""
    rows = expr.to_pandas().to_dict("records")
    if len(key) == 1:
        return {row[key[0]]: row for row in rows}
    return {tuple(row[k] for k in key): row for row in rows}


def test_shared_chokepoint_when_both_buy_mostly_from_china(flows: ibis.Table) -> None:
    # M: JPN (.665, CHN .8) and DEU (.82, CHN .9) both depend on CHN. R: DEU buys none.
    rows = records(coop.shared_chokepoints(flows, PAIR, 2022), "product", "partner")
    assert set(rows) == {(M, "JPN"), (M, "DEU")}
    assert rows[(M, "JPN")]["supplier"] == "CHN"
    assert rows[(M, "JPN")]["imports_usd"] == pytest.approx(100.0)
    assert rows[(M, "JPN")]["hhi"] == pytest.approx(0.665)
    assert rows[(M, "JPN")]["supplier_share"] == pytest.approx(0.8)
    assert rows[(M, "DEU")]["hhi"] == pytest.approx(0.82)
    assert rows[(M, "DEU")]["supplier_share"] == pytest.approx(0.9)


def test_shared_chokepoint_needs_every_partner(flows: ibis.Table) -> None:
    # FRA's CHN share is exactly .5, not above the .5 threshold; at .4 it qualifies (HHI .5).
    assert coop.shared_chokepoints(flows, [*PAIR, "FRA"], 2022).to_pandas().empty
    loose = coop.shared_chokepoints(flows, [*PAIR, "FRA"], 2022, share_threshold=0.4)
    assert set(loose.to_pandas()["partner"]) == {"JPN", "DEU", "FRA"}
    # An HHI threshold of .7 drops JPN (.665), so M is no longer shared.
    assert coop.shared_chokepoints(flows, PAIR, 2022, hhi_threshold=0.7).to_pandas().empty


def test_shared_chokepoints_wide(flows: ibis.Table) -> None:
    wide = records(
        coop.shared_chokepoints_wide(coop.shared_chokepoints(flows, PAIR, 2022), PAIR), "product"
    )
    row = wide[M]
    assert row["supplier"] == "CHN"
    assert row["total_imports_usd"] == pytest.approx(200.0)
    assert row["hhi_JPN"] == pytest.approx(0.665)
    assert row["supplier_share_DEU"] == pytest.approx(0.9)
    assert row["imports_usd_DEU"] == pytest.approx(100.0)


def test_complementarity_known_answer(flows: ibis.Table) -> None:
    # DEU sells R (RCA 1.6) while JPN depends on CHN for it: 400 / 1000 coverable.
    # JPN sells M (RCA 28/3) while DEU depends on CHN for it: 10 / 100 coverable.
    rows = records(
        coop.complementarity(flows, PAIR, 2022), "product", "exporter_partner", "importer_partner"
    )
    assert set(rows) == {(R, "DEU", "JPN"), (M, "JPN", "DEU")}
    robots = rows[(R, "DEU", "JPN")]
    assert robots["rca"] == pytest.approx(1.6)
    assert robots["world_share"] == pytest.approx(2 / 7)
    assert robots["exports_usd"] == pytest.approx(400.0)
    assert robots["imports_usd"] == pytest.approx(1000.0)
    assert robots["top_supplier"] == "CHN"
    assert robots["top_supplier_share"] == pytest.approx(0.9)
    assert robots["coverable_share"] == pytest.approx(0.4)
    magnets = rows[(M, "JPN", "DEU")]
    assert magnets["rca"] == pytest.approx(28 / 3)
    assert magnets["world_share"] == pytest.approx(1 / 30)
    assert magnets["coverable_share"] == pytest.approx(0.1)


def test_complementarity_for_some_products_keeps_the_rca_of_all_flows(
    flows: ibis.Table,
) -> None:
    # Narrowing to R must not change DEU's RCA on R (1.6, against all its exports) nor drop
    # the pair; M's pair is left out.
    rows = records(
        coop.complementarity(flows, PAIR, 2022, products=[R]),
        "product",
        "exporter_partner",
        "importer_partner",
    )
    assert set(rows) == {(R, "DEU", "JPN")}
    assert rows[(R, "DEU", "JPN")]["rca"] == pytest.approx(1.6)
    assert rows[(R, "DEU", "JPN")]["world_share"] == pytest.approx(2 / 7)


def test_complementarity_caps_coverable_share_at_one(flows: ibis.Table) -> None:
    # Cut JPN's robot imports to CHN 90 + KOR 10 = 100: DEU's 400 covers them 4 times, capped at 1.
    small = WORLD.copy()
    small.loc[(small["product"] == R) & (small["importer"] == "JPN"), "value_usd"] /= 10
    rows = records(coop.complementarity(ibis.memtable(small), PAIR, 2022), "product")
    assert rows[R]["coverable_share"] == pytest.approx(1.0)


def test_complementarity_only_for_risky_suppliers(flows: ibis.Table) -> None:
    assert len(coop.complementarity(flows, PAIR, 2022, risky_suppliers=["CHN"]).to_pandas()) == 2
    assert coop.complementarity(flows, PAIR, 2022, risky_suppliers=["RUS"]).to_pandas().empty
    # An RCA threshold of 2 keeps JPN (28/3) and drops DEU (1.6).
    strict = coop.complementarity(flows, PAIR, 2022, rca_threshold=2.0).to_pandas()
    assert list(strict["exporter_partner"]) == ["JPN"]


def test_best_practice_picks_lower_hhi_partner(flows: ibis.Table) -> None:
    # M is the only product both import: JPN .665 < DEU .82, so JPN is best; gap .155.
    rows = records(coop.best_practice(flows, PAIR, 2022), "product", "partner")
    assert set(rows) == {(M, "JPN"), (M, "DEU")}
    jpn, deu = rows[(M, "JPN")], rows[(M, "DEU")]
    assert jpn["is_best"] and not deu["is_best"]
    assert deu["best_partner"] == "JPN"
    assert deu["best_hhi"] == pytest.approx(0.665)
    assert deu["hhi_gap"] == pytest.approx(0.155)
    assert jpn["hhi_gap"] == pytest.approx(0.0)
    assert (jpn["supplier_1"], jpn["share_1"]) == ("CHN", pytest.approx(0.8))
    assert (jpn["supplier_3"], jpn["share_3"]) == ("AUS", pytest.approx(0.05))
    assert jpn["top_suppliers"] == "CHN 80%, USA 15%, AUS 5%"
    assert deu["top_suppliers"] == "CHN 90%, JPN 10%"
    assert pd.isna(deu["supplier_3"])


def test_best_practice_with_three_partners(flows: ibis.Table) -> None:
    # FRA (CHN 50, USA 50: HHI .5) beats JPN (.665) and DEU (.82); ties broken by code.
    rows = records(coop.best_practice(flows, [*PAIR, "FRA"], 2022), "partner")
    assert {row["best_partner"] for row in rows.values()} == {"FRA"}
    assert rows["FRA"]["top_suppliers"] == "CHN 50%, USA 50%"
    assert rows["DEU"]["hhi_gap"] == pytest.approx(0.32)


def test_joint_diversification_known_answer(flows: ibis.Table) -> None:
    # Trusted USA, KOR, AUS; CHN excluded; half of trusted exports to non-partners redirectable.
    # M: pooled 100 + 100, CHN 80 + 90 = 170; trusted to others: USA -> FRA 50, capacity 25.
    # R: pooled 1000, CHN 900; KOR sells only to JPN (a partner): capacity 0.
    # W: pooled 100, all CHN; USA -> FRA 900: capacity 450 >= 100, ratio 4.5.
    table = coop.joint_diversification(
        flows, PAIR, 2022, trusted=["USA", "KOR", "AUS"], exclude=["CHN"]
    )
    rows = records(table, "product")
    assert rows[M]["pooled_imports_usd"] == pytest.approx(200.0)
    assert rows[M]["risky_imports_usd"] == pytest.approx(170.0)
    assert rows[M]["trusted_exports_usd"] == pytest.approx(50.0)
    assert rows[M]["trusted_capacity_usd"] == pytest.approx(25.0)
    assert not rows[M]["covered"]
    assert rows[M]["coverage_ratio"] == pytest.approx(25 / 170)
    assert rows[R]["risky_imports_usd"] == pytest.approx(900.0)
    assert rows[R]["trusted_capacity_usd"] == pytest.approx(0.0)
    assert not rows[R]["covered"]
    assert rows[W]["covered"]
    assert rows[W]["coverage_ratio"] == pytest.approx(4.5)


def test_joint_diversification_redirect_fraction_and_default_risk(flows: ibis.Table) -> None:
    # W at 10% redirect: 90 < 100, not covered. Without exclude, risky = not trusted, not a
    # partner: for M that is CHN again (USA, AUS trusted, JPN a partner), 170.
    low = records(
        coop.joint_diversification(
            flows, PAIR, 2022, trusted=["USA"], exclude=["CHN"], redirect_fraction=0.1
        ),
        "product",
    )
    assert not low[W]["covered"]
    assert low[W]["coverage_ratio"] == pytest.approx(0.9)
    default = records(
        coop.joint_diversification(flows, PAIR, 2022, trusted=["USA", "AUS"]), "product"
    )
    assert default[M]["risky_imports_usd"] == pytest.approx(170.0)


def test_joint_diversification_no_risky_imports(flows: ibis.Table) -> None:
    # Excluding RUS, whom nobody buys from: nothing to replace, covered, ratio undefined.
    rows = records(
        coop.joint_diversification(flows, PAIR, 2022, trusted=["USA"], exclude=["RUS"]), "product"
    )
    assert rows[M]["risky_imports_usd"] == 0.0
    assert rows[M]["covered"]
    assert pd.isna(rows[M]["coverage_ratio"])


def test_roll_up_by_sector(flows: ibis.Table) -> None:
    # Complementarity: magnets one pair (10 exported, 100 imported), robotics one (400, 1000).
    rolled = records(
        coop.roll_up_by_sector(coop.complementarity(flows, PAIR, 2022), SECTORS), "sector"
    )
    assert set(rolled) == {"magnets", "robotics"}
    assert rolled["robotics"]["n_products"] == 1
    assert rolled["robotics"]["exports_usd"] == pytest.approx(400.0)
    assert rolled["magnets"]["imports_usd"] == pytest.approx(100.0)
    # Shared chokepoints in long format: one product, two rows, 200 of imports.
    frame = pd.DataFrame({"product": [M, R], "sector": ["critical", "critical"]})
    shared = records(
        coop.roll_up_by_sector(coop.shared_chokepoints(flows, PAIR, 2022), frame), "sector"
    )
    assert shared["critical"]["n_products"] == 1
    assert shared["critical"]["n_rows"] == 2
    assert shared["critical"]["imports_usd"] == pytest.approx(200.0)


@pytest.mark.parametrize("partners", [["JPN"], ["JPN", "JPN"]])
def test_partners_must_be_two_distinct_countries(flows: ibis.Table, partners: list[str]) -> None:
    with pytest.raises(InputError, match="at least two distinct"):
        coop.shared_chokepoints(flows, partners, 2022)


def test_joint_diversification_needs_trusted_suppliers(flows: ibis.Table) -> None:
    with pytest.raises(InputError, match="trusted"):
        coop.joint_diversification(flows, PAIR, 2022, trusted=[])


CASES: dict[str, Callable[[ibis.Table], ibis.Table]] = {
    "shared_chokepoints": lambda t: coop.shared_chokepoints(t, PAIR, 2022),
    "complementarity": lambda t: coop.complementarity(t, PAIR, 2022),
    "best_practice": lambda t: coop.best_practice(t, [*PAIR, "FRA"], 2022),
    "joint_diversification": lambda t: coop.joint_diversification(
        t, PAIR, 2022, trusted=["USA", "KOR", "AUS"], exclude=["CHN"]
    ),
    "roll_up_by_sector": lambda t: coop.roll_up_by_sector(
        coop.complementarity(t, PAIR, 2022), SECTORS
    ),
}


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> ibis.BaseBackend:
    """A PySpark backend (over an empty store); skipped without PySpark or Java, unless in CI."""
    require_spark("Spark parity tests")
    home: Path = tmp_path_factory.mktemp("cooperation_spark")
    return engine.connect(Store(home), "pyspark")  # the worker's Spark stays up for the next


@pytest.mark.spark
@pytest.mark.parametrize("name", sorted(CASES))
def test_duckdb_and_spark_agree(spark: ibis.BaseBackend, name: str) -> None:
    # Rows are ordered by the functions themselves, so the frames compare as they come.
    expr = CASES[name](ibis.memtable(WORLD))
    duck = expr.to_pandas()
    remote = spark.execute(expr)[list(duck.columns)]
    assert len(duck) > 0
    pd.testing.assert_frame_equal(
        duck.reset_index(drop=True), remote.reset_index(drop=True), check_dtype=False
    )
