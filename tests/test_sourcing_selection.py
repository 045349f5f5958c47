"""The sourcing optimiser's min_share and max_new_suppliers: hand-solved cases and brute force.

The reference enumerates every set of suppliers that may get a share (at most
``max_new_suppliers`` entrants, every supplier that max_change keeps) and solves the continuous
problem on each with HiGHS's QP solver (``qp_reference``), a different algorithm from the
greedy choice and water-filling under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from chokepoints.analysis.sourcing import optimise_many, optimise_sourcing
from chokepoints.errors import InputError
from test_sourcing import qp_reference

#: 3 current suppliers and 4 candidates, T = 100. Upper bounds (current + capacity / 2, in
#: shares): A 1.1, B .8, C .6, D .2, E .1, F .03, G .005.
SEVEN = pd.DataFrame(
    {
        "supplier": list("ABCDEFG"),
        "current_usd": [60.0, 30.0, 10.0, 0.0, 0.0, 0.0, 0.0],
        "capacity_usd": [100.0, 100.0, 100.0, 40.0, 20.0, 6.0, 1.0],
    }
)


def shares_of(plan_mix: pd.DataFrame) -> dict[str, float]:
    """Supplier -> new share of a plan's mix."""
    return dict(zip(plan_mix["supplier"], plan_mix["new_share"], strict=True))


def test_default_min_share_leaves_out_a_sliver() -> None:
    # min_share 0: D, E, F, G sit at their bounds (.335 together), A, B, C split .665.
    # Default 1%: G (at most .005) cannot reach 1%: out; A, B, C split .67: .22333 each.
    # HHI 3 * (.67 / 3)^2 + .2^2 + .1^2 + .03^2 = .1496333 + .0509 = .2005333.
    continuous = optimise_sourcing(SEVEN, min_share=0.0)
    assert shares_of(continuous.mix)["G"] == pytest.approx(0.005)
    assert continuous.hhi_after == pytest.approx(3 * (0.665 / 3) ** 2 + 0.050925)
    assert (continuous.suppliers_after, continuous.new_suppliers) == (7, 4)
    plan = optimise_sourcing(SEVEN)
    assert shares_of(plan.mix) == pytest.approx(
        {"A": 0.67 / 3, "B": 0.67 / 3, "C": 0.67 / 3, "D": 0.2, "E": 0.1, "F": 0.03, "G": 0.0}
    )
    assert plan.hhi_after == pytest.approx(0.2005333, abs=1e-7)
    assert dict(zip(plan.mix["supplier"], plan.mix["binding"], strict=True))["G"] == "min_share"
    assert (plan.suppliers_before, plan.suppliers_after, plan.new_suppliers) == (3, 6, 3)
    assert plan.parameters["min_share"] == 0.01 and plan.parameters["max_new_suppliers"] is None


@pytest.mark.parametrize(
    ("cap", "entrants", "hhi"),
    [
        # One entrant: D, the largest bound (.2); A, B, C split .8: 3 * (.8/3)^2 + .04.
        (1, {"D": 0.2}, 3 * (0.8 / 3) ** 2 + 0.04),
        # Two: D and E (.3); A, B, C split .7: 3 * (.7/3)^2 + .04 + .01.
        (2, {"D": 0.2, "E": 0.1}, 3 * (0.7 / 3) ** 2 + 0.05),
        # None: A, B, C at 1/3 each.
        (0, {}, 1 / 3),
    ],
)
def test_max_new_suppliers_takes_the_largest_entrants(
    cap: int, entrants: dict[str, float], hhi: float
) -> None:
    plan = optimise_sourcing(SEVEN, max_new_suppliers=cap)
    shares = shares_of(plan.mix)
    assert {s: v for s, v in shares.items() if s in "DEFG" and v > 0} == pytest.approx(entrants)
    assert plan.hhi_after == pytest.approx(hhi)
    assert (plan.suppliers_after, plan.new_suppliers) == (3 + cap, cap)
    left = {s for s, b in zip(plan.mix["supplier"], plan.mix["binding"], strict=True) if b}
    assert left >= set("DEF") - set(entrants)


def test_min_share_limits_the_number_of_suppliers() -> None:
    # Ten suppliers, ample capacity, min_share .3: at most 3 slots (3 * .3 <= 1 < 4 * .3);
    # the three largest bounds (current + capacity / 2) are J, I, H, at 1/3 each.
    rows = pd.DataFrame(
        {
            "supplier": list("ABCDEFGHIJ"),
            "current_usd": [10.0] * 10,
            "capacity_usd": [100.0 + 10 * k for k in range(10)],
        }
    )
    plan = optimise_sourcing(rows, min_share=0.3)
    shares = shares_of(plan.mix)
    assert {s: v for s, v in shares.items() if v > 0} == pytest.approx(
        {"J": 1 / 3, "I": 1 / 3, "H": 1 / 3}
    )
    assert (plan.suppliers_before, plan.suppliers_after, plan.new_suppliers) == (10, 3, 0)


