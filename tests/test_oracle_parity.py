"""Every Ibis metric, run on DuckDB, against the independent pandas oracle on random worlds.

Worlds are drawn with numpy from fixed seeds: lognormal values (no ties, so the top supplier
is unique, and no metric sits exactly on a threshold), a dominant exporter for some products
(so that some world export HHIs pass 0.4), and flows that come and go between years (so that
geodep's years_met takes every value). Two of the worlds also have zero-valued flows, which
the metrics must ignore. Rows are compared after sorting by their key; floats
within a relative 1e-9.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

import oracle
from chokepoints.analysis import concentration as conc
from chokepoints.analysis import dependency as dep
from compiled import CompiledOnce

COUNTRIES = ["CHN", "USA", "DEU", "FRA", "ITA", "JPN", "KOR", "IND", "BRA", "GBR"]
PRODUCTS = ["850511", "271111", "810110", "280461", "260300", "300490", "854231"]
YEARS = [2019, 2020, 2021, 2022]
EU = ["DEU", "FRA", "ITA"]
SEEDS = range(8)
#: Seeds whose worlds have 5% of zero-valued flows.
WITH_ZEROS = {6, 7}


def random_world(seed: int) -> pd.DataFrame:
    """About 400 flows over 4 years, 10 countries and 7 products, with skewed values."""
    rng = np.random.default_rng(seed)
    keys = pd.MultiIndex.from_product(
        [YEARS, COUNTRIES, COUNTRIES, PRODUCTS], names=oracle.FLOW_KEY
    ).to_frame(index=False)
    keys = keys[keys["exporter"] != keys["importer"]].reset_index(drop=True)
    # A pair trades in a year with probability 0.15: pairs come and go from year to year.
    keys = keys[rng.random(len(keys)) < 0.15].reset_index(drop=True)
    # Half of the products have a dominant exporter selling 20 to 200 times more.
    dominant = {p: rng.choice(COUNTRIES) for p in PRODUCTS if rng.random() < 0.5}
    boost = rng.uniform(20, 200, len(keys))
    is_dominant = keys["exporter"].to_numpy() == keys["product"].map(dominant).to_numpy()
    values = rng.lognormal(mean=10, sigma=2, size=len(keys)) * np.where(is_dominant, boost, 1.0)
    if seed in WITH_ZEROS:
        values[rng.random(len(keys)) < 0.05] = 0.0
    quantities = rng.lognormal(mean=3, sigma=1, size=len(keys))
    quantities[rng.random(len(keys)) < 0.2] = np.nan
    return oracle.flows_frame(
        zip(
            keys["year"],
            keys["exporter"],
            keys["importer"],
            keys["product"],
            values,
            quantities,
            strict=True,
        )
    )


def random_trade(seed: int) -> pd.DataFrame:
    """A canonical trade table around a random world: importer-, exporter-side and reconciled
    rows, flows reported from both sides, self-flows, another level and another source."""
    rng = np.random.default_rng(seed + 1000)
    world = random_world(seed)
    sides = rng.choice(["importer", "exporter", "reconciled"], size=len(world))
    trade = world.assign(reporter_side=sides, level=6, source="baci")
    both_sides = trade[rng.random(len(trade)) < 0.3].assign(
        reporter_side="exporter", value_usd=lambda t: t["value_usd"] * 1.1
    )
    self_flows = trade.head(5).assign(importer=lambda t: t["exporter"])
    level4 = trade.head(5).assign(product=lambda t: t["product"].str[:4], level=4)
    comtrade = trade.sample(20, random_state=seed).assign(source="comtrade")
    trade = pd.concat([trade, both_sides, self_flows, level4, comtrade], ignore_index=True)
    return trade.assign(classification="HS17", release="V1").astype({"level": "int8"})


def normalised(values: pd.Series) -> list[object]:
    """A column as a plain list with every kind of null as None."""
    return [None if pd.isna(v) else v for v in values.tolist()]


def assert_same_rows(actual: pd.DataFrame, expected: pd.DataFrame, key: list[str]) -> None:
    """Same columns, same number of rows, and row by row after sorting by ``key``: floats
    within a relative 1e-9 (nulls equal), anything else equal."""
    assert sorted(actual.columns) == sorted(expected.columns)
    assert len(actual) == len(expected)
    assert not expected.duplicated(key).any()
    actual = actual.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    for column in expected.columns:
        if pd.api.types.is_float_dtype(expected[column]):
            got = actual[column].astype("float64").tolist()
            want = expected[column].tolist()
            assert got == pytest.approx(want, rel=1e-9, nan_ok=True), column
        else:
            assert normalised(actual[column]) == normalised(expected[column]), column


FOCUS = {"CHN": ["CHN"], "EU": EU}

#: Name, Ibis function, oracle function, key of the rows.
CASES: list[tuple[str, Callable[[ir.Table], ir.Table], Callable, list[str]]] = [
    (
        "supplier_shares",
        conc.supplier_shares,
        oracle.supplier_shares,
        [*oracle.IMPORT_KEY, "exporter"],
    ),
    (
        "import_concentration",
        lambda t: conc.import_concentration(t, focus=FOCUS),
        lambda f: oracle.import_concentration(f, focus=FOCUS),
        oracle.IMPORT_KEY,
    ),
    (
        "import_concentration_no_top3",
        lambda t: conc.import_concentration(t, top3=False),
        lambda f: oracle.import_concentration(f, top3=False),
        oracle.IMPORT_KEY,
    ),
    ("world_exports", conc.world_exports, oracle.world_exports, ["year", "product"]),
    ("exporter_shares", conc.exporter_shares, oracle.exporter_shares, oracle.EXPORT_KEY),
    ("trade_balance", conc.trade_balance, oracle.trade_balance, ["year", "country", "product"]),
    (
        "export_dependence",
        lambda t: conc.export_dependence(t, focus=FOCUS),
        lambda f: oracle.export_dependence(f, focus=FOCUS),
        oracle.EXPORT_KEY,
    ),
    ("coverage", conc.coverage, oracle.coverage, ["year"]),
    (
        "as_group",
        lambda t: conc.as_group(t, "EU27", EU),
        lambda f: oracle.as_group(f, "EU27", EU),
        oracle.FLOW_KEY,
    ),
    (
        "dependency_metrics",
        dep.dependency_metrics,
        oracle.dependency_metrics,
        oracle.IMPORT_KEY,
    ),
    (
        "geodep",
        lambda t: dep.geodep(t, 2022),
        lambda f: oracle.geodep(f, 2022),
        ["importer", "product"],
    ),
    (
        "geodep_2021_no_top3",
        lambda t: dep.geodep(t, 2021, top3=False),
        lambda f: oracle.geodep(f, 2021, top3=False),
        ["importer", "product"],
    ),
    (
        "geodep_group",
        lambda t: dep.geodep(t, 2022, importer_flows=conc.as_group(t, "EU27", EU)),
        lambda f: oracle.geodep(f, 2022, importer_flows=oracle.as_group(f, "EU27", EU)),
        ["importer", "product"],
    ),
    (
        "geodep_params",
        lambda t: dep.geodep(
            t, 2022, params=dep.GeoDep(import_hhi=0.3, world_export_hhi=0.25, min_years=1)
        ),
        lambda f: oracle.geodep(f, 2022, import_hhi=0.3, world_export_hhi=0.25, min_years=1),
        ["importer", "product"],
    ),
    (
        "geodep_one_year_held",
        lambda t: dep.geodep(t, 2022, years_held=1),
        lambda f: oracle.geodep(f, 2022, years_held=1),
        ["importer", "product"],
    ),
    (
        "ec2021",
        lambda t: dep.ec2021(t, 2022, group="EU27", members=EU),
        lambda f: oracle.ec2021(f, 2022, group="EU27", members=EU),
        ["product"],
    ),
    (
        "ec2021_products",
        lambda t: dep.ec2021(
            t,
            2021,
            group="EU27",
            members=EU,
            products=PRODUCTS[:3],
            params=dep.EC2021(import_hhi=0.3),
        ),
        lambda f: oracle.ec2021(
            f, 2021, group="EU27", members=EU, products=PRODUCTS[:3], import_hhi=0.3
        ),
        ["product"],
    ),
]
RULES = [
    "hhi>0.5",
    "top_supplier_share>=0.6",
    "top_supplier!=USA",
    "import_export_ratio>1",
    "crit_world_export_hhi=true",
]


#: Each case's SQL compiled once, run on every seed's world (``compiled``).
ONCE = CompiledOnce()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("name", "ibis_function", "oracle_function", "key"), CASES)
def test_ibis_matches_oracle(
    name: str,
    ibis_function: Callable[[ir.Table], ir.Table],
    oracle_function: Callable[[pd.DataFrame], pd.DataFrame],
    key: list[str],
    seed: int,
) -> None:
    world = random_world(seed)
    actual = ONCE.run(ibis_function, world, key=name)
    assert_same_rows(actual, oracle_function(world), key)


@pytest.mark.parametrize("seed", SEEDS)
def test_custom_matches_oracle(seed: int) -> None:
    world = random_world(seed)
    rules = [dep.Rule.parse(text) for text in RULES]
    metrics = dep.geodep(ibis.memtable(world), 2022)
    actual = dep.custom(metrics, rules).to_pandas()
    expected = oracle.custom(
        oracle.geodep(world, 2022), [(r.metric, r.operator, r.value) for r in rules]
    )
    assert_same_rows(actual, expected, ["importer", "product"])


@pytest.mark.parametrize("seed", SEEDS)
def test_select_flows_matches_oracle(seed: int) -> None:
    trade = random_trade(seed)
    options = {"source": "baci", "classification": "HS17", "level": 6, "years": [2020, 2022]}
    actual = conc.select_flows(ibis.memtable(trade), **options).to_pandas()
    assert_same_rows(actual, oracle.select_flows(trade, **options), oracle.FLOW_KEY)


def test_random_worlds_exercise_every_branch() -> None:
    """The seeds give dependent and independent pairs, every years_met, and every criterion
    both met and failed, so the parity tests above compare something."""
    results = pd.concat([oracle.geodep(random_world(seed), 2022) for seed in SEEDS])
    assert set(results["years_met"]) == {0, 1, 2, 3}
    assert set(results["dependent"]) == {True, False}
    assert results["hhi"].isna().any()  # pairs not imported in 2022
    for column in ("crit_import_hhi", "crit_world_export_hhi", "crit_import_export_ratio"):
        assert set(results[column].dropna()) == {True, False}, column
    ec = pd.concat(
        [oracle.ec2021(random_world(seed), 2022, group="EU27", members=EU) for seed in SEEDS]
    )
    assert set(ec["dependent"]) == {True, False}
    for column in ("crit_import_hhi", "crit_extra_share", "crit_import_export_ratio"):
        assert set(ec[column]) == {True, False}, column
