"""CEPII BACI: read the official archives, yearly CSVs or folders of them; download archives.

BACI yearly files have the header ``t,i,j,k,v,q``: year, exporter and importer as BACI numeric
country codes, HS6 product, value in thousands of USD and quantity in metric tons. Releases
differ in small ways that this reader absorbs: ``k`` with or without leading zeros, ``q``
missing as ``NA``, blank or space-padded, an extra unnamed index column in files saved by pandas,
and two layouts of the country code file (V202301 writes Taiwan's ISO3 as ``N/A``).
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from chokepoints import schema
from chokepoints.errors import InputError
from chokepoints.extract import Extract, SourceFile, TradePart, refuse_truncated, sql_path
from chokepoints.reference.countries import baci_code_map

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

#: Share of a file's distinct product codes that may be missing from the declared revision's
#: nomenclature before the file is taken to be of another revision. BACI only uses codes of its
#: revision, so any sizeable share means a mislabelled file.
FOREIGN_CODE_TOLERANCE = 0.01


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
) -> Extract:
    """Describe a BACI archive, yearly CSV or folder of them as an Extract for the store.

    ``revision`` (HS92...HS22) and ``release`` (V202501...) are read from official file names
    and may be given for files renamed by someone else; a contradiction is an error. ``years``
    restricts which yearly files of an archive or folder are read.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError("no such file or folder", file=str(path), hint="check the path")
    revision = _normalize_revision(revision) if revision else None
    release = _normalize_release(release) if release else None
    if path.is_dir():
        return _read_folder(path, revision, release, years)
    if zipfile.is_zipfile(path) or path.suffix.lower() == ".zip":
        return _read_archive(path, revision, release, years)
    return _read_files(path.name, [path], {}, revision, release, None, [SourceFile.of(path)])


# -- the three kinds of input ----------------------------------------------------------------
def _read_folder(
    folder: Path, revision: str | None, release: str | None, years: list[int] | None
) -> Extract:
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
    archive: Path, revision: str | None, release: str | None, years: list[int] | None
) -> Extract:
    """An official BACI zip: extract the wanted yearly members to a temporary folder."""
    name_match = ARCHIVE_FILE.search(archive.name)
    if name_match:
        revision = _agree("revision", revision, name_match.group(1).upper(), archive.name)
        release = _agree("release", release, "V" + name_match.group(2), archive.name)
    workdir = Path(tempfile.mkdtemp(prefix="chokepoints-baci-"))
    try:
        with zipfile.ZipFile(archive) as bundle:
            names = bundle.namelist()
            side = {
                Path(n).name: bundle.read(n).decode("utf-8-sig")
                for n in names
                if COUNTRY_FILE.search(n) or PRODUCT_FILE.search(n)
            }
            members = [n for n in names if TRADE_FILE.search(Path(n).name)]
            if not members:
                raise InputError(
                    "archive holds no BACI_HSxx_Yyyyy_Vyyyymm.csv member",
                    file=archive.name,
                    hint="check that this is a BACI archive from CEPII",
                )
            available = sorted({_year_of(n) for n in members})
            chosen = [n for n in members if _wanted(_year_of(n), years)]
            if not chosen:
                raise InputError(
                    f"archive has no year {', '.join(map(str, years or []))} "
                    f"(it covers {available[0]}-{available[-1]})",
                    file=archive.name,
                    hint="choose years the archive holds",
                )
            paths = []
            for member in chosen:
                target = workdir / Path(member).name
                with bundle.open(member) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 22)
                paths.append(target)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise InputError(
            f"the archive is truncated or damaged ({exc})",
            file=archive.name,
            hint="download it again (`chokepoints data fetch baci` resumes a partial download)",
        ) from exc
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    extract = _read_files(
        archive.name,
        paths,
        side,
        revision,
        release,
        years,
        [SourceFile.of(archive)],
        from_archive=True,
    )
    extract.cleanup = lambda: shutil.rmtree(workdir, ignore_errors=True)
    return extract


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
) -> Extract:
    """Build the Extract for yearly CSVs, given the country/product files found beside them.

    ``from_archive`` says the CSVs were extracted from a zip, whose CRC already proves them whole.
    """
    for path in paths:
        match = TRADE_FILE.search(path.name)
        if match:
            revision = _agree("revision", revision, match.group(1).upper(), path.name)
            release = _agree("release", release, "V" + match.group(3), path.name)
    country_files = {n: t for n, t in side.items() if COUNTRY_FILE.search(n)}
    if release is None and len(country_files) == 1:
        release = "V" + COUNTRY_FILE.search(next(iter(country_files))).group(1)
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
        if PRODUCT_FILE.search(n) and PRODUCT_FILE.search(n).group(1).upper() == revision
    }
    product_name, product_text = _pick(product_files, release)
    products = None
    if product_text is not None:
        from chokepoints.reference.products import read_baci_product_file

        products = read_baci_product_file(product_name, product_text)
    parts = [
        _trade_part(p, revision, release, codes, products, _year_of(p.name), from_archive)
        for p in paths
    ]
    if years:
        notes.append(f"{label}: years {', '.join(map(str, years))} only")
    return Extract(
        source="baci",
        release=release,
        files=files,
        trade=parts,
        tables={} if products is None else {"products": lambda con: con.from_arrow(products)},
        notes=notes,
    )


