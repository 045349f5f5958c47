"""The ``chokepoints`` command line: parse, call Workspace, render with rich.

User errors (a bad file, an unknown code, a busy store) print one sentence and exit 1 without a
traceback; only bugs show one. Each module registers its commands on the shared ``app`` when
imported: ``data`` (data, sql, groups), ``dependencies`` (deps, risk, product, trend),
``disruption`` (shock, stress, exposure), ``partners`` (diversify, compare), ``upstream``
(production, upstream, stages), ``report``, ``serve`` and ``quickstart``; ``common`` holds
what they share.
"""

from __future__ import annotations

import sys

from rich.markup import escape

from chokepoints.cli import (  # noqa: F401  (importing a module registers its commands)
    data,
    dependencies,
    disruption,
    partners,
    quickstart,
    report,
    serve,
    upstream,
)
from chokepoints.cli.common import app, check_environment, click_app, errors, in_flag_words
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
    "production",
    "upstream",
    "stages",
    "shock",
    "stress",
    "exposure",
    "diversify",
    "compare",
    "report",
    "serve",
    "sql",
    "groups",
)
app.registered_commands.sort(key=lambda command: HELP_ORDER.index(command.name))


#: What Ctrl-C prints: ingests commit at the end and files are renamed into place when whole.
INTERRUPTED = "interrupted (Ctrl-C); the store is unchanged and no partial file was written"


def main() -> None:
    """Entry point: run the app, turning user errors into one clear sentence.

    A ChokepointsError prints its sentence (parameter names as the flags that set them) and
    exits 1; Ctrl-C prints one line and exits 130, the code of a process stopped by SIGINT.
    """
    try:
        check_environment()
        click_app()()
    except ChokepointsError as exc:
        _fail(in_flag_words(str(exc)), 1)
    except KeyboardInterrupt:
        _fail(INTERRUPTED, 130)
    except (SystemExit, Exception) as exc:
        if _by_ctrl_c(exc):
            _fail(INTERRUPTED, 130)
        raise


def _fail(message: str, code: int) -> None:
    """Print ``error: MESSAGE`` on stderr (the message is text, not markup) and exit ``code``."""
    errors.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _by_ctrl_c(exc: BaseException) -> bool:
    """True when ``exc`` stands for Ctrl-C: Typer's silent exit 130, or DuckDB's interrupt.

    Typer turns a KeyboardInterrupt into ``exit(130)``; DuckDB stops a query on SIGINT and
    raises ``InterruptException`` or a bare ``RuntimeError('Query interrupted')`` instead.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt) or type(seen).__name__ == "InterruptException":
            return True
        if type(seen) is RuntimeError and str(seen) == "Query interrupted":
            return True
        seen = seen.__cause__ or seen.__context__
    return False
