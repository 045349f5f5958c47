"""What every ``chokepoints`` command shares: the root app, the common options, the consoles, the
progress bars, and results printed as tables or written to files, with their provenance.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from chokepoints import __version__, config, engine
from chokepoints.config import check_backend, check_master
from chokepoints.datasets import DEMO_NOTE
from chokepoints.errors import ChokepointsError
from chokepoints.export import check_target, output_needed
from chokepoints.render import OutputFormat, render, render_tables, terminal_console

if TYPE_CHECKING:
    import pandas as pd

console = terminal_console()  # plain text when piped, on TERM=dumb or with NO_COLOR
errors = terminal_console(stderr=True)

app = typer.Typer(
    name="chokepoints",
    help="Find, stress-test and reduce dangerous import dependencies from public trade data.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    """Print the version and stop, for ``--version``."""
    if value:
        console.print(f"chokepoints {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            metavar="duckdb|spark",
            help="Engine that answers: duckdb (embedded) or spark (default: "
            "$CHOKEPOINTS_BACKEND, else backend in HOME/config.toml, else duckdb).",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            metavar="URL",
            help="Where Spark runs: local[*], spark://HOST:PORT (standalone cluster) or "
            "sc://HOST:PORT (Spark Connect) (default: $CHOKEPOINTS_SPARK_MASTER, else \\[spark] "
            "master in HOME/config.toml, else local[*]); implies --backend spark.",
        ),
    ] = None,
) -> None:
    """Economic-security supply-chain analysis on public trade data (BACI, UN Comtrade)."""
    choices: dict[str, tuple[str, str]] = {}
    if backend is not None:
        choices["backend"] = (check_backend(backend, given_as="--backend"), "--backend")
    if spark_master is not None:
        master = check_master(spark_master, given_as="--spark-master")
        choices["spark_master"] = (master, "--spark-master")
    # Workspaces opened by the command take these choices; both are forgotten when it ends.
    ctx.with_resource(config.chosen(**choices))
    ctx.with_resource(engine.answering())


HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Workspace folder (default: $CHOKEPOINTS_HOME or the user data folder).",
        envvar="CHOKEPOINTS_HOME",
        show_envvar=True,
    ),
]
FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        help="table, csv, json, parquet or xlsx (parquet and xlsx need --output; with --output "
        "alone, the file's extension; results of several tables: one workbook, or "
        "FILE.<table>.csv per table).",
    ),
]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")]
YearOption = Annotated[
    int | None,
    typer.Option(help="Year (default: the latest whose data covers the country asked about)."),
]
SectorOption = Annotated[
    str | None, typer.Option(help="Sector, e.g. critical_minerals, semiconductors, batteries.")
]
SourceOption = Annotated[
    str | None, typer.Option(help="Dataset to use when the store holds several (e.g. baci).")
]
PartialOption = Annotated[
    bool,
    typer.Option(
        "--allow-partial",
        help="Run world-level criteria on partial coverage, keeping the warning in the output.",
    ),
]


def _at_least_zero(value: int | None, param: typer.CallbackParam) -> int | None:
    """Refuse a negative row count: ``--limit -3`` would silently drop the last three rows."""
    if value is not None and value < 0:
        raise ChokepointsError(f"{param.opts[0]} is {value}; give a number of rows of 0 or more")
    return value


#: Rows of a terminal table, the same flag on every command that lists rows.
LimitOption = Annotated[
    int | None,
    typer.Option(
        "--limit",
        help="Rows to show in the table (files and JSON get every row).",
        callback=_at_least_zero,
    ),
]


#: Environment variables read as numbers, checked before any command runs.
NUMBER_VARIABLES = {
    "CHOKEPOINTS_LOCK_TIMEOUT": "the number of seconds to wait for another writer (e.g. 30)"
}


def check_environment() -> None:
    """Refuse a malformed ``CHOKEPOINTS_*`` variable (a number, the engine, the Spark master),
    naming it and what it takes."""
    for name, expected in NUMBER_VARIABLES.items():
        text = os.environ.get(name)
        if text is None:
            continue
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < 0:
            raise ChokepointsError(f"{name} is {text!r}; set it to {expected} or unset it")
    for name, check in (
        (config.BACKEND_VARIABLE, check_backend),
        (config.MASTER_VARIABLE, check_master),
    ):
        if os.environ.get(name):
            try:
                check(os.environ[name], given_as=name)
            except ChokepointsError as exc:
                raise ChokepointsError(f"{exc}, or unset {name}") from None


#: A snake_case word standing alone (not inside a path, a flag or a longer name).
_PARAMETER = re.compile(r"(?<![\w./-])([a-z]+(?:_[a-z0-9]+)+)(?![\w/-]|\.\w)")


def in_flag_words(message: str) -> str:
    """``message`` with the library's parameter names as the flags that set them.

    The library speaks of ``allow_partial`` and ``redirect_fraction``; on the command line the
    user typed ``--allow-partial`` and ``--redirect-fraction``. Only names that are flags of
    some command are changed.
    """
    flags = _flags()
    return _PARAMETER.sub(lambda match: flags.get(match.group(1), match.group(1)), message)


@functools.cache
def click_app() -> Any:
    """The click command tree of ``app``, built once per process after every command module
    registered its commands: building it inspects each command's signature (30 ms), which
    every run in a process and every error message paid again."""
    return typer.main.get_command(app)


@functools.cache
def _flags() -> dict[str, str]:
    """Every long flag of every command, keyed by its parameter name (``max_share``)."""
    found: dict[str, str] = {}
    pending: list[Any] = [click_app()]
    while pending:
        command = pending.pop()
        pending += list(getattr(command, "commands", {}).values())
        for param in command.params:
            if param.param_type_name == "option":
                found |= {f[2:].replace("-", "_"): f for f in param.opts if f.startswith("--")}
    return found


def _split(text: str | None) -> list[str]:
    """``"JPN, DEU"`` -> ``["JPN", "DEU"]``."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@contextlib.contextmanager
