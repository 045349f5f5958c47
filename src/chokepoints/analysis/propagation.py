"""Propagation of a supply shock along curated value chains (see docs/methods/value_chains.md).

A shock on some HS6 products (a supplier stops exporting them) puts at risk every product
downstream of them in a value chain (:mod:`chokepoints.reference.chains`), and every country
that produces those products. The graph work is done in networkx on the small chain graph;
the trade side is a portable Ibis expression (DuckDB or Spark): a country's exports of a
product stand in for its production, its imports of the shocked inputs for its exposure.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection

import ibis
import ibis.expr.types as ir
import networkx as nx
import pandas as pd

from chokepoints.analysis.concentration import attach, exporter_totals, positive
from chokepoints.errors import InputError

_HS6 = re.compile(r"\d{6}")

_AT_RISK_SCHEMA = ibis.schema(
    {
        "product": "string",
        "label": "string",
        "stage": "string",
        "depth": "int64",
        "upstream": "string",
        "direct_inputs": "string",
        "path": "string",
    }
)
_LINKS_SCHEMA = ibis.schema(
    {"at_risk_product": "string", "input": "string", "shocked": "boolean", "direct": "boolean"}
)


def downstream_at_risk(
    chain_graph: nx.DiGraph, shocked_products: Collection[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """Every product downstream of a shocked one, with the shortest path that explains why.

    Returns ``(product, path)`` pairs sorted by path length then product; ``path`` runs from
    the nearest shocked product to ``product`` (``("284690", "280530", "850511")``). Ties
    between equally short paths go to the smallest codes, so the answer is reproducible.
    Shocked products are hit directly and are not listed; shocked codes outside the chain
    mark nothing.
    """
    shocked = _checked_products(shocked_products)
    sources = sorted(code for code in shocked if code in chain_graph)
    parent: dict[str, str | None] = dict.fromkeys(sources)
    queue = deque(sources)
    while queue:
        code = queue.popleft()
        for successor in sorted(chain_graph.successors(code)):
            if successor not in parent:
                parent[successor] = code
                queue.append(successor)
    at_risk = []
    for code in parent:
        if code in shocked:
            continue
        path = [code]
        while (previous := parent[path[-1]]) is not None:
            path.append(previous)
        at_risk.append((code, tuple(reversed(path))))
    return sorted(at_risk, key=lambda item: (len(item[1]), item[0]))


def exposed_producers(
    flows: ir.Table,
    chain_graph: nx.DiGraph,
    shocked_products: Collection[str],
    year: int,
    *,
    min_export_share: float = 0.0,
    suppliers: Collection[str] | None = None,
) -> ir.Table:
    """Per (country, product) downstream of the shock: what it produces and how exposed it is.

    ``flows`` is a flows table (``year, exporter, importer, product, value_usd, quantity_t``)
    in the revision of ``chain_graph``. A country counts as a producer of an at-risk product
    when it exports it in ``year`` (exports as the production signal) with at least
    ``min_export_share`` of world exports. Columns:

    * ``year, country, product, label, stage``;
    * ``depth``: steps from the nearest shocked product; ``path``: why the product is at risk,
      e.g. ``"850511 permanent magnets <- 280530 rare-earth metals"``;
    * ``upstream``: every shocked product upstream of it, comma-separated;
    * ``exports_usd`` and ``export_share`` (of world exports of the product);
    * ``input_imports_usd``: the country's imports of the ``upstream`` products;
    * ``direct_inputs``: the product's immediate inputs that are shocked or at risk, and
      ``direct_input_imports_usd`` the country's imports of them (magnet makers importing
      rare-earth metals when rare-earth compounds are shocked);
    * with ``suppliers``: ``input_imports_from_suppliers_usd`` (those imports that come from the
      shocked suppliers) and ``input_supplier_share`` (their share; null without imports).

    Sorted by product, then exports (largest first) and country.
    """
    if not 0.0 <= min_export_share <= 1.0:
        raise InputError(
            f"min_export_share must be between 0 and 1, not {min_export_share}",
            field="min_export_share",
        )
    at_risk, links = _at_risk_tables(chain_graph, shocked_products)
    flows = positive(flows.filter(flows.year == year))

    totals = exporter_totals(flows)
    totals = totals.mutate(export_share=totals.x / totals.x.sum().over(group_by="product"))
    producers = totals.join(at_risk, "product")
    producers = producers.filter(producers.export_share >= min_export_share).select(
        "year",
        country=producers.exporter,
        product=producers["product"],
        label=producers.label,
        stage=producers.stage,
        depth=producers.depth,
        path=producers.path,
        upstream=producers.upstream,
        direct_inputs=producers.direct_inputs,
        exports_usd=producers.x,
        export_share=producers.export_share,
    )

    inputs = flows.join(links, flows["product"] == links.input)
    imported = {
        "input_imports_usd": inputs.value_usd.sum(where=inputs.shocked),
        "direct_input_imports_usd": inputs.value_usd.sum(where=inputs.direct),
    }
    if suppliers is not None:
        from_suppliers = inputs.shocked & inputs.exporter.isin(sorted(suppliers))
        imported["input_imports_from_suppliers_usd"] = inputs.value_usd.sum(where=from_suppliers)
    imports = inputs.group_by(country=inputs.importer, product=inputs.at_risk_product).aggregate(
        **imported
    )

    result = attach(producers, imports, ["country", "product"])
    filled = {name: result[name].fill_null(0.0) for name in imported}
    result = result.mutate(**filled)
    if suppliers is not None:
        result = result.mutate(
            input_supplier_share=result.input_imports_from_suppliers_usd
            / result.input_imports_usd.nullif(0.0)
        )
    return result.order_by(["product", ibis.desc("exports_usd"), "country"])


def _at_risk_tables(
    chain_graph: nx.DiGraph, shocked_products: Collection[str]
) -> tuple[ir.Table, ir.Table]:
    """Memtables of the at-risk products and of the inputs whose imports measure exposure.

    The first has the columns of ``_AT_RISK_SCHEMA``; the second one row per (at-risk product,
    input) where the input is a shocked product upstream of it (``shocked``) or an immediate
    input that is shocked or at risk (``direct``), or both.
    """
    shocked = _checked_products(shocked_products)
    found = downstream_at_risk(chain_graph, shocked)
    hit = shocked | {product for product, _ in found}
    rows: list[tuple[str, str, str, int, str, str, str]] = []
    links: list[tuple[str, str, bool, bool]] = []
    for product, path in found:
        upstream = shocked & nx.ancestors(chain_graph, product)
        direct = hit & set(chain_graph.predecessors(product))
        node = chain_graph.nodes[product]
        rows.append(
            (
                product,
                node["label"],
                node["stage"],
                len(path) - 1,
                ", ".join(sorted(upstream)),
                ", ".join(sorted(direct)),
                _path_text(chain_graph, path),
            )
        )
        links.extend(
            (product, code, code in upstream, code in direct) for code in sorted(upstream | direct)
        )
    at_risk = pd.DataFrame(rows, columns=list(_AT_RISK_SCHEMA.names))
    link_frame = pd.DataFrame(links, columns=list(_LINKS_SCHEMA.names))
    return (
        ibis.memtable(at_risk, schema=_AT_RISK_SCHEMA),
        ibis.memtable(link_frame, schema=_LINKS_SCHEMA),
    )


def _path_text(chain_graph: nx.DiGraph, path: tuple[str, ...]) -> str:
    """``path`` from the product back to the shock: ``"850511 magnets <- 280530 metals"``."""
    return " <- ".join(f"{code} {chain_graph.nodes[code]['label']}" for code in reversed(path))


def _checked_products(products: Collection[str]) -> set[str]:
    """The shocked products as a set; InputError when empty or not 6-digit codes."""
    if isinstance(products, str) or not products:
        raise InputError(
            "shocked_products must be a non-empty collection of HS6 codes",
            field="shocked_products",
            hint='pass e.g. {"284690"}',
        )
    bad = sorted(
        str(code) for code in products if not (isinstance(code, str) and _HS6.fullmatch(code))
    )
    if bad:
        raise InputError(
            f"{', '.join(bad)} not 6-digit HS codes",
            field="shocked_products",
            hint='write codes as quoted text that keeps leading zeros, e.g. "030617"',
        )
    return set(products)
