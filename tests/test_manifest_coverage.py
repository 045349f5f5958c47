"""Coverage recorded at ingest in each trade part's record: who reports, imports and exports.

``data info`` and the choice of a dataset read it from the manifest instead of scanning the
data; stores written before it was recorded, and years held in several slices (whose distinct
counts do not add up), fall back to a query. Expected values are counted by hand, or with
pandas from the data files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from chokepoints.analysis import concentration
from chokepoints.questions.common import coverage, recorded_coverage
from chokepoints.workspace import Workspace
from helpers import SMALL_ROWS, write_baci

#: The key columns of the coverage frame (one row per country seen in a year).
KEYS = ["source", "classification", "level", "year", "country"]
#: The fields the coverage adds to a trade part's record.
COVERAGE_FIELDS = ("reporters", "importers", "exporters", "reconciled", "country_coverage")

#: SMALL_ROWS (CHN, FRA, TWN -> JPN; USA -> CHN; JPN -> USA), plus Germany trading only with
#: itself and an Italian (BACI 380) flow to China worth 0: both count as traders, neither in
#: the country coverage (positive flows between two countries only).
ROWS = [*SMALL_ROWS, "2021,276,276,850511,9,1", "2021,380,156,850511,0,1"]
#: Counted by hand from ROWS (BACI is reconciled: the reporter of a row is its importer).
IMPORTERS = {"JPN", "CHN", "USA", "DEU"}
EXPORTERS = {"CHN", "FRA", "TWN", "USA", "JPN", "DEU", "ITA"}
#: [imports, exports] in USD (BACI values are thousands): JPN imports 1000.5 + 200 + 3000.25.
COUNTRY_COVERAGE = {
    "6": {
        "CHN": [50_000.0, 1_000_500.0],
        "FRA": [0.0, 200_000.0],
        "JPN": [4_200_750.0, 7_500.0],
        "TWN": [0.0, 3_000_250.0],
        "USA": [7_500.0, 50_000.0],
    }
}


def trade_parts(home: Path) -> list[dict[str, Any]]:
    """The trade parts of the committed manifest, read as JSON."""
    manifest = json.loads((home / "manifest.json").read_text(encoding="utf-8"))
    return [p for p in manifest["parts"] if p["table"] == "trade"]


def strip_coverage(home: Path) -> None:
    """Rewrite the manifest as this version's predecessor wrote it: parts without coverage."""
    path = home / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for part in manifest["parts"]:
        for name in COVERAGE_FIELDS:
            part.pop(name, None)
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")


