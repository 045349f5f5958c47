"""USGS world production data: both layouts and their quirks, and production concentration.

The files are written here in the published layouts (FORMATS.md section 3, with its sample
rows); expected shares and HHI are computed by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chokepoints.errors import InputError, NoDataError
from chokepoints.questions.production import production
from chokepoints.sources.usgs import commodity_id, parse_quantity, production_stage, read_usgs
from chokepoints.workspace import Workspace
from helpers import snapshot, write_baci

WIDE_HEADER = (
    "SOURCE,COMMODITY,COUNTRY,TYPE,UNIT_MEAS,PROD_2023,PROD_EST_ 2024,PROD_NOTES,CAP_2023,"
    "CAP_EST_ 2024,CAP_NOTES,RESERVES_2024,RESERVE_NOTES"
)
#: FORMATS.md's sample rows, plus cobalt producers, quirks and an aggregate row.
WIDE_ROWS = [
    'MCS2025,Cobalt,Congo (Kinshasa),"Mine production, cobalt content",metric tons,210000,220000,,,,,6000000,',  # noqa: E501
    'MCS2025,Cobalt ,Indonesia,"Mine production, cobalt content",metric tons,17000,28000,,,,,640000,',  # noqa: E501
    'MCS2025,Cobalt,Russia,"Mine production, cobalt content",metric tons,8800,8700,,,,,250000,',
    'MCS2025,Cobalt,Australia ,"Mine production, cobalt content",metric tons,4600,3600,,,,,1700000,',  # noqa: E501
    'MCS2025,Cobalt,Other countries,"Mine production, cobalt content",metric tons,12000,8000,,,,,,',
    'MCS2025,Cobalt,World total (rounded),"Mine production",metric tons,,290000,,,,,11000000,',
    'MCS2025,Aluminum,China,"Smelter production, aluminum",thousand metric tons,41000,43000,,,,,,',
    'MCS2025,Gemanium,Burma,"Refinery production",kilograms,W,>95,Withheld in 2023,,,,,',
    'MCS2025,Rare earths,"Korea, Republic of","Mine production, rare-earth-oxide equivalent",metric tons,NA,--,,,,,,',  # noqa: E501
]  # fmt: skip


def write(folder: Path, name: str, lines: list[str], *, encoding: str = "utf-8-sig") -> Path:
    """A CSV written as USGS publishes it (BOM or cp1252)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def test_quirks_of_values_names_and_stages() -> None:
    assert commodity_id("Iron Ore  ") == "iron_ore"
    assert commodity_id("Gemanium") == "germanium"
    assert commodity_id("Platinum-Group metals") == "platinum_group_metals"
    assert production_stage("Mine production, usable ore") == "mine"
    assert production_stage("refinery production, tellurium content") == "refinery"
    assert production_stage("Plant production, Ferosilicon, silicon content") == "plant"
    assert parse_quantity("1,200e") == (1200.0, True, "")
    assert parse_quantity(">95") == (95.0, False, "> 95")
    assert parse_quantity("W")[0] is None and "W" in parse_quantity("W")[2]
    assert parse_quantity("—")[0] is None


def test_wide_layout_ingests_and_answers(home: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "MCS2025_World_Data.csv", [WIDE_HEADER, *WIDE_ROWS])
    extract = read_usgs(path)
    assert extract.release == "MCS2025"
    ws = Workspace.open(home)
    ws.ingest(extract)
    frame = production(ws.context, "Cobalt", year=2024)
    assert list(frame["country"]) == ["COD", "IDN", "RUS", "AUS"]
    # Shares of the published world total, 290,000 t: COD 220,000 / 290,000 = 0.75862.
    assert frame["share"].iloc[0] == pytest.approx(220_000 / 290_000)
    method = frame.attrs["provenance"]["method"]
    assert method["world_total"] == 290_000
    assert method["world_total_basis"] == "published world total"
    # "Other countries" (8,000 t) is in the denominator, not in the HHI.
    assert method["other_countries_share"] == pytest.approx(8_000 / 290_000, abs=1e-6)
    expected = (220_000**2 + 28_000**2 + 8_700**2 + 3_600**2) / 290_000**2
    assert method["hhi"] == pytest.approx(expected, abs=1e-6)
    assert method["top_producer"] == "COD"
    # 2023 has no world total: the denominator is the countries plus other countries.
    older = production(ws.context, "cobalt", year=2023).attrs["provenance"]["method"]
    assert older["world_total"] == 210_000 + 17_000 + 8_800 + 4_600 + 12_000
    assert older["world_total_basis"].startswith("sum of the countries listed")
    # Burma's germanium: withheld in 2023 (no figure, noted), "> 95" kg in 2024 (the estimate
    # column), refinery stage.
    germanium = production(ws.context, "germanium")
    assert germanium.attrs["provenance"]["stage"] == "refinery"
    assert list(germanium["country"]) == ["MMR"] and germanium["quantity"].iloc[0] == 95.0
    assert "estimates" in " ".join(germanium.attrs["provenance"]["warnings"])
    with pytest.raises(NoDataError, match="no production of lithium in the store"):
        production(ws.context, "lithium")


