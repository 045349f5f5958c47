"""Governance-weighted concentration and supply risk: hand-computed worlds, properties, real WGI."""

from __future__ import annotations

from pathlib import Path

import ibis
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chokepoints.analysis.risk import (
    NEUTRAL_SCORE,
    WGI_INDICATORS,
    eu_crm_rescale,
    governance_scores,
    hhi_wgi,
    supply_risk_trade,
)
from chokepoints.errors import ChokepointsError, InputError
from chokepoints.sources.wgi import read_wgi
from chokepoints.workspace import Workspace
from compiled import CompiledOnce

GOVERNANCE_SCHEMA = {"country": "string", "year": "int16", "indicator": "string"}
GOVERNANCE_SCHEMA["estimate"] = "float64"
SHARES_SCHEMA = {
    "year": "int16",
    "importer": "string",
    "product": "string",
    "exporter": "string",
    "value_usd": "float64",
    "share": "float64",
}
WORLD_SCHEMA = {
    "year": "int16",
    "product": "string",
    "exporter": "string",
    "export_value_usd": "float64",
    "world_share": "float64",
}
BALANCE_SCHEMA = {
    "year": "int16",
    "country": "string",
    "product": "string",
    "imports_usd": "float64",
    "exports_usd": "float64",
}
RESTRICTIONS_SCHEMA = {"country": "string", "product": "string", "factor": "float64"}


def governance(rows: list[tuple[str, int, str, float | None]]) -> ibis.Table:
    """A governance table from (country, year, indicator, estimate) rows."""
    return ibis.memtable(
        pd.DataFrame(rows, columns=list(GOVERNANCE_SCHEMA)), schema=GOVERNANCE_SCHEMA
    )


def uniform(country: str, year: int, estimate: float) -> list[tuple[str, int, str, float]]:
    """Six indicator rows with the same estimate."""
    return [(country, year, indicator, estimate) for indicator in WGI_INDICATORS]


SCORES_SCHEMA = {"country": "string", "wgi_scaled": "float64"}


def shares_frame(rows: list[tuple[int, str, str, str, float]]) -> pd.DataFrame:
    """Supplier shares from (year, importer, product, exporter, value) rows, computed here."""
    frame = pd.DataFrame(rows, columns=["year", "importer", "product", "exporter", "value_usd"])
    totals = frame.groupby(["year", "importer", "product"])["value_usd"].transform("sum")
    frame["share"] = frame["value_usd"] / totals
    return frame


def shares_table(rows: list[tuple[int, str, str, str, float]]) -> ibis.Table:
    return ibis.memtable(shares_frame(rows), schema=SHARES_SCHEMA)


def world_frame(rows: list[tuple[int, str, str, float]]) -> pd.DataFrame:
    """World export shares from (year, product, exporter, value) rows."""
    frame = pd.DataFrame(rows, columns=["year", "product", "exporter", "export_value_usd"])
    totals = frame.groupby(["year", "product"])["export_value_usd"].transform("sum")
    frame["world_share"] = frame["export_value_usd"] / totals
    return frame


def world_table(rows: list[tuple[int, str, str, float]]) -> ibis.Table:
    return ibis.memtable(world_frame(rows), schema=WORLD_SCHEMA)


def balance_table(rows: list[tuple[int, str, str, float, float]]) -> ibis.Table:
    return ibis.memtable(pd.DataFrame(rows, columns=list(BALANCE_SCHEMA)), schema=BALANCE_SCHEMA)


def scores_frame(scores: dict[str, float]) -> pd.DataFrame:
    """A scores table with given 0-10 scores (as governance_scores returns them)."""
    return pd.DataFrame({"country": list(scores), "wgi_scaled": list(scores.values())})


def scores_table(scores: dict[str, float]) -> ibis.Table:
    return ibis.memtable(scores_frame(scores), schema=SCORES_SCHEMA)


