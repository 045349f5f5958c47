"""What a new user sees on the real files: the right dataset, groups as one buyer, shared world
capacity, 4-digit data and one-year stores (issue #10).

Every expected value is computed here with pandas from the raw files in ``../shared/data``
(``baci_2022.csv``: i,j,cmd,value in USD; the Comtrade Thailand extract), never by the code
under test. Each test failed before the fix it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from chokepoints.errors import ChokepointsError, InputError, NoDataError
from chokepoints.report.content import gather
from chokepoints.workspace import Workspace
from conftest import ATLAS, ingest_atlas
from helpers import assert_one_sentence_error, run

pytestmark = pytest.mark.shared_data

ALGERIA = "baci/V202301_Anesouadou/Algeria_import_transaction.csv"
THAILAND = "comtrade/THA_M_8542_2014-2024_methakanb/TradeData.csv"
#: The 27 member states (ISO3), written out here rather than read from the package.
EU27 = {
    "AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN",
    "IRL", "ITA", "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP",
    "SWE",
}  # fmt: skip
MAGNETS = "850511"


# -- independent pandas figures --------------------------------------------------------------
@pytest.fixture(scope="module")
def raw(shared_data: Path) -> pd.DataFrame:
    """The 2022 slices as published, self-flows and zero values left out (no one is its own
    supplier)."""
    frame = pd.read_csv(shared_data / ATLAS, dtype={"i": str, "j": str, "cmd": str})
    # The slices write Taiwan as BACI's S19; chokepoints stores ISO3 TWN.
    frame = frame.replace({"i": {"S19": "TWN"}, "j": {"S19": "TWN"}})
    return frame[(frame["i"] != frame["j"]) & (frame["value"] > 0)]


def as_one(frame: pd.DataFrame, name: str, members: set[str]) -> pd.DataFrame:
    """Flows with ``members`` relabelled ``name`` and the flows between them dropped."""
    inside_i, inside_j = frame["i"].isin(members), frame["j"].isin(members)
    kept = frame[~(inside_i & inside_j)].copy()
    kept.loc[inside_i[~(inside_i & inside_j)], "i"] = name
    kept.loc[inside_j[~(inside_i & inside_j)], "j"] = name
    return kept.groupby(["i", "j", "cmd"], as_index=False)["value"].sum()


def import_mix(frame: pd.DataFrame, importer: str, product: str) -> pd.Series:
    """Value per supplier of ``importer``'s imports of ``product``."""
    mine = frame[(frame["j"] == importer) & (frame["cmd"] == product)]
    return mine.groupby("i")["value"].sum()


def hhi(values: pd.Series) -> float:
    """Sum of squared shares."""
    return float(((values / values.sum()) ** 2).sum())


def year_t_candidates(
    frame: pd.DataFrame, importer: str, world_flows: pd.DataFrame | None = None
) -> set[str]:
    """GeoDep's three criteria in one year: import HHI > .4, world export HHI > .4, M/X > 1.

    ``frame`` holds the flows as the importer sees them (a group's without its internal
    trade); the world export HHI comes from ``world_flows`` (all flows; ``frame`` if None).
    """
    world_flows = frame if world_flows is None else world_flows
    found = set()
    for product in frame.loc[frame["j"] == importer, "cmd"].unique():
        mix = import_mix(frame, importer, product)
        world = world_flows[world_flows["cmd"] == product].groupby("i")["value"].sum()
        exports = frame[(frame["i"] == importer) & (frame["cmd"] == product)]["value"].sum()
        ratio = 9999.0 if exports == 0 else mix.sum() / exports
        if hhi(mix) > 0.4 and hhi(world) > 0.4 and ratio > 1:
            found.add(product)
    return found


# -- stores ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A small one-country BACI file (Algeria's 2021 imports, 31k rows) next to the complete
    2022 slice (23k rows): the store a new user builds from the README's examples."""
    ws = Workspace.open(tmp_path_factory.mktemp("mixed"))
    ws.ingest_baci(shared_data / ALGERIA, revision="HS92", release="V202301")
    ingest_atlas(ws, shared_data)
    ws.ingest_wgi(shared_data / "wgi/wgidataset.xlsx")
    return ws


