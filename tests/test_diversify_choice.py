"""min_share and max_new_suppliers through the command line (demo world) and on real data.

Expected counts come from the JSON's own rows or, on the real 2022 slice, from pandas over
the raw CSV (the command in test_diversify_real's docstring), never from the optimiser.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from chokepoints.workspace import Workspace
from conftest import ATLAS
from helpers import assert_one_sentence_error, run


def diversify_json(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> dict:
    """``chokepoints diversify ARGS --format json`` on ``home``, parsed."""
    code, out, err = run(capsys, "diversify", *args, "--format", "json", "--home", str(home))
    assert code == 0, err
    return json.loads(out)


def test_defaults_apply_through_the_cli(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    payload = diversify_json(capsys, demo_home, "JPN", "850511")
    method, result = payload["provenance"]["method"], payload["provenance"]["result"]
    assert method["min_share"] == 0.01 and method["max_new_suppliers"] is None
    mix = pd.DataFrame(payload["mix"])
    # Only suppliers of today or of the new mix, each new share 0 or at least 1%.
    assert (mix["current_usd"].gt(0) | mix["new_usd"].gt(0)).all()
    assert (mix["new_share"].eq(0) | mix["new_share"].ge(0.01 - 1e-12)).all()
    assert mix["new_share"].sum() == pytest.approx(1.0)
    today = pd.DataFrame(payload["alternatives"])["current_imports_usd"].fillna(0).gt(0).sum()
    assert result["suppliers_before"] == today == mix["current_usd"].gt(0).sum()
    assert result["suppliers_after"] == mix["new_share"].gt(0).sum()
    assert result["new_suppliers"] == (mix["new_share"].gt(0) & mix["current_usd"].eq(0)).sum()
    # The continuous mix (min_share 0) uses more suppliers for a lower HHI.
    loose = diversify_json(capsys, demo_home, "JPN", "850511", "--min-share", "0")
    assert loose["provenance"]["result"]["suppliers_after"] > result["suppliers_after"]
    assert loose["provenance"]["result"]["hhi_after"] <= result["hhi_after"] + 1e-12
    # The terminal says the same in one sentence (wrapped to the terminal's width).
    code, out, err = run(capsys, "diversify", "JPN", "850511", "--home", str(demo_home))
    assert code == 0, err
    dropped = result["suppliers_before"] + result["new_suppliers"] - result["suppliers_after"]
    text = " ".join(out.split())
    assert (
        f"New mix: {result['suppliers_after']} suppliers ({result['new_suppliers']} new, "
        f"{dropped} dropped), HHI {result['hhi_before']:.3f} -> {result['hhi_after']:.3f}; "
        "shares under 1% not proposed"
    ) in text


def test_flags_bound_the_mix(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    payload = diversify_json(
        capsys, demo_home, "JPN", "850511", "--min-share", "0.05", "--max-new-suppliers", "1"
    )
    mix = pd.DataFrame(payload["mix"])
    assert (mix["new_share"].eq(0) | mix["new_share"].ge(0.05 - 1e-12)).all()
    entrants = mix["new_share"].gt(0) & mix["current_usd"].eq(0)
    assert entrants.sum() == payload["provenance"]["result"]["new_suppliers"] <= 1
    assert payload["provenance"]["method"]["max_new_suppliers"] == 1


def test_an_excluded_supplier_is_nowhere_in_the_new_mix(
    capsys: pytest.CaptureFixture[str], demo_home: Path
) -> None:
    # DEU supplies Japan today; USA does not, and would enter under the defaults.
    base = pd.DataFrame(diversify_json(capsys, demo_home, "JPN", "850511")["mix"])
    assert base.set_index("supplier").loc["USA", "current_usd"] == 0
    payload = diversify_json(capsys, demo_home, "JPN", "850511", "--exclude", "DEU,USA")
    mix = pd.DataFrame(payload["mix"]).set_index("supplier")
    assert payload["provenance"]["result"]["feasible"]
    assert mix.loc["DEU", "new_share"] == 0 and mix.loc["DEU", "binding"] == "excluded"
    assert "USA" not in mix.index
    assert not {"DEU", "USA"} & {r["exporter"] for r in payload["alternatives"]}


def test_batch_counts_and_no_entrant(capsys: pytest.CaptureFixture[str], demo_home: Path) -> None:
    code, out, err = run(
        capsys,
        "diversify",
        "JPN",
        "--max-new-suppliers",
        "0",
        "--max-share",
        "0.5",
        "--format",
        "json",
        "--home",
        str(demo_home),
    )
    assert code == 0, err
    records = json.loads(out)
    feasible = [r for r in records if r["feasible"]]
    assert feasible and all(r["new_suppliers"] == 0 for r in feasible)
    assert all(r["suppliers_after"] <= r["suppliers_before"] for r in feasible)
    for r in records:
        if not r["feasible"]:
            assert r["suppliers_after"] is None and r["explanation"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--min-share", "0.5", "--max-share", "0.4"], "--min-share 0.5 exceeds --max-share 0.4"),
        (["--min-share", "2"], "--min-share is 2.0"),
        (["--max-new-suppliers", "-1"], "--max-new-suppliers is -1"),
    ],
)
def test_contradictory_flags_are_one_sentence_errors(
    capsys: pytest.CaptureFixture[str], demo_home: Path, args: list[str], flag: str
) -> None:
    code, _, err = run(capsys, "diversify", "JPN", "850511", *args, "--home", str(demo_home))
    assert_one_sentence_error(code, err)
    assert flag in err


def test_japan_magnets_use_the_suppliers_that_can_reach_one_percent(
    atlas: Workspace, shared_data: Path
) -> None:
    # From the raw file: Japan bought 850511 from 42 suppliers; a supplier may reach
    # (imports from it + half its sales to others) / imports. 17 may reach 1%, one of them
    # new; the HHI optimum takes every one of them (the 17 floors of 1% leave room), so the
    # new mix has 17 suppliers (1 new) where the continuous optimum spread over all 142.
    raw = pd.read_csv(
        shared_data / ATLAS, dtype={"i": str, "j": str, "cmd": str}, keep_default_na=False
    )
    raw["i"] = raw["i"].replace({"S19": "TWN"})
    magnets = raw[(raw["cmd"] == "850511") & (raw["i"] != "JPN") & (raw["value"] > 0)]
    to_jpn = magnets["j"] == "JPN"
    current = magnets[to_jpn].groupby("i")["value"].sum()
    capacity = magnets[~to_jpn].groupby("i")["value"].sum()
    suppliers = sorted(set(current.index) | set(capacity.index))
    current = current.reindex(suppliers, fill_value=0.0)
    capacity = capacity.reindex(suppliers, fill_value=0.0)
    reach = (current + 0.5 * capacity) / current.sum()
    able = set(reach.index[reach >= 0.01])
    buying = set(current.index[current > 0])
    assert (len(buying), len(able), len(able - buying)) == (42, 17, 1)

    result = atlas.diversify("JPN", "850511")
    plan = result.plan
    assert plan.feasible
    assert (plan.suppliers_before, plan.suppliers_after, plan.new_suppliers) == (42, 17, 1)
    chosen = result.mix.loc[result.mix["new_share"] > 0, "supplier"]
    assert set(chosen) == able
    assert result.mix["new_share"].where(lambda s: s > 0).min() >= 0.01 - 1e-12
    loose = atlas.diversify("JPN", "850511", min_share=0).plan
    assert loose.suppliers_after == len(suppliers) == 142
    assert loose.hhi_after < plan.hhi_after < plan.hhi_before
    assert result.mix.attrs["provenance"]["result"]["suppliers_after"] == 17