def by_key(table: ibis.Table, *keys: str) -> pd.DataFrame:
    return table.to_pandas().set_index(list(keys)).sort_index()


# Two suppliers: A with every WGI estimate 0.5, B with -1.0, in 2022.
# Scaled: A = 10 - (0.5 + 2.5) * 2 = 4.0; B = 10 - (-1.0 + 2.5) * 2 = 7.0.
AB_GOVERNANCE = [*uniform("A", 2022, 0.5), *uniform("B", 2022, -1.0)]


# -- governance scores -------------------------------------------------------------------------
def test_scores_mean_and_eu_rescaling() -> None:
    scores = by_key(governance_scores(governance(AB_GOVERNANCE), year=2022), "country")
    assert scores.loc["A", "wgi_mean"] == pytest.approx(0.5)
    assert scores.loc["A", "wgi_scaled"] == pytest.approx(4.0)
    assert scores.loc["B", "wgi_scaled"] == pytest.approx(7.0)
    assert scores["wgi_year"].tolist() == [2022, 2022]
    assert scores["wgi_indicators"].tolist() == [6, 6]


def test_scores_average_available_indicators_and_subsets() -> None:
    rows = [
        ("C", 2022, "va", 1.0),
        ("C", 2022, "pv", -0.5),
        ("C", 2022, "ge", 0.8),
        ("C", 2022, "rq", None),
    ]
    scores = by_key(governance_scores(governance(rows), year=2022), "country")
    # Mean of the three non-null estimates: (1.0 - 0.5 + 0.8) / 3 = 0.4333...
    assert scores.loc["C", "wgi_mean"] == pytest.approx(1.3 / 3)
    assert scores.loc["C", "wgi_indicators"] == 3
    # Only va and pv: mean 0.25 -> 10 - 2.75 * 2 = 4.5.
    subset = by_key(
        governance_scores(governance(rows), year=2022, indicators=("va", "pv")), "country"
    )
    assert subset.loc["C", "wgi_scaled"] == pytest.approx(4.5)
    with pytest.raises(ChokepointsError, match="unknown WGI indicator"):
        governance_scores(governance(rows), year=2022, indicators=("va", "gdp"))


def test_scores_fall_back_to_the_latest_year_with_data() -> None:
    rows = [
        *uniform("D", 2019, 0.0),
        *uniform("D", 2021, -0.5),
        *[("D", 2022, indicator, None) for indicator in WGI_INDICATORS],  # all missing
        *uniform("D", 2023, 2.0),  # after the year asked for
        *uniform("A", 2022, 0.5),
    ]
    scores = by_key(governance_scores(governance(rows), year=2022), "country")
    # D: 2022 has no estimate and 2023 is too late, so 2021: 10 - (-0.5 + 2.5) * 2 = 6.0.
    assert scores.loc["D", "wgi_year"] == 2021
    assert scores.loc["D", "wgi_scaled"] == pytest.approx(6.0)
    assert scores.loc["A", "wgi_year"] == 2022
    # In 2020 only D has data (2019): 10 - 2.5 * 2 = 5.0.
    early = by_key(governance_scores(governance(rows), year=2020), "country")
    assert early.index.tolist() == ["D"]
    assert early.loc["D", "wgi_scaled"] == pytest.approx(5.0)


def test_rescaling_is_clipped_and_replaceable() -> None:
    rows = [*uniform("E", 2022, -2.8), *uniform("F", 2022, 2.6)]
    scores = by_key(governance_scores(governance(rows), year=2022), "country")
    # E: 10 - (-0.3) * 2 = 10.6 -> 10; F: 10 - 5.1 * 2 = -0.2 -> 0.
    assert scores.loc["E", "wgi_scaled"] == 10.0
    assert scores.loc["F", "wgi_scaled"] == 0.0
    # A rescaling of one's own: the percentage of the -2.5..2.5 range below the estimate.
    custom = governance_scores(
        governance(AB_GOVERNANCE), year=2022, rescale=lambda mean: (2.5 - mean) / 5 * 100
    )
    assert by_key(custom, "country")["wgi_scaled"].tolist() == pytest.approx([40.0, 70.0])
    one = ibis.memtable({"m": [0.0]})
    assert one.select(s=eu_crm_rescale(one.m)).to_pandas()["s"].iloc[0] == 5.0


