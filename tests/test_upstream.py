"""Look-through origin along the value chains (issue #12), on hand-built worlds.

The worked example of the issue: Japan buys its magnets from CHN (30%), VNM (40%) and PHL
(30%); Viet Nam's rare-earth metals all come from China, the Philippines' half from China and
half from Australia; China and Australia import none. Effective origin: CHN 0.3 + 0.4 + 0.15 =
85%, AUS 15%; direct CHN 30%.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chokepoints.analysis import upstream as up
from chokepoints.questions.upstream import upstream
from chokepoints.workspace import Workspace
from helpers import write_baci

MAGNETS, METALS, COMPOUNDS = "850511", "280530", "284690"
#: BACI codes: China 156, Japan 392, Viet Nam 704, Philippines 608, Australia 36.
WORKED = [
    f"2022,156,392,{MAGNETS},30,1",
    f"2022,704,392,{MAGNETS},40,1",
    f"2022,608,392,{MAGNETS},30,1",
    f"2022,156,704,{METALS},10,1",
    f"2022,156,608,{METALS},5,1",
    f"2022,36,608,{METALS},5,1",
]


@pytest.fixture
def worked(home: Path, tmp_path: Path) -> Workspace:
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path, WORKED, name="BACI_HS17_Y2022_V202501.csv"))
    return ws


def test_worked_example(worked: Workspace) -> None:
    frame = upstream(worked.context, "JPN", MAGNETS)
    rows = frame.set_index("origin")
    assert set(frame["via"]) == {METALS}
    assert rows.loc["CHN", "effective_share"] == pytest.approx(0.85)
    assert rows.loc["AUS", "effective_share"] == pytest.approx(0.15)
    assert rows.loc["CHN", "direct_share"] == pytest.approx(0.30)
    assert rows.loc["AUS", "direct_share"] == 0.0
    # Viet Nam and the Philippines are transit points, not origins of the metals.
    assert rows.loc["VNM", "effective_share"] == pytest.approx(0.0)
    assert rows.loc["VNM", "direct_share"] == pytest.approx(0.40)
    assert set(rows.loc["CHN", "paths"]) == {"CHN -> JPN", "CHN -> VNM -> JPN", "CHN -> PHL -> JPN"}
    assert rows.loc["AUS", "paths"] == ["AUS -> PHL -> JPN"]
    assert frame["looked_through"].all()
    provenance = frame.attrs["provenance"]
    assert provenance["method"]["domestic_supply"][METALS].startswith("exports of the input")


def test_production_data_measure_the_suppliers_own_supply(
    worked: Workspace, tmp_path: Path
) -> None:
    # Rare-earth refinery output (280530 carries rare_earths refinery): PHL 3 t, CHN 30 t.
    table = tmp_path / "refineries.csv"
    table.write_text("commodity,country,year,tonnes\n"
                     "Rare earths,Philippines,2022,3\nRare earths,China,2022,30\n")  # fmt: skip
    mapping = {"commodity": "commodity", "country": "country", "year": "year", "quantity": "tonnes"}
    worked.ingest_production(
        table, mapping=mapping, source="plants", stage="refinery", unit="metric tons"
    )
    frame = upstream(worked.context, "JPN", MAGNETS).set_index("origin")
    # Metals trade $20,000 for 3 t: $6,667/t, so PHL's 3 t are worth $20,000 against $10,000
    # imported (CHN 5,000, AUS 5,000): PHL's mix is itself 2/3, CHN 1/6, AUS 1/6. VNM makes
    # none: all Chinese. Effective: CHN .3 + .4 + .3/6 = .75, AUS .05, PHL .2.
    assert frame.loc["CHN", "effective_share"] == pytest.approx(0.75)
    assert frame.loc["AUS", "effective_share"] == pytest.approx(0.05)
    assert frame.loc["PHL", "effective_share"] == pytest.approx(0.20)
    assert frame.loc["VNM", "effective_share"] == pytest.approx(0.0)
    rule = frame.attrs["provenance"]["method"]["domestic_supply"][METALS]
    assert rule.startswith("rare_earths refinery production 2022 (plants user)")
    assert "$6,667/t" in rule


def test_depth_zero_is_direct_and_missing_inputs_are_said(worked: Workspace) -> None:
    direct = upstream(worked.context, "JPN", MAGNETS, depth=0).set_index("origin")
    assert list(direct["effective_share"]) == pytest.approx(list(direct["direct_share"]))
    # Depth 2 walks on to the compounds, whose trade this store does not hold.
    deeper = upstream(worked.context, "JPN", MAGNETS, depth=2)
    assert set(deeper["via"]) == {f"{METALS} < {COMPOUNDS}"}
    assert not deeper["looked_through"].any()
    assert "284690 is not in" in " ".join(deeper.attrs["provenance"]["warnings"])
    # The metals step is still looked through: the same shares as depth 1.
    assert deeper.set_index("origin").loc["CHN", "effective_share"] == pytest.approx(0.85)


def test_real_slices_say_the_inputs_are_missing(atlas: Workspace) -> None:
    # The 2022 slices hold magnets but not rare-earth metals: effective = direct is no finding.
    frame = upstream(atlas.context, "JPN", MAGNETS)
    assert not frame["looked_through"].any()
    warning = " ".join(frame.attrs["provenance"]["warnings"])
    assert "the trade of input(s) 280530 is not in atlas HS17 2022" in warning
    assert "suppliers are taken as the origins" in warning


# -- properties ------------------------------------------------------------------------------
COUNTRIES = ["AAA", "BBB", "CCC", "DDD", "EEE"]
edge = st.tuples(
    st.sampled_from(COUNTRIES),
    st.sampled_from(COUNTRIES),
    st.floats(min_value=0.5, max_value=100.0, allow_nan=False),
).filter(lambda row: row[0] != row[1])


def frame_of(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Flows (exporter, importer, value_usd) of one product."""
    return pd.DataFrame(rows, columns=["exporter", "importer", "value_usd"])


