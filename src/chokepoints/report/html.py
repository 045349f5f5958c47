"""The report as one self-contained HTML file: Plotly inlined, map data inlined, no requests.

:func:`render_html` lays the :class:`~chokepoints.report.content.ReportContent` out in sections
(chart, a sentence that reads it, and the table behind it) with a Jinja2 template;
:func:`write_report` writes it through a temporary file so a failed write leaves nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup, escape
from plotly.offline import get_plotlyjs

from chokepoints import __version__
from chokepoints.reference.countries import labelled
from chokepoints.render import (
    BATCH_TABLE,
    DEPS_TABLE,
    EXPORTS_TABLE,
    STRESS_TABLE,
    cell_text,
    column_label,
)
from chokepoints.report import charts
from chokepoints.report.content import ReportContent, money, trend_sentence

#: Plotly options: no logo, resize with the window.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass
class Section:
    """One part of the report: a chart, the sentence that reads it, and its table(s)."""

    key: str
    title: str
    lead: str
    chart: go.Figure | None
    tables: list[tuple[str, pd.DataFrame, list[str]]] = field(default_factory=list)
    empty: str = "Nothing to show."


def render_html(content: ReportContent) -> str:
    """The whole report as an HTML document."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("chokepoints.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = environment.get_template("report.html.j2")
    sections = _sections(content)
    return template.render(
        title=_title(content),
        subtitle=_subtitle(content),
        demo=content.demo,
        figures=content.key_figures(),
        notes=content.notes,
        sections=[_rendered(s) for s in sections],
        provenance=_provenance_rows(content),
        tool=f"chokepoints {__version__}",
        plotly_js=Markup(_script_safe(get_plotlyjs())),
        geo_assets=Markup(_script_safe(_geo_assets())),
    )


def write_report(content: ReportContent, path: Path) -> int:
    """Write the report to ``path`` atomically; return its size in bytes."""
    from chokepoints.export import write_bytes

    text = render_html(content).encode("utf-8")
    write_bytes(path, text)
    return len(text)


def _title(content: ReportContent) -> str:
    """'Economic-security report: JPN' or 'JPN with DEU'."""
    if content.partners:
        return f"Supply-chain dependencies: {content.country} with {', '.join(content.partners)}"
    return f"Supply-chain dependencies: {content.country}"


def _subtitle(content: ReportContent) -> str:
    """Year, data and scope in one line."""
    record = content.provenance["dependencies"]
    sectors = ", ".join(content.sector_name(s) for s in content.sectors_with_data)
    return (
        f"{content.year} · {record['source']} {'/'.join(record['releases'])} "
        f"({record['classification']}) · sectors: {sectors}"
    )


