"""An independent pandas implementation of the concentration and dependency metrics.

Written from the definitions of METHODS.md section 1, not from the Ibis code of
``chokepoints.analysis``, so that tests can compare the two (``test_oracle_parity.py``) and the
benchmark can time what an analyst would write in pandas. Functions take a *flows* frame
(``year, exporter, importer, product, value_usd, quantity_t``, one row per flow) and return a
frame with the columns of their Ibis namesake. Plain groupby and merge code, to check by eye.
A flow worth 0 supplies nothing: the metrics leave such flows out.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence

import pandas as pd

FLOW_KEY = ["year", "exporter", "importer", "product"]
IMPORT_KEY = ["year", "importer", "product"]
EXPORT_KEY = ["year", "exporter", "product"]
FLOW_COLUMNS = [*FLOW_KEY, "value_usd", "quantity_t"]

#: Import/export ratio when the country exports none of the product (CEPII GeoDep).
NO_EXPORTS_RATIO = 9999.0

#: Comparison operators of custom rules.
OPERATORS: dict[str, Callable[[pd.Series, object], pd.Series]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
}


def flows_frame(rows: Iterable[tuple]) -> pd.DataFrame:
    """A flows frame with the canonical dtypes from ``(year, exporter, importer, product,
    value_usd, quantity_t)`` tuples (``quantity_t`` may be None)."""
    frame = pd.DataFrame(list(rows), columns=FLOW_COLUMNS)
    return frame.astype(
        {
            "year": "int16",
            "exporter": "str",
            "importer": "str",
            "product": "str",
            "value_usd": "float64",
            "quantity_t": "float64",
        }
    )


def import_export_ratio(imports: pd.Series, exports: pd.Series) -> pd.Series:
    """``imports / exports``, and 9999 where exports are 0."""
    return (imports / exports.where(exports != 0)).where(exports != 0, NO_EXPORTS_RATIO)


def positive(flows: pd.DataFrame) -> pd.DataFrame:
    """The flows worth more than 0."""
    return flows[flows["value_usd"] > 0]


def summed(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Value and quantity summed per ``key`` (quantity null when no row of the group has one)."""
    sums = frame.groupby(key, sort=False)[["value_usd", "quantity_t"]].sum(min_count=1)
    return sums.reset_index()


def partner_concentration(rows: pd.DataFrame, key: list[str], partner: str) -> pd.DataFrame:
    """Per ``key``: ``total``, ``n``, ``hhi`` (sum of squared partner shares), ``top`` and
    ``top_share``, from ``rows`` holding one ``value_usd`` per (key, partner)."""
    rows = rows[[*key, partner, "value_usd"]].reset_index(drop=True)
    rows["share"] = rows["value_usd"] / rows.groupby(key)["value_usd"].transform("sum")
    rows["share_squared"] = rows["share"] ** 2
    groups = rows.groupby(key, sort=False)
    result = groups.agg(
        total=("value_usd", "sum"),
        n=("value_usd", "size"),
        hhi=("share_squared", "sum"),
        top_share=("share", "max"),
    ).reset_index()
    top = rows.loc[groups["value_usd"].idxmax(), [*key, partner]]
    return result.merge(top.rename(columns={partner: "top"}), on=key)


def share_from(
    rows: pd.DataFrame, key: list[str], partner: str, members: Sequence[str]
) -> pd.Series:
    """Per ``key`` (as the index): the share of value traded with ``members`` of ``partner``."""
    inside = rows["value_usd"].where(rows[partner].isin(list(members)), 0.0)
    return inside.groupby([rows[k] for k in key]).sum() / rows.groupby(key)["value_usd"].sum()


def add_focus_shares(
    result: pd.DataFrame,
    rows: pd.DataFrame,
    key: list[str],
    partner: str,
    focus: Mapping[str, Sequence[str]] | None,
) -> pd.DataFrame:
    """``result`` with a ``share_<name>`` column per group of partners in ``focus``."""
    for name, members in (focus or {}).items():
        share = share_from(rows, key, partner, members).rename(f"share_{name.lower()}")
        result = result.merge(share.reset_index(), on=key, how="left")
    return result


def as_group(flows: pd.DataFrame, name: str, members: Sequence[str]) -> pd.DataFrame:
    """Members seen as one country ``name``: flows between members dropped, others relabelled."""
    members = list(members)
    between_members = flows["exporter"].isin(members) & flows["importer"].isin(members)
    kept = flows[~between_members]
    relabelled = kept.assign(
        exporter=kept["exporter"].mask(kept["exporter"].isin(members), name),
        importer=kept["importer"].mask(kept["importer"].isin(members), name),
    )
    return summed(relabelled, FLOW_KEY)


