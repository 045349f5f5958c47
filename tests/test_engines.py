"""The same Ibis analyses on DuckDB and on Spark (PySpark, local mode) give the same numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ibis
import pandas as pd
import pytest

from chokepoints import engine
from chokepoints.analysis import concentration, dependency, scenario, stress, trend
from chokepoints.store import Store
from helpers import require_spark

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def demo_store(demo_home: Path) -> Store:
    """The session's demo store (read only)."""
    return Store(demo_home)


@pytest.fixture(scope="module")
def engines(demo_store: Store) -> tuple[ibis.BaseBackend, ibis.BaseBackend]:
    """(DuckDB backend, Spark backend) over the same store. The Spark session stays up for
    the worker's next Spark tests: starting one costs seconds."""
    require_spark("Spark parity tests")
    return engine.connect(demo_store, "duckdb"), engine.connect(demo_store, "pyspark")


@pytest.fixture(scope="module")
def flows(engines) -> Iterator[tuple[ibis.Table, ibis.Table]]:
    """The demo flows selected by each engine. Spark keeps its selection in memory for the
    module: every analysis below starts from it, and merging the reporter sides (a join and an
    aggregation over every row) would otherwise run again for each."""
    duck, spark = (
        concentration.select_flows(con.table("trade"), source="demo", classification="HS17")
        for con in engines
    )
    cached = spark.cache()
    yield duck, cached
    cached.release()


def _same(duck: pd.DataFrame, spark: pd.DataFrame, keys: list[str]) -> None:
    """Equal frames up to row order and float rounding."""
    assert len(duck) == len(spark) > 0
    duck = duck.sort_values(keys).reset_index(drop=True)
    spark = spark.sort_values(keys).reset_index(drop=True)[list(duck.columns)]
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False, rtol=1e-9, atol=1e-12)


ANALYSES = {
    "import_concentration": (
        lambda f: concentration.import_concentration(f, focus={"CHN": ["CHN"]}),
        ["year", "importer", "product"],
    ),
    "world_exports": (concentration.world_exports, ["year", "product"]),
    "trade_balance": (concentration.trade_balance, ["year", "country", "product"]),
    "export_dependence": (concentration.export_dependence, ["year", "exporter", "product"]),
    "coverage": (concentration.coverage, ["year"]),
    "geodep": (lambda f: dependency.geodep(f, 2022), ["importer", "product"]),
    "ec2021": (
        lambda f: dependency.ec2021(f, 2022, group="EU", members=["DEU", "FRA", "ITA", "NLD"]),
        ["product"],
    ),
    "group_geodep": (
        lambda f: dependency.geodep(
            f, 2022, importer_flows=concentration.as_group(f, "EU", ["DEU", "FRA", "ITA", "NLD"])
        ),
        ["importer", "product"],
    ),
    "stress": (
        lambda f: stress.stress_test(
            f,
            2022,
            ibis.memtable(
                {
                    "product": ["850511", "284690", "850760"],
                    "sector": ["magnets", "magnets", "batteries"],
                }
            ),
        ),
        ["importer", "sector", "supplier"],
    ),
    "direct_impact": (
        lambda f: scenario.direct_impact(
            f,
            2022,
            scenario.ResolvedShock("CHN", ("CHN",), ("850511", "284690"), None, 0.8),
        ),
        ["importer", "product"],
    ),
    "trend": (
        lambda f: trend.supplier_trend(f, importer="JPN", supplier="CHN", supplier_members=["CHN"]),
        ["year"],
    ),
}


def test_country_coverage_agrees(engines) -> None:
    duck, spark = engines
    keys = ["source", "classification", "level", "year", "country"]
    _same(
        concentration.country_coverage(duck.table("trade")).to_pandas(),
        concentration.country_coverage(spark.table("trade")).to_pandas(),
        keys,
    )


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_duckdb_and_spark_agree(flows, name: str) -> None:
    build, keys = ANALYSES[name]
    duck, spark = flows
    _same(build(duck).to_pandas(), build(spark).to_pandas(), keys)
