"""World Bank Worldwide Governance Indicators (WGI): the bulk file as the ``governance`` table.

The World Bank publishes the WGI as ``wgidataset.xlsx`` (inside ``wgidataset_excel.zip``). The
current file (2024 update) has one sheet in long format, one row per economy, year and
indicator: ``codeindyr, code, countryname, year, indicator, estimate, stddev, nsource, pctrank,
pctranklower, pctrankupper``, with ``..`` for a missing value and a few legacy codes (ROM, ZAR,
TMP, ADO, KSV, WBG) that are mapped to today's ISO3. Older releases had one sheet per indicator
with two header rows (years, then ``Estimate, StdErr, NumSrc, Rank, Lower, Upper``) and ``#N/A``
for missing values; both layouts, and the long layout saved as CSV, read to the same rows.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chokepoints import schema
from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.extract import Extract, RelationBuilder, SourceFile, plausible_year, year_range
from chokepoints.reference.countries import known_iso3, normalize_iso3
from chokepoints.sources import archive as zips
from chokepoints.sources.workbooks import read_sheets

#: The six WGI dimensions as the bulk file writes them, in the World Bank's order.
INDICATORS = ("va", "pv", "ge", "rq", "rl", "cc")

#: Columns of the long layout that the reader needs (the file has more, which are ignored).
LONG_COLUMNS = ("code", "year", "indicator", "estimate")

#: Cell values that mean "no estimate": ``..`` (long layout), ``#N/A`` (wide layout), blank.
MISSING_VALUES = frozenset({"..", "#N/A", ""})

#: World Bank region, income and lending-group codes: aggregates, not economies. Rows with
#: these codes are dropped (and reported in the extract's notes); the WGI bulk file has none.
WORLD_BANK_AGGREGATES = frozenset(
    {
        "AFE", "AFW", "ARB", "CEB", "CSS", "EAP", "EAR", "EAS", "ECA", "ECS", "EMU", "EUU",
        "FCS", "HIC", "HPC", "IBD", "IBT", "IDA", "IDB", "IDX", "INX", "LAC", "LCN", "LDC",
        "LIC", "LMC", "LMY", "LTE", "MEA", "MIC", "MNA", "NAC", "OED", "OSS", "PRE", "PSS",
        "PST", "SAS", "SSA", "SSF", "SST", "TEA", "TEC", "TLA", "TMN", "TSA", "TSS", "UMC",
        "WLD",
    }
)  # fmt: skip

#: Sheet names of the older wide layout, matched on their letters: indicator for a keyword.
WIDE_SHEETS = {
    "voice": "va",
    "political": "pv",
    "effectiveness": "ge",
    "regulatory": "rq",
    "ruleoflaw": "rl",
    "corruption": "cc",
}

#: How many rows at the top of a sheet may come before its header row.
HEADER_SEARCH_ROWS = 40

#: A year cell as text: ``2022``, or ``2022.0`` when a spreadsheet stored it as a float.
YEAR_PATTERN = r"\d{4}(\.0+)?"
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def read_wgi(path: Path | str, *, release: str | None = None) -> Extract:
    """Read a WGI bulk file (xlsx, its zip, or long-layout CSV) as an Extract of ``governance``.

    ``release`` defaults to ``WGI-<last data year + 1>``: the World Bank names each update by
    its publication year, which covers data to the year before (the 2024 update ends in 2023).
    Aggregate codes are dropped and legacy codes mapped, both listed in the extract's notes.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError("no such file", file=str(path), hint="check the path")
    if path.stat().st_size == 0:
        raise InputError(
            "the file is empty", file=path.name, hint="download the WGI bulk file again"
        )
    label, grids = _read_grids(path)
    rows = _rows_from_grids(label, grids)
    table, notes = _governance(label, rows)
    last_year = int(pc.max(table.column("year")).as_py())
    return Extract(
        source="wgi",
        release=release or f"WGI-{last_year + 1}",
        files=[SourceFile.of(path)],
        trade=[],
        tables={"governance": _builder(table)},
        notes=notes,
    )


