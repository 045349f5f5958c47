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
    # Magnets: JPN buys 80 from CHN and 20 from AUS; the USA 40 from CHN and 30 from AUS; KOR
    # 40 from AUS and 20 from VNM. World exports 230.
    # CHN cut off from the world: JPN loses 80 and the USA 40 (120 in all). The pool is what
    # the others sell to importers CHN does not supply (KOR: 40 + 20 = 60), half redirectable:
    # 30, shared pro rata: JPN 80 * 30/120 = 20 (shortfall 60), USA 40 * 30/120 = 10 (30).
    # AUS cut off: every importer buys from AUS, so nothing is spare: shortfall = lost.
    # VNM cut off: KOR loses 20; the pool is JPN's and the USA's 170, half 85: all redirected.
    flows = world(
        [
            ("CHN", "JPN", "850511", 80.0),
            ("AUS", "JPN", "850511", 20.0),
            ("AUS", "USA", "850511", 30.0),
            ("CHN", "USA", "850511", 40.0),
            ("AUS", "KOR", "850511", 40.0),
            ("VNM", "KOR", "850511", 20.0),
        ]
    )
    rows = rows_by(stress_test(flows, 2022, SECTORS))
    jpn_chn = rows[("JPN", "magnets", "CHN")]
    assert (
        jpn_chn["lost_value_usd"],
        jpn_chn["redirectable_value_usd"],
        jpn_chn["shortfall_value_usd"],
    ) == pytest.approx((80.0, 20.0, 60.0))
    assert jpn_chn["lost_share"] == pytest.approx(0.8)
    assert jpn_chn["shortfall_share"] == pytest.approx(0.6)
    assert jpn_chn["rank"] == 1
    usa_chn = rows[("USA", "magnets", "CHN")]
    assert (usa_chn["redirectable_value_usd"], usa_chn["shortfall_value_usd"]) == pytest.approx(
        (10.0, 30.0)
    )
    jpn_aus = rows[("JPN", "magnets", "AUS")]
    assert (jpn_aus["redirectable_value_usd"], jpn_aus["shortfall_value_usd"]) == (0.0, 20.0)
    assert jpn_aus["rank"] == 2
    kor_vnm = rows[("KOR", "magnets", "VNM")]
    assert (kor_vnm["redirectable_value_usd"], kor_vnm["shortfall_value_usd"]) == (20.0, 0.0)
    # The optimistic bound offers each importer the whole pool of 30: JPN 30, the USA 30.
    optimistic = rows_by(stress_test(flows, 2022, SECTORS, allocation="per_importer"))
    assert optimistic[("JPN", "magnets", "CHN")]["redirectable_value_usd"] == 30.0
    assert optimistic[("USA", "magnets", "CHN")]["redirectable_value_usd"] == 30.0


def test_hit_importers_share_one_pool_and_conservation() -> None:
    # KOR buys 60 of cells from CHN and sells 100 itself to the USA, which CHN does not supply.
    # Cut off by CHN: the pool is half of the 100 sold to the USA, 50, all of it KOR's (the
    # only importer hit): redirectable 50, shortfall 10.
    flows = world([("CHN", "KOR", "850760", 60.0), ("KOR", "USA", "850760", 100.0)])
    rows = rows_by(stress_test(flows, 2022, SECTORS))
    kor = rows[("KOR", "batteries", "CHN")]
    assert (kor["lost_value_usd"], kor["redirectable_value_usd"]) == (60.0, 50.0)
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