def _steps(title: str) -> Iterator[Any]:
    """A rich progress bar fed by the store's (description, done, total) callback."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    ) as bar:
        task = bar.add_task(title, total=None)

        def update(description: str, done: int, total: int) -> None:
            bar.update(task, description=f"{title}: {description}", completed=done, total=total)

        yield update


@contextlib.contextmanager
def _download_bar(title: str) -> Iterator[Any]:
    """A rich byte-progress bar for downloads."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    ) as bar:
        task = bar.add_task(title, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _print_provenance(provenance: dict[str, Any], *, stream: Console | None = None) -> None:
    """One or two lines saying what a result was computed from and how."""
    stream = stream or console
    method = provenance.get("method") or {}
    # Parameters left unset (None, an empty list) say nothing; a method without any shows none.
    thresholds = ", ".join(
        f"{k}={v}" for k, v in method.items() if k != "name" and v is not None and v != []
    )
    text = (
        f"{provenance['source']} {'/'.join(provenance['releases'])} "
        f"{provenance['classification']}"
        + (f" {provenance['level']}-digit" if provenance.get("level", 6) != 6 else "")
        + (f", {provenance['year']}" if "year" in provenance else "")
        + (f"; method {method.get('name')}" if method else "")
        + (f" ({thresholds})" if thresholds else "")
        + f"; {provenance['tool']}"
    )
    # Piped, the line stays whole (one record per line for whoever reads the log).
    whole = not stream.is_terminal
    stream.print(f"[dim]{escape(text)}[/dim]", highlight=False, soft_wrap=whole)
    answered = provenance.get("engine") or engine.answered_by()
    if answered:
        stream.print(f"[dim]engine: {escape(answered)}[/dim]", highlight=False, soft_wrap=whole)
    for warning in provenance.get("warnings") or []:
        stream.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=whole)
    if provenance.get("demo"):
        stream.print(f"[yellow]{DEMO_NOTE}[/yellow]")