@settings(max_examples=60, deadline=None)
@given(
    product=st.lists(edge, min_size=1, max_size=12, unique_by=lambda r: r[:2]),
    inputs=st.lists(edge, max_size=12, unique_by=lambda r: r[:2]),
    more=st.lists(edge, max_size=12, unique_by=lambda r: r[:2]),
)
def test_effective_shares_sum_to_one(product, inputs, more) -> None:
    direct = up.import_shares(frame_of(product))
    mixes = []
    for rows in (inputs, more):
        flows = frame_of(rows)
        mixes.append(up.supply_mix(flows, flows.groupby("exporter")["value_usd"].sum(), COUNTRIES))
        result = up.look_through(direct, mixes)
        totals = result.groupby("importer")["effective_share"].sum()
        assert list(totals) == pytest.approx([1.0] * len(totals))
        assert (result["effective_share"] >= -1e-12).all()
    # No intermediaries (no one imports the input): every supplier is its own origin.
    alone = up.supply_mix(frame_of([]), pd.Series(dtype=float), COUNTRIES)
    same = up.look_through(direct, [alone]).set_index(["importer", "origin"])
    assert list(same["effective_share"]) == pytest.approx(list(same["direct_share"]))


def test_deps_look_through_columns(worked: Workspace) -> None:
    frame = worked.dependencies("JPN", include_all=True, look_through=True).set_index("product")
    magnets = frame.loc[MAGNETS]
    # Direct: VNM is the top supplier (40%); looked through, CHN supplies 85% of the metals.
    assert magnets["top_supplier"] == "VNM"
    assert (magnets["effective_top_origin"], magnets["looked_through"]) == ("CHN", True)
    assert magnets["effective_top_share"] == pytest.approx(0.85)


