"""The commands as people see them (issue #14): no number is ever cut, at 80 and 160 columns
and piped, on the demo store and on the real 2022 atlas slice.

On a terminal, the commands run in a child process whose stdout is a pseudo-terminal (``pty``)
resized with ``TIOCSWINSZ`` before each command (``COLUMNS``/``LINES`` unset), so rich finds the
width as it does in a real terminal; piped, they run in this process with stdout a buffer.
Every output is kept in ``test-artifacts/cli/`` as text (``.txt``, ANSI codes removed) and as a
picture (``.svg`` made by rich from the ANSI text, ``.png`` a Chromium screenshot of it) for
people to look at.

The numbers expected on screen come from the same command's ``--format json``, formatted here
with ``decimal`` (an implementation independent of ``chokepoints.render``): USD in millions with
one decimal, shares in % with one decimal, other floats with 4 significant digits, thousands
separators, years and ranks without.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

import chokepoints
from chokepoints.cli import main
from conftest import REPO
from kept import answers_kept

ARTEFACTS = REPO / "test-artifacts" / "cli"
#: One worker captures the screens (a session fixture is made once per pytest-xdist worker).
pytestmark = pytest.mark.xdist_group("screens")

#: The commands on screen, by a short name used in the artefacts' file names.
COMMANDS = {
    "deps-DEU": ["deps", "DEU"],
    "deps-EU27": ["deps", "EU27"],
    "shock-gallium": ["shock", "--preset", "china-gallium-germanium-2023"],
    "diversify-JPN-850511": ["diversify", "JPN", "850511"],
    "compare-JPN-DEU": ["compare", "JPN", "DEU"],
}
#: Terminal widths, and None for a pipe.
WIDTHS = {"80": 80, "160": 160, "pipe": None}

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
NUMBER = re.compile(r"[-+]?(?:\d[\d,]*)?\.?\d+(?:e[-+]\d+)?%?")


# -- running a command ------------------------------------------------------------------------
def _environment() -> dict[str, str]:
    """The child's environment: this checkout's code, no width or colour overrides."""
    unset = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    source = str(Path(chokepoints.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([source, env.get("PYTHONPATH", "")])
    env["TERM"] = "xterm-256color"
    return env


#: What the child runs: each job's command at its width (the window resized before it), then a
#: marker line with the exit code; errors go to stderr. A command asked at two widths is
#: answered once (``kept.answers_kept``): the widths change the drawing, not the answer.
CHILD = """
import fcntl, json, struct, sys, termios
sys.path.insert(0, sys.argv[2])
from chokepoints.cli import main
from kept import answers_kept
with answers_kept():
    for args, width in json.loads(sys.argv[1]):
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 60, width, 0, 0))
        sys.argv = ["chokepoints", *args]
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        sys.stdout.flush()
        sys.stdout.write(f"\\x1eEND {code}\\n")
        sys.stdout.flush()
"""
END = re.compile(r"\x1eEND (\S+)\n")


def run_on_terminal(jobs: list[tuple[list[str], int]], home: Path) -> list[str]:
    """stdout of each ``chokepoints ARGS --home HOME`` on a pseudo-terminal ``width`` columns
    wide, in order. One child runs them all: the terminal is as real (rich reads its size before
    each table), and Python starts once rather than once per screen."""
    master, slave = pty.openpty()
    argv = json.dumps([([*args, "--home", str(home)], width) for args, width in jobs])
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, argv, str(Path(__file__).parent)],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=_environment(),
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    _, err = child.communicate(timeout=600)
    assert child.returncode == 0, err.decode()
    parts = END.split(b"".join(chunks).decode().replace("\r\n", "\n"))
    outputs, codes = parts[0:-1:2], parts[1:-1:2]
    assert codes == ["0"] * len(jobs), err.decode()
    return outputs


def run_piped(args: list[str], home: Path) -> str:
    """stdout of ``chokepoints ARGS`` when it is no terminal (a pipe, a file), run in this
    process: rich sees no terminal either way, and a child would spend its time importing."""
    out, err = io.StringIO(), io.StringIO()
    width = os.environ.pop("COLUMNS", None)  # as in the child's environment
    argv, sys.argv = sys.argv, ["chokepoints", *args, "--home", str(home)]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                assert not exc.code, err.getvalue()
    finally:
        sys.argv = argv
        if width is not None:
            os.environ["COLUMNS"] = width
    return out.getvalue()


@dataclass
class Screen:
    """One command's output at one width (None: piped), and its JSON records."""

    name: str
    mode: str
    width: int | None
    raw: str
    records: Any

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw)


