"""Look-through origin: where an importer's supply of a chain product really comes from.

Trade shows the last border crossing. Following METHODS.md ("Look-through origin along a value
chain") and the proportionality assumption of OECD TiVA and Baldwin, Freeman & Theodorakopoulos
(2023), a supplier's exports of a product embody the origin mix of its own supply of the chain's
input. For importer ``m``, product ``p`` and the inputs ``u1 <- u2 <- ...`` upstream of it:

* ``a_m(s)``: supplier ``s``'s share of ``m``'s imports of ``p`` (the direct shares);
* ``S_u(s, o)``: the mix of ``s``'s supply of ``u``: its imports of ``u`` from ``o`` and its own
  domestic supply ``D_s`` (production where held, else its exports of ``u``, a lower bound),
  divided by their sum. A country with no supply of ``u`` at all in the data is its own origin;
* the effective shares at depth ``k``: ``E_m = a_m . S_u1 . S_u2 ... S_uk`` (depth 0: direct).

Shares are row-stochastic at every step, so the effective shares of an importer sum to 1. The
functions work on small pandas frames (the flows of a few products), one step a merge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

#: Columns of :func:`look_through`'s result.
UPSTREAM_COLUMNS = ["importer", "origin", "direct_share", "effective_share", "paths"]

#: Paths listed per (importer, origin), the heaviest first.
TOP_PATHS = 3


def import_shares(flows: pd.DataFrame) -> pd.DataFrame:
    """Per importer: each supplier's share of its imports (columns importer, supplier, share)."""
    grouped = flows.groupby(["importer", "exporter"], as_index=False)["value_usd"].sum()
    grouped = grouped[grouped["value_usd"] > 0]
    total = grouped.groupby("importer")["value_usd"].transform("sum")
    return pd.DataFrame(
        {
            "importer": grouped["importer"],
            "supplier": grouped["exporter"],
            "share": grouped["value_usd"] / total,
        }
    )


def supply_mix(
    input_flows: pd.DataFrame, domestic: pd.Series, countries: Sequence[str]
) -> pd.DataFrame:
    """The origin mix of each of ``countries``' supply of one input.

    ``input_flows`` are the input's flows (exporter, importer, value_usd); ``domestic`` the
    countries' own supply of it (production, or exports as a lower bound), indexed by country.
    Columns: country, origin, share (summing to 1 per country); a country with no supply at
    all in the data is its own origin.
    """
    imports = input_flows[input_flows["importer"].isin(list(countries))]
    parts = [
        pd.DataFrame(
            {
                "country": imports["importer"],
                "origin": imports["exporter"],
                "value": imports["value_usd"],
            }
        ),
        pd.DataFrame(
            {"country": domestic.index, "origin": domestic.index, "value": domestic.to_numpy()}
        ),
    ]
    supply = pd.concat(parts, ignore_index=True)
    supply = supply[supply["country"].isin(list(countries)) & (supply["value"] > 0)]
    supply = supply.groupby(["country", "origin"], as_index=False)["value"].sum()
    supply["share"] = supply["value"] / supply.groupby("country")["value"].transform("sum")
    missing = sorted(set(countries) - set(pd.unique(supply["country"])))
    own = pd.DataFrame({"country": missing, "origin": missing, "share": 1.0})
    mix = pd.concat([supply.drop(columns="value"), own], ignore_index=True)
    return mix[["country", "origin", "share"]]


#: Economies treated as transit hubs for every product (ports and re-export centres).
HUBS = ("NLD", "BEL", "SGP", "HKG", "ARE")
#: An economy whose imports of a product cover at least this share of its exports of it is a
#: hub for that product too.
HUB_COVERAGE = 0.8
#: Hubs followed one after the other when one re-exports what it bought from another.
TRANSIT_STEPS = 3