def test_transit_hub_is_given_back_to_its_origins(home: Path, tmp_path: Path) -> None:
    from chokepoints.questions.upstream import origins

    # DEU buys magnets from NLD (60) and CHN (40). NLD imports 50 from CHN and 10 from JPN and
    # exports 60: its imports cover its exports, so all 60 are re-exports with NLD's import mix
    # (CHN 5/6, JPN 1/6). Corrected: CHN 0.4 + 0.6 * 5/6 = 0.9, JPN 0.6 * 1/6 = 0.1, NLD 0.
    rows = [
        f"2022,528,276,{MAGNETS},60,1",
        f"2022,156,276,{MAGNETS},40,1",
        f"2022,156,528,{MAGNETS},50,1",
        f"2022,392,528,{MAGNETS},10,1",
    ]
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path, rows, name="BACI_HS17_Y2022_V202501.csv"))
    frame = origins(ws.context, "DEU", MAGNETS, allow_partial=True).set_index("origin")
    assert frame.loc["NLD", "reported_share"] == pytest.approx(0.6)
    assert frame.loc["CHN", "corrected_share"] == pytest.approx(0.9)
    assert frame.loc["JPN", "corrected_share"] == pytest.approx(0.1)
    assert frame.loc["NLD", "corrected_share"] == pytest.approx(0.0)
    assert frame.attrs["provenance"]["hubs"] == ["NLD"]
    assert "CHN -> NLD -> DEU" in frame.loc["CHN", "paths"]


def test_mirror_gaps_flag_flows_the_two_reporters_disagree_on(home: Path, tmp_path: Path) -> None:
    from chokepoints.questions.upstream import origins
    from test_comtrade import write_export

    def flow(reporter: tuple[str, str], flow: str, partner: tuple[str, str], value: str):
        return {
            "refYear": "2022", "period": "2022", "refPeriodId": "20220101",
            "reporterCode": reporter[0], "reporterISO": reporter[1], "reporterDesc": reporter[1],
            "flowCode": flow, "flowDesc": flow, "partnerCode": partner[0],
            "partnerISO": partner[1], "partnerDesc": partner[1], "classificationCode": "H5",
            "cmdCode": MAGNETS, "aggrLevel": "6", "primaryValue": value, "cifvalue": value,
        }  # fmt: skip

    jpn, chn, vnm = ("392", "JPN"), ("156", "CHN"), ("704", "VNM")
    # Japan reports 100 from China and 50 from Viet Nam; China reports only 60 to Japan (the
    # importer's figure is 100/60 = 1.67 times it: a gap of +67%), Viet Nam 50 (no gap).
    reports = [("M", chn, "100"), ("M", vnm, "50")]
    path = write_export(
        tmp_path,
        [flow(jpn, *report) for report in reports]
        + [flow(chn, "X", jpn, "60"), flow(vnm, "X", jpn, "50")],
    )
    ws = Workspace.open(home)
    ws.ingest_comtrade(path)
    frame = origins(ws.context, "JPN", MAGNETS, source="comtrade").set_index("origin")
    assert frame.loc["CHN", "reported_share"] == pytest.approx(100 / 150)
    assert frame.loc["CHN", "mirror_ratio"] == pytest.approx(100 / 60)
    assert frame.loc["CHN", "mirror_flag"] == "gap +67%"
    assert frame.loc["VNM", "mirror_ratio"] == pytest.approx(1.0)
    assert frame.loc["VNM", "mirror_flag"] == ""
    provenance = frame.attrs["provenance"]
    assert provenance["mirror"].startswith("1 of 2 supplier flows differ")
    assert "mirror-flow gaps" in " ".join(provenance["warnings"])


def test_mirror_check_needs_both_reporter_sides(home: Path, tmp_path: Path) -> None:
    from chokepoints.questions.upstream import origins

    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path, WORKED, name="BACI_HS17_Y2022_V202501.csv"))
    frame = origins(ws.context, "JPN", MAGNETS, allow_partial=True)
    assert frame["mirror_ratio"].isna().all() and (frame["mirror_flag"] == "").all()
    assert frame.attrs["provenance"]["mirror"].startswith("not checked: baci HS17 holds one")