def test_long_layout_in_cp1252(tmp_path: Path) -> None:
    header = (
        "MCS chapter,Section,Commodity,Country,Statistics,Statistics_detail,Unit,Year,Value,"
        "Notes,Is critical mineral 2025,Other notes"
    )
    rows = [
        "Rare earths,World Mine Production and Reserves,Rare earths,China,production,"
        "Mine production,metric tons,2025,270000e,,Yes,",
        "Rare earths,World Mine Production and Reserves,Rare earths,Burma,production,"
        "Mine production,metric tons,2025,31000,,Yes,",
        "Rare earths,World Mine Production and Reserves,Rare earths,Côte d'Ivoire,reserves,"
        "Reserves,metric tons,2025,1000,,Yes,",
        "Rare earths,Salient Statistics - United States,Rare earths,United States,production,"
        "Mine production,metric tons,2021–24,W,,Yes,",
    ]
    path = write(tmp_path, "MCS2026_Commodities_Data.csv", [header, *rows], encoding="cp1252")
    extract = read_usgs(path)
    assert extract.release == "MCS2026"
    assert "read 2 production rows of 1 commodities" in extract.notes[0]


def test_bad_files_are_refused_and_store_unchanged(home: Path, tmp_path: Path) -> None:
    ws = Workspace.open(home)
    ws.ingest(read_usgs(write(tmp_path / "a", "MCS2025_World_Data.csv", [WIDE_HEADER, *WIDE_ROWS])))
    before = snapshot(home)
    unknown = [*WIDE_ROWS, 'MCS2025,Cobalt,Atlantis,"Mine production",metric tons,1,2,,,,,,']
    with pytest.raises(InputError, match=r"line 11: unknown country 'Atlantis' \(field COUNTRY\)"):
        read_usgs(write(tmp_path / "b", "MCS2025_World_Data.csv", [WIDE_HEADER, *unknown]))
    with pytest.raises(InputError, match="not a USGS Mineral Commodity Summaries"):
        read_usgs(write(tmp_path / "c", "x.csv", ["a,b,c", "1,2,3"]))
    assert snapshot(home) == before


def test_trade_and_production_concentration_disagree(home: Path, tmp_path: Path) -> None:
    # Bauxite mined 2024: AUS 100, GIN 100, CHN 90, BRA 30 of a published 400: production HHI
    # (100^2 + 100^2 + 90^2 + 30^2) / 400^2 = 0.18125. Traded 2022 (260600): GIN 80, AUS 10,
    # BRA 10 of 100: world export HHI 0.64 + 0.01 + 0.01 = 0.66. Trade is the chokepoint.
    rows = [
        'MCS2025,Bauxite,Australia,"Mine production",thousand metric tons,98000,100,,,,,,',
        'MCS2025,Bauxite,Guinea,"Mine production",thousand metric tons,97000,100,,,,,,',
        'MCS2025,Bauxite,China,"Mine production",thousand metric tons,93000,90,,,,,,',
        'MCS2025,Bauxite,Brazil,"Mine production",thousand metric tons,33000,30,,,,,,',
        'MCS2025,Bauxite,World total (rounded),"Mine production",thousand metric tons,,400,,,,,,',
    ]
    ws = Workspace.open(home)
    ws.ingest(read_usgs(write(tmp_path / "u", "MCS2025_World_Data.csv", [WIDE_HEADER, *rows])))
    trade = ["2022,324,156,260600,80,1", "2022,36,156,260600,10,1", "2022,76,842,260600,10,1"]
    ws.ingest_baci(write_baci(tmp_path / "b", trade, name="BACI_HS17_Y2022_V202501.csv"))
    frame = production(ws.context, "bauxite", year=2024)
    provenance = frame.attrs["provenance"]
    assert provenance["method"]["hhi"] == pytest.approx(0.18125)
    assert provenance["trade"]["world_export_hhi"] == pytest.approx(0.66)
    assert provenance["trade"]["top_exporter"] == "GIN"
    warning = " ".join(provenance["warnings"])
    assert "production and trade concentration disagree" in warning
    assert "the trade stage is the chokepoint" in warning


