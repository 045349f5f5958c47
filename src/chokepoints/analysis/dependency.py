"""Dependency methods: which (importer, product) pairs count as dependent, and why.

Each method is named and versioned, with thresholds as parameters whose defaults are the
published ones (docs/methods/dependency.md has formulas and sources):

* ``geodep`` (CEPII GeoDep, Lefebvre & Wibaux 2024, CEPII Policy Brief 2024-47): dependent in
  year t when, in at least 2 of the 3 years t-2..t, the import HHI > 0.4, the world export
  HHI > 0.4 and imports / exports > 1.
* ``ec2021`` (European Commission SWD(2021) 352): for a group (the EU by default), extra-group
  import HHI > 0.4, extra-group imports > 50% of all its imports of the product, and extra-group
  imports / the group's total exports > 1; optionally restricted to a list of products.
* ``custom``: the user's own thresholds on any metric of :func:`dependency_metrics`.

All functions return Ibis expressions; whether the data covers enough of the world for the
world-level criteria is checked by the caller (``concentration.country_coverage``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import ibis
import ibis.expr.types as ir

from chokepoints.analysis.concentration import (
    IMPORT_KEY,
    NO_EXPORTS_RATIO,
    as_group,
    attach,
    exporter_totals,
    import_concentration,
    world_export_hhi,
)


@dataclass(frozen=True)
class GeoDep:
    """CEPII GeoDep thresholds (Lefebvre & Wibaux 2024)."""

    name: str = "geodep"
    version: str = "2024"
    import_hhi: float = 0.4
    world_export_hhi: float = 0.4
    import_export_ratio: float = 1.0
    window: int = 3
    min_years: int = 2

    def parameters(self) -> dict[str, object]:
        """The method's name, version and thresholds, for provenance."""
        return asdict(self)


@dataclass(frozen=True)
class EC2021:
    """European Commission SWD(2021) 352 thresholds; ``extra_share`` is an unconfirmed proxy."""

    name: str = "ec2021"
    version: str = "2021"
    import_hhi: float = 0.4
    extra_share: float = 0.5
    import_export_ratio: float = 1.0

    def parameters(self) -> dict[str, object]:
        """The method's name, version and thresholds, for provenance."""
        return asdict(self)


def dependency_metrics(
    flows: ir.Table,
    *,
    importer_flows: ir.Table | None = None,
    top3: bool = True,
    focus: Mapping[str, Sequence[str]] | None = None,
    world: ir.Table | None = None,
) -> ir.Table:
    """Per (year, importer, product): import concentration, world export HHI, exports, ratio.

    ``flows`` are the world's flows (for world-level metrics); ``importer_flows`` are the flows
    seen from the importers analysed (defaults to ``flows``; for a group, ``as_group(...)``).
    ``focus`` adds ``share_<name>`` columns (see ``import_concentration``). ``world`` is
    ``world_export_concentration(flows)`` when already at hand: the one world-wide
    aggregation, then shared by every importer asked about.
    """
    world_totals = exporter_totals(flows)
    local_totals = world_totals if importer_flows is None else exporter_totals(importer_flows)
    importer_flows = flows if importer_flows is None else importer_flows
    imports = import_concentration(importer_flows, top3=top3, focus=focus)
    world = world_export_hhi(world_totals) if world is None else world
    exports = local_totals.select(
        "year", "product", importer=local_totals.exporter, exports_usd=local_totals.x
    )
    joined = attach(attach(imports, world, ["year", "product"]), exports, IMPORT_KEY)
    exported = joined.exports_usd.fill_null(0.0)
    result = joined.mutate(
        exports_usd=exported,
        import_export_ratio=(exported == 0).ifelse(
            NO_EXPORTS_RATIO, joined.import_value_usd / exported
        ),
    )
    return result


def world_export_concentration(flows: ir.Table) -> ir.Table:
    """Per (year, product): the world export HHI of ``flows``, the world-wide part of the
    dependency metrics (see ``dependency_metrics(world=...)``)."""
    return world_export_hhi(exporter_totals(flows))