def transit_mix(flows: pd.DataFrame, hubs: Sequence[str] = HUBS) -> tuple[pd.DataFrame, list[str]]:
    """The supply mix of one product's transit hubs, for origin-corrected shares.

    A hub is one of ``hubs`` or any economy whose imports of the product cover at least
    ``HUB_COVERAGE`` of its exports of it. Its re-exports are estimated as ``min(M, X)`` and
    carry the origin mix of its imports; the rest of its exports, ``max(X - M, 0)``, is its
    own. Returns the mix of the hubs (other countries are their own origin) and their codes.
    """
    imports = flows.groupby("importer")["value_usd"].sum()
    exports = flows.groupby("exporter")["value_usd"].sum()
    covered = (imports.reindex(exports.index).fillna(0.0) / exports) >= HUB_COVERAGE
    found = sorted((set(hubs) & set(exports.index)) | set(covered[covered].index))
    own = (exports.reindex(found).fillna(0.0) - imports.reindex(found).fillna(0.0)).clip(lower=0.0)
    return supply_mix(flows, own, found), found


#: Metric tons in one unit of a production table, by the start of the unit as published.
TONNES_PER_UNIT = {
    "million metric tons": 1e6,
    "thousand metric tons": 1e3,
    "metric tons": 1.0,
    "kilograms": 1e-3,
}


def tonnes_per(unit: str) -> float | None:
    """Metric tons in one ``unit`` (``thousand metric tons`` -> 1000; ``metric tons, REO
    equivalent`` -> 1); None for a unit that is not a mass (carats, flasks...)."""
    text = unit.strip().casefold()
    return next((f for name, f in TONNES_PER_UNIT.items() if text.startswith(name)), None)


def unit_value(input_flows: pd.DataFrame) -> float | None:
    """The world unit value of an input's trade, USD per metric ton, over the flows that give a
    quantity; None when none does (production cannot then be valued)."""
    known = input_flows[input_flows["quantity_t"].notna() & (input_flows["quantity_t"] > 0)]
    if known.empty:
        return None
    return float(known["value_usd"].sum() / known["quantity_t"].sum())


#: Relative difference between the importer's and the exporter's report of one flow beyond
#: which the gap is flagged (CIF/FOB margins alone are about 5-10%).
MIRROR_TOLERANCE = 0.25


def mirror_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """Per flow (exporter, importer) reported by both sides or one (``rows``: exporter,
    importer, reporter_side, value_usd): the value each side reports, their ratio (importer
    over exporter) and a flag: the side missing, or the gap when it exceeds
    ``MIRROR_TOLERANCE``, else empty."""
    sides = rows[rows["reporter_side"].isin(["importer", "exporter"])]
    table = sides.pivot_table(
        index=["exporter", "importer"],
        columns="reporter_side",
        values="value_usd",
        aggfunc="sum",
    ).reindex(columns=["importer", "exporter"])
    result = pd.DataFrame(
        {
            "importer_reported_usd": table["importer"],
            "exporter_reported_usd": table["exporter"],
        }
    ).reset_index()
    result["mirror_ratio"] = result["importer_reported_usd"] / result["exporter_reported_usd"]
    gap = result["mirror_ratio"] - 1.0
    result["mirror_flag"] = [
        "only the exporter reports" if pd.isna(m) else
        "only the importer reports" if pd.isna(x) else
        f"gap {g:+.0%}" if abs(g) > MIRROR_TOLERANCE else ""
        for m, x, g in zip(result["importer_reported_usd"], result["exporter_reported_usd"], gap,
                           strict=True)
    ]  # fmt: skip
    return result


