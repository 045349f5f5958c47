"""Trade measures as a scenario: a measures file turned into shocks for ``shock``, and the trace
of each measure through the result (which rows it cuts, its matched flows and value at risk).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from chokepoints.analysis.scenario import ANY_REVISION, Scenario, Shock
from chokepoints.errors import InputError
from chokepoints.reference.hs_revisions import CodeConversion, convert_codes, nearest_revision
from chokepoints.sources.measures import Measure

#: Columns of the table of measures (``provenance["measures"]``, the CLI's second table).
MEASURE_COLUMNS = [
    "measure_id",
    "line",
    "imposing",
    "direction",
    "partners",
    "type",
    "label",
    "fraction",
    "fraction_source",
    "year",
    "codes",
    "flows",
    "importers",
    "matched_value_usd",
    "value_at_risk_usd",
    "binding_lost_usd",
    "status",
]


def measures_scenario(
    measures: Sequence[Measure], classification: str, *, file: str, sector_dirs: Sequence[Path]
) -> tuple[Scenario, list[str]]:
    """The scenario of the ``measures`` listing codes in ``classification``, and the measure id
    of each of its shocks (an export measure is one shock: the imposing economy stops exporting
    to its partners, all when none; an import measure one shock per partner, the exporter).

    Raises InputError when no measure lists codes of that revision (``in_revision`` converts
    them first).
    """
    shocks, ids = [], []
    for measure in measures:
        if not codes_in(measure, classification):
            continue
        if measure.direction == "export":
            pairs = [(measure.imposing, measure.partners or None)]
        else:
            pairs = [(partner, (measure.imposing,)) for partner in measure.partners]
        for supplier, importers in pairs:
            shocks.append(
                Shock(
                    supplier=supplier.name,
                    members=supplier.members,
                    products=dict(measure.products),
                    sectors=None,
                    importers=tuple(importers) if importers else None,
                    fraction=measure.fraction,
                    start_year=measure.year,
                    rationale=f"{measure.label} (measure {measure.id}, line {measure.line})",
                    sector_dirs=tuple(sector_dirs),
                )
            )
            ids.append(measure.id)
    if not shocks:
        listed = sorted({revision for m in measures for revision in m.products})
        raise InputError(
            f"lists no {classification} codes (its codes are {', '.join(listed)}), the "
            f"revision of the data",
            file=file,
            field="hs_revision",
            hint=f"give the measures' codes in {classification} or an HS revision, or answer "
            "on data of the file's revision with --source",
        )
    slug = re.sub(r"[^a-z0-9]+", "-", Path(file).stem.lower()).strip("-") or "file"
    scenario = Scenario(
        id=f"measures-{slug}",
        name=f"Measures of {Path(file).name}",
        description=f"{len(measures)} trade measure(s) read from {file}",
        sources=(str(file),),
        shocks=tuple(shocks),
    )
    return scenario, ids


def in_revision(
    measures: Sequence[Measure], classification: str
) -> tuple[list[Measure], list[tuple[str, CodeConversion]]]:
    """The ``measures`` with codes of ``classification``: a measure listing codes of other
    revisions only gets those of the nearest one converted through the UNSD tables
    (``reference.hs_revisions.convert_codes``); each conversion is returned for provenance."""
    kept: list[Measure] = []
    made: list[tuple[str, CodeConversion]] = []
    for measure in measures:
        revision = nearest_revision(classification, measure.products)
        if codes_in(measure, classification) or revision is None:
            kept.append(measure)
            continue
        conversion = convert_codes(measure.products[revision], revision, classification)
        if not conversion.codes:  # no code of that revision: the measure's status says so
            kept.append(measure)
            continue
        made.append((f"measure {measure.id}", conversion))
        products = {**measure.products, classification: conversion.codes}
        kept.append(dataclasses.replace(measure, products=products))
    return kept, made


def codes_in(measure: Measure, classification: str) -> tuple[str, ...]:
    """The HS6 codes ``measure`` lists for ``classification`` (or for any revision)."""
    return measure.products.get(classification, measure.products.get(ANY_REVISION, ()))


def measure_table(
    measures: Sequence[Measure], totals: pd.DataFrame, classification: str, year: int
) -> pd.DataFrame:
    """One row per measure of the file: what it is, and from ``totals``
    (``analysis.measures.measure_totals``) the flows it matched and the value at risk."""
    rows = []
    found = totals.set_index("measure_id")
    for m in measures:
        codes = codes_in(m, classification)
        matched = found.loc[m.id] if m.id in found.index else None
        if not codes:
            status = f"no {classification} codes (listed in {', '.join(sorted(m.products))})"
        elif matched is None:
            status = f"matched no flow in {year}"
        else:
            status = "matched"
        rows.append(
            {
                "measure_id": m.id,
                "line": m.line,
                "imposing": m.imposing.name,
                "direction": m.direction,
                "partners": ",".join(p.name for p in m.partners) or "all",
                "type": m.type,
                "label": m.label,
                "fraction": m.fraction,
                "fraction_source": "file" if m.fraction_given else f"default for {m.type}",
                "year": m.year,
                "codes": ",".join(codes),
                "flows": 0 if matched is None else int(matched["flows"]),
                "importers": 0 if matched is None else int(matched["importers"]),
                **{
                    column: 0.0 if matched is None else float(matched[column])
                    for column in ("matched_value_usd", "value_at_risk_usd", "binding_lost_usd")
                },
                "status": status,
            }
        )
    return pd.DataFrame(rows, columns=MEASURE_COLUMNS)


def binding_ids(
    measured: pd.DataFrame,
    keys: Sequence[str],
    order: Sequence[str],
    sectors: pd.DataFrame | None = None,
) -> pd.Series:
    """The ids of the measures binding on some flow of each row of ``keys`` (``importer``,
    ``product``, or ``sector`` through ``sectors``' product -> sector rows), comma-joined in
    the file's ``order``."""
    frame = measured.loc[measured["binding"], ["importer", "product", "measure_id"]]
    if sectors is not None:
        frame = frame.merge(sectors[["product", "sector"]], on="product")
    frame = frame.drop_duplicates([*keys, "measure_id"])
    frame["measure_id"] = pd.Categorical(frame["measure_id"], categories=order, ordered=True)
    return (
        frame.sort_values([*keys, "measure_id"])
        .groupby(list(keys), observed=True)["measure_id"]
        .agg(lambda ids: ",".join(map(str, ids)))
    )
