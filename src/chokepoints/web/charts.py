"""Plotly figures of the web pages that the report does not draw (product, scenario and
diversification pages); the country and compare pages use the report's own charts.

Pure: a DataFrame in, a figure out (None when there is nothing to draw), in the report's look
and palette so that a chart reads the same on a page and in a report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from chokepoints.reference.countries import labelled
from chokepoints.report.charts import BLUE, GREEN, GREY, RED, styled, styled_figure, supplier_map


def _usd_unit(largest: float) -> tuple[float, str]:
    """The divisor and name of the unit an axis of USD reads best in: bn, million or USD."""
    for size, unit in ((1e9, "USD bn"), (1e6, "USD million")):
        if largest >= size:
            return size, unit
    return 1.0, "USD"


def exporters_map(exporters: pd.DataFrame) -> go.Figure | None:
    """World map of a product's exporters (log colour scale, USD): the report's supplier map
    over export values."""
    frame = exporters.rename(columns={"export_value_usd": "imports_usd", "world_share": "share"})
    return supplier_map(frame, centre=0.0, legend="exports")


def importer_concentration(
    importers: pd.DataFrame, threshold: float | None, top: int = 20
) -> go.Figure | None:
    """The largest importers' concentration of supply (HHI), dependent ones in red, with the
    method's HHI threshold as a dashed line."""
    frame = importers.head(top).iloc[::-1]
    if frame.empty:
        return None
    line = {"type": "line", "xref": "x", "yref": "y domain", "y0": 0, "y1": 1}
    return styled_figure(
        go.Bar(
            y=[labelled(code) for code in frame["importer"]],
            x=frame["hhi"],
            orientation="h",
            marker_color=[RED if flag else BLUE for flag in frame["dependent"]],
            customdata=np.stack(
                [
                    frame["import_value_usd"],
                    [labelled(code) for code in frame["top_supplier"]],
                    frame["top_supplier_share"],
                ],
                axis=-1,
            ),
            hovertemplate=(
                "%{y}: HHI %{x:.2f}, imports $%{customdata[0]:,.0f}<br>"
                "top supplier %{customdata[1]} (%{customdata[2]:.0%})<extra></extra>"
            ),
        ),
        height=max(300, 24 * len(frame) + 70),
        xaxis={"range": [0, 1], "title": {"text": "import concentration (HHI, 0-1)"}},
        shapes=[]
        if threshold is None
        else [{**line, "x0": threshold, "x1": threshold, "line": {"dash": "dash", "color": GREY}}],
    )


def shock_by_importer(by_importer: pd.DataFrame, top: int = 15) -> go.Figure | None:
    """The importers losing most: the part other exporters could replace, and the shortfall."""
    frame = by_importer.sort_values("lost_value_usd", ascending=False).head(top).iloc[::-1]
    if frame.empty or float(frame["lost_value_usd"].sum()) <= 0:
        return None
    labels = [labelled(code) for code in frame["importer"]]
    size, unit = _usd_unit(float(frame["lost_value_usd"].max()))
    replaceable = frame["redirectable_value_usd"].clip(upper=frame["lost_value_usd"])
    figure = go.Figure(
        [
            go.Bar(
                y=labels,
                x=replaceable / size,
                name="replaceable by other exporters",
                orientation="h",
                marker_color=GREEN,
                customdata=replaceable,
                hovertemplate="%{y}: $%{customdata:,.0f} replaceable<extra></extra>",
            ),
            go.Bar(
                y=labels,
                x=frame["shortfall_value_usd"] / size,
                name="shortfall",
                orientation="h",
                marker_color=RED,
                customdata=frame["shortfall_value_usd"],
                hovertemplate="%{y}: $%{customdata:,.0f} shortfall<extra></extra>",
            ),
        ]
    )
    return styled(
        figure,
        height=max(280, 26 * len(frame) + 90),
        barmode="stack",
        xaxis={"title": f"imports lost ({unit})", "tickformat": ",~r"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
    )


def downstream_bars(downstream: pd.DataFrame, top: int = 15) -> go.Figure | None:
    """The largest downstream exports at risk: per product and producer, its exports, with
    the share of its inputs bought from the supplier cut off in the hover."""
    frame = downstream.sort_values("exports_usd", ascending=False).head(top).iloc[::-1]
    if frame.empty:
        return None
    labels = [
        f"{label} ({product}) · {labelled(country)}"
        for label, product, country in zip(
            frame["label"], frame["product"], frame["country"], strict=True
        )
    ]
    size, unit = _usd_unit(float(frame["exports_usd"].max()))
    figure = go.Figure(
        go.Bar(
            y=labels,
            x=frame["exports_usd"] / size,
            orientation="h",
            marker_color=BLUE,
            customdata=np.stack(
                [frame["exports_usd"], frame["input_supplier_share"].fillna(0.0)], axis=-1
            ),
            hovertemplate=(
                "%{y}: exports $%{customdata[0]:,.0f}<br>inputs from the supplier cut off: "
                "%{customdata[1]:.0%}<extra></extra>"
            ),
        )
    )
    return styled(
        figure,
        height=max(280, 26 * len(frame) + 70),
        xaxis={"title": f"exports of the downstream product ({unit})", "tickformat": ",~r"},
    )


def mix_bars(mix: pd.DataFrame) -> go.Figure | None:
    """Each supplier's share today and in the optimised mix (none when no mix was found)."""
    frame = mix[(mix["current_share"] > 0) | (mix["new_share"].fillna(0) > 0)].iloc[::-1]
    if frame.empty:
        return None
    labels = [labelled(code) for code in frame["supplier"]]
    # Horizontal groups stack their first trace at the bottom: the optimised mix goes first so
    # that today's bar is on top, as the legend reads (reversed).
    series = [("current_share", "today", RED)]
    if frame["new_share"].notna().any():
        series.insert(0, ("new_share", "optimised mix", GREEN))
    figure = go.Figure(
        [
            go.Bar(
                y=labels,
                x=frame[column],
                name=name,
                orientation="h",
                marker_color=colour,
                hovertemplate=f"%{{y}}: %{{x:.1%}} {name}<extra></extra>",
            )
            for column, name, colour in series
        ]
    )
    return styled(
        figure,
        height=max(260, 34 * len(frame) + 90),
        barmode="group",
        xaxis={"tickformat": ".0%", "range": [0, 1], "title": "share of the product's imports"},
        showlegend=True,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "traceorder": "reversed"},
    )
