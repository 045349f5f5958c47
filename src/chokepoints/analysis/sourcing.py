"""The least concentrated sourcing mix within reach, for one product or a batch of products.

New supplier amounts ``v_c`` minimise ``HHI = sum_c (v_c / T)^2`` (or ``HHI_WGI = sum_c
(v_c / T)^2 * WGI_c``, EU CRM, JRC 2017) keeping the total ``T``, under capacity, exclusion,
maximum-share and maximum-change bounds (``docs/methods/diversify.md``), with every supplier
at zero or at least ``min_share`` and at most ``max_new_suppliers`` entrants. Every product of
a batch is solved at once on flat arrays: HiGHS (``scipy.optimize.linprog``) finds, in one
elastic LP, the share of each product's imports that no mix within the bounds can place; the
suppliers are chosen greedily (exact for ``"hhi"``, a heuristic for ``"hhi_wgi"``, see
:func:`_choose`), and the optimum on the chosen ones is the KKT water-filling ``s_c =
clip(lambda / w_c, lo_c, hi_c)``, with each product's ``lambda`` found by bisection to machine
precision.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from chokepoints.analysis.risk import NEUTRAL_SCORE
from chokepoints.defaults import DEFAULT_MIN_SHARE
from chokepoints.errors import ChokepointsError, InputError

Objective = Literal["hhi", "hhi_wgi"]

#: Tolerance used to tell whether a share sits at one of its bounds or a product falls short.
BOUND_TOLERANCE = 1e-9

#: Bisection steps for each product's multiplier; 100 halvings reach adjacent floats.
BISECTION_STEPS = 100


#: Columns of :attr:`SourcingPlan.mix` (the batch mix adds ``product`` in front).
MIX_COLUMNS = (
    "supplier",
    "current_usd",
    "new_usd",
    "current_share",
    "new_share",
    "upper_bound",
    "binding",
)

#: Columns of the per-product summary of :func:`optimise_many`.
SUMMARY_COLUMNS = (
    "product",
    "imports_usd",
    "feasible",
    "hhi_before",
    "hhi_after",
    "hhi_wgi_before",
    "hhi_wgi_after",
    "replaced_share",
    "suppliers_before",
    "suppliers_after",
    "new_suppliers",
    "explanation",
)


@dataclass(frozen=True)
class SourcingOptions:
    """The constraints and objective of a sourcing optimisation (see :func:`optimise_sourcing`)."""

    objective: Objective = "hhi"
    redirect_fraction: float = 0.5
    exclude: Collection[str] = ()
    max_share: float | None = None
    max_change: float | None = None
    min_share: float = DEFAULT_MIN_SHARE
    max_new_suppliers: int | None = None

    def parameters(self) -> dict[str, object]:
        """The options as plain values, for provenance."""
        return {
            "objective": self.objective,
            "redirect_fraction": self.redirect_fraction,
            "exclude": sorted(self.exclude),
            "max_share": self.max_share,
            "max_change": self.max_change,
            "min_share": self.min_share,
            "max_new_suppliers": self.max_new_suppliers,
        }

    @property
    def selects(self) -> bool:
        """Whether the suppliers must be chosen (a positive min_share or a cap on entrants)."""
        return self.min_share > 0 or self.max_new_suppliers is not None


@dataclass(frozen=True)
class SourcingPlan:
    """The result of :func:`optimise_sourcing`.

    ``mix`` has one row per supplier (columns :data:`MIX_COLUMNS`; new_usd and new_share are
    NaN when infeasible). ``binding`` names the constraint that sets a supplier's new amount:
    ``capacity``, ``max_share``, ``max_change``, ``excluded``, ``min_share`` (held at it, or
    left out because its room or the slots under it do not allow it) or ``max_new_suppliers``
    (an entrant left out by the cap), else ``""``.
    ``replaced_share`` is the fraction of the risky suppliers' current share (excluded or not
    trusted) that moves to trusted suppliers; NaN when there is no risky share.
    ``hhi_wgi_before`` / ``hhi_wgi_after`` are None without a ``wgi_scaled`` column.
    ``suppliers_before`` / ``suppliers_after`` count the suppliers with a positive share today
    and in the new mix, ``new_suppliers`` those of the new mix that supply nothing today (both
    None when infeasible).
    """

    mix: pd.DataFrame
    objective: Objective
    feasible: bool
    hhi_before: float
    hhi_after: float
    hhi_wgi_before: float | None
    hhi_wgi_after: float | None
    replaced_share: float
    explanation: str
    suppliers_before: int
    suppliers_after: int | None
    new_suppliers: int | None
    parameters: dict[str, object] = field(default_factory=dict)


def optimise_sourcing(
    current: pd.DataFrame,
    *,
    objective: Objective = "hhi",
    redirect_fraction: float = 0.5,
    exclude: Collection[str] = (),
    max_share: float | None = None,
    max_change: float | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
    max_new_suppliers: int | None = None,
) -> SourcingPlan:
    """The supplier mix of least (governance-weighted) concentration that keeps total imports.

    ``current`` has supplier, current_usd, capacity_usd (sales to third countries) and
    optionally wgi_scaled (0-10, missing = 5) and trusted (bool). With ``T = sum current_usd``
    and shares ``s_c = v_c / T`` it minimises ``sum_c w_c s_c^2`` (``w_c = 1`` for ``"hhi"``,
    ``WGI_c`` for ``"hhi_wgi"``) subject to ``sum_c s_c = 1`` and ``lo_c <= s_c <= hi_c``:

    * ``v_c <= current_c + redirect_fraction * capacity_c`` (capacity);
    * ``v_c = 0`` for ``exclude`` (excluded);
    * ``v_c <= max_share * T`` (max_share);
    * ``|v_c - current_c| <= max_change * T`` (max_change, both bounds);
    * ``s_c = 0`` or ``s_c >= min_share``, current suppliers included (min_share; 0 disables);
    * at most ``max_new_suppliers`` suppliers with ``current_c = 0`` get a share (None: no cap).

    The last two make it a mixed-integer problem, solved exactly for ``"hhi"`` and by a
    heuristic with a stated bound for ``"hhi_wgi"`` (:func:`_choose`). Infeasible input
    returns ``feasible=False`` and an ``explanation``, never an exception.
    """
    options = SourcingOptions(
        objective, redirect_fraction, exclude, max_share, max_change, min_share, max_new_suppliers
    )
    frame = _validated(current, ["supplier"], options)
    solved = _solve(frame, np.array([0]), options)
    feasible = bool(solved.feasible[0])
    return SourcingPlan(
        mix=solved.mix(frame),
        objective=objective,
        feasible=feasible,
        hhi_before=float(solved.hhi_before[0]),
        hhi_after=float(solved.hhi_after[0]),
        hhi_wgi_before=float(solved.hhi_wgi_before[0]) if "wgi_scaled" in frame else None,
        hhi_wgi_after=float(solved.hhi_wgi_after[0]) if "wgi_scaled" in frame else None,
        replaced_share=float(solved.replaced_share[0]),
        explanation=solved.explanations[0],
        suppliers_before=int(solved.suppliers_before[0]),
        suppliers_after=int(solved.suppliers_after[0]) if feasible else None,
        new_suppliers=int(solved.new_suppliers[0]) if feasible else None,
        parameters=options.parameters(),
    )


def optimise_many(
    capacities: pd.DataFrame,
    *,
    objective: Objective = "hhi",
    redirect_fraction: float = 0.5,
    exclude: Collection[str] = (),
    max_share: float | None = None,
    max_change: float | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
    max_new_suppliers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`optimise_sourcing` for every product of a ``supplier_capacities`` frame at once.

    ``capacities`` has product, exporter, current_usd, capacity_usd and optionally wgi_scaled
    and trusted. Returns the per-product summary (:data:`SUMMARY_COLUMNS`; the WGI columns are
    NaN without wgi_scaled, suppliers_after and new_suppliers null when infeasible) and the new
    mixes, one row per (product, supplier) with ``product`` followed by :data:`MIX_COLUMNS`,
    both ordered by product then supplier.
    """
    options = SourcingOptions(
        objective, redirect_fraction, exclude, max_share, max_change, min_share, max_new_suppliers
    )
    frame = capacities.rename(columns={"exporter": "supplier"})
    frame = _validated(frame, ["product", "supplier"], options)
    frame = frame.sort_values(["product", "supplier"], kind="stable").reset_index(drop=True)
    products = frame["product"].to_numpy()
    if len(frame) == 0:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS)), pd.DataFrame(
            columns=["product", *MIX_COLUMNS]
        )
    starts = np.flatnonzero(np.r_[True, products[1:] != products[:-1]])
    solved = _solve(frame, starts, options)
    counted = {
        "suppliers_before": solved.suppliers_before,
        "suppliers_after": np.where(solved.feasible, solved.suppliers_after, np.nan),
        "new_suppliers": np.where(solved.feasible, solved.new_suppliers, np.nan),
    }
    summary = pd.DataFrame(
        {
            "product": products[starts],
            "imports_usd": solved.totals,
            "feasible": solved.feasible,
            "hhi_before": solved.hhi_before,
            "hhi_after": solved.hhi_after,
            "hhi_wgi_before": solved.hhi_wgi_before,
            "hhi_wgi_after": solved.hhi_wgi_after,
            "replaced_share": solved.replaced_share,
            **{name: pd.array(values, dtype="Int64") for name, values in counted.items()},
            "explanation": solved.explanations,
        }
    )
    mixes = solved.mix(frame)
    mixes.insert(0, "product", products)
    return summary, mixes


