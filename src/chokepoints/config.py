"""Which engine answers: DuckDB or Spark, the Spark master and its settings.

Each choice is taken from the first place that gives it: the caller (``Workspace.open``
arguments, or the ``--backend`` and ``--spark-master`` flags of the command line), the
environment (``CHOKEPOINTS_BACKEND``, ``CHOKEPOINTS_SPARK_MASTER``), ``HOME/config.toml``, and
the default (DuckDB; Spark on ``local[*]``). ``config.toml`` reads::

    backend = "spark"                        # or "duckdb"

    [spark]
    master = "spark://spark-master:7077"     # local[*], spark://HOST:PORT, sc://HOST:PORT
    driver_memory = "4g"                     # spark.driver.memory
    executor_memory = "8g"                   # spark.executor.memory
    store_url = "hdfs://namenode:8020/chokepoints"   # where the cluster reads HOME's files

    [spark.conf]                             # any Spark setting
    "spark.executor.cores" = 4

    [duckdb]
    memory_limit = "6GB"                     # beyond it DuckDB spills to temp_directory
    threads = 4
    temp_directory = "/scratch/duckdb"       # where it spills (default: DuckDB's own)

A bad value is refused in one sentence naming the flag, variable or file (with its line) that
set it and what to write instead. Nothing here imports PySpark.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chokepoints.errors import ChokepointsError, InputError

#: The engines by the names users give them; ``pyspark`` is the Ibis backend's own name.
BACKEND_NAMES = {"duckdb": "duckdb", "spark": "pyspark", "pyspark": "pyspark"}
#: What a user is told to choose from.
BACKEND_CHOICES = "duckdb or spark"
#: The Spark master used when none is chosen: every core of this machine.
DEFAULT_SPARK_MASTER = "local[*]"
MASTER_FORMS = "local[*], spark://HOST:PORT (a standalone master) or sc://HOST:PORT (Spark Connect)"

BACKEND_VARIABLE = "CHOKEPOINTS_BACKEND"
MASTER_VARIABLE = "CHOKEPOINTS_SPARK_MASTER"
CONFIG_FILE = "config.toml"

#: Keys of ``config.toml``: top level, and its ``[spark]`` table.
TOP_KEYS = ("backend", "spark", "duckdb")
SPARK_KEYS = ("master", "driver_memory", "executor_memory", "store_url", "conf")
DUCKDB_KEYS = ("memory_limit", "threads", "temp_directory")
#: ``[spark]`` keys that stand for one Spark setting.
SPARK_SHORTHANDS = {
    "driver_memory": "spark.driver.memory",
    "executor_memory": "spark.executor.memory",
}

_HOST = r"[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:.]+\]"
_PORT = r"\d{1,5}"
_MASTER = re.compile(
    rf"""^(?:
        local(?:\[(?:\*|[1-9]\d*)(?:,\d+)?\])?              # local, local[4], local[*,2]
      | local-cluster\[\d+,\d+,\d+\]
      | spark://(?:{_HOST}):{_PORT}(?:,(?:{_HOST}):{_PORT})*  # standalone, with HA masters
      | sc://(?:{_HOST})(?::{_PORT})?(?:/;[^\s]*|/)?         # Spark Connect
      | yarn
      | k8s://\S+
    )$""",
    re.VERBOSE,
)
_MEMORY = re.compile(r"^\d+[kmgtp]?b?$", re.IGNORECASE)


@dataclass(frozen=True)
class EngineSettings:
    """The engine a workspace answers on, and for Spark how to reach it.

    ``spark_master`` is None when no one chose it: a script run by ``spark-submit`` then keeps
    the master given to ``spark-submit``, anything else runs on ``local[*]``. ``spark_conf``
    holds Spark settings (``spark.executor.memory``...); ``spark_store_url`` is the URL at which
    Spark reads the store's home folder when it is not the local path (a cluster whose workers
    mount the store elsewhere, HDFS, S3).
    """

    backend: str = "duckdb"
    spark_master: str | None = None
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    spark_store_url: str | None = None
    #: DuckDB's ``memory_limit`` ("6GB"), ``threads`` and spill folder; None keeps its default.
    duckdb_memory_limit: str | None = None
    duckdb_threads: int | None = None
    duckdb_temp_directory: str | None = None

    @property
    def is_spark(self) -> bool:
        """True when Spark answers."""
        return self.backend == "pyspark"

    def connect_options(self) -> dict[str, Any]:
        """Keyword options of ``engine.connect`` for this engine."""
        if not self.is_spark:
            return {
                "memory_limit": self.duckdb_memory_limit,
                "threads": self.duckdb_threads,
                "temp_directory": self.duckdb_temp_directory,
            }
        return {
            "master": self.spark_master,
            "conf": dict(self.spark_conf),
            "store_url": self.spark_store_url,
        }

    def label(self) -> str:
        """``duckdb`` or ``spark (MASTER)``, the master without Spark Connect's parameters."""
        if not self.is_spark:
            return "duckdb"
        return f"spark ({public_master(self.spark_master or DEFAULT_SPARK_MASTER)})"


