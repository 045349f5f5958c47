"""The synthetic world of the benchmarks: BACI-scale bilateral flows, deterministic.

About 220 real ISO3 codes, 5,000 HS6-like codes (``010110``... not real HS codes), distinct
(exporter, importer, product) keys drawn with a skew towards large economies, about 75-90% of a
year's flows present the year before or after, and lognormal values with a dominant exporter
for some products, so that some imports and world exports are concentrated. Written like the
store (``trade/source=bench/classification=HS17/year=YYYY/*.parquet``, one file per year, the
canonical trade columns).

    python benchmarks/synthetic.py --into FOLDER [--rows-per-year 11000000]
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


def generate(folder: Path, rows_per_year: int) -> list[Path]:
    """Write three years of ``rows_per_year`` synthetic flows, one Parquet file a year."""
    codes = country_codes()
    n_countries = len(codes)
    pool = math.ceil(rows_per_year * 1.25)  # each year takes N of these keys
    candidates = pool * 2  # draws, before removing repeated keys
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
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
                       greatest(1, round(
                           100000 * exp(2.2 * {normal(11, "k")} + 0.3 * {normal(13, key_year)})
                           * CASE WHEN pool.e = products.dominant THEN {DOMINANCE} ELSE 1 END
                       )) AS value_usd,
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
    args = parser.parse_args()
    print(json.dumps([str(f) for f in generate(args.into, args.rows_per_year)]))


if __name__ == "__main__":
    main()
