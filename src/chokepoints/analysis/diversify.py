"""Where else to buy a product, and the least concentrated sourcing mix within reach.

Two steps, documented in ``docs/methods/diversify.md``:

* :func:`alternative_suppliers` lists, as an Ibis expression over a flows table (portable
  operations only, DuckDB or Spark), every exporter of a product with the reasons to consider
  it: spare capacity, revealed comparative advantage, governance, trusted-group membership,
  the existing relationship and its unit value against the current main supplier.
* :func:`optimise_sourcing` chooses new supplier amounts ``v_c`` for a materialised mix that
  minimise ``HHI = sum_c (v_c / T)^2`` (or ``HHI_WGI = sum_c (v_c / T)^2 * WGI_c``, EU CRM,
  JRC 2017) keeping the total ``T``, under capacity, exclusion, maximum-share and
  maximum-change bounds. Feasibility is checked with HiGHS (``scipy.optimize.linprog``); the
  optimum is the exact water-filling solution ``s_c = clip(lambda / w_c, lo_c, hi_c)``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.optimize import linprog

from chokepoints.analysis.concentration import attach, positive, trade_balance
from chokepoints.analysis.risk import NEUTRAL_SCORE
from chokepoints.errors import InputError

Objective = Literal["hhi", "hhi_wgi"]

#: Relative tolerance used to tell whether a share sits at one of its bounds.
BOUND_TOLERANCE = 1e-9

#: Columns of :attr:`SourcingPlan.mix`.
MIX_COLUMNS = (
    "supplier",
    "current_usd",
    "new_usd",
    "current_share",
    "new_share",
    "upper_bound",
    "binding",
)


def alternative_suppliers(
    flows: ir.Table,
    importer: str,
    product: str,
    year: int,
    *,
    scores: ir.Table | None = None,
    trusted: Collection[str] = frozenset(),
    main_supplier: str | None = None,
) -> ir.Table:
    """Every exporter of ``product`` in ``year`` other than ``importer``, ranked, with reasons.

    Columns: exporter, capacity_usd (its exports of the product to every market but the
    importer), current_imports_usd (the importer's imports from it), current_share (of the
    importer's imports), world_share (of world exports), rca (Balassa 1965, from
    :func:`~chokepoints.analysis.concentration.trade_balance`), wgi_scaled (0-10, higher =
    worse; null without ``scores``), trusted (member of ``trusted``), unit_value_usd_per_t
    (value / tonnes over its flows that report a quantity, null without any),
    unit_value_ratio (against ``main_supplier``, by default the importer's largest supplier)
    and rank: 1 = first, ordered by trusted first, then capacity_usd descending, then exporter.
    """
    flows = positive(flows.filter(flows.year == year))
    rca = trade_balance(flows)
    rca = rca.filter(rca["product"] == product).select(exporter=rca.country, rca=rca.rca)
    sales = flows.filter(flows["product"] == product)
    to_importer = sales.importer == importer
    priced = (sales.quantity_t > 0).fill_null(False)
    per_exporter = sales.group_by("exporter").aggregate(
        export_value_usd=sales.value_usd.sum(),
        capacity_usd=sales.value_usd.sum(where=~to_importer),
        current_imports_usd=sales.value_usd.sum(where=to_importer),
        _priced_usd=sales.value_usd.sum(where=priced),
        _priced_t=sales.quantity_t.sum(where=priced),
    )
    per_exporter = per_exporter.mutate(
        world_share=per_exporter.export_value_usd / per_exporter.export_value_usd.sum().over()
    )
    t = per_exporter.filter(per_exporter.exporter != importer)
    imports_total = t.current_imports_usd.fill_null(0.0).sum().over()
    t = t.mutate(
        capacity_usd=t.capacity_usd.fill_null(0.0),
        current_imports_usd=t.current_imports_usd.fill_null(0.0),
        unit_value_usd_per_t=(t._priced_t > 0).ifelse(
            t._priced_usd / t._priced_t, ibis.null("float64")
        ),
        _imports_total=imports_total,
    )
    t = t.mutate(
        current_share=(t._imports_total > 0).ifelse(
            t.current_imports_usd / t._imports_total, ibis.null("float64")
        )
    )
    if main_supplier is None:
        main = t.filter(t.current_imports_usd > 0)
        main = main.order_by([ibis.desc(main.current_imports_usd), main.exporter]).limit(1)
    else:
        main = t.filter(t.exporter == main_supplier)
    main = main.aggregate(_main_uv=main.unit_value_usd_per_t.max())
    t = t.cross_join(main)
    t = t.mutate(unit_value_ratio=t.unit_value_usd_per_t / t._main_uv)
    members = sorted(trusted)
    is_trusted = t.exporter.isin(members) if members else ibis.literal(False)
    t = t.mutate(trusted=is_trusted)
    t = t.left_join(rca, "exporter").select(*t.columns, "rca")
    if scores is None:
        t = t.mutate(wgi_scaled=ibis.null("float64"))
    else:
        wgi = scores.select(exporter=scores.country, wgi_scaled=scores.wgi_scaled)
        t = t.left_join(wgi, "exporter").select(*t.columns, "wgi_scaled")
    order = [ibis.desc(t.trusted), ibis.desc(t.capacity_usd), t.exporter]
    t = t.mutate(rank=(ibis.row_number().over(order_by=order) + 1).cast("int32"))
    return t.select(
        "rank",
        "exporter",
        "capacity_usd",
        "current_imports_usd",
        "current_share",
        "world_share",
        t.rca.cast("float64").name("rca"),
        t.wgi_scaled.cast("float64").name("wgi_scaled"),
        "trusted",
        "unit_value_usd_per_t",
        "unit_value_ratio",
    ).order_by("rank")


@dataclass(frozen=True)
class SourcingPlan:
    """The result of :func:`optimise_sourcing`.

    ``mix`` has one row per supplier (columns :data:`MIX_COLUMNS`; new_usd and new_share are
    NaN when infeasible). ``binding`` names the constraint that sets a supplier's new amount:
    ``capacity``, ``max_share``, ``max_change`` or ``excluded``, else ``""``.
    ``replaced_share`` is the fraction of the risky suppliers' current share (excluded or not
    trusted) that moves to trusted suppliers; NaN when there is no risky share.
    ``hhi_wgi_before`` / ``hhi_wgi_after`` are None without a ``wgi_scaled`` column.
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
    parameters: dict[str, object] = field(default_factory=dict)


