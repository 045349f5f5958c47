"""The sector taxonomy: built-in HS lists checked against BACI, user files, validation."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.products import read_baci_product_file
from chokepoints.reference.sectors import (
    BUILTIN,
    list_sectors,
    load_sector_file,
    sector_products,
    sector_table,
)

REVISIONS = ("HS92", "HS12", "HS17", "HS22")
BUILTIN_IDS = {
    "critical_minerals",
    "semiconductors",
    "batteries",
    "permanent_magnets",
    "solar_pv",
    "lng_energy",
    "pharmaceuticals_antimicrobials",
    "fertilizers",
    "machine_tools_robots",
    "aircraft_parts",
    "ship_equipment",
    "electric_vehicles",
    "eu_sensitive_ecosystems",
}
#: Codes that the HS reused for another product: listed in one revision of a sector, they
#: exist in another revision with a meaning that does not belong there.
REUSED_CODES = {
    ("electric_vehicles", "870390"),  # electric cars before HS2017, "other" cars after
    ("ship_equipment", "848510"),  # ships' propellers in HS92, 3D printers in HS22
    ("machine_tools_robots", "848510"),
}


def sector_text(sector_id: str, codes: str = 'HS17 = ["850511", "850519"]', extra: str = "") -> str:
    """A valid sector file with the given ``[codes]`` body and extra top-level lines."""
    return (
        f'id = "{sector_id}"\n'
        'name = "My sector"\n'
        'description = "A sector written by a user"\n'
        'sources = ["my own selection"]\n'
        f"{extra}"
        "[codes]\n"
        f"{codes}\n"
    )


def write(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``folder/name`` (creating the folder) and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@functools.cache
def baci_codes(folder: Path, classification: str) -> frozenset[str]:
    """The codes of BACI's V202401 product list of one revision."""
    path = folder / "baci" / "V202401_tradalyze" / f"product_codes_{classification}_V202401.csv"
    table = read_baci_product_file(path.name, path.read_text(encoding="utf-8"))
    return frozenset(table.column("product").to_pylist())


# --- built-in sectors ------------------------------------------------------------------------


def test_list_sectors_shows_every_builtin_sector_with_its_counts() -> None:
    sectors = list_sectors().set_index("id")
    assert set(sectors.index) == BUILTIN_IDS
    assert list(sectors.columns) == [
        "name", "description", "sources", "includes", "origin",
        "n_HS92", "n_HS12", "n_HS17", "n_HS22",
    ]  # fmt: skip
    assert set(sectors["origin"]) == {BUILTIN}
    assert (sectors["sources"].map(len) >= 2).all()
    counts = sectors[[f"n_{revision}" for revision in REVISIONS]]
    assert counts.notna().all().all()  # every built-in sector has all four revisions
    assert (counts >= 1).all().all()
    assert counts.loc["critical_minerals", "n_HS17"] >= 50
    assert counts.loc["permanent_magnets"].tolist() == [4, 4, 4, 4]
    for sector_id in BUILTIN_IDS:
        for revision in REVISIONS:
            listed = sector_products(sector_id, revision)
            assert counts.loc[sector_id, f"n_{revision}"] == len(listed)


@pytest.mark.parametrize(
    ("sector", "classification", "codes"),
    [
        (
            "critical_minerals",
            "HS17",
            {"283691", "282200", "810520", "250490", "284690", "280530", "811292", "260500",
             "282520", "261710", "811010", "280429", "711011", "252922", "810194"},
        ),
        ("critical_minerals", "HS92", {"283691", "810510", "811291", "811230", "811000"}),
        ("critical_minerals", "HS22", {"811292", "811231", "810610", "283691"}),
        ("semiconductors", "HS17", {"854231", "854232", "854239", "848620", "381800"}),
        ("semiconductors", "HS22", {"854231", "854151", "848620"}),
        ("semiconductors", "HS92", {"854211", "854219", "381800"}),
        ("batteries", "HS12", {"850760", "850790"}),
        ("batteries", "HS17", {"850760", "850790", "283691", "380110"}),
        ("batteries", "HS22", {"850760"}),
        ("batteries", "HS92", {"850780"}),
        ("permanent_magnets", "HS17", {"850511", "850519", "280530", "284690"}),
        ("solar_pv", "HS17", {"854140", "280461"}),
        ("solar_pv", "HS22", {"854142", "854143", "280461"}),
        ("lng_energy", "HS22", {"271111", "271121", "270900", "270112"}),
        ("pharmaceuticals_antimicrobials", "HS17", {"294110", "294190", "300420"}),
        ("fertilizers", "HS17", {"310210", "310420", "310530", "281410"}),
        ("machine_tools_robots", "HS17", {"845710", "845811", "847950", "846693"}),
        ("machine_tools_robots", "HS22", {"846223", "848510", "847950"}),
        ("aircraft_parts", "HS17", {"880330", "841191", "841112"}),
        ("aircraft_parts", "HS22", {"880730", "880720", "841191"}),
        ("ship_equipment", "HS17", {"840810", "848710"}),
        ("ship_equipment", "HS92", {"840810", "848510", "840611"}),
        ("electric_vehicles", "HS17", {"870380", "870360", "870370"}),
        ("electric_vehicles", "HS22", {"870380", "870460"}),
    ],
)  # fmt: skip
def test_builtin_sectors_hold_key_codes(sector: str, classification: str, codes: set[str]) -> None:
    assert codes <= set(sector_products(sector, classification))