def sorted_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A coverage frame in key order, for comparing two that were built in different orders."""
    return frame.sort_values(KEYS).reset_index(drop=True)


def assert_same_coverage(recorded: pd.DataFrame, queried: pd.DataFrame) -> None:
    """The same rows, types and reported sides; money equal but for summation order."""
    recorded, queried = sorted_frame(recorded), sorted_frame(queried)
    pd.testing.assert_frame_equal(recorded, queried, check_exact=False, rtol=1e-12)
    for column in ("imports_usd", "exports_usd"):
        assert (recorded[column] > 0).tolist() == (queried[column] > 0).tolist()


@pytest.fixture
def small(home: Path, tmp_path: Path) -> Workspace:
    """A store holding ROWS as one BACI year (one part)."""
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path / "in", ROWS))
    return ws


def test_a_part_records_who_reports_imports_and_exports(small: Workspace) -> None:
    [part] = trade_parts(small.home)
    assert part["reporters"] == len(IMPORTERS) == 4
    assert part["importers"] == len(IMPORTERS)
    assert part["exporters"] == len(EXPORTERS) == 7
    assert part["reconciled"] is True
    assert part["country_coverage"] == COUNTRY_COVERAGE


def test_info_reads_the_recorded_coverage(small: Workspace) -> None:
    [source] = small.info()["sources"]
    assert source["years"] == [
        {
            "year": 2021,
            "rows": len(ROWS),
            "value_usd": pytest.approx(4_267_250.0),
            "reporters": 4,
            "importers": 4,
            "exporters": 7,
            "coverage": "reconciled (world)",
        }
    ]


def test_dataset_choice_reads_the_recorded_coverage(small: Workspace) -> None:
    expected = pd.DataFrame(
        [
            ("baci", "HS17", 6, 2021, country, imports, exports)
            for country, (imports, exports) in COUNTRY_COVERAGE["6"].items()
        ],
        columns=[*KEYS, "imports_usd", "exports_usd"],
    ).astype({"level": "int8", "year": "int16"})
    pd.testing.assert_frame_equal(sorted_frame(coverage(small.context)), sorted_frame(expected))


def test_a_store_written_before_coverage_was_recorded_still_answers(small: Workspace) -> None:
    strip_coverage(small.home)
    old = Workspace.open(small.home)
    assert not any(name in p for p in trade_parts(old.home) for name in COVERAGE_FIELDS)
    assert recorded_coverage(old.context.parts) is None
    [source] = old.info()["sources"]
    [year] = source["years"]
    assert (year["reporters"], year["importers"], year["exporters"]) == (4, 4, 7)
    assert year["coverage"] == "reconciled (world)"
    frame = sorted_frame(coverage(old.context)).set_index("country")
    assert sorted(frame.index) == sorted(COUNTRY_COVERAGE["6"])
    for country, (imports, exports) in COUNTRY_COVERAGE["6"].items():
        assert frame.loc[country, "imports_usd"] == pytest.approx(imports)
        assert frame.loc[country, "exports_usd"] == pytest.approx(exports)


def test_repair_recomputes_the_coverage_from_the_files(small: Workspace) -> None:
    before = trade_parts(small.home)
    (small.home / "manifest.json").unlink()
    report = small.repair()
    assert report["rebuilt"] == [p["path"] for p in before]
    after = trade_parts(small.home)
    assert [{n: p[n] for n in COVERAGE_FIELDS} for p in after] == [
        {n: p[n] for n in COVERAGE_FIELDS} for p in before
    ]


def test_a_year_in_several_slices_counts_each_country_once(home: Path, tmp_path: Path) -> None:
    """Comtrade gives a part per reporter and flow: Japan's imports (100 from China, 50 from
    Viet Nam) and China's and Viet Nam's exports to Japan (60, 50) are three parts of 2022.
    Japan is the one importer of all three and Viet Nam an exporter of two: the parts' counts
    add up to 3 importers and 4 exporters where the year has 1 and 2."""
    from test_comtrade import write_export

    def flow(reporter: tuple[str, str], code: str, partner: tuple[str, str], value: str):
        return {
            "refYear": "2022", "period": "2022", "refPeriodId": "20220101",
            "reporterCode": reporter[0], "reporterISO": reporter[1], "reporterDesc": reporter[1],
            "flowCode": code, "flowDesc": code, "partnerCode": partner[0],
            "partnerISO": partner[1], "partnerDesc": partner[1], "classificationCode": "H5",
            "cmdCode": "850511", "aggrLevel": "6", "primaryValue": value, "cifvalue": value,
        }  # fmt: skip

    jpn, chn, vnm = ("392", "JPN"), ("156", "CHN"), ("704", "VNM")
    rows = [flow(jpn, "M", chn, "100"), flow(jpn, "M", vnm, "50")]
    rows += [flow(chn, "X", jpn, "60"), flow(vnm, "X", jpn, "50")]
    ws = Workspace.open(home)
    ws.ingest_comtrade(write_export(tmp_path, rows))
    parts = trade_parts(home)
    assert len(parts) == 3
    assert sum(p["importers"] for p in parts) == 3
    assert sum(p["exporters"] for p in parts) == 4
    [source] = ws.info()["sources"]
    [year] = source["years"]
    assert (year["reporters"], year["importers"], year["exporters"]) == (3, 1, 2)
    assert year["coverage"] == "reporters only"
    # Reported money adds up over the parts: Japan's imports, China's and Viet Nam's exports.
    frame = sorted_frame(recorded_coverage(ws.context.parts)).set_index("country")
    assert frame[["imports_usd", "exports_usd"]].to_dict("index") == {
        "CHN": {"imports_usd": 0.0, "exports_usd": 60.0},
        "JPN": {"imports_usd": 150.0, "exports_usd": 0.0},
        "VNM": {"imports_usd": 0.0, "exports_usd": 50.0},
    }
    assert_same_coverage(
        recorded_coverage(ws.context.parts),
        concentration.country_coverage(ws.context.trade).to_pandas(),
    )


def test_demo_parts_record_what_their_files_hold(demo_home: Path) -> None:
    """Each demo year's recorded coverage, against pandas on the part's own file."""
    for part in trade_parts(demo_home):
        rows = pd.read_parquet(demo_home / part["path"])
        assert set(rows["reporter_side"]) == {"reconciled"}  # so both sides are reported
        reporter = rows["exporter"].where(rows["reporter_side"] == "exporter", rows["importer"])
        assert part["reporters"] == reporter.nunique()
        assert part["importers"] == rows["importer"].nunique()
        assert part["exporters"] == rows["exporter"].nunique()
        assert part["reconciled"] == (rows["reporter_side"] == "reconciled").any()
        flows = rows[(rows["value_usd"] > 0) & (rows["exporter"] != rows["importer"])]
        assert set(part["country_coverage"]) == {str(n) for n in flows["level"].unique()}
        imports = flows.groupby("importer")["value_usd"].sum()  # the demo is reconciled
        exports = flows.groupby("exporter")["value_usd"].sum()
        recorded = part["country_coverage"]["6"]
        assert set(recorded) == set(imports.index) | set(exports.index)
        for country, (imported, exported) in recorded.items():
            assert imported == pytest.approx(imports.get(country, 0.0), rel=1e-12)
            assert exported == pytest.approx(exports.get(country, 0.0), rel=1e-12)


def test_demo_coverage_from_the_manifest_equals_the_query(demo_home: Path) -> None:
    ws = Workspace.open(demo_home)
    recorded = recorded_coverage(ws.context.parts)
    assert recorded is not None
    assert_same_coverage(recorded, concentration.country_coverage(ws.context.trade).to_pandas())


def test_old_demo_store_gives_the_same_info_and_dataset(demo_home: Path, tmp_path: Path) -> None:
    """A copy of the demo store with the coverage stripped from its manifest (as written
    before it was recorded) answers ``info`` and chooses the dataset and year as the store
    that records it."""
    old_home = tmp_path / "old"
    shutil.copytree(demo_home, old_home)
    strip_coverage(old_home)
    new, old = Workspace.open(demo_home), Workspace.open(old_home)
    assert recorded_coverage(old.context.parts) is None
    assert {k: v for k, v in old.info().items() if k != "home"} == {
        k: v for k, v in new.info().items() if k != "home"
    }
    assert_same_coverage(coverage(old.context), coverage(new.context))
    assert old.dataset_for("DEU") == new.dataset_for("DEU")


def test_real_slice_coverage_from_the_manifest_equals_the_query(atlas: Workspace) -> None:
    """The real BACI 2022 slices of 30 critical-material products."""
    recorded = recorded_coverage(atlas.context.parts)
    assert recorded is not None
    queried = concentration.country_coverage(atlas.context.trade).to_pandas()
    assert len(queried) > 100
    assert_same_coverage(recorded, queried)