def public_master(master: str) -> str:
    """A master URL fit to print: Spark Connect's ``/;token=...`` parameters left out."""
    return master.split("/;", 1)[0].rstrip("/") if master.startswith("sc://") else master


# -- choices made on the command line ------------------------------------------------------
_chosen: ContextVar[dict[str, tuple[str, str]] | None] = ContextVar(
    "chokepoints_engine_choice", default=None
)


@contextlib.contextmanager
def chosen(**choices: tuple[str, str] | None) -> Iterator[None]:
    """Within this block, ``engine_settings`` takes these (value, flag) choices before the
    environment and ``config.toml``: the command line's ``--backend`` and ``--spark-master``."""
    token = _chosen.set({name: choice for name, choice in choices.items() if choice})
    try:
        yield
    finally:
        _chosen.reset(token)


# -- checks --------------------------------------------------------------------------------
def check_backend(value: str, *, given_as: str = "backend") -> str:
    """The Ibis backend (``duckdb`` or ``pyspark``) for a user's name of an engine.

    ``given_as`` names where ``value`` came from (``--backend``, ``CHOKEPOINTS_BACKEND``,
    ``config.toml, line 1: backend``) so that a refusal says what to fix.
    """
    name = BACKEND_NAMES.get(str(value).strip().lower())
    if name is None:
        raise ChokepointsError(f"{given_as} is {value!r}, not an engine; use {BACKEND_CHOICES}")
    return name


def check_master(value: str, *, given_as: str = "spark_master") -> str:
    """``value`` when it is a Spark master URL Spark can take, else a one-sentence refusal."""
    text = str(value).strip()
    if not _MASTER.match(text) or any(
        int(port) > 65535 for port in re.findall(r":(\d+)(?=$|[,/])", text)
    ):
        raise ChokepointsError(
            f"{given_as} is {value!r}, not a Spark master URL; use {MASTER_FORMS}"
        )
    return text


