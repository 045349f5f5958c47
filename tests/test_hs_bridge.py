"""HS revisions bridged: links checked by hand against the UNSD tables, and sectors, trend and
product on the real Algeria BACI HS92 file with values hand-computed from the raw CSV."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from chokepoints.answers import provenance
from chokepoints.reference import hs_revisions
from chokepoints.reference.chains import load_chain
from chokepoints.reference.sectors import sector_products, sector_products_in
from chokepoints.workspace import Workspace
from helpers import write_baci

ALGERIA = "baci/V202301_Anesouadou"
STACK = "hs/HS_consolidated_comtrade_concordances.csv"


def pairs(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(from_code, to_code) -> relation of a links frame."""
    return {
        (a, b): r
        for a, b, r in zip(frame["from_code"], frame["to_code"], frame["relation"], strict=True)
    }


# -- links, by hand from the UNSD tables -------------------------------------------------------
def test_hs2022_split_of_850730_and_854140() -> None:
    """'HS 2022 to HS 2017 ConversionAndCorrelationTables.xlsx', sheet 'Correlation Tables':
    row 4992 (850730, 850730, n:1); rows 9504, 10523, 11542, 12561, 13580, 14599 link the new
    e-waste codes 854921, 854929, 854931, 854939, 854991, 854999 to HS2017 850730 (n:n);
    rows 8573-8576 split HS2017 854140 into 854141, 854142, 854143, 854149 (n:1)."""
    ewaste = ["854921", "854929", "854931", "854939", "854991", "854999"]
    forward = hs_revisions.links("HS17", "HS22")
    assert pairs(forward[forward["from_code"] == "850730"]) == {
        ("850730", "850730"): "1:n",
        **{("850730", code): "n:n" for code in ewaste},
    }
    backward = hs_revisions.links("HS22", "HS17")
    for code in ["854141", "854142", "854143", "854149"]:
        assert pairs(backward[backward["from_code"] == code]) == {(code, "854140"): "n:1"}
    assert set(backward.loc[backward["to_code"] == "854140", "from_code"]) == {
        "854141", "854142", "854143", "854149", *ewaste,
    }  # fmt: skip


def test_8542_in_hs92_against_hs07() -> None:
    """Integrated circuits, chained through HS96 and HS02 (lines of
    HS_consolidated_comtrade_concordances.csv): 1996 to 1992, lines 4822-4830: HS92 854211 ->
    HS96 854212/13/14/19, 854219 -> 854219/854230, 854220 -> 854240, 854280 -> 854250,
    854290 -> 854290; 2002 to 1996, lines 10465-10473: 854212 -> 854210, 854213/14/19 ->
    854221, 854230 -> 854210/854229, 854240 -> 854260, 854250 -> 854270, 854290 -> 854290;
    2007 to 2002, lines 16002-16003, 16122-16138, 16144, 16167: 854210 -> 852352 (smart
    cards), 854221/854229/854260 -> 854231/32/33/39, 854270 -> 854390/854890, 854290 ->
    852352/854290."""
    hs07 = ["854231", "854232", "854233", "854239"]
    expected = {
        "854211": ["852352", *hs07],
        "854219": ["852352", *hs07],
        "854220": hs07,
        "854280": ["854390", "854890"],
        "854290": ["852352", "854290"],
    }
    table = hs_revisions.links("HS92", "HS07")
    found = table[table["from_code"].str.startswith("8542")]
    assert found.groupby("from_code")["to_code"].apply(list).to_dict() == expected
    # HS07 854231 comes from three HS92 codes (and 854890, outside 8542), each split: n:n.
    assert set(found.loc[found["to_code"] == "854231", "relation"]) == {"n:n"}
    # Backwards, HS07 854290 is only HS92 854290, which also went to 852352: n:1.
    back = hs_revisions.links("HS07", "HS92")
    assert pairs(back[back["from_code"] == "854290"]) == {("854290", "854290"): "n:1"}


def test_every_revision_holds_its_codes() -> None:
    """Row counts of BACI's product lists V202401 (PROVENANCE.md) less BACI's own 9999AA in
    HS92 and HS22: the UNSD tables hold exactly the codes of each revision."""
    counts = {r: len(hs_revisions.revision_codes(r)) for r in hs_revisions.REVISIONS}
    assert counts["HS92"] == 5022 - 2 and counts["HS17"] == 5384 + 4
    assert "854140" in hs_revisions.revision_codes("HS17")
    assert "854140" not in hs_revisions.revision_codes("HS22")