def test_global_supply_uses_production_shares(home: Path, tmp_path: Path) -> None:
    import ibis
    import pandas as pd

    from chokepoints.analysis.risk import supply_risk_trade
    from chokepoints.questions.production import production_supply

    ws = Workspace.open(home)
    ws.ingest(read_usgs(write(tmp_path, "MCS2025_World_Data.csv", [WIDE_HEADER, *WIDE_ROWS])))
    # Trade says cobalt ores (260500) come half from COD, half from ZMB; magnets stay on trade.
    world = pd.DataFrame(
        {
            "year": 2022,
            "product": ["260500", "260500", "850511"],
            "exporter": ["COD", "ZMB", "CHN"],
            "world_share": [0.5, 0.5, 1.0],
        }
    )
    # Links are chosen per HS revision: in HS12 no code is linked, trade shares stay.
    older, none = production_supply(ws.context, world, 2022, "HS12")
    assert none == [] and set(older["basis"]) == {"trade_shares"}
    supply, notes = production_supply(ws.context, world, 2022, "HS17")
    cobalt = supply[supply["product"] == "260500"].set_index("exporter")
    # No 2022 figure: the latest year, 2024, of a world total of 290,000 t.
    assert notes == ["global supply of 260500: cobalt mine production 2024"]
    assert cobalt.loc["COD", "world_share"] == pytest.approx(220_000 / 290_000)
    assert set(cobalt["basis"]) == {"production_shares"}
    assert set(supply.loc[supply["product"] == "850511", "basis"]) == {"trade_shares"}
    # HHI_WGI,GS = sum s^2 * WGI: scores COD 8, IDN 5, RUS 9, AUS 1 (hand-set).
    scores = ibis.memtable(
        pd.DataFrame(
            {"country": ["COD", "IDN", "RUS", "AUS", "CHN"], "wgi_scaled": [8.0, 5, 9, 1, 7]}
        )
    )
    mine = ibis.memtable(
        pd.DataFrame(
            {"year": [2022], "importer": ["JPN"], "product": ["260500"], "exporter": ["COD"],
             "share": [1.0]}
        )
    )  # fmt: skip
    balance = ibis.memtable(
        pd.DataFrame(
            {"year": [2022], "country": ["JPN"], "product": ["260500"], "imports_usd": [10.0],
             "exports_usd": [0.0]}
        )
    )  # fmt: skip
    row = supply_risk_trade(mine, ibis.memtable(supply), balance, scores).to_pandas().iloc[0]
    shares = {"COD": 220_000, "IDN": 28_000, "RUS": 8_700, "AUS": 3_600}
    wgi = {"COD": 8.0, "IDN": 5.0, "RUS": 9.0, "AUS": 1.0}
    expected = sum((v / 290_000) ** 2 * wgi[c] for c, v in shares.items())
    assert row["hhi_wgi_global"] == pytest.approx(expected)
    assert row["basis"] == "production_shares"


def test_a_rounded_world_total_below_the_countries_is_not_the_denominator(
    home: Path, tmp_path: Path
) -> None:
    # Countries 100 + 60 = 160 and others 10, but a published (rounded) world total of 150:
    # shares of 170, said in the basis.
    rows = [
        'MCS2025,Tin,China,"Mine production",metric tons,,100,,,,,,',
        'MCS2025,Tin,Burma,"Mine production",metric tons,,60,,,,,,',
        'MCS2025,Tin,Other countries,"Mine production",metric tons,,10,,,,,,',
        'MCS2025,Tin,World total (rounded),"Mine production",metric tons,,150,,,,,,',
    ]
    ws = Workspace.open(home)
    ws.ingest(read_usgs(write(tmp_path, "MCS2025_World_Data.csv", [WIDE_HEADER, *rows])))
    frame = production(ws.context, "tin")
    method = frame.attrs["provenance"]["method"]
    assert method["world_total"] == 170
    assert "more than the published, rounded, world total" in method["world_total_basis"]
    assert frame["share"].sum() == pytest.approx(160 / 170)


