"""CEPII BACI: read the official archives, yearly CSVs or folders of them; download archives.

BACI yearly files have the header ``t,i,j,k,v,q``: year, exporter and importer as BACI numeric
country codes, HS6 product, value in thousands of USD and quantity in metric tons. Releases
differ in small ways that this reader absorbs: ``k`` with or without leading zeros, ``q``
missing as ``NA``, blank or space-padded, an extra unnamed index column in files saved by pandas,
and two layouts of the country code file (V202301 writes Taiwan's ISO3 as ``N/A``).
"""

from __future__ import annotations

import csv
import functools
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

from chokepoints import schema
from chokepoints.errors import InputError
from chokepoints.extract import (
    Extract,
    RowReader,
    SourceFile,
    TradePart,
    refuse_non_utf8,
    refuse_truncated,
    sql_path,
)
from chokepoints.reference.countries import baci_code_map
from chokepoints.sources import archive as zips

TRADE_FILE = re.compile(r"BACI_(HS\d{2})_Y(\d{4})_V(\d{6}[a-z]?)\.csv$", re.IGNORECASE)
ARCHIVE_FILE = re.compile(r"BACI_(HS\d{2})_V(\d{6}[a-z]?)\.zip$", re.IGNORECASE)
COUNTRY_FILE = re.compile(r"country_codes_V(\d{6}[a-z]?)\.csv$", re.IGNORECASE)
PRODUCT_FILE = re.compile(r"product_codes_(HS\d{2})_V(\d{6}[a-z]?)\.csv$", re.IGNORECASE)
COLUMNS = ("t", "i", "j", "k", "v", "q")
FIELDS = {
    "year": "t",
    "exporter": "i",
    "importer": "j",
    "product": "k",
    "value_usd": "v",
    "quantity_t": "q",
}

#: What to do about an archive that cannot be read whole.
DAMAGED_HINT = "download it again (`chokepoints data fetch baci` resumes a partial download)"

#: Share of a file's distinct product codes that may be missing from the declared revision's
#: nomenclature before the file is taken to be of another revision. BACI only uses codes of its
#: revision, so any sizeable share means a mislabelled file.
FOREIGN_CODE_TOLERANCE = 0.01


@dataclass(frozen=True)
class YearlyFile:
    """One BACI trade CSV of an Extract, as an engine that converts it itself (Spark) needs it:
    where it is, its header line as written and as column names, and its codes' meaning."""

    path: Path
    header: list[str]
    header_line: str
    revision: str
    release: str
    codes: dict[int, str]


@dataclass
class _Member:
    """One yearly trade CSV: where it is on disk once available, and what it is called."""

    name: str
    year: int | None
    path: Path | None = None


def read_baci(
    path: Path | str,
    *,
    revision: str | None = None,
    release: str | None = None,
    years: list[int] | None = None,
    workdir: Path | None = None,
) -> Extract:
    """Describe a BACI archive, yearly CSV or folder of them as an Extract for the store.

    ``revision`` (HS92...HS22) and ``release`` (V202501...) are read from official file names
    and may be given for files renamed by someone else; a contradiction is an error. ``years``
    restricts which yearly files of an archive or folder are read. An archive's members are
    extracted into a new folder under ``workdir`` (default: the system's temporary folder).
    """
    extract, _files = read_baci_files(
        path, revision=revision, release=release, years=years, workdir=workdir
    )
    return extract