def _print_or_write(
    frame: pd.DataFrame, fmt: OutputFormat, output: Path | None, *, sheet: str
) -> None:
    """Print every row and column of ``frame``, or write it to ``output`` and say so on stderr."""
    render(frame, fmt, output=output, console=console, sheet=sheet)
    if output is not None:
        _print_written(output, len(frame))


def _table_rows(frame: pd.DataFrame, fmt: OutputFormat, limit: int | None) -> pd.DataFrame:
    """The first ``limit`` rows for a terminal table (files get every row), with the provenance,
    the number of rows before the cut (the table then says "N of M rows shown") and sector
    names instead of ids."""
    shown = frame.head(limit) if fmt is OutputFormat.table and limit else frame
    if fmt is OutputFormat.table and "sector" in shown.columns:
        # People read sector names; files keep the ids, which other tools join on.
        from chokepoints.reference.sectors import sector_names

        shown = shown.assign(
            sector=[sector_names(s) if isinstance(s, str) else s for s in shown["sector"]]
        )
    shown.attrs = (
        {**frame.attrs, "total_rows": len(frame)} if len(shown) < len(frame) else frame.attrs
    )
    return shown


#: Output formats told by an --output file's extension when --format is not given.
FORMAT_BY_SUFFIX = {
    ".csv": OutputFormat.csv,
    ".json": OutputFormat.json,
    ".parquet": OutputFormat.parquet,
    ".xlsx": OutputFormat.xlsx,
}


def _format_for(fmt: OutputFormat, output: Path | None, tables: Sequence[str] = ()) -> OutputFormat:
    """The format to write: ``fmt``, or with ``--output`` and no ``--format`` the file's type.

    A terminal table cannot go to a file, so ``-o deu.csv`` alone means CSV rather than being
    silently ignored; an extension that names no format is an error. A format that needs a
    file without ``--output`` (``tables``: the answer's, when it has several), a folder that does
    not exist, and a folder, device or pipe at ``output`` are refused here, before the work.
    """
    if output is not None:
        check_target(output)
    if output is None and (needed := output_needed(fmt, tables)):
        raise ChokepointsError(needed)
    if output is None or fmt is not OutputFormat.table:
        return fmt
    if output.suffix.lower() in FORMAT_BY_SUFFIX:
        return FORMAT_BY_SUFFIX[output.suffix.lower()]
    raise ChokepointsError(
        f"cannot tell the format of {output} from its extension; name it .csv, .json, .parquet "
        "or .xlsx, or pass --format"
    )


def _emit(
    frame: pd.DataFrame, fmt: OutputFormat, output: Path | None, columns: list[str], title: str
) -> None:
    """Print or write a result; tables show ``columns`` and the provenance below them."""
    if fmt is OutputFormat.table:
        if frame.empty:
            console.print(f"{title}: nothing found.", markup=False)
        else:
            render(
                frame[[c for c in columns if c in frame.columns]], fmt, title=title, console=console
            )
        _print_provenance(frame.attrs["provenance"])
        return
    render(frame, fmt, output=output, console=console, sheet="result")
    _print_provenance(frame.attrs["provenance"], stream=errors)
    if output is not None:
        _print_written(output, len(frame))


def _emit_tables(
    tables: dict[str, Any], fmt: OutputFormat, output: Path | None, provenance: dict[str, Any]
) -> None:
    """Write a result of several tables (every DataFrame in ``tables``) to files or JSON.

    xlsx: one workbook, a sheet per table plus ``provenance``; json: one object keyed by table;
    csv and parquet: ``STEM.<table>.csv`` (``.parquet``) per table beside ``--output``.
    """
    import pandas as pd

    frames = {name: t for name, t in tables.items() if isinstance(t, pd.DataFrame)}
    written = render_tables(frames, fmt, output=output, provenance=provenance)
    _print_provenance(provenance, stream=errors)
    for path, rows in written:
        _print_written(path, rows)


def _print_written(path: Path, rows: int) -> None:
    """Say on stderr which file was written, on one line whatever the path holds."""
    errors.print(f"wrote {rows:,} rows to {path}", highlight=False, soft_wrap=True, markup=False)