# -- HHI_WGI -----------------------------------------------------------------------------------
def ab_shares() -> ibis.Table:
    # JPN imports P: A 60, B 40 (shares 0.6, 0.4); Q: A 50, B 50.
    return shares_table(
        [
            (2022, "JPN", "P", "A", 60.0),
            (2022, "JPN", "P", "B", 40.0),
            (2022, "JPN", "Q", "A", 50.0),
            (2022, "JPN", "Q", "B", 50.0),
        ]
    )


def test_hhi_wgi_two_suppliers() -> None:
    scores = governance_scores(governance(AB_GOVERNANCE), year=2022)
    result = by_key(hhi_wgi(ab_shares(), scores), "importer", "product")
    # P: 0.36 * 4.0 + 0.16 * 7.0 = 1.44 + 1.12 = 2.56; HHI = 0.36 + 0.16 = 0.52.
    assert result.loc[("JPN", "P"), "hhi_wgi"] == pytest.approx(2.56)
    assert result.loc[("JPN", "P"), "hhi"] == pytest.approx(0.52)
    # Q: 0.25 * 4.0 + 0.25 * 7.0 = 2.75.
    assert result.loc[("JPN", "Q"), "hhi_wgi"] == pytest.approx(2.75)
    assert result["scored_share"].tolist() == pytest.approx([1.0, 1.0])
    assert result["suppliers"].tolist() == [2, 2]


def restrictions(rows: list[tuple[str, str | None, float]]) -> ibis.Table:
    return ibis.memtable(
        pd.DataFrame(rows, columns=list(RESTRICTIONS_SCHEMA)), schema=RESTRICTIONS_SCHEMA
    )


def test_restriction_factors() -> None:
    scores = governance_scores(governance(AB_GOVERNANCE), year=2022)
    # A restricts P only (1.5); B restricts everything (2.0).
    rules = restrictions([("A", "P", 1.5), ("B", None, 2.0)])
    result = by_key(hhi_wgi(ab_shares(), scores, restrictions=rules), "product")
    # P: 0.36 * 4 * 1.5 + 0.16 * 7 * 2 = 2.16 + 2.24 = 4.40.
    assert result.loc["P", "hhi_wgi"] == pytest.approx(4.40)
    # Q: A unrestricted; 0.25 * 4 + 0.25 * 7 * 2 = 1 + 3.5 = 4.5.
    assert result.loc["Q", "hhi_wgi"] == pytest.approx(4.5)
    # A product-specific factor wins over the country-wide one: B on Q at 1.25.
    rules = restrictions([("B", None, 2.0), ("B", "Q", 1.25)])
    result = by_key(hhi_wgi(ab_shares(), scores, restrictions=rules), "product")
    # Q: 0.25 * 4 + 0.25 * 7 * 1.25 = 1 + 2.1875 = 3.1875; P: 1.44 + 0.16 * 7 * 2 = 3.68.
    assert result.loc["Q", "hhi_wgi"] == pytest.approx(3.1875)
    assert result.loc["P", "hhi_wgi"] == pytest.approx(3.68)
    # The plain HHI does not change with restrictions.
    assert result.loc["P", "hhi"] == pytest.approx(0.52)


def test_bad_restrictions_are_refused() -> None:
    scores = scores_table({"A": 4.0})
    with pytest.raises(InputError, match="factors must be numbers >= 1"):
        hhi_wgi(ab_shares(), scores, restrictions=restrictions([("A", "P", 0.5)]))
    with pytest.raises(InputError, match="more than one restriction factor"):
        hhi_wgi(
            ab_shares(),
            scores,
            restrictions=restrictions([("A", None, 1.5), ("A", None, 2.0)]),
        )
    with pytest.raises(InputError, match="lacks column"):
        hhi_wgi(ab_shares(), scores, restrictions=ibis.memtable({"country": ["A"]}))