def read_baci_files(
    path: Path | str,
    *,
    revision: str | None = None,
    release: str | None = None,
    years: list[int] | None = None,
    workdir: Path | None = None,
) -> tuple[Extract, list[YearlyFile]]:
    """``read_baci``'s Extract and the yearly file behind each of its trade parts, in order,
    for an engine that converts the files itself (``sources.baci_spark``)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError("no such file or folder", file=str(path), hint="check the path")
    revision = _normalize_revision(revision) if revision else None
    release = _normalize_release(release) if release else None
    if path.is_dir():
        return _read_folder(path, revision, release, years)
    if zipfile.is_zipfile(path) or path.suffix.lower() == ".zip":
        return _read_archive(path, revision, release, years, workdir)
    return _read_files(path.name, [path], {}, revision, release, None, [SourceFile.of(path)])


# -- the three kinds of input ----------------------------------------------------------------
def _read_folder(
    folder: Path, revision: str | None, release: str | None, years: list[int] | None
) -> tuple[Extract, list[YearlyFile]]:
    """A folder of yearly CSVs, with the release's country and product files if present."""
    csvs = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv")
    side = {
        p.name: p.read_text(encoding="utf-8-sig")
        for p in csvs
        if COUNTRY_FILE.search(p.name) or PRODUCT_FILE.search(p.name)
    }
    trade = [p for p in csvs if p.name not in side and _looks_like_trade(p)]
    if not trade:
        raise InputError(
            "no BACI trade file (header t,i,j,k,v,q) in this folder",
            file=str(folder),
            hint="point to a BACI_HSxx_Yyyyy_Vyyyymm.csv file, a folder of them or the zip",
        )
    trade = [p for p in trade if _wanted(_year_of(p.name), years)]
    files = [SourceFile.of(p) for p in trade]
    return _read_files(folder.name, trade, side, revision, release, years, files)