@dataclass(frozen=True)
class _Bounds:
    """Per-supplier share bounds and the constraint that sets each of them."""

    lower: np.ndarray
    upper: np.ndarray
    upper_source: np.ndarray
    lower_source: np.ndarray

    @classmethod
    def build(
        cls, before: np.ndarray, capacity: np.ndarray, excluded: np.ndarray, o: SourcingOptions
    ) -> _Bounds:
        """Bounds on shares from the constraints of :func:`optimise_sourcing`."""
        n = len(before)
        candidates = {"capacity": before + o.redirect_fraction * capacity}
        if o.max_share is not None:
            candidates["max_share"] = np.full(n, o.max_share)
        lower = np.zeros(n)
        lower_source = np.full(n, "", dtype=object)
        if o.max_change is not None:
            candidates["max_change"] = before + o.max_change
            lower = np.clip(before - o.max_change, 0.0, None)
            lower_source = np.where(lower > 0, "max_change", "")
        names = list(candidates)
        stacked = np.vstack([candidates[name] for name in names])
        upper = stacked.min(axis=0)
        source = np.array(names, dtype=object)[stacked.argmin(axis=0)]
        upper = np.where(excluded, 0.0, upper)
        source = np.where(excluded, "excluded", source)
        return cls(lower, upper, source, lower_source)

    def binding(self, shares: np.ndarray) -> np.ndarray:
        """The constraint at which each share sits: its upper bound's, its lower bound's or ""."""
        at_upper = shares >= self.upper - BOUND_TOLERANCE
        at_lower = (self.lower > 0) & (shares <= self.lower + BOUND_TOLERANCE)
        return np.where(at_upper, self.upper_source, np.where(at_lower, self.lower_source, ""))


