"""Stage-by-stage concentration of a value chain (issue #12), on a hand-built world.

The worked world of test_upstream: Japan buys magnets (850511) from CHN 30, VNM 40, PHL 30;
rare-earth metals (280530) go CHN -> VNM 10, CHN -> PHL 5, AUS -> PHL 5; rare-earth mining
(production node of permanent_magnets) is CHN 60 t, AUS 20 t, MMR 20 t.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chokepoints.errors import UnknownCodeError
from chokepoints.workspace import Workspace
from helpers import run, write_baci
from test_upstream import WORKED


@pytest.fixture
def mined(home: Path, tmp_path: Path) -> Workspace:
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path, WORKED, name="BACI_HS17_Y2022_V202501.csv"))
    table = tmp_path / "mines.csv"
    table.write_text("commodity,country,year,tonnes\n"
                     "Rare earths,China,2022,60\nRare earths,Australia,2022,20\n"
                     "Rare earths,Burma,2022,20\n")  # fmt: skip
    mapping = {"commodity": "commodity", "country": "country", "year": "year", "quantity": "tonnes"}
    ws.ingest_production(table, mapping=mapping, source="mines", stage="mine", unit="metric tons")
    return ws


def test_stages_of_the_magnet_chain(mined: Workspace) -> None:
    frame = mined.chain_stages("JPN", chains=["permanent_magnets"]).set_index("step")
    assert list(frame.index[:4]) == [
        "rare_earth_mining", "rare_earth_compounds", "rare_earth_metals", "magnets",
    ]  # fmt: skip
    mining = frame.loc["rare_earth_mining"]
    # Production shares .6, .2, .2: HHI .36 + .04 + .04 = .44.
    assert mining["basis"] == "production 2022 (mines)"
    assert mining["world_hhi"] == pytest.approx(0.44)
    assert (mining["world_top"], mining["world_top_share"]) == ("CHN", pytest.approx(0.6))
    assert frame.loc["rare_earth_compounds", "basis"] == "trade not in the store"
    assert frame["imports_usd"].isna()["rare_earth_compounds"]  # unknown, not zero
    metals = frame.loc["rare_earth_metals"]
    # World exports of metals: CHN 15, AUS 5: HHI .75^2 + .25^2 = .625. Japan buys none.
    assert metals["world_hhi"] == pytest.approx(0.625)
    assert metals["imports_usd"] == 0.0  # traded, but not to Japan
    magnets = frame.loc["magnets"]
    # Japan is the only buyer: world and import HHI .09 + .16 + .09 = .34, top VNM 40%; looked
    # through the metals, China is 85%.
    assert magnets["world_hhi"] == pytest.approx(0.34)
    assert magnets["import_hhi"] == pytest.approx(0.34)
    assert (magnets["top_supplier"], magnets["top_supplier_share"]) == ("VNM", pytest.approx(0.4))
    assert magnets["imports_usd"] == pytest.approx(100_000)
    assert magnets["effective_top_origin"] == "CHN"
    assert magnets["effective_top_share"] == pytest.approx(0.85)


def test_stages_say_when_production_is_not_held(home: Path, tmp_path: Path) -> None:
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path, WORKED, name="BACI_HS17_Y2022_V202501.csv"))
    frame = ws.chain_stages("JPN", chains=["permanent_magnets"]).set_index("step")
    assert frame.loc["rare_earth_mining", "basis"] == "production not in the store"
    assert frame["world_hhi"].isna()["rare_earth_mining"]


def test_unknown_chain_and_cli(mined: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UnknownCodeError, match="known chains: li_ion_batteries"):
        mined.chain_stages("JPN", chains=["magnets"])
    code, out, err = run(capsys, "stages", "JPN", "--chain", "permanent_magnets", "--format",
                         "json", "--home", str(mined.home))  # fmt: skip
    assert code == 0, err
    rows = {row["step"]: row for row in json.loads(out)}
    assert rows["rare_earth_mining"]["world_hhi"] == pytest.approx(0.44)
    code, _, err = run(capsys, "stages", "JPN", "--chain", "nope", "--home", str(mined.home))
    assert code == 1 and "unknown value chain 'nope'" in err
