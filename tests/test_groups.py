"""Country groups: built-in memberships checked against known lists, user files, expansion.

The expected memberships are written out here from the groups' own published member lists, not
read from the code, so a change in country_converter's table or in groups.toml shows up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chokepoints.errors import InputError, UnknownCodeError
from chokepoints.reference.countries import coco_table, known_iso3
from chokepoints.reference.groups import (
    expand_countries,
    group_members,
    list_groups,
    load_user_groups,
)

EU27 = {
    "AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN",
    "IRL", "ITA", "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP",
    "SWE",
}  # fmt: skip
G7 = {"CAN", "FRA", "DEU", "ITA", "JPN", "GBR", "USA"}
G20 = {
    "ARG", "AUS", "BRA", "CAN", "CHN", "FRA", "DEU", "IND", "IDN", "ITA", "JPN", "KOR", "MEX",
    "RUS", "SAU", "ZAF", "TUR", "GBR", "USA",
}  # fmt: skip
OECD = {
    "AUS", "AUT", "BEL", "CAN", "CHL", "COL", "CRI", "CZE", "DNK", "EST", "FIN", "FRA", "DEU",
    "GRC", "HUN", "ISL", "IRL", "ISR", "ITA", "JPN", "KOR", "LVA", "LTU", "LUX", "MEX", "NLD",
    "NZL", "NOR", "POL", "PRT", "SVK", "SVN", "ESP", "SWE", "CHE", "TUR", "GBR", "USA",
}  # fmt: skip
ASEAN = {"BRN", "KHM", "IDN", "LAO", "MYS", "MMR", "PHL", "SGP", "THA", "TLS", "VNM"}
QUAD = {"AUS", "IND", "JPN", "USA"}
#: The United States and the partners of 15 CFR part 746, supplement no. 3.
LIKE_MINDED = EU27 | {
    "USA", "AUS", "CAN", "CHE", "GBR", "ISL", "JPN", "KOR", "LIE", "NOR", "NZL", "TWN",
}  # fmt: skip


def test_expected_lists_have_the_published_sizes() -> None:
    assert (len(EU27), len(G7), len(G20), len(OECD), len(ASEAN), len(LIKE_MINDED)) == (
        27,
        7,
        19,
        38,
        11,
        39,
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("EU27", EU27),
        ("G7", G7),
        ("G20", G20),
        ("OECD", OECD),
        ("ASEAN", ASEAN),
        ("Quad", QUAD),
        ("like_minded", LIKE_MINDED),
    ],
)
def test_builtin_group_memberships(name: str, expected: set[str]) -> None:
    assert group_members(name) == expected


def test_eu27_excludes_the_united_kingdom() -> None:
    assert "GBR" not in group_members("EU27")


def test_g20_lists_countries_only_and_agrees_with_country_converter() -> None:
    members = group_members("G20")
    table = coco_table()
    coco_g20 = set(table.loc[table["G20"] != "", "ISO3"])
    assert members <= coco_g20  # coco also marks every EU member, for the EU's seat
    assert "EU" not in members
    assert "NLD" not in members  # an EU member state that is not itself in the G20


def test_every_builtin_member_is_a_known_country_code() -> None:
    for name in list_groups():
        assert group_members(name) <= known_iso3(), name


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("eu", "EU27"), ("EU", "EU27"), ("eu27", "EU27"), ("g7", "G7"), ("QUAD", "Quad")],
)
def test_group_names_are_case_insensitive(alias: str, canonical: str) -> None:
    assert group_members(alias) == group_members(canonical)


def test_like_minded_accepts_hyphen_alias() -> None:
    assert group_members("Like-Minded") == LIKE_MINDED


def test_list_groups_describes_every_builtin_group() -> None:
    groups = list_groups()
    assert list(groups) == ["EU27", "G7", "G20", "OECD", "ASEAN", "Quad", "like_minded"]
    assert all(description.strip() for description in groups.values())
    assert "African Union" in groups["G20"]


def test_unknown_group_lists_the_available_ones() -> None:
    with pytest.raises(UnknownCodeError) as info:
        group_members("NATO")
    message = str(info.value)
    assert "'NATO'" in message
    for name in ("EU27", "G7", "G20", "OECD", "ASEAN", "Quad", "like_minded"):
        assert name in message


def write(tmp_path: Path, text: str, name: str = "groups.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


CHIPS = """\
[groups.chips_alliance]
description = "Chip 4 plus the Netherlands"
members = ["USA", "JPN", "KOR", "S19", "NL"]