@dataclass(frozen=True)
class _Choice:
    """The suppliers kept for each product under min_share and max_new_suppliers, their shares.

    Rows outside the chosen set have ``lower = upper = 0`` and, when they had room, a
    ``reason`` (``min_share`` or ``max_new_suppliers``); ``cost`` is each product's objective,
    infinite where the chosen suppliers cannot place the imports (``fits`` False).
    """

    lower: np.ndarray
    upper: np.ndarray
    reason: np.ndarray
    after: np.ndarray
    fits: np.ndarray
    cost: np.ndarray

    def better(self, other: _Choice, counts: np.ndarray) -> _Choice:
        """Per product, whichever of ``self`` and ``other`` has the lower objective (``other``
        when neither fits, as the later order is the one of largest bounds)."""
        take = (other.cost < self.cost) | (~self.fits & ~other.fits)
        rows = np.repeat(take, counts)
        return _Choice(
            lower=np.where(rows, other.lower, self.lower),
            upper=np.where(rows, other.upper, self.upper),
            reason=np.where(rows, other.reason, self.reason),
            after=np.where(rows, other.after, self.after),
            fits=self.fits | other.fits,
            cost=np.minimum(self.cost, other.cost),
        )


@dataclass(frozen=True)
class _Solution:
    """Per-row shares and per-product results of one batch (products are contiguous rows)."""

    row_totals: np.ndarray
    before: np.ndarray
    after: np.ndarray
    upper: np.ndarray
    binding: np.ndarray
    totals: np.ndarray
    feasible: np.ndarray
    hhi_before: np.ndarray
    hhi_after: np.ndarray
    hhi_wgi_before: np.ndarray  # NaN without WGI scores
    hhi_wgi_after: np.ndarray
    replaced_share: np.ndarray
    suppliers_before: np.ndarray
    suppliers_after: np.ndarray
    new_suppliers: np.ndarray
    explanations: list[str]

    def mix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The mix table (:data:`MIX_COLUMNS`) of ``frame``'s rows."""
        return pd.DataFrame(
            {
                "supplier": frame["supplier"].to_numpy(),
                "current_usd": frame["current_usd"].to_numpy(),
                "new_usd": self.after * self.row_totals,
                "current_share": self.before,
                "new_share": self.after,
                "upper_bound": self.upper * self.row_totals,
                "binding": self.binding,
            }
        )


