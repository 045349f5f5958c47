"""The batch sourcing optimiser against HiGHS's QP solver, product by product, and by hand.

The reference solves each product's quadratic programme independently with ``highspy`` (the
HiGHS QP solver, a different algorithm from the water-filling under test).
"""

from __future__ import annotations

import highspy
import numpy as np
import pandas as pd
import pytest

from chokepoints.analysis.sourcing import optimise_many, optimise_sourcing
from chokepoints.errors import InputError


def qp_reference(lower: np.ndarray, upper: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
    """HiGHS's minimiser of ``sum w s^2`` over ``lower <= s <= upper``, ``sum s = 1``, or None."""
    h = highspy.Highs()
    h.silent()
    n = len(lower)
    for lo, hi in zip(lower, upper, strict=True):
        h.addVar(float(lo), float(hi))
    h.addRow(1.0, 1.0, n, np.arange(n, dtype=np.int32), np.ones(n))
    diagonal = np.arange(n, dtype=np.int32)
    h.passHessian(n, n, highspy.HessianFormat.kTriangular, diagonal, diagonal, 2.0 * weights)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.array(h.getSolution().col_value)


def random_batch(rng: np.random.Generator, products: int) -> pd.DataFrame:
    """Products with 1-9 suppliers, some of them new, with random capacities and WGI scores."""
    rows = []
    for p in range(products):
        for c in range(int(rng.integers(1, 10))):
            rows.append(
                {
                    "product": f"{p:06d}",
                    "exporter": f"S{c}",
                    "current_usd": float(rng.choice([0.0, rng.uniform(1, 100)])),
                    "capacity_usd": float(rng.uniform(0, 150)),
                    "wgi_scaled": float(rng.uniform(0.5, 9.5)),
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("objective", ["hhi", "hhi_wgi"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_matches_highs_qp_per_product(objective: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    batch = random_batch(rng, 120)
    # The continuous problem: min_share 0 lets every supplier take a sliver.
    options = {
        "min_share": 0.0,
        "objective": objective,
        "max_share": [None, 0.4, 0.6][seed - 1],
        "max_change": [0.3, None, 0.5][seed - 1],
        "exclude": ["S0"] if seed != 2 else [],
    }
    summary, mixes = optimise_many(batch, **options)
    assert len(summary) == batch["product"].nunique()
    for product, group in batch.groupby("product"):
        total = group["current_usd"].sum()
        row = summary.set_index("product").loc[product]
        if total == 0:
            assert not row["feasible"]
            continue
        before = group["current_usd"].to_numpy() / total
        upper = before + 0.5 * group["capacity_usd"].to_numpy() / total
        lower = np.zeros(len(group))
        if options["max_share"] is not None:
            upper = np.minimum(upper, options["max_share"])
        if options["max_change"] is not None:
            upper = np.minimum(upper, before + options["max_change"])
            lower = np.clip(before - options["max_change"], 0.0, None)
        upper = np.where(group["exporter"].isin(options["exclude"]), 0.0, upper)
        weights = group["wgi_scaled"].to_numpy() if objective == "hhi_wgi" else np.ones(len(group))
        if (lower > upper + 1e-12).any():
            assert not row["feasible"] and row["explanation"]
            continue
        reference = qp_reference(lower, upper, weights)
        assert row["feasible"] == (reference is not None), product
        if reference is None:
            assert row["explanation"]
            continue
        shares = mixes.loc[mixes["product"] == product, "new_share"].to_numpy()
        assert shares.sum() == pytest.approx(1.0, abs=1e-12)
        assert (shares >= lower - 1e-12).all() and (shares <= upper + 1e-12).all()
        assert (shares**2 * weights).sum() == pytest.approx(
            (reference**2 * weights).sum(), rel=1e-7, abs=1e-10
        )
        # The objective is strictly convex, so the minimiser is unique.
        assert shares == pytest.approx(reference, abs=1e-5)
        assert row["hhi_after"] == pytest.approx((shares**2).sum())


def test_batch_equals_one_product_at_a_time() -> None:
    rng = np.random.default_rng(7)
    batch = random_batch(rng, 40)
    summary, mixes = optimise_many(batch, max_share=0.5, exclude=["S1"], max_new_suppliers=2)
    for product, group in batch.groupby("product"):
        single = optimise_sourcing(
            group.rename(columns={"exporter": "supplier"}).drop(columns="product"),
            max_share=0.5,
            exclude=["S1"],
            max_new_suppliers=2,
        )
        row = summary.set_index("product").loc[product]
        assert row["feasible"] == single.feasible
        assert row["explanation"] == single.explanation
        mine = mixes[mixes["product"] == product]
        assert mine["new_share"].to_numpy() == pytest.approx(
            single.mix["new_share"].to_numpy(), nan_ok=True
        )
        assert mine["binding"].tolist() == single.mix["binding"].tolist()
        assert row["suppliers_before"] == single.suppliers_before
        assert (row["suppliers_after"] if row["feasible"] else None) == single.suppliers_after


def test_free_suppliers_fill_first() -> None:
    # WGI 0 costs nothing under hhi_wgi. A (w 0) may reach 10 + .5 * 40 = 30 of 100: A .3,
    # then B and C (w 2 each) split .7 equally: .35 each. HHI_WGI = 2 * .35^2 * 2 = .49.
    rows = [("A", 10.0, 40.0, 0.0), ("B", 50.0, 500.0, 2.0), ("C", 40.0, 500.0, 2.0)]
    current = pd.DataFrame(rows, columns=["supplier", "current_usd", "capacity_usd", "wgi_scaled"])
    plan = optimise_sourcing(current, objective="hhi_wgi")
    assert plan.mix["new_share"].tolist() == pytest.approx([0.3, 0.35, 0.35])
    assert plan.hhi_wgi_after == pytest.approx(0.49)
    # With room for everything, A takes all: A 10 + .5 * 400 = 210 >= 100.
    current.loc[0, "capacity_usd"] = 400.0
    plan = optimise_sourcing(current, objective="hhi_wgi")
    assert plan.mix["new_share"].tolist() == pytest.approx([1.0, 0.0, 0.0])
    assert plan.hhi_wgi_after == pytest.approx(0.0)


def test_batch_summary_names_the_infeasible_product() -> None:
    # P1: three suppliers capped at .3 cover 90 of 100. P2: four equal suppliers stay at .25.
    batch = pd.DataFrame(
        [
            ("P1", "A", 70.0, 1e3),
            ("P1", "B", 20.0, 1e3),
            ("P1", "C", 10.0, 1e3),
            ("P2", "A", 5.0, 1e3),
            ("P2", "B", 5.0, 1e3),
            ("P2", "C", 5.0, 1e3),
            ("P2", "D", 5.0, 1e3),
        ],
        columns=["product", "exporter", "current_usd", "capacity_usd"],
    )
    summary, mixes = optimise_many(batch, max_share=0.3)
    p1, p2 = summary.to_dict("records")
    assert not p1["feasible"]
    assert p1["explanation"] == (
        "the bounds leave 90 USD of capacity for 100 USD of imports (bounded by max_share)"
    )
    assert p2["feasible"] and p2["hhi_after"] == pytest.approx(0.25)
    assert mixes.loc[mixes["product"] == "P2", "new_usd"].tolist() == pytest.approx([5.0] * 4)
    assert mixes.loc[mixes["product"] == "P1", "new_usd"].isna().all()
    assert np.isnan(p1["hhi_wgi_before"])


def test_batch_rejects_a_supplier_listed_twice() -> None:
    batch = pd.DataFrame(
        [("P1", "A", 1.0, 1.0), ("P1", "A", 2.0, 1.0)],
        columns=["product", "exporter", "current_usd", "capacity_usd"],
    )
    with pytest.raises(InputError, match="listed twice: P1 A"):
        optimise_many(batch)


def test_empty_batch_gives_empty_tables() -> None:
    empty = pd.DataFrame(columns=["product", "exporter", "current_usd", "capacity_usd"])
    summary, mixes = optimise_many(empty)
    assert summary.empty and mixes.empty
    assert "explanation" in summary.columns and "binding" in mixes.columns
