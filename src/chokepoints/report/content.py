"""What a country report says: the tables behind every section, gathered from the questions.

:func:`gather` asks the ``Workspace`` the questions a report answers (dependencies, suppliers,
trend, stress test, diversification, cooperation) for one country, year and set of strategic
sectors, and keeps each answer's provenance. It knows nothing of HTML or charts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from chokepoints.errors import ChokepointsError, InputError, NoDataError
from chokepoints.questions.disruption import STRESS_EXCLUDED_SECTORS
from chokepoints.reference.countries import labelled

if TYPE_CHECKING:
    from chokepoints.workspace import Method, Workspace

#: Dependencies shown in the diversification section, and alternatives listed for each.
TOP_DEPENDENCIES = 10
TOP_ALTERNATIVES = 5
#: Dependencies whose alternative suppliers are listed one by one.
DETAILED_DEPENDENCIES = 3
#: Dependency methods a report can use (custom rules belong on the command line of ``deps``).
REPORT_METHODS = ("geodep", "ec2021")
#: Stress-test rows kept (worst shortfalls first).
TOP_SCENARIOS = 12


@dataclass
class ReportContent:
    """Every table of a report for ``country`` (and its partners), with provenance per part."""

    country: str
    partners: list[str]
    year: int
    sectors: list[str]
    dependencies: pd.DataFrame
    by_sector: pd.DataFrame
    exports: pd.DataFrame
    suppliers: pd.DataFrame
    trend: pd.DataFrame | None
    stress: pd.DataFrame
    diversification: pd.DataFrame
    alternatives: dict[str, pd.DataFrame]
    cooperation: dict[str, pd.DataFrame] | None
    #: Per value chain the country imports from, each step's concentration (``chain_stages``).
    stages: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Sector id -> its name in the sector files (``critical_minerals`` -> Critical minerals).
    sector_names: dict[str, str] = field(default_factory=dict)
    #: The ISO3 codes the report's economy stands for (the country, or a group's members).
    members: list[str] = field(default_factory=list)
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def sectors_with_data(self) -> list[str]:
        """The report's sectors of which the country imported at least one product."""
        held = set(self.by_sector.loc[self.by_sector["n_products"] > 0, "sector"])
        return [sector for sector in self.sectors if sector in held]

    def sector_name(self, sector: str) -> str:
        """A sector's name for readers (its id in words when the files give none)."""
        return self.sector_names.get(sector) or sector.replace("_", " ")

    @property
    def dependent(self) -> pd.DataFrame:
        """The dependent products, largest imports first."""
        frame = self.dependencies[self.dependencies["dependent"]]
        return frame.sort_values("import_value_usd", ascending=False)

    @property
    def dominance(self) -> pd.Series:
        """Per supplier, the dependent products it is the top supplier of, most first."""
        return self.dependent["top_supplier"].value_counts()

    @property
    def unassessed_persistence(self) -> str:
        """``1 of 3 years`` when the store holds too few years for GeoDep to assess persistence
        (the dependent products are then candidates), else empty."""
        column = self.dependencies.get("persistence")
        if column is None:
            return ""
        for text in column.dropna().unique():
            found = re.fullmatch(r"not assessable \((.*)\)", str(text))
            if found:
                return found.group(1)
        return ""

    @property
    def demo(self) -> bool:
        """Whether the report rests on the synthetic demo world."""
        return bool(self.provenance["dependencies"].get("demo"))

    def key_figures(self) -> list[tuple[str, str]]:
        """The handful of numbers a reader sees first, as (label, formatted value) pairs."""
        deps = self.dependencies
        total = float(deps["import_value_usd"].sum())
        dependent = self.dependent
        value = float(dependent["import_value_usd"].sum())
        unassessed = self.unassessed_persistence
        label = "Dependent products"
        if unassessed:
            label = f"Candidate dependencies (persistence not assessable: {unassessed})"
        figures = [
            ("Strategic products imported", f"{len(deps):,}"),
            ("Imports of them", money(total)),
            (label, f"{len(dependent):,}"),
            (
                "Imports in dependent products" if not unassessed else "Imports in candidates",
                f"{money(value)} ({value / total:.0%})" if total else "0",
            ),
        ]
        if not dependent.empty:
            counts = self.dominance
            top = labelled(str(counts.index[0]))
            figures.append(
                ("Most frequent dominant supplier", f"{top}, {_products(int(counts.iloc[0]))}")
            )
        if self.trend is not None:
            trend = self.provenance["trend"]
            change = trend["change"]
            figures.append(
                (
                    f"Share of {labelled(trend['supplier'])} "
                    f"{change['from_year']}-{change['to_year']}",
                    f"{points(change['share_change'])} ({change['verdict']})",
                )
            )
        if not self.stress.empty and self.stress["shortfall_value_usd"].iloc[0] > 0:
            worst = self.stress.iloc[0]
            figures.append(
                (
                    "Worst cut-off (shortfall)",
                    f"{labelled(worst['supplier'])} in {self.sector_name(worst['sector'])}: "
                    f"{money(float(worst['shortfall_value_usd']))}",
                )
            )
        return figures


