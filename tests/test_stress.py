"""The batch stress test on hand-computed worlds."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from chokepoints.analysis.stress import stress_test


def world(rows: list[tuple[str, str, str, float]]) -> ibis.Table:
    frame = pd.DataFrame(rows, columns=["exporter", "importer", "product", "value_usd"])
    frame = frame.assign(year=2022, quantity_t=float("nan")).astype({"year": "int16"})
    return ibis.memtable(frame)


SECTORS = ibis.memtable(
    pd.DataFrame(
        {"product": ["850511", "850760", "850760"], "sector": ["magnets", "batteries", "ev_inputs"]}
    )
)


def rows_by(table: ibis.Table) -> dict[tuple[str, str, str], dict]:
    frame = table.to_pandas()
    return {(r.importer, r.sector, r.supplier): r._asdict() for r in frame.itertuples()}


def test_loss_redirection_and_shortfall_by_hand() -> None:
    # Magnets: JPN buys 80 from CHN and 20 from AUS; AUS also sells 30 to the USA; CHN 40.
    # World exports 170: CHN 120, AUS 50.
    # JPN cut off by CHN: lost 80. Others' sales to third countries: 170 - 120 (CHN) - 0 (JPN's
    # own) - 20 (AUS already sells JPN) = 30; half is redirectable: 15; shortfall 65.
    # JPN cut off by AUS: lost 20; spare 170 - 50 - 0 - 80 = 40, half 20: all of it redirectable.
    # USA cut off by CHN: lost 40; spare 170 - 120 - 0 - 30 = 20, half 10; shortfall 30.
    flows = world(
        [
            ("CHN", "JPN", "850511", 80.0),
            ("AUS", "JPN", "850511", 20.0),
            ("AUS", "USA", "850511", 30.0),
            ("CHN", "USA", "850511", 40.0),
        ]
    )
    rows = rows_by(stress_test(flows, 2022, SECTORS))
    jpn_chn = rows[("JPN", "magnets", "CHN")]
    assert (
        jpn_chn["lost_value_usd"],
        jpn_chn["redirectable_value_usd"],
        jpn_chn["shortfall_value_usd"],
    ) == (80.0, 15.0, 65.0)
    assert jpn_chn["lost_share"] == pytest.approx(0.8)
    assert jpn_chn["shortfall_share"] == pytest.approx(0.65)
    assert jpn_chn["rank"] == 1
    jpn_aus = rows[("JPN", "magnets", "AUS")]
    assert (jpn_aus["redirectable_value_usd"], jpn_aus["shortfall_value_usd"]) == (20.0, 0.0)
    assert jpn_aus["rank"] == 2
    usa_chn = rows[("USA", "magnets", "CHN")]
    assert (usa_chn["redirectable_value_usd"], usa_chn["shortfall_value_usd"]) == (10.0, 30.0)


def test_importers_own_exports_are_not_spare_capacity_and_conservation() -> None:
    # KOR buys 60 of cells from CHN and sells 100 itself to USA. Cut off by CHN: world exports
    # 160 - CHN 60 - KOR's own 100 - 0 = 0 spare: shortfall = lost = 60.
    flows = world([("CHN", "KOR", "850760", 60.0), ("KOR", "USA", "850760", 100.0)])
    rows = rows_by(stress_test(flows, 2022, SECTORS))
    kor = rows[("KOR", "batteries", "CHN")]
    assert (kor["lost_value_usd"], kor["redirectable_value_usd"]) == (60.0, 0.0)
    # A product in two sectors counts in each of them.
    assert rows[("KOR", "ev_inputs", "CHN")]["lost_value_usd"] == 60.0
    for row in rows.values():
        assert row["redirectable_value_usd"] + row["shortfall_value_usd"] == pytest.approx(
            row["lost_value_usd"]
        )


def test_partial_fraction_and_other_years_ignored() -> None:
    flows = world([("CHN", "JPN", "850511", 80.0), ("AUS", "JPN", "850511", 20.0)])
    older = flows.mutate(year=ibis.literal(2021).cast("int16"), value_usd=flows.value_usd * 10)
    rows = rows_by(
        stress_test(flows.union(older), 2022, SECTORS, fraction=0.5, redirect_fraction=0.0)
    )
    chn = rows[("JPN", "magnets", "CHN")]
    assert (chn["lost_value_usd"], chn["shortfall_value_usd"]) == (40.0, 40.0)
    assert chn["sector_imports_usd"] == 100.0
