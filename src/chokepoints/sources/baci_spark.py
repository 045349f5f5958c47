"""BACI yearly files converted by Spark: the rows the DuckDB reader gives, for the same ingest.

``ingest_baci_spark`` describes the input with ``sources.baci`` (file names, headers, country and
product files; an archive's members are extracted under ``HOME/.extract``, where Spark's workers
can read them), then ingests it through the store with a staging writer that runs one Spark job
per yearly file, all at once. Each job reads its file as lines, parses them with Spark's CSV
parser and maps them with ``baci.trade_columns``, the SQL the DuckDB reader runs too; it writes
plain Parquet into the ingest's staging folder. The store then reads that Parquet with DuckDB,
applies every check of any ingest, writes the part files with their metadata and commits them
with one rename, as for any ingest.

A file with a line that Spark might not read as DuckDB does (another number of fields, a stray
quote, bytes that are not UTF-8, a number not written as plain digits) is read by DuckDB
instead, so that its rows, or the sentence refusing it, are the DuckDB path's own.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import duckdb

from chokepoints.config import EngineSettings
from chokepoints.errors import ChokepointsError
from chokepoints.extract import Extract, RelationBuilder, TradePart, sql_path
from chokepoints.inputs import check_input
from chokepoints.sources.baci import (
    YearlyFile,
    read_baci_files,
    select_list,
    trade_columns,
    trade_constants,
)
from chokepoints.store import Progress, Store, TradeWriter

#: Where an archive's members are extracted during a Spark ingest, under the workspace home:
#: beside the store, on a filesystem Spark's workers share with this machine.
EXTRACT_FOLDER = ".extract"

#: Spark jobs run at once, one per yearly file: enough to keep a cluster's cores busy.
CONCURRENT_JOBS = 8

#: Text that Spark and DuckDB both parse to the same number: digits, maybe a fraction, a minus
#: sign and space padding (as BACI writes v and q). Anything else goes to DuckDB.
PLAIN_NUMBER = r"^ *-?[0-9]{1,15}(\.[0-9]{1,15})? *$"
#: Years as both parse them to the same SMALLINT.
PLAIN_YEAR = r"^ *[0-9]{1,4} *$"
#: A line in which every quote, if any, wraps a whole field that is not empty (DuckDB reads
#: ``""`` as null, Spark as empty text).
WHOLE_QUOTED_FIELDS = r'^("[^"]+"|[^",]*)(,("[^"]+"|[^",]*))*$'
#: How Spark decodes bytes that are not UTF-8.
REPLACEMENT_CHARACTER = "\ufffd"
#: Spark's CSV parser set as DuckDB's reader: comma, double quotes escaped by doubling.
CSV_OPTIONS = {
    "mode": "PERMISSIVE",
    "columnNameOfCorruptRecord": "_corrupt",
    "sep": ",",
    "quote": '"',
    "escape": '"',
}


def ingest_baci_spark(
    store: Store,
    path: Path | str,
    settings: EngineSettings,
    *,
    revision: str | None = None,
    release: str | None = None,
    years: list[int] | None = None,
    progress: Progress | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Ingest a BACI archive, yearly CSV or folder as ``Workspace.ingest_baci`` does, with the
    yearly files converted by Spark on ``settings``' master; return the manifest record."""
    if settings.spark_store_url:
        raise ChokepointsError(
            f"[spark] store_url says the cluster reads the store at {settings.spark_store_url}, "
            f"but a Spark ingest writes into {store.home} itself; ingest with --backend duckdb, "
            "then copy the home to store_url as usual"
        )
    from chokepoints.engine import spark_session

    check_input(path, folders=True)
    extract, files = read_baci_files(
        path,
        revision=revision,
        release=release,
        years=years,
        workdir=store.home / EXTRACT_FOLDER,
    )
    try:  # started once the input is known to be readable: a bad file fails without a JVM
        session = spark_session(settings.spark_master, settings.spark_conf)
    except BaseException:
        if extract.cleanup is not None:
            extract.cleanup()
        raise
    return store.ingest(extract, progress, replace=replace, writer=spark_writer(session, files))


def spark_writer(session: Any, files: list[YearlyFile]) -> TradeWriter:
    """A staging writer that converts ``files`` (those of the extract's trade parts, in order)
    with Spark, one job per file, all submitted at once."""

    def write(extract: Extract, folder: Path, progress: Progress) -> list[RelationBuilder]:
        """Convert every file into ``folder/<part number>``; return the parts' builders."""
        outputs = [folder / str(number) for number in range(len(files))]
        progress(f"converting {len(files)} file(s) with Spark", 0, len(files))
        with ThreadPoolExecutor(
            max_workers=min(len(files), CONCURRENT_JOBS), thread_name_prefix="chokepoints-spark"
        ) as pool:
            jobs = [
                pool.submit(_convert, session, file, output)
                for file, output in zip(files, outputs, strict=True)
            ]
            try:
                for done, job in enumerate(as_completed(jobs), start=1):
                    job.result()
                    progress("converted with Spark", done, len(files))
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        parts = zip(extract.trade, files, outputs, strict=True)
        return [_staged(part, file, output) for part, file, output in parts]

    return write