class Origins:
    """Effective origins of products from one set of flows (exporter, importer, product,
    value_usd): the flows split by product, the countries and each input's supply mix are made
    once, however many products are asked about (a report asks about a hundred). Each input's
    domestic supply is ``domestic[code]`` (USD by country, e.g. valued production) when given,
    else its exports (a lower bound)."""

    def __init__(
        self, flows: pd.DataFrame, domestic: Mapping[str, pd.Series] | None = None
    ) -> None:
        self._flows = flows
        self._none = flows.iloc[0:0]
        self._by_product = dict(iter(flows.groupby("product", sort=False)))
        self._countries = sorted(pd.unique(pd.concat([flows["exporter"], flows["importer"]])))
        self._domestic = domestic or {}
        self._mixes: dict[str, pd.DataFrame | None] = {}

    def _mix(self, code: str) -> pd.DataFrame | None:
        """The supply mix of input ``code``; None when the flows hold none of it."""
        if code not in self._mixes:
            mine = self._by_product.get(code, self._none)
            mix = None
            if not mine.empty:
                own = self._domestic.get(code)
                if own is None:
                    own = mine.groupby("exporter")["value_usd"].sum()
                mix = supply_mix(mine, own, self._countries)
            self._mixes[code] = mix
        return self._mixes[code]

    def of(
        self,
        product: str,
        path: Sequence[str],
        *,
        importers: Sequence[str] | None = None,
        with_paths: bool = True,
    ) -> pd.DataFrame:
        """:func:`look_through` of ``product`` via the inputs of ``path`` (nearest first) for
        ``importers`` (all when None); an input with no flows is skipped (its step taken at
        face value)."""
        flows = self._by_product.get(product, self._none)
        if importers is not None:
            # Shares are per importer: those of the importers asked, from their flows alone.
            flows = flows[flows["importer"].isin(list(importers))]
        direct = import_shares(flows)
        mixes = [mix for mix in map(self._mix, path) if mix is not None]
        return look_through(direct, mixes, with_paths=with_paths)

    def tops(self, importer: str, paths: Mapping[str, Sequence[str]]) -> pd.DataFrame:
        """Each product's heaviest effective origin for ``importer``, via the inputs of its path
        in ``paths`` (product -> path, as :meth:`of`): one :func:`look_through` per distinct
        path with the products as its rows, not one per product (a report asks about a
        hundred). Columns product, origin, effective_share; products not bought are left out."""
        mine = self._flows[
            (self._flows["importer"] == importer) & self._flows["product"].isin(list(paths))
        ]
        # import_shares per product: the product stands where the importer would.
        direct = import_shares(
            pd.DataFrame(
                {
                    "importer": mine["product"],
                    "exporter": mine["exporter"],
                    "value_usd": mine["value_usd"],
                }
            )
        )
        groups: dict[tuple[str, ...], list[str]] = {}
        for product in sorted(set(direct["importer"])):
            groups.setdefault(tuple(paths[product]), []).append(product)
        found = []
        for path, products in groups.items():
            mixes = [mix for mix in map(self._mix, path) if mix is not None]
            rows = direct[direct["importer"].isin(products)]
            # look_through orders each row by effective share, ties by origin: its first.
            top = look_through(rows, mixes, with_paths=False).drop_duplicates("importer")
            found.append(top)
        columns = ["product", "origin", "effective_share"]
        if not found:
            return pd.DataFrame(columns=columns)
        return pd.concat(found, ignore_index=True).rename(columns={"importer": "product"})[columns]