@pytest.mark.parametrize(
    ("sector", "classification", "absent"),
    [
        ("critical_minerals", "HS92", {"811292", "810520", "252800"}),  # later codes
        ("critical_minerals", "HS17", {"811231", "810610", "811291"}),  # HS22 and HS92 codes
        ("semiconductors", "HS92", {"854231", "848620", "903082"}),  # no such codes in HS92
        ("semiconductors", "HS22", {"854150", "854140"}),
        ("batteries", "HS92", {"850760", "850750"}),
        ("solar_pv", "HS22", {"854140", "854141"}),  # LEDs are not solar
        ("aircraft_parts", "HS22", {"880330", "880320"}),
        ("electric_vehicles", "HS17", {"870390", "870340", "870350"}),  # no non-plug-in hybrids
        ("lng_energy", "HS17", {"271000"}),  # BACI's merged refined products: too broad
        ("machine_tools_robots", "HS92", {"847950"}),  # robots have a code since HS1996
    ],
)
def test_builtin_sectors_use_the_codes_of_each_revision(
    sector: str, classification: str, absent: set[str]
) -> None:
    assert not absent & set(sector_products(sector, classification))


def test_every_builtin_code_has_a_description() -> None:
    for revision in REVISIONS:
        table = sector_table(revision)
        assert table["description"].notna().all(), revision
        assert (table["description"].str.len() >= 4).all(), revision


@pytest.mark.shared_data
@pytest.mark.parametrize("classification", REVISIONS)
@pytest.mark.parametrize("sector", sorted(BUILTIN_IDS))
def test_every_builtin_code_exists_in_its_revision(
    shared_data: Path, sector: str, classification: str
) -> None:
    known = baci_codes(shared_data, classification)
    assert set(sector_products(sector, classification)) - known == set()


@pytest.mark.shared_data
@pytest.mark.parametrize("sector", sorted(BUILTIN_IDS))
def test_a_code_kept_by_the_hs_is_listed_in_every_revision(shared_data: Path, sector: str) -> None:
    # A code listed for one revision that still exists in another must be listed there too,
    # unless the HS reused it for another product.
    lists = {revision: set(sector_products(sector, revision)) for revision in REVISIONS}
    for revision, codes in lists.items():
        for other in REVISIONS:
            missing = codes & baci_codes(shared_data, other) - lists[other]
            assert {(sector, code) for code in missing} <= REUSED_CODES, (revision, other)


@pytest.mark.parametrize("classification", REVISIONS)
def test_eu_proxy_is_the_union_of_its_sectors_plus_additions(classification: str) -> None:
    sectors = list_sectors().set_index("id")
    includes = sectors.loc["eu_sensitive_ecosystems", "includes"]
    assert set(includes) == {
        "critical_minerals", "fertilizers", "pharmaceuticals_antimicrobials", "solar_pv",
        "batteries", "permanent_magnets", "semiconductors", "aircraft_parts",
    }  # fmt: skip
    proxy = set(sector_products("eu_sensitive_ecosystems", classification))
    union = set().union(*(sector_products(name, classification) for name in includes))
    additions = proxy - union
    assert union <= proxy
    assert 15 <= len(additions) <= 30
    assert {"880240", "853400", "841861"} <= additions  # aircraft, printed circuits, heat pumps
    assert not proxy & set(sector_products("lng_energy", classification)) - union
    table = sector_table(classification)
    described = table[table["sector"] == "eu_sensitive_ecosystems"].set_index("product")
    assert described.loc[sorted(additions), "description"].str.contains("addition: ").all()


def test_eu_proxy_says_it_is_a_proxy() -> None:
    row = list_sectors().set_index("id").loc["eu_sensitive_ecosystems"]
    assert "(proxy)" in row["name"]
    assert row["description"].startswith("PROXY")
    assert "not the Commission's own product list" in row["description"]
    assert any("not published" in source for source in row["sources"])