@pytest.fixture(scope="module")
def thailand(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The Comtrade extract of Thailand's imports of HS 8542 (4 digits), 2014-2024."""
    ws = Workspace.open(tmp_path_factory.mktemp("thailand"))
    ws.ingest_comtrade(shared_data / THAILAND, release="2026-06-19")
    return ws


# -- 1. the dataset and year the user meant --------------------------------------------------
def test_questions_about_germany_use_the_year_that_covers_germany(
    mixed: Workspace, raw: pd.DataFrame
) -> None:
    # Before: the 31k-row Algeria file was the default, and its 2021 is partial.
    deps = mixed.dependencies("DEU")
    provenance = deps.attrs["provenance"]
    assert (provenance["source"], provenance["year"]) == ("atlas", 2022)
    assert "also held: baci HS92" in provenance["dataset_choice"]
    assert set(deps["product"]) == year_t_candidates(raw, "DEU")
    risk = mixed.risk("DEU")
    assert risk.attrs["provenance"]["year"] == 2022
    assert set(risk["product"]) == set(raw.loc[raw["j"] == "DEU", "cmd"])
    picture = mixed.product(MAGNETS)
    world = raw[raw["cmd"] == MAGNETS].groupby("i")["value"].sum()
    assert picture.summary["world_export_hhi"].iloc[0] == pytest.approx(hhi(world))
    # A code of a level the store does not hold: one sentence listing what is held.
    with pytest.raises(NoDataError, match=r"no 4-digit data; the store holds"):
        mixed.product("8542")


def test_cli_answers_and_lists_what_is_held(
    capsys: pytest.CaptureFixture[str], mixed: Workspace
) -> None:
    home = str(mixed.home)
    for args in (["deps", "DEU"], ["risk", "DEU"], ["product", MAGNETS]):
        code, out, err = run(capsys, *args, "--home", home)
        assert code == 0, err
        assert "atlas user HS17, 2022" in out
    code, _, err = run(capsys, "deps", "FRA", "--year", "2021", "--home", home)
    assert_one_sentence_error(code, err)
    assert "no dataset covers the imports of FRA in 2021" in err
    assert "baci HS92 2021 (imports of 1 of 109 countries)" in err


def test_year_and_source_are_honoured_by_trend_and_the_report(mixed: Workspace) -> None:
    # Algeria's own file, asked for by name, answers for 2021 with its partial-year warning.
    trend = mixed.trend("DZA", "CHN", source="baci", year=2021)
    assert trend.attrs["provenance"]["source"] == "baci"
    assert list(trend["year"]) == [2021]
    assert "partial" in " ".join(trend.attrs["provenance"]["warnings"])
    # The report of DEU with JPN for 2022 runs every section on the 2022 slice.
    content = gather(mixed, "DEU", partners=["JPN"], year=2022)
    sources = {record["source"] for record in content.provenance.values()}
    assert sources == {"atlas"}
    assert content.year == 2022


# -- 2. groups buy as one --------------------------------------------------------------------
def test_eu27_report_has_diversification_and_cooperation(
    mixed: Workspace, raw: pd.DataFrame
) -> None:
    content = gather(mixed, "EU27", partners=["JPN", "USA"], year=2022)
    eu = as_one(raw, "EU27", EU27)
    assert set(content.dependent["product"]) == year_t_candidates(eu, "EU27", raw)
    assert not content.diversification.empty
    assert set(content.diversification["product"]) == set(content.dependent["product"])
    assert content.cooperation is not None
    assert not content.cooperation["shared"].empty
    assert not content.cooperation["complementarity"].empty
    # EU27 supplies JPN's and USA's imports in the complementarity view, as one exporter.
    assert "EU27" in set(content.cooperation["complementarity"]["exporter_partner"])


def test_diversify_a_group_as_one_buyer(mixed: Workspace, raw: pd.DataFrame) -> None:
    eu = as_one(raw, "EU27", EU27)
    lithium = import_mix(eu, "EU27", "283691")
    result = mixed.diversify("EU27", "283691")
    alternatives = result.alternatives.set_index("exporter")
    assert alternatives["current_imports_usd"].sum() == pytest.approx(lithium.sum())
    assert alternatives.loc["CHL", "current_share"] == pytest.approx(lithium["CHL"] / lithium.sum())
    assert result.plan.hhi_before == pytest.approx(hhi(lithium))
    assert not set(alternatives.index) & EU27  # members are inside the buyer
    batch = mixed.diversify_all("EU27", sector="batteries")
    from chokepoints.reference.sectors import sector_products

    batteries = set(sector_products("batteries", "HS17"))
    concentrated = {
        p
        for p in eu.loc[eu["j"] == "EU27", "cmd"].unique()
        if p in batteries and hhi(import_mix(eu, "EU27", p)) > 0.4
    }
    assert concentrated and set(batch["product"]) == concentrated


def test_shock_and_stress_treat_a_group_as_one_importer(
    capsys: pytest.CaptureFixture[str], mixed: Workspace, raw: pd.DataFrame
) -> None:
    frame = mixed.shock(supplier="CHN", products=[MAGNETS], importers=["EU27"])
    assert list(frame["importer"]) == ["EU27"]
    from_china = raw[(raw["i"] == "CHN") & raw["j"].isin(EU27) & (raw["cmd"] == MAGNETS)]
    assert frame["lost_value_usd"].iloc[0] == pytest.approx(from_china["value"].sum())
    members = mixed.shock(supplier="CHN", products=[MAGNETS], importers=["EU27"], by="member")
    assert set(members["importer"]) <= EU27 and len(members) > 1
    assert members["lost_value_usd"].sum() == pytest.approx(from_china["value"].sum())
    stress = mixed.stress(importers=["EU27"], sectors=["permanent_magnets"], top=1)
    assert set(stress["importer"]) == {"EU27"}
    code, _, err = run(capsys, "stress", "--importer", "DEU,EU27", "--home", str(mixed.home))
    assert_one_sentence_error(code, err)
    assert "DEU is in both DEU and EU27" in err


def test_user_groups_and_sectors_reach_scenarios(
    capsys: pytest.CaptureFixture[str], mixed: Workspace, raw: pd.DataFrame, tmp_path: Path
) -> None:
    # Before: shock rejected the user's group as "unknown country or group".
    home = tmp_path / "home"
    home.mkdir()
    for name in ("manifest.json", "trade", "products", "governance"):
        source = mixed.home / name
        target = home / name
        if source.is_dir():
            import shutil

            shutil.copytree(source, target)
        elif source.exists():
            target.write_bytes(source.read_bytes())
    (home / "groups.toml").write_text(
        '[groups.magnet_buyers]\ndescription = "Magnet users"\nmembers = ["DEU", "FRA", "ITA"]\n'
    )
    (home / "sectors").mkdir()
    (home / "sectors" / "my_magnets.toml").write_text(
        'id = "my_magnets"\nname = "My magnets"\ndescription = "Magnets we buy"\n'
        'sources = ["ours"]\n\n[codes]\nHS17 = ["850511"]\n'
    )
    buyers = {"DEU", "FRA", "ITA"}
    expected = raw[(raw["i"] == "CHN") & raw["j"].isin(buyers) & (raw["cmd"] == MAGNETS)]
    code, out, err = run(
        capsys,
        "shock",
        "--supplier",
        "CHN",
        "--sector",
        "my_magnets",
        "--importer",
        "magnet_buyers",
        "--format",
        "json",
        "--home",
        str(home),
    )
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["importer"] == "magnet_buyers"
    assert row["lost_value_usd"] == pytest.approx(expected["value"].sum())
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        'id = "ours"\nname = "Ours"\ndescription = "Our test"\nsources = ["us"]\n\n'
        '[[shocks]]\nsupplier = "CHN"\nsectors = ["my_magnets"]\nimporters = ["magnet_buyers"]\n'
    )
    code, out, err = run(
        capsys, "shock", "--scenario", str(scenario), "--format", "json", "--home", str(home)
    )
    assert code == 0, err
    assert [r["importer"] for r in json.loads(out)] == ["magnet_buyers"]