def _builder(table: pa.Table) -> RelationBuilder:
    """A relation builder that hands the parsed table to the store's DuckDB connection."""
    return lambda con: con.from_arrow(table)


# -- reading cells ---------------------------------------------------------------------------
def _read_grids(path: Path) -> tuple[str, dict[str, pd.DataFrame]]:
    """Every sheet of the file as a frame of text cells; row i of a frame is sheet row i + 1."""
    if path.suffix.lower() in _EXCEL_SUFFIXES:
        return path.name, _excel_grids(path.name, path)
    if zipfile.is_zipfile(path):
        with zips.reading(path, "download the WGI bulk file again") as bundle:
            names = bundle.namelist()
            if "xl/workbook.xml" in names:
                return path.name, _excel_grids(path.name, path)
            members = [n for n in names if n.lower().endswith((*_EXCEL_SUFFIXES, ".csv"))]
            if len(members) != 1:
                raise InputError(
                    f"the archive should hold one .xlsx or .csv file, it holds "
                    f"{', '.join(names) or 'nothing'}",
                    file=path.name,
                    hint="unzip it and pass the wgidataset.xlsx file",
                )
            member = members[0]
            data = zips.read_member(bundle, member, zips.Limits.from_env())
        label = f"{path.name}:{member}"
        if member.lower().endswith(".csv"):
            return label, {"": _csv_grid(label, data)}
        return label, _excel_grids(label, io.BytesIO(data))
    return path.name, {"": _csv_grid(path.name, path.read_bytes())}


def _excel_grids(label: str, source: Path | io.BytesIO) -> dict[str, pd.DataFrame]:
    """All sheets of a workbook, every cell as text (so that Namibia's ``NA`` stays ``NA``)."""
    sheets = read_sheets(
        source, label=label, hint="download the WGI bulk file again, or save it as .xlsx"
    )
    # Cells right of a row's last value come back as NaN: blank, like an empty cell.
    return {name: grid.fillna("") for name, grid in sheets.items()}


def _csv_grid(label: str, data: bytes) -> pd.DataFrame:
    """A comma-separated file as a frame of text cells, blank lines kept so rows keep numbers."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is not UTF-8 text (byte {exc.start})",
            file=label,
            hint="save the file as UTF-8 CSV or pass the .xlsx",
        ) from exc
    lines = list(csv.reader(io.StringIO(text)))
    width = max((len(line) for line in lines), default=0)
    return pd.DataFrame([line + [""] * (width - len(line)) for line in lines], dtype=str)


# -- the two layouts -------------------------------------------------------------------------
def _rows_from_grids(label: str, grids: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Raw rows (file, line, code, year, indicator, estimate) from the long or wide layout."""
    if not any(len(grid) for grid in grids.values()):
        raise InputError("the file is empty", file=label, hint="download the WGI file again")
    for grid in grids.values():
        header = _long_header(grid)
        if header is not None:
            return _long_rows(label, grid, header)
    wide = [
        rows
        for sheet, grid in grids.items()
        if (rows := _wide_rows(label, sheet, grid)) is not None
    ]
    if wide:
        return pd.concat(wide, ignore_index=True)
    first = next(grid for grid in grids.values() if len(grid))
    found = [c for c in first.iloc[0].str.strip() if c]
    raise InputError(
        f"missing column(s): expected {', '.join(LONG_COLUMNS)} (WGI long layout), found "
        f"{', '.join(found) or 'none'}",
        file=label,
        line=1,
        hint="pass the World Bank's wgidataset.xlsx, or a CSV with those columns",
    )


def _long_header(grid: pd.DataFrame) -> tuple[int, dict[str, int]] | None:
    """(row index, column of each needed field) of a long-layout header row, if there is one."""
    for index in range(min(len(grid), HEADER_SEARCH_ROWS)):
        cells = [str(c).strip().lower() for c in grid.iloc[index]]
        if all(name in cells for name in LONG_COLUMNS):
            return index, {name: cells.index(name) for name in LONG_COLUMNS}
    return None