def test_any_production_table_with_a_mapping(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import run

    # A BGS-style table: names and codes mixed, one stage and unit for the whole file.
    path = tmp_path / "bgs_graphite.csv"
    path.write_text(
        "Commodity,Country,Year,Tonnes\n"
        "Graphite,China,2023,1230000\n"
        "Graphite,MOZ,2023,96000\n"
        "Graphite,Madagascar,2023,100000\n"
        "Graphite,World total,2023,1600000\n",
        encoding="utf-8",
    )
    mapping = "commodity=Commodity,country=Country,year=Year,quantity=Tonnes"
    code, _, err = run(capsys, "data", "ingest", "production", str(path), "--map", mapping,
                         "--source", "bgs", "--stage", "mine", "--unit", "t", "--home",
                         str(home))  # fmt: skip
    assert code == 0, err
    frame = production(Workspace.open(home).context, "graphite")
    assert list(frame["country"]) == ["CHN", "MDG", "MOZ"]
    # Shares of the published world total, 1,600,000 t: CHN 1,230,000 / 1,600,000.
    assert frame["share"].iloc[0] == pytest.approx(1_230_000 / 1_600_000)
    assert frame.attrs["provenance"]["source"] == "bgs"
    before = snapshot(home)
    code, _, err = run(capsys, "data", "ingest", "production", str(path), "--map", mapping,
                       "--source", "bgs", "--home", str(home))  # fmt: skip
    assert code == 1 and "no stage: map a stage column or give one for the whole file" in err
    assert snapshot(home) == before


def test_production_workbook_reads_as_its_csv_and_a_damaged_one_is_refused(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    from helpers import run

    # The same BGS-style table as a workbook written by openpyxl, numbers stored as numbers.
    book = openpyxl.Workbook()
    for row in [
        ("Commodity", "Country", "Year", "Tonnes"),
        ("Graphite", "China", 2023, 1230000),
        ("Graphite", "MOZ", 2023, 96000),
        ("Graphite", "Madagascar", 2023, 100000.5),
        ("Graphite", "World total", 2023, 1600000),
    ]:
        book.active.append(row)
    path = tmp_path / "bgs_graphite.xlsx"
    book.save(path)
    mapping = "commodity=Commodity,country=Country,year=Year,quantity=Tonnes"
    args = ["--map", mapping, "--source", "bgs", "--stage", "mine", "--unit", "t"]
    code, _, err = run(capsys, "data", "ingest", "production", str(path), *args,
                       "--home", str(home))  # fmt: skip
    assert code == 0, err
    frame = production(Workspace.open(home).context, "graphite")
    assert list(frame["country"]) == ["CHN", "MDG", "MOZ"]
    assert list(frame["quantity"]) == [1_230_000, 100_000.5, 96_000]
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04 not really a workbook")
    before = snapshot(home)
    code, _, err = run(capsys, "data", "ingest", "production", str(damaged), *args,
                       "--home", str(home))  # fmt: skip
    assert code == 1 and "damaged.xlsx: cannot be read as an Excel workbook" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert snapshot(home) == before


def test_commodity_links_hold_for_their_revisions_only(shared_data: Path) -> None:
    import csv

    from chokepoints.reference.commodities import commodities_of, commodity_codes, link_revisions

    assert link_revisions() == ("HS17", "HS22")
    assert commodity_codes("cobalt", "mine", "HS17") == ("260500",)
    assert commodity_codes("cobalt", "mine", "hs22") == ("260500",)
    assert commodity_codes("cobalt", "mine", "HS12") == ()
    assert commodities_of("811292", "HS22") == [("gallium", "primary"), ("germanium", "refinery")]
    assert commodities_of("811292", "HS92") == []
    # Every linked code exists in CEPII's product list of each revision it is linked for.
    folder = shared_data / "baci/V202401_tradalyze"
    for revision in link_revisions():
        with (folder / f"product_codes_{revision}_V202401.csv").open(encoding="utf-8") as file:
            known = {row["code"].zfill(6) for row in csv.DictReader(file)}
        from chokepoints.reference.commodities import _links

        linked = {c for stages in _links().values() for codes in stages.values()
                  for c in codes.get(revision, ())}  # fmt: skip
        assert linked and linked <= known, sorted(linked - known)
