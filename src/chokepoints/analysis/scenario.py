"""Disruption scenarios and their direct impact on importers, as Ibis expressions.

A *scenario* is a named list of *shocks*: a supplier (a country or a group) stops a
``fraction`` of its exports of some products (listed per HS revision, or whole sectors) to some
importers (all by default). Scenarios are TOML files (presets ship in
``reference/scenarios/*.toml``) or built in Python with :func:`build_scenario`.

:func:`direct_impact` measures, per (importer, product) in one year of a *flows* table (see
``concentration.select_flows``), what is lost, what the remaining suppliers could redirect and
the residual shortfall; docs/methods/scenarios.md gives the definitions:

* ``lost = sum_e f(e, i, p) * M_eip`` with ``f`` the largest fraction any shock cuts on the flow
  ``e -> i`` (several shocks on the same supplier never add up);
* ``spare_p = redirect_fraction * sum M_ejp`` over the flows of ``p`` from exporters no shock
  on ``p`` names to importers no shock hits: one pool per product, the world's spare capacity;
* ``redirectable``: the pool shared among all importers hit, pro rata to their losses
  (``lost * min(1, spare_p / sum_i lost_ip)``, the default), or with ``allocation="per_importer"``
  the optimistic bound ``min(lost, spare_p)`` (each importer offered the whole pool);
* ``shortfall = lost - redirectable``, ``kept = imports - lost``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from chokepoints.analysis.concentration import attach, exporter_totals, positive
from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.economies import Economies, Economy
from chokepoints.reference.sectors import list_sectors, sector_products_in, sector_table
from chokepoints.reference.toml_files import packaged_files, parse_toml, read_text
from chokepoints.schema import HS_REVISIONS

#: Key of ``Shock.products`` for codes that apply to every HS revision.
ANY_REVISION = "ANY"

#: Share of the alternative suppliers' exports to third countries they could redirect.
DEFAULT_REDIRECT_FRACTION = 0.5

#: How the world's spare capacity of a product is shared among the importers a shock hits:
#: ``pro_rata`` to their losses (the default), or ``per_importer``, the optimistic bound where
#: each importer is offered the whole pool (summed over importers it overstates the supply).
ALLOCATIONS = ("pro_rata", "per_importer")

IMPACT_KEY = ("year", "importer", "product")

_SCENARIO_KEYS = ("id", "name", "description", "sources", "shocks")
_SHOCK_KEYS = (
    "supplier",
    "fraction",
    "products",
    "sectors",
    "importers",
    "start_year",
    "rationale",
)
_SCENARIO_ID = re.compile(r"[a-z][a-z0-9-]*")
_HS6 = re.compile(r"\d{6}")


@dataclass(frozen=True)
class Shock:
    """One supplier losing ``fraction`` of its exports of some products to some importers.

    ``supplier`` is the label as written (``CHN``, ``EU27``), ``members`` its ISO3 countries.
    ``products`` maps a revision (``HS17``) or ``ANY_REVISION`` to HS6 codes; ``sectors`` names
    sectors whose codes are added in each revision (read from the built-in files and
    ``sector_dirs``). ``importers`` are the economies hit (None for all importers); a group
    among them buys as one. ``start_year`` records when the measure took effect; ``rationale``
    why this fraction.
    """

    supplier: str
    members: tuple[str, ...]
    products: Mapping[str, tuple[str, ...]] | None
    sectors: tuple[str, ...] | None
    importers: tuple[Economy, ...] | None
    fraction: float
    start_year: int | None = None
    rationale: str = ""
    sector_dirs: tuple[Path, ...] = ()

    def products_for(self, classification: str) -> tuple[str, ...]:
        """The sorted HS6 codes this shock cuts in ``classification`` (sectors resolved).

        Raises InputError when the shock lists products but none for that revision.
        """
        revision = classification.strip().upper()
        codes: set[str] = set()
        for sector in self.sectors or ():
            # A sector without a list for the revision: its nearest list converted (the
            # question records the conversion in the provenance).
            codes.update(sector_products_in(sector, revision, extra_dirs=self.sector_dirs)[0])
        if self.products:
            listed = self.products.get(revision, self.products.get(ANY_REVISION))
            if listed is None:
                raise InputError(
                    f"the shock on {self.supplier} lists no {revision} products",
                    field="products",
                    hint=f"it has lists for {', '.join(self.products)}; use one of those data "
                    f"revisions or add a {revision} list",
                )
            codes.update(listed)
        return tuple(sorted(codes))

    def resolve(self, classification: str, *, by_member: bool = False) -> ResolvedShock:
        """This shock with its products for ``classification``, ready for :func:`direct_impact`.

        Importers are named as the flows name them: a group importer by its name (the flows
        are then grouped, see ``questions.common.as_economies``), or by its members when
        ``by_member``.
        """
        importers = None
        if self.importers is not None:
            importers = tuple(
                sorted(
                    {
                        code
                        for economy in self.importers
                        for code in (economy.members if by_member else (economy.name,))
                    }
                )
            )
        return ResolvedShock(
            supplier=self.supplier,
            members=self.members,
            products=self.products_for(classification),
            importers=importers,
            fraction=self.fraction,
        )


@dataclass(frozen=True)
class ResolvedShock:
    """A shock in one HS revision: supplier ISO3 members, HS6 codes, importers as in the
    flows, fraction."""

    supplier: str
    members: tuple[str, ...]
    products: tuple[str, ...]
    importers: tuple[str, ...] | None
    fraction: float


@dataclass(frozen=True)
class Scenario:
    """A named list of shocks, with the sources (announcements, dates) it is built on."""

    id: str
    name: str
    description: str
    sources: tuple[str, ...]
    shocks: tuple[Shock, ...]

    def products_for(self, classification: str) -> tuple[str, ...]:
        """The sorted HS6 codes any shock of the scenario cuts in ``classification``."""
        codes = {code for shock in self.shocks for code in shock.products_for(classification)}
        return tuple(sorted(codes))

    def resolve(self, classification: str, *, by_member: bool = False) -> tuple[ResolvedShock, ...]:
        """Every shock with its products for ``classification``."""
        return tuple(shock.resolve(classification, by_member=by_member) for shock in self.shocks)

    @property
    def importer_economies(self) -> tuple[Economy, ...]:
        """The importers named by any shock, once each (groups buy as one)."""
        named = [e for shock in self.shocks for e in shock.importers or ()]
        return tuple({economy.name: economy for economy in named}.values())

    @property
    def supplier_economies(self) -> tuple[Economy, ...]:
        """The suppliers of the shocks, once each."""
        named = [Economy(shock.supplier, shock.members) for shock in self.shocks]
        return tuple({economy.name: economy for economy in named}.values())

    @property
    def baseline_year(self) -> int | None:
        """The year before the earliest shock took effect: the exposure the measure met."""
        years = [shock.start_year for shock in self.shocks if shock.start_year is not None]
        return min(years) - 1 if years else None


# -- building and loading ------------------------------------------------------------------------
def build_scenario(
    supplier: str,
    *,
    sectors: Sequence[str] | None = None,
    products: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    importers: Sequence[str] | None = None,
    fraction: float = 1.0,
    start_year: int | None = None,
    economies: Economies | None = None,
    sector_dirs: Sequence[Path] = (),
) -> Scenario:
    """The generic scenario "``supplier`` stops ``fraction`` of its exports of these products".

    ``supplier`` and ``importers`` are country codes or group names (``economies`` resolves
    them, with the user's groups); ``products`` a list of HS6 codes valid in any revision or a
    mapping revision -> codes; ``sector_dirs`` hold the user's sector files. Raises InputError
    as the TOML loader does.
    """
    shock: dict[str, Any] = {"supplier": supplier, "fraction": fraction}
    for key, codes in (("sectors", sectors), ("importers", importers)):
        if codes is not None:
            shock[key] = list(codes)
    if start_year is not None:
        shock["start_year"] = start_year
    if products is not None:
        shock["products"] = (
            {key: list(codes) for key, codes in products.items()}
            if isinstance(products, Mapping)
            else list(products)
        )
    names = list_sectors(sector_dirs).set_index("id")["name"].map(_in_sentence)
    scope = ", ".join(
        [*(names.get(s, s) for s in sectors or ()), *(["selected products"] if products else [])]
    )
    data = {
        "id": f"{supplier.lower()}-stops",
        "name": f"{supplier} stops {fraction:.0%} of its exports of {scope}",
        "description": "Generic scenario built with build_scenario",
        "sources": ["hypothetical"],
        "shocks": [shock],
    }
    return _parse_scenario(
        data, file="<build_scenario>", lines=[], reference=_Reference.of(economies, sector_dirs)
    )


def _in_sentence(name: str) -> str:
    """A sector's name inside a sentence: "Permanent magnets" -> "permanent magnets", while a
    name opening with an acronym ("EU sensitive ecosystems") keeps its capitals."""
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


def load_scenario(
    path: Path | str, *, economies: Economies | None = None, sector_dirs: Sequence[Path] = ()
) -> Scenario:
    """Read and check a scenario TOML file; every problem is an InputError naming the file."""
    path = Path(path)
    return scenario_from_toml(
        read_text(path, what="scenario"),
        file=str(path),
        economies=economies,
        sector_dirs=sector_dirs,
    )


def scenario_from_toml(
    text: str,
    *,
    file: str = "<scenario>",
    economies: Economies | None = None,
    sector_dirs: Sequence[Path] = (),
) -> Scenario:
    """The scenario written in TOML ``text`` (see docs/methods/scenarios.md for the format).

    Country and group names are resolved by ``economies`` (the built-in groups when None) and
    sectors looked up in the built-in files and ``sector_dirs``.
    """
    return _parse_scenario(
        parse_toml(text, file=file),
        file=file,
        lines=text.splitlines(),
        reference=_Reference.of(economies, sector_dirs),
    )


@dataclass(frozen=True)
class _Reference:
    """The groups and sector folders a scenario's names are resolved against."""

    economies: Economies
    sector_dirs: tuple[Path, ...]

    @classmethod
    def of(cls, economies: Economies | None, sector_dirs: Sequence[Path]) -> _Reference:
        """The user's reference, or the built-in groups and sectors."""
        return cls(economies or Economies(), tuple(Path(d) for d in sector_dirs))


def list_presets() -> list[str]:
    """The ids of the scenarios shipped in ``reference/scenarios``, sorted."""
    return sorted(_presets())


def preset(name: str) -> Scenario:
    """The shipped scenario called ``name``, or UnknownCodeError listing the presets."""
    found = _presets().get(name.strip().lower())
    if found is None:
        raise UnknownCodeError(
            f"unknown scenario preset {name!r}", hint=f"presets: {', '.join(list_presets())}"
        )
    return found


@functools.cache
def _presets() -> dict[str, Scenario]:
    """The preset files of ``reference/scenarios``, by id."""
    scenarios = {}
    for name, text in packaged_files("scenarios"):
        scenario = scenario_from_toml(text, file=f"scenarios/{name}")
        scenarios[scenario.id] = scenario
    return scenarios


def _parse_scenario(
    data: dict[str, Any], *, file: str, lines: list[str], reference: _Reference
) -> Scenario:
    """Check the keys and values of a parsed scenario and resolve its countries."""
    unknown = [key for key in data if key not in _SCENARIO_KEYS]
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(unknown)}",
            file=file,
            line=_line(lines, unknown[0]),
            hint=f"a scenario has {', '.join(_SCENARIO_KEYS)}",
        )
    missing = [key for key in _SCENARIO_KEYS if key not in data]
    if missing:
        raise InputError(
            f"missing key(s) {', '.join(missing)}",
            file=file,
            hint=f"a scenario has {', '.join(_SCENARIO_KEYS)}",
        )
    for key in ("id", "name", "description"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise InputError(
                f"{key} must be non-empty text", file=file, line=_line(lines, key), field=key
            )
    if not _SCENARIO_ID.fullmatch(data["id"]):
        raise InputError(
            f"id {data['id']!r} is not a scenario id",
            file=file,
            line=_line(lines, "id"),
            field="id",
            hint="use lower-case letters, digits and -, starting with a letter",
        )
    sources = _texts(data["sources"], "sources", file, _line(lines, "sources"))
    shocks = data["shocks"]
    if not isinstance(shocks, list) or not shocks:
        raise InputError(
            "shocks must be a non-empty list of [[shocks]] tables",
            file=file,
            line=_line(lines, "shocks"),
            field="shocks",
            hint='write [[shocks]] then supplier = "CHN", fraction = 1.0, sectors = [...]',
        )
    starts = [n for n, line in enumerate(lines, 1) if re.match(r"\s*\[\[\s*shocks\s*\]\]", line)]
    parsed = tuple(
        _parse_shock(
            shock, index, file, lines, starts[index] if index < len(starts) else None, reference
        )
        for index, shock in enumerate(shocks)
    )
    return Scenario(
        id=data["id"],
        name=data["name"].strip(),
        description=data["description"].strip(),
        sources=tuple(sources),
        shocks=parsed,
    )


def _parse_shock(
    entry: object,
    index: int,
    file: str,
    lines: list[str],
    start: int | None,
    reference: _Reference,
) -> Shock:
    """One ``[[shocks]]`` table; ``start`` is the line of its header, if known."""

    def fail(message: str, key: str | None, hint: str | None = None) -> InputError:
        line = _line(lines, key, start) if key else start
        field = f"shocks[{index}].{key}" if key else f"shocks[{index}]"
        return InputError(message, file=file, line=line, field=field, hint=hint)

    if not isinstance(entry, dict):
        raise fail("each shock must be a table", None)
    unknown = [key for key in entry if key not in _SHOCK_KEYS]
    if unknown:
        raise fail(
            f"unknown key(s) {', '.join(unknown)} in shock {index}",
            unknown[0],
            f"a shock has {', '.join(_SHOCK_KEYS)}",
        )
    supplier = entry.get("supplier")
    if not isinstance(supplier, str) or not supplier.strip():
        raise fail("supplier must be a country code or group name", "supplier", 'e.g. "CHN"')
    fraction = entry.get("fraction", 1.0)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
        raise fail(
            f"fraction {fraction!r} is not in (0, 1]",
            "fraction",
            "the share of the supplier's exports lost: 1.0 for a ban, e.g. 0.5 for licensing",
        )
    start_year = entry.get("start_year")
    if start_year is not None and (isinstance(start_year, bool) or not isinstance(start_year, int)):
        raise fail(f"start_year {start_year!r} is not a year", "start_year", "e.g. 2023")
    products = _products(entry.get("products"), fail)
    sectors = entry.get("sectors")
    if sectors is not None:
        sectors = tuple(_texts(sectors, "sectors", file, _line(lines, "sectors", start)))
        known = set(list_sectors(reference.sector_dirs)["id"])
        for sector in sectors:
            if sector not in known:
                raise fail(
                    f"unknown sector {sector!r}",
                    "sectors",
                    f"known sectors: {', '.join(sorted(known))}",
                )
    if not products and not sectors:
        raise fail(
            "a shock needs products or sectors",
            None,
            'add sectors = ["critical_minerals"] or products = {HS17 = ["811292"]}',
        )
    members = _economy(
        supplier,
        reference.economies,
        lambda code: fail(f"unknown country or group {code!r}", "supplier", _CODES_HINT),
    ).members
    importers = entry.get("importers")
    if importers is not None:
        importers = tuple(
            _economy(
                code,
                reference.economies,
                lambda c: fail(f"unknown country or group {c!r}", "importers", _CODES_HINT),
            )
            for code in _texts(importers, "importers", file, _line(lines, "importers", start))
        )
    rationale = entry.get("rationale", "")
    if not isinstance(rationale, str):
        raise fail("rationale must be text", "rationale")
    return Shock(
        supplier=supplier.strip(),
        members=members,
        products=products,
        sectors=sectors,
        importers=importers,
        fraction=float(fraction),
        start_year=start_year,
        rationale=rationale.strip(),
        sector_dirs=reference.sector_dirs,
    )


_CODES_HINT = "use ISO3 codes such as CHN or RUS, or a group name such as EU27"


def _economy(code: str, economies: Economies, error: Any) -> Economy:
    """The economy a scenario names (groups win over country codes), or ``error(code)``."""
    try:
        return economies.resolve(code)
    except UnknownCodeError:
        raise error(code) from None


def _products(value: object, fail: Any) -> dict[str, tuple[str, ...]] | None:
    """``products``: a list of HS6 codes (any revision) or a table revision -> list."""
    if value is None:
        return None
    hint = 'write products = ["811292"] or products = {HS17 = ["811292"], HS22 = ["811292"]}'
    table = {ANY_REVISION: value} if isinstance(value, list) else value
    if not isinstance(table, dict) or not table:
        raise fail("products must be a list of HS6 codes or a table of lists", "products", hint)
    products = {}
    for revision, codes in table.items():
        if revision != ANY_REVISION and revision not in HS_REVISIONS:
            raise fail(
                f"unknown HS revision {revision!r} in products",
                "products",
                f"use {', '.join(HS_REVISIONS)}",
            )
        if not isinstance(codes, list) or not codes:
            raise fail(f"products for {revision} must be a non-empty list", "products", hint)
        bad = [code for code in codes if not isinstance(code, str) or not _HS6.fullmatch(code)]
        if bad:
            raise fail(f"{bad[0]!r} is not a quoted 6-digit HS code", "products", hint)
        products[revision] = tuple(dict.fromkeys(codes))
    return products


def _texts(value: object, key: str, file: str, line: int | None) -> list[str]:
    """A non-empty list of non-empty texts, stripped."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item.strip() for item in value)
    ):
        raise InputError(
            f"{key} must be a non-empty list of non-empty texts", file=file, line=line, field=key
        )
    return [item.strip() for item in value]


def _line(lines: list[str], key: str, start: int | None = None) -> int | None:
    """Line number of the first ``key = ...`` or ``[key]`` at or after line ``start``."""
    pattern = re.compile(rf"""\s*(?:["']?{re.escape(key)}["']?\s*=|\[+\s*{re.escape(key)}\b)""")
    first = (start or 1) - 1
    return next((n for n, line in enumerate(lines[first:], first + 1) if pattern.match(line)), None)


# -- direct impact ---------------------------------------------------------------------------
def cut_fraction(
    shocks: Sequence[ResolvedShock],
    exporter: ir.StringValue,
    importer: ir.StringValue,
    product: ir.StringValue,
) -> ir.FloatingValue:
    """The fraction of the flow ``exporter -> importer`` of ``product`` the shocks cut.

    The largest fraction of the shocks that cover the flow (0 when none does), so that two
    shocks on the same supplier never add up. An importer that is a member of the supplier
    group is not cut (intra-group trade).
    """
    cuts = []
    for shock in shocks:
        covered = (
            exporter.isin(list(shock.members))
            & product.isin(list(shock.products))
            & ~importer.isin(list(shock.members))
        )
        if shock.importers is not None:
            covered = covered & importer.isin(list(shock.importers))
        cuts.append(covered.ifelse(shock.fraction, 0.0))
    return cuts[0] if len(cuts) == 1 else ibis.greatest(*cuts)


def direct_impact(
    flows: ir.Table,
    year: int,
    shocks: ResolvedShock | Sequence[ResolvedShock],
    *,
    redirect_fraction: float = DEFAULT_REDIRECT_FRACTION,
    allocation: str = "pro_rata",
) -> ir.Table:
    """Per (year, importer, product) hit by the shocks: what is lost, redirectable and short.

    Columns: ``import_value_usd`` (before), ``lost_value_usd``, ``lost_quantity_t``,
    ``lost_share`` (lost / imports), ``redirectable_value_usd`` (the importer's part of the
    product's spare pool, see :func:`shared_redirect`), ``shortfall_value_usd`` (lost -
    redirectable), ``own_exports_usd`` (the importer's own exports of the product, a cushion),
    ``kept_value_usd`` (imports - lost), and per product ``shared_spare_usd`` (the pool:
    ``redirect_fraction`` times the sales of exporters no shock names to importers no shock
    hits) and ``total_lost_usd`` (the losses of every importer hit, the claims on the pool).
    Only rows with a loss are returned.
    """
    shocks = (shocks,) if isinstance(shocks, ResolvedShock) else tuple(shocks)
    if not shocks:
        raise InputError("no shock to apply", hint="pass at least one resolved shock")
    if not 0 <= redirect_fraction <= 1:
        raise InputError(
            f"redirect_fraction {redirect_fraction!r} is not in [0, 1]", field="redirect_fraction"
        )
    check_allocation(allocation)
    codes = sorted({code for shock in shocks for code in shock.products})
    year_flows = positive(flows)
    year_flows = year_flows.filter(year_flows.year == year, year_flows["product"].isin(codes))
    cut = cut_fraction(shocks, year_flows.exporter, year_flows.importer, year_flows["product"])
    named = _named_supplier(shocks, year_flows.exporter, year_flows["product"])
    marked = year_flows.mutate(cut=cut, named=named, lost=year_flows.value_usd * cut)
    # Window sums rather than aggregates joined back (see analysis/stress.py).
    marked = marked.mutate(
        importer_lost=marked.lost.sum().over(group_by=["importer", "product"]),
        total_lost=marked.lost.sum().over(group_by=["product"]),
    )
    unaffected = ~marked.named & (marked.importer_lost == 0)
    available = unaffected.ifelse(marked.value_usd, 0.0)
    marked = marked.mutate(pool=available.sum().over(group_by=["product"]) * redirect_fraction)
    per_import = marked.group_by(list(IMPACT_KEY)).aggregate(
        import_value_usd=marked.value_usd.sum(),
        lost_value_usd=marked.lost.sum(),
        lost_quantity_t=(marked.quantity_t.fill_null(0.0) * marked.cut).sum(),
        shared_spare_usd=marked.pool.max(),
        total_lost_usd=marked.total_lost.max(),
    )
    hit = per_import.filter(per_import.lost_value_usd > 0)
    totals = exporter_totals(year_flows)
    own = totals.select("year", importer=totals.exporter, product=totals["product"], own=totals.x)
    joined = attach(hit, own, IMPACT_KEY)
    redirectable = shared_redirect(
        joined.lost_value_usd, joined.shared_spare_usd, joined.total_lost_usd, allocation
    )
    return joined.select(
        *IMPACT_KEY,
        import_value_usd=joined.import_value_usd,
        lost_value_usd=joined.lost_value_usd,
        lost_quantity_t=joined.lost_quantity_t,
        lost_share=joined.lost_value_usd / joined.import_value_usd,
        redirectable_value_usd=redirectable,
        shortfall_value_usd=joined.lost_value_usd - redirectable,
        own_exports_usd=joined.own.fill_null(0.0),
        kept_value_usd=joined.import_value_usd - joined.lost_value_usd,
        shared_spare_usd=joined.shared_spare_usd,
        total_lost_usd=joined.total_lost_usd,
    )


def shared_redirect(
    lost: ir.FloatingValue,
    pool: ir.FloatingValue,
    total_lost: ir.FloatingValue,
    allocation: str = "pro_rata",
) -> ir.FloatingValue:
    """An importer's part of a product's spare ``pool`` when importers hit lose ``total_lost``.

    ``pro_rata``: ``lost * min(1, pool / total_lost)``, so the parts never add up to more than
    the pool and every importer keeps the same share of its loss. ``per_importer``:
    ``min(lost, pool)``, the optimistic bound of an importer alone in claiming the pool.
    """
    check_allocation(allocation)
    if allocation == "per_importer":
        return ibis.least(lost, pool)
    share = (total_lost > 0).ifelse(ibis.least(1.0, pool / total_lost), 0.0)
    return lost * share


def check_allocation(allocation: str) -> None:
    """Refuse an allocation rule that is not one of ``ALLOCATIONS``."""
    if allocation not in ALLOCATIONS:
        raise InputError(
            f"unknown allocation {allocation!r}",
            field="allocation",
            hint=f"use {' or '.join(ALLOCATIONS)}",
        )


def _named_supplier(
    shocks: Sequence[ResolvedShock], exporter: ir.StringValue, product: ir.StringValue
) -> ir.BooleanValue:
    """Whether a shock on ``product`` names ``exporter`` as its supplier (whoever it cuts)."""
    named = [exporter.isin(list(s.members)) & product.isin(list(s.products)) for s in shocks]
    result = named[0]
    for other in named[1:]:
        result = result | other
    return result


def scenario_impact(
    flows: ir.Table,
    scenario: Scenario,
    *,
    year: int,
    classification: str,
    redirect_fraction: float = DEFAULT_REDIRECT_FRACTION,
    allocation: str = "pro_rata",
    by_member: bool = False,
) -> ir.Table:
    """:func:`direct_impact` of every shock of ``scenario``, products read in ``classification``.

    ``flows`` must name group importers as the scenario does (grouped), unless ``by_member``.
    """
    return direct_impact(
        flows,
        year,
        scenario.resolve(classification, by_member=by_member),
        redirect_fraction=redirect_fraction,
        allocation=allocation,
    )


def impact_by_sector(
    impact: ir.Table, classification: str, sector_dirs: Sequence[Path] = ()
) -> ir.Table:
    """Per (year, importer, sector): the impact of :func:`direct_impact` summed over products.

    A product in several sectors counts in each, so sector rows do not add up to the country
    total. Products in no sector (built-in or in ``sector_dirs``) are left out. Columns as
    :func:`impact_by_country`.
    """
    sectors = sector_table(classification, extra_dirs=sector_dirs)[["product", "sector"]]
    if sectors.empty:
        raise InputError(
            f"no sector has a {classification} list", hint="use HS92, HS12, HS17 or HS22 data"
        )
    membership = ibis.memtable(sectors)
    joined = impact.join(membership, "product")
    return _summed(joined, ["year", "importer", "sector"])


def impact_by_country(impact: ir.Table) -> ir.Table:
    """Per (year, importer): the impact of :func:`direct_impact` summed over products.

    Columns: ``import_value_usd`` (imports of the hit products), ``lost_value_usd``,
    ``redirectable_value_usd``, ``shortfall_value_usd``, ``lost_share`` and
    ``shortfall_share`` (of those imports) and ``n_products``.
    """
    return _summed(impact, ["year", "importer"])


def _summed(impact: ir.Table, keys: list[str]) -> ir.Table:
    """Value columns of an impact table summed by ``keys``, with shares of imports."""
    summed = impact.group_by(keys).aggregate(
        import_value_usd=impact.import_value_usd.sum(),
        lost_value_usd=impact.lost_value_usd.sum(),
        redirectable_value_usd=impact.redirectable_value_usd.sum(),
        shortfall_value_usd=impact.shortfall_value_usd.sum(),
        n_products=impact["product"].nunique(),
    )
    return summed.mutate(
        lost_share=summed.lost_value_usd / summed.import_value_usd,
        shortfall_share=summed.shortfall_value_usd / summed.import_value_usd,
    )