def effective_origins(
    flows: pd.DataFrame,
    product: str,
    path: Sequence[str],
    *,
    importers: Sequence[str] | None = None,
    with_paths: bool = True,
    domestic: Mapping[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """:func:`look_through` of one ``product`` via the inputs of ``path`` (see ``Origins``)."""
    return Origins(flows, domestic).of(product, path, importers=importers, with_paths=with_paths)


def look_through(
    direct: pd.DataFrame, mixes: Sequence[pd.DataFrame], *, with_paths: bool = True
) -> pd.DataFrame:
    """Effective origin shares of each importer through the supply ``mixes`` of its inputs.

    ``direct``: importer, supplier, share (the importers' direct shares of the product).
    ``mixes``: one :func:`supply_mix` per step upstream, nearest input first (empty: depth 0).
    Returns one row per (importer, origin): the origin's direct share (0 when it does not sell
    the product to the importer itself), its effective share, and (``with_paths``) the
    heaviest paths that carry it, written origin first (``CHN -> VNM -> JPN``). The shares are
    products of sparse matrices; paths keep the heaviest few per origin at every step.
    """
    from scipy import sparse

    columns = [direct["supplier"], *(m[c] for m in mixes for c in ("country", "origin"))]
    names = sorted(pd.unique(pd.concat(columns, ignore_index=True)))
    buyers = sorted(pd.unique(direct["importer"]))
    shape = (len(names), len(names))
    rows = _codes(direct["importer"], buyers)
    found = sparse.csr_matrix(
        (direct["share"].to_numpy(dtype=float), (rows, _codes(direct["supplier"], names))),
        shape=(len(buyers), len(names)),
    )
    effective = found
    for mix in mixes:
        countries = _codes(mix["country"], names)
        step = sparse.csr_matrix(
            (mix["share"].to_numpy(dtype=float), (countries, _codes(mix["origin"], names))),
            shape=shape,
        )
        # A country absent from the mix (no data at all) is its own origin.
        absent = np.setdiff1d(np.arange(len(names)), countries)
        effective = effective @ (
            step + sparse.csr_matrix((np.ones(len(absent)), (absent, absent)), shape=shape)
        )
    both = [effective.tocoo(), found.tocoo()]
    cells = pd.DataFrame(
        {
            "row": np.concatenate([m.row for m in both]),
            "col": np.concatenate([m.col for m in both]),
            "effective_share": np.concatenate([both[0].data, np.zeros(both[1].nnz)]),
            "direct_share": np.concatenate([np.zeros(both[0].nnz), both[1].data]),
        }
    )
    cells = cells.groupby(["row", "col"], as_index=False).sum()
    cells = cells.sort_values(["row", "effective_share"], ascending=[True, False])
    result = pd.DataFrame(
        {
            "importer": np.asarray(buyers, dtype=object)[cells["row"].to_numpy()],
            "origin": np.asarray(names, dtype=object)[cells["col"].to_numpy()],
            "direct_share": cells["direct_share"].to_numpy(),
            "effective_share": cells["effective_share"].to_numpy(),
        }
    )
    if with_paths:
        carried = heaviest_paths(direct, mixes)
        result["paths"] = [
            carried.get(key, []) for key in zip(result["importer"], result["origin"], strict=True)
        ]
    else:
        result["paths"] = None
    return result[UPSTREAM_COLUMNS]


def _codes(values: pd.Series, names: Sequence[str]) -> np.ndarray:
    """Positions of ``values`` in the sorted ``names`` (fast integer codes for the matrices)."""
    return pd.Categorical(values, categories=names).codes.astype(np.int64)


def heaviest_paths(
    direct: pd.DataFrame, mixes: Sequence[pd.DataFrame]
) -> dict[tuple[str, str], list[str]]:
    """(importer, origin) -> the ``TOP_PATHS`` heaviest paths from the origin to the importer.

    Paths are followed step by step, keeping the heaviest few per (importer, origin) at each
    step (a beam), so that a dense world does not multiply them out.
    """
    chains = pd.DataFrame(
        {
            "importer": direct["importer"],
            "origin": direct["supplier"],
            "weight": direct["share"],
            "path": direct["supplier"] + " -> " + direct["importer"],
        }
    )
    for mix in mixes:
        stepped = chains.merge(mix, left_on="origin", right_on="country", suffixes=("", "_up"))
        own = stepped["origin_up"] == stepped["origin"]
        stepped = pd.DataFrame(
            {
                "importer": stepped["importer"],
                "origin": stepped["origin_up"],
                "weight": stepped["weight"] * stepped["share"],
                # A country supplying itself adds no hop to the path.
                "path": stepped["path"].where(own, stepped["origin_up"] + " -> " + stepped["path"]),
            }
        )
        # Countries absent from the mix are their own origin: their paths carry on as they are.
        kept = chains[~chains["origin"].isin(set(mix["country"]))]
        chains = pd.concat([stepped, kept], ignore_index=True)
        chains = chains.groupby(["importer", "origin", "path"], as_index=False)["weight"].sum()
        chains = chains.sort_values("weight", ascending=False)
        chains = chains.groupby(["importer", "origin"], sort=False).head(TOP_PATHS)
    return {
        key: list(group["path"])
        for key, group in chains.sort_values("weight", ascending=False).groupby(
            ["importer", "origin"], sort=False
        )
    }
