"""Every public question gives the same answer on DuckDB and on Spark (PySpark, local mode).

Each question is asked through ``Workspace`` on the same store with both engines, on the demo
world and on the real BACI 2022 slices of 30 critical materials, each with governance indicators
and a small USGS production file. Frames must agree row for row once sorted by their keys
(floats to ``rtol`` 1e-9), with the same columns and dtypes, and carry the same provenance.
DuckDB's answer is the reference: the other tests check it against hand-computed cases.

Spark is the worker's one local Spark (started again only if another module stopped it);
the stores are built once per run and shared by the workers, read-only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from chokepoints.workspace import Workspace
from conftest import ingest_atlas, shared_home, start_local_spark
from helpers import require_spark

pytestmark = pytest.mark.spark

#: Relative tolerance of floats: sums of the same values in another order differ in the last
#: digits, nothing more.
RTOL = 1e-9

# -- the data --------------------------------------------------------------------------------
#: USGS Mineral Commodity Summaries world data in its published wide layout (MCS2025), for
#: the commodities the two stores trade: cobalt (mine, refinery), rare earths, graphite.
USGS_HEADER = (
    "SOURCE,COMMODITY,COUNTRY,TYPE,UNIT_MEAS,PROD_2023,PROD_EST_ 2024,PROD_NOTES,CAP_2023,"
    "CAP_EST_ 2024,CAP_NOTES,RESERVES_2024,RESERVE_NOTES"
)
USGS_ROWS = [
    'MCS2025,Cobalt,Congo (Kinshasa),"Mine production, cobalt content",metric tons,210000,220000,,,,,6000000,',  # noqa: E501
    'MCS2025,Cobalt,Indonesia,"Mine production, cobalt content",metric tons,17000,28000,,,,,640000,',  # noqa: E501
    'MCS2025,Cobalt,Russia,"Mine production, cobalt content",metric tons,8800,8700,,,,,250000,',
    'MCS2025,Cobalt,Australia,"Mine production, cobalt content",metric tons,4600,3600,,,,,1700000,',
    'MCS2025,Cobalt,Other countries,"Mine production, cobalt content",metric tons,12000,8000,,,,,,',
    'MCS2025,Cobalt,World total (rounded),"Mine production",metric tons,,290000,,,,,11000000,',
    'MCS2025,Cobalt,China,"Refinery production, cobalt content",metric tons,170000,180000,,,,,,',
    'MCS2025,Cobalt,Finland,"Refinery production, cobalt content",metric tons,13000,14000,,,,,,',
    'MCS2025,Cobalt,Canada,"Refinery production, cobalt content",metric tons,3900,3800,,,,,,',
    'MCS2025,Cobalt,Japan,"Refinery production, cobalt content",metric tons,3500,3600,,,,,,',
    'MCS2025,Rare earths,China,"Mine production, rare-earth-oxide equivalent",metric tons,255000,270000,,,,,44000000,',  # noqa: E501
    'MCS2025,Rare earths,United States,"Mine production, rare-earth-oxide equivalent",metric tons,41600,45000,,,,,1900000,',  # noqa: E501
    'MCS2025,Rare earths,Burma,"Mine production, rare-earth-oxide equivalent",metric tons,43000,31000,,,,,,',  # noqa: E501
    'MCS2025,Rare earths,Australia,"Mine production, rare-earth-oxide equivalent",metric tons,16000,13000,,,,,5700000,',  # noqa: E501
    'MCS2025,Graphite,China,"Mine production, natural graphite",metric tons,1230000,1270000,,,,,81000000,',  # noqa: E501
    'MCS2025,Graphite,Madagascar,"Mine production, natural graphite",metric tons,100000,89000,,,,,27000000,',  # noqa: E501
    'MCS2025,Graphite,Mozambique,"Mine production, natural graphite",metric tons,96000,75000,,,,,25000000,',  # noqa: E501
    'MCS2025,Graphite,Brazil,"Mine production, natural graphite",metric tons,73000,68000,,,,,74000000,',  # noqa: E501
]  # fmt: skip

WGI_HEADER = (
    "codeindyr,code,countryname,year,indicator,estimate,stddev,nsource,pctrank,pctranklower,"
    "pctrankupper"
)
#: Countries of the demo world given governance scores (the others stay unscored).
WGI_COUNTRIES = [
    *("ARE", "AUS", "BRA", "CAN", "CHE", "CHL", "CHN", "COD", "DEU", "FRA", "GBR", "IDN"),
    *("IND", "ITA", "JPN", "KAZ", "KOR", "MEX", "MMR", "MYS", "NLD", "NOR", "PHL", "POL"),
    *("RUS", "SWE", "THA", "TUR", "TWN", "USA", "VNM", "ZAF"),
]


def _write_usgs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "MCS2025_World_Data.csv"
    path.write_bytes(("\r\n".join([USGS_HEADER, *USGS_ROWS]) + "\r\n").encode("utf-8-sig"))
    return path


def _write_wgi(folder: Path) -> Path:
    """Estimates for two years and the six indicators, spread over -2.5..2.5 by country."""
    rows = []
    for n, code in enumerate(WGI_COUNTRIES):
        for year in (2021, 2022):
            for k, indicator in enumerate(("va", "pv", "ge", "rq", "rl", "cc")):
                estimate = round(((n * 37 + k * 11 + year) % 50) / 10 - 2.5, 2)
                rows.append(
                    f"{code}{indicator}{year},{code},{code},{year},{indicator},{estimate},"
                    "0.2,5,50,40,60"
                )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "wgi.csv"
    path.write_text("\n".join([WGI_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _build_demo(home: Path) -> None:
    ws = Workspace.open(home)
    ws.load_demo()
    ws.ingest_wgi(_write_wgi(home.parent / f"{home.name}-files"))
    ws.ingest_usgs(_write_usgs(home.parent / f"{home.name}-files"))


def _build_atlas(home: Path, data: Path) -> None:
    ws = ingest_atlas(Workspace.open(home), data)
    ws.ingest_wgi(data / "wgi" / "wgidataset.xlsx")
    ws.ingest_usgs(_write_usgs(home.parent / f"{home.name}-files"))


# -- the engines -----------------------------------------------------------------------------
class Engines:
    """One DuckDB and one Spark workspace per store, opened once per worker.

    Spark is the worker's local one (``conftest.start_local_spark``). Another module may stop
    it (``session.stop()`` ends the process's SparkContext): it is then started again and the
    Spark workspaces reopened.
    """

    def __init__(self) -> None:
        #: Workspaces by (home, backend), with the SparkContext a Spark one was opened on.
        self.open: dict[tuple[str, str], tuple[Workspace, Any]] = {}

    def workspace(self, home: Path, backend: str) -> Workspace:
        """The workspace of ``home`` on ``backend``; a Spark one on the live SparkContext."""
        context = None
        if backend == "pyspark":
            from pyspark import SparkContext

            start_local_spark()
            context = SparkContext._active_spark_context
        key = (str(home), backend)
        if key not in self.open or self.open[key][1] is not context:
            self.open[key] = (Workspace.open(home, backend=backend), context)
        return self.open[key][0]


@pytest.fixture(scope="session")
def engines() -> Engines:
    """The workspaces of this worker; skips without PySpark or Java, fails so under CI."""
    require_spark("Spark parity tests")
    return Engines()


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo world with synthetic governance scores and USGS production."""
    return shared_home(tmp_path_factory, "parity-demo", _build_demo)


@pytest.fixture(scope="session")
def atlas_home(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real 2022 slices with the real WGI file and USGS production."""
    return shared_home(
        tmp_path_factory, "parity-atlas", lambda home: _build_atlas(home, shared_data)
    )


# -- comparing answers -----------------------------------------------------------------------
def same_frames(
    duck: pd.DataFrame, spark: pd.DataFrame, keys: list[str], what: str, *, unique: bool = True
) -> None:
    """Equal columns, dtypes and rows once sorted by ``keys`` (``unique``: one row per key);
    floats to ``RTOL``."""
    assert list(spark.columns) == list(duck.columns), what
    assert spark.dtypes.astype(str).to_dict() == duck.dtypes.astype(str).to_dict(), what
    assert len(spark) == len(duck), f"{what}: {len(spark)} rows on Spark, {len(duck)} on DuckDB"
    missing = [k for k in keys if k not in duck.columns]
    assert not missing, f"{what}: no key column(s) {missing}"
    if keys and unique:
        duplicated = duck.duplicated(keys)
        assert not duplicated.any(), f"{what}: keys {keys} repeat:\n{duck[duplicated].head()}"
    duck = duck.sort_values(keys, kind="stable").reset_index(drop=True) if keys else duck
    spark = spark.sort_values(keys, kind="stable").reset_index(drop=True) if keys else spark
    pd.testing.assert_frame_equal(
        duck.reset_index(drop=True),
        spark.reset_index(drop=True),
        check_exact=False,
        rtol=RTOL,
        atol=1e-12,
        obj=what,
    )
    same_provenance(duck.attrs, spark.attrs, what)


def same_provenance(duck: Any, spark: Any, what: str) -> None:
    """Equal provenance (dataset, year, method, warnings...), floats to ``RTOL``, each naming
    the engine that answered (the one thing that differs)."""
    duck, duck_engine = _engine_apart(duck)
    spark, spark_engine = _engine_apart(spark)
    assert duck_engine in (None, "duckdb"), f"{what}: DuckDB's answer says engine {duck_engine}"
    assert spark_engine is None or spark_engine.startswith("spark"), f"{what}: {spark_engine}"
    assert _close(duck, spark), f"{what}: provenance differs\nDuckDB: {duck}\nSpark:  {spark}"


def _engine_apart(attrs: Any) -> tuple[Any, str | None]:
    """``attrs`` without the provenance's ``engine``, and that engine."""
    if not isinstance(attrs, dict) or not isinstance(attrs.get("provenance"), dict):
        return attrs, None
    record = dict(attrs["provenance"])
    engine = record.pop("engine", None)
    return {**attrs, "provenance": record}, engine


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        both_nan = math.isnan(a) and math.isnan(b)
        return both_nan or math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-12)
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        return a.equals(b)
    return type(a) is type(b) and a == b


# -- the questions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    """A Workspace call and the key columns of each frame of its answer."""

    ask: Callable[[Workspace], Any]
    keys: dict[str, list[str]]
    #: The stores it is asked on (the atlas holds 30 products of one year only).
    on: tuple[str, ...] = ("demo", "atlas")
    #: Whether an empty answer is the right one (then its columns and dtypes still agree).
    empty: bool = False


DEPS_KEYS = {"": ["product"]}
QUESTIONS: dict[str, Question] = {
    "dependencies-geodep": Question(
        lambda ws: ws.dependencies(
            "JPN", include_all=True, share_from=["CHN", "G7"], look_through=True
        ),
        DEPS_KEYS,
    ),
    "dependencies-ec2021": Question(
        lambda ws: ws.dependencies("EU27", method="ec2021", include_all=True), DEPS_KEYS
    ),
    "dependencies-custom": Question(
        lambda ws: ws.dependencies(
            "DEU", method="custom", rules=["hhi>0.3", "top_supplier=CHN"], include_all=True
        ),
        DEPS_KEYS,
    ),
    "dependencies-exports": Question(
        lambda ws: ws.dependencies("CHN", side="exports", include_all=True, share_from=["USA"]),
        DEPS_KEYS,
    ),
    "risk": Question(lambda ws: ws.risk("DEU"), DEPS_KEYS),
    "product": Question(
        lambda ws: ws.product("850511").frames(),
        {"summary": ["product"], "exporters": ["exporter"], "importers": ["importer"]},
    ),
    "trend": Question(lambda ws: ws.trend("JPN", "CHN"), {"": ["year"]}),
    "shock": Question(
        lambda ws: ws.shock(
            supplier="CHN", sectors=["critical_minerals"], importers=["JPN", "EU27", "USA"]
        ),
        {"": ["importer", "product"]},
    ),
    "shock-by-member": Question(
        lambda ws: ws.shock(
            supplier="CHN", sectors=["critical_minerals"], importers=["EU27"], by="member"
        ),
        {"": ["importer", "product"]},
    ),
    "downstream": Question(
        lambda ws: ws.downstream(supplier="CHN", products=["284690"]),
        {"": ["chain", "country", "product", "path"]},
        on=("demo",),
    ),
    # The atlas holds no product downstream of its 30 (no magnet motors, no batteries): the
    # answer is empty on both engines, with the same columns.
    "downstream-atlas": Question(
        lambda ws: ws.downstream(supplier="CHN", products=["850511", "282200"]),
        {"": ["chain", "country", "product", "path"]},
        on=("atlas",),
        empty=True,
    ),
    "stress": Question(
        lambda ws: ws.stress(importers=["JPN", "DEU"]), {"": ["importer", "sector", "supplier"]}
    ),
    "exposure": Question(lambda ws: ws.exposure("DEU", "CHN"), {"": ["sector"]}),
    "diversify": Question(
        lambda ws: ws.diversify(
            "JPN", "850511", trusted=["G7"], max_share=0.6, objective="hhi_wgi"
        ).frames(),
        {"alternatives": ["exporter"], "mix": ["supplier"]},
    ),
    "diversify_all": Question(
        lambda ws: ws.diversify_all("JPN", exclude=["CHN", "RUS"]), {"": ["product"]}
    ),
    "markets": Question(lambda ws: ws.markets("CHN", "850511"), {"": ["importer"]}),
    "compare": Question(
        lambda ws: ws.compare(["JPN", "DEU", "USA"], exclude=["CHN"]).frames(),
        {
            "by_sector": ["sector"],
            "shared": ["product", "partner"],
            "complementarity": ["product", "exporter_partner", "importer_partner"],
            "best_practice": ["product", "partner"],
            "joint": ["product"],
        },
    ),
    "upstream": Question(lambda ws: ws.upstream("JPN", "850511", depth=2), {"": ["via", "origin"]}),
    "origins": Question(lambda ws: ws.origins("DEU", "850511"), {"": ["origin"]}),
    "chain_stages": Question(lambda ws: ws.chain_stages("JPN"), {"": ["chain", "step"]}),
    "production": Question(lambda ws: ws.production("cobalt", stage="refinery"), {"": ["country"]}),
    "import_sources": Question(lambda ws: ws.import_sources("JPN"), {"": ["exporter"]}),
}

CASES = [
    pytest.param(
        store,
        name,
        id=f"{store}-{name}",
        marks=[pytest.mark.shared_data] if store == "atlas" else [],
    )
    for name, question in QUESTIONS.items()
    for store in question.on
]


@pytest.fixture
def home_of(request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """The store's home by name; the atlas is only asked for (and skipped) when used."""
    return lambda store: request.getfixturevalue(f"{store}_home")


def _frames(answer: Any) -> dict[str, pd.DataFrame]:
    return answer if isinstance(answer, dict) else {"": answer}


@pytest.mark.parametrize(("store", "name"), CASES)
def test_question_agrees(engines: Engines, home_of, store: str, name: str) -> None:
    question = QUESTIONS[name]
    home = home_of(store)
    duck = _frames(question.ask(engines.workspace(home, "duckdb")))
    spark = _frames(question.ask(engines.workspace(home, "pyspark")))
    assert spark.keys() == duck.keys()
    if not question.empty:
        assert any(len(frame) for frame in duck.values()), f"{name} answers nothing on {store}"
    for part, frame in duck.items():
        same_frames(frame, spark[part], question.keys[part], f"{store} {name} {part}".strip())


def test_ties_name_the_smallest_code(engines: Engines, demo_home: Path) -> None:
    """Two suppliers tied for the largest share: the top supplier is the smaller code on both
    engines (hand-made flows: DEU and CHN sell 40 each to JPN, USA 20)."""
    import ibis

    from chokepoints.analysis.concentration import import_concentration

    flows = pd.DataFrame(
        {
            "year": [2022] * 3,
            "exporter": ["DEU", "CHN", "USA"],
            "importer": ["JPN"] * 3,
            "product": ["850511"] * 3,
            "value_usd": [40.0, 40.0, 20.0],
            "quantity_t": [1.0, 1.0, 1.0],
        }
    )
    for backend in ("duckdb", "pyspark"):
        con = engines.workspace(demo_home, backend).con
        table = import_concentration(ibis.memtable(flows).cast({"year": "int16"}))
        row = con.execute(table).iloc[0]
        assert row["top_supplier"] == "CHN", backend
        assert row["top_supplier_share"] == pytest.approx(0.4)
        assert row["hhi"] == pytest.approx(0.4**2 + 0.4**2 + 0.2**2)