def test_suppliers_without_a_score() -> None:
    # JPN imports P: A 60, B 30, Z 10; Z has no WGI score.
    shares = shares_table(
        [
            (2022, "JPN", "P", "A", 60.0),
            (2022, "JPN", "P", "B", 30.0),
            (2022, "JPN", "P", "Z", 10.0),
        ]
    )
    scores = scores_table({"A": 4.0, "B": 7.0})
    # Default: the neutral 5.0. 0.36 * 4 + 0.09 * 7 + 0.01 * 5 = 1.44 + 0.63 + 0.05 = 2.12.
    default = hhi_wgi(shares, scores).to_pandas().iloc[0]
    assert NEUTRAL_SCORE == 5.0
    assert default["hhi_wgi"] == pytest.approx(2.12)
    assert default["scored_share"] == pytest.approx(0.9)
    assert default["suppliers"] == 3
    # "worst": the highest observed score (7.0): 1.44 + 0.63 + 0.07 = 2.14.
    worst = hhi_wgi(shares, scores, missing_score="worst").to_pandas().iloc[0]
    assert worst["hhi_wgi"] == pytest.approx(2.14)
    # A number: 10 -> 1.44 + 0.63 + 0.10 = 2.17.
    assert hhi_wgi(shares, scores, missing_score=10).to_pandas()["hhi_wgi"].iloc[0] == (
        pytest.approx(2.17)
    )
    for bad in ("median", 11.0, -1):
        with pytest.raises(ChokepointsError, match="missing_score"):
            hhi_wgi(shares, scores, missing_score=bad)


def test_scores_by_year_match_each_year() -> None:
    rows = [*uniform("A", 2021, -0.5), *uniform("A", 2022, 0.5), *uniform("B", 2022, -1.0)]
    gov = governance(rows)
    yearly = ibis.union(
        *[
            governance_scores(gov, year=year).mutate(year=ibis.literal(year, "int16"))
            for year in (2021, 2022)
        ]
    )
    shares = shares_table(
        [
            (2021, "JPN", "P", "A", 10.0),
            (2021, "JPN", "P", "B", 10.0),
            (2022, "JPN", "P", "A", 10.0),
            (2022, "JPN", "P", "B", 10.0),
        ]
    )
    result = by_key(hhi_wgi(shares, yearly), "year")
    # 2021: A = 10 - 2 * 2 = 6.0, B has no data yet -> neutral 5.0: 0.25 * 6 + 0.25 * 5 = 2.75.
    assert result.loc[2021, "hhi_wgi"] == pytest.approx(2.75)
    assert result.loc[2021, "scored_share"] == pytest.approx(0.5)
    # 2022: A = 4.0, B = 7.0: 0.25 * 4 + 0.25 * 7 = 2.75 as well, but all scored.
    assert result.loc[2022, "hhi_wgi"] == pytest.approx(2.75)
    assert result.loc[2022, "scored_share"] == pytest.approx(1.0)
    # "worst" is taken within each year: 2021's worst is 6.0 -> 0.25 * 6 + 0.25 * 6 = 3.0.
    worst = by_key(hhi_wgi(shares, yearly, missing_score="worst"), "year")
    assert worst.loc[2021, "hhi_wgi"] == pytest.approx(3.0)