def test_cli_upstream_and_transit(capsys: pytest.CaptureFixture[str], worked: Workspace) -> None:
    from helpers import run

    code, out, err = run(capsys, "upstream", "JPN", MAGNETS, "--format", "json", "--home",
                         str(worked.home))  # fmt: skip
    assert code == 0, err
    rows = {r["origin"]: r for r in __import__("json").loads(out)}
    assert rows["CHN"]["effective_share"] == pytest.approx(0.85)
    assert "CHN -> VNM -> JPN" in rows["CHN"]["paths"]
    code, out, err = run(capsys, "upstream", "JPN", MAGNETS, "--home", str(worked.home))
    assert code == 0, err
    assert "effective" in out and "CHN -> VNM -> JPN" in out and "[" not in out.split("\n")[4]
    code, out, err = run(capsys, "upstream", "JPN", MAGNETS, "--transit", "--home",
                         str(worked.home))  # fmt: skip
    assert code == 0, err
    assert "corrected for transit" in " ".join(out.split())
    code, _, err = run(capsys, "upstream", "JPN", "010121", "--home", str(worked.home))
    assert code == 1 and "is in no value chain" in err


def test_compare_says_whether_diversification_is_real_upstream(home: Path, tmp_path: Path) -> None:
    # The worked world, plus Germany buying magnets from CHN (50) and JPN (10). Directly, JPN
    # is the better diversified (HHI .09 + .16 + .09 = .34 against DEU's (5/6)^2 + (1/6)^2 =
    # .72); looked through, 85% of JPN's magnets rest on Chinese metals, against 5/6 for DEU.
    rows = [*WORKED, f"2022,156,276,{MAGNETS},50,1", f"2022,392,276,{MAGNETS},10,1"]
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path, rows, name="BACI_HS17_Y2022_V202501.csv"))
    best = ws.compare(["JPN", "DEU"], allow_partial=True).best_practice
    best = best.set_index("partner")
    assert bool(best.loc["JPN", "is_best"]) and best.loc["JPN", "hhi"] == pytest.approx(0.34)
    assert best.loc["JPN", "effective_top_origin"] == "CHN"
    assert best.loc["JPN", "effective_top_share"] == pytest.approx(0.85)
    assert best.loc["DEU", "effective_top_share"] == pytest.approx(50 / 60)


def test_look_through_fetches_the_chain_flows_once_per_economy(
    worked: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``deps --look-through``, ``stages`` and ``compare`` of one economy share one fetch of
    the chain flows per context; countries leave the flows as they are, so every country shares
    it (``compare JPN DEU`` fetches once), while a group, which buys as one, has its own."""
    from chokepoints.questions import upstream as questions
    from chokepoints.questions.upstream import effective_top

    fetched: list[str] = []

    def counted(ctx: Any, dataset: Any, years: Any) -> Any:
        fetched.append(dataset.label)
        return flows_of(ctx, dataset, years)

    flows_of = questions.flows_of
    monkeypatch.setattr(questions, "flows_of", counted)
    context = worked.context
    dataset, year = worked.dataset_for("JPN")
    first = effective_top(context, dataset, year, context.economy("JPN"), [MAGNETS])
    assert len(fetched) == 1
    again = effective_top(context, dataset, year, context.economy("JPN"), [MAGNETS])
    pd.testing.assert_frame_equal(first, again)
    assert first.set_index("product").loc[MAGNETS, "effective_top_origin"] == "CHN"
    germany = effective_top(context, dataset, year, context.economy("DEU"), [MAGNETS])
    assert len(fetched) == 1
    # DEU's answer from the shared fetch is the one a fresh context computes on its own.
    fresh = Workspace.open(worked.home).context
    pd.testing.assert_frame_equal(
        germany, effective_top(fresh, dataset, year, fresh.economy("DEU"), [MAGNETS])
    )
    assert len(fetched) == 2
    effective_top(context, dataset, year, context.economy("EU27"), [MAGNETS])
    assert len(fetched) == 3