def test_a_current_supplier_under_min_share_is_dropped_or_raised() -> None:
    # B supplies .5 of 100 (.5%). With capacity .4 it may reach .7%, under 1%: dropped, A (at
    # most 104.5) takes all. With capacity 10 it may reach 5.5%: raised to that bound.
    small = pd.DataFrame(
        {"supplier": ["A", "B"], "current_usd": [99.5, 0.5], "capacity_usd": [10.0, 0.4]}
    )
    plan = optimise_sourcing(small)
    assert shares_of(plan.mix) == pytest.approx({"A": 1.0, "B": 0.0})
    assert plan.mix["binding"].tolist() == ["", "min_share"]
    assert (plan.suppliers_before, plan.suppliers_after, plan.new_suppliers) == (2, 1, 0)
    plan = optimise_sourcing(small.assign(capacity_usd=[10.0, 10.0]))
    assert shares_of(plan.mix) == pytest.approx({"A": 0.945, "B": 0.055})


def test_infeasible_choices_are_explained() -> None:
    # Three current suppliers capped at .3 offer 90 of 100; with no entrant allowed no mix
    # exists, though D could take the rest.
    rows = SEVEN.iloc[:4]
    plan = optimise_sourcing(rows, max_share=0.3, max_new_suppliers=0)
    assert not plan.feasible and plan.suppliers_after is None
    assert plan.explanation == (
        "with shares of at least 1% (min_share) and at most 0 new suppliers "
        "(max_new_suppliers), 3 suppliers (0 new) offer 90 USD of capacity for 100 USD of "
        "imports (bounded by max_share)"
    )
    assert optimise_sourcing(rows, max_share=0.3, max_new_suppliers=1).feasible
    # B (.5 M of 100 M) must keep .4 M (max_change .1%) but may reach only .6 M, under 1%.
    small = pd.DataFrame(
        {"supplier": ["A", "B"], "current_usd": [99.5e6, 0.5e6], "capacity_usd": [0.0, 0.4e6]}
    )
    plan = optimise_sourcing(small, max_change=0.001)
    assert plan.explanation == (
        "B must keep at least 400,000 USD (max_change) but may supply at most 600,000 USD "
        "(max_change), below min_share (1% of imports)"
    )


def test_contradictory_parameters_are_input_errors() -> None:
    with pytest.raises(InputError, match=r"min_share 0\.5 exceeds max_share 0\.4"):
        optimise_sourcing(SEVEN, min_share=0.5, max_share=0.4)
    with pytest.raises(InputError, match=r"min_share is 1\.5"):
        optimise_sourcing(SEVEN, min_share=1.5)
    with pytest.raises(InputError, match="max_new_suppliers is -1"):
        optimise_sourcing(SEVEN, max_new_suppliers=-1)


def test_an_excluded_supplier_gets_no_share() -> None:
    # A (60 today) excluded, D excluded though it supplies nothing: both stay at zero.
    plan = optimise_sourcing(SEVEN, exclude=["A", "D"])
    shares = shares_of(plan.mix)
    assert shares["A"] == 0.0 and shares["D"] == 0.0
    assert (plan.suppliers_after, plan.new_suppliers) == (4, 2)  # B, C, E, F


def reference(
    lower: np.ndarray,
    upper: np.ndarray,
    weights: np.ndarray,
    entrant: np.ndarray,
    min_share: float,
    cap: int | None,
) -> float | None:
    """The least ``sum w s^2`` over every admissible set of suppliers, or None if none fits."""
    n = len(lower)
    kept = lower > 0
    best = None
    for size in range(1, n + 1):
        for chosen in itertools.combinations(range(n), size):
            inside = np.zeros(n, dtype=bool)
            inside[list(chosen)] = True
            if (kept & ~inside).any() or (cap is not None and (inside & entrant).sum() > cap):
                continue
            lo = np.maximum(lower[inside], min_share)
            hi = upper[inside]
            if (lo > hi + 1e-12).any() or lo.sum() > 1 + 1e-12 or hi.sum() < 1 - 1e-12:
                continue
            shares = qp_reference(lo, hi, weights[inside])
            if shares is not None:
                cost = float((shares**2 * weights[inside]).sum())
                best = cost if best is None else min(best, cost)
    return best


def random_instance(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, object]]:
    """Three current suppliers and three candidates with random bounds and options."""
    current = np.r_[rng.integers(1, 60, size=3), np.zeros(3)].astype(float)
    current = 100 * current / current.sum()
    frame = pd.DataFrame(
        {
            "supplier": [f"S{c}" for c in range(6)],
            "current_usd": current,
            "capacity_usd": rng.integers(0, 80, size=6).astype(float),
            "wgi_scaled": rng.uniform(1.0, 9.0, size=6),
        }
    )
    options = {
        "min_share": float(rng.choice([0.0, 0.05, 0.1, 0.2, 0.3])),
        "max_new_suppliers": [None, 0, 1, 2][int(rng.integers(0, 4))],
        "max_share": [None, 0.3, 0.45][int(rng.integers(0, 3))],
        "max_change": [None, 0.15, 0.3][int(rng.integers(0, 3))],
        "exclude": ["S0"] if rng.random() < 0.2 else [],
    }
    if options["max_share"] is not None and options["min_share"] > options["max_share"]:
        options["min_share"] = 0.0
    return frame, options