def capture(
    home: Path, label: str, also: dict[str, list[str]] | None = None
) -> tuple[dict[tuple[str, str], Screen], dict[str, str]]:
    """Every command at every width, with its JSON; the text saved under ``ARTEFACTS``. The
    commands of ``also`` run on the same terminal at 80 columns; their outputs by name."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    jobs = [(name, mode, width) for name in COMMANDS for mode, width in WIDTHS.items() if width]
    extra = also or {}
    on_terminal = run_on_terminal(
        [(COMMANDS[name], width) for name, _, width in jobs] + [(a, 80) for a in extra.values()],
        home,
    )
    seen = {(name, mode): raw for (name, mode, _), raw in zip(jobs, on_terminal, strict=False)}
    screens = {}
    with answers_kept():  # the JSON and the piped table of a command: one answer
        for name, args in COMMANDS.items():
            records = json.loads(run_piped([*args, "--format", "json"], home))
            for mode, width in WIDTHS.items():
                raw = seen[name, mode] if width else run_piped(args, home)
                screen = Screen(name, mode, width, raw, records)
                (ARTEFACTS / f"{label}-{name}-{mode}.txt").write_text(screen.text, encoding="utf-8")
                screens[name, mode] = screen
    return screens, dict(zip(extra, on_terminal[len(jobs) :], strict=True))


@pytest.fixture(scope="session")
def demo_capture(demo_home: Path) -> tuple[dict[tuple[str, str], Screen], dict[str, str]]:
    """The demo's screens, and ``stages JPN`` at 80 columns from the same terminal."""
    return capture(demo_home, "demo", also={"stages-JPN": ["stages", "JPN"]})


@pytest.fixture(scope="session")
def demo_screens(
    demo_capture: tuple[dict[tuple[str, str], Screen], dict[str, str]],
) -> dict[tuple[str, str], Screen]:
    return demo_capture[0]


@pytest.fixture(scope="session")
def atlas_screens(atlas: Any) -> dict[tuple[str, str], Screen]:
    return capture(atlas.home, "atlas")[0]


# -- the expected text of a value, formatted independently ------------------------------------
def _grouped(number: Decimal) -> str:
    """``number`` (already rounded) with a comma every three digits of its integer part."""
    sign, text = ("-", str(-number)) if number.is_signed() else ("", str(number))
    whole, _, fraction = text.partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + ",".join([whole, *groups]) + (f".{fraction}" if fraction else "")


