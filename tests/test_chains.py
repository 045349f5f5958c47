"""Value chains: the shipped files, their validation, and shock propagation along them."""

from __future__ import annotations

import csv
from pathlib import Path

import ibis
import networkx as nx
import pandas as pd
import pytest

from chokepoints.analysis.propagation import downstream_at_risk, exposed_producers
from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.chains import (
    STAGES,
    chain_graphs,
    list_chains,
    load_chain,
    load_chain_file,
)
from helpers import require_spark

BUILTIN = ("li_ion_batteries", "permanent_magnets", "semiconductors", "solar_pv")

MINIMAL = """\
id = "{id}"
name = "Test chain"
description = "A chain written by a test"
sources = ["the test"]
revisions = ["HS17", "HS22"]
edges = [
{edges}
]

[nodes.ore]
label = "ore"
stage = "ore"
codes = ["260500"]

[nodes.metal]
label = "metal"
stage = "refined"
codes = ["810520"]

[nodes.part]
label = "part"
stage = "component"
codes = {part_codes}
"""


def _write(folder: Path, chain_id: str = "test_chain", **parts: str) -> Path:
    """A chain file ore -> metal -> part in ``folder``, with ``parts`` replacing the defaults."""
    values = {
        "id": chain_id,
        "edges": '    "ore -> metal",\n    "metal -> part",',
        "part_codes": '["850760"]',
        **parts,
    }
    path = folder / f"{chain_id}.toml"
    path.write_text(MINIMAL.format(**values), encoding="utf-8")
    return path


