"""Trade measures as scenarios: measures files read in three header layouts, run through the
ordinary shock, traced measure by measure, checked against DuckDB SQL over the demo store, and
the shipped presets reproduced by their measures files."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from chokepoints.analysis.scenario import list_presets, preset
from chokepoints.errors import InputError
from chokepoints.questions.measures import measures_scenario
from chokepoints.reference.groups import group_members
from chokepoints.sources.measures import DEFAULT_FRACTIONS, read_measures
from chokepoints.workspace import Workspace
from helpers import assert_one_sentence_error, run

YEAR = 2022
HEADER = "measure_id,imposing_economy,direction,partner,hs6,hs_revision,year,measure_type,fraction"
#: Overlapping measures on the demo world: m2 (a ban to the USA) binds where m1 (licensing,
#: default 0.5) also covers; m3 an EU import tax on Russian crude (default 0.25); m4 matches
#: no flow; m5 lists only an HS07 code that no revision holds (nothing to convert).
NATIVE = f"""{HEADER}
m1,CHN,export,,811292,HS17,2023,licensing,
m1,CHN,export,,250490,HS17,2023,licensing,
m2,CHN,export,USA,811292,HS17,2024,ban,
m3,EU27,import,RUS,270900,HS17,2022,tax,
m4,JPN,export,,010121,HS17,2022,other,0.3
m5,IDN,export,,999999,HS07,2014,ban,
"""


def scenario_file(folder: Path, text: str, name: str = "measures.csv") -> Path:
    """Write ``text`` as a measures file in ``folder``."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def sql_value(ws: Workspace, where: str, *, eu_group: bool = False) -> tuple[float, int]:
    """Value and number of flows of 2022 matching ``where``, by DuckDB SQL over the store;
    with ``eu_group`` the EU members buy as one (intra-EU flows dropped), as the shock does."""
    members = ", ".join(f"'{c}'" for c in group_members("EU27"))
    importer = f"CASE WHEN importer IN ({members}) THEN 'EU27' ELSE importer END"
    intra = f"NOT (exporter IN ({members}) AND importer IN ({members}))"
    query = f"""
        SELECT sum(value_usd) AS v, count(*) AS n FROM (
            SELECT exporter, {importer if eu_group else "importer"} AS importer, product,
                   sum(value_usd) AS value_usd
            FROM trade WHERE year = {YEAR} AND value_usd > 0 AND {intra if eu_group else "TRUE"}
            GROUP BY ALL
        ) WHERE {where}"""
    row = ws.sql(query).iloc[0]
    return float(row["v"] or 0.0), int(row["n"])


