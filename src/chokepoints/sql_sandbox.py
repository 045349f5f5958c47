"""The connection ``chokepoints sql`` runs on: the store's tables, read-only, and nothing else.

A query typed or pasted by a user could, on the engine's own connection, rewrite the store
(``COPY ... TO 'HOME/manifest.json'``), read or write any file (``read_text('/etc/shadow')``,
``ATTACH``) or fetch code from the network (``INSTALL httpfs``). Here:

- the views ``trade``, ``products``, ``governance``, ``production`` and ``countries`` are Arrow
  tables and datasets over the store's Parquet files, so DuckDB holds no path it could write to;
  DuckDB 2.0.1's ``allowed_paths`` would let a query read a listed file but also overwrite it
  (``COPY ... TO`` a listed path), so the store's files are not listed there;
- ``enable_external_access=false`` refuses every file, URL, ``ATTACH``, ``INSTALL`` and ``LOAD``,
  and extensions are neither installed nor loaded automatically;
- ``lock_configuration=true`` keeps a query from setting any of this back.

Tables a query creates live in memory and vanish with the connection.
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import pandas as pd
import pyarrow.dataset as ds

from chokepoints.engine import countries_arrow, tables
from chokepoints.errors import ChokepointsError
from chokepoints.store import Store

#: The tables a query can read, as the error messages list them.
TABLE_NAMES = "trade, products, countries, governance and production"
#: Settings applied, in this order, before the views exist and before any query runs.
SANDBOX_SETTINGS = (
    "SET enable_progress_bar = false",  # it would print into CSV and JSON results on stdout
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def connect(store: Store, manifest: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the tables of ``manifest`` (default: the committed
    one, read once, so that every table is of one generation) and no access beyond them."""
    manifest = store.manifest() if manifest is None else manifest
    con = duckdb.connect()
    try:
        for setting in SANDBOX_SETTINGS:
            con.execute(setting)
        for name, table_schema in tables().items():
            files = [str(path) for path in store.files(name, manifest)]
            data = (
                ds.dataset(files, schema=table_schema, format="parquet")
                if files
                else table_schema.empty_table()
            )
            con.register(name, data)
        con.register("countries", countries_arrow())
    except BaseException:
        con.close()
        raise
    return con


def run(con: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """The result of ``query`` on ``con`` as a frame (empty for a statement without rows).

    Errors are one sentence: an empty query, a query refused by the sandbox, or DuckDB's own
    first line with the names of the tables. A query stopped by Ctrl-C raises KeyboardInterrupt.
    """
    if not query.strip():
        raise ChokepointsError(
            "the SQL query is empty; give one, e.g. chokepoints sql 'SELECT count(*) FROM trade'"
        )
    try:
        return _interruptible(con, query)
    except duckdb.InterruptException as exc:
        raise KeyboardInterrupt from exc
    except duckdb.Error as exc:
        raise sql_error(exc) from exc
    except RuntimeError as exc:
        # DuckDB may also report a query stopped on Ctrl-C as a bare RuntimeError.
        if str(exc) == "Query interrupted":
            raise KeyboardInterrupt from exc
        raise


def _interruptible(con: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """``query``'s result, computed in a worker thread so that Ctrl-C can stop it.

    Python runs a signal handler only between bytecodes of the main thread, never while that
    thread waits inside DuckDB; so the main thread waits here and, on Ctrl-C, interrupts the
    query, waits for DuckDB to stop and re-raises the KeyboardInterrupt.
    """
    outcome: list[pd.DataFrame | BaseException] = []
    done = threading.Event()  # not Thread.join: interrupted, it may later return too early

    def execute() -> None:
        try:
            con.execute(query)
            outcome.append(con.df() if con.description is not None else pd.DataFrame())
        except BaseException as exc:  # handed to the main thread
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=execute, name="chokepoints-sql", daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        con.interrupt()
        done.wait()
        raise
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def sql_error(exc: duckdb.Error) -> ChokepointsError:
    """One sentence for a failed query: what the sandbox refused, or DuckDB's first line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, duckdb.PermissionException):
        detail = first.removeprefix("Permission Error: ").split(" - ")[0]
        return ChokepointsError(
            f"SQL refused: the query reaches outside the store ({detail}); it may read the "
            f"tables {TABLE_NAMES} only, or run with --unsafe to allow files and extensions"
        )
    if "the configuration has been locked" in first:
        return ChokepointsError(
            "SQL refused: the query changes a setting, which the read-only sandbox keeps "
            "fixed; run it with --unsafe to allow that"
        )
    return ChokepointsError(f"SQL error: {first}; the tables are {TABLE_NAMES}")