# -- resolution ----------------------------------------------------------------------------
def engine_settings(
    home: Path,
    *,
    backend: str | None = None,
    spark_master: str | None = None,
    spark_conf: Mapping[str, Any] | None = None,
    spark_store_url: str | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: Path | str | None = None,
) -> EngineSettings:
    """The engine a workspace at ``home`` answers on: each choice from the arguments, else
    the command line's flags, else the environment, else ``HOME/config.toml``, else the
    default (DuckDB; Spark on ``local[*]``, or on the master of ``spark-submit``).

    ``spark_conf`` is merged over ``config.toml``'s Spark settings, key by key; DuckDB's
    ``memory_limit``, ``threads`` and ``temp_directory`` over its ``[duckdb]`` table.
    """
    file = read_config(home)
    flags = _chosen.get() or {}
    path = home / CONFIG_FILE

    def first(
        argument: str | None, name: str, variable: str, key: str, table: str | None
    ) -> tuple[str, str] | None:
        """(value, where it came from) of the first place that gives one, or None."""
        if argument is not None:
            return argument, name
        if name in flags:
            return flags[name]
        if os.environ.get(variable):
            return os.environ[variable], variable
        entries = file.get(table, {}) if table else file
        if key in entries:
            line = _line_of(file["_text"], table, key)
            return entries[key], f"{path}{f', line {line}' if line else ''}: {_key(table, key)}"
        return None

    chosen_backend = first(backend, "backend", BACKEND_VARIABLE, "backend", None)
    name = _checked(check_backend, chosen_backend) if chosen_backend else "duckdb"
    chosen_master = first(spark_master, "spark_master", MASTER_VARIABLE, "master", "spark")
    master = _checked(check_master, chosen_master) if chosen_master else None
    if chosen_master and chosen_master[1] in ("spark_master", "--spark-master"):
        # A master named by the caller asks for Spark, unless an engine was chosen too.
        if chosen_backend is None:
            name = "pyspark"
        elif name != "pyspark":
            raise ChokepointsError(
                f"{chosen_master[1]} is given but the engine is duckdb ({chosen_backend[1]}); "
                f"choose the engine spark or leave {chosen_master[1]} out"
            )
    spark = file.get("spark", {})
    conf = {SPARK_SHORTHANDS[key]: value for key, value in spark.items() if key in SPARK_SHORTHANDS}
    conf |= spark.get("conf", {})
    conf |= {str(k): _setting(v, f"spark_conf[{k!r}]") for k, v in (spark_conf or {}).items()}
    store_url = spark_store_url if spark_store_url is not None else spark.get("store_url")
    duck = file.get("duckdb", {})
    memory = memory_limit if memory_limit is not None else duck.get("memory_limit")
    if memory_limit is not None and not _MEMORY.match(memory_limit.strip()):
        raise ChokepointsError(f"memory_limit is {memory_limit!r}; write an amount such as '6GB'")
    folder = temp_directory if temp_directory is not None else duck.get("temp_directory")
    if threads is not None and (isinstance(threads, bool) or threads < 1):
        raise ChokepointsError(f"threads is {threads!r}; give a whole number of at least 1")
    return EngineSettings(
        backend=name,
        spark_master=master,
        spark_conf=conf,
        spark_store_url=str(store_url).rstrip("/") if store_url else None,
        duckdb_memory_limit=memory,
        duckdb_threads=threads if threads is not None else duck.get("threads"),
        duckdb_temp_directory=str(Path(folder).expanduser()) if folder else None,
    )


def _checked(check: Any, choice: tuple[Any, str]) -> str:
    """The value of a (value, where) choice passed by ``check``, refused unless it is text."""
    value, where = choice
    if not isinstance(value, str):
        raise ChokepointsError(f"{where} is {value!r}; write it as text in quotes")
    return check(value, given_as=where)


def _key(table: str | None, key: str) -> str:
    """How a user finds a key in config.toml: ``backend`` or ``[spark] master``."""
    return f"[{table}] {key}" if table else key