def _solve(frame: pd.DataFrame, starts: np.ndarray, o: SourcingOptions) -> _Solution:
    """Optimise every product of ``frame``, whose rows are grouped by product from ``starts``."""
    n = len(frame)
    counts = np.diff(np.r_[starts, n])
    values = frame["current_usd"].to_numpy(dtype=float)
    capacity = frame["capacity_usd"].to_numpy(dtype=float)
    excluded = frame["supplier"].isin(list(o.exclude)).to_numpy()
    trusted = frame["trusted"].eq(True).to_numpy() if "trusted" in frame.columns else ~excluded
    has_wgi = "wgi_scaled" in frame.columns
    wgi = frame["wgi_scaled"].fillna(NEUTRAL_SCORE).to_numpy(dtype=float) if has_wgi else None
    totals = np.add.reduceat(values, starts)
    row_totals = np.repeat(totals, counts)
    imported = row_totals > 0
    scale = np.where(imported, row_totals, 1.0)
    before = np.where(imported, values / scale, np.nan)
    bounds = _Bounds.build(np.where(imported, before, 0.0), capacity / scale, excluded, o)
    clash = np.logical_or.reduceat(bounds.lower > bounds.upper + BOUND_TOLERANCE, starts)
    candidates = (totals > 0) & ~clash
    shortfall = _shortfall(bounds, starts, counts, candidates)
    feasible = candidates & (shortfall <= BOUND_TOLERANCE)
    weights = wgi if o.objective == "hhi_wgi" and wgi is not None else np.ones(n)
    scores = wgi if wgi is not None else np.full(n, np.nan)
    after = _fill(weights, bounds.lower, bounds.upper, feasible, counts)
    names = frame["supplier"].to_numpy()
    explanations = [""] * len(starts)
    for g in np.flatnonzero(~feasible):
        part = slice(starts[g], starts[g] + counts[g])
        explanations[g] = _explanation(
            names[part], bounds, part, excluded[part], totals[g], shortfall[g]
        )
    binding = bounds.binding(after)
    if o.selects:
        current = np.nan_to_num(before) > 0
        choice = _choose(bounds, current, weights, after, starts, counts, feasible, o)
        for g in np.flatnonzero(feasible & ~choice.fits):
            part = slice(starts[g], starts[g] + counts[g])
            explanations[g] = _choice_explanation(
                names[part], bounds, choice, part, current[part], totals[g], o
            )
        feasible = feasible & choice.fits
        after = choice.after
        raised = choice.lower > bounds.lower + BOUND_TOLERANCE
        held = replace(
            bounds,
            lower=choice.lower,
            lower_source=np.where(raised, "min_share", bounds.lower_source),
        )
        binding = np.where(choice.reason != "", choice.reason, held.binding(after))
    rows = np.repeat(feasible, counts)
    after = np.where(rows, after, np.nan)
    risky = excluded | ~trusted
    good = trusted & ~excluded
    with np.errstate(invalid="ignore", divide="ignore"):
        risky_share = np.add.reduceat(np.where(risky, before, 0.0), starts)
        drop = np.add.reduceat(np.where(risky, np.clip(before - after, 0.0, None), 0.0), starts)
        gain = np.add.reduceat(np.where(good, np.clip(after - before, 0.0, None), 0.0), starts)
        replaced = np.where(
            feasible & (risky_share > 0), np.minimum(drop, gain) / risky_share, np.nan
        )
    supplying = np.nan_to_num(before) > 0
    supplied = np.nan_to_num(after) > 0
    return _Solution(
        row_totals=row_totals,
        before=before,
        after=after,
        upper=bounds.upper,
        binding=np.where(rows, binding, ""),
        totals=totals,
        feasible=feasible,
        hhi_before=np.add.reduceat(before**2, starts),
        hhi_after=np.add.reduceat(after**2, starts),
        hhi_wgi_before=np.add.reduceat(before**2 * scores, starts),
        hhi_wgi_after=np.add.reduceat(after**2 * scores, starts),
        replaced_share=replaced,
        suppliers_before=np.add.reduceat(supplying.astype(int), starts),
        suppliers_after=np.add.reduceat(supplied.astype(int), starts),
        new_suppliers=np.add.reduceat((supplied & ~supplying).astype(int), starts),
        explanations=explanations,
    )


