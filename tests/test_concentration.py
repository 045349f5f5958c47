"""Concentration metrics: hand-computed known answers and hypothesis properties.

Expected values come from the arithmetic in the comments, never from running the code.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracle
from chokepoints.analysis import concentration as conc
from compiled import CompiledOnce
from oracle import IMPORT_KEY, flows_frame

P, Q = "850511", "271111"  # permanent magnets, liquefied natural gas

#: A small world. 2022, product P: JPN imports 100 (CHN 60, USA 30, DEU 10); FRA imports 100
#: (CHN 40, DEU 30, USA 20, JPN 10). Product Q: USA sells 100 to JPN and 50 to KOR, FRA sells
#: 50 to DEU. 2021: one flow, CHN -> JPN 5 of P, to check that years never mix.
WORLD = flows_frame(
    [
        (2022, "CHN", "JPN", P, 60.0, 6.0),
        (2022, "USA", "JPN", P, 30.0, None),
        (2022, "DEU", "JPN", P, 10.0, 1.0),
        (2022, "CHN", "FRA", P, 40.0, None),
        (2022, "DEU", "FRA", P, 30.0, None),
        (2022, "USA", "FRA", P, 20.0, None),
        (2022, "JPN", "FRA", P, 10.0, None),
        (2022, "USA", "JPN", Q, 100.0, 80.0),
        (2022, "USA", "KOR", Q, 50.0, 40.0),
        (2022, "FRA", "DEU", Q, 50.0, 40.0),
        (2021, "CHN", "JPN", P, 5.0, None),
    ]
)
G7 = ["USA", "JPN", "DEU", "FRA", "GBR", "ITA", "CAN"]


def run(expr: ir.Table) -> pd.DataFrame:
    """Execute ``expr`` on DuckDB."""
    return expr.to_pandas()


def rows_by(frame: pd.DataFrame, *key: str) -> dict[object, dict]:
    """The rows of ``frame`` as dicts, keyed by the value of ``key`` (a tuple if several)."""
    records = frame.to_dict("records")
    if len(key) == 1:
        return {row[key[0]]: row for row in records}
    return {tuple(row[k] for k in key): row for row in records}


def test_supplier_shares_known_answer() -> None:
    shares = rows_by(
        run(conc.supplier_shares(ibis.memtable(WORLD))), "year", "importer", "product", "exporter"
    )
    # JPN, P, 2022: 60/100, 30/100, 10/100.
    assert shares[(2022, "JPN", P, "CHN")]["share"] == pytest.approx(0.6)
    assert shares[(2022, "JPN", P, "USA")]["share"] == pytest.approx(0.3)
    assert shares[(2022, "JPN", P, "DEU")]["share"] == pytest.approx(0.1)
    # FRA, P: 40/100, 30/100, 20/100, 10/100; the 2021 flow is JPN's only one that year: 5/5.
    assert shares[(2022, "FRA", P, "JPN")]["share"] == pytest.approx(0.1)
    assert shares[(2021, "JPN", P, "CHN")]["share"] == pytest.approx(1.0)
    assert shares[(2022, "JPN", P, "USA")]["value_usd"] == 30.0
    assert len(shares) == len(WORLD)


def test_import_concentration_known_answer() -> None:
    result = conc.import_concentration(
        ibis.memtable(WORLD), focus={"CHN": ["CHN"], "G7": G7}, top3=True
    )
    rows = rows_by(run(result), "year", "importer", "product")
    assert len(rows) == 6  # 2022: JPN P, FRA P, JPN Q, KOR Q, DEU Q; 2021: JPN P
    jpn = rows[(2022, "JPN", P)]
    # 100 from 3 suppliers; HHI = .6^2 + .3^2 + .1^2 = .36 + .09 + .01 = .46.
    assert jpn["import_value_usd"] == 100.0
    assert jpn["n_suppliers"] == 3
    assert jpn["hhi"] == pytest.approx(0.46)
    assert (jpn["top_supplier"], jpn["top_supplier_share"]) == ("CHN", pytest.approx(0.6))
    assert jpn["top3_share"] == pytest.approx(1.0)
    assert jpn["share_chn"] == pytest.approx(0.6)
    assert jpn["share_g7"] == pytest.approx(0.4)  # USA 30 + DEU 10
    # Quantities 6 + unknown + 1: the known ones are summed.
    assert jpn["import_quantity_t"] == pytest.approx(7.0)
    fra = rows[(2022, "FRA", P)]
    # HHI = .4^2 + .3^2 + .2^2 + .1^2 = .16 + .09 + .04 + .01 = .30;
    # top 3 = CHN .4 + DEU .3 + USA .2 = .9 (JPN's .1 is the fourth).
    assert fra["n_suppliers"] == 4
    assert fra["hhi"] == pytest.approx(0.30)
    assert (fra["top_supplier"], fra["top_supplier_share"]) == ("CHN", pytest.approx(0.4))
    assert fra["top3_share"] == pytest.approx(0.9)
    assert fra["share_chn"] == pytest.approx(0.4)
    assert fra["share_g7"] == pytest.approx(0.6)  # DEU .3 + USA .2 + JPN .1
    assert pd.isna(fra["import_quantity_t"])  # no quantity known at all
    # One supplier: HHI 1, top-3 share 1, no CHN share (0, not null).
    for key, supplier, value in [
        ((2022, "JPN", Q), "USA", 100.0),
        ((2022, "KOR", Q), "USA", 50.0),
        ((2022, "DEU", Q), "FRA", 50.0),
        ((2021, "JPN", P), "CHN", 5.0),
    ]:
        row = rows[key]
        assert (row["import_value_usd"], row["n_suppliers"], row["hhi"]) == (value, 1, 1.0)
        assert (row["top_supplier"], row["top_supplier_share"]) == (supplier, 1.0)
        assert row["top3_share"] == 1.0
    assert rows[(2022, "KOR", Q)]["share_chn"] == 0.0


def test_import_concentration_without_top3_or_focus() -> None:
    result = run(conc.import_concentration(ibis.memtable(WORLD), top3=False))
    assert "top3_share" not in result.columns
    assert not [c for c in result.columns if c.startswith("share_")]
    # JPN P 2022: .46 as above, whatever the options.
    assert rows_by(result, "year", "importer", "product")[(2022, "JPN", P)]["hhi"] == (
        pytest.approx(0.46)
    )


def test_world_exports_known_answer() -> None:
    rows = rows_by(run(conc.world_exports(ibis.memtable(WORLD))), "year", "product")
    # P 2022: CHN 60+40 = 100, USA 30+20 = 50, DEU 10+30 = 40, JPN 10; world 200.
    # Shares .5, .25, .2, .05: HHI = .25 + .0625 + .04 + .0025 = .355.
    p = rows[(2022, P)]
    assert (p["world_export_value_usd"], p["n_exporters"]) == (200.0, 4)
    assert p["world_export_hhi"] == pytest.approx(0.355)
    assert (p["top_exporter"], p["top_exporter_share"]) == ("CHN", pytest.approx(0.5))
    # Q 2022: USA 150, FRA 50; shares .75, .25: HHI = .5625 + .0625 = .625.
    q = rows[(2022, Q)]
    assert (q["world_export_value_usd"], q["n_exporters"]) == (200.0, 2)
    assert q["world_export_hhi"] == pytest.approx(0.625)
    assert (q["top_exporter"], q["top_exporter_share"]) == ("USA", pytest.approx(0.75))
    # P 2021: CHN alone.
    assert rows[(2021, P)]["world_export_hhi"] == 1.0
    assert len(rows) == 3


def test_exporter_shares_known_answer() -> None:
    rows = rows_by(run(conc.exporter_shares(ibis.memtable(WORLD))), "year", "exporter", "product")
    # World exports of P in 2022 are 200 (see above); of Q 200.
    assert rows[(2022, "CHN", P)]["export_value_usd"] == 100.0
    assert rows[(2022, "CHN", P)]["world_share"] == pytest.approx(0.5)
    assert rows[(2022, "JPN", P)]["world_share"] == pytest.approx(0.05)
    assert rows[(2022, "USA", Q)]["world_share"] == pytest.approx(0.75)
    assert rows[(2021, "CHN", P)]["world_share"] == 1.0
    assert len(rows) == 7  # 2022: CHN/USA/DEU/JPN of P, USA/FRA of Q; 2021: CHN of P


def test_trade_balance_known_answer() -> None:
    rows = rows_by(run(conc.trade_balance(ibis.memtable(WORLD))), "year", "country", "product")
    # 2022 exports by country: CHN 100 (P), USA 50 (P) + 150 (Q) = 200, DEU 40, JPN 10,
    # FRA 50, KOR 0; world X_w = 400, X_wP = 200, X_wQ = 200, so X_wp / X_w = .5 for both.
    expected = {
        # country, product: exports, imports, M/X, RCA = (X_cp / X_c) / .5
        ("CHN", P): (100.0, 0.0, 0.0, 2.0),  # (100/100)/.5
        ("USA", P): (50.0, 0.0, 0.0, 0.5),  # (50/200)/.5
        ("USA", Q): (150.0, 0.0, 0.0, 1.5),  # (150/200)/.5
        ("DEU", P): (40.0, 0.0, 0.0, 2.0),  # (40/40)/.5
        ("DEU", Q): (0.0, 50.0, 9999.0, 0.0),  # no exports of Q: ratio 9999
        ("JPN", P): (10.0, 100.0, 10.0, 2.0),  # M/X = 100/10; RCA (10/10)/.5
        ("JPN", Q): (0.0, 100.0, 9999.0, 0.0),
        ("FRA", P): (0.0, 100.0, 9999.0, 0.0),
        ("FRA", Q): (50.0, 0.0, 0.0, 2.0),  # (50/50)/.5
        ("KOR", Q): (0.0, 50.0, 9999.0, None),  # KOR exports nothing at all: RCA null
    }
    for (country, product), (exports, imports, ratio, rca) in expected.items():
        row = rows[(2022, country, product)]
        assert (row["exports_usd"], row["imports_usd"]) == (exports, imports), country
        assert row["import_export_ratio"] == pytest.approx(ratio), country
        if rca is None:
            assert pd.isna(row["rca"]), country
        else:
            assert row["rca"] == pytest.approx(rca), country
    # 2021: CHN is the only exporter of anything, RCA (5/5)/(5/5) = 1; JPN M/X = 9999.
    assert rows[(2021, "CHN", P)]["rca"] == pytest.approx(1.0)
    assert rows[(2021, "JPN", P)]["import_export_ratio"] == 9999.0
    assert len(rows) == len(expected) + 2


def test_export_dependence_known_answer() -> None:
    result = conc.export_dependence(ibis.memtable(WORLD), focus={"EU": ["DEU", "FRA"]})
    rows = rows_by(run(result), "year", "exporter", "product")
    expected = {
        # exporter, product: value, markets, HHI, top market, its share, EU share, share of
        # the exporter's total exports
        ("CHN", P): (100.0, 2, 0.52, "JPN", 0.6, 0.4, 1.0),  # JPN 60, FRA 40: .36 + .16
        ("USA", P): (50.0, 2, 0.52, "JPN", 0.6, 0.4, 0.25),  # JPN 30, FRA 20; 50 of 200
        ("USA", Q): (150.0, 2, 5 / 9, "JPN", 2 / 3, 0.0, 0.75),  # 100, 50: 4/9 + 1/9
        ("DEU", P): (40.0, 2, 0.625, "FRA", 0.75, 0.75, 1.0),  # JPN 10, FRA 30
        ("JPN", P): (10.0, 1, 1.0, "FRA", 1.0, 1.0, 1.0),
        ("FRA", Q): (50.0, 1, 1.0, "DEU", 1.0, 1.0, 1.0),
    }
    for (exporter, product), values in expected.items():
        row = rows[(2022, exporter, product)]
        value, markets, hhi, top, top_share, eu, of_exports = values
        assert (row["export_value_usd"], row["n_markets"], row["top_market"]) == (
            value,
            markets,
            top,
        )
        assert row["market_hhi"] == pytest.approx(hhi)
        assert row["top_market_share"] == pytest.approx(top_share)
        assert row["share_eu"] == pytest.approx(eu)
        assert row["share_of_exports"] == pytest.approx(of_exports)
    assert len(rows) == len(expected) + 1  # and CHN P in 2021


def test_coverage_known_answer() -> None:
    rows = rows_by(run(conc.coverage(ibis.memtable(WORLD))), "year")
    # 2022: importers JPN FRA KOR DEU (4), exporters CHN USA DEU JPN FRA (5), together 6
    # countries (the five exporters and KOR); 4/6 import.
    assert (rows[2022]["n_importers"], rows[2022]["n_exporters"]) == (4, 5)
    assert rows[2022]["n_countries"] == 6
    assert rows[2022]["importer_share"] == pytest.approx(2 / 3)
    # 2021: CHN -> JPN only.
    assert (rows[2021]["n_importers"], rows[2021]["n_countries"]) == (1, 2)
    assert rows[2021]["importer_share"] == pytest.approx(0.5)


def test_as_group_keeps_extra_group_flows_only() -> None:
    world = flows_frame(
        [
            (2022, "CHN", "DEU", P, 5.0, 1.0),
            (2022, "CHN", "FRA", P, 7.0, None),
            (2022, "FRA", "DEU", P, 100.0, 9.0),  # intra: dropped
            (2022, "DEU", "USA", P, 3.0, None),
            (2022, "FRA", "USA", P, 4.0, 2.0),
            (2022, "USA", "JPN", P, 8.0, None),  # does not touch the group: kept
        ]
    )
    rows = rows_by(
        run(conc.as_group(ibis.memtable(world), "EU", ["DEU", "FRA"])), "exporter", "importer"
    )
    # CHN -> EU = 5 + 7 (quantity 1, the only one known); EU -> USA = 3 + 4 (quantity 2).
    assert set(rows) == {("CHN", "EU"), ("EU", "USA"), ("USA", "JPN")}
    assert (rows[("CHN", "EU")]["value_usd"], rows[("CHN", "EU")]["quantity_t"]) == (12.0, 1.0)
    assert (rows[("EU", "USA")]["value_usd"], rows[("EU", "USA")]["quantity_t"]) == (7.0, 2.0)
    assert rows[("USA", "JPN")]["value_usd"] == 8.0


def test_group_import_concentration_counts_extra_group_suppliers_only() -> None:
    grouped = conc.as_group(ibis.memtable(WORLD), "EU", ["DEU", "FRA"])
    rows = rows_by(run(conc.import_concentration(grouped)), "year", "importer", "product")
    # FRA's imports of P from outside: CHN 40, USA 20, JPN 10 = 70 (DEU's 30 is intra);
    # HHI = (40^2 + 20^2 + 10^2) / 70^2 = 2100 / 4900 = 3/7. DEU's only import (Q, from FRA)
    # is intra, so the group imports no Q.
    eu = rows[(2022, "EU", P)]
    assert (eu["import_value_usd"], eu["n_suppliers"]) == (70.0, 3)
    assert eu["hhi"] == pytest.approx(3 / 7)
    assert (eu["top_supplier"], eu["top_supplier_share"]) == ("CHN", pytest.approx(4 / 7))
    assert (2022, "EU", Q) not in rows
    assert not {key for key in rows if key[1] in {"DEU", "FRA"}}
    # JPN now buys its 10 of P from DEU as from the EU.
    assert rows[(2022, "JPN", P)]["n_suppliers"] == 3


def row(exporter: str, importer: str, side: str, value: float, **other: object) -> dict:
    """One canonical trade row of product P in 2022 from source baci, with overrides."""
    base = {
        "year": 2022,
        "exporter": exporter,
        "importer": importer,
        "product": P,
        "classification": "HS17",
        "level": 6,
        "value_usd": value,
        "quantity_t": None,
        "source": "baci",
        "release": "V1",
        "reporter_side": side,
    }
    return base | other


def test_select_flows_fills_gaps_with_mirror_data() -> None:
    trade = pd.DataFrame(
        [
            row("CHN", "JPN", "importer", 100.0),  # the importer's figure wins ...
            row("CHN", "JPN", "exporter", 90.0),  # ... over the exporter's
            row("USA", "JPN", "exporter", 50.0),  # only the exporter reports: mirror
            row("DEU", "JPN", "reconciled", 20.0),
            row("JPN", "JPN", "importer", 5.0),  # re-import: dropped
            row("CHN", "JPN", "importer", 70.0, product="8505", level=4),  # other level
            row("CHN", "KOR", "importer", 30.0, source="comtrade"),  # other source
            row("CHN", "JPN", "importer", 10.0, year=2021),  # other year
        ]
    ).astype({"year": "int16", "level": "int8", "quantity_t": "float64"})
    result = conc.select_flows(ibis.memtable(trade), source="baci", level=6, years=[2022])
    rows = rows_by(run(result), "exporter", "importer")
    assert {key: r["value_usd"] for key, r in rows.items()} == {
        ("CHN", "JPN"): 100.0,
        ("USA", "JPN"): 50.0,
        ("DEU", "JPN"): 20.0,
    }


def test_select_flows_with_distinct_keys_skips_only_the_merge() -> None:
    # One reconciled row per key (as in BACI): the shortcut must give the same flows, still
    # without re-imports, other levels, sources or years.
    trade = pd.DataFrame(
        [
            row("CHN", "JPN", "reconciled", 100.0),
            row("USA", "JPN", "reconciled", 50.0),
            row("JPN", "JPN", "reconciled", 5.0),
            row("CHN", "JPN", "reconciled", 70.0, product="8505", level=4),
            row("CHN", "KOR", "reconciled", 30.0, source="comtrade"),
            row("CHN", "JPN", "reconciled", 10.0, year=2021),
        ]
    ).astype({"year": "int16", "level": "int8", "quantity_t": "float64"})
    options = {"source": "baci", "level": 6, "years": [2022]}
    merged = run(conc.select_flows(ibis.memtable(trade), **options))
    direct = run(conc.select_flows(ibis.memtable(trade), distinct_keys=True, **options))
    key = ["exporter", "importer"]
    pd.testing.assert_frame_equal(
        direct.sort_values(key).reset_index(drop=True)[merged.columns],
        merged.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    assert sorted(direct["exporter"]) == ["CHN", "USA"]


# -- properties ----------------------------------------------------------------------------

CODES = ("CHN", "USA", "DEU", "FRA", "JPN")
ONCE = CompiledOnce()
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
flow_keys = st.tuples(
    st.sampled_from((2021, 2022)),
    st.sampled_from(CODES),
    st.sampled_from(CODES),
    st.sampled_from((P, Q)),
).filter(lambda key: key[1] != key[2])


@st.composite
def worlds(draw: st.DrawFn, keys: st.SearchStrategy = flow_keys) -> pd.DataFrame:
    """Up to 30 distinct flows with whole-dollar values, whose sums are exact in any order."""
    chosen = draw(st.lists(keys, min_size=1, max_size=30, unique=True))
    values = draw(st.lists(st.integers(1, 10**6), min_size=len(chosen), max_size=len(chosen)))
    quantities = draw(
        st.lists(st.none() | st.integers(0, 1000), min_size=len(chosen), max_size=len(chosen))
    )
    return flows_frame(
        (*key, float(value), quantity)
        for key, value, quantity in zip(chosen, values, quantities, strict=True)
    )


#: Each function with the key of its rows.
FUNCTIONS: list[tuple[Callable[[ir.Table], ir.Table], list[str]]] = [
    (conc.supplier_shares, [*IMPORT_KEY, "exporter"]),
    (
        lambda t: conc.import_concentration(t, focus={"CHN": ["CHN"], "EU": ["DEU", "FRA"]}),
        IMPORT_KEY,
    ),
    (conc.world_exports, ["year", "product"]),
    (conc.exporter_shares, ["year", "exporter", "product"]),
    (conc.trade_balance, ["year", "country", "product"]),
    (
        lambda t: conc.export_dependence(t, focus={"EU": ["DEU", "FRA"]}),
        ["year", "exporter", "product"],
    ),
    (conc.coverage, ["year"]),
]
#: Names picked by argmax: any of the tied partners may come out.
ARGMAX = ["top_supplier", "top_exporter", "top_market"]
#: Columns in US dollars, which scale with the values.
DOLLARS = {
    "value_usd",
    "import_value_usd",
    "world_export_value_usd",
    "export_value_usd",
    "exports_usd",
    "imports_usd",
}


def sorted_rows(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """``frame`` sorted by ``key``, without the argmax columns, with a fresh index."""
    frame = frame.drop(columns=[c for c in ARGMAX if c in frame.columns])
    return frame.sort_values(key).reset_index(drop=True)


def every_function(world: pd.DataFrame) -> list[pd.DataFrame]:
    """Each of ``FUNCTIONS`` on ``world`` (its rows loaded once), as ``sorted_rows``."""
    ONCE.load(world=world)
    return [sorted_rows(ONCE.query(function), key) for function, key in FUNCTIONS]


@FAST
@given(world=worlds())
def test_supplier_shares_sum_to_one(world: pd.DataFrame) -> None:
    ONCE.load(world=world)
    shares = ONCE.query(conc.supplier_shares)
    sums = shares.groupby(IMPORT_KEY)["share"].sum()
    assert sums.tolist() == pytest.approx([1.0] * len(sums), rel=1e-12)
    assert (shares["share"] > 0).all()
    world_shares = ONCE.query(conc.exporter_shares)
    sums = world_shares.groupby(["year", "product"])["world_share"].sum()
    assert sums.tolist() == pytest.approx([1.0] * len(sums), rel=1e-12)


@FAST
@given(world=worlds())
def test_hhi_lies_between_one_over_n_and_one(world: pd.DataFrame) -> None:
    ONCE.load(world=world)
    eps = 1e-12
    imports = ONCE.query(conc.import_concentration)
    assert (imports["hhi"] >= 1 / imports["n_suppliers"] - eps).all()
    assert (imports["hhi"] <= 1 + eps).all()
    assert ((imports["n_suppliers"] > 1) | (imports["hhi"] == 1.0)).all()
    exports = ONCE.query(conc.world_exports)
    assert (exports["world_export_hhi"] >= 1 / exports["n_exporters"] - eps).all()
    assert (exports["world_export_hhi"] <= 1 + eps).all()
    markets = ONCE.query(conc.export_dependence)
    assert (markets["market_hhi"] >= 1 / markets["n_markets"] - eps).all()
    assert (markets["market_hhi"] <= 1 + eps).all()


@FAST
@given(world=worlds())
def test_top_shares_are_ordered(world: pd.DataFrame) -> None:
    ONCE.load(world=world)
    imports = ONCE.query(conc.import_concentration)
    eps = 1e-12
    assert (imports["top3_share"] >= imports["top_supplier_share"] - eps).all()
    assert (imports["top3_share"] <= 1 + eps).all()
    assert (imports["top_supplier_share"] >= 1 / imports["n_suppliers"] - eps).all()
    # HHI <= top share (a weighted mean of shares is at most the largest one).
    assert (imports["hhi"] <= imports["top_supplier_share"] + eps).all()
    # The named top supplier has the largest share (any of the tied ones).
    shares = ONCE.query(conc.supplier_shares)
    named = imports.merge(
        shares, left_on=[*IMPORT_KEY, "top_supplier"], right_on=[*IMPORT_KEY, "exporter"]
    )
    assert len(named) == len(imports)
    assert named["share"].tolist() == pytest.approx(named["top_supplier_share"].tolist())


@FAST
@given(world=worlds())
def test_trade_balance_is_consistent(world: pd.DataFrame) -> None:
    balance = ONCE.run(conc.trade_balance, world)
    # What the world exports of a product it imports.
    totals = balance.groupby(["year", "product"])[["exports_usd", "imports_usd"]].sum()
    assert (totals["exports_usd"] == totals["imports_usd"]).all()
    no_exports = balance["exports_usd"] == 0
    assert (balance.loc[no_exports, "import_export_ratio"] == 9999.0).all()
    # RCA is null exactly for the countries without exports, and for each product the mean of
    # RCA weighted by countries' total exports is 1: sum_c (X_c / X_w) (X_cp / X_c) (X_w / X_wp)
    # = sum_c X_cp / X_wp = 1.
    x_c = balance.groupby(["year", "country"])["exports_usd"].transform("sum")
    x_w = balance.groupby("year")["exports_usd"].transform("sum")
    assert (balance["rca"].isna() == (x_c == 0)).all()
    weighted = (balance["rca"].fillna(0.0) * x_c / x_w).groupby(
        [balance["year"], balance["product"]]
    )
    product_x = balance.groupby(["year", "product"])["exports_usd"].sum()
    means = weighted.sum()[product_x > 0]
    assert means.tolist() == pytest.approx([1.0] * len(means), rel=1e-9)


@FAST
@given(world=worlds(), data=st.data())
def test_results_do_not_depend_on_row_order(world: pd.DataFrame, data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(world))))
    shuffled = every_function(world.iloc[list(order)].reset_index(drop=True))
    for result, expected in zip(shuffled, every_function(world), strict=True):
        pd.testing.assert_frame_equal(result, expected, check_exact=True)


@FAST
@given(world=worlds(), factor=st.sampled_from([2.0**-20, 0.5, 4.0, 2.0**30]) | st.floats(1e-3, 1e3))
def test_results_are_invariant_to_scaling(world: pd.DataFrame, factor: float) -> None:
    # Shares, HHIs, ratios and RCAs do not change, dollar values are multiplied by the factor.
    # Multiplying by a power of two is exact in binary floating point, so then every number
    # must come out bit for bit the same; other factors round, within 1e-9.
    exact = math.frexp(factor)[0] == 0.5
    scaled = every_function(world.assign(value_usd=world["value_usd"] * factor))
    for base, result in zip(every_function(world), scaled, strict=True):
        expected = base.assign(**{c: base[c] * factor for c in DOLLARS & set(base.columns)})
        pd.testing.assert_frame_equal(result, expected, check_exact=exact, rtol=1e-9)


@FAST
@given(world=worlds(), data=st.data())
def test_export_rca_matches_the_oracle_for_chosen_products(
    world: pd.DataFrame, data: st.DataObject
) -> None:
    # The RCA of a few products still divides by each country's exports of every product.
    products = sorted(world["product"].unique())
    chosen = data.draw(st.lists(st.sampled_from(products), min_size=1, unique=True))
    expected = oracle.trade_balance(world)
    expected = expected[expected["product"].isin(chosen) & (expected["exports_usd"] > 0)]
    result = ONCE.run(lambda t: conc.export_rca(t, chosen), world, key=("rca", tuple(chosen)))
    key = ["year", "country", "product"]
    merged = expected.merge(result, on=key, how="outer", suffixes=("", "_got"), indicator=True)
    assert (merged["_merge"] == "both").all()
    assert merged["rca_got"].tolist() == pytest.approx(merged["rca"].tolist(), rel=1e-9)
    assert merged["exports_usd_got"].tolist() == pytest.approx(merged["exports_usd"].tolist())
