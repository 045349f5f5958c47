"""Curated value chains: HS6 products linked input -> output, per HS revision, from TOML files.

Each built-in chain is one file ``reference/chains/<id>.toml``::

    id = "solar_pv"                     # the file name without .toml
    name = "Solar photovoltaics"
    description = "..."
    sources = ["where the stages come from", "how the codes were chosen"]
    revisions = ["HS17", "HS22"]        # the HS revisions every node has codes for
    edges = [                           # input -> output, between node ids
        "polysilicon -> wafers",
    ]
    [nodes.polysilicon]                 # one table per node (a step of the chain)
    label = "polysilicon"
    stage = "refined"                   # ore, refined, component, equipment or final
    codes = ["280461"]                  # the same HS6 codes in every revision, or one
                                        # list per revision: { HS17 = [...], HS22 = [...] }
    [nodes.silicon_plants]              # a production node: no codes, a commodity of the
    label = "silicon production"        # production table and its production stage
    stage = "ore"
    production = { commodity = "silicon", stage = "plant" }

A node is a step of the chain; its HS6 codes may differ between revisions. A production node
stands for the mines, refineries or plants of a mineral commodity (``production`` table ids,
stages mine, refinery, smelter, plant or primary): it has no codes, so it is not in the trade
graph, and it may only be an input (production starts a chain). The graph's code nodes record
the production that feeds them (``production`` attribute). The graph of one
revision (:meth:`ValueChain.graph`) has the HS6 codes as nodes: an edge between two steps links
every code of the input step to every code of the output step. Two steps with the same code
in a revision become one node there (HS2017 has one code, 854140, for photovoltaic cells and
modules), and the step between them, inside one code, is not an edge. A value chain is a DAG:
cycles between steps, or between codes once merged, are errors.

Users add chains as TOML files of the same shape in folders passed as ``extra_dirs``; a user
file whose id is that of a built-in chain replaces it, and a later folder an earlier one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypedDict

import networkx as nx
import pandas as pd

from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.hs_revisions import CodeConversion, convert_codes, nearest_revision
from chokepoints.reference.toml_files import packaged_files, parse_toml, read_text
from chokepoints.schema import HS_REVISIONS

#: ``ValueChain.origin`` of the chains shipped with chokepoints.
BUILTIN = "built-in"

#: Stages of a value chain, upstream first.
STAGES = ("ore", "refined", "component", "equipment", "final")

_REQUIRED_KEYS = ("id", "name", "description", "sources", "revisions", "edges", "nodes")
_NODE_KEYS = ("label", "stage", "codes")
_PRODUCTION_NODE_KEYS = ("label", "stage", "production")
#: Stages of the production table a production node may name.
PRODUCTION_STAGES = ("mine", "refinery", "smelter", "plant", "primary")
_ID = re.compile(r"[a-z][a-z0-9_]*")
_HS6 = re.compile(r"\d{6}")
_EDGE = re.compile(r"\s*([a-z][a-z0-9_]*)\s*->\s*([a-z][a-z0-9_]*)\s*")


@dataclass(frozen=True)
class ChainNode:
    """One step of a value chain: its label, stage and HS6 codes per revision, or (a
    production node, no codes) the (commodity, production stage) it stands for."""

    id: str
    label: str
    stage: str
    codes: dict[str, tuple[str, ...]]
    production: tuple[str, str] | None = None


@dataclass(frozen=True)
class ValueChain:
    """One chain file, checked: steps, input -> output edges between them, and provenance.

    ``origin`` is ``BUILTIN`` or the path of the user file; ``file`` is the name used in error
    messages. ``conversions`` (step id -> conversion) is filled in a chain converted to a
    revision its file has no codes for (:meth:`in_revision`).
    """

    id: str
    name: str
    description: str
    sources: tuple[str, ...]
    revisions: tuple[str, ...]
    nodes: dict[str, ChainNode]
    edges: tuple[tuple[str, str], ...]
    origin: str
    file: str
    conversions: dict[str, CodeConversion] = field(default_factory=dict)

    def in_revision(self, classification: str) -> ValueChain:
        """The chain with codes in ``classification``: itself when its file has them, else its
        codes in the nearest revision it has, converted step by step with the UNSD correlation
        tables (``hs_revisions.convert_codes``; ``conversions`` says how)."""
        revision = classification.strip().upper()
        if revision in self.revisions or revision not in HS_REVISIONS:
            return self
        return _converted(self, revision)

    def conversion_note(self) -> str | None:
        """One sentence on the conversion of a converted chain, None for one as written."""
        if not self.conversions:
            return None
        first = next(iter(self.conversions.values()))
        approximate = sorted(
            {code for c in self.conversions.values() for code in (*c.partial, *c.dropped)}
        )
        text = (
            f"chain {self.id}: {first.from_rev} codes converted to {first.to_rev} with the UNSD "
            "correlation tables"
        )
        if approximate:
            shown = ", ".join(approximate[:5]) + (" ..." if len(approximate) > 5 else "")
            text += f"; approximate where codes also hold other goods or were left out ({shown})"
        return text

    def ordered_steps(self) -> list[ChainNode]:
        """The steps upstream first: a topological order of the edges, ties by stage and id."""
        graph = nx.DiGraph(self.edges)
        graph.add_nodes_from(self.nodes)
        order = nx.lexicographical_topological_sort(
            graph, key=lambda node: (STAGES.index(self.nodes[node].stage), node)
        )
        return [self.nodes[node] for node in order]

    def graph(self, classification: str) -> nx.DiGraph:
        """The chain in one HS revision: a DAG of HS6 codes, edges input -> output.

        Node attributes: ``label`` and ``stage`` (joined with ``" + "`` and ``"/"`` when several
        steps share the code), ``steps`` (the step ids) and ``production`` (the (commodity,
        stage) pairs of the production nodes that feed it). Graph attributes: ``chain`` and
        ``classification``. Raises ``InputError`` when the chain has no list for the revision
        or when merged codes form a cycle.
        """
        revision = classification.strip().upper()
        if revision not in self.revisions:
            raise InputError(
                f"chain {self.id} has no {revision} codes",
                file=self.file,
                field="revisions",
                hint=f"it has codes for {', '.join(self.revisions)}",
            )
        graph = nx.DiGraph(chain=self.id, classification=revision)
        steps: dict[str, list[ChainNode]] = {}
        for node in self.nodes.values():
            for code in node.codes[revision]:
                steps.setdefault(code, []).append(node)
        for code in sorted(steps):
            nodes = steps[code]
            stages = sorted({node.stage for node in nodes}, key=STAGES.index)
            graph.add_node(
                code,
                label=" + ".join(node.label for node in nodes),
                stage="/".join(stages),
                steps=tuple(node.id for node in nodes),
                production=(),
            )
        for source, target in self.edges:
            made = self.nodes[source].production
            if made is not None:
                for code in self.nodes[target].codes[revision]:
                    graph.nodes[code]["production"] += (made,)
                continue
            for a in self.nodes[source].codes[revision]:
                for b in self.nodes[target].codes[revision]:
                    if a != b:
                        graph.add_edge(a, b)
        if not nx.is_directed_acyclic_graph(graph):
            cycle = [a for a, _ in nx.find_cycle(graph)]
            raise InputError(
                f"in {revision}, codes form a cycle: {' -> '.join([*cycle, cycle[0]])}",
                file=self.file,
                hint="steps with the same code merge into one node; give them distinct codes",
            )
        return graph


def _converted(chain: ValueChain, revision: str) -> ValueChain:
    """``chain`` with every code step converted from its nearest revision to ``revision``."""
    nearest = nearest_revision(revision, chain.revisions) or chain.revisions[0]
    nodes, conversions = {}, {}
    for node_id, node in chain.nodes.items():
        if node.production is not None:
            nodes[node_id] = replace(node, codes={revision: ()})
            continue
        conversion = convert_codes(node.codes[nearest], nearest, revision)
        conversions[node_id] = conversion
        nodes[node_id] = replace(node, codes={revision: conversion.codes})
    return replace(chain, revisions=(revision,), nodes=nodes, conversions=conversions)


def list_chains(extra_dirs: Sequence[Path | str] | None = None) -> pd.DataFrame:
    """One row per chain, sorted by id: what it is, where it comes from, and its size.

    Columns ``id, name, description, sources`` (a list), ``revisions`` (a list), ``origin``
    and ``n_<revision>`` for every revision any chain has: the number of HS6 codes in its graph,
    ``<NA>`` when the chain has no codes for that revision.
    """
    registry = _registry(extra_dirs)
    revisions = [
        name for name in HS_REVISIONS if any(name in c.revisions for c in registry.values())
    ]
    rows = []
    for chain_id in sorted(registry):
        chain = registry[chain_id]
        row: dict[str, object] = {
            "id": chain.id,
            "name": chain.name,
            "description": chain.description,
            "sources": list(chain.sources),
            "revisions": list(chain.revisions),
            "origin": chain.origin,
        }
        for revision in revisions:
            in_chain = revision in chain.revisions
            row[f"n_{revision}"] = len(chain.graph(revision)) if in_chain else pd.NA
        rows.append(row)
    frame = pd.DataFrame(rows)
    counts = [f"n_{revision}" for revision in revisions]
    frame[counts] = frame[counts].astype("Int64")
    return frame


def chain_graphs(
    classification: str, extra_dirs: Sequence[Path | str] | None = None
) -> dict[str, nx.DiGraph]:
    """Chain id -> its graph in ``classification``, for every chain: those without codes for
    it converted from their nearest revision (``ValueChain.in_revision``)."""
    revision = classification.strip().upper()
    return {
        chain_id: chain.in_revision(revision).graph(revision)
        for chain_id, chain in sorted(_registry(extra_dirs).items())
        if revision in chain.revisions or revision in HS_REVISIONS
    }


def load_chain(chain: str | Path, *, extra_dirs: Sequence[Path | str] | None = None) -> ValueChain:
    """The chain called ``chain`` (built-in or in ``extra_dirs``), or read from a .toml path.

    Raises ``UnknownCodeError`` for an unknown id (listing the known ones) and ``InputError``
    for a file that breaks the format (naming file and line).
    """
    if isinstance(chain, Path) or str(chain).endswith(".toml"):
        return load_chain_file(chain)
    registry = _registry(extra_dirs)
    found = registry.get(chain.strip().lower())
    if found is None:
        raise UnknownCodeError(
            f"unknown value chain {chain!r}", hint=f"known chains: {', '.join(sorted(registry))}"
        )
    return found


def load_chain_file(path: Path | str) -> ValueChain:
    """Read and check one chain file; every problem is an ``InputError`` naming the file.

    Checks: valid TOML, the keys of the format above, an id equal to the file name, known
    revisions and stages, quoted 6-digit codes for every revision, edges between defined
    nodes, and no cycle.
    """
    path = Path(path)
    text = read_text(path, what="chain")
    return _parse_chain(text, file=str(path), stem=path.stem, origin=str(path))


# -- registry --------------------------------------------------------------------------------
@functools.cache
def _builtin_chains() -> dict[str, ValueChain]:
    """The chains shipped in ``reference/chains``, by id."""
    chains = {}
    for name, text in packaged_files("chains"):
        chain = _parse_chain(
            text, file=f"chains/{name}", stem=name.removesuffix(".toml"), origin=BUILTIN
        )
        chains[chain.id] = chain
    return chains


def _registry(extra_dirs: Sequence[Path | str] | None) -> dict[str, ValueChain]:
    """Built-in chains replaced or extended by the ``*.toml`` files of ``extra_dirs``."""
    registry = dict(_builtin_chains())
    for folder in map(Path, extra_dirs or ()):
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise InputError(
                "not a folder of value-chain files",
                file=str(folder),
                hint="pass the folder that holds the <id>.toml files",
            )
        for path in sorted(folder.glob("*.toml")):
            chain = load_chain_file(path)
            registry[chain.id] = chain
    return registry


# -- parsing ---------------------------------------------------------------------------------
def _parse_chain(text: str, *, file: str, stem: str, origin: str) -> ValueChain:
    """Parse and check the text of a chain file named ``file`` (stem ``stem``)."""
    data = parse_toml(text, file=file)
    lines = text.splitlines()
    expected = f"a value-chain file has {', '.join(_REQUIRED_KEYS)}"
    unknown = [key for key in data if key not in _REQUIRED_KEYS]
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(unknown)}",
            file=file,
            line=_line(lines, _key(unknown[0])),
            hint=expected,
        )
    missing = [key for key in _REQUIRED_KEYS if key not in data]
    if missing:
        raise InputError(f"missing key(s) {', '.join(missing)}", file=file, hint=expected)
    chain_id = _text(data, "id", file, lines)
    if not _ID.fullmatch(chain_id) or chain_id != stem:
        raise InputError(
            f"id {chain_id!r} must be the file name {stem}.toml without .toml",
            file=file,
            line=_line(lines, _key("id")),
            field="id",
            hint="use lower-case letters, digits and _, starting with a letter",
        )
    revisions = _revisions(data["revisions"], file, lines)
    nodes = _nodes(data["nodes"], revisions, file, lines)
    edges = _edges(data["edges"], nodes, file, lines)
    feeding = {source for source, _ in edges}
    idle = [n.id for n in nodes.values() if n.production is not None and n.id not in feeding]
    if idle:
        raise InputError(
            f"production node {idle[0]} feeds no step",
            file=file,
            line=_line(lines, rf"\s*\[\s*nodes\.{re.escape(idle[0])}\s*\]"),
            field=f"nodes.{idle[0]}",
            hint=f'add an edge "{idle[0]} -> <step it supplies>"',
        )
    return ValueChain(
        id=chain_id,
        name=_text(data, "name", file, lines),
        description=_text(data, "description", file, lines),
        sources=tuple(_sources(data["sources"], file, lines)),
        revisions=revisions,
        nodes=nodes,
        edges=edges,
        origin=origin,
        file=file if origin == BUILTIN else origin,
    )


def _revisions(value: object, file: str, lines: list[str]) -> tuple[str, ...]:
    """The ``revisions`` list: known HS revisions, each once."""
    if (
        not isinstance(value, list)
        or not value
        or any(item not in HS_REVISIONS for item in value)
        or len(set(value)) != len(value)
    ):
        raise InputError(
            f"revisions must list HS revisions once each, not {value!r}",
            file=file,
            line=_line(lines, _key("revisions")),
            field="revisions",
            hint=f"use some of {', '.join(HS_REVISIONS)}",
        )
    return tuple(value)


def _nodes(
    table: object, revisions: tuple[str, ...], file: str, lines: list[str]
) -> dict[str, ChainNode]:
    """The ``[nodes.<id>]`` tables, each with a label, a known stage and codes per revision."""
    if not isinstance(table, dict) or not table:
        raise InputError(
            "nodes must be tables [nodes.<id>] with label, stage and codes",
            file=file,
            field="nodes",
        )
    nodes = {}
    for node_id, spec in table.items():
        line = _line(lines, rf"\s*\[\s*nodes\.{re.escape(node_id)}\s*\]")
        where: _Where = {"file": file, "line": line, "field": f"nodes.{node_id}"}
        if not _ID.fullmatch(node_id):
            raise InputError(
                f"node id {node_id!r} is not lower-case letters, digits and _", **where
            )
        if not isinstance(spec, dict) or set(spec) not in (
            set(_NODE_KEYS),
            set(_PRODUCTION_NODE_KEYS),
        ):
            keys = sorted(spec) if isinstance(spec, dict) else spec
            raise InputError(
                f"node {node_id} has {keys!r}",
                **where,
                hint="give it label, stage and codes (or, for production, label, stage and "
                "production = { commodity = ..., stage = ... })",
            )
        label, stage = spec["label"], spec["stage"]
        if not isinstance(label, str) or not label.strip():
            raise InputError(f"node {node_id} needs a non-empty label", **where)
        if stage not in STAGES:
            raise InputError(
                f"node {node_id} has unknown stage {stage!r}",
                **where,
                hint=f"use one of {', '.join(STAGES)}",
            )
        if "production" in spec:
            nodes[node_id] = ChainNode(
                id=node_id,
                label=label.strip(),
                stage=stage,
                codes=dict.fromkeys(revisions, ()),
                production=_production(node_id, spec["production"], where),
            )
            continue
        nodes[node_id] = ChainNode(
            id=node_id,
            label=label.strip(),
            stage=stage,
            codes=_node_codes(node_id, spec["codes"], revisions, where),
        )
    return nodes


class _Where(TypedDict):
    """Where a node is, for its errors: file, line and field."""

    file: str
    line: int | None
    field: str


def _production(node_id: str, value: object, where: _Where) -> tuple[str, str]:
    """A production node's ``{ commodity = ..., stage = ... }``: an id and a production stage."""
    if (
        not isinstance(value, dict)
        or set(value) != {"commodity", "stage"}
        or not isinstance(value["commodity"], str)
        or not _ID.fullmatch(value["commodity"])
        or value["stage"] not in PRODUCTION_STAGES
    ):
        raise InputError(
            f"node {node_id} needs production = {{ commodity = ..., stage = ... }}, not {value!r}",
            **where,
            hint="commodity is an id of the production table (e.g. rare_earths); stage one of "
            + ", ".join(PRODUCTION_STAGES),
        )
    return value["commodity"], value["stage"]


