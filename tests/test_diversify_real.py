"""Diversification and partner comparison on real BACI 2022 slices.

Expected values: awk sums of the raw file (command below); the optimised mix is checked against
bounds computed with pandas from the raw CSV and the KKT conditions, which certify the optimum
of a convex problem whatever algorithm found it. (HiGHS's QP solver stops with a "solve error"
on this instance, whose smallest bounds are 1e-9 of the total.)

  awk -F, 'NR>1 && $3=="850511" && $1!="DEU" {if($2=="DEU") cur[$1]+=$4; else cap[$1]+=$4}'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chokepoints.workspace import Workspace
from conftest import ATLAS
from test_deps_real import EXPECTED

# DEU's imports of 850511 (permanent magnets) by exporter, and that exporter's sales to others.
DEU_CURRENT = {"CHN": 748_867_153.0, "JPN": 12_363_077.0, "PHL": 53_911_402.0}
DEU_CAPACITY = {"CHN": 3_470_925_871.0, "JPN": 620_025_846.0, "PHL": 525_167_706.0}


def test_alternative_suppliers_of_magnets_for_germany(atlas: Workspace) -> None:
    result = atlas.diversify("DEU", "850511", exclude=["CHN"], trusted=["G7"])
    alternatives = result.alternatives.set_index("exporter")
    # China, excluded, is no alternative; it stays in the mix with what it supplies today.
    assert "CHN" not in alternatives.index
    for code, value in DEU_CURRENT.items():
        if code == "CHN":
            continue
        assert alternatives.loc[code, "current_imports_usd"] == pytest.approx(value)
        assert alternatives.loc[code, "capacity_usd"] == pytest.approx(DEU_CAPACITY[code])
    mix = result.mix.set_index("supplier")
    assert mix["current_usd"].sum() == pytest.approx(907_734_023.0)
    if "CHN" in DEU_CURRENT:
        assert mix.loc["CHN", "current_usd"] == pytest.approx(DEU_CURRENT["CHN"])
    assert "DEU" not in alternatives.index
    # G7 members rank first; JPN is the G7 exporter with the most capacity among them.
    trusted = alternatives[alternatives["trusted"]].sort_values("rank")
    assert set(trusted.index) <= {"USA", "JPN", "GBR", "FRA", "ITA", "CAN"}
    assert trusted["rank"].tolist() == list(range(1, len(trusted) + 1))


def test_optimised_mix_matches_highs_on_the_raw_file(atlas: Workspace, shared_data: Path) -> None:
    raw = pd.read_csv(
        shared_data / ATLAS, dtype={"i": str, "j": str, "cmd": str}, keep_default_na=False
    )
    raw["i"] = raw["i"].replace({"S19": "TWN"})  # the file's code for Taiwan; the store's ISO3
    magnets = raw[(raw["cmd"] == "850511") & (raw["i"] != "DEU") & (raw["value"] > 0)]
    to_deu = magnets["j"] == "DEU"
    current = magnets[to_deu].groupby("i")["value"].sum()
    capacity = magnets[~to_deu].groupby("i")["value"].sum()
    suppliers = sorted(set(current.index) | set(capacity.index))
    current = current.reindex(suppliers, fill_value=0.0).to_numpy()
    capacity = capacity.reindex(suppliers, fill_value=0.0).to_numpy()
    total = current.sum()
    before = current / total
    upper = np.minimum(before + 0.5 * capacity / total, 0.4)
    upper[suppliers.index("CHN")] = 0.0

    # The continuous problem (min_share 0); test_diversify_choice checks the 1% default.
    result = atlas.diversify("DEU", "850511", exclude=["CHN"], max_share=0.4, min_share=0)
    plan = result.plan
    assert plan.feasible
    mix = plan.mix.set_index("supplier").reindex(suppliers)
    shares = mix["new_share"].to_numpy()
    assert shares.sum() == pytest.approx(1.0, abs=1e-12)
    assert (shares >= -1e-12).all() and (shares <= upper + 1e-12).all()
    # KKT for min sum s^2 on the box and the simplex: one level lambda such that every share
    # strictly inside its bounds equals lambda, those at their upper bound have upper <= lambda
    # and those at zero have 0 >= lambda (none here, as lambda > 0).
    inside = (shares > 1e-12) & (shares < upper - 1e-12)
    assert inside.any()
    level = shares[inside].mean()
    assert shares[inside] == pytest.approx(np.full(inside.sum(), level), abs=1e-9)
    at_upper = ~inside & (upper > 0)
    assert (upper[at_upper] <= level + 1e-9).all()
    assert shares[at_upper] == pytest.approx(upper[at_upper], abs=1e-12)
    assert plan.hhi_before == pytest.approx(EXPECTED[("DEU", "850511")][2], abs=1e-6)
    assert plan.hhi_after == pytest.approx(float(shares @ shares))
    assert mix.loc["CHN", "binding"] == "excluded"
    # JPN may reach .355 of the total (12.4 + 0.5 * 620.0 of 907.7 M USD), PHL .349: both
    # below the .4 cap, so the capacity bounds them, if they bind at all.
    assert set(mix.loc[["JPN", "PHL"], "binding"]) <= {"capacity", ""}


def test_compare_japan_and_germany(atlas: Workspace) -> None:
    result = atlas.compare(["JPN", "DEU"])
    best = result.best_practice.set_index(["product", "partner"])
    # 850511: JPN HHI .312262 beats DEU .685087, so JPN is the best practice.
    assert best.loc[("850511", "JPN"), "is_best"]
    assert best.loc[("850511", "DEU"), "best_partner"] == "JPN"
    assert best.loc[("850511", "DEU"), "hhi_gap"] == pytest.approx(0.685087 - 0.312262, abs=2e-6)
    # A shared chokepoint needs both HHIs above .4 with the same top supplier: 850511 has
    # different top suppliers (PHL, CHN) and 250490 a DEU HHI of .34, so neither is shared.
    assert not {"850511", "250490"} & set(result.shared["product"])
    assert set(result.by_sector.columns) >= {"sector", "shared_products", "compared_products"}