@pytest.fixture(scope="module")
def traced(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The shock of the NATIVE measures on the demo world, by product."""
    folder = tmp_path_factory.mktemp("measures")
    return Workspace.open(demo_home).shock(measures=scenario_file(folder, NATIVE), year=YEAR)


def test_value_at_risk_per_measure_matches_sql(demo_home: Path, traced: pd.DataFrame) -> None:
    ws = Workspace.open(demo_home)
    table = pd.DataFrame(traced.attrs["provenance"]["measures"]).set_index("measure_id")
    # The EU buys as one (the file names EU27 as an importer), so flows are counted per group.
    m1_value, m1_flows = sql_value(
        ws, "exporter = 'CHN' AND product IN ('811292', '250490')", eu_group=True
    )
    m2_value, m2_flows = sql_value(
        ws, "exporter = 'CHN' AND importer = 'USA' AND product = '811292'", eu_group=True
    )
    m3_value, m3_flows = sql_value(
        ws, "exporter = 'RUS' AND importer = 'EU27' AND product = '270900'", eu_group=True
    )
    assert m1_flows > 100 and m2_flows == 1 and m3_flows == 1
    expected = {
        "m1": (m1_flows, m1_value, 0.5 * m1_value, 0.5 * (m1_value - m2_value)),
        "m2": (1, m2_value, m2_value, m2_value),
        "m3": (1, m3_value, 0.25 * m3_value, 0.25 * m3_value),
        "m4": (0, 0.0, 0.0, 0.0),
        "m5": (0, 0.0, 0.0, 0.0),
    }
    for measure, (flows, matched, at_risk, binding) in expected.items():
        row = table.loc[measure]
        assert row["flows"] == flows, measure
        assert row["matched_value_usd"] == pytest.approx(matched, rel=1e-12), measure
        assert row["value_at_risk_usd"] == pytest.approx(at_risk, rel=1e-12), measure
        assert row["binding_lost_usd"] == pytest.approx(binding, rel=1e-12), measure
    assert table.loc["m4", "status"] == "matched no flow in 2022"
    assert table.loc["m5", "status"] == "no HS17 codes (listed in HS07)"
    # The losses attributed to the binding measures are the scenario's.
    world = traced.attrs["provenance"]["world"]["lost_value_usd"]
    assert table["binding_lost_usd"].sum() == pytest.approx(world, rel=1e-12)
    assert world == pytest.approx(0.5 * (m1_value - m2_value) + m2_value + 0.25 * m3_value)


def test_rows_name_their_binding_measures(demo_home: Path, traced: pd.DataFrame) -> None:
    ws = Workspace.open(demo_home)
    rows = traced.set_index(["importer", "product"])
    assert rows.loc[("USA", "811292"), "measure_id"] == "m2"
    usa_value, _ = sql_value(ws, "exporter = 'CHN' AND importer = 'USA' AND product = '811292'")
    assert rows.loc[("USA", "811292"), "lost_value_usd"] == pytest.approx(usa_value)
    assert rows.loc[("USA", "250490"), "measure_id"] == "m1"
    assert rows.loc[("EU27", "270900"), "measure_id"] == "m3"
    assert rows.loc[("EU27", "811292"), "measure_id"] == "m1"
    assert set(traced["measure_id"]) == {"m1", "m2", "m3"}


def test_trade_at_risk_per_importer_and_sector(demo_home: Path, tmp_path: Path) -> None:
    ws = Workspace.open(demo_home)
    path = scenario_file(tmp_path, NATIVE)
    by_sector = ws.shock(measures=path, year=YEAR, by="sector")
    assert {"importer", "sector", "measure_id", "lost_value_usd"} <= set(by_sector.columns)
    # USA's critical-minerals row holds the graphite (m1) and the gallium ban (m2) losses.
    usa = by_sector[(by_sector["importer"] == "USA") & by_sector["measure_id"].str.contains("m2")]
    assert not usa.empty and set(usa["measure_id"].iloc[0].split(",")) <= {"m1", "m2"}
    by_country = ws.shock(measures=path, year=YEAR, by="country").set_index("importer")
    assert by_country.loc["USA", "measure_id"] == "m1,m2"
    assert by_country.loc["EU27", "measure_id"] == "m1,m3"


def test_default_fractions_and_file_overrides(tmp_path: Path) -> None:
    assert DEFAULT_FRACTIONS == {
        "ban": 1.0,
        "licensing": 0.5,
        "quota": 0.5,
        "tax": 0.25,
        "other": None,
    }
    text = f"""{HEADER}
a,CHN,export,,811292,HS17,,ban,
b,CHN,export,,811292,HS17,,licensing,
c,CHN,export,,811292,HS17,,export tax,
d,CHN,export,,811292,HS17,,tax,0.1
e,CHN,export,,811292,HS17,,quota,
"""
    measures = {m.id: m for m in read_measures(scenario_file(tmp_path, text))}
    assert {k: (m.fraction, m.fraction_given) for k, m in measures.items()} == {
        "a": (1.0, False),
        "b": (0.5, False),
        "c": (0.25, False),
        "d": (0.1, True),
        "e": (0.5, False),
    }


@pytest.mark.parametrize("name", list_presets())
def test_each_preset_and_its_measures_file_give_the_same_numbers(
    demo_home: Path, name: str
) -> None:
    ws = Workspace.open(demo_home)
    file = resources.files("chokepoints.reference").joinpath(f"scenarios/{name}.csv")
    by_preset = ws.shock(preset=name, year=YEAR)
    by_measures = ws.shock(measures=str(file), year=YEAR)
    assert by_measures["measure_id"].notna().all()
    pd.testing.assert_frame_equal(by_measures.drop(columns="measure_id"), by_preset)
    ours, theirs = by_measures.attrs["provenance"], by_preset.attrs["provenance"]
    assert ours["world"] == theirs["world"] and ours["by_importer"] == theirs["by_importer"]
    table = pd.DataFrame(ours["measures"])
    assert table["binding_lost_usd"].sum() == pytest.approx(ours["world"]["lost_value_usd"])


@pytest.mark.parametrize("name", list_presets())
def test_measures_files_hold_the_presets_shocks(name: str) -> None:
    file = Path(str(resources.files("chokepoints.reference").joinpath(f"scenarios/{name}.csv")))
    scenario = preset(name)
    for revision in ("HS92", "HS12", "HS17", "HS22"):
        built, _ = measures_scenario(read_measures(file), revision, file=str(file), sector_dirs=())
        assert len(built.shocks) == len(scenario.shocks)
        for ours, theirs in zip(built.shocks, scenario.shocks, strict=True):
            assert (ours.supplier, ours.members) == (theirs.supplier, theirs.members)
            assert ours.importers == theirs.importers
            assert (ours.fraction, ours.start_year) == (theirs.fraction, theirs.start_year)
            assert ours.products_for(revision) == theirs.products_for(revision)


OECD = """Country,Year,HS code,HS version,Measure,Value
China,2023,811292,HS2017,Licensing requirement,
China,2023,250490,HS2017,Licensing requirement,
Russian Federation,2022,270900,HS2017,Export tax,10%
"""
GTA = """intervention.id,implementing.jurisdiction,i.un,affected.jurisdiction,a.un,affected.flow,\
affected.product,intervention.type,date.implemented,title,hs_revision
71001,China,156,,,outward,"811292, 250490",Export licensing requirement,2023-08-01,Ga/Ge,HS17
71002,Russia,643,,,outward,270900,Export tax,2022-03-01,Crude,HS17
"""
SAME_AS_OECD = f"""{HEADER}
a,CHN,export,,811292,HS17,2023,licensing,
a,CHN,export,,250490,HS17,2023,licensing,
b,RUS,export,,270900,HS17,2022,tax,
"""


@pytest.mark.parametrize(
    ("text", "types"),
    [(OECD, ["licensing", "licensing", "tax"]), (GTA, ["licensing", "tax"])],
    ids=["oecd-inventory", "global-trade-alert"],
)
def test_oecd_and_gta_layouts_read_as_the_native_one(
    demo_home: Path, tmp_path: Path, text: str, types: list[str]
) -> None:
    ws = Workspace.open(demo_home)
    theirs = ws.shock(measures=scenario_file(tmp_path, text, "theirs.csv"), year=YEAR)
    ours = ws.shock(measures=scenario_file(tmp_path, SAME_AS_OECD, "ours.csv"), year=YEAR)
    pd.testing.assert_frame_equal(
        theirs.drop(columns="measure_id"), ours.drop(columns="measure_id")
    )
    table = pd.DataFrame(theirs.attrs["provenance"]["measures"])
    assert table["type"].tolist() == types
    assert table["fraction"].tolist() == [DEFAULT_FRACTIONS[t] for t in types]
    assert (table["fraction_source"] == [f"default for {t}" for t in types]).all()
    assert set(table["imposing"]) == {"CHN", "RUS"}


def test_oecd_rows_without_ids_are_one_measure_each(tmp_path: Path) -> None:
    measures = read_measures(scenario_file(tmp_path, OECD))
    assert [(m.id, m.line, m.type, m.imposing.name) for m in measures] == [
        ("line-2", 2, "licensing", "CHN"),
        ("line-3", 3, "licensing", "CHN"),
        ("line-4", 4, "tax", "RUS"),
    ]
    gta = read_measures(scenario_file(tmp_path, GTA, "gta.csv"))
    assert [(m.id, m.direction, m.year, m.products) for m in gta] == [
        ("71001", "export", 2023, {"HS17": ("811292", "250490")}),
        ("71002", "export", 2022, {"HS17": ("270900",)}),
    ]


BAD = [
    (
        "no-revision",
        "measure_id,imposing_economy,hs6,measure_type\nx,CHN,811292,ban\n",
        1,
        "revision",
    ),
    ("short-code", f"{HEADER}\nx,CHN,export,,81129,HS17,,ban,\n", 2, "hs6"),
    ("unknown-economy", f"{HEADER}\nx,XYZ,export,,811292,HS17,,ban,\n", 2, "imposing"),
    ("unknown-type", f"{HEADER}\nx,CHN,export,,811292,HS17,,subsidy,\n", 2, "type"),
    ("other-without-fraction", f"{HEADER}\nx,CHN,export,,811292,HS17,,other,\n", 2, "fraction"),
    ("fraction-above-one", f"{HEADER}\nx,CHN,export,,811292,HS17,,ban,1.5\n", 2, "fraction"),
    ("bad-revision", f"{HEADER}\nx,CHN,export,,811292,HS2019,,ban,\n", 2, "revision"),
    ("import-without-partner", f"{HEADER}\nx,EU27,import,,270900,HS17,,ban,\n", 2, "partner"),
    (
        "rows-disagree",
        f"{HEADER}\nx,CHN,export,,811292,HS17,,ban,\nx,CHN,export,,250490,HS17,,ban,0.5\n",
        3,
        "fraction",
    ),
    ("ragged-row", f"{HEADER}\nx,CHN,export,,811292,HS17\n", 2, None),
    ("bad-year", f"{HEADER}\nx,CHN,export,,811292,HS17,soon,ban,\n", 2, "year"),
    ("empty", "", 1, None),
]


@pytest.mark.parametrize(("text", "line", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_files_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str | None
) -> None:
    path = scenario_file(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_measures(path)
    error = caught.value
    assert error.file == str(path) and error.line == line and error.field == field
    assert str(error).startswith(f"{path}, line {line}: ")
    assert error.hint or field is None


def test_codes_of_another_revision_are_converted(demo_home: Path, tmp_path: Path) -> None:
    """An HS2007 code on HS2017 data: 260400 (nickel ores and concentrates) is the same code in
    both revisions (UNSD HS2017-HS2012 and HS2012-HS2007 tables: no change to heading 2604), so
    the measure binds on the HS17 flows of 260400, and the provenance states the conversion."""
    ws = Workspace.open(demo_home)
    path = scenario_file(tmp_path, f"{HEADER}\nx,IDN,export,,260400,HS07,,ban,\n")
    frame = ws.shock(measures=path, year=YEAR)
    value, flows = sql_value(ws, "exporter = 'IDN' AND product = '260400'")
    assert flows > 0
    assert frame["lost_value_usd"].sum() == pytest.approx(value, rel=1e-9)
    provenance = frame.attrs["provenance"]
    [conversion] = provenance["hs_conversion"]
    assert (conversion["what"], conversion["from"], conversion["to"]) == (
        "measure x",
        "HS07",
        "HS17",
    )
    assert conversion["codes"] == ["260400"] and not conversion["approximate"]
    assert any("measure x: HS07 codes converted" in w for w in provenance["warnings"])
    [measure] = provenance["measures"]
    assert measure["value_at_risk_usd"] == pytest.approx(value, rel=1e-9)


def test_codes_no_revision_holds_are_refused(demo_home: Path, tmp_path: Path) -> None:
    path = scenario_file(tmp_path, f"{HEADER}\nx,IDN,export,,999999,HS07,,ban,\n")
    with pytest.raises(InputError, match=r"lists no HS17 codes \(its codes are HS07\)"):
        Workspace.open(demo_home).shock(measures=path, year=YEAR)


def test_cli_shock_with_measures(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    path = scenario_file(tmp_path, NATIVE)
    code, out, err = run(capsys, "shock", "--measures", str(path), "--home", str(demo_home))
    assert code == 0, err
    assert "the measures" in out and "m2" in out and "matched no flow in 2022" in out
    code, out, err = run(
        capsys, "shock", "--measures", str(path), "--format", "json", "--home", str(demo_home)
    )
    assert code == 0, err
    result = json.loads(out)
    assert {m["measure_id"] for m in result["measures"]} == {"m1", "m2", "m3", "m4", "m5"}
    assert {r["measure_id"] for r in result["impact"]} == {"m1", "m2", "m3"}
    bad = scenario_file(tmp_path, f"{HEADER}\nx,CHN,export,,81129,HS17,,ban,\n", "bad.csv")
    code, _, err = run(capsys, "shock", "--measures", str(bad), "--home", str(demo_home))
    assert_one_sentence_error(code, err)
    assert "bad.csv, line 2" in err and "hs6" in err and "leading zero" in err
