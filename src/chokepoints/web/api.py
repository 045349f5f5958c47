"""The REST API under ``/api/v1``: one endpoint per ``Workspace`` question, JSON by default
(the CLI's field names plus ``provenance``), CSV and Parquet with ``?format=``.

Each endpoint validates its parameters (``web.models``), asks the question through the
answerer (cached, within the server's timeout) and shapes the answer (``web.formats``); none
computes anything itself. Comma lists (``exclude=CHN,RUS``) are split here, as the CLI does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import StringConstraints

from chokepoints.errors import InputError
from chokepoints.web.app import answerer_of
from chokepoints.web.formats import json_response, table_response, tables_response
from chokepoints.web.models import (
    DOWNLOADS,
    ERRORS,
    PRESET_PATTERN,
    RULE_PATTERN,
    AllowPartial,
    Economies,
    Economy,
    EconomyPath,
    Fraction,
    Limit,
    OptionalShare,
    OutputFormat,
    Product,
    ProductPath,
    Products,
    Sector,
    Sectors,
    Share,
    Source,
    Table,
    TableAnswer,
    TablesAnswer,
    Year,
)
from chokepoints.workspace import Allocation, Method, Objective, ShockBy, Side, StressBy, Via


async def refuse_unknown(request: Request) -> None:
    """Refuse a query parameter the endpoint does not take (a typo would else be ignored)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    known = {"token"} | {p.alias for p in getattr(dependant, "query_params", [])}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise InputError(
            f"this endpoint takes no parameter {unknown[0]!r}",
            hint=f"it takes {', '.join(sorted(known - {'token'})) or 'none'}",
        )


router = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(refuse_unknown)])

#: What a table endpoint documents beside its JSON model: CSV and Parquet downloads, errors.
RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": DOWNLOADS}, **ERRORS}


def split(text: str | None) -> list[str]:
    """``"CHN,RUS"`` -> ``["CHN", "RUS"]``; None -> ``[]``."""
    return [part for part in (text or "").split(",") if part]


def rows_limit(request: Request, limit: int | None) -> int:
    """``limit``, or the server's row limit when none is asked; more than it is refused."""
    most = request.app.state.settings.max_rows
    if limit is None:
        return int(most)
    if limit > most:
        raise InputError(
            f"limit {limit} is more than this server returns", hint=f"ask {most} or fewer"
        )
    return limit


@router.get("/dependencies/{economy}", response_model=TableAnswer, responses=RESPONSES)
async def dependencies(
    request: Request,
    economy: EconomyPath,
    year: Year = None,
    sector: Sector = None,
    products: Products = None,
    method: Method = "geodep",
    side: Side = "imports",
    rules: Annotated[
        list[Annotated[str, StringConstraints(pattern=RULE_PATTERN)]],
        Query(
            description="For method=custom: conditions all met (repeat the parameter).",
            openapi_examples={"concentrated": {"value": ["hhi>0.5"]}},
        ),
    ] = [],  # noqa: B006 - FastAPI copies the default
    include_all: Annotated[
        bool, Query(description="Every imported product, not only dependent ones.")
    ] = False,
    share_from: Economies = None,
    look_through: Annotated[
        bool, Query(description="Add the top effective origin through value-chain inputs.")
    ] = False,
    allow_partial: AllowPartial = False,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
) -> Response:
    """Products on which ECONOMY depends (``chokepoints deps``), most imported first."""
    frame = await answerer_of(request).ask(
        "dependencies",
        country=economy,
        year=year,
        sector=sector,
        products=split(products) or None,
        method=method,
        side=side,
        rules=rules,
        include_all=include_all,
        share_from=split(share_from),
        look_through=look_through,
        allow_partial=allow_partial,
        source=source,
    )
    return table_response(frame, fmt, rows_limit(request, limit), f"dependencies-{economy}")


@router.get("/risk/{economy}", response_model=TableAnswer, responses=RESPONSES)
async def risk(
    request: Request,
    economy: EconomyPath,
    year: Year = None,
    sector: Sector = None,
    allow_partial: AllowPartial = False,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
) -> Response:
    """Governance-weighted concentration and supply risk of ECONOMY's imports
    (``chokepoints risk``); needs governance indicators in the store."""
    frame = await answerer_of(request).ask(
        "risk",
        country=economy,
        year=year,
        sector=sector,
        allow_partial=allow_partial,
        source=source,
    )
    return table_response(frame, fmt, rows_limit(request, limit), f"risk-{economy}")