def _node_codes(
    node_id: str, value: object, revisions: tuple[str, ...], where: _Where
) -> dict[str, tuple[str, ...]]:
    """A node's codes per revision: one list for all revisions, or a table with one per revision."""
    per_revision = value if isinstance(value, dict) else dict.fromkeys(revisions, value)
    if set(per_revision) != set(revisions):
        raise InputError(
            f"node {node_id} has codes for {', '.join(sorted(per_revision))}, "
            f"the chain for {', '.join(revisions)}",
            **where,
            hint="give one list for all revisions, or one list per revision of the chain",
        )
    codes = {}
    for revision in revisions:
        listed = per_revision[revision]
        if (
            not isinstance(listed, list)
            or not listed
            or not all(isinstance(code, str) and _HS6.fullmatch(code) for code in listed)
            or len(set(listed)) != len(listed)
        ):
            raise InputError(
                f"node {node_id} needs a list of distinct quoted 6-digit codes in {revision}, "
                f"not {listed!r}",
                **where,
                hint='write codes as quoted text that keeps leading zeros, e.g. "030617"',
            )
        codes[revision] = tuple(listed)
    return codes


def _edges(
    value: object, nodes: dict[str, ChainNode], file: str, lines: list[str]
) -> tuple[tuple[str, str], ...]:
    """The ``edges`` list of ``"input -> output"`` texts: defined nodes, no repeat, no cycle."""
    if not isinstance(value, list) or not value:
        raise InputError(
            "edges must be a non-empty list of texts",
            file=file,
            line=_line(lines, _key("edges")),
            field="edges",
            hint='write e.g. edges = ["polysilicon -> wafers"]',
        )
    edges: list[tuple[str, str]] = []
    graph = nx.DiGraph()
    for item in value:
        match = _EDGE.fullmatch(item) if isinstance(item, str) else None
        line = _edge_line(lines, *match.groups()) if match else None
        if match is None:
            raise InputError(
                f"edge {item!r} is not 'input -> output'",
                file=file,
                line=_line(lines, ".*" + re.escape(str(item))),
                field="edges",
            )
        source, target = match.groups()
        for end in (source, target):
            if end not in nodes:
                raise InputError(
                    f"edge {source} -> {target} names {end!r}, which is not a node",
                    file=file,
                    line=line,
                    field="edges",
                    hint=f"define [nodes.{end}] or use one of {', '.join(sorted(nodes))}",
                )
        if nodes[target].production is not None:
            raise InputError(
                f"edge {source} -> {target} leads into a production node",
                file=file,
                line=line,
                field="edges",
                hint="production starts a chain: a production node can only be an input",
            )
        if source == target or (source, target) in edges:
            raise InputError(
                f"edge {source} -> {target} links a node to itself or is listed twice",
                file=file,
                line=line,
                field="edges",
            )
        edges.append((source, target))
        graph.add_edge(source, target)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        path = [a for a, _ in cycle]
        raise InputError(
            f"edges form a cycle: {' -> '.join([*path, path[0]])}",
            file=file,
            line=_edge_line(lines, *cycle[-1]),
            field="edges",
            hint="a value chain goes from inputs to outputs; remove one of these edges",
        )
    return tuple(edges)


