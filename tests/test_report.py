"""The HTML report: its content against the questions it quotes, its HTML, and the CLI.

The browser checks (charts drawn, no console error, no request) are in test_report_browser.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from chokepoints.errors import InputError
from chokepoints.report import gather, render_html
from chokepoints.workspace import Workspace
from helpers import assert_one_sentence_error, run

#: The sections with a chart in every report (cooperation adds one with partners).
CHARTS = (
    "dependencies",
    "sectors",
    "suppliers",
    "map",
    "trend",
    "exports",
    "stress",
    "diversification",
    "upstream",
)
#: Elements that never have an end tag.
VOID = {"meta", "link", "br", "hr", "img", "input", "source", "col", "area", "base", "wbr"}


@pytest.fixture(scope="module")
def demo(demo_home: Path) -> Workspace:
    """The session's demo store (the tests only read it)."""
    return Workspace.open(demo_home)


@pytest.fixture(scope="module")
def jpn_deu(demo_report: Any) -> Any:
    """Japan's report with Germany, gathered once for the session."""
    return demo_report


class TagBalance(HTMLParser):
    """Checks that every element is closed, in order, and records external references."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.references.append(value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> at {self.getpos()} closes {self.stack[-1:]}")
            return
        self.stack.pop()


def test_content_agrees_with_the_questions(demo: Workspace, jpn_deu) -> None:
    deps = demo.dependencies("JPN", include_all=True)
    sectors = set(jpn_deu.sectors)
    # The report covers every strategic sector but the EU proxy, whose products it contains.
    assert "eu_sensitive_ecosystems" not in sectors and "batteries" in sectors
    mine = deps[deps["product"].isin(jpn_deu.dependencies["product"])]
    assert len(mine) == len(jpn_deu.dependencies)
    # Per sector: dependent products counted from the dependencies table's sector lists.
    for row in jpn_deu.by_sector.itertuples():
        in_sector = mine[mine["sector"].str.split(",").map(lambda s, t=row.sector: t in s)]
        assert row.n_products == len(in_sector)
        assert row.n_dependent == int(in_sector["dependent"].sum())
        assert row.import_value_usd == pytest.approx(in_sector["import_value_usd"].sum())
    # Key figures quote those tables.
    figures = dict(jpn_deu.key_figures())
    assert figures["Dependent products"] == str(int(mine["dependent"].sum()))
    top = mine[mine["dependent"]]["top_supplier"].value_counts()
    # Named as readers know it, with its code: "China (CHN), 21 products".
    name = {"CHN": "China", "DEU": "Germany", "USA": "United States"}.get(top.index[0], "")
    expected = f"{name} ({top.index[0]}), {top.iloc[0]} products"
    assert figures["Most frequent dominant supplier"] == expected
    assert jpn_deu.partners == ["DEU"]
    assert set(jpn_deu.cooperation) >= {"by_sector", "shared", "complementarity", "best_practice"}
    assert set(jpn_deu.cooperation["by_sector"]["sector"]) <= sectors


def test_export_markets_are_the_export_side_of_the_products(demo: Workspace, jpn_deu) -> None:
    expected = demo.dependencies("JPN", side="exports", include_all=True)
    expected = expected[expected["product"].isin(jpn_deu.dependencies["product"])]
    exports = jpn_deu.exports.set_index("product")
    assert sorted(exports.index) == sorted(expected["product"])
    assert exports["dependent"].sum() == expected["dependent"].sum() > 0
    for row in expected.itertuples():
        assert exports.loc[row.product, "market_hhi"] == pytest.approx(row.market_hhi)
        assert exports.loc[row.product, "top_market"] == row.top_market
    # Dependent sales first, then by value.
    flags = jpn_deu.exports["dependent"].tolist()
    assert flags == sorted(flags, reverse=True)


def test_import_sources_match_sql(demo: Workspace, jpn_deu) -> None:
    products = sorted(jpn_deu.dependencies["product"])
    listed = ",".join(f"'{p}'" for p in products)
    expected = demo.sql(
        "SELECT exporter, sum(value_usd) AS v, count(DISTINCT product) AS n FROM trade "
        f"WHERE importer = 'JPN' AND year = 2022 AND value_usd > 0 AND product IN ({listed}) "
        "GROUP BY exporter"
    ).set_index("exporter")
    sources = jpn_deu.suppliers.set_index("exporter")
    assert set(sources.index) == set(expected.index)
    assert sources["imports_usd"].to_dict() == pytest.approx(expected["v"].to_dict())
    assert sources["n_products"].to_dict() == expected["n"].to_dict()
    assert sources["share"].sum() == pytest.approx(1.0)
    assert sources["imports_usd"].is_monotonic_decreasing
    dominant = jpn_deu.dependent["top_supplier"].value_counts()
    assert sources.loc[dominant.index[0], "n_dominant"] == dominant.iloc[0]


def test_import_sources_of_a_group_leave_out_trade_inside_it(demo: Workspace) -> None:
    members = demo.countries_of("EU27")
    listed = ",".join(f"'{m}'" for m in members)
    expected = demo.sql(
        "SELECT sum(value_usd) AS v FROM trade WHERE year = 2022 AND value_usd > 0 AND "
        f"product = '850511' AND importer IN ({listed}) AND exporter NOT IN ({listed})"
    )["v"].iloc[0]
    sources = demo.import_sources("EU27", products=["850511"], year=2022)
    assert sources["imports_usd"].sum() == pytest.approx(expected)
    assert not set(sources["exporter"]) & set(members)


def test_html_is_well_formed_offline_and_complete(jpn_deu) -> None:
    html = render_html(jpn_deu)
    checker = TagBalance()
    checker.feed(html)
    checker.close()
    assert checker.problems == [] and checker.stack == []
    assert checker.references == []  # no src= or href= outside the page itself
    assert not re.search(r"https?://[^\"' ]*\.(js|css|json)", html.split("</head>")[1])
    for key in (*CHARTS, "cooperation"):
        assert f'id="{key}"' in html and f'id="chart-{key}"' in html
    # One table view per chart at least, and the demo warning and provenance.
    assert html.count('class="table-view"') >= 9
    assert 'id="demo-warning"' in html
    provenance = html.split('id="provenance"')[1]
    assert "import_hhi=0.4" in provenance and "demo data (synthetic)" in provenance
    assert "world_110m" in html.split("</head>")[0]  # the map's shapes travel with the page
    assert len(html.encode()) < 10_000_000


def test_readers_see_names_points_and_their_region(demo: Workspace, jpn_deu) -> None:
    from chokepoints.report import charts

    html = render_html(jpn_deu)
    trend = jpn_deu.provenance["trend"]["change"]
    # A change of share is said in percentage points, in the key figures and the lead.
    assert f"{trend['share_change'] * 100:+.1f} points" in html
    # The header lists only sectors with imports, by their names from the sector files.
    header = html.split('class="subtitle"')[1].split("</p>")[0]
    for sector in jpn_deu.sectors:
        named = jpn_deu.sector_names[sector]
        imported = sector in set(
            jpn_deu.by_sector.loc[jpn_deu.by_sector["n_products"] > 0, "sector"]
        )
        assert (named in header) == imported
    # Maps are centred on the economy's region: Asia for Japan, Europe for Germany and the EU.
    assert charts.map_centre(["JPN"]) == 100.0 and charts.map_centre(["DEU"]) == 15.0
    eu = demo.context.economy("EU27").members
    assert charts.map_centre(eu) == 15.0
    # Tables name countries with their codes.
    suppliers = html.split('id="suppliers"')[1].split("</section>")[0]
    assert "China (CHN)" in suppliers


def test_upstream_section_quotes_the_chain_stages(demo: Workspace, jpn_deu) -> None:
    expected = demo.chain_stages("JPN")
    # Every chain Japan imports from, with the same figures as the question's.
    assert set(jpn_deu.stages["chain"]) == set(expected["chain"])
    magnets = expected[expected["chain"] == "permanent_magnets"].set_index("step")
    shown = jpn_deu.stages[jpn_deu.stages["chain"] == "permanent_magnets"].set_index("step")
    expected_hhi = magnets["world_hhi"].to_dict()
    assert shown["world_hhi"].to_dict() == pytest.approx(expected_hhi, nan_ok=True)
    # The lead names each chain's most concentrated step, computed here from the frame.
    known = magnets.dropna(subset=["world_hhi"])
    worst = known.loc[known["world_hhi"].idxmax()]
    html = render_html(jpn_deu).split('id="upstream"')[1].split("</section>")[0]
    assert f"Rare-earth permanent magnets: most concentrated at {worst['label']}" in html
    assert f"HHI {worst['world_hhi']:.2f}" in html
    # The demo store holds no production: the mining steps say so.
    assert "have no production data in the store" in html
    assert (magnets.loc["rare_earth_mining", "basis"]) == "production not in the store"


def test_table_view_shows_the_dependent_products(jpn_deu) -> None:
    html = render_html(jpn_deu)
    view = html.split('id="dependencies"')[1].split("</section>")[0]
    rows = re.findall(r"<tr><td[^>]*>(\d{6})</td>", view)
    assert rows == jpn_deu.dependent["product"].tolist()


def test_report_cli_writes_the_file(
    capsys: pytest.CaptureFixture[str], demo: Workspace, tmp_path: Path
) -> None:
    target = tmp_path / "deu.html"
    code, out, err = run(
        capsys,
        "report",
        "DEU",
        "--sector",
        "batteries",
        "-o",
        str(target),
        "--home",
        str(demo.home),
    )
    assert code == 0, err
    assert str(target) in out.replace("\n", "")
    html = target.read_text(encoding="utf-8")
    assert "Supply-chain dependencies: DEU" in html and 'id="cooperation"' not in html
    assert "sectors: Storage batteries" in html  # the sector file's name, not its id


@pytest.mark.parametrize(
    "arguments",
    [
        ["report", "JPN", "--sector", "nope"],
        ["report", "XXX"],
        ["report", "JPN", "--vs", "ZZZ"],
    ],
)
def test_report_cli_bad_input_is_one_sentence(
    capsys: pytest.CaptureFixture[str], demo: Workspace, tmp_path: Path, arguments: list[str]
) -> None:
    target = tmp_path / "r.html"
    code, _, err = run(capsys, *arguments, "-o", str(target), "--home", str(demo.home))
    assert_one_sentence_error(code, err)
    assert not target.exists()


def test_unwritable_output_leaves_nothing(
    capsys: pytest.CaptureFixture[str], demo: Workspace, tmp_path: Path
) -> None:
    # The output path is a folder: the report is written aside, the rename fails, and the
    # temporary file is removed again.
    target = tmp_path / "taken"
    target.mkdir()
    code, _, err = run(
        capsys,
        "report",
        "JPN",
        "--sector",
        "batteries",
        "-o",
        str(target),
        "--home",
        str(demo.home),
    )
    assert_one_sentence_error(code, err)
    assert "cannot write" in err
    assert [p.name for p in tmp_path.iterdir()] == ["taken"] and not any(target.iterdir())


def test_report_on_real_baci_slices_of_one_year(atlas: Workspace) -> None:
    # One year in the store: no trend, and the report says why. DEU's magnets (850511):
    # imports 907,734,023 USD, HHI .685087, CHN 82.5% (awk figures of test_deps_real.py).
    content = gather(atlas, "DEU", sectors=["permanent_magnets"], allow_partial=True)
    assert content.trend is None
    assert any("one year" in note for note in content.notes)
    # GeoDep cannot assess persistence on one year: the report says so at the top and in its
    # key figures. Magnets miss the world-export criterion (HHI .399545 <= .4): no candidate.
    assert not content.dependencies["dependent"].any()
    assert any("persistence is not assessable (1 of 3 years)" in n for n in content.notes)
    labels = [label for label, _ in content.key_figures()]
    assert "Candidate dependencies (persistence not assessable: 1 of 3 years)" in labels
    magnets = content.dependencies.set_index("product").loc["850511"]
    assert magnets["import_value_usd"] == pytest.approx(907_734_023.0)
    assert magnets["hhi"] == pytest.approx(0.685087, abs=1e-6)
    html = render_html(content)
    assert "there is no trend to show" in html and 'id="demo-warning"' not in html
    assert "atlas" in html.split('id="provenance"')[1]
    # The European Commission's method needs one year: the same products, flagged by it.
    ec = gather(atlas, "DEU", sectors=["permanent_magnets"], method="ec2021")
    expected = atlas.dependencies("DEU", sector="permanent_magnets", method="ec2021")
    assert len(expected) > 0
    assert sorted(ec.dependent["product"]) == sorted(expected["product"])
    assert "ec2021 criteria" in render_html(ec)
    with pytest.raises(InputError, match="custom"):
        gather(atlas, "DEU", method="custom")


def test_trend_sentence_says_how_many_dependent_products_moved() -> None:
    """The de-risking sentence shared by the report and the web, worded for each change."""
    from chokepoints.report.content import trend_sentence

    change = {"share_change": -0.016, "from_year": 2020, "to_year": 2022, "verdict": "stable"}
    assert trend_sentence("China (CHN)", "JPN", "imports", {**change, "dependent_change": 0}) == (
        "China (CHN)'s share of JPN's imports changed by -1.6 points from 2020 to 2022, "
        "and it tops as many dependent products as before: stable."
    )
    one_more = trend_sentence("China (CHN)", "JPN", "imports", {**change, "dependent_change": 1})
    assert one_more.endswith("and it tops 1 more dependent product: stable.")
    fewer = trend_sentence("China (CHN)", "JPN", "imports", {**change, "dependent_change": -3})
    assert fewer.endswith("and it tops 3 fewer dependent products: stable.")