@router.get("/product/{code}", response_model=TablesAnswer, responses=RESPONSES)
async def product(
    request: Request,
    code: ProductPath,
    year: Year = None,
    allow_partial: AllowPartial = False,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
    table: Table = None,
) -> Response:
    """The world picture of one product (``chokepoints product``): summary, exporters,
    importers."""
    picture = await answerer_of(request).ask(
        "product", code=code, year=year, allow_partial=allow_partial, source=source
    )
    provenance = picture.summary.attrs["provenance"]
    return tables_response(
        picture.frames(), provenance, fmt, table, rows_limit(request, limit), f"product-{code}"
    )


@router.get("/trend/{economy}", response_model=TableAnswer, responses=RESPONSES)
async def trend(
    request: Request,
    economy: EconomyPath,
    supplier: Economy,
    sector: Sector = None,
    products: Products = None,
    year: Year = None,
    allow_partial: AllowPartial = False,
    source: Source = None,
    fmt: OutputFormat = "json",
) -> Response:
    """ECONOMY's dependence on SUPPLIER over the years, with the verdict in the provenance
    (``chokepoints trend``)."""
    frame = await answerer_of(request).ask(
        "trend",
        country=economy,
        supplier=supplier,
        sector=sector,
        products=split(products) or None,
        year=year,
        allow_partial=allow_partial,
        source=source,
    )
    return table_response(frame, fmt, rows_limit(request, None), f"trend-{economy}-{supplier}")


Preset = Annotated[
    str | None,
    Query(
        pattern=PRESET_PATTERN,
        description="A shipped scenario (see /api/v1/presets).",
        openapi_examples={"gallium": {"value": "china-gallium-germanium-2023"}},
    ),
]
Supplier = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z][A-Za-z0-9_]{1,39}$",
        description="For a custom scenario: the country or group that stops exporting.",
        openapi_examples={"China": {"value": "CHN"}},
    ),
]


def scenario(
    preset: str | None,
    supplier: str | None,
    sectors: str | None,
    products: str | None,
    importers: str | None,
    fraction: float,
) -> dict[str, Any]:
    """The scenario parameters of ``Workspace.shock`` and ``downstream``: a preset, or a
    custom cut; both at once are refused."""
    if preset is not None and supplier is not None:
        raise InputError(
            "give preset or supplier, not both",
            field="preset",
            hint="a preset names its own supplier",
        )
    return {
        "preset": preset,
        "supplier": supplier,
        "sectors": split(sectors),
        "products": split(products),
        "importers": split(importers),
        "fraction": fraction,
    }


@router.get("/shock", response_model=TableAnswer, responses=RESPONSES)
async def shock(
    request: Request,
    preset: Preset = None,
    supplier: Supplier = None,
    sectors: Sectors = None,
    products: Products = None,
    importers: Economies = None,
    fraction: Fraction = 1.0,
    year: Year = None,
    redirect_fraction: Share = 0.5,
    allocation: Allocation = "pro_rata",
    by: ShockBy = "product",
    allow_partial: AllowPartial = False,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
) -> Response:
    """Direct impact of a disruption (``chokepoints shock``): a preset, or SUPPLIER cutting
    FRACTION of its exports of some sectors or products; the provenance holds the totals per
    importer (``by_importer``), the world's and the allocation rule."""
    frame = await answerer_of(request).ask(
        "shock",
        **scenario(preset, supplier, sectors, products, importers, fraction),
        year=year,
        redirect_fraction=redirect_fraction,
        allocation=allocation,
        by=by,
        allow_partial=allow_partial,
        source=source,
    )
    name = preset or f"{supplier or 'custom'}"
    return table_response(frame, fmt, rows_limit(request, limit), f"shock-{name}")


@router.get("/downstream", response_model=TableAnswer, responses=RESPONSES)
async def downstream(
    request: Request,
    preset: Preset = None,
    supplier: Supplier = None,
    sectors: Sectors = None,
    products: Products = None,
    importers: Economies = None,
    fraction: Fraction = 1.0,
    chains: Sectors = None,
    countries: Economies = None,
    min_export_share: Share = 0.0,
    year: Year = None,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
) -> Response:
    """Value-chain products at risk from a disruption and the countries producing them
    (``chokepoints shock --downstream``)."""
    frame = await answerer_of(request).ask(
        "downstream",
        **scenario(preset, supplier, sectors, products, importers, fraction),
        chains=split(chains),
        countries=split(countries),
        min_export_share=min_export_share,
        year=year,
        source=source,
    )
    name = preset or f"{supplier or 'custom'}"
    return table_response(frame, fmt, rows_limit(request, limit), f"downstream-{name}")


