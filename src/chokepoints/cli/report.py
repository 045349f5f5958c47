"""``report``: one self-contained HTML report, and its writer with a progress bar, which
``quickstart`` uses too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chokepoints.cli.common import (
    HomeOption,
    PartialOption,
    SourceOption,
    YearOption,
    _split,
    _steps,
    app,
    console,
)
from chokepoints.workspace import Workspace


@app.command("report")
def report(
    country: Annotated[str, typer.Argument(help="Country (ISO3) or group, e.g. JPN or EU27.")],
    vs: Annotated[
        list[str] | None,
        typer.Option("--vs", help="Partner for the cooperation view (repeatable, or DEU,FRA)."),
    ] = None,
    year: YearOption = None,
    sector: Annotated[
        list[str] | None,
        typer.Option(help="Sector to cover (repeatable; default: every strategic sector)."),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    method: Annotated[
        str, typer.Option(help="Dependency method: geodep (needs 2 of 3 years) or ec2021.")
    ] = "geodep",
    allow_partial: PartialOption = False,
    source: SourceOption = None,
    home: HomeOption = None,
) -> None:
    """Share it: one HTML file with charts and tables, offline and printable.

    Dependencies, suppliers and their map, trend, scenarios, diversification options and, with
    --vs, cooperation with partners, each chart with its table and the provenance.
    """
    ws = Workspace.open(home)
    size = _write_report(
        ws,
        country,
        _split(",".join(vs or [])),
        year,
        sector or [],
        output,
        method=method,
        allow_partial=allow_partial,
        source=source,
    )
    console.print(f"wrote {output} ({size / 1e6:.1f} MB); open it in a browser", markup=False)


def _write_report(
    ws: Workspace,
    country: str,
    partners: list[str],
    year: int | None,
    sectors: list[str],
    output: Path,
    **options: Any,
) -> int:
    """Gather, chart and write one report with a progress bar; return its size in bytes.

    The output path is checked first (a regular file or a new path), so that a bad ``-o`` fails
    before the work; the file is written aside and renamed into place by ``export``.
    """
    from chokepoints.export import check_target, write_bytes
    from chokepoints.report import gather, render_html

    check_target(output)
    with _steps("report") as progress:
        content = gather(
            ws,
            country,
            partners=partners,
            year=year,
            sectors=sectors,
            progress=progress,
            **options,
        )
        html = render_html(content).encode("utf-8")
    write_bytes(output, html)
    return len(html)