def geodep(
    flows: ir.Table,
    year: int,
    *,
    importer_flows: ir.Table | None = None,
    params: GeoDep = GeoDep(),
    top3: bool = True,
    focus: Mapping[str, Sequence[str]] | None = None,
    years_held: int | None = None,
    world: ir.Table | None = None,
) -> ir.Table:
    """CEPII GeoDep flags for ``year``, from the years ``year - window + 1`` .. ``year``.

    One row per (importer, product) imported in any of those years, with year-``year``
    metrics (null when it imported nothing that year), the three criteria of that year,
    ``years_met`` (years meeting all three) and ``dependent = years_met >= min_years``.

    ``years_held`` is how many years of the window the data holds (all when None). With fewer
    than ``min_years`` persistence cannot be assessed: ``dependent`` then marks the candidates
    meeting all three criteria in ``year``, and ``persistence`` says "not assessable (k of n
    years)" instead of "m of n years". ``world``: see ``dependency_metrics``.
    """
    years = list(range(year - params.window + 1, year + 1))
    window = flows.filter(flows.year.isin(years))
    local = (
        window if importer_flows is None else importer_flows.filter(importer_flows.year.isin(years))
    )
    if world is not None:
        world = world.filter(world.year.isin(years))
    metrics = dependency_metrics(window, importer_flows=local, top3=top3, focus=focus, world=world)
    metrics = metrics.mutate(
        crit_import_hhi=metrics.hhi > params.import_hhi,
        crit_world_export_hhi=metrics.world_export_hhi > params.world_export_hhi,
        crit_import_export_ratio=metrics.import_export_ratio > params.import_export_ratio,
    )
    met = (
        metrics.crit_import_hhi
        & metrics.crit_world_export_hhi.fill_null(False)
        & metrics.crit_import_export_ratio
    )
    per_pair = metrics.group_by(["importer", "product"]).aggregate(
        years_met=met.ifelse(1, 0).sum(), years_observed=metrics.count()
    )
    current = metrics.filter(metrics.year == year).drop("year")
    joined = attach(per_pair, current, ["importer", "product"])
    held = params.window if years_held is None else years_held
    if held < params.min_years:
        this_year = (
            joined.crit_import_hhi & joined.crit_world_export_hhi & joined.crit_import_export_ratio
        )
        dependent = this_year.fill_null(False)
        persistence = ibis.literal(f"not assessable ({held} of {params.window} years)")
    else:
        dependent = joined.years_met >= params.min_years
        persistence = joined.years_met.cast("string").concat(f" of {params.window} years")
    return joined.mutate(
        year=ibis.literal(year).cast("int16"),
        dependent=dependent,
        persistence=persistence,
        method=ibis.literal(params.name),
    ).relocate("year")


def short_history_warning(missing: Sequence[int], held: int, params: GeoDep, year: int) -> str:
    """What a GeoDep result says when years of its window are not in the store."""
    warning = (
        f"years {', '.join(map(str, missing))} are not in the store: persistence is judged on "
        f"{held} of {params.window} years"
    )
    if held < params.min_years:
        warning = (
            f"years {', '.join(map(str, missing))} are not in the store: persistence is not "
            f"assessable ({held} of {params.window} years), so the products meeting the "
            f"{year} criteria are shown as candidates; ingest the earlier years to confirm them"
        )
    return warning