@router.get("/stress/{economy}", response_model=TableAnswer, responses=RESPONSES)
async def stress(
    request: Request,
    economy: EconomyPath,
    sectors: Sectors = None,
    top: Annotated[
        int | None, Query(ge=1, le=1000, description="The N worst suppliers per sector.")
    ] = 3,
    redirect_fraction: OptionalShare = None,
    allocation: Allocation = "pro_rata",
    by: StressBy = "importer",
    year: Year = None,
    allow_partial: AllowPartial = False,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
) -> Response:
    """ECONOMY's rows of the stress test (``chokepoints stress --importer``): every supplier
    cut off world-wide, sector by sector, worst shortfall first. Over every sector it may take
    longer than the server's timeout: ``POST /api/v1/jobs`` runs it in the background."""
    frame = await answerer_of(request).ask(
        "stress",
        year=year,
        sectors=split(sectors),
        importers=[economy],
        top=top,
        redirect_fraction=redirect_fraction,
        allocation=allocation,
        by=by,
        allow_partial=allow_partial,
        source=source,
    )
    return table_response(frame, fmt, rows_limit(request, limit), f"stress-{economy}")


@router.get("/exposure/{economy}", response_model=TableAnswer, responses=RESPONSES)
async def exposure(
    request: Request,
    economy: EconomyPath,
    supplier: Economy,
    via: Via = "trade",
    year: Year = None,
    theta: Fraction = 1.0,
    supplier_sectors: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Z][A-Z0-9_]{0,9}(,[A-Z][A-Z0-9_]{0,9}){0,49}$",
            description="For via=icio: the supplier's industries stopped (C26).",
        ),
    ] = None,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
) -> Response:
    """ECONOMY's reliance on SUPPLIER, per strategic sector (trade) or industry (the input-
    output tables in the store's ``icio`` folder) (``chokepoints exposure``)."""
    options: dict[str, Any] = (
        {"theta": theta, "supplier_sectors": split(supplier_sectors) or None}
        if via == "icio"
        else {"source": source}
    )
    frame = await answerer_of(request).ask(
        "exposure", country=economy, supplier=supplier, via=via, year=year, **options
    )
    return table_response(frame, fmt, rows_limit(request, limit), f"exposure-{economy}-{supplier}")


@router.get("/diversify/{economy}/{product}", response_model=TablesAnswer, responses=RESPONSES)
async def diversify(
    request: Request,
    economy: EconomyPath,
    product: ProductPath,
    year: Year = None,
    exclude: Economies = None,
    trusted: Economies = "like_minded",
    max_share: OptionalShare = None,
    max_change: Annotated[
        float | None, Query(gt=0, le=10, description="Largest change of the import value.")
    ] = None,
    min_share: Share = 0.01,
    max_new_suppliers: Annotated[
        int | None, Query(ge=0, le=200, description="Most suppliers the mix may add.")
    ] = None,
    redirect_fraction: Share = 0.5,
    objective: Objective = "hhi",
    allow_partial: AllowPartial = False,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
    table: Table = None,
) -> Response:
    """Alternative suppliers of PRODUCT for ECONOMY and an optimised sourcing mix
    (``chokepoints diversify``); the optimiser's outcome is ``provenance.result``."""
    answer = await answerer_of(request).ask(
        "diversify",
        country=economy,
        product=product,
        year=year,
        exclude=split(exclude),
        trusted=split(trusted),
        max_share=max_share,
        max_change=max_change,
        min_share=min_share,
        max_new_suppliers=max_new_suppliers,
        redirect_fraction=redirect_fraction,
        objective=objective,
        allow_partial=allow_partial,
        source=source,
    )
    provenance = answer.alternatives.attrs["provenance"]
    limit_rows = rows_limit(request, limit)
    name = f"diversify-{economy}-{product}"
    return tables_response(answer.frames(), provenance, fmt, table, limit_rows, name)


@router.get("/markets/{economy}", response_model=TableAnswer, responses=RESPONSES)
async def markets(
    request: Request,
    economy: EconomyPath,
    product: Product,
    year: Year = None,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
) -> Response:
    """Other importers of a PRODUCT that ECONOMY exports, by demand (``chokepoints diversify
    --side exports``)."""
    frame = await answerer_of(request).ask(
        "markets", country=economy, product=product, year=year, source=source
    )
    return table_response(frame, fmt, rows_limit(request, limit), f"markets-{economy}-{product}")