def gather(
    ws: Workspace,
    country: str,
    *,
    partners: Sequence[str] = (),
    year: int | None = None,
    sectors: Sequence[str] = (),
    source: str | None = None,
    allow_partial: bool = False,
    method: str = "geodep",
    progress: Callable[[str, int, int], None] | None = None,
) -> ReportContent:
    """Ask every question of a report for ``country``; partners add the cooperation view.

    ``method`` is the dependency method (``geodep`` or ``ec2021``, see ``deps``).

    ``progress(description, done, total)`` is called before each question.
    """
    from chokepoints.reference.sectors import list_sectors, sector_table

    if method not in REPORT_METHODS:
        raise InputError(
            f"the report cannot use method {method!r}", hint=f"use {' or '.join(REPORT_METHODS)}"
        )
    total = 7 if partners else 6
    done = iter(range(total))

    def step(description: str) -> None:
        if progress is not None:
            progress(description, next(done), total)

    options: dict[str, Any] = {"source": source, "allow_partial": allow_partial}
    step("dependencies")
    # Every part of the report answers on this dataset, so that its sections agree; naming it
    # lets the parts run on a partial year, so its coverage is checked here once.
    dataset, year = ws.dataset_for(country, source=source, year=year, allow_partial=allow_partial)
    options["source"] = dataset.source
    table = sector_table(dataset.classification, extra_dirs=ws.sector_dirs)
    known = sorted(set(table["sector"]))
    unknown = [s for s in sectors if s not in known]
    if unknown:
        raise InputError(f"unknown sector {unknown[0]!r}", hint=f"choose among {', '.join(known)}")
    chosen = list(sectors) or [s for s in known if s not in STRESS_EXCLUDED_SECTORS]
    table = table[table["sector"].isin(chosen)]
    products = set(table["product"])
    codes = sorted(products)
    deps = ws.dependencies(
        country,
        year=year,
        products=codes,
        method=cast("Method", method),
        include_all=True,
        **options,
    )
    provenance = {"dependencies": deps.attrs["provenance"]}
    who = provenance["dependencies"]["economy"]
    deps = deps.reset_index(drop=True)
    deps["sector"] = _only(deps["sector"], chosen)
    if deps.empty:
        raise NoDataError(f"{who} imported none of the products of {', '.join(chosen)} in {year}")
    content = ReportContent(
        country=who,
        partners=list(partners),
        year=year,
        sectors=chosen,
        dependencies=deps,
        by_sector=_by_sector(deps, table),
        exports=pd.DataFrame(),
        suppliers=pd.DataFrame(),
        trend=None,
        stress=pd.DataFrame(),
        diversification=pd.DataFrame(),
        alternatives={},
        cooperation=None,
        provenance=provenance,
        sector_names=dict(
            zip(*(list_sectors(ws.sector_dirs)[c] for c in ("id", "name")), strict=True)
        ),
        members=sorted(ws.context.economy(who).members),
    )
    step("suppliers and trend")
    content.suppliers = _suppliers(ws, content, codes, **options)
    provenance["suppliers"] = content.suppliers.attrs["provenance"]
    _add_trend(ws, content, codes, options)
    exports = ws.dependencies(who, year=year, side="exports", include_all=True, **options)
    provenance["exports"] = exports.attrs["provenance"]
    content.exports = _markets(exports, chosen, set(codes))
    step("stress test")
    stress = ws.stress(year=year, importers=[who], sectors=chosen, top=3, **options)
    provenance["stress"] = stress.attrs["provenance"]
    content.stress = stress.sort_values(
        ["shortfall_value_usd", "lost_value_usd"], ascending=False
    ).head(TOP_SCENARIOS)
    step("diversification")
    _add_diversification(ws, content, options)
    step("value chains")
    _add_stages(ws, content, options)
    if partners:
        step("cooperation")
        compared = ws.compare([who, *partners], year=year, products=codes, **options)
        cooperation = _by_chosen_sectors(compared.frames(), chosen)
        content.cooperation = cooperation
        content.partners = cooperation["by_sector"].attrs["provenance"]["partners"][1:]
        provenance["cooperation"] = cooperation["by_sector"].attrs["provenance"]
    content.notes = [*_warnings(provenance), *content.notes]
    step("charts")
    return content