# -- supply risk -------------------------------------------------------------------------------
def supply_world() -> dict[str, ibis.Table]:
    shares = shares_table(
        [
            (2022, "JPN", "P", "A", 60.0),
            (2022, "JPN", "P", "B", 40.0),
            (2022, "JPN", "Q", "A", 5.0),
            (2022, "KOR", "P", "B", 10.0),
            (2022, "DEU", "P", "A", 1.0),
        ]
    )
    world = world_table(
        [
            (2022, "P", "A", 50.0),
            (2022, "P", "B", 30.0),
            (2022, "P", "C", 20.0),
            (2022, "Q", "A", 7.0),
        ]
    )
    balance = balance_table(
        [
            (2022, "JPN", "P", 100.0, 25.0),
            (2022, "JPN", "Q", 5.0, 0.0),
            (2022, "KOR", "P", 10.0, 30.0),
        ]
    )
    return {"shares": shares, "world_shares": world, "flows_balance": balance}


def test_supply_risk_by_hand() -> None:
    scores = governance_scores(governance(AB_GOVERNANCE), year=2022)
    result = by_key(supply_risk_trade(**supply_world(), scores=scores), "importer", "product")
    jpn = result.loc[("JPN", "P")]
    # Importer mix: 0.36 * 4 + 0.16 * 7 = 2.56.
    assert jpn["hhi_wgi_importer"] == pytest.approx(2.56)
    # World: A 0.5, B 0.3, C 0.2 (C unscored -> 5): 0.25 * 4 + 0.09 * 7 + 0.04 * 5 = 1.83.
    assert jpn["hhi_wgi_global"] == pytest.approx(1.83)
    assert jpn["scored_share_global"] == pytest.approx(0.8)
    # IR = (100 - 25) / 100 = 0.75.
    assert jpn["import_reliance"] == pytest.approx(0.75)
    # SR = 1.83 * 0.375 + 2.56 * 0.625 = 0.68625 + 1.6 = 2.28625.
    assert jpn["supply_risk"] == pytest.approx(2.28625)
    assert jpn["basis"] == "trade_shares"
    # KOR exports more than it imports: IR clipped to 0, SR = its own HHI_WGI = 1 * 7.0.
    kor = result.loc[("KOR", "P")]
    assert kor["import_reliance"] == 0.0
    assert kor["supply_risk"] == pytest.approx(7.0)
    # JPN Q: single supplier A everywhere, IR = 1: 4 * 0.5 + 4 * 0.5 = 4.0.
    assert result.loc[("JPN", "Q"), "supply_risk"] == pytest.approx(4.0)
    # DEU has no trade balance row: its risk is unknown (null), not dropped.
    assert ("DEU", "P") in result.index
    assert pd.isna(result.loc[("DEU", "P"), "supply_risk"])
    assert result.loc[("DEU", "P"), "hhi_wgi_importer"] == pytest.approx(4.0)


def test_supply_risk_recycling_and_substitution() -> None:
    scores = governance_scores(governance(AB_GOVERNANCE), year=2022)
    world = supply_world()
    scalar = by_key(
        supply_risk_trade(**world, scores=scores, eol_rir=0.2, substitution_index=0.9),
        "importer",
        "product",
    )
    # 2.28625 * (1 - 0.2) * 0.9 = 1.64610.
    assert scalar.loc[("JPN", "P"), "supply_risk"] == pytest.approx(1.6461)
    # Per-product tables: only P listed; Q keeps EoL-RIR 0 and SI 1.
    eol = ibis.memtable({"product": ["P"], "eol_rir": [0.2]})
    si = ibis.memtable({"product": ["P"], "substitution_index": [0.9]})
    tables = by_key(
        supply_risk_trade(**world, scores=scores, eol_rir=eol, substitution_index=si),
        "importer",
        "product",
    )
    assert tables.loc[("JPN", "P"), "supply_risk"] == pytest.approx(1.6461)
    assert tables.loc[("JPN", "Q"), "supply_risk"] == pytest.approx(4.0)
    assert tables.loc[("JPN", "Q"), ["eol_rir", "substitution_index"]].tolist() == [0.0, 1.0]
    with pytest.raises(ChokepointsError, match="eol_rir must be a number from 0 to 1"):
        supply_risk_trade(**world, scores=scores, eol_rir=1.5)
    with pytest.raises(InputError, match="substitution_index values must be numbers from 0"):
        supply_risk_trade(
            **world,
            scores=scores,
            substitution_index=ibis.memtable({"product": ["P"], "substitution_index": [2.0]}),
        )


