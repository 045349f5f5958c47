"""Ibis backends over the store: embedded DuckDB by default, PySpark when asked.

Both expose the same tables (``trade``, ``products``, ``countries``) so that every analysis is one
Ibis expression that runs unchanged on either engine. Every table reads the files of one manifest
(one generation of the store), so a commit made meanwhile never mixes into a reader's answers.
Spark runs on this machine (``local[*]``), on a standalone cluster (``spark://``) or behind
Spark Connect (``sc://``) and reads the Parquet files itself; PySpark is imported only then.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoints.config import DEFAULT_SPARK_MASTER, check_backend, public_master
from chokepoints.errors import ChokepointsError
from chokepoints.extract import sql_path

if TYPE_CHECKING:
    import ibis
    import pyarrow as pa

    from chokepoints.store import Store

BACKENDS = ("duckdb", "pyspark")


def tables() -> dict[str, pa.Schema]:
    """The canonical tables by name (``trade`` and the companion tables), with their schemas:
    read here rather than at import, which would cost pyarrow to commands that open no engine."""
    from chokepoints import schema

    return {"trade": schema.TRADE, **schema.COMPANION_TABLES}


#: What the engine opened last in this context answered on (``duckdb``, ``spark (local[*])``),
#: for the command line's provenance; see ``answered_by``.
_opened: ContextVar[str | None] = ContextVar("chokepoints_engine_opened", default=None)


def connect(
    store: Store,
    backend: str = "duckdb",
    *,
    manifest: dict[str, Any] | None = None,
    **options: Any,
) -> ibis.BaseBackend:
    """Open an Ibis backend with views ``trade``, ``products`` and ``countries`` over the files
    of ``manifest`` (default: the one committed now), refused in one sentence if one is missing
    or damaged.

    ``backend`` is ``duckdb`` or ``pyspark`` (``spark``). DuckDB takes ``threads``,
    ``memory_limit`` and ``temp_directory``; Spark takes ``master``, ``conf``, ``store_url`` or
    a ``session`` (see ``spark_session``).
    """
    name = check_backend(backend, given_as="backend")
    manifest = store.manifest() if manifest is None else manifest
    files = {table: store.files(table, manifest) for table in tables()}
    if name == "duckdb":
        con = _duckdb(files, **options)
        _opened.set("duckdb")
    else:
        con = _pyspark(files, home=store.home, **options)
        _opened.set(spark_label(con))
    return con


def answered_by() -> str | None:
    """The engine the last ``connect`` in this context opened, as printed in provenance:
    ``duckdb`` or ``spark (MASTER)``; None when none was opened."""
    return _opened.get()


@contextlib.contextmanager
def answering() -> Iterator[None]:
    """Forget, on entry and on leaving, which engine answered (one command line run)."""
    token = _opened.set(None)
    try:
        yield
    finally:
        _opened.reset(token)


def countries_arrow() -> pa.Table:
    """The reference countries table as Arrow, in the canonical ``COUNTRIES`` schema."""
    import pyarrow as pa

    from chokepoints import schema
    from chokepoints.reference.countries import countries

    return schema.conform(
        pa.Table.from_pandas(countries(), preserve_index=False),
        schema.COUNTRIES,
        what="countries",
    )


def _duckdb(
    files_of: dict[str, list[Path]],
    threads: int | None = None,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
) -> ibis.BaseBackend:
    """In-memory DuckDB whose views read the store's Parquet files in place; beyond
    ``memory_limit`` it spills to ``temp_directory``."""
    settings = {"threads": threads, "memory_limit": memory_limit, "temp_directory": temp_directory}
    import ibis

    con = ibis.duckdb.connect(**{k: v for k, v in settings.items() if v})
    raw = con.con
    for name, table_schema in tables().items():
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


def _pyspark(
    files_of: dict[str, list[Path]],
    *,
    home: Path,
    session: Any = None,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    store_url: str | None = None,
) -> ibis.BaseBackend:
    """A PySpark backend with the same views, each reading the store's Parquet files directly.

    The views live in a Spark SQL session of their own (``spark_session``), so two workspaces
    of one process never see each other's tables. With ``store_url`` Spark reads the files at
    that URL (the store's home folder as the cluster sees it) instead of the local paths.
    """
    if not store_url and ":" in str(home):
        # Hadoop reads what comes before a ':' as a URI scheme, deep inside the first query.
        raise ChokepointsError(
            f"Spark cannot read the store at {home}: Hadoop paths may not contain ':'; move "
            "the home to a path without ':' or use the engine duckdb"
        )

    import ibis

    if session is None:
        session = spark_session(master, conf)
    for name, table_schema in tables().items():
        paths = [_spark_path(f, home, store_url) for f in files_of[name]]
        ddl = _spark_ddl(table_schema)
        # The canonical schema is given rather than inferred: inferring it runs a Spark job
        # per table, and a column missing from older files reads as null (as on DuckDB).
        frame = (
            session.read.schema(ddl).parquet(*paths)
            if paths
            else session.createDataFrame([], schema=ddl)
        )
        frame.createOrReplaceTempView(name)
    session.createDataFrame(countries_arrow()).createOrReplaceTempView("countries")
    return ibis.pyspark.connect(session)


#: Settings of every Spark session chokepoints starts, which the user's settings override.
SPARK_DEFAULTS = {
    "spark.app.name": "chokepoints",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
}
#: More defaults on a local master, where one machine runs the whole job.
LOCAL_SPARK_DEFAULTS = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"}
#: The driver's logging configuration when chokepoints starts Spark: errors only.
QUIET_LOG4J = Path(__file__).with_name("spark-log4j2.properties").as_uri()


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """A new Spark SQL session for one workspace, on ``master``.

    ``sc://`` (Spark Connect): a session of its own on the server. Otherwise a new session on
    this process's SparkContext, which is started on ``master`` (default ``local[*]``, or the
    master ``spark-submit`` was given) with ``conf`` and a fresh temporary warehouse folder
    when there is none yet. A running SparkContext on another master is refused rather than
    silently used.
    """
    settings = dict(conf or {})
    if master:
        _check_reachable(master)
    # PySpark warns at import and at every pandas conversion that it does not know pandas 3 yet;
    # the parity tests check every answer against DuckDB's, so the warning tells users nothing.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    if master and master.startswith("sc://"):
        return _connect_session(master, settings)
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ChokepointsError(
            "the Spark engine needs PySpark: pip install 'chokepoints[spark]' (and Java 17)"
        ) from exc
    running = SparkContext._active_spark_context
    if running is not None:
        if master and not _same_master(str(running.master), master):
            raise ChokepointsError(
                f"this Python process already runs Spark on {running.master}, so spark_master "
                f"{master} cannot start; stop that session first (spark.stop()) or use "
                f"spark_master={running.master!r}"
            )
        session = SparkSession.builder.getOrCreate().newSession()
        for key, value in settings.items():
            if session.conf.isModifiable(key):
                session.conf.set(key, value)
        return session
    defaults = dict(SPARK_DEFAULTS)
    if master is None and _under_spark_submit():
        defaults.pop("spark.app.name")  # spark-submit's --name, master and settings stand
    elif master is None:
        master = DEFAULT_SPARK_MASTER
    local = (master or "").startswith("local")
    settings = {**defaults, **(LOCAL_SPARK_DEFAULTS if local else {}), **settings}
    # A static setting, read once per SparkContext; Spark otherwise writes spark-warehouse/
    # into the current folder.
    if "spark.sql.warehouse.dir" not in settings:
        settings["spark.sql.warehouse.dir"] = _temporary_warehouse()
    if "spark.driver.extraJavaOptions" not in settings:
        settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={QUIET_LOG4J}"
    builder = SparkSession.builder
    if master:
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        raise ChokepointsError(
            f"Spark could not start on {master or 'the spark-submit master'}: "
            f"{_first_line(exc)}; check spark_master and the [spark] settings"
        ) from exc
    if "spark.log.level" not in settings:
        session.sparkContext.setLogLevel("ERROR")
    if settings["spark.sql.warehouse.dir"] in _WAREHOUSES:
        atexit.register(shutil.rmtree, settings["spark.sql.warehouse.dir"], ignore_errors=True)
    return session


def spark_label(con: ibis.BaseBackend) -> str:
    """``spark (MASTER)`` of an Ibis PySpark backend: the master its session really runs on."""
    session = con._session
    try:
        master = session.sparkContext.master
    except Exception:  # Spark Connect sessions have no SparkContext here
        master = getattr(session, "_chokepoints_url", None) or "Spark Connect"
    return f"spark ({public_master(master)})"


def _connect_session(url: str, settings: dict[str, str]) -> Any:
    """A new Spark Connect session on the server at ``url``."""
    # Checked first: PySpark's own check exits the process in some embeddings.
    missing = [name for name in CONNECT_MODULES if not _importable(name)]
    if missing:
        raise ChokepointsError(
            f"Spark Connect ({public_master(url)}) needs PySpark's client libraries, "
            f"missing here: {', '.join(missing)}; pip install 'pyspark[connect]'"
        )
    try:
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.remote(url)
        for key, value in {**SPARK_DEFAULTS, **settings}.items():
            builder = builder.config(key, value)
        session = builder.create()
    except ImportError as exc:
        raise ChokepointsError(
            f"Spark Connect ({public_master(url)}) needs PySpark's client libraries: "
            f"pip install 'pyspark[connect]' ({_first_line(exc)})"
        ) from exc
    except Exception as exc:
        raise ChokepointsError(
            f"cannot open a Spark Connect session at {public_master(url)}: "
            f"{_first_line(exc)}; check that the server runs and spark_master"
        ) from exc
    # Read back by spark_label: a Spark Connect session has no SparkContext to ask.
    setattr(session, "_chokepoints_url", url)  # noqa: B010
    return session


def _check_reachable(master: str, timeout: float = 5) -> None:
    """Refuse in one sentence a ``spark://`` or ``sc://`` master nothing listens at (Spark
    would otherwise retry for a minute and print Java stack traces)."""
    scheme, _, rest = master.partition("://")
    if scheme not in ("spark", "sc"):
        return
    addresses = rest.split("/", 1)[0].split(",")
    reasons = []
    for address in addresses:
        host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
        try:
            with socket.create_connection((host.strip("[]"), int(port or 15002)), timeout):
                return
        except OSError as exc:
            reasons.append(exc.strerror or type(exc).__name__)
    raise ChokepointsError(
        f"no Spark {'Connect server' if scheme == 'sc' else 'master'} answers at "
        f"{public_master(master)} ({'; '.join(reasons)}); start it, or check spark_master"
    )


#: Modules the Spark Connect client needs (``pip install 'pyspark[connect]'``).
CONNECT_MODULES = ("grpc", "grpc_status", "google.rpc")


def _importable(module: str) -> bool:
    """True when ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def _same_master(running: str, wanted: str) -> bool:
    """True when a SparkContext on ``running`` is the one ``wanted`` (``local[*]`` runs as
    ``local[*]``, a standalone master as its URL)."""
    return running.rstrip("/") == wanted.rstrip("/")


def _under_spark_submit() -> bool:
    """True in a script run by ``spark-submit``, whose master is then the one it was given."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


#: Warehouse folders made by this process, removed when it exits.
_WAREHOUSES: set[str] = set()


def _temporary_warehouse() -> str:
    """A new empty folder for Spark's warehouse, removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="chokepoints-spark-")
    _WAREHOUSES.add(folder)
    return folder


def _spark_path(file: Path, home: Path, store_url: str | None) -> str:
    """Where Spark reads one store file: its local path, or the same path under ``store_url``."""
    if not store_url:
        return str(file)
    return f"{store_url.rstrip('/')}/{file.relative_to(home).as_posix()}"


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (Java's stack traces left out)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip().rstrip(".")


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
