"""Ibis backends over the store: embedded DuckDB by default, PySpark when asked.

Both expose the same tables (``trade``, ``products``, ``countries``) so that every analysis is one
Ibis expression that runs unchanged on either engine. Every table reads the files of one manifest
(one generation of the store), so a commit made meanwhile never mixes into a reader's answers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from chokepoints import schema
from chokepoints.errors import ChokepointsError
from chokepoints.extract import sql_path
from chokepoints.reference.countries import countries
from chokepoints.store import Store

BACKENDS = ("duckdb", "pyspark")
TABLES = {"trade": schema.TRADE, **schema.COMPANION_TABLES}


def connect(
    store: Store,
    backend: str = "duckdb",
    *,
    manifest: dict[str, Any] | None = None,
    **options: Any,
) -> ibis.BaseBackend:
    """Open an Ibis backend with views ``trade``, ``products`` and ``countries`` over the files
    of ``manifest`` (default: the one committed now), refused in one sentence if one is missing
    or damaged."""
    manifest = store.manifest() if manifest is None else manifest
    files = {name: store.files(name, manifest) for name in TABLES}
    if backend == "duckdb":
        return _duckdb(files, **options)
    if backend == "pyspark":
        return _pyspark(files, **options)
    raise ChokepointsError(f"unknown engine {backend!r}; use one of {', '.join(BACKENDS)}")


def countries_arrow() -> pa.Table:
    """The reference countries table as Arrow, in the canonical ``COUNTRIES`` schema."""
    return schema.conform(
        pa.Table.from_pandas(countries(), preserve_index=False),
        schema.COUNTRIES,
        what="countries",
    )


def _duckdb(
    files_of: dict[str, list[Path]], threads: int | None = None, memory_limit: str | None = None
):
    """In-memory DuckDB whose views read the store's Parquet files in place."""
    settings = {"threads": threads, "memory_limit": memory_limit}
    con = ibis.duckdb.connect(**{k: v for k, v in settings.items() if v})
    raw = con.con
    for name, table_schema in TABLES.items():
        files = files_of[name]
        if files:
            listing = ", ".join(f"'{sql_path(f)}'" for f in files)
            # The files hold every column; reading the folder names as hive partitions too
            # made DuckDB 2.0 apply a filter on them after a window partitioned by year.
            raw.execute(
                f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet([{listing}], "
                "union_by_name = true, hive_partitioning = false)"
            )
        else:
            raw.register(f"_{name}_empty", table_schema.empty_table())
            raw.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM _{name}_empty")
    raw.register("_countries_arrow", countries_arrow())
    raw.execute("CREATE OR REPLACE TABLE countries AS SELECT * FROM _countries_arrow")
    raw.unregister("_countries_arrow")
    return con


def _pyspark(files_of: dict[str, list[Path]], session: Any = None):
    """A PySpark backend (local mode unless a session is given) with the same views."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ChokepointsError(
            "the Spark engine needs PySpark: pip install 'chokepoints[spark]' (and Java 17)"
        ) from exc
    if session is None:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("chokepoints")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            # Spark otherwise creates spark-warehouse/ in the current folder; one per session.
            .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="chokepoints-spark-"))
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
    for name, table_schema in TABLES.items():
        files = [str(f) for f in files_of[name]]
        frame = (
            session.read.parquet(*files)
            if files
            else session.createDataFrame([], schema=_spark_ddl(table_schema))
        )
        frame.createOrReplaceTempView(name)
    session.createDataFrame(countries_arrow()).createOrReplaceTempView("countries")
    return ibis.pyspark.connect(session)


def _spark_ddl(table_schema: pa.Schema) -> str:
    """A Spark DDL schema string for one of the canonical Arrow schemas."""
    types = {
        "int8": "TINYINT",
        "int16": "SMALLINT",
        "int32": "INT",
        "double": "DOUBLE",
        "string": "STRING",
        "bool": "BOOLEAN",
    }
    return ", ".join(f"`{f.name}` {types[str(f.type)]}" for f in table_schema)