def _fill(
    weights: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    products: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """:func:`_water_fill` on the rows of ``products`` (a per-product mask); NaN elsewhere."""
    after = np.full(len(weights), np.nan)
    rows = np.repeat(products, counts)
    if rows.any():
        kept = counts[products]
        sub_starts = np.r_[0, np.cumsum(kept)[:-1]]
        after[rows] = _water_fill(weights[rows], lower[rows], upper[rows], sub_starts)
    return after


def _choose(
    bounds: _Bounds,
    current: np.ndarray,
    weights: np.ndarray,
    relaxed: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    candidates: np.ndarray,
    o: SourcingOptions,
) -> _Choice:
    """The suppliers that get a share under ``min_share`` (m) and ``max_new_suppliers`` (K).

    Suppliers that max_change obliges to keep part of their share stay, at ``max(lo_c, m)``
    or more. The others are taken in order of a key, an entrant only while fewer than K have
    entered, until no slot is left (``sum of floors <= 1``); those whose upper bound is below
    m never are. The imports are then water-filled over the chosen ones, each at ``m`` or more.

    For ``"hhi"`` the key is the upper bound and the result is the exact optimum: adding a
    supplier at ``m`` when the floors allow it always lowers the HHI (it takes ``m`` from
    shares that stay at ``m`` or more: change ``<= m^2 - 2 m^2``), so an optimal set fills
    every slot; the admissible sets form a matroid (at most K entrants, at most the slots),
    whose greedy basis has, rank by rank, bounds at least as large as any other basis, so
    its box contains a permutation of any other's. For ``"hhi_wgi"`` weights break that
    argument (a supplier of bad governance may cost more at ``m`` than it saves), so this is
    a heuristic: the best of three greedy orders is kept, (1) the continuous optimum's shares
    ``relaxed``, leaving out suppliers under ``m / 2`` there (dropping a supplier at ``m``
    pays, to first order, when its level ``lambda / w_c`` is below ``m / 2``), (2) the same
    without leaving any out, (3) the upper bounds. Order (3) is the HHI optimum, and ``min w
    HHI <= HHI_WGI <= max w HHI``, so the result is within ``max w / min w`` of the optimum.
    """
    keys = [bounds.upper]
    if o.objective == "hhi_wgi":
        shares = np.nan_to_num(relaxed)
        keys = [shares, bounds.upper]
        if o.min_share > 0:
            keys.insert(0, np.where(shares >= o.min_share / 2, shares, -np.inf))
    best: _Choice | None = None
    for key in keys:
        lower, upper, reason = _pick(bounds, current, key, starts, counts, o)
        clash = np.logical_or.reduceat(lower > upper + BOUND_TOLERANCE, starts)
        need = np.add.reduceat(lower, starts)
        room = np.add.reduceat(upper, starts)
        fits = candidates & ~clash & (need <= 1 + BOUND_TOLERANCE) & (room >= 1 - BOUND_TOLERANCE)
        after = _fill(weights, lower, upper, fits, counts)
        cost = np.where(fits, np.add.reduceat(np.nan_to_num(weights * after**2), starts), np.inf)
        choice = _Choice(lower, upper, reason, after, fits, cost)
        best = choice if best is None else best.better(choice, counts)
    assert best is not None
    return best


def _pick(
    bounds: _Bounds,
    current: np.ndarray,
    key: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    o: SourcingOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper bounds of the suppliers chosen greedily by ``key`` (largest first; an
    infinite key leaves a supplier out), and why each one with room was left out
    (see :func:`_choose`)."""
    n = len(key)
    m = o.min_share
    kept = bounds.lower > BOUND_TOLERANCE
    floor = np.where(kept, np.maximum(bounds.lower, m), 0.0)
    open_ = ~kept & (bounds.upper > BOUND_TOLERANCE) & (bounds.upper >= m - BOUND_TOLERANCE)
    open_ &= np.isfinite(key)
    group = np.repeat(np.arange(len(starts)), counts)
    order = np.lexsort((np.arange(n), -key, ~open_, group))
    entrant = open_[order] & ~current[order]
    over_cap = np.zeros(n, dtype=bool)
    if o.max_new_suppliers is not None:
        over_cap = entrant & (_rank_within(entrant, starts, counts) >= o.max_new_suppliers)
    admitted = open_[order] & ~over_cap
    if m > 0:
        slots = np.floor((1.0 - np.add.reduceat(floor, starts)) / m + BOUND_TOLERANCE)
        admitted &= _rank_within(admitted, starts, counts) < np.repeat(slots, counts)
    chosen = np.zeros(n, dtype=bool)
    chosen[order] = admitted
    capped = np.zeros(n, dtype=bool)
    capped[order] = over_cap
    left_out = ~kept & ~chosen & (bounds.upper > BOUND_TOLERANCE)
    reason = np.where(capped, "max_new_suppliers", np.where(left_out, "min_share", ""))
    lower = np.where(kept, floor, np.where(chosen, m, 0.0))
    upper = np.where(kept | chosen, bounds.upper, 0.0)
    return lower, upper, reason


def _rank_within(flags: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For each row, how many rows of its product before it have ``flags`` set."""
    running = np.cumsum(flags) - flags
    return running - np.repeat(running[starts], counts)


def _shortfall(
    bounds: _Bounds, starts: np.ndarray, counts: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """Per product, the share of its imports that no mix within the bounds can place.

    One elastic LP over every candidate product, solved by HiGHS: ``min sum_g u_g`` subject to
    ``sum_{c in g} s_c + u_g = 1``, ``lo_c <= s_c <= hi_c``, ``u_g >= 0``. A product is
    feasible iff its ``u_g`` is zero; non-candidates get 0.
    """
    from scipy import sparse  # imported here: the CLI imports this module for its defaults
    from scipy.optimize import linprog

    shortfall = np.zeros(len(starts))
    rows = np.repeat(candidates, counts)
    if not rows.any():
        return shortfall
    k = int(candidates.sum())
    m = int(rows.sum())
    group = np.repeat(np.cumsum(candidates) - 1, counts)[rows]
    slack = np.arange(k)
    matrix = sparse.csr_array(
        (np.ones(m + k), (np.r_[group, slack], np.r_[np.arange(m), m + slack])), shape=(k, m + k)
    )
    limits = np.column_stack(
        [np.r_[bounds.lower[rows], np.zeros(k)], np.r_[bounds.upper[rows], np.full(k, np.inf)]]
    )
    result = linprog(
        np.r_[np.zeros(m), np.ones(k)],
        A_eq=matrix,
        b_eq=np.ones(k),
        bounds=limits,
        method="highs",
    )
    if result.status != 0:
        raise ChokepointsError(f"HiGHS could not solve the feasibility problem: {result.message}")
    shortfall[candidates] = np.clip(result.x[m:], 0.0, None)
    return shortfall


def _explanation(
    names: np.ndarray,
    bounds: _Bounds,
    part: slice,
    excluded: np.ndarray,
    total: float,
    shortfall: float,
) -> str:
    """One sentence on why no mix of one product's suppliers meets its bounds."""
    if total <= 0:
        return "there are no current imports to re-source"
    lower, upper, source = bounds.lower[part], bounds.upper[part], bounds.upper_source[part]
    clash = lower > upper + BOUND_TOLERANCE
    if clash.any():
        c = int(np.argmax(clash))
        return (
            f"{names[c]} must keep at least {_usd(lower[c] * total)} (max_change) "
            f"but may supply at most {_usd(upper[c] * total)} ({source[c]})"
        )
    kinds = sorted(set(source[~excluded]))
    limits = f" (bounded by {', '.join(kinds)})" if kinds else ""
    lead = "the bounds leave"
    if excluded.any():
        lead = f"excluding {', '.join(sorted(names[excluded]))} leaves"
    room = (1.0 - shortfall) * total
    return f"{lead} {_usd(room)} of capacity for {_usd(total)} of imports{limits}"


def _choice_explanation(
    names: np.ndarray,
    bounds: _Bounds,
    choice: _Choice,
    part: slice,
    current: np.ndarray,
    total: float,
    o: SourcingOptions,
) -> str:
    """One sentence on why no mix of one product's suppliers meets min_share and
    max_new_suppliers, although one within the other bounds exists."""
    lower, upper = bounds.lower[part], bounds.upper[part]
    source = bounds.upper_source[part]
    floor = np.maximum(lower, o.min_share)
    stuck = (lower > BOUND_TOLERANCE) & (upper < floor - BOUND_TOLERANCE)
    if stuck.any():
        c = int(np.argmax(stuck))
        return (
            f"{names[c]} must keep at least {_usd(lower[c] * total)} (max_change) but may supply "
            f"at most {_usd(upper[c] * total)} ({source[c]}), below min_share "
            f"({_percent(o.min_share)} of imports)"
        )
    kept = lower > BOUND_TOLERANCE
    if floor[kept].sum() > 1 + BOUND_TOLERANCE:
        return (
            f"the {int(kept.sum())} suppliers that max_change keeps would need at least "
            f"min_share ({_percent(o.min_share)}) each, more than the imports"
        )
    terms = []
    if o.min_share > 0:
        terms.append(f"shares of at least {_percent(o.min_share)} (min_share)")
    if o.max_new_suppliers is not None:
        terms.append(f"at most {o.max_new_suppliers} new suppliers (max_new_suppliers)")
    chosen = choice.upper[part] > 0
    kinds = sorted(set(source[chosen]))
    limits = f" (bounded by {', '.join(kinds)})" if kinds else ""
    room = choice.upper[part].sum() * total
    return (
        f"with {' and '.join(terms)}, {int(chosen.sum())} suppliers "
        f"({int((chosen & ~current).sum())} new) offer {_usd(room)} of capacity for "
        f"{_usd(total)} of imports{limits}"
    )


def _water_fill(
    weights: np.ndarray, lower: np.ndarray, upper: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Minimiser of ``sum w_c s_c^2`` over ``lower <= s <= upper``, ``sum s = 1``, per product.

    Each product's rows start at ``starts``; its bounds must admit a solution. Suppliers with
    ``w_c = 0`` cost nothing: they fill first, in proportion to their room, and the others stay
    at their lower bounds if that suffices. Otherwise the free ones sit at their upper bounds
    and the rest get ``clip(lambda / w_c, lower_c, upper_c)``, non-decreasing in ``lambda``,
    whose root of ``sum = 1`` is found by bisection on every product at once.
    """
    n = len(weights)
    counts = np.diff(np.r_[starts, n])
    free = weights <= 0
    need = 1.0 - np.add.reduceat(lower, starts)
    room = np.add.reduceat(np.where(free, upper - lower, 0.0), starts)
    absorbed = room >= need
    ratio = np.divide(np.clip(need, 0.0, None), room, out=np.zeros_like(room), where=room > 0)
    shares = np.where(
        free & np.repeat(absorbed, counts),
        lower + (upper - lower) * np.repeat(ratio, counts),
        lower,
    )
    rest = np.repeat(~absorbed, counts)
    shares = np.where(rest & free, upper, shares)
    paid = rest & ~free
    if not paid.any():
        return shares
    w = np.where(paid, weights, 1.0)
    target = 1.0 - np.add.reduceat(np.where(rest & free, upper, 0.0), starts)
    low = np.zeros(len(starts))
    high = np.maximum.reduceat(np.where(paid, w * upper, 0.0), starts)
    for _ in range(BISECTION_STEPS):
        middle = 0.5 * (low + high)
        trial = np.clip(np.repeat(middle, counts) / w, lower, upper)
        over = np.add.reduceat(np.where(paid, trial, 0.0), starts) >= target
        high = np.where(over, middle, high)
        low = np.where(over, low, middle)
        if np.all(high - low <= np.spacing(high)):
            break
    return np.where(paid, np.clip(np.repeat(high, counts) / w, lower, upper), shares)


def _validated(current: pd.DataFrame, keys: list[str], o: SourcingOptions) -> pd.DataFrame:
    """``current`` checked for columns, duplicate ``keys``, negative values and parameters."""
    needed = [*keys, "current_usd", "capacity_usd"]
    missing = [c for c in needed if c not in current.columns]
    if missing:
        raise InputError(
            f"the current mix lacks column(s) {', '.join(missing)}",
            hint=f"pass {', '.join(needed)} (wgi_scaled, trusted optional)",
        )
    if o.objective not in ("hhi", "hhi_wgi"):
        raise InputError(f"unknown objective {o.objective!r}", hint="choose 'hhi' or 'hhi_wgi'")
    if o.objective == "hhi_wgi" and "wgi_scaled" not in current.columns:
        raise InputError("objective 'hhi_wgi' needs a wgi_scaled column in the current mix")
    for name, value in (
        ("redirect_fraction", o.redirect_fraction),
        ("max_share", o.max_share),
        ("max_change", o.max_change),
        ("min_share", o.min_share),
    ):
        if value is not None and not 0 <= value <= 1:
            raise InputError(f"{name} is {value}; it must lie between 0 and 1")
    if o.max_share is not None and o.min_share > o.max_share:
        raise InputError(
            f"min_share {o.min_share} exceeds max_share {o.max_share}, so no supplier could "
            "take a share; lower min_share or raise max_share"
        )
    cap = o.max_new_suppliers
    if cap is not None and (
        isinstance(cap, bool) or not isinstance(cap, int | np.integer) or cap < 0
    ):
        raise InputError(f"max_new_suppliers is {cap!r}; it must be a whole number, 0 or more")
    duplicated = current[current.duplicated(keys)]
    if not duplicated.empty:
        listed = ", ".join(
            " ".join(map(str, row)) for row in duplicated[keys].head(5).itertuples(index=False)
        )
        raise InputError(f"supplier(s) listed twice: {listed}")
    numbers = current[["current_usd", "capacity_usd"]].astype(float)
    bad = current[(numbers < 0).any(axis=1) | numbers.isna().any(axis=1)]
    if not bad.empty:
        raise InputError(
            "current_usd and capacity_usd must be non-negative numbers; offending rows: "
            + "; ".join(
                f"{r.supplier} current {r.current_usd} capacity {r.capacity_usd}"
                for r in bad.head(5).itertuples()
            )
        )
    return current.reset_index(drop=True).assign(
        current_usd=numbers["current_usd"].to_numpy(),
        capacity_usd=numbers["capacity_usd"].to_numpy(),
    )


def _percent(share: float) -> str:
    """``share`` as a percentage for a sentence: 0.01 -> '1%', 0.005 -> '0.5%'."""
    return f"{share * 100:g}%"


def _usd(value: float) -> str:
    """``value`` USD for a sentence: '40.0 M USD', '1.2 bn USD' or '950 USD'."""
    if abs(value) >= 1e9:
        return f"{value / 1e9:.1f} bn USD"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f} M USD"
    return f"{value:,.0f} USD"