def bounds_of(frame: pd.DataFrame, options: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper share bounds of the continuous constraints, written out again."""
    before = frame["current_usd"].to_numpy() / 100
    upper = before + 0.5 * frame["capacity_usd"].to_numpy() / 100
    lower = np.zeros(len(frame))
    if options["max_share"] is not None:
        upper = np.minimum(upper, options["max_share"])
    if options["max_change"] is not None:
        upper = np.minimum(upper, before + options["max_change"])
        lower = np.clip(before - options["max_change"], 0.0, None)
    upper = np.where(frame["supplier"].isin(options["exclude"]), 0.0, upper)
    return lower, upper


@pytest.mark.parametrize("seed", [11, 12])
def test_hhi_choice_is_the_brute_force_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(60):
        frame, options = random_instance(rng)
        plan = optimise_sourcing(frame.drop(columns="wgi_scaled"), **options)
        lower, upper = bounds_of(frame, options)
        entrant = frame["current_usd"].to_numpy() == 0
        m, cap = options["min_share"], options["max_new_suppliers"]
        best = reference(lower, upper, np.ones(6), entrant, m, cap)
        assert plan.feasible == (best is not None), options
        if best is None:
            assert plan.explanation
            continue
        shares = plan.mix["new_share"].to_numpy()
        assert shares.sum() == pytest.approx(1.0, abs=1e-12)
        assert ((shares == 0) | (shares >= m - 1e-12)).all()
        assert (shares >= lower - 1e-12).all() and (shares <= upper + 1e-12).all()
        assert cap is None or ((shares > 0) & entrant).sum() <= cap
        assert plan.hhi_after == pytest.approx(best, rel=1e-7, abs=1e-10), options


def test_hhi_wgi_choice_is_within_its_bound() -> None:
    # The heuristic is never better than the optimum (it is a feasible mix) and within
    # max w / min w of it; the batch gives the same as one product at a time.
    rng = np.random.default_rng(21)
    products = []
    for p in range(60):
        frame, options = random_instance(rng)
        options["max_share"] = options["max_change"] = None
        plan = optimise_sourcing(frame, objective="hhi_wgi", **options)
        lower, upper = bounds_of(frame, options)
        weights = frame["wgi_scaled"].to_numpy()
        entrant = frame["current_usd"].to_numpy() == 0
        m, cap = options["min_share"], options["max_new_suppliers"]
        best = reference(lower, upper, weights, entrant, m, cap)
        assert plan.feasible == (best is not None)
        if best is None:
            continue
        shares = plan.mix["new_share"].to_numpy()
        assert ((shares == 0) | (shares >= m - 1e-12)).all()
        assert cap is None or ((shares > 0) & entrant).sum() <= cap
        assert best - 1e-9 <= plan.hhi_wgi_after <= best * weights.max() / weights.min() + 1e-9
        products.append((f"P{p}", frame, options, plan))
    # Same options across the batch: min_share .1, at most one entrant.
    batch = pd.concat([f.assign(product=p) for p, f, _, _ in products], ignore_index=True)
    batch = batch.rename(columns={"supplier": "exporter"})
    summary, _ = optimise_many(batch, objective="hhi_wgi", min_share=0.1, max_new_suppliers=1)
    for p, frame, _, _ in products:
        single = optimise_sourcing(frame, objective="hhi_wgi", min_share=0.1, max_new_suppliers=1)
        row = summary.set_index("product").loc[p]
        assert row["feasible"] == single.feasible
        if single.feasible:
            assert row["hhi_wgi_after"] == pytest.approx(single.hhi_wgi_after, rel=1e-12)
            assert row["suppliers_after"] == single.suppliers_after


def test_batch_explains_an_infeasible_choice_in_any_product() -> None:
    # P1 is SEVEN (feasible); P2 is its first four rows with max_share .3 and no entrant:
    # A, B, C offer 90 of 100, as in test_infeasible_choices_are_explained.
    batch = pd.concat(
        [SEVEN.assign(product="P1"), SEVEN.iloc[:4].assign(product="P2")], ignore_index=True
    ).rename(columns={"supplier": "exporter"})
    summary, _ = optimise_many(batch, max_share=0.3, max_new_suppliers=0)
    p1, p2 = summary.to_dict("records")
    assert not p1["feasible"]  # the same three suppliers, the same 90 of 100
    assert not p2["feasible"]
    assert "3 suppliers (0 new) offer 90 USD of capacity for 100 USD" in p2["explanation"]
    summary, _ = optimise_many(batch, max_share=0.3, max_new_suppliers=1)
    # P1 with one entrant: D (.2) joins A, B, C at .8 / 3 each (under .3); P2 the same.
    assert summary["feasible"].tolist() == [True, True]
    assert summary["suppliers_after"].tolist() == [4, 4]
    assert summary["new_suppliers"].tolist() == [1, 1]
    assert summary["hhi_after"].tolist() == pytest.approx([3 * (0.8 / 3) ** 2 + 0.04] * 2)
