"""Alternative markets for an exporter, on a hand-computed world."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from chokepoints.analysis.diversify import alternative_markets


def test_alternative_markets_by_hand() -> None:
    # Japan's magnet sales. CHN imported 100 in 2020 (JPN 60, USA 40) and 121 in 2022
    # (JPN 80, DEU 41): growth (121/100)^(1/2) - 1 = 0.1; HHI (80^2 + 41^2) / 121^2 = 0.55194;
    # Japan's share 80/121. USA imports 100 in 2022 only (CHN 50, JPN 50): HHI 0.5, no growth.
    # JPN's own imports (from KOR) are not a market for JPN.
    rows = [
        (2020, "JPN", "CHN", 60.0),
        (2020, "USA", "CHN", 40.0),
        (2022, "JPN", "CHN", 80.0),
        (2022, "DEU", "CHN", 41.0),
        (2022, "CHN", "USA", 50.0),
        (2022, "JPN", "USA", 50.0),
        (2022, "KOR", "JPN", 30.0),
    ]
    frame = pd.DataFrame(rows, columns=["year", "exporter", "importer", "value_usd"])
    frame = frame.assign(product="850511", quantity_t=float("nan")).astype({"year": "int16"})
    result = alternative_markets(ibis.memtable(frame), "JPN", "850511", [2020, 2021, 2022])
    table = result.to_pandas().set_index("importer")
    assert list(table.sort_values("rank").index) == ["CHN", "USA"]
    china = table.loc["CHN"]
    assert china["import_value_usd"] == 121.0
    assert china["growth"] == pytest.approx(0.1)
    assert china["hhi"] == pytest.approx((80**2 + 41**2) / 121**2)
    assert china["exporter_share"] == pytest.approx(80 / 121)
    usa = table.loc["USA"]
    assert usa["hhi"] == pytest.approx(0.5) and pd.isna(usa["growth"])
    assert usa["exporter_sales_usd"] == 50.0