def _sections(content: ReportContent) -> list[Section]:
    """Every section in reading order; cooperation only with partners."""
    dependent = content.dependent
    by_sector = content.by_sector
    sections = [
        Section(
            "dependencies",
            "Dependent products by sector",
            _dependencies_lead(content),
            charts.dependencies_treemap(dependent, content.sectors, content.sector_names),
            [
                (
                    "Dependent products",
                    dependent,
                    [*DEPS_TABLE[:2], "sector", *DEPS_TABLE[2:-1]],
                ),
            ],
            empty=f"{content.country} has no dependent product in these sectors.",
        ),
        Section(
            "sectors",
            "Sectors at a glance",
            "Products imported per sector, and how many of them meet the dependency criteria.",
            charts.sector_bars(by_sector, content.sector_names),
            [
                (
                    "Per sector",
                    by_sector,
                    [
                        "sector",
                        "n_products",
                        "n_dependent",
                        "import_value_usd",
                        "dependent_imports_usd",
                    ],
                )
            ],
        ),
        Section(
            "suppliers",
            "Top suppliers and their shares",
            _suppliers_lead(content),
            charts.supplier_bars(content.suppliers),
            [
                (
                    "Suppliers",
                    content.suppliers.head(40),
                    ["exporter", "imports_usd", "share", "n_products", "n_dominant"],
                )
            ],
        ),
        Section(
            "map",
            "Where the strategic supplies come from",
            "Imports of the report's products by country of origin (colour on a log scale).",
            charts.supplier_map(content.suppliers, charts.map_centre(content.members)),
            [
                (
                    "By country of origin",
                    content.suppliers,
                    ["exporter", "imports_usd", "share"],
                )
            ],
        ),
        Section(
            "trend",
            "Trend over the years",
            _trend_lead(content),
            charts.trend_lines(content.trend, _trend_supplier(content))
            if content.trend is not None
            else None,
            [
                (
                    "Per year",
                    content.trend,
                    [
                        "year",
                        "supplier",
                        "imports_usd",
                        "from_supplier_usd",
                        "supplier_share",
                        "n_dependent",
                        "n_dependent_on_supplier",
                        "mean_hhi",
                    ],
                )
            ]
            if content.trend is not None
            else [],
            empty="The store holds a single year, so there is no trend to show.",
        ),
        Section(
            "exports",
            "Exports that hang on one market",
            _exports_lead(content),
            charts.market_bars(content.exports),
            [
                (
                    "Exports of the report's products",
                    content.exports,
                    EXPORTS_TABLE,
                )
            ],
            empty=f"No export of {content.country} in these sectors depends on one market.",
        ),
        Section(
            "stress",
            "Biggest scenario impacts",
            _stress_lead(content),
            charts.stress_bars(content.stress, content.sector_names),
            [
                (
                    "Worst cut-offs",
                    content.stress,
                    [c for c in STRESS_TABLE if c not in ("importer", "rank")],
                )
            ],
        ),
        Section(
            "diversification",
            "Diversification options for the top dependencies",
            _diversification_lead(content),
            charts.diversification_bars(content.diversification),
            [
                (
                    "Optimised sourcing",
                    content.diversification,
                    [*BATCH_TABLE, "explanation"],
                ),
                *(
                    (
                        f"Alternative suppliers of {product}",
                        frame,
                        [
                            "rank",
                            "exporter",
                            "capacity_usd",
                            "current_share",
                            "world_share",
                            "rca",
                            "trusted",
                            "unit_value_ratio",
                        ],
                    )
                    for product, frame in content.alternatives.items()
                ),
            ],
        ),
        Section(
            "upstream",
            "Upstream: where each value chain is concentrated",
            _upstream_lead(content),
            charts.stage_dots(content.stages, content.country),
            [("Per step, from the mine to the product", content.stages, STAGES_TABLE)],
            empty=f"{content.country} imports nothing of the value chains in this data.",
        ),
    ]
    if content.cooperation is not None:
        sections.append(_cooperation_section(content))
    return sections


#: Columns of the upstream section's table.
STAGES_TABLE = ["chain", "label", "stage", "basis", "world_hhi", "world_top", "world_top_share",
                "imports_usd", "import_hhi", "top_supplier", "top_supplier_share",
                "effective_top_origin", "effective_top_share"]  # fmt: skip


def _upstream_lead(content: ReportContent) -> str:
    """Per chain, the step where the world's supply is most concentrated, and what the
    production data and the look-through add."""
    from chokepoints.reference.chains import load_chain

    stages = content.stages
    if stages.empty:
        return "No value chain of this data is imported."
    sentences = []
    for chain, steps in stages.groupby("chain", sort=False):
        known = steps.dropna(subset=["world_hhi"])
        if known.empty:
            continue
        worst = known.loc[known["world_hhi"].idxmax()]
        sentences.append(
            f"{load_chain(str(chain)).name}: most concentrated at {worst['label']} "
            f"(HHI {worst['world_hhi']:.2f}, {worst['world_top']} "
            f"{worst['world_top_share']:.0%}, {worst['basis']})."
        )
    missing = stages[stages["basis"] == "production not in the store"]
    if not missing.empty:
        sentences.append(
            f"{len(missing)} mining or refining step(s) have no production data in the store "
            "(chokepoints data fetch usgs --edition 2025 adds them)."
        )
    return (
        "World concentration (red) and the country's own import concentration (blue) at "
        "each step, upstream first. " + " ".join(sentences)
    )