def test_packaged_table_records_its_sources(shared_data: Path) -> None:
    """The metadata names the shared files with their real sha256."""
    import hashlib

    meta = hs_revisions.concordance_metadata()
    for entry in meta["files"]:
        data = (shared_data / "hs" / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    assert sum(p["links"] for p in meta["pairs"]) == len(hs_revisions._adjacent())


def test_stack_pairs_match_the_packaged_links(shared_data: Path) -> None:
    """Every HS pair of the stack, read with the csv module, is in the packaged table."""
    labels = {
        "1996 to 1992": ("HS96", "HS92"),
        "2002 to 1996": ("HS02", "HS96"),
        "2007 to 2002": ("HS07", "HS02"),
        "2012 to 2007": ("HS12", "HS07"),
        "2017 to 2012": ("HS17", "HS12"),
        "2022 to 2017": ("HS22", "HS17"),
    }
    expected = set()
    with (shared_data / STACK).open(newline="") as file:
        for row in csv.DictReader(file):
            if row["adjustment"] in labels:
                newer, older = labels[row["adjustment"]]
                expected.add(
                    (newer, row["code.after"].zfill(6), older, row["code.before"].zfill(6))
                )
    stored = hs_revisions._adjacent()
    assert set(map(tuple, stored.to_numpy().tolist())) == expected


# -- codes -------------------------------------------------------------------------------------
def test_code_lists_convert_with_what_is_approximate() -> None:
    """HS22 bismuth 810610 + 810690 are HS92 810600 whole (n:1); HS22 solar 854142 + 854143 are
    inside HS92 854140, which also holds LEDs (854141) and other devices (854149)."""
    bismuth = hs_revisions.convert_codes(["810610", "810690"], "HS22", "HS92")
    assert (bismuth.codes, bismuth.partial, bismuth.approximate) == (("810600",), {}, False)
    solar = hs_revisions.convert_codes(["854142", "854143"], "HS22", "HS92")
    assert solar.codes == ("854140",) and solar.approximate
    assert {"854141", "854149"} <= set(solar.partial["854140"])
    # HS2017 batteries to HS2022: the e-waste codes linked to hundreds of HS2017 codes are
    # left out, named.
    batteries = hs_revisions.convert_codes(["850730"], "HS17", "HS22")
    assert batteries.codes == ("850730",)
    assert batteries.dropped == ("854921", "854929", "854931", "854939", "854991", "854999")


def test_sector_lists_written_by_hand_agree_with_the_tables() -> None:
    """The built-in critical minerals HS12 list converted to HS92 is the hand-written HS92
    list (the tables and the maintainers agree), and a revision without a list converts."""
    hand = sector_products("critical_minerals", "HS92")
    converted = hs_revisions.convert_codes(
        sector_products("critical_minerals", "HS12"), "HS12", "HS92"
    )
    assert list(converted.codes) == hand
    own, none = sector_products_in("critical_minerals", "HS92")
    assert own == hand and none is None
    codes, conversion = sector_products_in("critical_minerals", "HS07")
    assert conversion is not None and (conversion.from_rev, conversion.to_rev) == ("HS12", "HS07")
    assert "810600" in codes  # bismuth kept its code from HS92 to HS17


def test_chain_in_hs92_is_converted_from_hs17() -> None:
    chain = load_chain("li_ion_batteries").in_revision("HS92")
    assert chain.nodes["lithium_carbonate"].codes["HS92"] == ("283691",)
    # HS2012 created 850760 for lithium-ion cells out of HS92 850780 ("other accumulators").
    assert chain.nodes["cells"].codes["HS92"] == ("850780",)
    assert "chain li_ion_batteries: HS17 codes converted to HS92" in chain.conversion_note()
    assert len(chain.graph("HS92")) > 0


# -- values ------------------------------------------------------------------------------------
def test_split_by_trade_weights_of_the_target_revision(shared_data: Path) -> None:
    """HS17 854140 -> HS22: weights v_t / n_t, n_t the HS17 codes each target comes from,
    counted here in the UNSD workbook with openpyxl."""
    import openpyxl

    book = openpyxl.load_workbook(
        shared_data / "hs/HS 2022 to HS 2017 ConversionAndCorrelationTables.xlsx", read_only=True
    )
    sources: dict[str, int] = defaultdict(int)
    for row in book["Correlation Tables"].iter_rows(min_row=3, values_only=True):
        sources[str(row[0]).strip()] += 1
    values = {"854141": 30.0, "854142": 60.0, "854143": 10.0, "854921": 900.0}
    shares = {code: value / sources[code] for code, value in values.items()}
    total = sum(shares.values())
    found = hs_revisions.value_weights(
        "HS17", "HS22", codes=["854140"], target_values=values, weighted_by="test"
    )
    weights = dict(zip(found.weights["to_code"], found.weights["weight"], strict=True))
    assert sources["854142"] == 1 and sources["854921"] > 500
    for code, share in shares.items():
        assert weights[code] == pytest.approx(share / total, rel=1e-12)
    assert weights["854149"] == 0.0 and not found.approximate
    record = found.record("test")
    assert record["weighted_by"] == "test" and record["approximate"] is False
    # Without trade, by links alone (1 / n_t), flagged approximate.
    bare = hs_revisions.value_weights("HS17", "HS22", codes=["854140"])
    inverse = {code: 1 / sources[code] for code in bare.weights["to_code"]}
    expected = inverse["854141"] / sum(inverse.values())
    assert bare.weights.set_index("to_code").loc["854141", "weight"] == pytest.approx(expected)
    assert bare.approximate and bare.equal == ("854140",)
    # Merged codes add up whole: HS22 810610 and 810690 each give HS92 810600 everything.
    merged = hs_revisions.value_weights("HS22", "HS92", codes=["810610", "810690"])
    assert merged.weights["weight"].tolist() == [1.0, 1.0] and not merged.approximate


# -- on the real Algeria HS92 file -------------------------------------------------------------
def algeria_rows(shared_data: Path) -> list[dict[str, object]]:
    """Algeria's 2021 imports from the raw CSV: exporter ISO3, product (6 digits), USD."""
    folder = shared_data / ALGERIA
    with (folder / "country_codes_V202301.csv").open(newline="") as file:
        iso3 = {int(r["country_code"]): r["iso_3digit_alpha"] for r in csv.DictReader(file)}
    iso3[490] = "TWN"  # written N/A in this release (tests/test_countries.py)
    with (folder / "Algeria_import_transaction.csv").open(newline="") as file:
        return [
            {
                "exporter": iso3[int(r["i"])],
                "product": r["k"].strip().zfill(6),
                "value": float(r["v"]) * 1000,
            }
            for r in csv.DictReader(file)
        ]


#: A sector written in HS2022 only (a user file): bismuth, antimony, lithium carbonate, solar
#: cells and modules, lithium-ion cells.
HS22_SECTOR = """id = "minerals_hs22"
name = "Minerals written in HS2022"
description = "A user sector with an HS22 list only"
sources = ["test"]
[codes]
HS22 = ["810610", "810690", "811010", "283691", "854142", "854143", "850760"]
"""
#: Its codes in HS92, by hand: 810610/810690 -> 810600 (n:1); 811010 -> 811000 (HS2012 split
#: HS92 811000 into 811010 unwrought, 811020 waste, 811090 other); 283691 unchanged;
#: 854142/854143 -> 854140; 850760 -> 850780 (HS2012 took lithium-ion cells out of it).
HS92_CODES = {"810600", "811000", "283691", "854140", "850780"}


@pytest.fixture(scope="module")
def algeria(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A store of the real Algeria BACI HS92 2021 imports, with the HS22-only user sector."""
    home = tmp_path_factory.mktemp("algeria")
    (home / "sectors").mkdir()
    (home / "sectors" / "minerals_hs22.toml").write_text(HS22_SECTOR, encoding="utf-8")
    ws = Workspace.open(home)
    ws.ingest_baci(
        shared_data / ALGERIA / "Algeria_import_transaction.csv", revision="HS92", release="V202301"
    )
    return ws


def test_deps_on_hs92_with_an_hs22_sector(algeria: Workspace, shared_data: Path) -> None:
    frame = algeria.dependencies(
        "DZA", sector="minerals_hs22", include_all=True, allow_partial=True
    )
    rows = [r for r in algeria_rows(shared_data) if r["product"] in HS92_CODES]
    totals: dict[str, float] = defaultdict(float)
    by_supplier: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        totals[str(r["product"])] += float(r["value"])
        by_supplier[(str(r["product"]), str(r["exporter"]))] += float(r["value"])
    assert set(frame["product"]) == set(totals) == HS92_CODES
    found = frame.set_index("product")
    for product, total in totals.items():
        shares = {e: v / total for (p, e), v in by_supplier.items() if p == product}
        assert found.loc[product, "import_value_usd"] == pytest.approx(total, rel=1e-12)
        assert found.loc[product, "hhi"] == pytest.approx(sum(s * s for s in shares.values()))
        assert found.loc[product, "top_supplier"] == max(shares, key=shares.__getitem__)
    record = provenance(frame)
    (conversion,) = record.hs_conversions
    assert (conversion["from"], conversion["to"], conversion["codes"]) == (
        "HS22",
        "HS92",
        sorted(HS92_CODES),
    )
    assert conversion["approximate"] is True
    assert set(conversion["approximate_codes"]) == {"811000", "854140", "850780"}
    assert "811020" in conversion["approximate_codes"]["811000"]
    assert any(w.startswith("sector minerals_hs22: HS22 codes converted") for w in record.warnings)


def test_exposure_by_sector_counts_a_converted_sector(
    algeria: Workspace, shared_data: Path
) -> None:
    frame = algeria.exposure("DZA", "CHN").set_index("sector")
    rows = [r for r in algeria_rows(shared_data) if r["product"] in HS92_CODES]
    total = sum(float(r["value"]) for r in rows)
    chinese = sum(float(r["value"]) for r in rows if r["exporter"] == "CHN")
    assert frame.loc["minerals_hs22", "imports_usd"] == pytest.approx(total, rel=1e-12)
    assert frame.loc["minerals_hs22", "supplier_share"] == pytest.approx(chinese / total)
    conversions = provenance(frame.reset_index()).hs_conversions
    assert [c["what"] for c in conversions] == ["sector minerals_hs22"]


def test_deps_with_a_built_in_sector_uses_its_hs92_list(algeria: Workspace) -> None:
    frame = algeria.dependencies(
        "DZA", sector="critical_minerals", include_all=True, allow_partial=True
    )
    assert set(frame["product"]) <= set(sector_products("critical_minerals", "HS92"))
    assert provenance(frame).hs_conversions == ()


def test_product_of_another_revision(algeria: Workspace, shared_data: Path) -> None:
    """HS17 810600 (bismuth, one code since HS92): 1:1, so the picture is HS92 810600's."""
    picture = algeria.product("HS17:810600", allow_partial=True)
    total = sum(float(r["value"]) for r in algeria_rows(shared_data) if r["product"] == "810600")
    importers = picture.importers.set_index("importer")
    assert importers.loc["DZA", "import_value_usd"] == pytest.approx(total, rel=1e-12)
    record = picture.provenance
    assert record.details["product_revision"] == "HS17"
    assert record.hs_conversions[0]["from"] == "HS92"
    # A code only HS22 has is taken as HS22's; HS92 854140 splits between the four new codes
    # by links alone (no HS22 trade held): a quarter each, flagged approximate.
    solar = algeria.product("854142", allow_partial=True)
    solar_total = sum(
        float(r["value"]) for r in algeria_rows(shared_data) if r["product"] == "854140"
    )
    weights = hs_revisions.value_weights("HS92", "HS22", codes=["854140"]).weights
    weight = float(weights.set_index("to_code").loc["854142", "weight"])
    assert weight == pytest.approx(0.25, abs=0.001)  # 8549xx come from hundreds of codes
    found = solar.importers.set_index("importer").loc["DZA", "import_value_usd"]
    assert found == pytest.approx(solar_total * weight, rel=1e-12)
    assert solar.provenance.hs_conversions[0]["approximate"] is True


#: Algeria's (12) HS22 imports in 2022 in kUSD, a small BACI file written by the test: from
#: CHN (156), DEU (276), KOR (410), JPN (392) and FRA (251).
HS22_2022 = [
    "2022,156,12,854142,100,1",
    "2022,276,12,854142,50,1",
    "2022,156,12,854143,10,1",
    "2022,156,12,854141,40,1",
    "2022,156,12,850760,300,1",
    "2022,410,12,850760,100,1",
    "2022,392,12,850750,100,1",
    "2022,251,12,850780,500,1",
]


def test_trend_spans_hs92_and_hs22(shared_data: Path, tmp_path: Path) -> None:
    """2021 from the real HS92 file carried to HS22 by the 2022 trade weights, 2022 as held.

    By hand: HS92 854140 -> HS22 854141/42/43 (each from 854140 alone) and e-waste codes with
    no 2022 trade: weights 40, 150, 10 over 200. HS92 850780 -> HS22 850750 and 850760 (from
    it alone) and 850780 (from HS92 850740 and 850780: 500 / 2): weights 100, 400, 250 over
    750. The sector (854142, 854143, 850760) takes 0.8 of 854140 and 8/15 of 850780.
    """
    home = tmp_path / "home"
    (home / "sectors").mkdir(parents=True)
    (home / "sectors" / "solar_cells_hs22.toml").write_text(
        HS22_SECTOR.replace("minerals_hs22", "solar_cells_hs22").replace(
            '"810610", "810690", "811010", "283691", ', ""
        ),
        encoding="utf-8",
    )
    ws = Workspace.open(home)
    ws.ingest_baci(
        shared_data / ALGERIA / "Algeria_import_transaction.csv", revision="HS92", release="V202301"
    )
    ws.ingest_baci(write_baci(tmp_path / "in", HS22_2022, name="BACI_HS22_Y2022_V202501.csv"))
    frame = ws.trend("DZA", "CHN", sector="solar_cells_hs22", allow_partial=True)
    share = {"854140": 160 / 200, "850780": 400 / 750}
    total = chinese = 0.0
    for r in algeria_rows(shared_data):
        weight = share.get(str(r["product"]), 0.0)
        total += float(r["value"]) * weight
        chinese += float(r["value"]) * weight * (r["exporter"] == "CHN")
    years = frame.set_index("year")
    assert list(years.index) == [2021, 2022]
    assert years.loc[2021, "imports_usd"] == pytest.approx(total, rel=1e-9)
    assert years.loc[2021, "supplier_share"] == pytest.approx(chinese / total, rel=1e-9)
    assert years.loc[2022, "imports_usd"] == pytest.approx(560_000.0)
    assert years.loc[2022, "supplier_share"] == pytest.approx(410 / 560)
    record = provenance(frame)
    (carried,) = record.hs_conversions
    assert (carried["from"], carried["to"]) == ("HS92", "HS22")
    assert carried["weighted_by"] == "baci HS22 2022 world trade"
    assert record.details["years"] == [2021, 2022]


def test_shock_on_a_converted_sector_states_the_conversion(
    algeria: Workspace, shared_data: Path
) -> None:
    """China cut off from Algeria in the HS22-only sector: the loss is Algeria's imports from
    China of the sector's HS92 codes (by hand above), and the provenance names the conversion."""
    frame = algeria.shock(
        supplier="CHN", sectors=["minerals_hs22"], importers=["DZA"], allow_partial=True
    )
    rows = [r for r in algeria_rows(shared_data) if r["product"] in HS92_CODES]
    chinese = sum(float(r["value"]) for r in rows if r["exporter"] == "CHN")
    assert chinese > 0
    assert frame["lost_value_usd"].sum() == pytest.approx(chinese, rel=1e-12)
    conversions = provenance(frame).hs_conversions
    assert [(c["what"], c["from"], c["to"]) for c in conversions] == [
        ("sector minerals_hs22", "HS22", "HS92")
    ]


def test_a_code_the_data_holds_is_its_own(tmp_path: Path) -> None:
    """850760 is no HS92 code (lithium-ion accumulators got their own code in HS2012), but a
    store labelled HS92 that holds flows of 850760 (a synthetic or national code) answers
    `product 850760` from those flows, without converting anything."""
    folder = tmp_path / "baci"
    write_baci(
        folder,
        ["2021,156,392,850760,1000,1", "2021,410,392,850760,500,1", "2021,156,842,850760,250,1"],
        name="BACI_HS92_Y2021_V202501.csv",
    )
    ws = Workspace.open(tmp_path / "home")
    ws.ingest_baci(folder)
    picture = ws.product("850760", allow_partial=True)
    importers = picture.importers.set_index("importer")
    assert importers.loc["JPN", "import_value_usd"] == pytest.approx(1_500_000.0)
    assert importers.loc["USA", "import_value_usd"] == pytest.approx(250_000.0)
    assert provenance(picture.summary).hs_conversions == ()
