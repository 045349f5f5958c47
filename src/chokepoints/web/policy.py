"""What the scenario, diversification and compare pages show: the what-ifs and the options,
asked through the answerer (never computed here) and drawn with the report's look."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from chokepoints.errors import NoDataError
from chokepoints.reference.countries import labelled
from chokepoints.report import charts as report_charts
from chokepoints.report.content import money
from chokepoints.web import charts, lookups
from chokepoints.web.answerer import Answerer
from chokepoints.web.rendering import Chart, Table, api_url, query

SHOCK_TABLE = ["importer", "product", "description", "lost_value_usd", "redirectable_value_usd",
               "shortfall_value_usd", "lost_share", "import_value_usd"]  # fmt: skip
BY_IMPORTER_TABLE = ["importer", "lost_value_usd", "redirectable_value_usd", "shortfall_value_usd",
                     "shortfall_share", "lost_share", "import_value_usd", "n_products"]  # fmt: skip
DOWNSTREAM_TABLE = ["chain", "label", "product", "country", "exports_usd", "export_share",
                    "input_imports_usd", "input_supplier_share", "path"]  # fmt: skip
ALTERNATIVES_TABLE = ["rank", "exporter", "why", "capacity_usd", "current_share", "world_share",
                      "rca", "trusted", "unit_value_ratio"]  # fmt: skip
COOPERATION_TABLE = ["sector", "shared_products", "complementary_products", "compared_products",
                     "jointly_covered_products", "shared_imports_usd"]  # fmt: skip
COMPLEMENTARITY_TABLE = ["product", "description", "exporter_partner", "rca", "importer_partner",
                         "top_supplier", "coverable_share"]  # fmt: skip
MIX_TABLE = ["supplier", "current_usd", "new_usd", "current_share", "new_share", "upper_bound",
             "binding"]  # fmt: skip


@dataclass(frozen=True)
class Shock:
    """A scenario as the page's form states it: a preset, or a supplier cutting exports."""

    preset: str | None = None
    supplier: str | None = None
    sectors: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    importers: tuple[str, ...] = ()
    fraction: float = 1.0
    year: int | None = None
    allocation: str = "pro_rata"

    @property
    def given(self) -> bool:
        """Whether the form names a scenario at all."""
        return bool(self.preset or self.supplier)

    def params(self) -> dict[str, Any]:
        """The Workspace's keyword parameters of the scenario (and of the API's URL)."""
        if self.preset:
            return {"preset": self.preset, "year": self.year}
        return {
            "supplier": self.supplier,
            "sectors": list(self.sectors),
            "products": list(self.products),
            "importers": list(self.importers),
            "fraction": self.fraction,
            "year": self.year,
        }


async def scenario(answerer: Answerer, shock: Shock) -> dict[str, Any]:
    """The scenario page: presets and a form; with a scenario, its impact by importer and
    downstream, and the allocation rule in words."""
    names = await lookups.sector_names(answerer)
    context: dict[str, Any] = {
        "shock": shock,
        "presets": lookups.presets(),
        "sectors": names,
        "charts": [],
        "provenance": [],
        "figures": [],
    }
    if not shock.given:
        return context
    params = shock.params()
    rows = await answerer.ask("shock", **params, allocation=shock.allocation)
    by_importer = await answerer.ask("shock", **params, allocation=shock.allocation, by="country")
    record = rows.attrs["provenance"]
    downstream, downstream_record = await _downstream(answerer, params)
    world = record["world"]
    page_query = query({**_form_query(shock), "year": record["year"]})
    context["charts"] = [
        Chart(
            "importers",
            "Impact by importer",
            _allocation_rule(record),
            charts.shock_by_importer(by_importer),
            [
                Table(
                    "By importer",
                    by_importer,
                    BY_IMPORTER_TABLE,
                    api_url("shock", **params, allocation=shock.allocation, by="country"),
                ),
                Table(
                    "By importer and product",
                    rows,
                    SHOCK_TABLE,
                    api_url("shock", **params, allocation=shock.allocation),
                    links={"product": lambda row: f"/product/{row['product']}"},
                ),
            ],
            empty="No importer loses anything in this scenario.",
        ),
        Chart(
            "downstream",
            "Downstream: products made from what is cut off",
            _downstream_lead(downstream, downstream_record),
            charts.downstream_bars(downstream) if downstream is not None else None,
            [
                Table(
                    "Downstream products and their producers",
                    downstream,
                    DOWNSTREAM_TABLE,
                    "/scenario/downstream.csv?" + page_query,
                )
            ]
            if downstream is not None
            else [],
            empty=downstream_record.get("note", "No value chain holds these products."),
        ),
    ]
    context["title"] = f"{record['scenario']['name']} on {record['year']} trade"
    context["figures"] = [
        ("Imports lost", money(float(world["lost_value_usd"]))),
        ("Replaceable by other exporters", money(float(world["redirectable_value_usd"]))),
        ("Shortfall", money(float(world["shortfall_value_usd"]))),
        ("Importers hit", f"{int((by_importer['lost_value_usd'] > 0).sum()):,}"),
    ]
    context["scenario"] = record["scenario"]
    context["provenance"] = [("Impact", record), ("Downstream", downstream_record)]
    return context