def _text(data: dict[str, object], key: str, file: str, lines: list[str]) -> str:
    """A required top-level text value, stripped and non-empty."""
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            f"{key} must be non-empty text", file=file, line=_line(lines, _key(key)), field=key
        )
    return value.strip()


def _sources(value: object, file: str, lines: list[str]) -> list[str]:
    """The ``sources`` list: non-empty texts, at least one."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item.strip() for item in value)
    ):
        raise InputError(
            "sources must be a non-empty list of non-empty texts",
            file=file,
            line=_line(lines, _key("sources")),
            field="sources",
        )
    return [item.strip() for item in value]


def _key(key: str) -> str:
    """Pattern of a line ``key = ...`` (key bare or quoted)."""
    return rf"""\s*["']?{re.escape(key)}["']?\s*="""


def _edge_line(lines: list[str], source: str, target: str) -> int | None:
    """Line number of the quoted edge text ``"source -> target"``."""
    return _line(lines, rf""".*["']\s*{source}\s*->\s*{target}\s*["']""")


def _line(lines: list[str], pattern: str) -> int | None:
    """Line number of the first line matching ``pattern`` (anchored at the line start)."""
    regex = re.compile(pattern)
    return next((number for number, line in enumerate(lines, 1) if regex.match(line)), None)