@router.get("/compare", response_model=TablesAnswer, responses=RESPONSES)
async def compare(
    request: Request,
    economies: Annotated[
        str,
        Query(
            pattern=r"^[A-Za-z][A-Za-z0-9_]{1,39}(,[A-Za-z][A-Za-z0-9_]{1,39}){1,19}$",
            description="Two or more countries or groups.",
            openapi_examples={"Japan and Germany": {"value": "JPN,DEU"}},
        ),
    ],
    year: Year = None,
    sector: Sector = None,
    products: Products = None,
    trusted: Economies = "like_minded",
    exclude: Economies = None,
    allow_partial: AllowPartial = False,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
    table: Table = None,
) -> Response:
    """Partners side by side (``chokepoints compare``): shared chokepoints, complementarity,
    best practice, joint diversification."""
    answer = await answerer_of(request).ask(
        "compare",
        partners=split(economies),
        year=year,
        sector=sector,
        products=split(products) or None,
        trusted=split(trusted),
        exclude=split(exclude),
        allow_partial=allow_partial,
        source=source,
    )
    provenance = answer.by_sector.attrs["provenance"]
    name = "compare-" + economies.replace(",", "-")
    return tables_response(
        answer.frames(), provenance, fmt, table, rows_limit(request, limit), name
    )


@router.get("/upstream/{economy}", response_model=TableAnswer, responses=RESPONSES)
async def upstream(
    request: Request,
    economy: EconomyPath,
    product: Product,
    depth: Annotated[int, Query(ge=0, le=5, description="Steps of inputs to look through.")] = 1,
    year: Year = None,
    allow_partial: AllowPartial = False,
    source: Source = None,
    limit: Limit = None,
    fmt: OutputFormat = "json",
) -> Response:
    """Direct and look-through origins of ECONOMY's supply of a value-chain PRODUCT
    (``chokepoints upstream``)."""
    frame = await answerer_of(request).ask(
        "upstream",
        importer=economy,
        product=product,
        year=year,
        depth=depth,
        allow_partial=allow_partial,
        source=source,
    )
    return table_response(frame, fmt, rows_limit(request, limit), f"upstream-{economy}-{product}")


@router.get("/groups", response_model=TableAnswer, responses=RESPONSES)
async def groups(request: Request, fmt: OutputFormat = "json") -> Response:
    """Country groups, built-in and the store's ``groups.toml``, with their ISO3 members."""
    frame = await answerer_of(request).ask("groups")
    return table_response(frame, fmt, rows_limit(request, None), "groups")


@router.get("/sectors", response_model=TableAnswer, responses=RESPONSES)
async def sectors(request: Request, fmt: OutputFormat = "json") -> Response:
    """Strategic sectors, built-in and the store's ``sectors`` folder, with their sizes."""
    from chokepoints.reference.sectors import list_sectors

    frame = await answerer_of(request).run(lambda ws: list_sectors(ws.sector_dirs), timeout=None)
    return table_response(frame, fmt, rows_limit(request, None), "sectors")


@router.get("/chains", response_model=TableAnswer, responses=RESPONSES)
async def chains(request: Request, fmt: OutputFormat = "json") -> Response:
    """Value chains (stages from the mine to the final product) and their sizes."""
    from chokepoints.reference.chains import list_chains

    frame = await answerer_of(request).run(lambda ws: list_chains(), timeout=None)
    return table_response(frame, fmt, rows_limit(request, None), "chains")


@router.get("/presets", response_model=TableAnswer, responses=RESPONSES)
async def presets(request: Request, fmt: OutputFormat = "json") -> Response:
    """The shipped disruption scenarios (``chokepoints shock --list``)."""
    import pandas as pd

    from chokepoints.analysis.scenario import list_presets
    from chokepoints.analysis.scenario import preset as load_preset

    frame = pd.DataFrame(
        [{"preset": name, "name": load_preset(name).name} for name in list_presets()],
        columns=["preset", "name"],
    )
    return table_response(frame, fmt, rows_limit(request, None), "presets")


@router.get("/datasets", responses=ERRORS)
async def datasets(request: Request) -> Response:
    """What the store holds: datasets, releases, years, coverage (``data info``)."""
    info: dict[str, Any] = await answerer_of(request).run(lambda ws: ws.info(), timeout=None)
    info.pop("home", None)  # the server's folders are none of a client's business
    return json_response(info)
