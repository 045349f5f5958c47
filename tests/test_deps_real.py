"""Dependency metrics on real BACI data, checked against awk sums of the raw files.

Figures for the complete 2022 slices (``baci_2022.csv``: i,j,cmd,value in USD) come from:
  awk -F, -v p=P -v c=C 'NR>1 && $3==p && $2==c {s+=$4; ss+=$4*$4; n++; if($4>m){m=$4;t=$1}}
                         NR>1 && $3==p && $1==c {x+=$4}'      # imports s, HHI ss/s^2, exports x
  awk -F, -v p=P 'NR>1 && $3==p {x[$1]+=$4; tot+=$4} END{for(k in x) h+=(x[k]/tot)^2}'
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chokepoints.questions import PartialCoverageError
from chokepoints.workspace import Workspace

# (importer, product): imports USD, suppliers, HHI, top supplier, its share, exports USD
EXPECTED = {
    ("JPN", "850511"): (827_127_796.0, 42, 0.312262, "PHL", 0.449687, 632_388_923.0),
    ("DEU", "850511"): (907_734_023.0, 63, 0.685087, "CHN", 0.824985, 262_268_166.0),
    ("JPN", "283691"): (1_081_670_045.0, 11, 0.357628, "CHL", 0.482906, 9_080_637.0),
    ("DEU", "283691"): (87_106_287.0, 16, 0.239283, "CHL", 0.435510, 44_278_041.0),
    ("JPN", "282200"): (54_712_925.0, 12, 0.277264, "FIN", 0.346978, 1_353_234.0),
    ("DEU", "282200"): (51_537_321.0, 18, 0.473939, "FIN", 0.656437, 1_747_034.0),
    ("JPN", "250490"): (8_555_503.0, 9, 0.898905, "CHN", 0.946748, 755_897.0),
    ("DEU", "250490"): (1_387_752.0, 22, 0.341918, "CHN", 0.506397, 6_691_940.0),
    ("JPN", "280469"): (778_951_085.0, 26, 0.488579, "CHN", 0.681482, 10_940_504.0),
    ("DEU", "280469"): (1_015_027_964.0, 37, 0.281950, "NOR", 0.457749, 83_451_067.0),
    ("JPN", "811292"): (84_733_541.0, 17, 0.163097, "CHN", 0.289774, 25_829_928.0),
    ("DEU", "811292"): (56_095_247.0, 33, 0.135299, "CHN", 0.215788, 97_737_835.0),
}
WORLD_HHI = {
    "850511": 0.399545,
    "283691": 0.644779,
    "282200": 0.151335,
    "250490": 0.227113,
    "280469": 0.192488,
    "811292": 0.131438,
}


@pytest.mark.parametrize("country", ["JPN", "DEU"])
def test_metrics_match_awk(atlas: Workspace, country: str) -> None:
    frame = atlas.dependencies(country, include_all=True).set_index("product")
    for (importer, product), expected in EXPECTED.items():
        if importer != country:
            continue
        imports, suppliers, hhi, top, top_share, exports = expected
        row = frame.loc[product]
        assert row["import_value_usd"] == pytest.approx(imports)
        assert row["n_suppliers"] == suppliers
        assert row["hhi"] == pytest.approx(hhi, abs=1e-6)
        assert row["top_supplier"] == top
        assert row["top_supplier_share"] == pytest.approx(top_share, abs=1e-6)
        assert row["exports_usd"] == pytest.approx(exports)
        assert row["import_export_ratio"] == pytest.approx(imports / exports)
        assert row["world_export_hhi"] == pytest.approx(WORLD_HHI[product], abs=1e-6)
    # One year only: GeoDep's persistence (2 of 3 years) cannot be assessed, and it says so;
    # the products meeting the 2022 criteria are candidates (their list is checked against
    # pandas in test_real_answers.py).
    assert frame["dependent"].any()
    assert set(frame["persistence"]) == {"not assessable (1 of 3 years)"}
    warnings = " ".join(frame.attrs["provenance"]["warnings"])
    assert "persistence is not assessable (1 of 3 years)" in warnings
    assert "shown as candidates" in warnings


def test_custom_rules_on_real_data(atlas: Workspace) -> None:
    rules = ["hhi>0.4", "top_supplier=CHN"]
    japan = set(atlas.dependencies("JPN", method="custom", rules=rules)["product"])
    germany = set(atlas.dependencies("DEU", method="custom", rules=rules)["product"])
    # From the table above: JPN graphite (0.899) and silicon (0.489); DEU magnets (0.685).
    assert {"250490", "280469"} <= japan and "850511" not in japan
    assert "850511" in germany and "282200" not in germany  # FIN is DEU's top cobalt supplier


def test_product_picture(atlas: Workspace) -> None:
    picture = atlas.product("850511")
    summary = picture.summary.iloc[0]
    assert summary["world_export_value_usd"] == pytest.approx(6_863_962_510.0)
    assert summary["n_exporters"] == 143
    assert summary["world_export_hhi"] == pytest.approx(0.399545, abs=1e-6)
    assert picture.exporters.iloc[0]["exporter"] == "CHN"
    assert set(picture.importers["importer"]) >= {"JPN", "DEU"}


def test_algeria_imports_are_partial(shared_data: Path, tmp_path: Path) -> None:
    """One country's imports cannot support world-level criteria: refused, then warned."""
    ws = Workspace.open(tmp_path)
    ws.ingest_baci(
        shared_data / "baci/V202301_Anesouadou/Algeria_import_transaction.csv",
        revision="HS92",
        release="V202301",
    )
    with pytest.raises(PartialCoverageError, match="--allow-partial"):
        ws.dependencies("DZA", year=2021)
    frame = ws.dependencies("DZA", year=2021, include_all=True, allow_partial=True)
    assert "partial" in frame["warning"].iloc[0]
    magnets = frame.set_index("product").loc["850511"]
    # tr -d '\r' < Algeria_import_transaction.csv | awk -F, '$5=="850511"{...}'
    assert magnets["import_value_usd"] == pytest.approx(313_113.0)
    assert magnets["n_suppliers"] == 14
    assert magnets["hhi"] == pytest.approx(0.617820124, abs=1e-9)
    assert (magnets["top_supplier"], round(magnets["top_supplier_share"], 9)) == (
        "CHN",
        0.775745498,
    )
    # Rules on the importer's own mix need no world coverage: 2539 of 3870 products have an
    # import HHI above 0.4 (awk over all k).
    concentrated = ws.dependencies("DZA", year=2021, method="custom", rules=["hhi>0.4"])
    assert len(concentrated) == 2539
