"""BACI ingestion: real files from ../shared/data and small files in the same layout."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from chokepoints.errors import InputError
from chokepoints.workspace import Workspace
from helpers import SMALL_ROWS, snapshot, write_baci

ALGERIA = "baci/V202301_Anesouadou"


def test_small_file_values_units_and_codes(home: Path, tmp_path: Path) -> None:
    path = write_baci(tmp_path / "in", SMALL_ROWS)
    ws = Workspace.open(home)
    record = ws.ingest_baci(path)
    assert record["rows"] == 5
    assert record["classifications"] == ["HS17"] and record["release"] == "V202501"
    frame = ws.sql("SELECT * FROM trade ORDER BY value_usd DESC")
    # v is in thousands of USD: 3000.25 kUSD -> 3,000,250 USD.
    assert frame.loc[0, "value_usd"] == pytest.approx(3_000_250.0)
    assert (frame.loc[0, "exporter"], frame.loc[0, "importer"]) == ("TWN", "JPN")
    # 251 is France, 842 the USA in BACI's numbering.
    assert set(frame["exporter"]) == {"CHN", "FRA", "TWN", "USA", "JPN"}
    # q: "NA" and blank are missing, "  1.000" is 1 ton.
    by_pair = frame.set_index(["exporter", "importer"])
    assert pd_isna(by_pair.loc[("FRA", "JPN"), "quantity_t"])
    assert pd_isna(by_pair.loc[("TWN", "JPN"), "quantity_t"])
    assert by_pair.loc[("USA", "CHN"), "quantity_t"] == 1.0
    # k lost its leading zero: 10121 is 010121 (pure-bred horses).
    assert by_pair.loc[("JPN", "USA"), "product"] == "010121"
    assert set(frame["level"]) == {6}
    assert set(frame["reporter_side"]) == {"reconciled"}


def pd_isna(value: object) -> bool:
    return value is None or value != value


def test_reingest_same_year_replaces_it(home: Path, tmp_path: Path) -> None:
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path / "a", SMALL_ROWS))
    ws.ingest_baci(write_baci(tmp_path / "b", SMALL_ROWS[:2]), replace=True)  # 5 -> 2 rows
    info = ws.info()
    assert info["rows"] == 2
    assert len([p for p in ws.store.manifest()["parts"] if p["table"] == "trade"]) == 1
    assert len(ws.store.files("trade")) == 1
    # Another year is added beside it, not replacing it.
    other = [r.replace("2021,", "2022,", 1) for r in SMALL_ROWS]
    ws.ingest_baci(write_baci(tmp_path / "c", other, name="BACI_HS17_Y2022_V202501.csv"))
    assert ws.info()["rows"] == 7


def test_revision_and_release_from_name_must_agree(home: Path, tmp_path: Path) -> None:
    path = write_baci(tmp_path, SMALL_ROWS)
    with pytest.raises(InputError, match="file name says revision HS17 but HS92"):
        Workspace.open(home).ingest_baci(path, revision="HS92")


def test_bare_csv_needs_revision(home: Path, tmp_path: Path) -> None:
    path = write_baci(tmp_path, SMALL_ROWS, name="flows.csv")
    with pytest.raises(InputError, match="--revision"):
        Workspace.open(home).ingest_baci(path)
    record = Workspace.open(home).ingest_baci(path, revision="hs17", release="202501")
    assert (record["classifications"], record["release"]) == (["HS17"], "V202501")


def test_official_zip_with_years(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "zip"
    y2021 = write_baci(folder, SMALL_ROWS)
    y2022 = write_baci(
        folder,
        [r.replace("2021,", "2022,", 1) for r in SMALL_ROWS[:3]],
        name="BACI_HS17_Y2022_V202501.csv",
    )
    archive = tmp_path / "BACI_HS17_V202501.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(y2021, y2021.name)
        bundle.write(y2022, y2022.name)
        bundle.writestr(
            "country_codes_V202501.csv",
            "country_code,country_name,country_iso2,country_iso3\n"
            '392,Japan,JP,JPN\n490,"Other Asia, nes",,S19\n',
        )
        bundle.writestr(
            "product_codes_HS17_V202501.csv",
            'code,description\n"850511","Permanent magnets of metal"\n'
            '"854231","Processors and controllers"\n"010121","Horses"\n',
        )
        bundle.writestr("Readme.txt", "Version: 202501\n")
    ws = Workspace.open(home)
    record = ws.ingest_baci(archive, years=[2022])
    assert record["years"] == [2022] and record["rows"] == 3
    described = ws.sql("SELECT description FROM products WHERE product = '850511'")
    assert described["description"].tolist() == ["Permanent magnets of metal"]
    assert ws.info()["products"] == 3


def test_pandas_index_column_is_ignored(home: Path, tmp_path: Path) -> None:
    rows = [f"{n},{row}" for n, row in enumerate(SMALL_ROWS)]
    path = write_baci(tmp_path, rows, header=",t,i,j,k,v,q")
    assert Workspace.open(home).ingest_baci(path)["rows"] == 5


# -- real files -------------------------------------------------------------------------------
# Expected figures computed with awk on the raw files (CRLF stripped):
#   tr -d '\r' < F | awk -F, 'NR>1{n++; s+=$6; q=$7; gsub(/ /,"",q);
#                                  if(q=="NA"||q=="") nq++; else sq+=q; if($3==490) tw+=$6}'
def test_real_algeria_imports(shared_data: Path, home: Path, tmp_path: Path) -> None:
    source = shared_data / ALGERIA / "Algeria_import_transaction.csv"
    ws = Workspace.open(home)
    record = ws.ingest_baci(source, revision="HS92", release="V202301")
    assert record["rows"] == 31396
    assert record["value_usd"] == pytest.approx(34_286_908.188 * 1000, rel=1e-12)
    totals = ws.sql(
        "SELECT count(*) - count(quantity_t) AS missing_q, sum(quantity_t) AS q, "
        "count(DISTINCT exporter) AS exporters, min(length(product)) AS shortest, "
        "sum(value_usd) FILTER (WHERE exporter = 'TWN') AS taiwan FROM trade"
    ).iloc[0]
    assert totals["missing_q"] == 575
    assert totals["q"] == pytest.approx(31_626_802.560, rel=1e-12)
    assert totals["exporters"] == 108
    assert totals["shortest"] == 6
    # BACI code 490 ("Other Asia, nes") is Taiwan.
    assert totals["taiwan"] == pytest.approx(54_847.509 * 1000, rel=1e-12)
    # grep ',1411797,2021,156,12,850511,' : China's magnets to Algeria, 242.896 kUSD, 63.215 t.
    magnets = ws.sql(
        "SELECT value_usd, quantity_t FROM trade WHERE exporter = 'CHN' AND product = '850511'"
    ).iloc[0]
    assert magnets["value_usd"] == pytest.approx(242_896.0)
    assert magnets["quantity_t"] == pytest.approx(63.215)


def test_real_folder_with_v202301_country_file(shared_data: Path, home: Path) -> None:
    """The folder holds imports, exports, V202301 country codes (Taiwan as N/A) and products."""
    ws = Workspace.open(home)
    record = ws.ingest_baci(shared_data / ALGERIA, revision="HS92")
    assert record["release"] == "V202301"  # from country_codes_V202301.csv
    assert record["rows"] == 31396 + 6480
    assert record["value_usd"] == pytest.approx((34_286_908.188 + 35_390_672.476) * 1000, rel=1e-12)
    exports = ws.sql("SELECT count(DISTINCT importer) AS n FROM trade WHERE exporter = 'DZA'")
    assert exports["n"].iloc[0] == 120
    # The folder's V202301 country file writes Taiwan as N/A: the built-in table decides.
    taiwan = ws.sql("SELECT sum(value_usd) AS v FROM trade WHERE exporter = 'TWN'")
    assert taiwan["v"].iloc[0] == pytest.approx(54_847.509 * 1000, rel=1e-12)
    assert ws.info()["products"] == 5022
    cheese = ws.sql("SELECT description FROM products WHERE product = '040630'")
    assert "cheese" in cheese["description"].iloc[0].lower()


def test_real_file_declared_as_another_revision(
    shared_data: Path, home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "mislabelled"
    folder.mkdir()
    shutil.copy(shared_data / ALGERIA / "Algeria_import_transaction.csv", folder)
    shutil.copy(shared_data / "baci/V202401_tradalyze/product_codes_HS22_V202401.csv", folder)
    ws = Workspace.open(home)
    with pytest.raises(InputError, match="not HS22 codes") as caught:
        ws.ingest_baci(folder, revision="HS22", release="V202401")
    assert "--revision" in str(caught.value)
    assert ws.store.is_empty()
    assert snapshot(home) == {}
