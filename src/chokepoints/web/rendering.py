"""How pages are drawn: the Jinja2 templates, charts as Plotly JSON, tables formatted as the
report formats them, and the provenance line of every answer shown.

A request made by the page's own script (header ``HX-Request``) gets only the part of the page
that changes; any other request gets the whole page, so that every URL can be shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import pandas as pd
import plotly.graph_objects as go
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from chokepoints import __version__
from chokepoints.reference.countries import labelled
from chokepoints.render import cell_text, column_label
from chokepoints.report.content import money

TEMPLATES = Path(__file__).parent / "templates"

#: Table columns that hold ISO3 codes, shown with the country's name (as in the report).
COUNTRY_COLUMNS = {
    "exporter", "importer", "supplier", "top_supplier", "top_market", "partner", "country",
    "best_partner", "effective_top_origin", "world_top", "origin", "top_exporter",
    "exporter_partner", "importer_partner", "supplier_1", "supplier_2", "supplier_3",
}  # fmt: skip


#: Headers the terminal tables do not name (``render.LABELS`` names the others).
WEB_LABELS = {"unit_value_ratio": "price ratio", "n_dominant": "dominant in", "why": "why",
              "capacity_usd": "could redirect $m", "path": "path from the shock"}  # fmt: skip


@dataclass
class Table:
    """One table of a page: its rows, the columns shown, and where to download it as CSV."""

    caption: str
    frame: pd.DataFrame
    columns: Sequence[str]
    csv_url: str
    #: Column -> the URL a cell of it links to, from the row's values.
    links: Mapping[str, Callable[[Mapping[str, Any]], str]] = field(default_factory=dict)
    limit: int = 200

    def html(self) -> Markup:
        """The table, values formatted as in the terminal and the report."""
        return table_html(self.frame.head(self.limit), self.columns, self.links)

    @property
    def rows(self) -> int:
        """Rows in the answer (the table shows the first ``limit``)."""
        return len(self.frame)


@dataclass
class Chart:
    """A Plotly figure with the sentence that reads it and the tables behind it."""

    key: str
    title: str
    lead: str
    figure: go.Figure | None
    tables: list[Table] = field(default_factory=list)
    empty: str = "Nothing to show."

    def html(self) -> Markup:
        """The chart's element: the page's script draws ``data-figure`` with Plotly."""
        if self.figure is None:
            return Markup(f'<p class="none">{escape(self.empty)}</p>')
        return Markup(
            f'<div class="chart" id="chart-{escape(self.key)}" '
            f'data-figure="{escape(self.figure.to_json())}"></div>'
        )


def environment() -> jinja2.Environment:
    """The templates' environment, with the number and name filters pages use."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        money=money,
        share=lambda v: cell_text(float(v), "share"),
        country=labelled,
        number=lambda v: f"{v:,}",
    )
    env.globals.update(tool=f"chokepoints {__version__}")
    return env


ENV = environment()


def page(
    request: Request,
    template: str,
    *,
    status: int = 200,
    provenance: Iterable[tuple[str, Mapping[str, Any]]] = (),
    **context: Any,
) -> HTMLResponse:
    """``template`` rendered for ``request``: the whole page, or only its changing part when
    the page's script asked (``HX-Request``)."""
    records = [(label, r) for label, r in provenance if r.get("source")]
    html = ENV.get_template(template).render(
        request=request,
        partial=request.headers.get("hx-request") == "true",
        provenance=provenance_lines(records),
        demo=any(r.get("demo") for _, r in records),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={"Vary": "HX-Request"})


def table_html(
    frame: pd.DataFrame,
    columns: Sequence[str],
    links: Mapping[str, Callable[[Mapping[str, Any]], str]] | None = None,
) -> Markup:
    """An HTML table of ``columns`` (those present), numbers right-aligned, the cells of the
    columns of ``links`` linking to the page their row leads to."""
    links = links or {}
    shown = [c for c in columns if c in frame.columns]
    if frame.empty:
        return Markup('<p class="none">No rows.</p>')
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) and frame[c].dtype != bool for c in shown}
    head = "".join(
        f'<th class="{"num" if numeric[c] else ""}" title="{escape(c)}">'
        f"{escape(WEB_LABELS.get(c) or column_label(c))}</th>"
        for c in shown
    )
    body = []
    for row in frame.to_dict("records"):
        cells = []
        for c in shown:
            text = escape(cell(row[c], c))
            if c in links and text:
                text = Markup(f'<a href="{escape(links[c](row))}">{text}</a>')
            cells.append(f'<td class="{"num" if numeric[c] else ""}">{text}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return Markup(
        f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def cell(value: Any, column: str) -> str:
    """A table cell: as in the terminal, countries as ``China (CHN)``."""
    if column in COUNTRY_COLUMNS and isinstance(value, str):
        return labelled(value)
    return cell_text(value, column)


def provenance_lines(
    records: Sequence[tuple[str, Mapping[str, Any]]],
) -> list[tuple[str, str]]:
    """Per part of the page, the answer's data, year(s), method and parameters, warnings."""
    lines: list[tuple[str, str]] = []
    for label, record in records:
        method = record.get("method") or {}
        parameters = ", ".join(f"{k}={v}" for k, v in method.items() if k not in ("name",))
        years = record.get("years") or [record.get("year")]
        text = (
            f"{record.get('source')} {'/'.join(record.get('releases') or [])}, "
            f"{record.get('classification')}, {', '.join(str(y) for y in years if y)}"
        )
        if method:
            text += f"; method {method.get('name')}" + (f" ({parameters})" if parameters else "")
        warnings = record.get("warnings") or []
        if warnings:
            text += "; warnings: " + "; ".join(warnings)
        lines.append((label, text))
    return lines


def api_url(path: str, **params: Any) -> str:
    """The REST API's CSV of the same question: ``/api/v1/PATH?...&format=csv``."""
    return f"/api/v1/{path}?" + query({**params, "format": "csv"})


def query(params: Mapping[str, Any]) -> str:
    """A query string of the parameters that are set (lists joined by commas)."""
    kept = {}
    for name, value in params.items():
        if value is None or value == "" or value == [] or value == ():
            continue
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        kept[name] = value
    return urlencode(kept)


def csv_response_text(frame: pd.DataFrame) -> str:
    """A frame as CSV text, list cells as JSON (as the CLI writes CSV)."""
    from chokepoints.export import csv_ready

    return str(csv_ready(frame).to_csv(index=False))