def _line_of(path: Path, text: str) -> int:
    """The 1-based number of the first line of ``path`` containing ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


# -- the shipped chains ----------------------------------------------------------------------
def test_list_chains_counts_codes_per_revision() -> None:
    table = list_chains().set_index("id")
    assert tuple(table.index) == BUILTIN
    assert (table.origin == "built-in").all()
    assert table.loc["solar_pv", "n_HS17"] == 4
    assert table.loc["solar_pv", "n_HS22"] == 5
    assert table.loc["li_ion_batteries", "n_HS17"] == 17
    assert table.loc["permanent_magnets", "n_HS22"] == 10
    assert table.loc["semiconductors", "n_HS22"] == 12
    assert all(len(sources) >= 2 for sources in table.sources)


@pytest.mark.parametrize("chain_id", BUILTIN)
@pytest.mark.parametrize("revision", ["HS17", "HS22"])
def test_builtin_graphs_are_dags_with_stages(chain_id: str, revision: str) -> None:
    graph = load_chain(chain_id).graph(revision)
    assert nx.is_directed_acyclic_graph(graph)
    assert graph.graph == {"chain": chain_id, "classification": revision}
    for _, data in graph.nodes(data=True):
        assert all(stage in STAGES for stage in data["stage"].split("/"))
    assert nx.is_weakly_connected(graph)


def test_solar_hs17_merges_cells_and_modules_hs22_separates_them() -> None:
    chain = load_chain("solar_pv")
    hs17, hs22 = chain.graph("HS17"), chain.graph("hs22")
    assert sorted(hs17.edges) == [("280461", "381800"), ("280469", "280461"), ("381800", "854140")]
    assert hs17.nodes["854140"] == {
        "label": "photovoltaic cells + photovoltaic modules",
        "stage": "component/final",
        "steps": ("cells", "modules"),
        "production": (),
    }
    assert ("381800", "854142") in hs22.edges and ("854142", "854143") in hs22.edges
    assert "854140" not in hs22
    assert downstream_at_risk(hs17, {"280461"}) == [
        ("381800", ("280461", "381800")),
        ("854140", ("280461", "381800", "854140")),
    ]
    assert [product for product, _ in downstream_at_risk(hs22, {"280461"})] == [
        "381800",
        "854142",
        "854143",
    ]


def test_shared_codes_exist_in_baci_product_lists(shared_data: Path) -> None:
    folder = shared_data / "baci" / "V202401_tradalyze"
    for revision in ("HS17", "HS22"):
        with (folder / f"product_codes_{revision}_V202401.csv").open(encoding="utf-8") as file:
            known = {row["code"].zfill(6) for row in csv.DictReader(file)}
        for chain_id in BUILTIN:
            missing = sorted(set(load_chain(chain_id).graph(revision)) - known)
            assert not missing, f"{chain_id} {revision}: {missing} not in BACI"


# -- propagation along a chain ---------------------------------------------------------------
def test_shocking_rare_earth_compounds_reaches_magnets_motors_and_evs() -> None:
    graph = load_chain("permanent_magnets").graph("HS17")
    at_risk = dict(downstream_at_risk(graph, {"284690"}))
    assert at_risk["280530"] == ("284690", "280530")
    assert at_risk["850511"] == ("284690", "280530", "850511")
    assert at_risk["850152"] == ("284690", "280530", "850511", "850152")
    # 870380 is reached through 850152 and 850153; the tie goes to the smaller code
    assert at_risk["870380"] == ("284690", "280530", "850511", "850152", "870380")
    assert at_risk["850231"] == ("284690", "280530", "850511", "850164", "850231")
    assert set(at_risk) == set(graph) - {"284690"}


def test_several_shocks_take_the_nearest_and_skip_shocked_products() -> None:
    graph = load_chain("permanent_magnets").graph("HS22")
    result = downstream_at_risk(graph, {"284690", "850511", "999999"})
    assert result[:4] == [
        ("280530", ("284690", "280530")),
        ("850152", ("850511", "850152")),
        ("850153", ("850511", "850153")),
        ("850164", ("850511", "850164")),
    ]
    products = [product for product, _ in result]
    assert "850511" not in products and "284690" not in products
    assert dict(result)["870380"] == ("850511", "850152", "870380")


def test_li_ion_graphite_shock_reaches_cells_then_cars() -> None:
    graph = load_chain("li_ion_batteries").graph("HS22")
    assert downstream_at_risk(graph, {"250410"}) == [
        ("850760", ("250410", "850760")),
        ("870360", ("250410", "850760", "870360")),
        ("870370", ("250410", "850760", "870370")),
        ("870380", ("250410", "850760", "870380")),
    ]
    assert downstream_at_risk(graph, {"870380"}) == []


@pytest.mark.parametrize("shocked", [set(), "284690", {"28469"}, {284690}])
def test_bad_shocked_products_are_refused(shocked: object) -> None:
    graph = load_chain("permanent_magnets").graph("HS17")
    with pytest.raises(InputError, match="shocked_products"):
        downstream_at_risk(graph, shocked)  # type: ignore[arg-type]


# -- exposed producers on a small world ------------------------------------------------------
def _world() -> ibis.Table:
    """2022 flows of rare-earth compounds, metals, magnets, motors and EVs, and a 2021 decoy."""
    rows = [
        (2022, "CHN", "JPN", "284690", 40.0),
        (2022, "MYS", "JPN", "284690", 10.0),
        (2022, "CHN", "USA", "280530", 60.0),
        (2022, "CHN", "DEU", "280530", 20.0),
        (2022, "JPN", "USA", "280530", 20.0),
        (2022, "JPN", "DEU", "850511", 30.0),
        (2022, "DEU", "FRA", "850511", 10.0),
        (2022, "KOR", "FRA", "850511", 0.0),
        (2022, "DEU", "USA", "850152", 50.0),
        (2022, "CHN", "USA", "850152", 150.0),
        (2022, "USA", "CAN", "870380", 100.0),
        (2021, "KOR", "USA", "850511", 999.0),
    ]
    frame = pd.DataFrame(rows, columns=["year", "exporter", "importer", "product", "value_usd"])
    frame["quantity_t"] = 1.0
    return ibis.memtable(frame)


def _exposed(**options: object) -> pd.DataFrame:
    graph = load_chain("permanent_magnets").graph("HS17")
    table = exposed_producers(_world(), graph, {"284690"}, 2022, **options)
    return table.to_pandas()


def test_exposed_producers_hand_checked() -> None:
    result = _exposed(suppliers={"CHN"})
    assert list(result.columns) == [
        "year", "country", "product", "label", "stage", "depth", "path", "upstream",
        "direct_inputs", "exports_usd", "export_share", "input_imports_usd",
        "direct_input_imports_usd", "input_imports_from_suppliers_usd", "input_supplier_share",
    ]  # fmt: skip
    got = result[
        ["country", "product", "depth", "exports_usd", "export_share", "input_imports_usd",
         "direct_input_imports_usd", "input_imports_from_suppliers_usd", "input_supplier_share"]
    ]  # fmt: skip
    nan = float("nan")
    expected = pd.DataFrame(
        [
            ("CHN", "280530", 1, 80.0, 0.8, 0.0, 0.0, 0.0, nan),
            ("JPN", "280530", 1, 20.0, 0.2, 50.0, 50.0, 40.0, 0.8),
            ("CHN", "850152", 3, 150.0, 0.75, 0.0, 0.0, 0.0, nan),
            ("DEU", "850152", 3, 50.0, 0.25, 0.0, 30.0, 0.0, nan),
            ("JPN", "850511", 2, 30.0, 0.75, 50.0, 0.0, 40.0, 0.8),
            ("DEU", "850511", 2, 10.0, 0.25, 0.0, 20.0, 0.0, nan),
            ("USA", "870380", 4, 100.0, 1.0, 0.0, 200.0, 0.0, nan),
        ],
        columns=got.columns,
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    motors = result[result["product"] == "850152"].iloc[0]
    assert motors.path == (
        "850152 AC motors (multi-phase, > 750 W) <- 850511 permanent magnets"
        " <- 280530 rare-earth metals <- 284690 rare-earth compounds"
    )
    assert motors.upstream == "284690" and motors.direct_inputs == "850511"
    assert set(result.year) == {2022}


def test_exposed_producers_min_export_share_and_without_suppliers() -> None:
    result = _exposed(min_export_share=0.5)
    assert list(zip(result.country, result["product"], strict=True)) == [
        ("CHN", "280530"),
        ("CHN", "850152"),
        ("JPN", "850511"),
        ("USA", "870380"),
    ]
    assert "input_supplier_share" not in result.columns


def test_exposed_producers_refuses_a_bad_share() -> None:
    graph = load_chain("permanent_magnets").graph("HS17")
    with pytest.raises(InputError, match="min_export_share"):
        exposed_producers(_world(), graph, {"284690"}, 2022, min_export_share=1.5)


def test_exposed_producers_empty_when_nothing_is_downstream() -> None:
    graph = load_chain("solar_pv").graph("HS22")
    assert len(exposed_producers(_world(), graph, {"284690"}, 2022).to_pandas()) == 0


# -- validation of chain files ---------------------------------------------------------------
def test_a_valid_user_chain_loads(tmp_path: Path) -> None:
    chain = load_chain(_write(tmp_path))
    assert sorted(chain.graph("HS17").edges) == [("260500", "810520"), ("810520", "850760")]
    assert chain.origin == str(tmp_path / "test_chain.toml")


def test_cycle_is_refused_with_file_and_line(tmp_path: Path) -> None:
    edges = '    "ore -> metal",\n    "metal -> part",\n    "part -> ore",'
    path = _write(tmp_path, edges=edges)
    with pytest.raises(InputError, match="cycle: ore -> metal -> part -> ore") as error:
        load_chain_file(path)
    assert error.value.file == str(path)
    assert error.value.line == _line_of(path, '"part -> ore"')


def test_edge_to_an_undefined_node_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, edges='    "ore -> metal",\n    "metal -> cell",')
    with pytest.raises(InputError, match="'cell', which is not a node") as error:
        load_chain_file(path)
    assert str(path) in str(error.value)
    assert error.value.line == _line_of(path, '"metal -> cell"')


def test_merged_codes_forming_a_cycle_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, part_codes='{ HS17 = ["260500"], HS22 = ["850760"] }')
    chain = load_chain_file(path)
    assert len(chain.graph("HS22")) == 3
    with pytest.raises(InputError, match="in HS17, codes form a cycle"):
        chain.graph("HS17")


@pytest.mark.parametrize(
    ("parts", "message", "line_text"),
    [
        ({"part_codes": '["85076"]'}, "quoted 6-digit codes in HS17", "[nodes.part]"),
        ({"part_codes": '{ HS17 = ["850760"] }'}, "codes for HS17, the chain for", "[nodes.part]"),
        ({"edges": '    "ore => metal",'}, "is not 'input -> output'", '"ore => metal"'),
        ({"edges": '    "ore -> metal",\n    "ore -> metal",'}, "listed twice", '"ore -> metal"'),
        ({"id": "other"}, "must be the file name", "id ="),
    ],
)
def test_format_errors_name_the_line(
    tmp_path: Path, parts: dict[str, str], message: str, line_text: str
) -> None:
    path = _write(tmp_path, **parts)
    if "id" in parts:
        path = path.rename(tmp_path / "test_chain.toml")
    with pytest.raises(InputError, match=message) as error:
        load_chain_file(path)
    assert error.value.line == _line_of(path, line_text)


MINING = """
[nodes.mining]
label = "cobalt mines"
stage = "ore"
production = {production}
"""


def _with_mining(tmp_path: Path, edges: str, production: str) -> Path:
    """The test chain with a production node ``mining`` and ``edges``."""
    path = _write(tmp_path, edges=edges)
    path.write_text(path.read_text() + MINING.format(production=production))
    return path


def test_production_nodes_feed_the_codes_they_supply(tmp_path: Path) -> None:
    edges = '    "mining -> ore",\n    "ore -> metal",\n    "metal -> part",'
    chain = load_chain_file(
        _with_mining(tmp_path, edges, '{ commodity = "cobalt", stage = "mine" }')
    )
    graph = chain.graph("HS22")
    assert sorted(graph) == ["260500", "810520", "850760"]  # no code for the mines
    assert graph.nodes["260500"]["production"] == (("cobalt", "mine"),)
    assert graph.nodes["810520"]["production"] == ()
    assert [step.id for step in chain.ordered_steps()] == ["mining", "ore", "metal", "part"]
    assert chain.nodes["mining"].production == ("cobalt", "mine")


@pytest.mark.parametrize(
    ("edges", "production", "message", "line_text"),
    [
        (
            '    "ore -> mining",\n    "mining -> metal",\n    "metal -> part",',
            '{ commodity = "cobalt", stage = "mine" }',
            "leads into a production node",
            '"ore -> mining"',
        ),
        (
            '    "ore -> metal",\n    "metal -> part",',
            '{ commodity = "cobalt", stage = "mine" }',
            "production node mining feeds no step",
            "[nodes.mining]",
        ),
        (
            '    "mining -> ore",\n    "ore -> metal",\n    "metal -> part",',
            '{ commodity = "cobalt", stage = "quarry" }',
            "needs production = ",
            "[nodes.mining]",
        ),
        (
            '    "mining -> ore",\n    "ore -> metal",\n    "metal -> part",',
            '"cobalt mine"',
            "needs production = ",
            "[nodes.mining]",
        ),
    ],
)
def test_bad_production_nodes_name_the_line(
    tmp_path: Path, edges: str, production: str, message: str, line_text: str
) -> None:
    path = _with_mining(tmp_path, edges, production)
    with pytest.raises(InputError, match=message) as error:
        load_chain_file(path)
    assert error.value.line == _line_of(path, line_text)


def test_builtin_chains_start_at_production() -> None:
    graph = chain_graphs("HS22")["permanent_magnets"]
    assert graph.nodes["284690"]["production"] == (("rare_earths", "mine"),)
    assert chain_graphs("HS22")["li_ion_batteries"].nodes["260500"]["production"] == (
        ("cobalt", "mine"),
    )


def test_unknown_stage_and_syntax_errors(tmp_path: Path) -> None:
    path = _write(tmp_path)
    path.write_text(path.read_text().replace('stage = "ore"', 'stage = "mine"'))
    with pytest.raises(InputError, match="unknown stage 'mine'"):
        load_chain_file(path)
    path.write_text(path.read_text().replace('label = "ore"', 'label = "ore'))
    with pytest.raises(InputError, match="not valid TOML") as error:
        load_chain_file(path)
    assert error.value.line == _line_of(path, 'label = "ore')


def test_user_folders_add_and_replace_chains(tmp_path: Path) -> None:
    _write(tmp_path)
    _write(tmp_path, chain_id="solar_pv")
    table = list_chains([tmp_path, tmp_path / "missing"]).set_index("id")
    assert table.loc["test_chain", "n_HS17"] == 3
    assert table.loc["solar_pv", "origin"] == str(tmp_path / "solar_pv.toml")
    assert load_chain("solar_pv", extra_dirs=[tmp_path]).name == "Test chain"
    assert load_chain("solar_pv").name == "Solar photovoltaics"


def test_unknown_chain_and_revision() -> None:
    with pytest.raises(UnknownCodeError, match="known chains: li_ion_batteries"):
        load_chain("batteries")
    with pytest.raises(InputError, match=r"has no HS12 codes.*it has codes for HS17, HS22"):
        load_chain("solar_pv").graph("HS12")


# -- DuckDB and Spark agree ------------------------------------------------------------------
@pytest.mark.spark
@pytest.mark.slow
def test_exposed_producers_same_on_duckdb_and_spark(demo_home: Path) -> None:
    from chokepoints import engine
    from chokepoints.analysis.concentration import select_flows
    from chokepoints.store import Store

    require_spark("the chain's Spark parity test")
    store = Store(demo_home)
    graph = load_chain("permanent_magnets").graph("HS17")
    frames = []
    for backend in ("duckdb", "pyspark"):
        con = engine.connect(store, backend)
        flows = select_flows(con.table("trade"), source="demo", classification="HS17")
        table = exposed_producers(flows, graph, {"284690"}, 2022, suppliers={"CHN"})
        frames.append(table.to_pandas().sort_values(["product", "country"], ignore_index=True))
    duck, spark = frames
    assert len(duck) > 0
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False, rtol=1e-9)