def optimise_sourcing(
    current: pd.DataFrame,
    *,
    objective: Objective = "hhi",
    redirect_fraction: float = 0.5,
    exclude: Collection[str] = (),
    max_share: float | None = None,
    max_change: float | None = None,
) -> SourcingPlan:
    """The supplier mix of least (governance-weighted) concentration that keeps total imports.

    ``current`` has supplier, current_usd, capacity_usd (sales to third countries) and
    optionally wgi_scaled (0-10, missing = 5) and trusted (bool). With ``T = sum current_usd``
    and shares ``s_c = v_c / T`` it minimises ``sum_c w_c s_c^2`` (``w_c = 1`` for ``"hhi"``,
    ``WGI_c`` for ``"hhi_wgi"``) subject to ``sum_c s_c = 1`` and ``lo_c <= s_c <= hi_c``:

    * ``v_c <= current_c + redirect_fraction * capacity_c`` (capacity);
    * ``v_c = 0`` for ``exclude`` (excluded);
    * ``v_c <= max_share * T`` (max_share);
    * ``|v_c - current_c| <= max_change * T`` (max_change, both bounds).

    By the KKT conditions the optimum is ``s_c = clip(lambda / w_c, lo_c, hi_c)`` with the
    ``lambda`` that makes the shares sum to 1 (water filling), found exactly between the
    sorted breakpoints ``w_c lo_c``, ``w_c hi_c``. Feasibility is checked first with HiGHS;
    infeasible input returns ``feasible=False`` and an ``explanation``, never an exception.
    """
    frame = _validated(current, objective, redirect_fraction, max_share, max_change)
    excluded = frame["supplier"].isin(list(exclude)).to_numpy()
    values = frame["current_usd"].to_numpy(dtype=float)
    capacity = frame["capacity_usd"].to_numpy(dtype=float)
    total = float(values.sum())
    has_wgi = "wgi_scaled" in frame.columns
    wgi = frame["wgi_scaled"].fillna(NEUTRAL_SCORE).to_numpy(dtype=float) if has_wgi else None
    trusted = frame["trusted"].eq(True).to_numpy() if "trusted" in frame.columns else ~excluded
    parameters: dict[str, object] = {
        "objective": objective,
        "redirect_fraction": redirect_fraction,
        "exclude": sorted(exclude),
        "max_share": max_share,
        "max_change": max_change,
    }
    mix = frame[["supplier", "current_usd"]].copy()
    if total <= 0:
        mix = mix.assign(
            new_usd=np.nan, current_share=np.nan, new_share=np.nan, upper_bound=np.nan, binding=""
        )
        return SourcingPlan(
            mix=mix[list(MIX_COLUMNS)],
            objective=objective,
            feasible=False,
            hhi_before=np.nan,
            hhi_after=np.nan,
            hhi_wgi_before=np.nan if has_wgi else None,
            hhi_wgi_after=np.nan if has_wgi else None,
            replaced_share=np.nan,
            explanation="there are no current imports to re-source",
            parameters=parameters,
        )
    before = values / total
    bounds = _Bounds.build(
        before, capacity / total, excluded, redirect_fraction, max_share, max_change
    )
    explanation = _infeasibility(frame["supplier"], bounds, total, excluded)
    weights = wgi if objective == "hhi_wgi" else np.ones_like(before)
    after = np.full_like(before, np.nan)
    if not explanation:
        after = _water_fill(weights, bounds.lower, bounds.upper)
    feasible = not explanation
    mix = mix.assign(
        new_usd=after * total,
        current_share=before,
        new_share=after,
        upper_bound=bounds.upper * total,
        binding=bounds.binding(after) if feasible else "",
    )
    risky = excluded | ~trusted
    good = trusted & ~excluded
    risky_share = float(before[risky].sum())
    replaced = np.nan
    if feasible and risky_share > 0:
        drop = np.clip(before - after, 0.0, None)[risky].sum()
        gain = np.clip(after - before, 0.0, None)[good].sum()
        replaced = float(min(drop, gain) / risky_share)
    return SourcingPlan(
        mix=mix[list(MIX_COLUMNS)],
        objective=objective,
        feasible=feasible,
        hhi_before=float(np.sum(before**2)),
        hhi_after=float(np.sum(after**2)),
        hhi_wgi_before=float(np.sum(before**2 * wgi)) if wgi is not None else None,
        hhi_wgi_after=float(np.sum(after**2 * wgi)) if wgi is not None else None,
        replaced_share=replaced,
        explanation=explanation,
        parameters=parameters,
    )