def _warnings(provenance: dict[str, dict[str, Any]]) -> list[str]:
    """Every part's warnings, once each, first letter capitalised, for the top of the report."""
    seen: list[str] = []
    for record in provenance.values():
        for warning in record.get("warnings") or []:
            text = warning[:1].upper() + warning[1:]
            if text not in seen:
                seen.append(text)
    return seen


def _by_sector(deps: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Per chosen sector: products imported, dependent products and their imports."""
    joined = table[["product", "sector"]].merge(
        deps[["product", "import_value_usd", "dependent"]], on="product"
    )
    joined["dependent_usd"] = joined["import_value_usd"].where(joined["dependent"], 0.0)
    grouped = joined.groupby("sector").agg(
        n_products=("product", "nunique"),
        n_dependent=("dependent", "sum"),
        import_value_usd=("import_value_usd", "sum"),
        dependent_imports_usd=("dependent_usd", "sum"),
    )
    grouped["n_dependent"] = grouped["n_dependent"].astype("int64")
    return grouped.reset_index().sort_values(
        ["n_dependent", "dependent_imports_usd"], ascending=False, ignore_index=True
    )


def _only(listed: pd.Series, sectors: list[str]) -> pd.Series:
    """Comma lists of sectors kept to ``sectors``, joined with ", " for reading."""
    return listed.fillna("").map(lambda text: ", ".join(s for s in text.split(",") if s in sectors))


def _markets(exports: pd.DataFrame, sectors: list[str], products: set[str]) -> pd.DataFrame:
    """The report's products the country exports, those hanging on one market first."""
    mine = exports[exports["product"].isin(products)].copy()
    mine["sector"] = _only(mine["sector"], sectors)
    return mine.sort_values(["dependent", "export_value_usd"], ascending=False, ignore_index=True)


def _suppliers(
    ws: Workspace, content: ReportContent, products: list[str], **options: Any
) -> pd.DataFrame:
    """Where the strategic imports come from, per supplier, with its dominant positions."""
    frame = ws.import_sources(
        content.country, products=products, year=content.year, source=options["source"]
    )
    tops = content.dominance.rename("n_dominant")
    merged = frame.merge(tops, left_on="exporter", right_index=True, how="left")
    merged["n_dominant"] = merged["n_dominant"].fillna(0).astype("int64")
    merged.attrs = frame.attrs
    return merged


def _add_trend(
    ws: Workspace, content: ReportContent, codes: list[str], options: dict[str, Any]
) -> None:
    """The trend of the dominant supplier, when the store holds more than one year."""
    ranked = content.suppliers
    if not content.dependent.empty:
        supplier = str(content.dominance.index[0])
    elif not ranked.empty:
        supplier = str(ranked.iloc[0]["exporter"])
    else:
        return
    try:
        trend = ws.trend(content.country, supplier, products=codes, year=content.year, **options)
    except NoDataError as exc:
        content.notes.append(f"No trend: {exc}")
        return
    if len(trend) < 2:
        content.notes.append("The store holds one year: no trend over the years.")
        return
    content.trend = trend
    content.provenance["trend"] = trend.attrs["provenance"]


def _add_diversification(ws: Workspace, content: ReportContent, options: dict[str, Any]) -> None:
    """Optimised mixes for the top dependencies and the alternative suppliers of the first few."""
    top = content.dependent.head(TOP_DEPENDENCIES)
    if top.empty:
        return
    try:
        batch = ws.diversify_all(
            content.country,
            year=content.year,
            products=top["product"].tolist(),
            min_hhi=0.0,
            **options,
        )
    except NoDataError as exc:
        content.notes.append(f"No diversification: {exc}")
        return
    content.provenance["diversification"] = batch.attrs["provenance"]
    chosen = batch[batch["product"].isin(top["product"])]
    order = {p: n for n, p in enumerate(top["product"])}
    content.diversification = chosen.sort_values(
        "product", key=lambda s: s.map(order), ignore_index=True
    )
    for product in top["product"].head(DETAILED_DEPENDENCIES):
        try:
            result = ws.diversify(content.country, product, year=content.year, **options)
        except ChokepointsError as exc:
            content.notes.append(f"No alternatives for {product}: {exc}")
            continue
        content.alternatives[product] = result.alternatives.head(TOP_ALTERNATIVES)


def _add_stages(ws: Workspace, content: ReportContent, options: dict[str, Any]) -> None:
    """Stage-by-stage concentration of the value chains the country imports from."""
    try:
        stages = ws.chain_stages(content.country, year=content.year, **options)
    except NoDataError as exc:
        content.notes.append(f"No value-chain view: {exc}")
        return
    imported = stages.groupby("chain")["imports_usd"].transform(lambda s: s.fillna(0).sum())
    content.stages = stages[imported > 0].reset_index(drop=True)
    content.provenance["stages"] = stages.attrs["provenance"]


def _by_chosen_sectors(
    tables: dict[str, pd.DataFrame], sectors: list[str]
) -> dict[str, pd.DataFrame]:
    """The cooperation tables with the sector roll-up kept to the report's sectors."""
    roll_up = tables["by_sector"]
    kept = roll_up[roll_up["sector"].isin(sectors)].reset_index(drop=True)
    kept.attrs = roll_up.attrs
    return {**tables, "by_sector": kept}


def points(change: float) -> str:
    """A change of share in percentage points: ``-0.016`` -> ``-1.6 points``."""
    return f"{change * 100:+.1f} points"


def trend_sentence(supplier: str, economy: str, scope: str, change: dict[str, Any]) -> str:
    """The de-risking sentence of a trend (report and web): the supplier's share change in
    points, the count of dependent products it tops, and the verdict."""
    moved = int(change["dependent_change"])
    if moved == 0:
        count = "it tops as many dependent products as before"
    else:
        count = f"it tops {abs(moved)} {'more' if moved > 0 else 'fewer'} dependent product" + (
            "s" if abs(moved) > 1 else ""
        )
    return (
        f"{supplier}'s share of {economy}'s {scope} changed by "
        f"{points(change['share_change'])} from {change['from_year']} to {change['to_year']}, "
        f"and {count}: {change['verdict']}."
    )


def money(value: float) -> str:
    """USD in words a reader takes in at a glance: '$5.1bn', '$830m', '$12k'."""
    if abs(value) >= 1e9:
        return f"${value / 1e9:,.1f}bn"
    if abs(value) >= 1e6:
        return f"${value / 1e6:,.0f}m"
    if abs(value) >= 1e3:
        return f"${value / 1e3:,.0f}k"
    return f"${value:,.0f}"


def _products(count: int) -> str:
    """``1 product``, ``3 products``."""
    return f"{count} product" if count == 1 else f"{count} products"