def test_supply_risk_with_restrictions() -> None:
    scores = governance_scores(governance(AB_GOVERNANCE), year=2022)
    rules = restrictions([("B", None, 2.0)])
    result = by_key(
        supply_risk_trade(**supply_world(), scores=scores, restrictions=rules),
        "importer",
        "product",
    )
    jpn = result.loc[("JPN", "P")]
    # Importer: 1.44 + 0.16 * 7 * 2 = 3.68; world: 1 + 0.09 * 7 * 2 + 0.2 = 2.46.
    assert jpn["hhi_wgi_importer"] == pytest.approx(3.68)
    assert jpn["hhi_wgi_global"] == pytest.approx(2.46)
    # SR = 2.46 * 0.375 + 3.68 * 0.625 = 0.9225 + 2.3 = 3.2225.
    assert jpn["supply_risk"] == pytest.approx(3.2225)


# -- properties --------------------------------------------------------------------------------
POOL = ["A", "B", "C", "D", "E"]

worlds = st.fixed_dictionaries(
    {
        "flows": st.lists(
            st.tuples(
                st.sampled_from(["JPN", "KOR"]),
                st.sampled_from(["P", "Q"]),
                st.sampled_from(POOL),
                st.floats(min_value=0.01, max_value=1e9),
            ),
            min_size=1,
            max_size=12,
            unique_by=lambda flow: flow[:3],
        ),
        "scores": st.dictionaries(
            st.sampled_from(POOL), st.floats(min_value=0.0, max_value=10.0), max_size=5
        ),
        "exports": st.floats(min_value=0.0, max_value=1e9),
        "factor": st.floats(min_value=1e-3, max_value=1e3),
        "seed": st.integers(min_value=0, max_value=2**16),
    }
)


#: The inputs of ``supply_risk_trade`` as DuckDB tables, each analysis compiled once.
ONCE = CompiledOnce(
    {
        "shares": SHARES_SCHEMA,
        "world_shares": WORLD_SCHEMA,
        "flows_balance": BALANCE_SCHEMA,
        "scores": SCORES_SCHEMA,
    }
)


def build(world: dict, factor: float = 1.0, seed: int | None = None) -> dict[str, pd.DataFrame]:
    """supply_risk_trade inputs of a generated world: values times ``factor``, rows shuffled."""
    flows = [(2022, imp, prod, exp, value * factor) for imp, prod, exp, value in world["flows"]]
    world_rows: dict[tuple[str, str], float] = {}
    for _, _, prod, exp, value in flows:
        world_rows[(prod, exp)] = world_rows.get((prod, exp), 0.0) + value
    imports: dict[tuple[str, str], float] = {}
    for _, imp, prod, _, value in flows:
        imports[(imp, prod)] = imports.get((imp, prod), 0.0) + value
    balance = [
        (2022, imp, prod, value, world["exports"] * factor)
        for (imp, prod), value in imports.items()
    ]
    world_list = [(2022, prod, exp, value) for (prod, exp), value in world_rows.items()]
    if seed is not None:
        for rows in (flows, world_list, balance):
            rows[:] = (
                pd.Series(range(len(rows)))
                .sample(frac=1, random_state=seed)
                .map(rows.__getitem__)
                .tolist()
            )
    return {
        "shares": shares_frame(flows),
        "world_shares": world_frame(world_list),
        "flows_balance": pd.DataFrame(balance, columns=list(BALANCE_SCHEMA)),
        "scores": scores_frame(world["scores"]),
    }


def _supply_risk(
    shares: ibis.Table, world_shares: ibis.Table, flows_balance: ibis.Table, scores: ibis.Table
) -> ibis.Table:
    return supply_risk_trade(shares, world_shares, flows_balance, scores)