[groups.Nordics]
members = ["DNK", "FIN", "ISL", "NOR", "SWE"]
"""


def test_load_user_groups_maps_codes_to_iso3(tmp_path: Path) -> None:
    groups = load_user_groups(write(tmp_path, CHIPS))
    assert groups == {
        "chips_alliance": frozenset({"USA", "JPN", "KOR", "TWN", "NLD"}),
        "Nordics": frozenset({"DNK", "FIN", "ISL", "NOR", "SWE"}),
    }


def test_user_groups_are_listed_and_looked_up(tmp_path: Path) -> None:
    path = write(tmp_path, CHIPS)
    groups = list_groups(path)
    assert groups["chips_alliance"] == "Chip 4 plus the Netherlands"
    assert "groups.toml" in groups["Nordics"]  # default description names the file
    assert "EU27" in groups
    assert group_members("CHIPS_ALLIANCE", user_file=path) == {"USA", "JPN", "KOR", "TWN", "NLD"}


def test_unknown_user_group_is_listed_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(UnknownCodeError, match="chips_alliance"):
        group_members("chips", user_file=write(tmp_path, CHIPS))


def test_unknown_member_names_file_group_member_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[groups.ok]\nmembers = ["USA"]\n\n[groups.minerals]\nmembers = [\n  "AUS",\n  "XYZ",\n]\n',
    )
    with pytest.raises(InputError) as info:
        load_user_groups(path)
    error = info.value
    assert error.file == str(path)
    assert error.line == 7
    assert "'minerals'" in str(error)
    assert "'XYZ'" in str(error)


def test_non_text_member_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[groups.odd]\nmembers = [true]\n")
    with pytest.raises(InputError, match="unknown member True"):
        load_user_groups(path)


def test_numeric_member_is_a_baci_code(tmp_path: Path) -> None:
    path = write(tmp_path, "[groups.pair]\nmembers = [842, 490]\n")
    assert load_user_groups(path) == {"pair": frozenset({"USA", "TWN"})}


def test_bad_toml_reports_its_line(tmp_path: Path) -> None:
    text = '[groups.chips]\ndescription = "chips"\nmembers = ["USA" "JPN"]\n\n[groups.b]\n'
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_user_groups(path)
    assert info.value.file == str(path)
    assert info.value.line == 3  # the missing comma between "USA" and "JPN"
    assert str(info.value).startswith(f"{path}, line 3: not valid TOML")


def test_toml_ending_inside_a_list_reports_the_last_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[groups.chips]\ndescription = "chips"\nmembers = ["USA", "JPN"\n')
    with pytest.raises(InputError, match="line 3: not valid TOML") as info:
        load_user_groups(path)
    assert info.value.line == 3


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_user_groups(tmp_path / "absent.toml")


@pytest.mark.parametrize("name", ["G7", "eu", "Like-Minded"])
def test_user_group_may_not_redefine_a_builtin(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, f'[groups."{name}"]\nmembers = ["USA"]\n')
    with pytest.raises(InputError, match="redefine the built-in group"):
        load_user_groups(path)


def test_user_group_may_not_be_a_country_code(tmp_path: Path) -> None:
    path = write(tmp_path, '[groups.jp]\nmembers = ["USA"]\n')
    with pytest.raises(InputError, match="country code of JPN"):
        load_user_groups(path)


def test_user_groups_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[groups.Chips]\nmembers = ["USA"]\n[groups.chips]\nmembers = ["JPN"]\n')
    with pytest.raises(InputError, match="differ only in case"):
        load_user_groups(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('members = ["USA"]\n', "only \\[groups.NAME\\] tables"),
        ("[groups.empty]\nmembers = []\n", "non-empty members"),
        ('[groups.typo]\nmember = ["USA"]\n', "unknown key\\(s\\) member"),
        ('[groups]\nsolo = "USA"\n', "must be a table"),
    ],
)
def test_malformed_user_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_user_groups(write(tmp_path, text))


def test_expand_countries_mixes_codes_and_groups() -> None:
    assert expand_countries("JPN,DEU,G7,S19") == [
        "CAN", "DEU", "FRA", "GBR", "ITA", "JPN", "TWN", "USA",
    ]  # fmt: skip


def test_expand_countries_accepts_spaces_case_and_duplicates() -> None:
    assert expand_countries(" quad , jpn,AU,, ") == ["AUS", "IND", "JPN", "USA"]


def test_expand_countries_with_user_group(tmp_path: Path) -> None:
    path = write(tmp_path, CHIPS)
    assert expand_countries("chips_alliance,CHN", user_file=path) == [
        "CHN", "JPN", "KOR", "NLD", "TWN", "USA",
    ]  # fmt: skip


def test_expand_countries_eu_plus_one_has_28() -> None:
    result = expand_countries("EU,GBR")
    assert len(result) == 28
    assert result == sorted(EU27 | {"GBR"})


def test_expand_countries_unknown_token_names_it_and_the_groups() -> None:
    with pytest.raises(UnknownCodeError) as info:
        expand_countries("JPN,G8")
    assert "'G8'" in str(info.value)
    assert "G7" in str(info.value)


def test_expand_countries_refuses_an_empty_list() -> None:
    with pytest.raises(InputError, match="no country or group"):
        expand_countries(" , ")