def _read_archive(
    archive: Path,
    revision: str | None,
    release: str | None,
    years: list[int] | None,
    parent: Path | None,
) -> tuple[Extract, list[YearlyFile]]:
    """An official BACI zip: stream the wanted yearly members to a new folder under ``parent``
    (default: the temporary folder).

    The archive must be whole (every member listed and readable) and its members within the
    zip-bomb limits of :class:`~chokepoints.sources.archive.Limits`; the folder is removed on
    any error, and by the store once it is done with the extract.
    """
    name_match = ARCHIVE_FILE.search(archive.name)
    if name_match:
        revision = _agree("revision", revision, name_match.group(1).upper(), archive.name)
        release = _agree("release", release, "V" + name_match.group(2), archive.name)
    limits = zips.Limits.from_env()
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="chokepoints-baci-", dir=parent))
    try:
        with zips.reading(archive, DAMAGED_HINT) as bundle:
            names = bundle.namelist()
            side = {
                Path(n).name: _text(zips.read_member(bundle, n, limits), archive, n)
                for n in names
                if COUNTRY_FILE.search(n) or PRODUCT_FILE.search(n)
            }
            chosen = _chosen_members(archive, names, years)
            paths = [workdir / Path(member).name for member in chosen]
            for member, target in zip(chosen, paths, strict=True):
                zips.extract_member(bundle, member, target, limits)
        extract, yearly = _read_files(
            archive.name,
            paths,
            side,
            revision,
            release,
            years,
            [SourceFile.of(archive)],
            from_archive=True,
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    extract.cleanup = lambda: shutil.rmtree(workdir, ignore_errors=True)
    return extract, yearly


def _chosen_members(archive: Path, names: list[str], years: list[int] | None) -> list[str]:
    """The yearly trade members of ``years`` (all when None); InputError when there are none."""
    members = [n for n in names if TRADE_FILE.search(Path(n).name)]
    if not members:
        raise InputError(
            "archive holds no BACI_HSxx_Yyyyy_Vyyyymm.csv member",
            file=archive.name,
            hint="check that this is a BACI archive from CEPII",
        )
    chosen = [n for n in members if _wanted(_year_of(n), years)]
    if not chosen:
        available = sorted({y for n in members if (y := _year_of(n)) is not None})
        raise InputError(
            f"archive has no year {', '.join(map(str, years or []))} "
            f"(it covers {available[0]}-{available[-1]})",
            file=archive.name,
            hint="choose years the archive holds",
        )
    return chosen


def _text(data: bytes, archive: Path, member: str) -> str:
    """A side file of the archive as text (UTF-8, with or without BOM)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"member {member} is not UTF-8 text (byte {exc.start})",
            file=archive.name,
            hint=DAMAGED_HINT,
        ) from exc


def _read_files(
    label: str,
    paths: list[Path],
    side: dict[str, str],
    revision: str | None,
    release: str | None,
    years: list[int] | None,
    files: list[SourceFile],
    *,
    from_archive: bool = False,
) -> tuple[Extract, list[YearlyFile]]:
    """Build the Extract for yearly CSVs, given the country/product files found beside them,
    and describe each yearly file.

    ``from_archive`` says the CSVs were extracted from a zip, whose CRC already proves them whole.
    """
    for path in paths:
        match = TRADE_FILE.search(path.name)
        if match:
            revision = _agree("revision", revision, match.group(1).upper(), path.name)
            release = _agree("release", release, "V" + match.group(3), path.name)
    country_files = {n: t for n, t in side.items() if COUNTRY_FILE.search(n)}
    found = COUNTRY_FILE.search(next(iter(country_files))) if len(country_files) == 1 else None
    if release is None and found is not None:
        release = "V" + found.group(1)
    if revision is None:
        raise InputError(
            "cannot tell the HS revision from the file name",
            file=label,
            hint="pass --revision (HS92, HS96, HS02, HS07, HS12, HS17 or HS22)",
        )
    notes = []
    if release is None:
        release = "unknown"
        notes.append(f"{label}: BACI release unknown; pass --release (e.g. V202501) to record it")
    country_name, country_text = _pick(country_files, release)
    codes = baci_code_map(country_text, country_name or "country_codes")
    product_files = {
        n: t
        for n, t in side.items()
        if (named := PRODUCT_FILE.search(n)) and named.group(1).upper() == revision
    }
    product_name, product_text = _pick(product_files, release)
    products = None
    if product_name is not None and product_text is not None:
        from chokepoints.reference.products import read_baci_product_file

        products = read_baci_product_file(product_name, product_text)
    yearly: list[YearlyFile] = []
    parts: list[TradePart] = []
    for path in paths:  # each file's header, then its last line, before the next file's
        yearly.append(YearlyFile(path, *_header(path), revision, release, codes))
        parts.append(_trade_part(yearly[-1], products, _year_of(path.name), from_archive))
    if years:
        notes.append(f"{label}: years {', '.join(map(str, years))} only")
    extract = Extract(
        source="baci",
        release=release,
        files=files,
        trade=parts,
        tables={} if products is None else {"products": lambda con: con.from_arrow(products)},
        notes=notes,
    )
    return extract, yearly


# -- one yearly CSV --------------------------------------------------------------------------
def _trade_part(
    file: YearlyFile, products: pa.Table | None, year: int | None, from_archive: bool
) -> TradePart:
    """A TradePart reading one BACI CSV with DuckDB, checking its last line first."""
    path, header, revision = file.path, file.header, file.revision
    if not from_archive:
        refuse_truncated(path)
    rows = functools.partial(_python_rows, path, header, revision, file.release, file.codes)

    columns = {**trade_columns(file.codes, "duckdb"), **trade_constants(revision, file.release)}

    def build(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        types = {"t": "SMALLINT", "v": "DOUBLE"}
        raw = "{" + ", ".join(f"'{c}': '{types.get(c, 'VARCHAR')}'" for c in header) + "}"
        try:
            # Numbers are parsed by the CSV reader itself (fast, and a bad one is reported
            # with its line); q stays text because BACI pads its "NA" with spaces.
            return con.sql(
                f"""
                SELECT {select_list(columns)}
                FROM read_csv('{sql_path(path)}', header = true, columns = {raw},
                              quote = '"', delim = ',', null_padding = false,
                              strict_mode = true) AS r
                """
            )
        except duckdb.InvalidInputException as exc:
            raise _malformed(path, header) from exc

    def verify(con: duckdb.DuckDBPyConnection, scan: str) -> None:
        _verify_year(con, scan, path.name, year)
        _verify_level(con, scan, path.name, rows)
        if products is not None:
            _verify_revision(con, scan, path.name, revision, products)

    return TradePart(
        origin=path.name,
        build=build,
        rows=rows,
        verify=verify,
        fields=FIELDS,
    )


def trade_columns(codes: dict[int, str], dialect: Literal["duckdb", "spark"]) -> dict[str, str]:
    """The canonical trade columns read from a BACI CSV's columns ``r.t`` ... ``r.q``, each as SQL
    that DuckDB and Spark both run, so that both engines apply one mapping (the others are
    ``trade_constants``).

    On DuckDB the CSV reader has already parsed ``t`` and ``v``; on Spark every column is text,
    parsed here, and nothing raises (Spark's converter sends lines it cannot parse to DuckDB).
    A 5-digit k lost its leading zero (the file went through a number); any other length is kept
    as it is, for the checks to refuse. q's ``NA`` and blanks are missing, other text is NaN.
    """
    spark = dialect == "spark"
    cast = "TRY_CAST" if spark else "CAST"
    return {
        "year": "TRY_CAST(trim(r.t) AS SMALLINT)" if spark else "r.t",
        "exporter": _country_sql("i", codes, spark),
        "importer": _country_sql("j", codes, spark),
        "product": "CASE WHEN length(trim(r.k)) = 5 THEN '0' || trim(r.k) ELSE trim(r.k) END",
        "level": f"{cast}(CASE WHEN length(trim(r.k)) = 5 THEN 6 ELSE length(trim(r.k)) END "
        "AS TINYINT)",
        "value_usd": f"{'TRY_CAST(trim(r.v) AS DOUBLE)' if spark else 'r.v'} * 1000",
        "quantity_t": "CASE WHEN coalesce(trim(r.q), '') IN ('', 'NA') THEN NULL "
        "ELSE coalesce(TRY_CAST(trim(r.q) AS DOUBLE), CAST('NaN' AS DOUBLE)) END",
    }


def trade_constants(revision: str, release: str) -> dict[str, str]:
    """The canonical trade columns that are the same on every row of a BACI file, as literals."""
    return {
        "classification": f"'{revision}'",
        "source": "'baci'",
        "release": f"'{release}'",
        "reporter_side": "'reconciled'",
    }


def select_list(columns: dict[str, str]) -> str:
    """``SQL AS name, ...`` of columns given as {name: SQL}."""
    return ", ".join(f"{sql} AS {name}" for name, sql in columns.items())


def _country_sql(column: str, codes: dict[int, str], spark: bool) -> str:
    """SQL for the ISO3 of a country code column, or ``?<code>`` when unknown.

    Codes are read as text and must be written as the code is ("12.0" is an unknown code, not
    12: an INTEGER cast would round "12.7" to 13). They are looked up row by row in a list
    indexed by the number, not joined, so that the rows keep the file's order and the same file
    gives the same bytes; the text is compared after it.
    """
    names = ", ".join(f"'{codes.get(n, '')}'" for n in range(max(codes) + 1))
    text = f"trim(r.{column})"
    number = f"TRY_CAST({text} AS INTEGER)"
    found = f"element_at(array({names}), {number} + 1)" if spark else f"[{names}][{number} + 1]"
    return (
        f"CASE WHEN CAST({number} AS STRING) = {text} AND {number} BETWEEN 0 AND {max(codes)} "
        f"THEN coalesce(nullif({found}, ''), '?' || {text}) ELSE '?' || {text} END"
    )


def _malformed(path: Path, header: list[str]) -> InputError:
    """An InputError naming the first line whose number of fields differs from the header's,
    or the first byte that is not UTF-8 text, on its real line."""
    refuse_non_utf8(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, values in enumerate(csv.reader(handle), start=1):
            if len(values) != len(header):
                return InputError(
                    f"{len(values)} fields where the header has {len(header)}",
                    file=path.name,
                    line=number,
                    hint="fix the line or re-export the file",
                )
    return InputError(
        "DuckDB cannot parse this CSV",
        file=path.name,
        hint="check that the file is a comma-separated BACI file",
    )


def _header(path: Path) -> tuple[list[str], str]:
    """Column names of a BACI CSV, with pandas' unnamed index column named ``_index``, and its
    first line as written (without byte-order mark and line end)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as exc:
        raise InputError(
            "not a text CSV file",
            file=path.name,
            line=1,
            hint="give a BACI CSV, a folder of them or the zip",
        ) from exc
    if not first.strip():
        raise InputError(
            "the file is empty",
            file=path.name,
            line=1,
            hint="check the download or export; a BACI file starts with t,i,j,k,v,q",
        )
    names = [n.strip().strip('"').lower() for n in next(csv.reader([first]))]
    names = [n if n else "_index" for n in names]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}: found {', '.join(names)}",
            file=path.name,
            line=1,
            hint="a BACI trade file has the header t,i,j,k,v,q",
        )
    return names, first.rstrip("\r\n")