# -- 3. the world's spare capacity is shared -------------------------------------------------
def test_chinese_magnet_cut_off_leaves_the_world_short(
    capsys: pytest.CaptureFixture[str], mixed: Workspace, raw: pd.DataFrame
) -> None:
    # Before: every importer was offered all of the others' spare capacity: shortfall 0.
    magnets = raw[raw["cmd"] == MAGNETS]
    from_china = magnets[magnets["i"] == "CHN"].groupby("j")["value"].sum()
    hit = set(from_china.index)
    lost = float(from_china.sum())
    spare = 0.5 * float(magnets[(magnets["i"] != "CHN") & ~magnets["j"].isin(hit)]["value"].sum())
    assert lost / magnets["value"].sum() == pytest.approx(0.615, abs=5e-4)  # 61.5% of the world
    code, out, err = run(
        capsys,
        "shock",
        "--supplier",
        "CHN",
        "--product",
        MAGNETS,
        "--fraction",
        "1",
        "--format",
        "json",
        "--home",
        str(mixed.home),
    )
    assert code == 0, err
    rows = pd.DataFrame(json.loads(out)).set_index("importer")
    assert set(rows.index) == hit
    assert rows["lost_value_usd"].sum() == pytest.approx(lost)
    assert rows["redirectable_value_usd"].sum() == pytest.approx(min(lost, spare))
    assert rows["shortfall_value_usd"].sum() == pytest.approx(lost - min(lost, spare))
    germany = rows.loc["DEU"]
    assert germany["redirectable_value_usd"] == pytest.approx(from_china["DEU"] * spare / lost)
    assert germany["shortfall_value_usd"] > 0.9 * from_china["DEU"]
    # The table says the rule and the world totals.
    code, out, err = run(
        capsys, "shock", "--supplier", "CHN", "--product", MAGNETS, "--home", str(mixed.home)
    )
    assert code == 0, err
    assert "shared pro rata to the losses of the importers hit" in " ".join(out.split())
    # The stress test's row for Germany is its part of the same world-wide cut-off.
    stress = mixed.stress(importers=["DEU"], sectors=["permanent_magnets"], top=5)
    china = stress.set_index("supplier").loc["CHN"]
    assert china["lost_value_usd"] == pytest.approx(from_china["DEU"])
    assert china["shortfall_value_usd"] == pytest.approx(germany["shortfall_value_usd"])