def test_sector_table_keeps_one_row_per_product_and_sector() -> None:
    table = sector_table("HS17")
    assert list(table.columns) == ["product", "sector", "description"]
    assert not table.duplicated(["product", "sector"]).any()
    assert table.equals(table.sort_values(["product", "sector"], ignore_index=True))
    polysilicon = table[table["product"] == "280461"]
    assert set(polysilicon["sector"]) == {"semiconductors", "solar_pv", "eu_sensitive_ecosystems"}
    lithium = set(table.loc[table["product"] == "283691", "sector"])
    assert lithium == {"critical_minerals", "batteries", "eu_sensitive_ecosystems"}
    assert table["product"].nunique() < len(table)


def test_sector_table_is_empty_for_a_revision_without_lists() -> None:
    table = sector_table("HS07")
    assert table.empty
    assert list(table.columns) == ["product", "sector", "description"]


def test_sector_products_is_sorted_and_forgiving_about_case() -> None:
    codes = sector_products(" Permanent_Magnets ", "hs17")
    assert codes == ["280530", "284690", "850511", "850519"]


def test_unknown_sector_lists_the_known_ones() -> None:
    with pytest.raises(UnknownCodeError, match="unknown sector 'chips'") as caught:
        sector_products("chips", "HS17")
    assert "known sectors: aircraft_parts, batteries, critical_minerals" in str(caught.value)


def test_missing_revision_names_the_revisions_the_sector_has() -> None:
    with pytest.raises(InputError, match="sector batteries has no HS07 list") as caught:
        sector_products("batteries", "HS07")
    assert "it has lists for HS92, HS12, HS17, HS22" in str(caught.value)


# --- user files ------------------------------------------------------------------------------


def test_user_file_adds_a_sector(tmp_path: Path) -> None:
    folder = tmp_path / "sectors"
    path = write(folder, "rare_earth_magnets.toml", sector_text("rare_earth_magnets"))
    assert sector_products("rare_earth_magnets", "HS17", extra_dirs=[folder]) == [
        "850511",
        "850519",
    ]
    sectors = list_sectors([folder]).set_index("id")
    assert sectors.loc["rare_earth_magnets", "origin"] == str(path)
    assert sectors.loc["rare_earth_magnets", "n_HS17"] == 2
    assert sectors.loc["rare_earth_magnets", ["n_HS92", "n_HS12", "n_HS22"]].isna().all()
    table = sector_table("HS17", extra_dirs=[folder])
    rows = table[table["sector"] == "rare_earth_magnets"]
    assert rows["description"].isna().all()  # the user file has no descriptions
    assert "rare_earth_magnets" not in set(sector_table("HS17")["sector"])
    with pytest.raises(UnknownCodeError):
        sector_products("rare_earth_magnets", "HS17")  # not without the folder


def test_user_file_replaces_a_builtin_sector_and_composites_follow(tmp_path: Path) -> None:
    folder = tmp_path / "sectors"
    text = sector_text(
        "semiconductors",
        'HS17 = ["854231"]\nHS22 = ["854231", "854232"]',
        extra="includes = []\n",
    )
    write(folder, "semiconductors.toml", text + '[descriptions]\n"854231" = "CPUs only"\n')
    assert sector_products("semiconductors", "HS17", extra_dirs=[folder]) == ["854231"]
    assert "854239" in sector_products("semiconductors", "HS17")  # built-in untouched
    proxy = sector_products("eu_sensitive_ecosystems", "HS17", extra_dirs=[folder])
    assert "854231" in proxy
    assert "848620" not in proxy  # the user's semiconductors replaced the built-in one
    assert "280461" in proxy  # still there through solar_pv
    # The user's file has no HS92 list, so neither has the proxy, and the error says why.
    with pytest.raises(InputError) as caught:
        sector_products("eu_sensitive_ecosystems", "HS92", extra_dirs=[folder])
    message = str(caught.value)
    assert "eu_sensitive_ecosystems has no HS92 list: it includes semiconductors" in message
    assert "it has lists for HS17, HS22" in message
    table = sector_table("HS17", extra_dirs=[folder])
    row = table[(table["sector"] == "semiconductors")]
    assert row[["product", "description"]].values.tolist() == [["854231", "CPUs only"]]


