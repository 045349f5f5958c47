"""``quickstart``: the demo world if the store is empty, then Japan's and Germany's top
dependencies and their HTML report, in one command.
"""

from __future__ import annotations

from chokepoints.cli.common import HomeOption, _print_provenance, _steps, app, console
from chokepoints.cli.data import _print_info, _print_record
from chokepoints.cli.report import _write_report
from chokepoints.render import DEPS_TABLE, OutputFormat, render
from chokepoints.workspace import Workspace

QUICKSTART_COUNTRIES = ("JPN", "DEU")
QUICKSTART_SECTORS = ("critical_minerals", "semiconductors", "batteries")


@app.command("quickstart")
def quickstart(home: HomeOption = None) -> None:
    """Demo data if the store is empty, Japan's and Germany's top dependencies, their report.

    Loads the synthetic demo world into an empty store, prints both countries' top imports in
    three sectors and writes the Japan-Germany HTML report into the workspace's reports/ folder.
    """
    ws = Workspace.open(home)
    if ws.store.is_empty():
        console.print("The store is empty: loading the synthetic demo world first.")
        with _steps("demo") as progress:
            _print_record(ws.load_demo(progress=progress))
    _print_info(ws.info())
    for country in QUICKSTART_COUNTRIES:
        for sector in QUICKSTART_SECTORS:
            frame = ws.dependencies(country, sector=sector, top=5, include_all=True)
            year = frame.attrs["provenance"]["year"]
            render(
                frame[DEPS_TABLE],
                OutputFormat.table,
                title=f"{country}: top imports in {sector.replace('_', ' ')} ({year})",
                console=console,
            )
    _print_provenance(frame.attrs["provenance"])
    path = ws.home / "reports" / "JPN_vs_DEU.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    size = _write_report(ws, "JPN", ["DEU"], None, [], path)
    console.print(
        f"Report for Japan with Germany: {path} ({size / 1e6:.1f} MB, opens offline).",
        markup=False,
    )
    console.print(
        "Next: `chokepoints deps DEU --sector critical_minerals`, `chokepoints product 850511`, "
        "`chokepoints report DEU --vs FRA -o deu.html`, `chokepoints data ingest baci PATH`."
    )
