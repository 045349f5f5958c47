"""Governance-weighted concentration and supply risk (EU CRM method, JRC 2017 guidelines).

The EU's criticality assessment weights each supplier's squared share by the quality of its
governance: ``HHI_WGI = sum_c s_c^2 * WGI_c * t_c``, with ``WGI_c`` the World Bank Worldwide
Governance Indicators rescaled to 0-10 (higher = worse) and ``t_c`` a trade-restriction factor.
Supply risk combines the global and the importer's own sourcing mix by import reliance:
``SR = [HHI_WGI,GS * IR/2 + HHI_WGI,EU * (1 - IR/2)] * (1 - EoL_RIR) * SI``.
Sources: European Commission (2017), "Methodology for establishing the EU list of critical raw
materials: Guidelines"; Blengini et al. (2017), JRC background report, EUR 28654 EN.

Here production data is absent, so the formulas run on trade shares (documented in
``docs/methods/risk.md``): world export shares stand in for global supply, the importer's import
shares for its sourcing mix, and ``(M - X) / M`` for import reliance. Every function takes and
returns Ibis tables built from portable operations only, so that it runs on DuckDB and Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, TypeAlias

import ibis
import ibis.expr.types as ir

from chokepoints.errors import ChokepointsError, InputError

#: The six WGI dimensions: voice and accountability, political stability, government
#: effectiveness, regulatory quality, rule of law, control of corruption.
WGI_INDICATORS = ("va", "pv", "ge", "rq", "rl", "cc")

#: Score given by default to a supplier without WGI data: the middle of the 0-10 scale, which
#: is the scaled value of a WGI estimate of 0, the cross-country mean by construction (the WGI
#: standardises each indicator to mean 0 and standard deviation 1 over the countries covered).
NEUTRAL_SCORE = 5.0

#: Marks results computed from trade shares instead of production shares.
TRADE_BASIS = "trade_shares"

MissingScore: TypeAlias = float | Literal["worst"]
Parameter: TypeAlias = "float | ir.Table"


def eu_crm_rescale(mean: ir.NumericValue) -> ir.FloatingValue:
    """WGI mean (-2.5 worst to +2.5 best) to 0-10, higher = worse: ``10 - (mean + 2.5) * 2``.

    The linear map of [-2.5, 2.5] onto [10, 0], clipped to [0, 10]. Commonly cited for the EU
    CRM method (JRC 2017); the exact EU rescaling is unconfirmed, hence a parameter.
    """
    return (10.0 - (mean + 2.5) * 2.0).clip(lower=0.0, upper=10.0)


def governance_scores(
    governance: ir.Table,
    *,
    year: int,
    indicators: Sequence[str] = WGI_INDICATORS,
    rescale: Callable[[ir.NumericValue], ir.NumericValue] = eu_crm_rescale,
) -> ir.Table:
    """Per country, the mean WGI estimate of its latest year <= ``year`` and its 0-10 score.

    ``wgi_mean`` averages the estimates available for the chosen indicators in ``wgi_year``
    (``wgi_indicators`` counts them); ``wgi_scaled = rescale(wgi_mean)`` (EU CRM, JRC 2017).
    Columns: country, wgi_year, wgi_indicators, wgi_mean, wgi_scaled.
    """
    chosen = list(indicators)
    unknown = sorted(set(chosen) - set(WGI_INDICATORS))
    if not chosen or unknown:
        raise ChokepointsError(
            f"unknown WGI indicator(s) {', '.join(unknown) or '(none given)'}; "
            f"choose among {', '.join(WGI_INDICATORS)}"
        )
    rows = governance.filter(
        governance.indicator.isin(chosen),
        governance.year <= year,
        governance.estimate.notnull(),
    )
    yearly = rows.group_by(["country", "year"]).aggregate(
        wgi_mean=rows.estimate.mean(), wgi_indicators=rows.indicator.nunique()
    )
    latest = yearly.group_by("country").aggregate(wgi_year=yearly.year.max())
    picked = yearly.join(latest, ["country", yearly.year == latest.wgi_year])
    return picked.select(
        "country",
        wgi_year=picked.wgi_year.cast("int16"),
        wgi_indicators=picked.wgi_indicators.cast("int8"),
        wgi_mean=picked.wgi_mean.cast("float64"),
        wgi_scaled=rescale(picked.wgi_mean).cast("float64"),
    )


def hhi_wgi(
    shares: ir.Table,
    scores: ir.Table,
    *,
    restrictions: ir.Table | None = None,
    missing_score: MissingScore = NEUTRAL_SCORE,
) -> ir.Table:
    """Governance-weighted import concentration ``sum_c s_c^2 * WGI_c * t_c`` (EU CRM, JRC 2017).

    Per (year, importer, product): hhi_wgi, hhi (``sum s_c^2``), scored_share (share of imports
    from suppliers with a WGI score) and suppliers. See ``weighted_concentration`` for
    ``scores``, ``restrictions`` and ``missing_score``.
    """
    return weighted_concentration(
        shares.select("year", "importer", "product", "exporter", "share"),
        keys=("year", "importer", "product"),
        scores=scores,
        restrictions=restrictions,
        missing_score=missing_score,
    )


def weighted_concentration(
    shares: ir.Table,
    *,
    keys: Sequence[str],
    scores: ir.Table,
    restrictions: ir.Table | None = None,
    missing_score: MissingScore = NEUTRAL_SCORE,
) -> ir.Table:
    """``sum_c share_c^2 * WGI_c * t_c`` per ``keys`` over suppliers ``exporter`` with ``share``.

    ``scores`` has country and wgi_scaled (and optionally year, to score each year with its
    own WGI). Suppliers without a score get ``missing_score`` (a number, or ``"worst"``: the
    highest score in ``scores``) and are reported through ``scored_share``, never dropped.
    ``restrictions`` (country, product or null for all, factor >= 1) gives ``t_c``; 1 otherwise.
    """
    by_year = "year" in scores.columns
    rated = _attach_scores(shares, scores, missing_score, by_year=by_year)
    rated = _attach_restrictions(rated, restrictions)
    squared = rated.share * rated.share
    result = rated.group_by(list(keys)).aggregate(
        hhi=squared.sum(),
        hhi_wgi=(squared * rated._wgi * rated._factor).sum(),
        scored_share=ibis.ifelse(rated._scored, rated.share, 0.0).sum(),
        suppliers=rated.exporter.nunique(),
    )
    return result.select(
        *keys,
        hhi=result.hhi.cast("float64"),
        hhi_wgi=result.hhi_wgi.cast("float64"),
        scored_share=result.scored_share.cast("float64"),
        suppliers=result.suppliers.cast("int32"),
    )


def supply_risk_trade(
    shares: ir.Table,
    world_shares: ir.Table,
    flows_balance: ir.Table,
    scores: ir.Table,
    *,
    eol_rir: Parameter = 0.0,
    substitution_index: Parameter = 1.0,
    restrictions: ir.Table | None = None,
    missing_score: MissingScore = NEUTRAL_SCORE,
) -> ir.Table:
    """EU CRM supply risk on trade shares (production data absent), per (year, importer, product).

    ``SR = [HHI_WGI,GS * IR/2 + HHI_WGI,imp * (1 - IR/2)] * (1 - EoL_RIR) * SI`` (EC 2017), with
    GS = world export shares, imp = the importer's import shares and ``IR = clip((M - X) / M,
    0, 1)`` from ``flows_balance`` (year, country, product, imports_usd, exports_usd).
    ``world_shares`` (year, product, exporter, world_share) may carry a ``basis`` column: the
    global supply of products whose shares are production shares says ``production_shares``.
    ``eol_rir`` and ``substitution_index`` are numbers in [0, 1] or tables (product, eol_rir) /
    (product, substitution_index); unlisted products get 0 and 1. Columns: year, importer,
    product, hhi_wgi_global, hhi_wgi_importer, import_reliance, eol_rir, substitution_index,
    supply_risk, scored_share_global, scored_share_importer, basis ('trade_shares').
    """
    importer = hhi_wgi(shares, scores, restrictions=restrictions, missing_score=missing_score)
    world = world_shares.select("year", "product", "exporter", share=world_shares.world_share)
    global_ = weighted_concentration(
        world,
        keys=("year", "product"),
        scores=scores,
        restrictions=restrictions,
        missing_score=missing_score,
    )
    global_ = global_.select(
        _g_year=global_.year,
        _g_product=global_["product"],
        hhi_wgi_global=global_.hhi_wgi,
        scored_share_global=global_.scored_share,
    )
    balance = flows_balance.select(
        _b_year=flows_balance.year,
        _b_country=flows_balance.country,
        _b_product=flows_balance["product"],
        _m=flows_balance.imports_usd.cast("float64"),
        _x=flows_balance.exports_usd.cast("float64"),
    )
    joined = importer.left_join(
        global_,
        [importer.year == global_._g_year, importer["product"] == global_._g_product],
    )
    joined = joined.left_join(
        balance,
        [
            joined.year == balance._b_year,
            joined.importer == balance._b_country,
            joined["product"] == balance._b_product,
        ],
    )
    if "basis" in world_shares.columns:
        bases = world_shares.select(
            _p_year=world_shares.year, _p_product=world_shares["product"], _basis=world_shares.basis
        ).distinct()
        joined = joined.left_join(
            bases, [joined.year == bases._p_year, joined["product"] == bases._p_product]
        )
    joined = _attach_product_parameter(joined, eol_rir, "eol_rir", neutral=0.0)
    joined = _attach_product_parameter(joined, substitution_index, "substitution_index", 1.0)
    # No balance row: reliance unknown (null). No imports: nothing to rely on (0).
    reliance = ibis.cases(
        (joined._m > 0, ((joined._m - joined._x) / joined._m).clip(lower=0.0, upper=1.0)),
        (joined._m.notnull(), 0.0),
    )
    joined = joined.mutate(import_reliance=reliance.cast("float64"))
    half = joined.import_reliance / 2.0
    risk = (
        (joined.hhi_wgi_global * half + joined.hhi_wgi * (1.0 - half))
        * (1.0 - joined.eol_rir)
        * joined.substitution_index
    )
    return joined.select(
        "year",
        "importer",
        "product",
        "hhi_wgi_global",
        hhi_wgi_importer=joined.hhi_wgi,
        import_reliance=joined.import_reliance,
        eol_rir=joined.eol_rir,
        substitution_index=joined.substitution_index,
        supply_risk=risk.cast("float64"),
        scored_share_global=joined.scored_share_global,
        scored_share_importer=joined.scored_share,
        basis=(
            joined._basis.fill_null(TRADE_BASIS)
            if "_basis" in joined.columns
            else ibis.literal(TRADE_BASIS, "string")
        ),
    )


# -- joins -----------------------------------------------------------------------------------
def _attach_scores(
    shares: ir.Table, scores: ir.Table, missing_score: MissingScore, *, by_year: bool
) -> ir.Table:
    """Add ``_wgi`` (the supplier's score, or the missing-score rule) and ``_scored``."""
    keyed = scores.select(
        _s_country=scores.country,
        _s_score=scores.wgi_scaled.cast("float64"),
        **({"_s_year": scores.year} if by_year else {}),
    )
    predicates = [shares.exporter == keyed._s_country]
    if by_year:
        predicates.append(shares.year == keyed._s_year)
    rated = shares.left_join(keyed, predicates)
    if missing_score == "worst":
        if by_year:
            worst = keyed.group_by(_w_year=keyed._s_year).aggregate(_worst=keyed._s_score.max())
            rated = rated.left_join(worst, rated.year == worst._w_year).drop("_w_year")
        else:
            rated = rated.cross_join(keyed.aggregate(_worst=keyed._s_score.max()))
        fallback = rated._worst
    elif isinstance(missing_score, int | float) and 0.0 <= missing_score <= 10.0:
        fallback = ibis.literal(float(missing_score), "float64")
    else:
        raise ChokepointsError(
            f"missing_score must be a number from 0 to 10 or 'worst', not {missing_score!r}"
        )
    rated = rated.mutate(
        _scored=rated._s_score.notnull(), _wgi=ibis.coalesce(rated._s_score, fallback)
    )
    drop = [c for c in ("_s_country", "_s_year", "_s_score", "_worst") if c in rated.columns]
    return rated.drop(*drop)


def _attach_restrictions(rated: ir.Table, restrictions: ir.Table | None) -> ir.Table:
    """Add ``_factor``: a product-specific restriction, else a country-wide one, else 1."""
    if restrictions is None:
        return rated.mutate(_factor=ibis.literal(1.0, "float64"))
    _check_restrictions(restrictions)
    specific = restrictions.filter(restrictions["product"].notnull())
    specific = specific.select(
        _r_country=specific.country,
        _r_product=specific["product"],
        _r_factor=specific.factor.cast("float64"),
    )
    general = restrictions.filter(restrictions["product"].isnull())
    general = general.select(_c_country=general.country, _c_factor=general.factor.cast("float64"))
    rated = rated.left_join(
        specific,
        [rated.exporter == specific._r_country, rated["product"] == specific._r_product],
    )
    rated = rated.left_join(general, rated.exporter == general._c_country)
    rated = rated.mutate(_factor=ibis.coalesce(rated._r_factor, rated._c_factor, 1.0))
    return rated.drop("_r_country", "_r_product", "_r_factor", "_c_country", "_c_factor")


def _attach_product_parameter(
    table: ir.Table, value: Parameter, name: str, neutral: float
) -> ir.Table:
    """Add column ``name``: one number for all rows, or per-product values (else ``neutral``)."""
    if not isinstance(value, ir.Table):
        if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise ChokepointsError(f"{name} must be a number from 0 to 1, not {value!r}")
        return table.mutate(**{name: ibis.literal(float(value), "float64")})
    _check_product_parameter(value, name)
    keyed = value.select(_p_product=value["product"], _p_value=value[name].cast("float64"))
    joined = table.left_join(keyed, table["product"] == keyed._p_product)
    joined = joined.mutate(**{name: ibis.coalesce(joined._p_value, neutral)})
    return joined.drop("_p_product", "_p_value")


# -- checks of the small parameter tables (executed: a few rows each) ------------------------
def _require_columns(table: ir.Table, columns: Sequence[str], what: str) -> None:
    """Raise when a parameter table lacks a column."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{what} table lacks column(s) {', '.join(missing)} (has {', '.join(table.columns)})",
            field=missing[0],
            hint=f"give {what} the columns {', '.join(columns)}",
        )


def _first_rows(table: ir.Table, limit: int = 3) -> str:
    """A few rows of a small table, for an error message."""
    return "; ".join(str(row) for row in table.limit(limit).to_pyarrow().to_pylist())


def _check_restrictions(restrictions: ir.Table) -> None:
    """Refuse factors below 1 or missing, and two factors for one (country, product)."""
    _require_columns(restrictions, ("country", "product", "factor"), "restrictions")
    bad = restrictions.filter(restrictions.factor.isnull() | (restrictions.factor < 1))
    if bad.count().to_pyarrow().as_py():
        raise InputError(
            f"restriction factors must be numbers >= 1 (1 = no restriction): {_first_rows(bad)}",
            field="factor",
            hint="use factors of 1 or more, e.g. 1.5 for an export licensing regime",
        )
    counts = restrictions.group_by(["country", "product"]).aggregate(rows=ibis._.count())
    repeated = counts.filter(counts.rows > 1)
    if repeated.count().to_pyarrow().as_py():
        raise InputError(
            f"more than one restriction factor for the same country and product: "
            f"{_first_rows(repeated)}",
            field="product",
            hint="give one factor per country and product (empty product = all products)",
        )


def _check_product_parameter(table: ir.Table, name: str) -> None:
    """Refuse per-product values outside [0, 1], missing, or given twice for a product."""
    _require_columns(table, ("product", name), name)
    bad = table.filter(table[name].isnull() | (table[name] < 0) | (table[name] > 1))
    if bad.count().to_pyarrow().as_py():
        raise InputError(
            f"{name} values must be numbers from 0 to 1: {_first_rows(bad)}",
            field=name,
            hint="give one value from 0 to 1 per product",
        )
    counts = table.group_by("product").aggregate(rows=ibis._.count())
    repeated = counts.filter(counts.rows > 1)
    if repeated.count().to_pyarrow().as_py():
        raise InputError(
            f"{name} is given more than once for a product: {_first_rows(repeated)}",
            field="product",
            hint="give one value per product",
        )
