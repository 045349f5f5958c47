"""Plotly figures for the report, one function per chart, each from one table of the content.

Pure: a DataFrame in, a ``plotly.graph_objects.Figure`` out (or None when there is nothing to
draw). Colours follow one palette so a supplier looks the same across charts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from chokepoints.reference.countries import labelled

#: Colours: the country's own bars, risk, relief, and neutral.
BLUE, RED, GREEN, GREY = "#1f5fa8", "#c0392b", "#2e8b57", "#8c8c8c"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"


def _look(height: int, **extra: object) -> dict[str, object]:
    """The common look as layout settings: compact margins, readable font, white background."""
    return {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "font": {"family": FONT, "size": 12},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        **extra,
    }


def styled(figure: go.Figure, *, height: int = 380, **extra: object) -> go.Figure:
    """``figure`` given the common look (``extra`` may use Plotly's ``a_b`` shorthands)."""
    figure.update_layout(**_look(height, **extra))
    return figure


def styled_figure(data: object, *, height: int, **layout: object) -> go.Figure:
    """A figure with the common look, its layout given whole when made: updating a made
    figure's layout costs several times more, and a server draws many of them."""
    return go.Figure(data=data, layout=_look(height, **layout))


def _label(sector: str, names: Mapping[str, str]) -> str:
    """A sector's name (its id in words when unnamed)."""
    return names.get(sector) or sector.replace("_", " ")


def dependencies_treemap(
    dependent: pd.DataFrame, sectors: list[str], names: Mapping[str, str]
) -> go.Figure | None:
    """Dependent products by sector, sized by import value, coloured by import HHI."""
    if dependent.empty:
        return None
    rows = dependent.copy()
    rows["group"] = rows["sector"].fillna("").map(lambda s: _first_of(s, sectors))
    rows["label"] = rows["product"] + " " + rows["description"].fillna("").str.slice(0, 40)
    groups = rows.groupby("group")["import_value_usd"].sum()
    # A sector's colour: the import-weighted mean HHI of its dependent products.
    weighted = (rows["hhi"] * rows["import_value_usd"]).groupby(rows["group"]).sum() / groups
    ids = [f"s:{g}" for g in groups.index] + [f"p:{p}" for p in rows["product"]]
    return styled_figure(
        go.Treemap(
            ids=ids,
            labels=[_label(g, names) for g in groups.index] + rows["label"].tolist(),
            parents=[""] * len(groups) + [f"s:{g}" for g in rows["group"]],
            values=groups.tolist() + rows["import_value_usd"].tolist(),
            branchvalues="total",
            marker={
                "colors": weighted.tolist() + rows["hhi"].tolist(),
                "colorscale": "Reds",
                "cmin": 0.0,
                "cmax": 1.0,
                "colorbar": {"title": {"text": "HHI"}, "thickness": 12},
            },
            hovertemplate="%{label}<br>imports $%{value:,.0f}<extra></extra>",
        ),
        height=460,
    )


def _first_of(listed: str, sectors: list[str]) -> str:
    """The first of the report's sectors in a comma list of sectors (a product may be in many)."""
    mine = [s.strip() for s in listed.split(",")]
    return next((s for s in sectors if s in mine), mine[0] or "other")


def sector_bars(by_sector: pd.DataFrame, names: Mapping[str, str]) -> go.Figure | None:
    """Per sector: products imported and, of them, dependent."""
    if by_sector.empty:
        return None
    frame = by_sector.iloc[::-1]
    labels = [_label(s, names) for s in frame["sector"]]
    return styled_figure(
        [
            go.Bar(
                y=labels,
                x=frame["n_products"] - frame["n_dependent"],
                name="not dependent",
                orientation="h",
                marker_color="#c9d6e8",
            ),
            go.Bar(
                y=labels,
                x=frame["n_dependent"],
                name="dependent",
                orientation="h",
                marker_color=RED,
            ),
        ],
        height=max(260, 28 * len(frame) + 80),
        barmode="stack",
        xaxis={"title": {"text": "products"}},
        legend={"orientation": "h", "y": 1.08},
    )


def supplier_bars(suppliers: pd.DataFrame, top: int = 15) -> go.Figure | None:
    """The largest suppliers' shares of the strategic imports; dominant ones in red."""
    if suppliers.empty:
        return None
    frame = suppliers.head(top).iloc[::-1]
    colours = [RED if n > 0 else BLUE for n in frame["n_dominant"]]
    return styled_figure(
        go.Bar(
            y=[labelled(code) for code in frame["exporter"]],
            x=frame["share"],
            orientation="h",
            marker_color=colours,
            customdata=np.stack([frame["imports_usd"], frame["n_dominant"]], axis=-1),
            hovertemplate=(
                "%{y}: %{x:.1%} of imports ($%{customdata[0]:,.0f})<br>"
                "dominant supplier of %{customdata[1]} dependent products<extra></extra>"
            ),
        ),
        height=max(280, 24 * len(frame) + 60),
        xaxis={"tickformat": ".0%"},
    )


#: Longitude a map is centred on, by the continent of the report's economy.
MAP_CENTRE = {"Europe": 15.0, "Africa": 20.0, "Asia": 100.0, "Oceania": 140.0, "America": -80.0}


def map_centre(members: Sequence[str]) -> float:
    """The longitude to centre a world map on for an economy of ``members``: its continent's
    (the most common among a group's members), Europe's when unknown."""
    from chokepoints.reference.countries import countries

    table = countries().set_index("iso3")["continent"]
    found = table.reindex(list(members)).dropna()
    continent = found.mode().iloc[0] if not found.empty else "Europe"
    return MAP_CENTRE.get(str(continent), MAP_CENTRE["Europe"])


def supplier_map(
    suppliers: pd.DataFrame, centre: float = 0.0, legend: str = "imports"
) -> go.Figure | None:
    """World map of where the strategic imports come from (log colour scale, USD), centred on
    the longitude ``centre`` (the report's economy's region); ``legend`` titles the scale."""
    frame = suppliers[suppliers["imports_usd"] > 0]
    if frame.empty:
        return None
    logs = np.log10(frame["imports_usd"])
    low, high = float(np.floor(logs.min())), float(np.ceil(logs.max()))
    ticks = np.arange(low, high + 1)
    return styled_figure(
        go.Choropleth(
            locations=frame["exporter"],
            locationmode="ISO-3",
            z=logs,
            zmin=low,
            zmax=high,
            colorscale="YlOrRd",
            customdata=np.stack(
                [
                    frame["imports_usd"],
                    frame["share"],
                    [labelled(code) for code in frame["exporter"]],
                ],
                axis=-1,
            ),
            hovertemplate=(
                "%{customdata[2]}: $%{customdata[0]:,.0f} (%{customdata[1]:.1%})<extra></extra>"
            ),
            colorbar={
                "title": {"text": legend},
                "tickvals": ticks,
                "ticktext": [_money_tick(t) for t in ticks],
                "thickness": 12,
            },
            marker_line_color="white",
            marker_line_width=0.4,
        ),
        height=440,
        geo={
            "showframe": False,
            "showcoastlines": False,
            "showland": True,
            "landcolor": "#eeeeee",
            "projection": {"type": "natural earth", "rotation": {"lon": centre}},
            "resolution": 110,
        },
    )


def _money_tick(power: float) -> str:
    """A colour-bar tick for 10**power USD."""
    value = 10**power
    for size, unit in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if value >= size:
            return f"${value / size:,.0f}{unit}"
    return f"${value:,.0f}"


def trend_lines(trend: pd.DataFrame, supplier: str) -> go.Figure | None:
    """Two aligned panels over the years: the supplier's share of imports (top), and the
    dependent products it dominates (bottom), each on its own axis from zero."""
    if trend is None or len(trend) < 2:
        return None
    from plotly.subplots import make_subplots

    name = labelled(supplier)
    figure = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.62, 0.38],
        vertical_spacing=0.1,
        subplot_titles=[
            f"{name}'s share of imports",
            f"dependent products with {name} on top",
        ],
    )
    figure.add_trace(
        go.Scatter(
            x=trend["year"],
            y=trend["supplier_share"],
            name="share of imports",
            mode="lines+markers",
            line={"color": RED, "width": 3},
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Bar(
            x=trend["year"],
            y=trend["n_dependent_on_supplier"],
            name="dependent products",
            marker_color=BLUE,
            hovertemplate="%{x}: %{y} products<extra></extra>",
        ),
        row=2,
        col=1,
    )
    top_share = float(trend["supplier_share"].max())
    figure.update_yaxes(tickformat=".0%", range=[0, min(1.0, top_share * 1.25 + 0.02)], row=1)
    figure.update_yaxes(rangemode="tozero", tickformat="d", row=2)
    figure.update_xaxes(dtick=1, tickformat="d")
    return styled(figure, height=440, showlegend=False)


def stress_bars(stress: pd.DataFrame, names: Mapping[str, str]) -> go.Figure | None:
    """The worst cut-offs: what would be lost, and what no one could replace."""
    if stress.empty:
        return None
    frame = stress.iloc[::-1]
    labels = [
        f"{labelled(s)} → {_label(t, names)}"
        for s, t in zip(frame["supplier"], frame["sector"], strict=True)
    ]
    figure = go.Figure(
        [
            go.Bar(
                y=labels,
                x=frame["redirectable_value_usd"].clip(upper=frame["lost_value_usd"]),
                name="replaceable by others",
                orientation="h",
                marker_color=GREEN,
            ),
            go.Bar(
                y=labels,
                x=frame["shortfall_value_usd"],
                name="shortfall",
                orientation="h",
                marker_color=RED,
            ),
        ]
    )
    return styled(
        figure,
        height=max(280, 26 * len(frame) + 80),
        barmode="stack",
        xaxis_title="USD",
        legend={"orientation": "h", "y": 1.08},
    )


def diversification_bars(batch: pd.DataFrame) -> go.Figure | None:
    """Import concentration today and in the optimised mix, per top dependency."""
    if batch.empty:
        return None
    labels = batch["product"].tolist()
    figure = go.Figure(
        [
            go.Bar(x=labels, y=batch["hhi_before"], name="HHI today", marker_color=RED),
            go.Bar(x=labels, y=batch["hhi_after"], name="HHI optimised", marker_color=GREEN),
        ]
    )
    return styled(
        figure,
        barmode="group",
        xaxis={"type": "category", "title": "product"},
        yaxis={"title": "HHI", "range": [0, 1]},
        legend={"orientation": "h", "y": 1.1},
    )


def cooperation_bars(by_sector: pd.DataFrame, names: Mapping[str, str]) -> go.Figure | None:
    """Per sector: shared chokepoints, complementary products and jointly covered ones."""
    if by_sector.empty:
        return None
    labels = [_label(s, names) for s in by_sector["sector"]]
    series = (
        ("shared_products", "shared chokepoints", RED),
        ("complementary_products", "a partner can supply", GREEN),
        ("jointly_covered_products", "trusted capacity covers", BLUE),
    )
    figure = go.Figure(
        [go.Bar(x=labels, y=by_sector[c], name=n, marker_color=k) for c, n, k in series]
    )
    return styled(
        figure,
        barmode="group",
        yaxis_title="products",
        legend={"orientation": "h", "y": 1.1},
    )


def market_bars(exports: pd.DataFrame, top: int = 12) -> go.Figure | None:
    """The largest exports that hang on one market: the top market's share of each."""
    frame = exports[exports["dependent"]].head(top)
    if frame.empty:
        return None
    frame = frame.iloc[::-1]
    labels = [
        f"{p} → {labelled(m)}" for p, m in zip(frame["product"], frame["top_market"], strict=True)
    ]
    return styled_figure(
        go.Bar(
            y=labels,
            x=frame["top_market_share"],
            orientation="h",
            marker_color=BLUE,
            customdata=np.stack([frame["export_value_usd"], frame["market_hhi"]], axis=-1),
            hovertemplate=(
                "%{y}: %{x:.1%} of sales ($%{customdata[0]:,.0f}), market HHI "
                "%{customdata[1]:.2f}<extra></extra>"
            ),
        ),
        height=max(260, 26 * len(frame) + 60),
        xaxis={"tickformat": ".0%", "range": [0, 1], "title": "share of sales to the top market"},
    )


def stage_dots(stages: pd.DataFrame, country: str) -> go.Figure | None:
    """Per value chain (one panel each) and step, upstream at the top: the world's
    concentration (production or exports) beside the country's import concentration, on one
    HHI scale (steps with neither are left to the table)."""
    stages = stages.dropna(subset=["world_hhi", "import_hhi"], how="all")
    if stages.empty:
        return None
    from plotly.subplots import make_subplots

    from chokepoints.reference.chains import load_chain

    chains = list(pd.unique(stages["chain"]))
    sizes = [int((stages["chain"] == chain).sum()) for chain in chains]
    figure = make_subplots(
        rows=len(chains),
        cols=1,
        shared_xaxes=True,
        row_heights=sizes,
        vertical_spacing=0.25 / len(chains),
        subplot_titles=[load_chain(chain).name for chain in chains],
    )
    hover = "%{y}<br>HHI %{x:.2f}<br>top: %{customdata}<extra></extra>"
    for row, chain in enumerate(chains, 1):
        steps = stages[stages["chain"] == chain]
        for column, top, share, name, marker in (
            ("world_hhi", "world_top", "world_top_share", "world supply (production or exports)",
             {"color": RED, "size": 11, "symbol": "circle"}),
            ("import_hhi", "top_supplier", "top_supplier_share", f"imports of {country}",
             {"color": BLUE, "size": 10, "symbol": "diamond"}),
        ):  # fmt: skip
            figure.add_trace(
                go.Scatter(
                    x=steps[column],
                    y=steps["label"],
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=row == 1,
                    marker=marker,
                    customdata=_top_labels(steps[top], steps[share]),
                    hovertemplate=hover,
                ),
                row=row,
                col=1,
            )
        figure.update_yaxes(autorange="reversed", row=row, col=1)
    figure.update_xaxes(range=[0, 1.02], gridcolor="#eeeeee")
    figure.update_xaxes(title_text="HHI (0: spread over many, 1: one supplier)", row=len(chains))
    height = max(300, 24 * len(stages) + 60 * len(chains) + 90)
    legend = {"orientation": "h", "x": 1, "xanchor": "right", "y": 1 + 30 / height}
    legend["yanchor"] = "bottom"
    styled(figure, height=height, legend=legend)
    return figure.update_layout(margin={"t": 70})


def _top_labels(top: pd.Series, share: pd.Series) -> list[str]:
    """``CHN 85%`` per row, empty where nothing is known."""
    return [
        "" if pd.isna(t) else f"{t} {s:.0%}" for t, s in zip(top, share.fillna(0.0), strict=True)
    ]