def _cooperation_section(content: ReportContent) -> Section:
    """Shared chokepoints, complementarity and best practice with the partners."""
    tables = content.cooperation or {}
    return Section(
        "cooperation",
        f"Cooperation with {', '.join(labelled(p) for p in content.partners)}",
        _cooperation_lead(content),
        charts.cooperation_bars(tables["by_sector"], content.sector_names),
        [
            (
                "Per sector",
                tables["by_sector"],
                [
                    "sector",
                    "shared_products",
                    "complementary_products",
                    "compared_products",
                    "jointly_covered_products",
                    "shared_imports_usd",
                ],
            ),
            (
                "Shared chokepoints",
                tables["shared"],
                ["product", "description", "supplier", "partner", "imports_usd", "hhi"],
            ),
            (
                "Complementarity",
                tables["complementarity"],
                [
                    "product",
                    "description",
                    "exporter_partner",
                    "rca",
                    "importer_partner",
                    "top_supplier",
                    "coverable_share",
                ],
            ),
            (
                "Best practice",
                tables["best_practice"][tables["best_practice"]["hhi_gap"] > 0],
                ["product", "description", "partner", "hhi", "best_partner", "best_hhi"],
            ),
        ],
    )


def _dependencies_lead(content: ReportContent) -> str:
    """The sentence above the treemap."""
    dependent = content.dependent
    method = content.provenance["dependencies"]["method"]
    rule = ", ".join(f"{k} {v}" for k, v in method.items() if k not in ("name", "version"))
    if dependent.empty:
        return f"No product meets the {method['name']} criteria ({rule})."
    top = dependent.iloc[0]
    return (
        f"{len(dependent)} of {len(content.dependencies)} products meet the {method['name']} "
        f"criteria ({rule}). The largest is {top['product']} "
        f"{_short(top['description'])}, {cell_text(top['top_supplier_share'], 'share')} from "
        f"{labelled(top['top_supplier'])}. Area: import value; colour: import concentration "
        "(HHI)."
    )


def _suppliers_lead(content: ReportContent) -> str:
    """The sentence above the supplier bars."""
    frame = content.suppliers
    if frame.empty:
        return "No imports."
    top = frame.iloc[0]
    return (
        f"{labelled(top['exporter'])} supplies {cell_text(top['share'], 'share')} of these "
        "imports; "
        "red bars mark suppliers that dominate at least one dependent product."
    )


def _trend_supplier(content: ReportContent) -> str:
    """The supplier whose trend is shown."""
    return str(content.provenance["trend"]["supplier"])


def _trend_lead(content: ReportContent) -> str:
    """The sentence above the trend chart, with the verdict."""
    if content.trend is None:
        return "Trends need two years or more in the store."
    change = content.provenance["trend"]["change"]
    return trend_sentence(labelled(_trend_supplier(content)), content.country, "imports", change)


def _exports_lead(content: ReportContent) -> str:
    """The sentence above the export-markets chart."""
    frame = content.exports
    dependent = frame[frame["dependent"]] if not frame.empty else frame
    if dependent.empty:
        return "The other way round: which sales depend on a single market."
    top = dependent.iloc[0]
    return (
        f"The other way round: {len(dependent)} of {len(frame)} exported products sell mostly "
        f"to one market (destination HHI above 0.4). The largest, {top['product']} "
        f"{_short(top['description'])}, sends {cell_text(top['top_market_share'], 'share')} "
        f"to {labelled(top['top_market'])}."
    )


def _stress_lead(content: ReportContent) -> str:
    """The sentence above the stress-test chart."""
    if content.stress.empty:
        return "No scenario could be computed."
    worst = content.stress.iloc[0]
    rule = (
        "Every supplier is cut off from the whole world in turn; the other exporters' spare "
        "capacity is shared among all the importers it hits, pro rata to their losses."
    )
    if worst["shortfall_value_usd"] <= 0:
        return (
            f"{rule} In each case that capacity could replace what {content.country} lost, so "
            "no cut-off leaves it a shortfall (green bars)."
        )
    return (
        f"If {labelled(worst['supplier'])} stopped selling the products of the sector "
        f"{content.sector_name(worst['sector'])}, "
        f"{content.country} would lose {cell_text(worst['lost_share'], 'share')} of those imports; "
        f"other exporters could redirect part of it, leaving a shortfall of "
        f"{money(float(worst['shortfall_value_usd']))}. {rule}"
    )


def _diversification_lead(content: ReportContent) -> str:
    """The sentence above the diversification chart."""
    frame = content.diversification
    if frame.empty:
        return "No dependent product to diversify."
    feasible = frame[frame["feasible"]]
    return (
        f"For {len(feasible)} of the top {len(frame)} dependencies, other suppliers' spare "
        "capacity (half of their sales to third countries) allows a less concentrated mix "
        "with the same total imports; the tables list the alternatives of the first ones."
    )


