"""What the home, search, country and product pages show: the questions asked (through the
answerer, never computed here), the report's charts drawn from them, and their tables.

Each function returns the template's context; the frames it gets from the answerer's cache are
never changed in place.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd

from chokepoints.errors import NoDataError
from chokepoints.reference.countries import labelled
from chokepoints.render import DEPS_TABLE, EXPORTS_TABLE
from chokepoints.report import charts as report_charts
from chokepoints.report.content import money, points, trend_sentence
from chokepoints.web import charts, lookups
from chokepoints.web.answerer import Answerer
from chokepoints.web.rendering import Chart, Table, api_url, query

#: Rows the search lists per kind.
SEARCH_ROWS = 8
TREND_TABLE = ["year", "imports_usd", "from_supplier_usd", "supplier_share", "n_dependent",
               "n_dependent_on_supplier", "mean_hhi"]  # fmt: skip
IMPORTERS_TABLE = ["importer", "import_value_usd", "n_suppliers", "hhi", "top_supplier",
                   "top_supplier_share", "import_export_ratio", "dependent"]  # fmt: skip


async def home(answerer: Answerer) -> dict[str, Any]:
    """Datasets held, and where to start."""
    held = await lookups.info(answerer)
    rows = [
        {
            "source": entry["source"],
            "release": entry["release"],
            "classification": entry["classification"],
            "years": f"{entry['years'][0]['year']}-{entry['years'][-1]['year']}"
            if len(entry["years"]) > 1
            else str(entry["years"][0]["year"]),
            "rows": f"{entry['rows']:,}",
            "value": money(float(entry["value_usd"])),
            "demo": entry["demo"],
        }
        for entry in held["sources"]
    ]
    return {
        "datasets": rows,
        "held": held,
        "presets": lookups.presets(),
        "groups": (await lookups.groups(answerer))["group"].tolist(),
        "provenance": [
            (
                "Data held",
                {
                    "source": r["source"],
                    "releases": [r["release"]],
                    "classification": r["classification"],
                    "years": [r["years"]],
                    "demo": r["demo"],
                },
            )
            for r in rows
        ],
    }


async def search(answerer: Answerer, text: str) -> dict[str, Any]:
    """Countries, groups and products matching ``text`` (code or words)."""
    needle = text.strip().casefold()
    found: dict[str, list[tuple[str, str, str]]] = {"countries": [], "groups": [], "products": []}
    if needle:
        found["countries"] = [
            (f"/country/{code}", labelled(code), "country")
            for code, _ in lookups.country_matches(text, SEARCH_ROWS)
        ]
        table = await lookups.groups(answerer)
        hits = table[
            table["group"].str.casefold().str.contains(needle, regex=False)
            | table["description"].str.casefold().str.contains(needle, regex=False)
        ]
        found["groups"] = [
            (f"/country/{name}", name, description)
            for name, description in zip(hits["group"], hits["description"], strict=True)
        ][:SEARCH_ROWS]
        listed = await lookups.products(answerer)
        hits = listed[
            listed["product"].str.startswith(needle)
            | listed["description"].fillna("").str.casefold().str.contains(needle, regex=False)
        ]
        found["products"] = [
            (f"/product/{code}", code, description or "")
            for code, description in zip(hits["product"], hits["description"], strict=True)
        ][:SEARCH_ROWS]
    return {"q": text, "found": found, "total": sum(len(v) for v in found.values())}


async def country(
    answerer: Answerer, economy: str, *, year: int | None, sector: str | None
) -> dict[str, Any]:
    """A country's (or group's) page: dependencies by sector, suppliers, map, trend, exports."""
    names = await lookups.sector_names(answerer)
    deps = await answerer.ask(
        "dependencies", country=economy, year=year, sector=sector, include_all=True
    )
    record = deps.attrs["provenance"]
    deps = _bare(deps)
    who, year = str(record["economy"]), int(record["year"])
    strategic = deps[deps["sector"].fillna("") != ""]
    dependent = strategic[strategic["dependent"]].sort_values("import_value_usd", ascending=False)
    codes = strategic["product"].tolist()
    order = [sector] if sector else lookups.sector_order(names)
    params = {"year": year, "sector": sector}
    dominance = dependent["top_supplier"].value_counts()
    # The questions below need only the dependencies: asked together, they run side by side
    # on the server's workspaces (the trend waits for the suppliers only when no supplier
    # dominates a dependent product).
    known = str(dominance.index[0]) if len(dominance) else ""
    years = await lookups.years_of(answerer, record.get("source"))
    # A trend needs two years: with one held up to this year, there is nothing to ask.
    over = sum(held <= year for held in years) > 1
    suppliers, exports, (trend, trend_record) = await asyncio.gather(
        _suppliers(answerer, who, codes, year, dominance),
        answerer.ask(
            "dependencies", country=who, year=year, sector=sector, side="exports", include_all=True
        ),
        _trend(answerer, who, known, sector, year, over=over),
    )
    supplier = known or _first(suppliers, "exporter")
    if over and not known:
        trend, trend_record = await _trend(answerer, who, supplier, sector, year, over=over)
    provenance = [
        ("Dependencies", record),
        ("Suppliers and map", suppliers.attrs.get("provenance", {})),
        ("Trend", trend_record),
        ("Export markets", exports.attrs.get("provenance", {})),
    ]
    suppliers, exports = _bare(suppliers), _bare(exports)
    exports = exports[exports["product"].isin(set(codes))].sort_values(
        ["dependent", "export_value_usd"], ascending=False
    )
    by_sector = _by_sector(strategic, order)
    deps_csv = api_url(f"dependencies/{who}", include_all=True, **params)
    links = {
        "product": lambda row: f"/product/{row['product']}?year={year}",
        "description": lambda row: f"/diversify/{who}/{row['product']}?year={year}",
    }
    return {
        "who": who,
        "title": labelled(who),
        "year": year,
        "sector": sector,
        "sectors": names,
        "years": years,
        "members": record.get("members") or [who],
        "figures": _country_figures(strategic, dependent, suppliers, trend_record),
        "charts": [
            Chart(
                "dependencies",
                "Dependent products by sector",
                _dependencies_lead(strategic, dependent, record, names, sector),
                report_charts.dependencies_treemap(dependent, order, names),
                [
                    Table(
                        "Dependent products (code: its world picture; description: where "
                        "else to buy it)",
                        dependent,
                        [*DEPS_TABLE[:2], "sector", *DEPS_TABLE[2:-1]],
                        deps_csv,
                        links=links,
                    )
                ],
                empty=f"{labelled(who)} has no dependent product here in {year}.",
            ),
            Chart(
                "sectors",
                "Sectors at a glance",
                "Products imported per sector, and how many of them meet the dependency "
                "criteria (a product can belong to several sectors).",
                report_charts.sector_bars(by_sector, names),
                [
                    Table(
                        "Per sector",
                        by_sector.assign(
                            sector=lambda f: f["sector"].map(lambda s: names.get(s, s))
                        ),
                        ["sector", "n_products", "n_dependent", "import_value_usd"],
                        deps_csv,
                    )
                ],
            ),
            Chart(
                "suppliers",
                "Top suppliers",
                _suppliers_lead(suppliers),
                report_charts.supplier_bars(suppliers),
                [
                    Table(
                        "Suppliers",
                        suppliers,
                        ["exporter", "imports_usd", "share", "n_products", "n_dominant"],
                        f"/country/{who}/suppliers.csv?" + query(params),
                    )
                ],
            ),
            Chart(
                "map",
                "Where these imports come from",
                "Imports of the products above by country of origin (colour on a log scale), "
                "the map centred on the economy's region.",
                report_charts.supplier_map(
                    suppliers, report_charts.map_centre(record.get("members") or [who])
                ),
                [
                    Table(
                        "By country of origin",
                        suppliers,
                        ["exporter", "imports_usd", "share"],
                        f"/country/{who}/suppliers.csv?" + query(params),
                    )
                ],
            ),
            Chart(
                "trend",
                "Trend over the years",
                _trend_lead(who, trend_record, names.get(sector or "", "")),
                report_charts.trend_lines(trend, supplier) if trend is not None else None,
                [
                    Table(
                        "Per year",
                        trend,
                        TREND_TABLE,
                        api_url(f"trend/{who}", supplier=supplier, **params),
                    )
                ]
                if trend is not None
                else [],
                empty=trend_record.get("note", "No trend to show."),
            ),
            Chart(
                "exports",
                "Exports that hang on one market",
                _exports_lead(exports),
                report_charts.market_bars(exports),
                [
                    Table(
                        "Exports of these products",
                        exports,
                        EXPORTS_TABLE,
                        api_url(f"dependencies/{who}", side="exports", include_all=True, **params),
                        links={"product": lambda row: f"/product/{row['product']}?year={year}"},
                    )
                ],
                empty=f"No export of {labelled(who)} here depends on one market.",
            ),
        ],
        "provenance": provenance,
    }


async def _suppliers(
    answerer: Answerer, who: str, codes: list[str], year: int, dominance: pd.Series
) -> pd.DataFrame:
    """Where the products' imports come from, with the dependent products each dominates."""
    if not codes:
        return pd.DataFrame(columns=["exporter", "imports_usd", "share", "n_products"]).assign(
            n_dominant=0
        )
    found = await answerer.ask("import_sources", country=who, products=codes, year=year)
    frame = found.assign(n_dominant=found["exporter"].map(dominance).fillna(0).astype("int64"))
    frame.attrs = dict(found.attrs)
    return frame


