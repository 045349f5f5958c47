"""The ``chokepoints`` command line: parse, call Workspace, render with rich.

User errors (a bad file, an unknown code, a busy store) print one sentence and exit 1 without a
traceback; only bugs show one. Each module registers its commands on the shared ``app`` when
imported: ``data`` (data, sql, groups), ``dependencies`` (deps, risk, product, trend),
``disruption`` (shock, stress, exposure), ``partners`` (diversify, compare), ``report`` and
``quickstart``; ``common`` holds what they share.
"""

from __future__ import annotations

import sys

from chokepoints.cli import (  # noqa: F401  (importing a module registers its commands)
    data,
    dependencies,
    disruption,
    partners,
    quickstart,
    report,
)
from chokepoints.cli.common import app, errors
from chokepoints.errors import ChokepointsError

__all__ = ["app", "main"]

#: The order in which ``chokepoints --help`` lists the commands: the questions in the order a
#: user asks them (where are we dependent, what if, where else, together), then the tools.
HELP_ORDER = (
    "quickstart",
    "deps",
    "product",
    "trend",
    "risk",
    "shock",
    "stress",
    "exposure",
    "diversify",
    "compare",
    "report",
    "sql",
    "groups",
)
app.registered_commands.sort(key=lambda command: HELP_ORDER.index(command.name))


def main() -> None:
    """Entry point: run the app, turning user errors into one clear sentence."""
    try:
        app()
    except ChokepointsError as exc:
        errors.print(
            f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True, markup=True
        )
        sys.exit(1)