@dataclass(frozen=True)
class _Bounds:
    """Per-supplier share bounds and the constraint that sets each of them."""

    lower: np.ndarray
    upper: np.ndarray
    upper_source: np.ndarray
    lower_source: np.ndarray

    @classmethod
    def build(
        cls,
        before: np.ndarray,
        capacity: np.ndarray,
        excluded: np.ndarray,
        redirect_fraction: float,
        max_share: float | None,
        max_change: float | None,
    ) -> _Bounds:
        """Bounds on shares from the constraints of :func:`optimise_sourcing`."""
        n = len(before)
        candidates = {"capacity": before + redirect_fraction * capacity}
        if max_share is not None:
            candidates["max_share"] = np.full(n, max_share)
        lower = np.zeros(n)
        lower_source = np.full(n, "", dtype=object)
        if max_change is not None:
            candidates["max_change"] = before + max_change
            lower = np.clip(before - max_change, 0.0, None)
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


def _infeasibility(
    suppliers: pd.Series, bounds: _Bounds, total: float, excluded: np.ndarray
) -> str:
    """Why no shares within the bounds sum to 1 (checked by HiGHS); empty when some do."""
    names = suppliers.to_numpy()
    clash = bounds.lower > bounds.upper + BOUND_TOLERANCE
    if clash.any():
        c = int(np.argmax(clash))
        return (
            f"{names[c]} must keep at least {_usd(bounds.lower[c] * total)} (max_change) "
            f"but may supply at most {_usd(bounds.upper[c] * total)} "
            f"({bounds.upper_source[c]})"
        )
    n = len(names)
    check = linprog(
        np.zeros(n),
        A_eq=np.ones((1, n)),
        b_eq=[1.0],
        bounds=list(zip(np.minimum(bounds.lower, bounds.upper), bounds.upper, strict=True)),
        method="highs",
    )
    if check.status != 2:
        return ""
    room = float(bounds.upper.sum()) * total
    kinds = sorted(set(bounds.upper_source[~excluded]))
    limits = f" (bounded by {', '.join(kinds)})" if kinds else ""
    lead = "the bounds leave"
    if excluded.any():
        lead = f"excluding {', '.join(sorted(names[excluded]))} leaves"
    return f"{lead} {_usd(room)} of capacity for {_usd(total)} of imports{limits}"