# -- one yearly CSV --------------------------------------------------------------------------
def _trade_part(
    path: Path,
    revision: str,
    release: str,
    codes: dict[int, str],
    products: pa.Table | None,
    year: int | None,
    from_archive: bool,
) -> TradePart:
    """A TradePart reading one BACI CSV with DuckDB, checking its header and last line first."""
    header = _header(path)
    if not from_archive:
        refuse_truncated(path)

    def build(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        con.execute("CREATE OR REPLACE TEMP TABLE _baci_codes (code INTEGER, iso3 VARCHAR)")
        con.executemany("INSERT INTO _baci_codes VALUES (?, ?)", [[c, i] for c, i in codes.items()])
        types = {"t": "SMALLINT", "i": "INTEGER", "j": "INTEGER", "v": "DOUBLE"}
        columns = "{" + ", ".join(f"'{c}': '{types.get(c, 'VARCHAR')}'" for c in header) + "}"
        try:
            # Numbers are parsed by the CSV reader itself (fast, and a bad one is reported
            # with its line); q stays text because BACI pads its "NA" with spaces.
            return con.sql(
                f"""
                SELECT r.t AS year,
                       coalesce(e.iso3, '?' || r.i) AS exporter,
                       coalesce(m.iso3, '?' || r.j) AS importer,
                       CASE WHEN length(trim(r.k)) < 6 THEN lpad(trim(r.k), 6, '0')
                            ELSE trim(r.k) END AS product,
                       '{revision}' AS classification,
                       CAST(6 AS TINYINT) AS level,
                       r.v * 1000 AS value_usd,
                       CASE WHEN coalesce(trim(r.q), '') IN ('', 'NA') THEN NULL
                            ELSE coalesce(TRY_CAST(trim(r.q) AS DOUBLE), 'NaN'::DOUBLE) END
                           AS quantity_t,
                       'baci' AS source,
                       '{release}' AS release,
                       'reconciled' AS reporter_side
                FROM read_csv('{sql_path(path)}', header = true, columns = {columns},
                              quote = '"', delim = ',', null_padding = false,
                              strict_mode = true) AS r
                LEFT JOIN _baci_codes AS e ON e.code = r.i
                LEFT JOIN _baci_codes AS m ON m.code = r.j
                """
            )
        except duckdb.InvalidInputException as exc:
            raise _malformed(path, header) from exc

    def verify(con: duckdb.DuckDBPyConnection, scan: str) -> None:
        _verify_year(con, scan, path.name, year)
        if products is not None:
            _verify_revision(con, scan, path.name, revision, products)

    return TradePart(
        origin=path.name,
        build=build,
        rows=lambda: _python_rows(path, header, revision, release, codes),
        verify=verify,
        fields=FIELDS,
    )


def _malformed(path: Path, header: list[str]) -> InputError:
    """An InputError naming the first line whose number of fields differs from the header's."""
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


def _header(path: Path) -> list[str]:
    """Column names of a BACI CSV, with pandas' unnamed index column named ``_index``."""
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
    return names


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
            q = raw.get("q", "")
            value = _float(raw.get("v", ""))
            quantity = None if q in ("", "NA") else _float(q)
            yield (
                number,
                {
                    "year": _smallint(raw.get("t", "")),
                    "exporter": _country(raw.get("i", ""), codes),
                    "importer": _country(raw.get("j", ""), codes),
                    "product": k.rjust(6, "0") if len(k) < 6 else k,
                    "classification": revision,
                    "level": 6,
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
    """ISO3 of a BACI numeric code, ``?code`` for an unknown one, None when empty (as the SQL)."""
    if not raw:
        return None
    return codes.get(int(raw), f"?{int(raw)}")


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
    """Download (or resume) ``BACI_{revision}_V{release}.zip`` into ``folder``; return its path."""
    from chokepoints.sources import http

    revision = _normalize_revision(revision)
    release = _normalize_release(release)
    url = http.baci_archive_url(base_url or http.baci_base_url(), revision, release)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"BACI_{revision}_{release}.zip"
    if target.exists() and zipfile.is_zipfile(target):
        return target
    return http.download(url, target, progress=progress)


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