# -- config.toml ---------------------------------------------------------------------------
def read_config(home: Path) -> dict[str, Any]:
    """``HOME/config.toml`` checked key by key (``{}`` when there is none), with its text
    under ``_text`` so that errors can name a key's line."""
    from chokepoints.reference.toml_files import parse_toml, read_text

    path = home / CONFIG_FILE
    if not path.is_file():
        return {}
    text = read_text(path, what="configuration")
    data = parse_toml(text, file=str(path))
    _check_keys(data, TOP_KEYS, path, text, None)
    spark = data.get("spark", {})
    if not isinstance(spark, dict):
        _refuse(path, text, None, "spark", "must be a table: write [spark] on its own line")
    _check_keys(spark, SPARK_KEYS, path, text, "spark")
    for key in ("master", "store_url", *SPARK_SHORTHANDS):
        if key in spark and not isinstance(spark[key], str):
            _refuse(path, text, "spark", key, f"is {spark[key]!r}; write it as text in quotes")
    for key in SPARK_SHORTHANDS:
        if key in spark and not _MEMORY.match(spark[key].strip()):
            _refuse(path, text, "spark", key, f'is {spark[key]!r}; write an amount such as "4g"')
    conf = spark.get("conf", {})
    if not isinstance(conf, dict):
        _refuse(path, text, "spark", "conf", 'must be a table: [spark.conf] "spark.x" = "..."')
    checked = {}
    for key, value in conf.items():
        if isinstance(value, dict):
            _refuse(
                path,
                text,
                "spark.conf",
                key,
                "is read as a table; put each Spark setting's name in quotes "
                '("spark.executor.memory" = "4g")',
            )
        if not key.startswith("spark."):
            _refuse(
                path,
                text,
                "spark.conf",
                key,
                "is not a Spark setting; Spark settings start with 'spark.' "
                '(e.g. "spark.executor.memory" = "4g")',
            )
        checked[key] = _setting(value, f"{path}: [spark.conf] {key}")
    if conf:
        spark["conf"] = checked
    _check_duckdb(data.get("duckdb", {}), path, text)
    data["_text"] = text
    return data


def _check_duckdb(duck: Any, path: Path, text: str) -> None:
    """Refuse a ``[duckdb]`` table whose keys or values DuckDB would not take."""
    if not isinstance(duck, dict):
        _refuse(path, text, None, "duckdb", "must be a table: write [duckdb] on its own line")
    _check_keys(duck, DUCKDB_KEYS, path, text, "duckdb")
    limit = duck.get("memory_limit")
    if limit is not None and not (isinstance(limit, str) and _MEMORY.match(limit.strip())):
        _refuse(
            path, text, "duckdb", "memory_limit", f'is {limit!r}; write an amount such as "6GB"'
        )
    threads = duck.get("threads")
    if threads is not None and (
        not isinstance(threads, int) or isinstance(threads, bool) or threads < 1
    ):
        _refuse(path, text, "duckdb", "threads", f"is {threads!r}; write a whole number such as 4")
    folder = duck.get("temp_directory")
    if folder is not None and not isinstance(folder, str):
        _refuse(path, text, "duckdb", "temp_directory", f"is {folder!r}; write a folder in quotes")


def _check_keys(
    entries: dict[str, Any], known: tuple[str, ...], path: Path, text: str, table: str | None
) -> None:
    """Refuse a key ``config.toml`` does not know, naming it, its line and the known ones."""
    for key in entries:
        if key not in known:
            where = f"[{table}]" if table else "the top level"
            _refuse(path, text, table, key, f"is not a setting of {where}; use {', '.join(known)}")


def _refuse(path: Path, text: str, table: str | None, key: str, problem: str) -> None:
    """Raise the one-sentence error for ``key`` of ``table`` in config.toml."""
    raise InputError(
        f"{_key(table, key)} {problem}", file=str(path), line=_line_of(text, table, key)
    )


def _setting(value: Any, where: str) -> str:
    """A Spark setting as Spark takes it: text, numbers as written, booleans in lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ChokepointsError(f"{where} is {value!r}; give text, a number or true/false")


_TABLE_LINE = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(?:#.*)?$")


def _line_of(text: str, table: str | None, key: str) -> int | None:
    """The line of ``config.toml`` where ``key`` of ``table`` is set, when it can be told."""
    current: str | None = None
    name = re.escape(key)
    assignment = re.compile(rf"^\s*(?:\"{name}\"|'{name}'|{name})\s*[=.]")
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE_LINE.match(line)
        if header:
            current = header.group(1).replace('"', "").replace(" ", "")
            if table is None and current == key:
                return number
            continue
        if current == table and assignment.match(line):
            return number
    return None