def _form_query(shock: Shock) -> dict[str, Any]:
    """The page's own query parameters for ``shock`` (as its form names them)."""
    if shock.preset:
        return {"preset": shock.preset}
    return {
        "supplier": shock.supplier,
        "sector": list(shock.sectors),
        "product": list(shock.products),
        "importer": list(shock.importers),
        "fraction": shock.fraction,
        "allocation": shock.allocation if shock.allocation != "pro_rata" else None,
    }


async def downstream_of(answerer: Answerer, shock: Shock) -> pd.DataFrame:
    """The downstream table of a scenario (for its CSV)."""
    found: pd.DataFrame = await answerer.ask("downstream", **shock.params())
    return found


async def _downstream(
    answerer: Answerer, params: dict[str, Any]
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """The downstream products at risk, or None and a note when no chain holds the shock."""
    try:
        found = await answerer.ask("downstream", **params)
    except NoDataError as exc:
        return None, {"note": f"No downstream view: {exc}."}
    if found.empty:
        return None, {"note": "No value chain holds the products cut off."}
    return found, dict(found.attrs["provenance"])


def _allocation_rule(record: dict[str, Any]) -> str:
    """The allocation rule and the world totals in words (as ``shock`` prints them)."""
    world = record["world"]
    method = record["method"]
    shared = (
        "shared among all the importers hit, pro rata to their losses"
        if method["allocation"] == "pro_rata"
        else "offered in full to each importer (an optimistic bound)"
    )
    return (
        f"Allocation rule: other exporters can redirect {method['redirect_fraction']:.0%} of "
        f"their sales to third countries; that spare capacity "
        f"({money(float(world['shared_spare_usd']))}) is {shared}. World: "
        f"{money(float(world['lost_value_usd']))} lost, "
        f"{money(float(world['shortfall_value_usd']))} shortfall."
    )


def _downstream_lead(downstream: pd.DataFrame | None, record: dict[str, Any]) -> str:
    """The sentence above the downstream bars."""
    if downstream is None:
        return str(record.get("note", ""))
    chains = downstream["chain"].nunique()
    return (
        f"{downstream['product'].nunique()} downstream products in {chains} value "
        f"chain{'s' if chains > 1 else ''} use what is cut off; the bars show the "
        "largest producers' exports (hover: the share of their inputs bought from the "
        "supplier cut off)."
    )


async def diversify(
    answerer: Answerer,
    economy: str,
    code: str,
    *,
    year: int | None,
    exclude: Sequence[str],
    trusted: Sequence[str],
    max_share: float | None,
) -> dict[str, Any]:
    """The diversification page: alternatives with their reasons and the optimised mix under
    the page's exclusions, trusted group and largest share."""
    options: dict[str, Any] = {"year": year, "exclude": list(exclude), "max_share": max_share}
    if trusted:
        options["trusted"] = list(trusted)
    found = await answerer.ask("diversify", country=economy, product=code, **options)
    record = found.provenance.as_dict()
    who = str(record.get("economy", economy))
    year = int(record["year"])
    plan = found.plan
    csv = {
        name: api_url(f"diversify/{who}/{code}", **{**options, "year": year}, table=name)
        for name in ("alternatives", "mix")
    }
    described = await lookups.products(answerer)
    description = described.loc[described["product"] == code, "description"]
    alternatives = found.alternatives.assign(
        why=[_why(row) for row in found.alternatives.to_dict("records")]
    )
    return {
        "who": who,
        "code": code,
        "title": f"{labelled(who)}: where else to buy {code}",
        "description": "" if description.empty else str(description.iloc[0] or ""),
        "year": year,
        "years": await lookups.years_of(answerer, record.get("source")),
        "exclude": ",".join(exclude),
        "trusted": ",".join(trusted),
        "max_share": max_share,
        "groups": (await lookups.groups(answerer))["group"].tolist(),
        "plan": plan,
        "plan_text": _plan_text(plan),
        "charts": [
            Chart(
                "mix",
                "The optimised mix",
                _plan_text(plan),
                charts.mix_bars(found.mix),
                [Table("Sourcing mix", found.mix, MIX_TABLE, csv["mix"])],
            ),
            Chart(
                "alternatives",
                "Alternative suppliers and why",
                "Ranked by the capacity they could redirect; why: their revealed comparative "
                "advantage (RCA), world share, whether they are trusted and their price "
                "against today's suppliers'.",
                None,
                [
                    Table(
                        "Alternative suppliers",
                        alternatives,
                        ALTERNATIVES_TABLE,
                        csv["alternatives"],
                    )
                ],
                empty="",
            ),
        ],
        "provenance": [("Diversification", record)],
    }


def _why(row: dict[str, Any]) -> str:
    """An alternative's reasons in words: capacity, specialisation, trust, price."""
    reasons = [f"could redirect {money(float(row['capacity_usd']))}"]
    if pd.notna(row.get("rca")) and row["rca"] >= 1:
        reasons.append(f"specialised (RCA {row['rca']:.1f})")
    if pd.notna(row.get("world_share")) and row["world_share"] >= 0.01:
        reasons.append(f"{row['world_share']:.0%} of world exports")
    if row.get("trusted"):
        reasons.append("trusted")
    ratio = row.get("unit_value_ratio")
    if ratio is not None and pd.notna(ratio):
        reasons.append(f"price {ratio:.2f}× today's")
    return ", ".join(reasons)


def _plan_text(plan: Any) -> str:
    """The optimiser's result in one or two sentences."""
    if not plan.feasible:
        return (
            f"No mix meets these constraints: {plan.explanation}. Allow a larger share per "
            "supplier, or exclude fewer."
        )
    moved = (
        ""
        if pd.isna(plan.replaced_share)
        else f"{plan.replaced_share:.0%} of what risky (excluded or untrusted) suppliers sell "
        "today moves to trusted ones; "
    )
    return (
        f"Import concentration (HHI) falls from {plan.hhi_before:.2f} to {plan.hhi_after:.2f} "
        f"with the same total imports: {moved}{plan.suppliers_after} suppliers "
        f"({plan.new_suppliers} new)."
    )


async def compare(
    answerer: Answerer, economies: Sequence[str], *, year: int | None, sector: str | None
) -> dict[str, Any]:
    """The compare page: shared chokepoints, complementarity, best practice, joint cover."""
    names = await lookups.sector_names(answerer)
    found = await answerer.ask("compare", partners=list(economies), year=year, sector=sector)
    record = found.provenance.as_dict()
    partners = list(record.get("partners") or economies)
    year = int(record["year"])
    params = {"economies": partners, "year": year, "sector": sector}
    best = found.best_practice[found.best_practice["hhi_gap"] > 0]
    by_sector = found.by_sector.assign(
        sector=found.by_sector["sector"].map(lambda s: names.get(s, s))
    )
    link = {"product": lambda row: f"/product/{row['product']}?year={year}"}
    return {
        "partners": partners,
        "title": " · ".join(labelled(p) for p in partners),
        "year": year,
        "sector": sector,
        "sectors": names,
        "years": await lookups.years_of(answerer, record.get("source")),
        "figures": [
            ("Shared chokepoints", f"{found.shared['product'].nunique():,} products"),
            ("Complementary products", f"{found.complementarity['product'].nunique():,}"),
            (
                "Risky imports trusted suppliers could cover together",
                f"{int(found.joint['covered'].sum()):,} of {len(found.joint):,} products",
            ),
        ],
        "charts": [
            Chart(
                "cooperation",
                "Where the partners can help each other, by sector",
                "Per sector: products on which they all depend on the same supplier (shared "
                "chokepoints), products one can supply to another (complementary), and products "
                "their trusted suppliers could cover together.",
                report_charts.cooperation_bars(found.by_sector, names),
                [
                    Table(
                        "Per sector",
                        by_sector,
                        COOPERATION_TABLE,
                        api_url("compare", **params, table="by_sector"),
                    ),
                    Table(
                        "Shared chokepoints",
                        found.shared,
                        ["product", "description", "supplier", "partner", "imports_usd", "hhi"],
                        api_url("compare", **params, table="shared"),
                        links=link,
                    ),
                    Table(
                        "Complementarity",
                        found.complementarity,
                        COMPLEMENTARITY_TABLE,
                        api_url("compare", **params, table="complementarity"),
                        links=link,
                    ),
                    Table(
                        "Best practice",
                        best,
                        ["product", "description", "partner", "hhi", "best_partner", "best_hhi"],
                        api_url("compare", **params, table="best_practice"),
                        links=link,
                    ),
                ],
            ),
        ],
        "provenance": [("Comparison", record)],
    }
