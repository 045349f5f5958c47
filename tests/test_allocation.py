"""Properties of the shared spare capacity of cut-offs, on random worlds (issue #10).

For every cut-off and product, the importers hit never get more than the world's pool, each
importer's shortfall is what it lost less what it got, and the stress test's rows are each
importer's part of the same world-wide cut-off as ``shock``. The pool is recomputed here with
pandas from its definition (docs/methods/scenarios.md), not taken from the code.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chokepoints.analysis import scenario as sc
from chokepoints.analysis.stress import stress_test
from compiled import WORLD, CompiledOnce

COUNTRIES = ["CHN", "JPN", "DEU", "USA", "KOR", "AUS"]
PRODUCTS = ["850511", "283691"]

flows_strategy = st.lists(
    st.tuples(
        st.sampled_from(COUNTRIES),
        st.sampled_from(COUNTRIES),
        st.sampled_from(PRODUCTS),
        st.floats(min_value=1.0, max_value=1000.0, allow_nan=False),
    ).filter(lambda row: row[0] != row[1]),
    min_size=1,
    max_size=25,
    unique_by=lambda row: row[:3],
)


def world(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    """A flows frame of 2022 from (exporter, importer, product, value) rows."""
    frame = pd.DataFrame(rows, columns=["exporter", "importer", "product", "value_usd"])
    return frame.assign(year=2022, quantity_t=1.0).astype({"year": "int16"})


def pool(frame: pd.DataFrame, supplier: str, product: str, hit: set[str], redirect: float) -> float:
    """``redirect`` x the sales of exporters other than ``supplier`` to importers not hit."""
    mine = frame[frame["product"] == product]
    spare = mine[(mine["exporter"] != supplier) & ~mine["importer"].isin(hit)]
    return redirect * float(spare["value_usd"].sum())


#: The analyses over a ``world`` of flows and the ``sectors`` of ``PRODUCTS`` (loaded once), each
#: compiled once for all the examples that ask it.
ONCE = CompiledOnce({"world": WORLD, "sectors": {"product": "string", "sector": "string"}})
ONCE.load(sectors=pd.DataFrame({"product": PRODUCTS, "sector": PRODUCTS}))


def cut_off(supplier: str) -> sc.ResolvedShock:
    """All of ``supplier``'s sales of ``PRODUCTS`` lost."""
    return sc.ResolvedShock(supplier, (supplier,), tuple(PRODUCTS), None, 1.0)


@settings(max_examples=40, deadline=None)
@given(
    rows=flows_strategy,
    supplier=st.sampled_from(COUNTRIES),
    fraction=st.sampled_from([0.3, 1.0]),
    redirect=st.sampled_from([0.0, 0.5, 1.0]),
    only=st.sets(st.sampled_from(COUNTRIES), max_size=3),
)
def test_importers_hit_share_one_pool(
    rows: list[tuple[str, str, str, float]],
    supplier: str,
    fraction: float,
    redirect: float,
    only: set[str],
) -> None:
    frame = world(rows)
    importers = tuple(sorted(only)) or None
    shock = sc.ResolvedShock(supplier, (supplier,), tuple(PRODUCTS), importers, fraction)
    ONCE.load(world=frame)
    result = ONCE.query(
        lambda table, _: sc.direct_impact(table, 2022, shock, redirect_fraction=redirect),
        ("pro rata", shock, redirect),
    )
    cut = frame[frame["exporter"] == supplier]
    if importers is not None:
        cut = cut[cut["importer"].isin(importers)]
    for product, rows_of in result.groupby("product"):
        hit = set(rows_of["importer"])
        assert hit == set(cut[cut["product"] == product]["importer"])
        spare = pool(frame, supplier, product, hit, redirect)
        assert rows_of["shared_spare_usd"].iloc[0] == pytest.approx(spare)
        lost = rows_of["lost_value_usd"]
        assert lost.sum() == pytest.approx(
            fraction * cut[cut["product"] == product]["value_usd"].sum()
        )
        redirected = rows_of["redirectable_value_usd"]
        assert redirected.sum() <= spare + 1e-9
        assert redirected.sum() == pytest.approx(min(lost.sum(), spare))
        assert (redirected <= lost + 1e-9).all()
        # Pro rata: every importer keeps the same share of its loss.
        kept = (redirected / lost).to_numpy()
        assert kept == pytest.approx(kept[0])
    assert list(result["shortfall_value_usd"]) == pytest.approx(
        list(result["lost_value_usd"] - result["redirectable_value_usd"])
    )
    optimistic = ONCE.query(
        lambda table, _: sc.direct_impact(
            table, 2022, shock, redirect_fraction=redirect, allocation="per_importer"
        ),
        ("per importer", shock, redirect),
    )
    for row in optimistic.itertuples():
        assert row.redirectable_value_usd == pytest.approx(
            min(row.lost_value_usd, row.shared_spare_usd)
        )


@settings(max_examples=20, deadline=None)
@given(rows=flows_strategy)
def test_stress_rows_are_the_world_wide_shock(rows: list[tuple[str, str, str, float]]) -> None:
    frame = world(rows)
    ONCE.load(world=frame)
    stress = ONCE.query(lambda table, sectors: stress_test(table, 2022, sectors), "stress")
    for supplier in sorted(set(frame["exporter"])):
        impact = ONCE.query(
            lambda table, _, s=supplier: sc.direct_impact(table, 2022, cut_off(s)), supplier
        )
        mine = stress[stress["supplier"] == supplier].set_index(["importer", "sector"])
        assert len(mine) == len(impact)
        for row in impact.itertuples():
            other = mine.loc[(row.importer, row.product)]
            assert other["lost_value_usd"] == pytest.approx(row.lost_value_usd)
            assert other["redirectable_value_usd"] == pytest.approx(row.redirectable_value_usd)
        # Over the importers, never more than the pool.
        for product in PRODUCTS:
            hit = set(
                frame[(frame["exporter"] == supplier) & (frame["product"] == product)]["importer"]
            )
            given_out = (
                mine.xs(product, level="sector")["redirectable_value_usd"].sum() if hit else 0.0
            )
            assert given_out <= pool(frame, supplier, product, hit, 0.5) + 1e-9