def _long_rows(label: str, grid: pd.DataFrame, header: tuple[int, dict[str, int]]) -> pd.DataFrame:
    """The rows under a long-layout header, blank rows skipped."""
    index, columns = header
    body = grid.iloc[index + 1 :]
    rows = pd.DataFrame(
        {name: body.iloc[:, column].str.strip() for name, column in columns.items()}
    )
    rows.insert(0, "line", body.index.to_numpy() + 1)
    rows.insert(0, "file", label)
    blank = (rows[list(LONG_COLUMNS)] == "").all(axis=1)
    return rows[~blank].reset_index(drop=True)


def _wide_rows(label: str, sheet: str, grid: pd.DataFrame) -> pd.DataFrame | None:
    """Rows of one sheet of the older wide layout, or None when the sheet is not one.

    The header is found by content (a row with ``Code``/``WBCode`` and ``Estimate`` cells,
    below a row of years spanning each group of columns), not by a fixed offset, since the
    number of title rows above it changed between releases.
    """
    for index in range(1, min(len(grid), HEADER_SEARCH_ROWS)):
        cells = [str(c).strip().lower() for c in grid.iloc[index]]
        code_columns = [i for i, c in enumerate(cells) if c in ("code", "wbcode", "wb code")]
        if "estimate" in cells and code_columns:
            break
    else:
        return None
    where = f"{label}, sheet {sheet}"
    letters = re.sub(r"[^a-z]", "", sheet.lower())
    indicators = [code for word, code in WIDE_SHEETS.items() if word in letters]
    if len(indicators) != 1:
        raise InputError(
            f"cannot tell which WGI indicator the sheet {sheet!r} holds",
            file=where,
            hint="name the sheet after its indicator, e.g. RuleofLaw or ControlofCorruption",
        )
    years = grid.iloc[index - 1].str.strip().replace("", np.nan).ffill()
    estimates = [i for i, c in enumerate(cells) if c == "estimate"]
    body = grid.iloc[index + 1 :]
    parts = []
    for column in estimates:
        year = years.iloc[column]
        if not isinstance(year, str):
            raise InputError(
                "an Estimate column has no year above it",
                file=where,
                line=index,
                hint="the row above the Estimate headers must hold the years",
            )
        parts.append(
            pd.DataFrame(
                {
                    "file": where,
                    "line": body.index.to_numpy() + 1,
                    "code": body.iloc[:, code_columns[0]].str.strip(),
                    "year": year,
                    "indicator": indicators[0],
                    "estimate": body.iloc[:, column].str.strip(),
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True)
    # Title, note and blank rows carry no code and no estimate.
    empty = (rows["code"] == "") & rows["estimate"].isin(MISSING_VALUES)
    return rows[~empty].sort_values(["line", "year"], kind="stable").reset_index(drop=True)


# -- validation and conversion ---------------------------------------------------------------
def _governance(label: str, rows: pd.DataFrame) -> tuple[pa.Table, list[str]]:
    """Validate raw rows and convert them to the ``GOVERNANCE`` schema; return notes too."""
    if rows.empty:
        raise InputError("no WGI rows under the header", file=label, hint="check the WGI file")

    def fail(
        bad: pd.Series,
        message: str,
        field: str,
        hint: str,
        error: type[InputError] = InputError,
    ) -> None:
        """Raise ``error`` for the first row where ``bad`` holds, naming its file and line."""
        if bad.any():
            first = rows[bad.to_numpy()].iloc[0]
            raise error(
                message.format(value=first[field], count=int(bad.sum())),
                file=first["file"],
                line=int(first["line"]),
                field=field,
                hint=hint,
            )

    fail(rows["code"] == "", "missing country code", "code", "fill in the ISO3 code")
    indicator = rows["indicator"].str.lower()
    fail(
        ~indicator.isin(INDICATORS),
        "unknown indicator {value!r} in {count} row(s)",
        "indicator",
        f"WGI indicators are {', '.join(INDICATORS)}",
    )
    fail(
        ~rows["year"].str.fullmatch(YEAR_PATTERN),
        "year {value!r} is not a year",
        "year",
        "write the year with four digits, e.g. 2022",
    )
    years = rows["year"].str.slice(0, 4).astype(int)
    fail(
        ~years.map(plausible_year),
        f"year {{value!r}} is outside {year_range()} in {{count}} row(s)",
        "year",
        "write the year of the estimate, e.g. 2022",
    )
    missing = rows["estimate"].isin(MISSING_VALUES)
    estimate = pd.to_numeric(rows["estimate"].where(~missing), errors="coerce")
    fail(
        ~missing & ~np.isfinite(estimate.fillna(np.inf)),
        "estimate {value!r} is not a number in {count} row(s)",
        "estimate",
        "estimates are numbers; write .. for a missing value",
    )
    raw_codes = rows["code"].str.upper()
    country = raw_codes.map({code: normalize_iso3(code) for code in raw_codes.unique()})
    aggregate = country.isin(WORLD_BANK_AGGREGATES)
    fail(
        ~country.isin(known_iso3()) & ~aggregate,
        "unknown country code {value!r} in {count} row(s)",
        "code",
        "use ISO3 codes; the WGI legacy codes ROM, ZAR, TMP, ADO, KSV and WBG are mapped",
        error=UnknownCodeError,
    )
    frame = pd.DataFrame(
        {
            "file": rows["file"],
            "line": rows["line"],
            "code": raw_codes,
            "country": country,
            "year": years,
            "indicator": indicator,
            "estimate": estimate,
        }
    )[~aggregate.to_numpy()]
    if frame.empty:
        raise InputError(
            "the file holds only aggregates, no economy",
            file=label,
            hint="pass the WGI file with country rows",
        )
    _check_duplicates(frame)
    table = schema.conform(
        pa.Table.from_pandas(frame[[f.name for f in schema.GOVERNANCE]], preserve_index=False),
        schema.GOVERNANCE,
        what="governance",
    )
    return table, _notes(label, raw_codes, country, aggregate, missing)


def _check_duplicates(frame: pd.DataFrame) -> None:
    """Refuse two rows for one (country, year, indicator), after legacy codes are mapped."""
    key = ["country", "year", "indicator"]
    repeated = frame.duplicated(key, keep=False)
    if not repeated.any():
        return
    # Sorted by key, the first two repeated rows share one key.
    first, second = (
        row for _, row in frame[repeated].sort_values([*key, "line"]).iloc[:2].iterrows()
    )
    codes = (
        first["code"]
        if second["code"] == first["code"]
        else (f"{first['code']} and {second['code']}")
    )
    raise InputError(
        f"{second['country']} {second['year']} {second['indicator']} appears twice (lines "
        f"{first['line']} and {second['line']}, code {codes}); "
        f"{int(frame.duplicated(key).sum())} duplicate row(s) in all",
        file=second["file"],
        line=int(second["line"]),
        field="code",
        hint="each economy, year and indicator may appear once; remove the repeats",
    )


def _notes(
    where: str,
    raw_codes: pd.Series,
    country: pd.Series,
    aggregate: pd.Series,
    missing: pd.Series,
) -> list[str]:
    """What the reader changed or left out, with counts, for the ingest record."""
    notes = []
    dropped = raw_codes[aggregate].value_counts().sort_index()
    if len(dropped):
        listing = ", ".join(f"{code} ({n} rows)" for code, n in dropped.items())
        notes.append(f"{where}: dropped World Bank aggregates (not economies): {listing}")
    renamed = raw_codes != country
    mapped = (
        pd.DataFrame({"code": raw_codes[renamed], "iso3": country[renamed]})
        .value_counts()
        .sort_index()
    )
    if len(mapped):
        listing = ", ".join(f"{code}->{iso3} ({n} rows)" for (code, iso3), n in mapped.items())
        notes.append(f"{where}: legacy WGI codes mapped to ISO3: {listing}")
    kept_missing = int((missing & ~aggregate).sum())
    if kept_missing:
        notes.append(
            f"{where}: {kept_missing} of {int((~aggregate).sum())} estimates are missing "
            "in the file (.., #N/A or blank) and kept as null"
        )
    return notes