def _water_fill(weights: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Exact minimiser of ``sum w_c s_c^2`` over ``lower <= s <= upper``, ``sum s = 1``.

    ``s_c(lambda) = clip(lambda / w_c, lower_c, upper_c)`` is piecewise linear and
    non-decreasing in ``lambda``, with breakpoints ``w_c lower_c`` and ``w_c upper_c``; the
    root of ``sum s_c(lambda) = 1`` is interpolated linearly between the two breakpoints that
    bracket it. Suppliers with ``w_c = 0`` cost nothing: they fill first, in proportion to
    their room, and the others stay at their lower bounds if that suffices.
    """
    free = weights <= 0
    shares = lower.copy()
    need = 1.0 - shares.sum()
    room = np.where(free, upper - lower, 0.0)
    if room.sum() >= need:
        return shares + room * (need / room.sum()) if need > 0 else shares
    shares[free] = upper[free]
    paid = ~free
    if not paid.any():
        return shares
    w, lo, hi = weights[paid], lower[paid], upper[paid]
    target = 1.0 - shares[free].sum()
    breaks = np.unique(np.concatenate([w * lo, w * hi]))
    sums = np.clip(breaks[:, None] / w[None, :], lo, hi).sum(axis=1)
    i = min(int(np.searchsorted(sums, target)), len(breaks) - 1)
    lam = breaks[i]
    if i > 0 and sums[i] > sums[i - 1]:
        step = (target - sums[i - 1]) / (sums[i] - sums[i - 1])
        lam = breaks[i - 1] + step * (breaks[i] - breaks[i - 1])
    shares[paid] = np.clip(lam / w, lo, hi)
    return shares


def _validated(
    current: pd.DataFrame,
    objective: str,
    redirect_fraction: float,
    max_share: float | None,
    max_change: float | None,
) -> pd.DataFrame:
    """``current`` checked for columns, duplicates, negative values and parameter ranges."""
    missing = [c for c in ("supplier", "current_usd", "capacity_usd") if c not in current.columns]
    if missing:
        raise InputError(
            f"the current mix lacks column(s) {', '.join(missing)}",
            hint="pass supplier, current_usd, capacity_usd (wgi_scaled, trusted optional)",
        )
    if objective not in ("hhi", "hhi_wgi"):
        raise InputError(f"unknown objective {objective!r}", hint="choose 'hhi' or 'hhi_wgi'")
    if objective == "hhi_wgi" and "wgi_scaled" not in current.columns:
        raise InputError("objective 'hhi_wgi' needs a wgi_scaled column in the current mix")
    for name, value in (
        ("redirect_fraction", redirect_fraction),
        ("max_share", max_share),
        ("max_change", max_change),
    ):
        if value is not None and not 0 <= value <= 1:
            raise InputError(f"{name} is {value}; it must lie between 0 and 1")
    duplicated = current["supplier"][current["supplier"].duplicated()]
    if not duplicated.empty:
        raise InputError(f"supplier(s) listed twice: {', '.join(map(str, duplicated))}")
    numbers = current[["current_usd", "capacity_usd"]].astype(float)
    bad = current[(numbers < 0).any(axis=1) | numbers.isna().any(axis=1)]
    if not bad.empty:
        raise InputError(
            "current_usd and capacity_usd must be non-negative numbers; offending rows: "
            + "; ".join(
                f"{r.supplier} current {r.current_usd} capacity {r.capacity_usd}"
                for r in bad.itertuples()
            )
        )
    return current.reset_index(drop=True).assign(
        current_usd=numbers["current_usd"].to_numpy(),
        capacity_usd=numbers["capacity_usd"].to_numpy(),
    )


def _usd(value: float) -> str:
    """``value`` USD for a sentence: '40.0 M USD', '1.2 bn USD' or '950 USD'."""
    if abs(value) >= 1e9:
        return f"{value / 1e9:.1f} bn USD"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f} M USD"
    return f"{value:,.0f} USD"


def alternative_markets(
    flows: ir.Table,
    exporter: str,
    product: str,
    years: Sequence[int],
    *,
    scores: ir.Table | None = None,
) -> ir.Table:
    """Other importers of ``product`` an exporter could sell to, ranked by import demand.

    Per importer (not the exporter itself) in the last of ``years``: its imports of the product,
    their yearly growth since the first year it imported it within ``years`` (compound rate),
    its suppliers and their HHI (a concentrated market has room for a new supplier only if the
    incumbent can be displaced; a diversified one takes newcomers more easily), the exporter's
    current sales there and share, and the importer's WGI score when ``scores`` are given.
    ``rank`` orders by import demand, largest first.
    """
    years = sorted(years)
    last = years[-1]
    f = positive(flows.filter(flows["product"] == product))
    f = f.filter(f.year.isin(years) & (f.importer != exporter))
    by_year = f.group_by(["importer", "year"]).aggregate(m=f.value_usd.sum())
    first = by_year.group_by("importer").aggregate(first_year=by_year.year.min())
    base = by_year.join(
        first, [by_year.importer == first.importer, by_year.year == first.first_year]
    ).select(importer=by_year.importer, first_year=first.first_year, first_m=by_year.m)
    now = f.filter(f.year == last)
    value = now.value_usd
    total = value.sum()
    current = now.group_by("importer").aggregate(
        import_value_usd=total,
        n_suppliers=now.count(),
        hhi=(value * value).sum() / (total * total),
        top_supplier=now.exporter.argmax(value),
        exporter_sales_usd=value.sum(where=now.exporter == exporter),
    )
    joined = attach(current, base, ["importer"])
    span = ibis.literal(last) - joined.first_year
    growth = (span > 0).ifelse(
        (joined.import_value_usd / joined.first_m).pow(1.0 / span.cast("float64")) - 1.0,
        ibis.null("float64"),
    )
    result = joined.mutate(
        exporter_sales_usd=joined.exporter_sales_usd.fill_null(0.0),
        exporter_share=joined.exporter_sales_usd.fill_null(0.0) / joined.import_value_usd,
        growth=growth,
    ).drop("first_m")
    if scores is not None:
        result = attach(
            result,
            scores.select(importer=scores.country, wgi_scaled=scores.wgi_scaled),
            ["importer"],
        )
    rank = ibis.row_number().over(order_by=[ibis.desc(result.import_value_usd), result.importer])
    return result.mutate(
        year=ibis.literal(last).cast("int16"),
        exporter=ibis.literal(exporter),
        product=ibis.literal(product),
        rank=rank + 1,
    )


def supplier_capacities(
    flows: ir.Table, importer: str, year: int, *, products: Sequence[str] | None = None
) -> ir.Table:
    """Per (product, exporter) of the importer's imports: its purchases and the capacity.

    The batch form of :func:`alternative_suppliers` for :func:`optimise_many`: every exporter of
    every product the importer buys, with ``current_usd`` (the importer's purchases from it)
    and ``capacity_usd`` (its sales of the product to every other market).
    """
    f = positive(flows.filter(flows.year == year))
    if products is not None:
        f = f.filter(f["product"].isin(list(products)))
    bought = f.filter(f.importer == importer).select("product").distinct()
    f = f.filter(f.exporter != importer).semi_join(bought, "product")
    mine = f.importer == importer
    return f.group_by(["product", "exporter"]).aggregate(
        current_usd=f.value_usd.sum(where=mine).fill_null(0.0),
        capacity_usd=f.value_usd.sum(where=~mine).fill_null(0.0),
    )


def optimise_many(
    capacities: pd.DataFrame, **options: object
) -> tuple[pd.DataFrame, dict[str, SourcingPlan]]:
    """:func:`optimise_sourcing` for every product of a :func:`supplier_capacities` frame.

    Returns one summary row per product (HHI before and after, feasibility, replaced share,
    explanation) and the plans by product. ``options`` go to ``optimise_sourcing``.
    """
    plans: dict[str, SourcingPlan] = {}
    rows = []
    for product, group in capacities.groupby("product", sort=True):
        current = group.rename(columns={"exporter": "supplier"}).drop(columns="product")
        plan = optimise_sourcing(current.reset_index(drop=True), **options)  # type: ignore[arg-type]
        plans[str(product)] = plan
        rows.append(
            {
                "product": product,
                "imports_usd": float(current["current_usd"].sum()),
                "feasible": plan.feasible,
                "hhi_before": plan.hhi_before,
                "hhi_after": plan.hhi_after,
                "replaced_share": plan.replaced_share,
                "explanation": plan.explanation,
            }
        )
    columns = [
        "product",
        "imports_usd",
        "feasible",
        "hhi_before",
        "hhi_after",
        "replaced_share",
        "explanation",
    ]
    return pd.DataFrame(rows, columns=columns), plans