def _cooperation_lead(content: ReportContent) -> str:
    """The sentence above the cooperation chart."""
    tables = content.cooperation or {}
    shared = tables["shared"]["product"].nunique()
    complementary = tables["complementarity"]["product"].nunique()
    return (
        f"{shared} products are chokepoints {content.country} shares with "
        f"{', '.join(content.partners)} (same dominant supplier); on {complementary} a partner "
        "is a strong exporter of what another depends on."
    )


def _short(text: Any, limit: int = 60) -> str:
    """A description cut to ``limit`` characters."""
    text = "" if text is None or text != text else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rendered(section: Section) -> dict[str, Any]:
    """A section as the template takes it: chart HTML and table HTML marked safe."""
    chart = None
    if section.chart is not None:
        chart = Markup(
            pio.to_html(
                section.chart,
                full_html=False,
                include_plotlyjs=False,
                div_id=f"chart-{section.key}",
                config=PLOTLY_CONFIG,
            )
        )
    return {
        "key": section.key,
        "title": section.title,
        "lead": section.lead,
        "chart": chart,
        "empty": section.empty,
        "tables": [
            (caption, _table_html(frame, columns), len(frame))
            for caption, frame, columns in section.tables
            if frame is not None
        ],
    }


def _table_html(frame: pd.DataFrame, columns: list[str]) -> Markup:
    """An HTML table of ``columns``, values formatted as in the terminal."""
    shown = [c for c in columns if c in frame.columns]
    if frame.empty:
        return Markup('<p class="none">No rows.</p>')
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) and frame[c].dtype != bool for c in shown}
    head = "".join(
        f'<th class="{"num" if numeric[c] else ""}" title="{escape(c)}">'
        f"{escape(column_label(c))}</th>"
        for c in shown
    )
    body = []
    for row in frame[shown].itertuples(index=False):
        cells = "".join(
            f'<td class="{"num" if numeric[c] else ""}">{escape(_cell(v, c))}</td>'
            for v, c in zip(row, shown, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return Markup(
        f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


#: Table columns that hold ISO3 codes, shown with the country's name.
COUNTRY_COLUMNS = {
    "exporter", "importer", "supplier", "top_supplier", "top_market", "partner",
    "best_partner", "effective_top_origin", "world_top", "origin",
}  # fmt: skip


def _cell(value: Any, column: str) -> str:
    """A table cell: as in the terminal, countries as ``China (CHN)``."""
    if column in COUNTRY_COLUMNS and isinstance(value, str):
        return labelled(value)
    return cell_text(value, column)


def _provenance_rows(content: ReportContent) -> list[tuple[str, str]]:
    """What each part was computed from and how, one row per part."""
    rows = []
    names = {
        "dependencies": "Dependencies",
        "suppliers": "Suppliers and map",
        "exports": "Export markets",
        "trend": "Trend",
        "stress": "Stress test",
        "diversification": "Diversification",
        "cooperation": "Cooperation",
    }
    for key, record in content.provenance.items():
        method = record.get("method") or {}
        parameters = ", ".join(f"{k}={v}" for k, v in method.items() if k != "name")
        years = record.get("years") or [record.get("year")]
        text = (
            f"{record['source']} {'/'.join(record['releases'])}, {record['classification']}, "
            f"{', '.join(str(y) for y in years)}; method {method.get('name', '-')}"
            + (f" ({parameters})" if parameters else "")
        )
        warnings = record.get("warnings") or []
        if warnings:
            text += "; warnings: " + "; ".join(warnings)
        rows.append((names.get(key, key), text))
    return rows


def _geo_assets() -> str:
    """The world map's TopoJSON as Plotly's offline asset table (no request to a CDN)."""
    topojson = resources.files("chokepoints.report").joinpath("assets/world_110m.json")
    data = json.loads(topojson.read_text(encoding="utf-8"))
    return "window.PlotlyGeoAssets = " + json.dumps({"topojson": {"world_110m": data}}) + ";"


def _script_safe(code: str) -> str:
    """JavaScript that cannot close its own <script> element early."""
    return code.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