# -- 4. any HS level -------------------------------------------------------------------------
def test_four_digit_comtrade_data_is_analysed_at_its_level(
    capsys: pytest.CaptureFixture[str], shared_data: Path, thailand: Workspace
) -> None:
    # Before: "no imports of THA", since only 6-digit rows were read.
    # Rows end with a comma: index_col=False keeps the columns under their names.
    raw = pd.read_csv(shared_data / THAILAND, dtype=str, encoding="cp1252", index_col=False)
    rows = raw[(raw["refYear"] == "2024") & (raw["partnerCode"] != "0")]  # 0: World total
    values = rows.assign(v=rows["primaryValue"].astype(float)).groupby("partnerCode")["v"].sum()
    values = values.rename({"490": "TWN", "764": "THA"})  # Other Asia, nes is Taiwan
    # Re-imports (partner THA itself) are not imports from a supplier.
    foreign = values.drop("THA")
    code, out, err = run(
        capsys,
        "deps",
        "THA",
        "--source",
        "comtrade",
        "--year",
        "2024",
        "--format",
        "json",
        "--all",
        "--home",
        str(thailand.home),
    )
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["product"] == "8542"
    assert row["top_supplier"] == "TWN"
    assert row["top_supplier_share"] == pytest.approx(foreign["TWN"] / foreign.sum())
    assert row["import_value_usd"] == pytest.approx(foreign.sum())
    assert round(values["TWN"] / values.sum(), 3) == 0.436  # with re-imports, as Comtrade shows
    # The terminal names the level and shows the product, although it is not dependent.
    code, out, err = run(
        capsys, "deps", "THA", "--source", "comtrade", "--year", "2024", "--home",
        str(thailand.home),
    )  # fmt: skip
    assert code == 0, err
    text = " ".join(out.split())
    assert "8542" in out and "TWN" in out and "comtrade 2026-06-19 HS22 4-digit, 2024" in text
    reimports = values["THA"] / 1e6
    assert f"re-imports of THA from itself ({reimports:,.1f} M USD in 2024)" in text
    with pytest.raises(InputError, match="mix 4 and 6-digit codes"):
        thailand.dependencies("THA", products=["8542", "854231"], source="comtrade")
    with pytest.raises(ChokepointsError, match="no 6-digit data from source 'comtrade'"):
        thailand.dependencies("THA", sector="semiconductors", source="comtrade", year=2024)


# -- 5. one-year stores ----------------------------------------------------------------------
def test_one_year_store_shows_candidates(
    capsys: pytest.CaptureFixture[str], atlas: Workspace, raw: pd.DataFrame
) -> None:
    # Before: an empty table and a report with 0 dependent products.
    deps = atlas.dependencies("JPN")
    assert set(deps["product"]) == year_t_candidates(raw, "JPN")
    assert set(deps["persistence"]) == {"not assessable (1 of 3 years)"}
    code, out, err = run(capsys, "deps", "JPN", "--home", str(atlas.home))
    assert code == 0, err
    assert "persistence is not assessable (1 of 3 years)" in " ".join(out.split())
    content = gather(atlas, "JPN")
    figures = dict(content.key_figures())
    label = "Candidate dependencies (persistence not assessable: 1 of 3 years)"
    assert figures[label] == str(len(year_t_candidates(raw, "JPN")))