def _rounded(value: float, decimals: int) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def _significant(value: float, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits, trailing zeros kept; scientific below 1e-4."""
    exact = Decimal(value)
    place = exact.adjusted()
    rounded = _rounded(value, digits - 1 - place)
    if rounded.adjusted() > place:  # 9.99996 -> 10.00: one decimal fewer
        place += 1
        rounded = _rounded(value, digits - 1 - place)
    if place < -4:
        mantissa = _significant(float(exact.scaleb(-place)), digits)
        return f"{mantissa}e-{-place:02d}"
    return _grouped(rounded)


#: Integer columns printed without separators.
PLAIN_INTEGERS = ("rank", "year")


#: Sector names as the packaged sector files write them (a terminal shows names, JSON ids).
SECTOR_NAMES = {
    path.stem: tomllib.loads(path.read_text(encoding="utf-8"))["name"]
    for path in (Path(chokepoints.__file__).parent / "reference" / "sectors").glob("*.toml")
}


def expected_text(value: Any, key: str) -> str | None:
    """What a JSON value of column ``key`` looks like in a terminal table; None when empty."""
    if value is None or isinstance(value, bool | dict):
        return None
    if isinstance(value, str):
        return (
            ", ".join(SECTOR_NAMES.get(i, i) for i in value.split(","))
            if key == "sector"
            else value
        )
    if key.endswith("_usd") or key == "upper_bound":
        return _grouped(_rounded(value / 1e6, 1))
    if isinstance(value, float) and (key.endswith("share") or key.startswith("share")):
        return f"{_grouped(_rounded(value * 100, 1))}%"
    if key in PLAIN_INTEGERS or key.endswith("year"):
        return str(int(value))
    if isinstance(value, int) or value.is_integer() or abs(value) >= 1000:
        return _grouped(_rounded(value, 0))
    return _significant(value)


def test_the_expected_texts_are_formatted_by_hand() -> None:
    """The test's own formatter, against values worked out by hand."""
    cases = [
        (5_125_564_713.0, "import_value_usd", "5,125.6"),
        (49_999.0, "imports_usd", "0.0"),
        (0.8337, "top_supplier_share", "83.4%"),
        (0.777, "hhi", "0.7770"),
        (0.0674912, "hhi", "0.06749"),
        (143.96, "import_export_ratio", "144.0"),
        (9.99996, "import_export_ratio", "10.00"),
        (0.0000123456, "rca", "1.235e-05"),
        (12345.6, "rca", "12,346"),
        (5.0, "n_suppliers", "5"),
        (1234567, "n_products", "1,234,567"),
        (2022, "year", "2022"),
        (True, "dependent", None),
    ]
    for value, key, text in cases:
        assert expected_text(value, key) == text, (value, key)


# -- reading tables off the screen -------------------------------------------------------------
@dataclass
class Shown:
    """One table on screen: the lines of its body, and the text after it."""

    lines: list[str]
    after: str


def tables(text: str, *, terminal: bool) -> list[Shown]:
    """The tables in ``text``: heavy-headed boxes on a terminal, simple-headed ones piped."""
    lines = text.splitlines()
    found: list[tuple[int, int, list[str]]] = []  # (first line, line after, body lines)
    n = 0
    while n < len(lines):
        if terminal and lines[n].startswith("┏"):
            start, n = n, n + 1
            while not lines[n].startswith("┡"):
                n += 1
            body = n + 1
            while not lines[n].startswith("└"):
                n += 1
            found.append((start, n + 1, lines[body:n]))
        elif not terminal and re.fullmatch(r"\s*─{3,}\s*", lines[n]):
            start, n = n - 1, n + 1
            body = n
            while n < len(lines) and lines[n].strip():
                n += 1
            found.append((start, n, lines[body:n]))
        n += 1
    shown = []
    for k, (_, end, body) in enumerate(found):
        stop = found[k + 1][0] if k + 1 < len(found) else len(lines)
        shown.append(Shown(body, " ".join(" ".join(lines[end:stop]).split())))
    return shown


def rows(body: list[str], firsts: list[str], *, terminal: bool) -> list[list[str]]:
    """The body's lines grouped by table row. Piped, a row is one line; on a terminal a row
    goes on over the lines that follow until its first cell (``firsts``, wrapped or folded
    over several lines) is whole and a line starts the next one."""
    if not terminal:
        return [[line] for line in body]
    grouped: list[list[str]] = []
    have = ""
    for line in body:
        cell = line.split("│")[1].replace(" ", "")
        whole = grouped and have == firsts[len(grouped) - 1].replace(" ", "")
        if not grouped or (cell and whole and len(grouped) < len(firsts)):
            grouped.append([line])
            have = cell
        else:
            grouped[-1].append(line)
            have += cell
    return grouped


def tokens(line: str) -> list[str]:
    return line.replace("│", " ").split()


# -- what each table must show ------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    """A table on screen: its JSON records, the column its rows start with, and the columns
    every width must show."""

    records: Callable[[Any], list[dict[str, Any]] | None]
    first: str
    always: tuple[str, ...] = ()


def _mix(records: Any) -> list[dict[str, Any]]:
    """The sourcing mix as the table shows it: suppliers with a current or a new share."""
    return [r for r in records["mix"] if r["current_usd"] > 0 or r["new_usd"] > 0]


COMPARE_TABLES = ("by_sector", "shared", "complementarity", "best_practice", "joint")
DEPS = Expect(lambda r: r, "product", ("import_value_usd", "hhi", "top_supplier_share"))
EXPECTED: dict[str, Callable[[Any], list[Expect]]] = {
    "deps-DEU": lambda records: [DEPS],
    "deps-EU27": lambda records: [DEPS],
    "shock-gallium": lambda records: [
        Expect(lambda r: None, "importer"),  # totals by importer: not in the JSON records
        Expect(lambda r: r, "importer", ("lost_value_usd", "shortfall_value_usd")),
    ],
    "diversify-JPN-850511": lambda records: [
        Expect(lambda r: r["alternatives"], "rank", ("exporter", "capacity_usd")),
        Expect(_mix, "supplier", ("current_usd", "new_usd", "new_share")),
    ],
    "compare-JPN-DEU": lambda records: [
        Expect(lambda r, key=key: r[key], "sector" if key == "by_sector" else "product")
        for key in COMPARE_TABLES
        if records[key]
    ],
}


def _texts(record: dict[str, Any]) -> set[str]:
    """Every way a value of ``record`` may show: formatted numbers and the words of texts."""
    found: set[str] = set()
    for key, value in record.items():
        for item in value if isinstance(value, list) else [value]:
            text = expected_text(item, key)
            if text is not None:
                found |= set(text.split()) | {text}
    return found


def check_screen(screen: Screen) -> None:
    """Every check of issue #14 on one screen."""
    text = screen.text
    terminal = screen.width is not None
    assert "…" not in text, "a cell was cut with an ellipsis"
    if terminal:
        longest = max(text.splitlines(), key=len)
        assert len(longest) <= screen.width, f"{len(longest)} columns: {longest!r}"
    else:
        assert "left out for width" not in text, "a pipe must get every column"
    year = re.search(r"HS\d\d, (\d{4});", text)  # the provenance line: "demo demo-1 HS17, 2022;"
    assert year, "the provenance line must name the year"
    assert not re.search(rf"(?<![\d,.]){int(year[1]):,}(?![\d,.])", text), "a year with a comma"
    shown = tables(text, terminal=terminal)
    expects = EXPECTED[screen.name](screen.records)
    assert len(shown) == len(expects), f"{len(shown)} tables on screen, {len(expects)} expected"
    for table, expect in zip(shown, expects, strict=True):
        records = expect.records(screen.records)
        if records is None:
            continue
        firsts = [expected_text(r[expect.first], expect.first) or "" for r in records]
        grouped = rows(table.lines, firsts, terminal=terminal)
        assert 0 < len(grouped) <= len(records)
        if len(grouped) < len(records):
            # Cut by --limit, or (the sourcing mix) the suppliers under min_share counted.
            left = len(records) - len(grouped)
            assert (
                f"{len(grouped)} of {len(records):,} rows shown" in table.after
                or f"Not listed: {left} suppliers under" in " ".join(table.after.split())
            ), table.after[:300]
        for lines, record, first in zip(grouped, records, firsts, strict=False):
            first_line = tokens(lines[0])
            # The row is the record's: its first cell, put back together, is the record's.
            cell = "".join(line.split("│")[1] for line in lines) if terminal else lines[0]
            assert "".join(cell.split()).startswith("".join(first.split())), (lines, first)
            for key in expect.always:
                want = expected_text(record[key], key)
                assert want in first_line, f"{key}: {want} not whole in {lines[0]!r}"
            allowed = _texts(record)
            for line in lines:
                for token in tokens(line):
                    if NUMBER.fullmatch(token):
                        assert token in allowed, f"{token} is no whole value of {record}"


# -- the tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", WIDTHS)
@pytest.mark.parametrize("name", COMMANDS)
def test_demo_screens_cut_no_number(
    demo_screens: dict[tuple[str, str], Screen], name: str, mode: str
) -> None:
    check_screen(demo_screens[name, mode])


@pytest.mark.shared_data
@pytest.mark.parametrize("mode", WIDTHS)
@pytest.mark.parametrize("name", COMMANDS)
def test_atlas_screens_cut_no_number(
    atlas_screens: dict[tuple[str, str], Screen], name: str, mode: str
) -> None:
    check_screen(atlas_screens[name, mode])


@pytest.fixture(scope="module")
def svg_page() -> Iterator[Any]:
    """A page of one headless Chromium for the module's pictures, offline."""
    from test_report_browser import QUIET, chromium

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        message = "Playwright is not installed (pip install playwright)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    executable = chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=QUIET)
        page = browser.new_page()
        # rich's SVG asks a CDN for its font; offline, the browser's monospace font draws it.
        page.route(re.compile(r"^(?!file:)"), lambda route: route.abort())
        yield page
        browser.close()


@pytest.mark.parametrize("store", ["demo", pytest.param("atlas", marks=pytest.mark.shared_data)])
def test_screens_as_pictures(request: pytest.FixtureRequest, svg_page: Any, store: str) -> None:
    """Each screen as an SVG (rich) and a PNG (Chromium) in ``ARTEFACTS``; the atlas's as PNG
    at 80 columns only (the demo's cover every width; the SVGs keep the rest)."""
    pictures = []
    screens = request.getfixturevalue(f"{store}_screens")
    for (name, mode), screen in screens.items():
        svg = ARTEFACTS / f"{store}-{name}-{mode}.svg"
        svg.write_text(as_svg(screen), encoding="utf-8")
        if store == "demo" or mode == "80":
            pictures.append(svg)
    for svg in pictures:
        view = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg.read_text(encoding="utf-8"))
        assert view, f"{svg} has no viewBox"
        # The SVG fills the page: a page of its own size draws it at 1:1.
        size = {"width": round(float(view[1])), "height": round(float(view[2]))}
        svg_page.set_viewport_size(size)
        svg_page.goto(svg.as_uri())
        svg_page.locator("svg").screenshot(path=str(svg.with_suffix(".png")))
    for svg in pictures:
        assert svg.with_suffix(".png").stat().st_size > 10_000, f"{svg} drew nothing"