def _python_rows(
    path: Path, header: list[str], revision: str, release: str, codes: dict[int, str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The same conversion as the SQL of ``_trade_part``, row by row, for locating errors."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for number, values in enumerate(reader, start=2):
            raw = dict(zip(header, (v.strip() for v in values), strict=False))
            k = raw.get("k", "")
            product = ("0" + k if len(k) == 5 else k) or None
            q = raw.get("q", "")
            value = _float(raw.get("v", ""))
            quantity = None if q in ("", "NA") else _float(q)
            yield (
                number,
                {
                    "year": _smallint(raw.get("t", "")),
                    "exporter": _country(raw.get("i", ""), codes),
                    "importer": _country(raw.get("j", ""), codes),
                    "product": product,
                    "classification": revision,
                    "level": None if product is None else len(product),
                    "value_usd": None if value is None else value * 1000,
                    "quantity_t": float("nan")
                    if q not in ("", "NA") and quantity is None
                    else quantity,
                    "source": "baci",
                    "release": release,
                    "reporter_side": "reconciled",
                },
            )


def _country(raw: str, codes: dict[int, str]) -> str | None:
    """ISO3 of a BACI numeric code as written, ``?code`` if unknown, None if empty (as the SQL)."""
    if not raw:
        return None
    iso3 = codes.get(int(raw)) if raw.isdigit() and str(int(raw)) == raw else None
    return iso3 or f"?{raw}"


def _float(text: str) -> float | None:
    """``float(text)`` or None, like DuckDB's TRY_CAST to DOUBLE."""
    try:
        return float(text)
    except ValueError:
        return None


def _smallint(text: str) -> int | None:
    """``int(text)`` within SMALLINT range or None, like DuckDB's TRY_CAST to SMALLINT."""
    try:
        number = int(text)
    except ValueError:
        return None
    return number if -32768 <= number <= 32767 else None


def _verify_year(con: duckdb.DuckDBPyConnection, scan: str, name: str, year: int | None) -> None:
    """A yearly file named ``_Yyyyy_`` must hold that year only."""
    if year is None:
        return
    other = con.execute(
        f"SELECT year, count(*) FROM {scan} WHERE year <> ? GROUP BY 1 LIMIT 1", [year]
    ).fetchone()
    if other:
        raise InputError(
            f"{other[1]} row(s) of year {other[0]} in a file named for {year}",
            file=name,
            field="t",
            hint="check that the file was not renamed or concatenated",
        )


def _verify_level(con: duckdb.DuckDBPyConnection, scan: str, name: str, rows: RowReader) -> None:
    """Refuse product codes of other than 6 digits: BACI publishes HS6 codes only.

    A 5-digit code has had its leading zero restored; a 4-digit one is a heading, never padded.
    """
    count, example = con.execute(
        f"SELECT count(*), min(product) FROM {scan} WHERE level <> 6"
    ).fetchall()[0]
    if count:
        line, product = next(
            ((n, r["product"]) for n, r in rows() if r["level"] != 6), (None, example)
        )
        raise InputError(
            f"product code {product!r} has {len(product)} digits, but BACI codes have 6, "
            f"in {count} row(s)",
            file=name,
            line=line,
            field="k",
            hint="give the file as CEPII published it, with 6-digit HS codes in k",
        )


def _verify_revision(
    con: duckdb.DuckDBPyConnection, scan: str, name: str, revision: str, products: pa.Table
) -> None:
    """Refuse a file whose product codes are not those of the declared HS revision."""
    con.register("_nomenclature", products.select(["product"]))
    distinct, foreign, examples = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE n.product IS NULL),
                   list(d.product ORDER BY d.product) FILTER (WHERE n.product IS NULL)[1:5]
            FROM (SELECT DISTINCT product FROM {scan}) AS d
            LEFT JOIN _nomenclature AS n USING (product)"""
    ).fetchall()[0]
    con.unregister("_nomenclature")
    if distinct and foreign / distinct > FOREIGN_CODE_TOLERANCE:
        raise InputError(
            f"{foreign} of {distinct} product codes are not {revision} codes "
            f"(e.g. {', '.join(examples)}): the file looks like another HS revision",
            file=name,
            field="k",
            hint="pass the right --revision (HS92, HS96, HS02, HS07, HS12, HS17, HS22)",
        )


# -- download --------------------------------------------------------------------------------
def fetch_baci(
    revision: str,
    release: str,
    folder: Path,
    *,
    base_url: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download (or resume) ``BACI_{revision}_V{release}.zip`` into ``folder``; return its path.

    A download is read whole (every member inflated, every CRC proven) before it takes its final
    name, so a resume spliced onto another version of the file is deleted, not kept; a
    ``.verified`` stamp beside it records the check. An archive already there without a stamp
    that matches it (one fetched by an earlier version, or changed since) is read whole once;
    if it is damaged it is renamed ``.bad`` and downloaded again instead of failing every ingest.
    """
    from chokepoints.sources import http

    revision = _normalize_revision(revision)
    release = _normalize_release(release)
    url = http.baci_archive_url(base_url or http.baci_base_url(), revision, release)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"BACI_{revision}_{release}.zip"
    stamp = target.with_name(target.name + ".verified")
    if target.exists():
        if stamp.is_file() and stamp.read_text() == _fingerprint(target):
            return target
        if zips.problem(target, whole=True) is None:
            stamp.write_text(_fingerprint(target))
            return target
        stamp.unlink(missing_ok=True)
        target.replace(target.with_name(target.name + ".bad"))
    archive = http.download(
        url, target, progress=progress, check=lambda part: zips.problem(part, whole=True)
    )
    stamp.write_text(_fingerprint(archive))
    return archive


def _fingerprint(path: Path) -> str:
    """Size and modification time of a file: what its ``.verified`` stamp must match."""
    status = path.stat()
    return f"{status.st_size} {status.st_mtime_ns}"


# -- small helpers ---------------------------------------------------------------------------
def _looks_like_trade(path: Path) -> bool:
    """True when a CSV's header names the BACI trade columns."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        first = handle.readline()
    names = {n.strip().strip('"').lower() for n in first.split(",")}
    return set(COLUMNS) <= names


def _year_of(name: str) -> int | None:
    """The year in an official yearly file name, if any."""
    match = TRADE_FILE.search(Path(name).name)
    return int(match.group(2)) if match else None


def _wanted(year: int | None, years: list[int] | None) -> bool:
    """Whether a file of ``year`` is selected by ``years`` (None selects all)."""
    return not years or year is None or year in years


def _pick(files: dict[str, str], release: str) -> tuple[str | None, str | None]:
    """The side file of ``release`` among ``files`` (or the only one), as (name, text)."""
    if not files:
        return None, None
    for name, text in files.items():
        if release.lower() in name.lower():
            return name, text
    if len(files) == 1:
        return next(iter(files.items()))
    return None, None


def _agree(what: str, given: str | None, found: str, name: str) -> str:
    """Reconcile a --revision/--release option with what the file name says."""
    if given is not None and given.upper() != found.upper():
        raise InputError(
            f"the file name says {what} {found} but {given} was given",
            file=name,
            hint=f"drop the --{what} option or check the file",
        )
    return found


def _normalize_revision(revision: str) -> str:
    """``hs92`` -> ``HS92``; anything unknown is an InputError."""
    value = revision.strip().upper()
    if value not in schema.HS_REVISIONS:
        raise InputError(
            f"unknown HS revision {revision!r}",
            hint=f"use one of {', '.join(schema.HS_REVISIONS)}",
        )
    return value


def _normalize_release(release: str) -> str:
    """``202501`` or ``v202501`` -> ``V202501``; anything else is an InputError."""
    value = release.strip()
    value = value[1:] if value[:1] in "vV" else value
    if not re.fullmatch(r"\d{6}[a-z]?", value):
        raise InputError(
            f"unknown BACI release {release!r}",
            hint="releases look like V202501 (year and month, maybe a letter)",
        )
    return "V" + value