def _hhi_wgi(
    shares: ibis.Table, world_shares: ibis.Table, flows_balance: ibis.Table, scores: ibis.Table
) -> ibis.Table:
    return hhi_wgi(shares, scores)


def results(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    ONCE.load(**inputs)
    frame = ONCE.query(_supply_risk)
    return frame.sort_values(["importer", "product"]).reset_index(drop=True)


@settings(max_examples=25, deadline=None)
@given(worlds)
def test_hhi_wgi_lies_between_zero_and_ten_times_hhi(world: dict) -> None:
    ONCE.load(**build(world))
    frame = ONCE.query(_hhi_wgi)
    assert (frame["hhi_wgi"] >= -1e-12).all()
    assert (frame["hhi_wgi"] <= 10 * frame["hhi"] + 1e-9).all()
    assert ((frame["hhi"] > 0) & (frame["hhi"] <= 1 + 1e-12)).all()


@settings(max_examples=25, deadline=None)
@given(worlds)
def test_scaling_trade_values_changes_nothing(world: dict) -> None:
    base = results(build(world))
    scaled = results(build(world, factor=world["factor"]))
    columns = ["hhi_wgi_global", "hhi_wgi_importer", "import_reliance", "supply_risk"]
    pd.testing.assert_frame_equal(base[columns], scaled[columns], rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(worlds)
def test_row_order_is_irrelevant(world: dict) -> None:
    base = results(build(world))
    shuffled = results(build(world, seed=world["seed"]))
    pd.testing.assert_frame_equal(base, shuffled, rtol=1e-12, atol=1e-12)


# -- real WGI ----------------------------------------------------------------------------------
@pytest.mark.shared_data
def test_real_scores_for_2022(shared_data: Path, home: Path) -> None:
    path = shared_data / "wgi" / "wgidataset.xlsx"
    ws = Workspace.open(home)
    ws.ingest(read_wgi(path))
    scores = by_key(governance_scores(ws.con.table("governance"), year=2022), "country")

    # Independent computation from the raw cells: mean of the 2022 estimates, then rescaled.
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = next(rows)
    code, year, estimate = (header.index(c) for c in ("code", "year", "estimate"))
    values: dict[str, list[float]] = {}
    last_year: dict[str, int] = {}
    for row in rows:
        if row[estimate] == "..":
            continue
        if row[year] == 2022:
            values.setdefault(row[code], []).append(float(row[estimate]))
        last_year[row[code]] = max(last_year.get(row[code], 0), int(row[year]))
    for country in ("JPN", "DEU", "CHN", "RUS"):
        assert len(values[country]) == 6
        mean = sum(values[country]) / 6
        assert scores.loc[country, "wgi_mean"] == pytest.approx(mean, abs=1e-12)
        assert scores.loc[country, "wgi_scaled"] == pytest.approx(10 - (mean + 2.5) * 2, abs=1e-12)
        assert scores.loc[country, "wgi_year"] == 2022
    # Worse governance scores higher.
    assert min(scores.loc[["CHN", "RUS"], "wgi_scaled"]) > max(
        scores.loc[["JPN", "DEU"], "wgi_scaled"]
    )
    # The Netherlands Antilles stopped in the raw file before 2022: its latest year is used.
    assert last_year["ANT"] < 2022
    assert scores.loc["ANT", "wgi_year"] == last_year["ANT"]
    # Every economy of the file has a score for 2022 (all have data in or before 2022).
    assert len(scores) == 214
    # The neutral score for unscored suppliers, 5.0, is the scaled cross-country mean: the WGI
    # standardises every (year, indicator) to mean 0 and sample standard deviation 1.
    moments = ws.sql(
        "SELECT year, indicator, avg(estimate) AS mean, stddev_samp(estimate) AS sd "
        "FROM governance GROUP BY ALL"
    )
    assert len(moments) == 25 * 6
    assert moments["mean"].abs().max() < 1e-6
    assert (moments["sd"] - 1).abs().max() < 1e-6