def test_later_folders_replace_earlier_ones(tmp_path: Path) -> None:
    write(tmp_path / "a", "mine.toml", sector_text("mine", 'HS17 = ["850511"]'))
    write(tmp_path / "b", "mine.toml", sector_text("mine", 'HS17 = ["850519"]'))
    folders = [tmp_path / "a", tmp_path / "b"]
    assert sector_products("mine", "HS17", extra_dirs=folders) == ["850519"]


def test_missing_folder_is_skipped_and_a_file_is_refused(tmp_path: Path) -> None:
    assert len(list_sectors([tmp_path / "absent"])) == len(BUILTIN_IDS)
    file = write(tmp_path, "sectors", "not a folder")
    with pytest.raises(InputError, match="not a folder of sector files"):
        list_sectors([file])


def test_user_composite_sector(tmp_path: Path) -> None:
    folder = tmp_path / "sectors"
    text = sector_text(
        "japan_critical",
        "HS17 = []\nHS22 = []",
        extra='includes = ["batteries", "permanent_magnets"]\n',
    )
    write(folder, "japan_critical.toml", text)
    codes = sector_products("japan_critical", "HS22", extra_dirs=[folder])
    expected = set(sector_products("batteries", "HS22")) | set(
        sector_products("permanent_magnets", "HS22")
    )
    assert codes == sorted(expected)


def test_load_sector_file_returns_the_sector_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mine.toml",
        sector_text("mine", 'HS12 = ["850760"]\nHS17 = ["850760", "850790"]')
        + '[descriptions]\n"850760" = "Lithium-ion cells"\n',
    )
    sector = load_sector_file(path)
    assert sector.id == "mine"
    assert sector.codes == {"HS12": ("850760",), "HS17": ("850760", "850790")}
    assert sector.descriptions == {"850760": "Lithium-ion cells"}
    assert sector.sources == ("my own selection",)
    assert sector.includes == ()
    assert sector.origin == str(path)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (sector_text("mine", 'HS17 = ["850511", "85051"]'), "line 6", "'85051' is not a 6-digit"),
        (sector_text("mine", "HS17 = [850511]"), "line 6", "850511 is not a 6-digit HS code"),
        (
            sector_text("mine", 'HS17 = [\n  "850511",\n  "850519",\n  "850511",\n]'),
            "line 9",
            "code 850511 is listed twice (field codes.HS17)",
        ),
        (
            sector_text("mine", 'HS17 = ["850511"]\nHS18 = ["850511"]'),
            "line 7",
            "unknown HS revision 'HS18' (field codes.HS18); use one of HS92, HS96",
        ),
        (sector_text("mine", "HS17 = []"), "line 6", "non-empty list"),
        (sector_text("theirs"), "line 1", "id 'theirs' does not match the file name mine.toml"),
        (sector_text("mine").replace("[codes]", "[codes"), "line 5", "not valid TOML"),
        (sector_text("mine") + 'HS22 = ["850511"', "line 7", "not valid TOML"),
        (sector_text("mine").replace('sources = ["my own selection"]\n', ""), "", "sources"),
        (sector_text("mine", extra='colour = "red"\n'), "line 5", "unknown key(s) colour"),
        (
            sector_text("mine") + '[descriptions]\n"850760" = "Lithium-ion"\n',
            "line 8",
            "description for '850760', which no [codes] list has",
        ),
        (sector_text("mine", extra="includes = ['mine']\n"), "line 5", "includes the sector"),
        (sector_text("mine").replace('name = "My sector"', "name = 3"), "line 2", "name must be"),
    ],
)
def test_invalid_files_are_refused_naming_file_line_and_key(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    path = write(tmp_path, "mine.toml", text)
    with pytest.raises(InputError) as caught:
        load_sector_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, {where}:" if where else f"{path}: ")
    assert what in message


def test_unknown_include_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "mine.toml", sector_text("mine", extra='includes = ["batteries", "chipz"]\n')
    )
    with pytest.raises(UnknownCodeError) as caught:
        list_sectors([tmp_path])
    message = str(caught.value)
    assert message.startswith(f"{path}: sector mine includes unknown sector 'chipz'")
    assert "known sectors: aircraft_parts" in message


def test_include_cycle_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "one.toml", sector_text("one", extra='includes = ["two"]\n'))
    write(tmp_path, "two.toml", sector_text("two", extra='includes = ["one"]\n'))
    with pytest.raises(InputError, match=r"in a cycle: one -> two -> one"):
        sector_products("one", "HS17", extra_dirs=[tmp_path])


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_bytes(b'id = "mine"\n\xff\xfe')
    with pytest.raises(InputError, match="cannot read the sector file"):
        load_sector_file(path)
    with pytest.raises(InputError, match="cannot read the sector file"):
        load_sector_file(tmp_path / "absent.toml")
