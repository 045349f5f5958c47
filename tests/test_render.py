"""Terminal tables never cut a number (issue #14): columns are left out and named instead,
text wraps, pipes get every column at full width, years and codes carry no separators."""

from __future__ import annotations

import io
import re

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from chokepoints.render import cell_text, print_table


def _printed(frame: pd.DataFrame, width: int, *, terminal: bool) -> str:
    """What ``print_table`` writes for ``frame`` on a terminal (or pipe) ``width`` wide."""
    sink = io.StringIO()
    console = Console(file=sink, width=width, force_terminal=terminal, color_system=None)
    print_table(frame, console, title="t")
    return sink.getvalue()


DEPS = pd.DataFrame(
    {
        "product": ["850760", "711011"],
        "description": ["Lithium-ion accumulators (cells and battery packs)", "Platinum"],
        "import_value_usd": [5_125_564_713.0, 9_999_000_000.0],
        "n_suppliers": [5, 12],
        "hhi": [0.7127, 0.4394],
        "top_supplier": ["CHN", "ZAF"],
        "top_supplier_share": [0.834, 0.646],
        "world_export_hhi": [0.622, 0.4827],
        "import_export_ratio": [5.945, 243.6],
        "dependent": [True, True],
    }
)


def test_narrow_terminal_leaves_columns_out_and_says_which() -> None:
    text = _printed(DEPS, 80, terminal=True)
    assert max(len(line) for line in text.splitlines()) <= 80
    # Every number shown is whole: 9,999.0 ($m) is not 9,99 and 243.6 is not 243.
    assert "9,999.0" in text and "5,125.6" in text and "83.4%" in text
    assert "left out for width: M/X, world HHI" in " ".join(text.split())
    assert "243." not in text  # M/X is left out whole, not cut
    # The description wraps instead of disappearing.
    assert "Lithium-ion" in text and "battery packs)" in text


def test_pipe_gets_every_column_whole() -> None:
    text = _printed(DEPS, 80, terminal=False)
    whole = ("9,999.0", "243.6", "0.4827", "Lithium-ion accumulators (cells and battery packs)")
    for value in whole:
        assert value in text
    assert "left out" not in text and "…" not in text


def test_years_and_codes_have_no_separators_and_cut_rows_are_counted() -> None:
    frame = pd.DataFrame({"year": [2020, 2021], "n": [71854, 1200]})
    frame.attrs["total_rows"] = 74
    text = _printed(frame, 80, terminal=False)
    assert "2020" in text and "2,020" not in text and "71,854" in text
    assert "2 of 74 rows shown" in text
    assert cell_text(2020.0, "from_year") == "2020" and cell_text(2020, "t") == "2020"
    assert cell_text(12345, "n_products") == "12,345"


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(min_value=40, max_value=200),
    values=st.lists(
        st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), min_size=3, max_size=9
    ),
)
def test_no_number_is_ever_cut(width: int, values: list[float]) -> None:
    frame = pd.DataFrame({"code": ["A"], **{f"c{n}": [v] for n, v in enumerate(values)}})
    text = _printed(frame, width, terminal=True)
    assert max(len(line) for line in text.splitlines()) <= max(width, 40)
    body, _, caption = text.partition("left out for width:")
    left_out = set(re.findall(r"c\d+", caption))
    cells = [line.split("│")[1:-1] for line in body.splitlines() if line.startswith("│")]
    for n, value in enumerate(values):
        if f"c{n}" in left_out:
            continue
        # The value's column is shown: its cell holds the whole number, on one line.
        assert any(cell_text(value, f"c{n}") == cell.strip() for row in cells for cell in row)


def test_shock_says_how_many_importers_it_cut(capsys, demo_home) -> None:
    from helpers import run

    code, out, err = run(capsys, "shock", "--supplier", "CHN", "--sector", "permanent_magnets",
                         "--limit", "5", "--home", str(demo_home))  # fmt: skip
    assert code == 0, err
    by_importer = out.split("by importer")[1].split("World:")[0]
    rows = [line.split() for line in by_importer.splitlines() if re.match(r"\s+[A-Z]{3}\s", line)]
    lost = [float(row[1].replace(",", "")) for row in rows]
    assert len(rows) == 5 and lost == sorted(lost, reverse=True)  # the largest losses first
    assert re.search(r"5 of \d+ rows shown", by_importer)


def test_an_excluded_supplier_is_no_alternative(demo_home) -> None:
    from chokepoints.workspace import Workspace

    result = Workspace.open(demo_home).diversify("JPN", "850511", exclude=["CHN"])
    alternatives = result.alternatives
    assert "CHN" not in set(alternatives["exporter"])
    assert list(alternatives["rank"]) == list(range(1, len(alternatives) + 1))
    mix = result.mix.set_index("supplier")
    assert "CHN" in mix.index  # still in the mix, which says what it supplies now