def _convert(session: Any, file: YearlyFile, output: Path) -> None:
    """Write ``file``'s rows in the canonical trade columns, with its header line flagged
    ``_header`` and the lines to leave to DuckDB flagged ``_rejected``, as Parquet in
    ``output``, in the file's order (one task per split, written in split order)."""
    from pyspark.sql import functions as sf

    fields = ", ".join(f"`{name}` STRING" for name in file.header)
    lines = (
        session.read.text(_glob_escaped(file.path))
        .where(sf.col("value") != "")
        .select(
            "value",
            sf.col("_metadata.file_block_start").alias("block"),
            sf.from_csv("value", f"{fields}, _corrupt STRING", CSV_OPTIONS).alias("r"),
        )
    )
    header = "(block = 0 AND regexp_replace(value, :byte_order_mark, '') = :header_line)"
    rejected = f"""NOT {header} AND (
        r._corrupt IS NOT NULL
        OR value RLIKE :replacement
        OR (instr(value, '"') > 0 AND NOT value RLIKE :quoted)
        OR (r.t IS NOT NULL AND NOT r.t RLIKE :year)
        OR (r.v IS NOT NULL AND NOT r.v RLIKE :number)
        OR (coalesce(trim(r.q), '') NOT IN ('', 'NA') AND NOT r.q RLIKE :number)
        OR length(trim(r.k)) > 127)"""
    converted = session.sql(
        f"""SELECT {select_list(trade_columns(file.codes, "spark"))},
                   {header} AS _header,
                   {rejected} AS _rejected
            FROM {{lines}}""",
        args={
            "byte_order_mark": "^\ufeff",
            "header_line": file.header_line,
            "replacement": REPLACEMENT_CHARACTER,
            "quoted": WHOLE_QUOTED_FIELDS,
            "year": PLAIN_YEAR,
            "number": PLAIN_NUMBER,
        },
        lines=lines,
    )
    try:
        converted.write.mode("errorifexists").parquet(str(output))
    except Exception as exc:
        raise ChokepointsError(
            f"Spark could not convert {file.path.name} ({_reason(exc)}); on a cluster, every "
            f"worker must read {file.path.parent} and write {output.parent} at these paths"
        ) from exc


def _staged(part: TradePart, file: YearlyFile, output: Path) -> RelationBuilder:
    """The builder of ``part``'s rows from Spark's Parquet in ``output``, or the part's own
    DuckDB builder when Spark flagged a line it may not read as DuckDB does.

    DuckDB writes a column as required when it can prove it holds no null, from constants and
    from Parquet statistics, and as optional otherwise. So that the part files are those of the
    DuckDB path, the columns the CSV gives pass through a CASE that DuckDB cannot prove, and the
    constant ones are the same literals as there.
    """
    read = trade_columns(file.codes, "spark")
    columns = {name: f"CASE WHEN _header THEN NULL ELSE {name} END" for name in read}
    columns |= trade_constants(file.revision, file.release)

    def build(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        files = sorted(output.glob("*.parquet"))
        if not files:
            raise ChokepointsError(
                f"Spark wrote no file for {part.origin} that this machine can see in {output}; "
                "on a cluster, the workspace home must be on a filesystem every worker mounts "
                "at the same path"
            )
        scan = "read_parquet([" + ", ".join(f"'{sql_path(f)}'" for f in files) + "])"
        rejected, headers = con.execute(
            f"SELECT count(*) FILTER (WHERE _rejected), count(*) FILTER (WHERE _header) FROM {scan}"
        ).fetchall()[0]
        if rejected or headers != 1:
            return part.build(con)
        return con.sql(f"SELECT {select_list(columns)} FROM {scan} WHERE NOT _header")

    return build


def _glob_escaped(path: Path) -> str:
    """``path`` with the characters Spark would read as a glob pattern escaped."""
    return re.sub(r"([\[\]{}*?\\])", r"\\\1", str(path))


def _reason(exc: BaseException) -> str:
    """The telling line of a Spark error: the last Java exception's message, if any."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    causes = [line for line in lines if "Exception: " in line]
    telling = causes[-1].rsplit("Exception: ", 1)[-1] if causes else (lines or [""])[0]
    return telling.rstrip(".")[:300]