def as_svg(screen: Screen) -> str:
    """The screen drawn by rich as an SVG terminal, with its colours."""
    from rich.console import Console
    from rich.text import Text

    width = max([screen.width or 0, *(len(line) for line in screen.text.splitlines())])
    console = Console(
        record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor"
    )
    console.print(Text.from_ansi(screen.raw), soft_wrap=True)
    mode = f"{screen.width} columns" if screen.width else "piped"
    return console.export_svg(title=f"chokepoints {' '.join(COMMANDS[screen.name])} ({mode})")


# -- what the screens showed wrong, each fixed ----------------------------------------------------
def test_a_generic_shock_is_named_by_the_sectors_names(tmp_path: Path) -> None:
    """The id "permanent_magnets" names a file; people read "permanent magnets"."""
    from chokepoints.analysis.scenario import build_scenario

    user = tmp_path / "sectors"
    user.mkdir()
    (user / "my_metals.toml").write_text(
        'id = "my_metals"\nname = "PGM and rare metals"\ndescription = "d"\nsources = ["s"]\n'
        '[codes]\nHS17 = ["711011"]\n',
        encoding="utf-8",
    )
    named = build_scenario(
        "CHN", sectors=["permanent_magnets", "eu_sensitive_ecosystems", "my_metals"],
        sector_dirs=[user],
    )  # fmt: skip
    assert named.name == (
        "CHN stops 100% of its exports of permanent magnets, EU sensitive ecosystems (proxy), "
        "PGM and rare metals"
    )
    assert build_scenario("RUS", products=["270900"], fraction=0.5).name == (
        "RUS stops 50% of its exports of selected products"
    )