def select_flows(
    trade: pd.DataFrame,
    *,
    source: str | None = None,
    classification: str | None = None,
    level: int = 6,
    years: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Flows of one dataset and level: importer-side or reconciled rows, exporter-side rows
    only where no such row exists (mirror data), self-flows dropped."""
    rows = trade[trade["level"] == level]
    if source is not None:
        rows = rows[rows["source"] == source]
    if classification is not None:
        rows = rows[rows["classification"] == classification]
    if years is not None:
        rows = rows[rows["year"].isin(list(years))]
    rows = rows[rows["exporter"] != rows["importer"]]
    direct = rows[rows["reporter_side"].isin(["importer", "reconciled"])]
    mirror = rows[rows["reporter_side"] == "exporter"]
    seen = direct[FLOW_KEY].drop_duplicates()
    mirror = mirror.merge(seen, on=FLOW_KEY, how="left", indicator=True)
    mirror = mirror[mirror["_merge"] == "left_only"]
    return summed(pd.concat([direct[FLOW_COLUMNS], mirror[FLOW_COLUMNS]]), FLOW_KEY)


def supplier_shares(flows: pd.DataFrame) -> pd.DataFrame:
    """Per (year, importer, product, exporter): value, quantity and the exporter's share."""
    flows = positive(flows)
    result = flows[[*IMPORT_KEY, "exporter", "value_usd", "quantity_t"]].copy()
    imports = flows.groupby(IMPORT_KEY)["value_usd"].transform("sum")
    result["share"] = flows["value_usd"] / imports
    return result


def import_concentration(
    flows: pd.DataFrame,
    *,
    focus: Mapping[str, Sequence[str]] | None = None,
    top3: bool = True,
) -> pd.DataFrame:
    """Per (year, importer, product): imports, suppliers, HHI, top supplier, focus shares and
    the top-3 share (sum of the three largest supplier shares)."""
    flows = positive(flows)
    stats = partner_concentration(flows, IMPORT_KEY, "exporter").rename(
        columns={
            "total": "import_value_usd",
            "n": "n_suppliers",
            "top": "top_supplier",
            "top_share": "top_supplier_share",
        }
    )
    quantity = flows.groupby(IMPORT_KEY)["quantity_t"].sum(min_count=1).rename("import_quantity_t")
    result = stats.merge(quantity.reset_index(), on=IMPORT_KEY)
    result = add_focus_shares(result, flows, IMPORT_KEY, "exporter", focus)
    if top3:
        largest_first = flows.sort_values("value_usd", ascending=False)
        three = largest_first.groupby(IMPORT_KEY).head(3)
        top3_value = three.groupby(IMPORT_KEY)["value_usd"].sum().rename("top3_value")
        result = result.merge(top3_value.reset_index(), on=IMPORT_KEY)
        result["top3_share"] = result.pop("top3_value") / result["import_value_usd"]
    return result


def exports_by_exporter(flows: pd.DataFrame) -> pd.DataFrame:
    """Per (year, exporter, product): ``value_usd``, the exporter's exports to all markets."""
    return flows.groupby(EXPORT_KEY, sort=False)["value_usd"].sum().reset_index()


def world_exports(flows: pd.DataFrame) -> pd.DataFrame:
    """Per (year, product): world exports, exporters, HHI of exporters' world shares, top one."""
    flows = positive(flows)
    stats = partner_concentration(exports_by_exporter(flows), ["year", "product"], "exporter")
    return stats.rename(
        columns={
            "total": "world_export_value_usd",
            "n": "n_exporters",
            "hhi": "world_export_hhi",
            "top": "top_exporter",
            "top_share": "top_exporter_share",
        }
    )


def exporter_shares(flows: pd.DataFrame) -> pd.DataFrame:
    """Per (year, exporter, product): exports and the exporter's share of world exports."""
    flows = positive(flows)
    result = exports_by_exporter(flows).rename(columns={"value_usd": "export_value_usd"})
    world = result.groupby(["year", "product"])["export_value_usd"].transform("sum")
    result["world_share"] = result["export_value_usd"] / world
    return result


def trade_balance(flows: pd.DataFrame) -> pd.DataFrame:
    """Per (year, country, product): exports, imports, M/X (9999 when X = 0) and Balassa's RCA
    ``(X_cp / X_c) / (X_wp / X_w)`` (null when the country exports nothing at all)."""
    flows = positive(flows)
    exports = flows.groupby(["year", "exporter", "product"])["value_usd"].sum()
    imports = flows.groupby(["year", "importer", "product"])["value_usd"].sum()
    exports.index.names = imports.index.names = ["year", "country", "product"]
    table = pd.concat({"exports_usd": exports, "imports_usd": imports}, axis=1).fillna(0.0)
    table = table.reset_index()
    x_c = table.groupby(["year", "country"])["exports_usd"].transform("sum")
    x_p = table.groupby(["year", "product"])["exports_usd"].transform("sum")
    x_w = table.groupby("year")["exports_usd"].transform("sum")
    table["import_export_ratio"] = import_export_ratio(table["imports_usd"], table["exports_usd"])
    table["rca"] = ((table["exports_usd"] / x_c) / (x_p / x_w)).where(x_c > 0)
    return table


def export_dependence(
    flows: pd.DataFrame, *, focus: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """Per (year, exporter, product): exports, markets, destination HHI, top market and share,
    focus shares, and the product's share of the exporter's total exports."""
    flows = positive(flows)
    stats = partner_concentration(flows, EXPORT_KEY, "importer").rename(
        columns={
            "total": "export_value_usd",
            "n": "n_markets",
            "hhi": "market_hhi",
            "top": "top_market",
            "top_share": "top_market_share",
        }
    )
    result = add_focus_shares(stats, flows, EXPORT_KEY, "importer", focus)
    all_products = result.groupby(["year", "exporter"])["export_value_usd"].transform("sum")
    result["share_of_exports"] = result["export_value_usd"] / all_products
    return result


def coverage(flows: pd.DataFrame) -> pd.DataFrame:
    """Per year: importers, exporters, countries seen either way, and the share that import."""
    flows = positive(flows)
    records = []
    for year, rows in flows.groupby("year"):
        importers, exporters = set(rows["importer"]), set(rows["exporter"])
        countries = importers | exporters
        records.append(
            {
                "year": year,
                "n_importers": len(importers),
                "n_exporters": len(exporters),
                "n_countries": len(countries),
                "importer_share": len(importers) / len(countries),
            }
        )
    return pd.DataFrame(records)


def dependency_metrics(
    flows: pd.DataFrame, *, importer_flows: pd.DataFrame | None = None, top3: bool = True
) -> pd.DataFrame:
    """Per (year, importer, product): import concentration (from ``importer_flows``), the world
    export HHI (from ``flows``), the importer's exports to the world and M/X."""
    importer_flows = flows if importer_flows is None else importer_flows
    result = import_concentration(importer_flows, top3=top3)
    world = world_exports(flows)[["year", "product", "world_export_hhi"]]
    exports = exports_by_exporter(importer_flows).rename(
        columns={"exporter": "importer", "value_usd": "exports_usd"}
    )
    result = result.merge(world, on=["year", "product"], how="left")
    result = result.merge(exports, on=IMPORT_KEY, how="left")
    result["exports_usd"] = result["exports_usd"].fillna(0.0)
    result["import_export_ratio"] = import_export_ratio(
        result["import_value_usd"], result["exports_usd"]
    )
    return result


def geodep(
    flows: pd.DataFrame,
    year: int,
    *,
    importer_flows: pd.DataFrame | None = None,
    import_hhi: float = 0.4,
    world_export_hhi: float = 0.4,
    ratio: float = 1.0,
    window: int = 3,
    min_years: int = 2,
    top3: bool = True,
    years_held: int | None = None,
) -> pd.DataFrame:
    """CEPII GeoDep: per (importer, product) imported in the window, the year-``year`` metrics
    and criteria, ``years_met`` (window years meeting all three criteria, a year without
    imports counting as not met) and ``dependent = years_met >= min_years``.

    With ``years_held`` below ``min_years``, ``dependent`` marks the year-``year`` candidates
    (all three criteria met that year) and ``persistence`` says it was not assessable."""
    importer_flows = flows if importer_flows is None else importer_flows
    per_year = []
    for y in range(year - window + 1, year + 1):
        metrics = dependency_metrics(
            flows[flows["year"] == y],
            importer_flows=importer_flows[importer_flows["year"] == y],
            top3=top3,
        )
        metrics["crit_import_hhi"] = metrics["hhi"] > import_hhi
        metrics["crit_world_export_hhi"] = metrics["world_export_hhi"] > world_export_hhi
        metrics["crit_import_export_ratio"] = metrics["import_export_ratio"] > ratio
        metrics["met"] = (
            metrics["crit_import_hhi"]
            & metrics["crit_world_export_hhi"]
            & metrics["crit_import_export_ratio"]
        )
        per_year.append(metrics)
    window_rows = pd.concat(per_year, ignore_index=True)
    counts = (
        window_rows.groupby(["importer", "product"])["met"]
        .agg(years_met="sum", years_observed="size")
        .reset_index()
    )
    current = window_rows[window_rows["year"] == year].drop(columns=["year", "met"])
    result = counts.merge(current, on=["importer", "product"], how="left")
    result.insert(0, "year", year)
    held = window if years_held is None else years_held
    if held < min_years:
        this_year = (
            result["crit_import_hhi"]
            & result["crit_world_export_hhi"]
            & result["crit_import_export_ratio"]
        )
        result["dependent"] = this_year.fillna(False).astype(bool)
        result["persistence"] = f"not assessable ({held} of {window} years)"
    else:
        result["dependent"] = result["years_met"] >= min_years
        result["persistence"] = [f"{int(n)} of {window} years" for n in result["years_met"]]
    result["method"] = "geodep"
    return result


def ec2021(
    flows: pd.DataFrame,
    year: int,
    *,
    group: str,
    members: Sequence[str],
    products: Sequence[str] | None = None,
    import_hhi: float = 0.4,
    extra_share: float = 0.5,
    ratio: float = 1.0,
) -> pd.DataFrame:
    """European Commission 2021, per product imported from outside the group in ``year``:
    HHI of suppliers' shares of the extra-group imports (summed over members) > 0.4,
    extra / (extra + intra) imports > 0.5, extra imports / members' exports to all
    destinations > 1 (9999 when they export none)."""
    rows = flows[flows["year"] == year]
    from_member = rows["exporter"].isin(list(members))
    to_member = rows["importer"].isin(list(members))
    by_supplier = summed(rows[to_member & ~from_member], ["year", "exporter", "product"])
    result = import_concentration(by_supplier.assign(importer=group), top3=True)
    intra = rows[to_member & from_member].groupby("product")["value_usd"].sum()
    exports = rows[from_member].groupby("product")["value_usd"].sum()
    world = world_exports(rows)[["product", "world_export_hhi"]]
    result = result.merge(intra.rename("intra_imports_usd").reset_index(), on="product", how="left")
    result = result.merge(exports.rename("exports_usd").reset_index(), on="product", how="left")
    result = result.merge(world, on="product", how="left")
    result[["intra_imports_usd", "exports_usd"]] = result[
        ["intra_imports_usd", "exports_usd"]
    ].fillna(0.0)
    extra = result["import_value_usd"]
    result["extra_share"] = extra / (extra + result["intra_imports_usd"])
    result["import_export_ratio"] = import_export_ratio(extra, result["exports_usd"])
    result["crit_import_hhi"] = result["hhi"] > import_hhi
    result["crit_extra_share"] = result["extra_share"] > extra_share
    result["crit_import_export_ratio"] = result["import_export_ratio"] > ratio
    result["in_scope"] = result["product"].isin(list(products)) if products is not None else True
    result["dependent"] = (
        result["crit_import_hhi"]
        & result["crit_extra_share"]
        & result["crit_import_export_ratio"]
        & result["in_scope"]
    )
    result["method"] = "ec2021"
    return result


def custom(metrics: pd.DataFrame, rules: Sequence[tuple[str, str, str]]) -> pd.DataFrame:
    """``metrics`` flagged ``dependent`` where every ``(metric, operator, text)`` rule holds.

    The text is read as a number for numeric metrics, true/yes/1 for flags, and as a code
    otherwise; a null metric fails its rule.
    """
    dependent = pd.Series(True, index=metrics.index)
    for metric, op, text in rules:
        column = metrics[metric]
        value: object = text
        if pd.api.types.infer_dtype(column, skipna=True) == "boolean":
            value = text.lower() in ("true", "yes", "1")
        elif pd.api.types.is_numeric_dtype(column):
            value = float(text)
        holds = OPERATORS[op](column, value)
        dependent &= holds.fillna(False).astype(bool) & column.notna()
    text = " & ".join(f"{metric}{op}{value}" for metric, op, value in rules)
    return metrics.assign(dependent=dependent, method=f"custom: {text}")
