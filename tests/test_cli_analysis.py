"""deps, product and trend from the command line, on the demo world."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import assert_one_sentence_error, run
from kept import answers_kept

JSON_FIELDS = {
    "year",
    "importer",
    "product",
    "description",
    "sector",
    "import_value_usd",
    "n_suppliers",
    "hhi",
    "top_supplier",
    "top_supplier_share",
    "world_export_hhi",
    "import_export_ratio",
    "dependent",
    "method",
}


def test_deps_json_fields_and_flags(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "deps",
        "JPN",
        "--sector",
        "critical_minerals",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    records = json.loads(out)
    assert records and set(records[0]) >= JSON_FIELDS
    assert all(r["dependent"] and r["importer"] == "JPN" and r["year"] == 2022 for r in records)
    assert all("critical_minerals" in r["sector"] for r in records)
    # Every listed product meets the GeoDep criteria in the year shown (2 of 3 years overall).
    assert all(r["years_met"] >= 2 for r in records)
    assert "demo data (synthetic)" in err
    # Rare-earth compounds: the demo world makes China dominant.
    by_product = {r["product"]: r for r in records}
    assert by_product["284690"]["top_supplier"] == "CHN"


def test_deps_all_lists_non_dependent_too(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    code, out, _ = run(capsys, "deps", "DEU", "--all", "--format", "json", "--home", str(demo_home))
    records = json.loads(out)
    assert code == 0 and {True, False} <= {r["dependent"] for r in records}
    values = [r["import_value_usd"] for r in records if r["dependent"]]
    assert values == sorted(values, reverse=True)


def test_deps_group_and_methods(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys, "deps", "EU27", "--method", "ec2021", "--format", "json", "--home", str(demo_home)
    )
    assert code == 0, err
    records = json.loads(out)
    assert records and {r["importer"] for r in records} == {"EU27"}
    assert all(r["extra_share"] > 0.5 and r["hhi"] > 0.4 for r in records)
    code, out, err = run(
        capsys,
        "deps",
        "JPN",
        "--method",
        "custom",
        "--rule",
        "hhi>0.8",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    assert all(r["hhi"] > 0.8 for r in json.loads(out))


def test_deps_exports_side(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "deps",
        "DEU",
        "--side",
        "exports",
        "--all",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    records = json.loads(out)
    assert {"exporter", "market_hhi", "top_market", "share_of_exports"} <= set(records[0])
    assert all(r["dependent"] == (r["market_hhi"] > 0.4) for r in records)


def test_deps_parquet_and_csv_outputs(
    capsys: pytest.CaptureFixture[str], demo_home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "deps.parquet"
    code, _, err = run(
        capsys,
        "deps",
        "JPN",
        "--format",
        "parquet",
        "--output",
        str(target),
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    table = pq.read_table(target)
    provenance = json.loads(table.schema.metadata[b"chokepoints.provenance"])
    assert provenance["demo"] is True and provenance["method"]["name"] == "geodep"
    code, out, _ = run(capsys, "deps", "JPN", "--format", "csv", "--home", str(demo_home))
    assert out.splitlines()[0].startswith("year,importer,product,description")
    assert len(out.splitlines()) == table.num_rows + 1


def test_deps_table_and_errors(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, _ = run(capsys, "deps", "DEU", "--limit", "3", "--home", str(demo_home))
    assert code == 0 and "geodep" in out and "demo data (synthetic)" in out
    code, _, err = run(capsys, "deps", "XYZ", "--home", str(demo_home))
    assert_one_sentence_error(code, err)
    code, _, err = run(capsys, "deps", "JPN", "--year", "1999", "--home", str(demo_home))
    assert_one_sentence_error(code, err)
    assert "latest ingested year: 2022" in err
    code, _, err = run(capsys, "deps", "JPN", "--sector", "nonsense", "--home", str(demo_home))
    assert_one_sentence_error(code, err)
    code, _, err = run(
        capsys, "deps", "JPN", "--method", "custom", "--rule", "nope>1", "--home", str(demo_home)
    )
    assert_one_sentence_error(code, err)


def test_product_and_trend(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(capsys, "product", "850511", "--format", "json", "--home", str(demo_home))
    assert code == 0, err
    picture = json.loads(out)
    assert picture["exporters"][0]["exporter"] == "CHN"
    assert picture["summary"][0]["world_export_hhi"] > 0.4
    code, out, _ = run(capsys, "product", "850511", "--home", str(demo_home))
    assert code == 0 and "Top exporters" in out
    code, out, err = run(
        capsys,
        "trend",
        "JPN",
        "--supplier",
        "CHN",
        "--sector",
        "critical_minerals",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    years = json.loads(out)
    assert [y["year"] for y in years] == [2020, 2021, 2022]
    assert all(0 <= y["supplier_share"] <= 1 for y in years)
    code, out, _ = run(
        capsys,
        "trend",
        "DEU",
        "--supplier",
        "RUS",
        "--sector",
        "lng_energy",
        "--home",
        str(demo_home),
    )
    # The demo world cuts Russian gas to Germany in 2022.
    assert code == 0 and "de-risking" in out


def test_risk_needs_governance_then_ranks(
    capsys: pytest.CaptureFixture[str], demo_home: Path, shared_data: Path, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "risk", "JPN", "--home", str(demo_home))
    assert_one_sentence_error(code, err)
    assert "data ingest wgi" in err
    home = tmp_path / "home"
    shutil.copytree(demo_home, home)  # the demo store, to add governance to
    code, out, err = run(
        capsys,
        "data",
        "ingest",
        "wgi",
        str(shared_data / "wgi/wgidataset.xlsx"),
        "--home",
        str(home),
    )
    assert code == 0 and "32,100 governance rows" in out, err
    code, out, err = run(capsys, "risk", "JPN", "--format", "json", "--home", str(home))
    assert code == 0, err
    plain = {r["product"]: r for r in json.loads(out)}
    risks = [r["supply_risk"] for r in plain.values()]
    assert risks == sorted(risks, reverse=True)
    assert {r["basis"] for r in plain.values()} == {"trade_shares"}
    # An export restriction on China (factor 2) raises the weight of Chinese supply only.
    restrictions = tmp_path / "restrictions.csv"
    restrictions.write_text("country,product,factor\nCHN,,2\n")
    code, out, err = run(
        capsys,
        "risk",
        "JPN",
        "--restrictions",
        str(restrictions),
        "--format",
        "json",
        "--home",
        str(home),
    )
    assert code == 0, err
    restricted = {r["product"]: r for r in json.loads(out)}
    assert restricted["850511"]["hhi_wgi_importer"] > plain["850511"]["hhi_wgi_importer"]
    assert all(
        restricted[p]["hhi_wgi_importer"] >= plain[p]["hhi_wgi_importer"] - 1e-12 for p in plain
    )
    # The governance-weighted batch: today's mix is always within the bounds (no exclusion,
    # no cap), so the optimum's HHI_WGI can only be lower; the plain batch could not run this.
    code, _, err = run(
        capsys, "diversify", "JPN", "--objective", "hhi_wgi", "--home", str(demo_home)
    )
    assert_one_sentence_error(code, err)
    assert "data ingest wgi" in err
    code, out, err = run(
        capsys,
        "diversify",
        "JPN",
        "--objective",
        "hhi_wgi",
        "--format",
        "json",
        "--home",
        str(home),
    )
    assert code == 0, err
    batch = json.loads(out)
    assert batch and all(r["feasible"] for r in batch)
    assert all(r["hhi_wgi_after"] <= r["hhi_wgi_before"] + 1e-12 for r in batch)
    assert any(r["hhi_wgi_after"] < r["hhi_wgi_before"] - 1e-3 for r in batch)


def test_deps_share_from(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "deps",
        "JPN",
        "--all",
        "--share-from",
        "CHN,G7",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    records = json.loads(out)
    assert all(0 <= r["share_chn"] <= r["top_supplier_share"] + 1e-12 for r in records)
    assert all(
        r["share_chn"] == pytest.approx(r["top_supplier_share"])
        for r in records
        if r["top_supplier"] == "CHN"
    )
    assert all(0 <= r["share_g7"] <= 1 for r in records)


def test_stress_from_cli(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "stress",
        "--importer",
        "JPN",
        "--top",
        "2",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    records = json.loads(out)
    assert records and {r["importer"] for r in records} == {"JPN"}
    assert {r["rank"] for r in records} <= {1, 2}
    assert "eu_sensitive_ecosystems" not in {r["sector"] for r in records}
    shortfalls = [r["shortfall_value_usd"] for r in records]
    assert shortfalls == sorted(shortfalls, reverse=True)
    for r in records:
        assert r["lost_value_usd"] == pytest.approx(
            r["redirectable_value_usd"] + r["shortfall_value_usd"]
        )
    # In the demo world China is Japan's worst single point of failure for magnets.
    magnets = [r for r in records if r["sector"] == "permanent_magnets"]
    assert magnets[0]["supplier"] == "CHN" and magnets[0]["lost_share"] > 0.5


def test_shock_matches_stress_and_json_fields(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    code, out, err = run(
        capsys,
        "shock",
        "--supplier",
        "CHN",
        "--sector",
        "critical_minerals",
        "--importer",
        "JPN,DEU",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    records = json.loads(out)
    fields = {
        "importer",
        "product",
        "sector",
        "lost_value_usd",
        "lost_quantity_t",
        "lost_share",
        "redirectable_value_usd",
        "shortfall_value_usd",
    }
    assert records and set(records[0]) >= fields
    assert {r["importer"] for r in records} == {"JPN", "DEU"}
    for r in records:
        assert r["lost_value_usd"] + r["kept_value_usd"] == pytest.approx(r["import_value_usd"])
        assert r["redirectable_value_usd"] + r["shortfall_value_usd"] == pytest.approx(
            r["lost_value_usd"]
        )
    # A row of the stress test is one importer's part of a world-wide cut-off: the same
    # totals as the shock cutting every importer.
    code, out, _ = run(
        capsys,
        "shock",
        "--supplier",
        "CHN",
        "--sector",
        "critical_minerals",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    world = json.loads(out)
    code, out, _ = run(
        capsys,
        "stress",
        "--importer",
        "JPN",
        "--sector",
        "critical_minerals",
        "--top",
        "500",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    stress = {r["supplier"]: r for r in json.loads(out)}["CHN"]
    japan = [r for r in world if r["importer"] == "JPN"]
    assert stress["lost_value_usd"] == pytest.approx(sum(r["lost_value_usd"] for r in japan))
    assert stress["shortfall_value_usd"] == pytest.approx(
        sum(r["shortfall_value_usd"] for r in japan)
    )


def test_shock_by_sector_and_country(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    base = [
        "shock",
        "--supplier",
        "CHN",
        "--sector",
        "batteries",
        "--importer",
        "JPN",
        "--format",
        "json",
        "--home",
        str(demo_home),
    ]
    products = json.loads(run(capsys, *base)[1])
    countries = json.loads(run(capsys, *base, "--by", "country")[1])
    japan = next(r for r in countries if r["importer"] == "JPN")
    mine = [r for r in products if r["importer"] == "JPN"]
    assert japan["lost_value_usd"] == pytest.approx(sum(r["lost_value_usd"] for r in mine))
    assert japan["shortfall_value_usd"] == pytest.approx(
        sum(r["shortfall_value_usd"] for r in mine)
    )
    sectors = json.loads(run(capsys, *base, "--by", "sector")[1])
    assert "batteries" in {r["sector"] for r in sectors if r["importer"] == "JPN"}


def test_shock_presets(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, _ = run(capsys, "shock", "--list", "--format", "json", "--home", str(demo_home))
    names = {p["preset"] for p in json.loads(out)}
    assert {"china-gallium-germanium-2023", "russia-gas-2022"} <= names
    code, out, err = run(
        capsys, "shock", "--preset", "russia-gas-2022", "--format", "json", "--home", str(demo_home)
    )
    assert code == 0, err
    records = json.loads(out)
    assert records and all(r["product"] == "271121" for r in records)
    code, _, err = run(capsys, "shock", "--preset", "nope", "--home", str(demo_home))
    assert_one_sentence_error(code, err)
    code, _, err = run(capsys, "shock", "--home", str(demo_home))
    assert_one_sentence_error(code, err)


def test_exposure_from_icio(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from test_icio import COUNTRIES, SECTORS, mock_table, write_table

    path = write_table(tmp_path)
    country, supplier = COUNTRIES[0], COUNTRIES[1]
    code, out, err = run(
        capsys,
        "exposure",
        country,
        "--supplier",
        supplier,
        "--via",
        "icio",
        "--icio",
        str(path),
        "--format",
        "json",
        "--home",
        str(tmp_path / "home"),
    )
    assert code == 0, err
    rows = {r["sector"]: r for r in json.loads(out)}
    assert set(rows) == set(SECTORS) and {r["region"] for r in rows.values()} == {country}
    # Face-value reliance by hand: the supplier's rows over all rows of the buyer's column.
    table = mock_table()
    labels = [f"{c}_{s}" for c in COUNTRIES for s in SECTORS]
    z = table.loc[labels, labels]
    for sector in SECTORS:
        column = z[f"{country}_{sector}"]
        expected = column[[f"{supplier}_{s}" for s in SECTORS]].sum() / column.sum()
        assert rows[sector]["face_value_reliance"] == pytest.approx(expected)
        assert rows[sector]["look_through_reliance"] >= 0
        assert 0 < rows[sector]["loss"] <= rows[sector]["output"]
    code, _, err = run(
        capsys,
        "exposure",
        country,
        "--supplier",
        supplier,
        "--via",
        "icio",
        "--home",
        str(tmp_path / "empty"),
    )
    assert_one_sentence_error(code, err)
    assert "data fetch icio" in err


def test_shock_downstream(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "shock",
        "--supplier",
        "CHN",
        "--product",
        "284690",
        "--downstream",
        "--importer",
        "JPN,DEU",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    records = json.loads(out)
    assert {r["country"] for r in records} <= {"JPN", "DEU"}
    magnets = [r for r in records if r["product"] == "850511"]
    # Rare-earth compounds -> rare-earth metals -> magnets: two steps down the chain.
    assert magnets and all(r["depth"] == 2 and "284690" in r["path"] for r in magnets)
    assert all(0 <= r["input_supplier_share"] <= 1 for r in records)


def test_exposure_from_trade(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys, "exposure", "JPN", "--supplier", "CHN", "--format", "json", "--home", str(demo_home)
    )
    assert code == 0, err
    rows = {r["sector"]: r for r in json.loads(out)}
    assert "permanent_magnets" in rows
    for row in rows.values():
        assert row["supplier_share"] == pytest.approx(row["from_supplier_usd"] / row["imports_usd"])
        assert 0 <= row["n_products_top_supplier"] <= row["n_products"]
    # Cross-check one sector with deps: the same imports from China, product by product.
    code, out, _ = run(
        capsys,
        "deps",
        "JPN",
        "--all",
        "--sector",
        "permanent_magnets",
        "--share-from",
        "CHN",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    deps = json.loads(out)
    from_china = sum(r["import_value_usd"] * r["share_chn"] for r in deps)
    assert rows["permanent_magnets"]["from_supplier_usd"] == pytest.approx(from_china)


def test_diversify_from_cli(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "diversify",
        "DEU",
        "850511",
        "--max-share",
        "0.4",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    payload = json.loads(out)
    result = payload["provenance"]["result"]
    assert result["feasible"] and result["hhi_after"] < result["hhi_before"]
    mix = payload["mix"]
    assert sum(r["new_share"] for r in mix) == pytest.approx(1.0)
    assert max(r["new_share"] for r in mix) <= 0.4 + 1e-9
    assert sum(r["new_usd"] for r in mix) == pytest.approx(sum(r["current_usd"] for r in mix))
    assert "DEU" not in {r["exporter"] for r in payload["alternatives"]}
    # Without China the remaining capacity cannot replace Japan's magnet imports: explained.
    code, out, err = run(
        capsys,
        "diversify",
        "JPN",
        "850511",
        "--exclude",
        "CHN",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    outcome = json.loads(out)["provenance"]["result"]
    assert not outcome["feasible"] and "excluding CHN" in outcome["explanation"]


def test_compare_from_cli(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "compare",
        "JPN",
        "DEU",
        "--sector",
        "critical_minerals",
        "--exclude",
        "CHN,RUS",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload) >= {"shared", "complementarity", "best_practice", "joint"}
    shared = payload["shared"]
    assert shared and {r["partner"] for r in shared} == {"JPN", "DEU"}
    assert all(r["hhi"] > 0.4 and r["supplier_share"] > 0.5 for r in shared)
    best = [r for r in payload["best_practice"] if r["is_best"]]
    assert all(r["hhi"] == pytest.approx(r["best_hhi"]) for r in best)
    # The sector roll-up counts the products of the per-product tables listed above.
    (row,) = payload["by_sector"]
    assert row["sector"] == "critical_minerals"
    assert row["shared_products"] == len({r["product"] for r in shared})
    assert row["shared_imports_usd"] == pytest.approx(sum(r["imports_usd"] for r in shared))
    assert row["compared_products"] == len({r["product"] for r in payload["best_practice"]})
    covered = {r["product"] for r in payload["joint"] if r["covered"]}
    assert row["jointly_covered_products"] == len(covered)
    code, _, err = run(capsys, "compare", "JPN", "--home", str(demo_home))
    assert_one_sentence_error(code, err)


def test_diversify_exports_side(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "diversify",
        "DEU",
        "850511",
        "--side",
        "exports",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    records = json.loads(out)
    assert records and "DEU" not in {r["importer"] for r in records}
    values = [r["import_value_usd"] for r in records]
    assert values == sorted(values, reverse=True)
    assert [r["rank"] for r in records] == list(range(1, len(records) + 1))
    assert all(0 <= r["exporter_share"] <= 1 for r in records)


def test_diversify_batch(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "diversify",
        "JPN",
        "--sector",
        "critical_minerals",
        "--exclude",
        "CHN",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    records = json.loads(out)
    assert records and all(r["hhi_before"] > 0.4 for r in records)
    for r in records:
        if r["feasible"]:
            assert 0 < r["hhi_after"] <= 1
        else:
            assert r["explanation"]
    # The batch gives the same optimum as the single-product command.
    one = next(r for r in records if r["feasible"])
    code, out, _ = run(
        capsys,
        "diversify",
        "JPN",
        one["product"],
        "--exclude",
        "CHN",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    single = json.loads(out)["provenance"]["result"]
    assert single["hhi_after"] == pytest.approx(one["hhi_after"])


def test_compare_reads_a_comma_list_and_names_sectors(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    """``compare JPN,DEU`` is ``compare JPN DEU``; tables name sectors as their files do
    (``Storage batteries``), files keep the ids. The answer is computed once: the test is
    about how the command reads its arguments and names sectors."""
    with answers_kept():
        code, out, err = run(capsys, "compare", "JPN,DEU", "--home", str(demo_home))
        assert code == 0, err
        spaced = " ".join(out.split())
        assert "Storage batteries" in spaced and "Critical minerals" in spaced
        assert "critical_minerals" not in out
        code, out, err = run(
            capsys, "compare", "JPN", "DEU", "--format", "json", "--home", str(demo_home)
        )
        assert code == 0, err
    sectors = {row["sector"] for row in json.loads(out)["by_sector"]}
    assert {"batteries", "critical_minerals"} <= sectors


def test_titles_name_the_sector(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    """Titles name a sector as its file does (``Permanent magnets``), never by its id."""
    code, out, err = run(
        capsys, "deps", "JPN", "--sector", "permanent_magnets", "--home", str(demo_home)
    )
    assert code == 0, err
    assert "in Permanent magnets" in " ".join(out.split())
    assert "permanent_magnets" not in out