def test_shock_title_keeps_the_measure_year_apart_from_the_data_year(
    demo_screens: dict[tuple[str, str], Screen],
) -> None:
    text = " ".join(demo_screens["shock-gallium", "pipe"].text.split())
    name = "China: export licensing of gallium and germanium (2023)"
    assert f"{name} on 2022 trade: by importer" in text
    assert f"{name} on 2022 trade: by product" in text
    assert "(2023) (2022)" not in text


def test_shock_keeps_the_shortfall_on_a_narrow_terminal(
    demo_screens: dict[tuple[str, str], Screen],
) -> None:
    """Columns go from the right: lost, redirected and shortfall come first and stay at 80."""
    text = demo_screens["shock-gallium", "80"].text
    header = next(line for line in text.splitlines() if "┃ importer ┃ product" in line)
    assert [c.strip() for c in header.strip("┃").split("┃")][2:5] == [
        "lost $m", "redirect $m", "shortfall $m"
    ]  # fmt: skip


def test_provenance_prints_set_parameters_only(
    demo_screens: dict[tuple[str, str], Screen],
) -> None:
    """No "method cooperation ()" and no "max_share=None": unset parameters say nothing."""
    compare = demo_screens["compare-JPN-DEU", "pipe"].text
    assert "; method cooperation; chokepoints" in compare
    diversify = " ".join(demo_screens["diversify-JPN-850511", "pipe"].text.split())
    assert (
        "method diversify (objective=hhi, redirect_fraction=0.5, min_share=0.01); chokepoints"
        in diversify
    )


def test_floats_keep_their_trailing_zeros() -> None:
    """A column of 4-digit numbers lines up; 143.96 is no integer 144; 999.96 ends in no dot."""
    from chokepoints.render import cell_text

    assert cell_text(0.777, "hhi") == "0.7770"
    assert cell_text(0.4394, "hhi") == "0.4394"
    assert cell_text(143.96, "import_export_ratio") == "144.0"
    assert cell_text(999.96, "import_export_ratio") == "1,000"
    assert cell_text(3.0, "n_suppliers") == "3"
    assert cell_text(2022.0, "year") == "2022"


def test_stages_keep_the_step_and_name_their_columns(
    demo_capture: tuple[dict[tuple[str, str], Screen], dict[str, str]],
) -> None:
    text = ANSI.sub("", demo_capture[1]["stages-JPN"])
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    cells = [c.strip() for c in header.strip("┃").split("┃")]
    assert cells[0] == "step"
    assert {"world HHI", "import HHI"} <= set(cells)
    assert "_hhi" not in text and "world_top" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # One table per chain, titled as its file names it; steps by their labels, not ids.
    chains = Path(chokepoints.__file__).parent / "reference" / "chains"
    for path in chains.glob("*.toml"):
        assert tomllib.loads(path.read_text(encoding="utf-8"))["name"] in text, path.stem
    assert "cobalt ores" in text and "cobalt_ores" not in text