def _bare(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its attrs (its provenance, read before): pandas deep-copies them at
    every operation, a third of a country page's work. The answer kept is left as it is."""
    bare = frame.copy(deep=False)
    bare.attrs = {}
    return bare


def _first(frame: pd.DataFrame, column: str) -> str:
    """The first value of ``column``, empty when the frame is."""
    return "" if frame.empty else str(frame[column].iloc[0])


#: What the trend panel says when the store holds a single year.
ONE_YEAR = "The store holds one year here, so there is no trend to show."


async def _trend(
    answerer: Answerer, who: str, supplier: str, sector: str | None, year: int, *, over: bool
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """The supplier's trend and its provenance; None and a note when there is none (``over``
    says whether the store holds more than one year up to ``year``)."""
    if not over:
        return None, {"note": ONE_YEAR}
    if not supplier:
        return None, {"note": "No supplier, so no trend."}
    try:
        trend = await answerer.ask(
            "trend", country=who, supplier=supplier, sector=sector, year=year
        )
    except NoDataError as exc:
        return None, {"note": f"No trend: {exc}."}
    if len(trend) < 2:
        return None, {"note": ONE_YEAR}
    return trend, dict(trend.attrs["provenance"])


def _by_sector(strategic: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Per sector of ``order``: products imported, dependent ones and their imports (a product
    of several sectors counts in each)."""
    needed = strategic[["product", "sector", "dependent", "import_value_usd"]]
    listed = needed.assign(sector=needed["sector"].str.split(",")).explode("sector")
    listed = listed[listed["sector"].isin(order)]
    grouped = listed.groupby("sector").agg(
        n_products=("product", "nunique"),
        n_dependent=("dependent", "sum"),
        import_value_usd=("import_value_usd", "sum"),
    )
    grouped["n_dependent"] = grouped["n_dependent"].astype("int64")
    return grouped.reset_index().sort_values(
        ["n_dependent", "import_value_usd"], ascending=False, ignore_index=True
    )


def _country_figures(
    strategic: pd.DataFrame,
    dependent: pd.DataFrame,
    suppliers: pd.DataFrame,
    trend: dict[str, Any],
) -> list[tuple[str, str]]:
    """The handful of numbers read first, as (label, value)."""
    total = float(strategic["import_value_usd"].sum())
    value = float(dependent["import_value_usd"].sum())
    share = f" ({value / total:.0%})" if total else ""
    figures = [
        ("Strategic products imported", f"{len(strategic):,}"),
        ("Imports of them", money(total)),
        ("Dependent products", f"{len(dependent):,}"),
        ("Imports in dependent products", f"{money(value)}{share}"),
    ]
    if not dependent.empty:
        counts = dependent["top_supplier"].value_counts()
        figures.append(
            (
                "Most frequent dominant supplier",
                f"{labelled(str(counts.index[0]))}, {int(counts.iloc[0])} products",
            )
        )
    elif not suppliers.empty:
        top = suppliers.iloc[0]
        figures.append(("Largest supplier", f"{labelled(top['exporter'])}, {top['share']:.0%}"))
    if "change" in trend:
        change = trend["change"]
        figures.append(
            (
                f"Share of {labelled(trend['supplier'])} {change['from_year']}-{change['to_year']}",
                f"{points(change['share_change'])} ({change['verdict']})",
            )
        )
    return figures


def _dependencies_lead(
    strategic: pd.DataFrame,
    dependent: pd.DataFrame,
    record: dict[str, Any],
    names: dict[str, str],
    sector: str | None,
) -> str:
    """The sentence above the treemap: how many products meet which criteria."""
    method = record["method"]
    rule = ", ".join(f"{k} {v}" for k, v in method.items() if k not in ("name", "version"))
    scope = f"the sector {names.get(sector, sector)}" if sector else "the strategic sectors"
    if dependent.empty:
        return f"No product of {scope} meets the {method['name']} criteria ({rule})."
    top = dependent.iloc[0]
    return (
        f"{len(dependent)} of {len(strategic)} products of {scope} meet the {method['name']} "
        f"criteria ({rule}). The largest is {top['product']} {top['description']}, "
        f"{top['top_supplier_share']:.0%} from {labelled(top['top_supplier'])}. Area: import "
        "value; colour: import concentration (HHI)."
    )


def _suppliers_lead(suppliers: pd.DataFrame) -> str:
    """The sentence above the supplier bars."""
    if suppliers.empty:
        return "No imports."
    top = suppliers.iloc[0]
    return (
        f"{labelled(top['exporter'])} supplies {top['share']:.1%} of these imports; red bars "
        "mark suppliers that dominate at least one dependent product."
    )


def _trend_lead(who: str, trend: dict[str, Any], sector: str) -> str:
    """The sentence above the trend, with the de-risking verdict."""
    if "change" not in trend:
        return "Trends need two years or more in the store."
    change = trend["change"]
    scope = f"imports in {sector}" if sector else "imports (all products)"
    return trend_sentence(labelled(trend["supplier"]), labelled(who), scope, change)


def _exports_lead(exports: pd.DataFrame) -> str:
    """The sentence above the export-market bars."""
    hanging = exports[exports["dependent"]]
    if hanging.empty:
        return "The other way round: which sales depend on a single market."
    top = hanging.iloc[0]
    return (
        f"The other way round: {len(hanging)} of {len(exports)} exported products sell mostly to "
        f"one market. The largest, {top['product']} {top['description']}, sends "
        f"{top['top_market_share']:.0%} to {labelled(top['top_market'])}."
    )


async def product(answerer: Answerer, code: str, *, year: int | None) -> dict[str, Any]:
    """A product's page: world picture, exporters map, importers' concentration."""
    picture = await answerer.ask("product", code=code, year=year)
    record = picture.provenance.as_dict()
    summary = picture.summary.iloc[0]
    year = int(record["year"])
    importers = picture.importers
    threshold = (record.get("method") or {}).get("import_hhi")
    csv = {name: api_url(f"product/{code}", year=year, table=name) for name in picture.frames()}
    dependent = importers[importers["dependent"]]
    return {
        "code": code,
        "title": f"{code} {summary.get('description') or ''}".strip(),
        "year": year,
        "years": await lookups.years_of(answerer, record.get("source")),
        "figures": [
            ("World exports", money(float(summary["world_export_value_usd"]))),
            ("Exporters", f"{int(summary['n_exporters']):,}"),
            ("World export concentration (HHI)", f"{summary['world_export_hhi']:.2f}"),
            (
                "Top exporter",
                f"{labelled(summary['top_exporter'])}, {summary['top_exporter_share']:.0%}",
            ),
            ("Importers dependent (GeoDep)", f"{len(dependent):,} of {len(importers):,}"),
        ],
        "charts": [
            Chart(
                "exporters",
                "Who exports it",
                f"{labelled(summary['top_exporter'])} sells {summary['top_exporter_share']:.0%} "
                f"of world exports; colour: export value on a log scale.",
                charts.exporters_map(picture.exporters),
                [
                    Table(
                        "Exporters",
                        picture.exporters,
                        ["exporter", "export_value_usd", "world_share"],
                        csv["exporters"],
                    )
                ],
            ),
            Chart(
                "importers",
                "How concentrated each importer's supply is",
                f"The {min(20, len(importers))} largest importers' concentration of supply "
                f"(HHI); red: dependent by GeoDep"
                + (f", dashed line: the HHI threshold {threshold}." if threshold else "."),
                charts.importer_concentration(importers, threshold),
                [
                    Table(
                        "Importers",
                        importers,
                        IMPORTERS_TABLE,
                        csv["importers"],
                        links={
                            "importer": lambda row: (
                                f"/diversify/{row['importer']}/{code}?year={year}"
                            )
                        },
                    )
                ],
            ),
        ],
        "provenance": [("Product", record)],
    }
