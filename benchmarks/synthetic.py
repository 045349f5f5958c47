"""The synthetic world of the benchmarks: BACI-scale bilateral flows, deterministic.

About 220 real ISO3 codes, 5,000 HS6-like codes (``010110``... not real HS codes), distinct
(exporter, importer, product) keys drawn with a skew towards large economies, about 75-90% of a
year's flows present the year before or after, and lognormal values with a dominant exporter
for some products, so that some imports and world exports are concentrated. Three years
(2020-2022) written like the store (``trade/source=bench/classification=HS17/year=YYYY/
*.parquet``, one file per year, the canonical trade columns), or, with ``--years N``, an N-year
panel to 2024 written as BACI yearly CSVs (``BACI_HS92_Y1995_V202501.csv``...) for the real
ingest (:func:`generate_panel`).

    python benchmarks/synthetic.py --into FOLDER [--rows-per-year 11000000] [--years N]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import duckdb

YEARS = (2020, 2021, 2022)
N_PRODUCTS = 5000
#: Large economies first: the skewed draws make the first codes the biggest traders.
LARGE = [
    *("CHN", "USA", "DEU", "JPN", "KOR", "FRA", "ITA", "GBR", "NLD", "IND", "CAN", "MEX"),
    *("BEL", "ESP", "CHE", "TWN", "SGP", "RUS", "AUS", "BRA", "POL", "THA", "MYS", "VNM"),
    *("SAU", "ARE", "IDN", "SWE", "AUT", "TUR", "IRL", "CZE", "NOR", "DNK", "HUN", "ISR"),
]
#: Products whose flows from one exporter are multiplied, making world exports concentrated.
DOMINATED_SHARE = 0.15
DOMINANCE = 300.0


def country_codes(n: int = 220) -> list[str]:
    """``n`` real ISO3 codes of BACI countries, the large economies first."""
    from chokepoints.reference.countries import countries

    table = countries()
    baci = sorted(table.loc[table["baci_code"].notna() & table["is_country"], "iso3"])
    codes = [*LARGE, *(c for c in baci if c not in LARGE)]
    return codes[:n]


def uniform(salt: int, number: str) -> str:
    """SQL for a deterministic uniform number in (0, 1] hashed from the integer ``number``.

    ``salt`` (0-63) gives independent draws from one number; DuckDB's ``hash(a, b)`` would
    not, its combination of arguments leaves them correlated.
    """
    return f"((hash(({number}) * 64 + {salt}) >> 11) + 1) / 9007199254740992.0"


def normal(salt: int, number: str) -> str:
    """SQL for a deterministic standard normal number (Box-Muller on two hashed uniforms)."""
    return f"(sqrt(-2 * ln({uniform(salt, number)})) * cos(2 * pi() * {uniform(salt + 1, number)}))"


def _world(con: duckdb.DuckDBPyConnection, pool: int, candidates: int) -> int:
    """Create the tables ``codes``, ``products`` and ``pool`` (``pool`` distinct flow keys
    ``k, e, i, p`` numbered in draw order); return the number of countries."""
    codes = country_codes()
    n_countries = len(codes)
    con.execute("CREATE TABLE codes (c INTEGER, iso3 VARCHAR)")
    con.executemany("INSERT INTO codes VALUES (?, ?)", list(enumerate(codes)))
    # Products: chapter 01-97, then 52 subheadings each: 010110, 010120, ...
    con.execute(
        f"""
        CREATE TABLE products AS
        SELECT range AS p,
               printf('%02d%02d%02d', 1 + range % 97, 1 + (range // 97) // 4,
                      10 * (1 + (range // 97) % 4)) AS product,
               CASE WHEN {uniform(7, "range")} < {DOMINATED_SHARE}
                    THEN floor(20 * pow({uniform(8, "range")}, 2))::INTEGER END AS dominant,
               exp(3 + {normal(9, "range")}) AS price
        FROM range({N_PRODUCTS})
        """
    )
    # Keys: skewed draws (importers and exporters towards the first codes, products mildly),
    # repeated keys removed, the first ``pool`` distinct keys in draw order kept, numbered.
    con.execute(
        f"""
        CREATE TABLE pool AS
        WITH draws AS (
            SELECT range AS r,
                   least(floor({n_countries} * pow({uniform(1, "range")}, 1.8)),
                         {n_countries - 1})::INTEGER AS e,
                   least(floor({n_countries - 1} * pow({uniform(2, "range")}, 1.5)),
                         {n_countries - 2})::INTEGER AS i0,
                   least(floor({N_PRODUCTS} * pow({uniform(3, "range")}, 1.3)),
                         {N_PRODUCTS - 1})::INTEGER AS p
            FROM range({candidates})
        ),
        distinct_keys AS (
            SELECT e, CASE WHEN i0 >= e THEN i0 + 1 ELSE i0 END AS i, p, min(r) AS first
            FROM draws GROUP BY ALL
        )
        SELECT row_number() OVER (ORDER BY first) - 1 AS k, e, i, p
        FROM distinct_keys QUALIFY k < {pool}
        """
    )
    found = con.execute("SELECT count(*) FROM pool").fetchone()[0]
    if found < pool:
        raise SystemExit(f"only {found:,} distinct keys for a pool of {pool:,}: too many rows")
    return n_countries


def _value_usd(key_year: str) -> str:
    """SQL for a flow's value in USD: a lasting level per key, yearly noise, dominant exporters."""
    return f"""greatest(1, round(
                   100000 * exp(2.2 * {normal(11, "k")} + 0.3 * {normal(13, key_year)})
                   * CASE WHEN pool.e = products.dominant THEN {DOMINANCE} ELSE 1 END))"""


def generate(folder: Path, rows_per_year: int) -> list[Path]:
    """Write three years of ``rows_per_year`` synthetic flows, one Parquet file a year.

    This world is the one the other benchmarks and the documentation quote: keep it bit for
    bit (a longer panel is :func:`generate_panel`).
    """
    pool = math.ceil(rows_per_year * 1.25)  # each year takes N of these keys
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    _world(con, pool, pool * 2)
    files = []
    for index, year in enumerate(YEARS):
        # Year j keeps the keys k with (k - shift_j) mod pool < N: consecutive years share
        # about 87% of their flows, the first and last 75%.
        shift = index * (pool - rows_per_year) // 2
        path = folder / "trade" / "source=bench" / "classification=HS17" / f"year={year}"
        path.mkdir(parents=True)
        target = path / "all-bench.parquet"
        key_year = f"k * 4 + {index}"
        con.execute(
            f"""
            COPY (
                SELECT {year}::SMALLINT AS year, x.iso3 AS exporter, m.iso3 AS importer,
                       products.product, 'HS17' AS classification, 6::TINYINT AS level,
                       {_value_usd(key_year)} AS value_usd,
                       CASE WHEN {uniform(15, key_year)} < 0.05 THEN NULL
                            ELSE round(value_usd / products.price, 3) END AS quantity_t,
                       'bench' AS source, 'synthetic' AS release, 'reconciled' AS reporter_side
                FROM pool
                JOIN codes x ON x.c = pool.e
                JOIN codes m ON m.c = pool.i
                JOIN products ON products.p = pool.p
                WHERE (k - {shift} + {pool}) % {pool} < {rows_per_year}
                ORDER BY exporter, importer, product
            ) TO '{target}' (FORMAT parquet, COMPRESSION zstd)
            """
        )
        files.append(target)
    con.close()
    return files


#: Panel: share of a year's flows present in every year (the largest ones, as in real trade).
PANEL_CORE = 0.5
#: Panel: share of a year's flows replaced the next year (the smaller flows churn).
PANEL_CHURN = 0.125
#: Panel: nominal growth of every flow per year.
PANEL_GROWTH = 0.03
#: Panel: the BACI release and HS revision written in the file names (HS92 covers 1995-).
PANEL_RELEASE = "V202501"
PANEL_REVISION = "HS92"


def panel_years(n_years: int, last: int = 2024) -> list[int]:
    """The ``n_years`` years of a panel ending in ``last`` (BACI HS92 starts in 1995)."""
    return list(range(last - n_years + 1, last + 1))


def panel_file(folder: Path, year: int) -> Path:
    """The BACI yearly file of ``year`` in ``folder``: ``BACI_HS92_Y1995_V202501.csv``."""
    return folder / f"BACI_{PANEL_REVISION}_Y{year}_{PANEL_RELEASE}.csv"


def generate_panel(
    folder: Path,
    rows_per_year: int,
    years: list[int],
    *,
    memory_limit: str = "8GB",
) -> list[Path]:
    """Write ``years`` of ``rows_per_year`` flows as BACI yearly CSVs, one year at a time.

    Same countries, products, skew and values as :func:`generate`, in BACI's layout
    (``t,i,j,k,v,q``: numeric BACI country codes, 6-digit ``k``, ``v`` in thousand USD, ``q``
    in tons, space-padded, ``NA`` or blank when missing). Flows persist as in real trade: the
    largest half of a year's flows (by their lasting level) are present every year; the other
    half churn, 12.5% of a year's flows replaced each year by flows absent the year before,
    each churning flow present four years in eight. Consecutive years share 87.5% of their
    flows and years two apart 75% (as in :func:`generate`); over 30 years, the largest half of
    the flows is the same. Values grow by 3% a year. Only the key pool
    (1.5 x ``rows_per_year`` keys) is held, never a year's rows: each year is written by one
    ``COPY``. A year whose file exists is skipped (a run cut short resumes); each file is
    written aside and renamed, so it is whole when present.
    """
    n = rows_per_year
    core = round(n * PANEL_CORE)
    churning = n - core  # churning keys present in a year
    cycle = 2 * churning  # churning keys in all: each is present half the time
    step = round(n * PANEL_CHURN)
    if len(years) > 128:
        raise SystemExit("at most 128 years")
    folder.mkdir(parents=True, exist_ok=True)
    files = [panel_file(folder, year) for year in years]
    if all(f.exists() for f in files):
        return files
    (folder / ".tmp").mkdir(exist_ok=True)
    con = duckdb.connect(
        config={"memory_limit": memory_limit, "temp_directory": str(folder / ".tmp")}
    )
    con.execute("SET preserve_insertion_order = false")
    pool = core + cycle
    _world(con, pool, pool * 2)
    from chokepoints.reference.countries import countries

    baci = countries().set_index("iso3")["baci_code"]
    con.execute("CREATE TABLE baci (c INTEGER, code INTEGER)")
    con.executemany(
        "INSERT INTO baci VALUES (?, ?)",
        [(c, int(baci[iso3])) for c, iso3 in con.execute("SELECT c, iso3 FROM codes").fetchall()],
    )
    # The core: the keys of the largest lasting level; the rest churn, placed at random on a
    # cycle of ``cycle`` slots of which a year takes ``churning`` consecutive ones.
    con.execute(
        f"""
        CREATE TABLE panel AS
        WITH ranked AS (
            SELECT k, e, i, p, row_number() OVER (ORDER BY {normal(11, "k")} DESC, k) - 1 AS r
            FROM pool
        )
        SELECT k, e, i, p,
               CASE WHEN r < {core} THEN NULL
                    ELSE row_number() OVER (
                        PARTITION BY r < {core} ORDER BY hash(k * 64 + 21), k) - 1
               END AS slot
        FROM ranked
        """
    )
    con.execute("DROP TABLE pool")
    for index, (year, target) in enumerate(zip(years, files, strict=True)):
        if target.exists():
            continue
        shift = index * step
        key_year = f"k * 128 + {index}"
        aside = target.with_name(target.name + ".part")
        con.execute(
            f"""
            COPY (
                SELECT t, i, j, product AS k, printf('%.3f', value_usd / 1000) AS v,
                       CASE WHEN missing < 0.04 THEN '           NA'
                            WHEN missing < 0.05 THEN ''
                            ELSE lpad(printf('%.3f', value_usd / price), 15, ' ') END AS q
                FROM (
                    SELECT {year} AS t, x.code AS i, m.code AS j, products.product,
                           round({_value_usd(key_year)} * {math.exp(PANEL_GROWTH * index)!r})
                               AS value_usd,
                           products.price, {uniform(15, key_year)} AS missing
                    FROM panel AS pool
                    JOIN baci x ON x.c = pool.e
                    JOIN baci m ON m.c = pool.i
                    JOIN products ON products.p = pool.p
                    WHERE slot IS NULL OR (slot + {cycle} - {shift % cycle}) % {cycle} < {churning}
                )
                ORDER BY i, j, k
            ) TO '{aside}' (FORMAT csv, HEADER, DELIMITER ',', QUOTE '')
            """
        )
        aside.rename(target)
        size = target.stat().st_size / 2**20
        print(f"generated {year}: {n:,} flows, {size:,.0f} MiB", file=sys.stderr, flush=True)
    con.close()
    return files


#: The flow columns the analyses read.
FLOW_COLUMNS = ["year", "exporter", "importer", "product", "value_usd", "quantity_t"]


def generate_in_child(folder: Path, rows_per_year: int) -> list[Path]:
    """:func:`generate` in a child process.

    A child started by ``subprocess`` (vfork + exec on Linux) inherits its parent's peak RSS
    as the floor of its own ``ru_maxrss``: the parent must never hold the data in memory, or
    every measured peak would be at least the generator's.
    """
    command = [sys.executable, __file__, "--into", str(folder)]
    command += ["--rows-per-year", str(rows_per_year)]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [Path(f) for f in json.loads(output)]


def main() -> None:
    """Write the world into a folder and print the files as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, required=True)
    parser.add_argument("--rows-per-year", type=int, default=11_000_000)
    parser.add_argument(
        "--years",
        type=int,
        help="write a panel of this many years (to 2024) as BACI yearly CSVs; default: the "
        "three-year world of the other benchmarks, as store-like Parquet",
    )
    args = parser.parse_args()
    if args.years:
        files = generate_panel(args.into, args.rows_per_year, panel_years(args.years))
    else:
        files = generate(args.into, args.rows_per_year)
    print(json.dumps([str(f) for f in files]))


if __name__ == "__main__":
    main()