def ec2021(
    flows: ir.Table,
    year: int,
    *,
    group: str,
    members: Sequence[str],
    products: Sequence[str] | None = None,
    params: EC2021 = EC2021(),
    focus: Mapping[str, Sequence[str]] | None = None,
) -> ir.Table:
    """European Commission 2021 flags for the group ``group`` (e.g. EU27) in ``year``.

    Per product: extra-group imports and their HHI across suppliers, the extra-group share of
    the group's total (extra + intra) imports, and extra-group imports over the group's total
    exports (9999 when it exports none). ``products`` restricts the flags (not the rows) to a
    list, as the Commission restricted its list to "sensitive ecosystems".
    """
    members = list(members)
    this_year = flows.filter(flows.year == year)
    grouped = as_group(this_year, group, members)
    extra = import_concentration(grouped.filter(grouped.importer == group), focus=focus)
    intra = this_year.filter(this_year.importer.isin(members) & this_year.exporter.isin(members))
    intra = intra.group_by("product").aggregate(intra_imports_usd=intra.value_usd.sum())
    exported = this_year.filter(this_year.exporter.isin(members))
    exported = exported.group_by("product").aggregate(exports_usd=exported.value_usd.sum())
    world = world_export_hhi(exporter_totals(this_year)).drop("year")
    joined = attach(
        attach(attach(extra, intra, ["product"]), exported, ["product"]), world, ["product"]
    )
    intra_value = joined.intra_imports_usd.fill_null(0.0)
    exports_value = joined.exports_usd.fill_null(0.0)
    extra_share = joined.import_value_usd / (joined.import_value_usd + intra_value)
    ratio = (exports_value == 0).ifelse(NO_EXPORTS_RATIO, joined.import_value_usd / exports_value)
    in_scope = (
        joined["product"].isin(list(products)) if products is not None else ibis.literal(True)
    )
    flagged = joined.mutate(
        intra_imports_usd=intra_value,
        exports_usd=exports_value,
        extra_share=extra_share,
        import_export_ratio=ratio,
        crit_import_hhi=joined.hhi > params.import_hhi,
        crit_extra_share=extra_share > params.extra_share,
        crit_import_export_ratio=ratio > params.import_export_ratio,
        in_scope=in_scope,
    )
    return flagged.mutate(
        dependent=flagged.crit_import_hhi
        & flagged.crit_extra_share
        & flagged.crit_import_export_ratio
        & flagged.in_scope,
        method=ibis.literal(params.name),
    )


#: Comparison operators accepted in custom rules.
_OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
}
_RULE = re.compile(r"\s*([a-z_0-9]+)\s*(>=|<=|==|!=|>|<|=)\s*(\S+)\s*")


@dataclass(frozen=True)
class Rule:
    """One custom threshold: ``metric operator value`` (e.g. ``hhi > 0.5``, ``top_supplier=CHN``).

    The value stays text until it meets its column: a number for numeric metrics, a code for
    text ones (so ``product=010121`` keeps its leading zero).
    """

    metric: str
    operator: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Rule:
        """Parse ``"top_supplier_share>=0.7"``."""
        from chokepoints.errors import InputError

        match = _RULE.fullmatch(text)
        if not match:
            raise InputError(
                f"rule {text!r} is not of the form metric>value",
                hint="write e.g. 'hhi>0.5' or 'top_supplier=CHN'",
            )
        return cls(*match.groups())

    def condition(self, column: ir.Value) -> ir.BooleanValue:
        """The rule applied to ``column`` (false where the column is null)."""
        from chokepoints.errors import InputError

        value: str | float | bool = self.value
        if column.type().is_numeric():
            try:
                value = float(self.value)
            except ValueError as exc:
                raise InputError(
                    f"rule {self}: {self.metric} is a number, {self.value!r} is not"
                ) from exc
        elif column.type().is_boolean():
            value = self.value.lower() in ("true", "yes", "1")
        return _OPERATORS[self.operator](column, value).fill_null(False)

    def __str__(self) -> str:
        return f"{self.metric}{self.operator}{self.value}"


def custom(metrics: ir.Table, rules: Sequence[Rule]) -> ir.Table:
    """Flag rows of ``metrics`` meeting every rule; ``method`` records the rules."""
    from chokepoints.errors import InputError

    if not rules:
        raise InputError("the custom method needs at least one rule", hint="e.g. --rule 'hhi>0.5'")
    condition = ibis.literal(True)
    for rule in rules:
        if rule.metric not in metrics.columns:
            raise InputError(
                f"unknown metric {rule.metric!r} in rule {rule}",
                hint=f"use one of {', '.join(sorted(metrics.columns))}",
            )
        condition = condition & rule.condition(metrics[rule.metric])
    return metrics.mutate(
        dependent=condition, method=ibis.literal("custom: " + " & ".join(map(str, rules)))
    )
