"""The typed Python API: explicit parameters documented as they are, typed answers with their
provenance, the package's type marker, and mypy clean on ``src/``."""

from __future__ import annotations

import inspect
import re
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from chokepoints import Workspace
from chokepoints.answers import Comparison, Diversification, ProductPicture, Provenance, provenance

ROOT = Path(__file__).resolve().parents[1]

#: The questions of the API: each must take explicit keyword parameters and document them.
QUESTIONS = [
    "dependencies",
    "dependencies_all",
    "risk",
    "shock",
    "downstream",
    "exposure",
    "diversify",
    "diversify_all",
    "markets",
    "compare",
    "stress",
    "product",
    "import_sources",
    "trend",
    "production",
    "upstream",
    "origins",
    "chain_stages",
]


def documented_parameters(doc: str) -> list[str]:
    """The names a numpydoc ``Parameters`` section lists, in order (written here, from the
    numpydoc format: a name at the section's indent, its description indented below)."""
    lines = inspect.cleandoc(doc).splitlines()
    start = lines.index("Parameters") + 2
    assert set(lines[start - 1]) == {"-"}, "Parameters is not underlined"
    names = []
    for line in lines[start:]:
        if not line.strip():
            continue
        if not line.startswith(" "):
            if set(line) == {"-"}:  # the next section's underline: drop its title
                names.pop()
                break
            names.append(re.split(r"\s*:", line)[0])
    return names


@pytest.mark.parametrize("name", QUESTIONS)
def test_every_question_documents_exactly_its_parameters(name: str) -> None:
    method = getattr(Workspace, name)
    signature = inspect.signature(method)
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    assert not [p for p in parameters if p.kind is p.VAR_KEYWORD], f"{name} takes **options"
    assert signature.return_annotation not in (inspect.Signature.empty, "Any")
    assert documented_parameters(method.__doc__) == [p.name for p in parameters]
    assert "Returns\n" in inspect.cleandoc(method.__doc__)


def test_the_parser_reads_a_numpydoc_section() -> None:
    doc = """Summary.

        Parameters
        ----------
        country
            ISO3.
        year : int
            The year.

        Returns
        -------
        DataFrame
            Rows.
        """
    assert documented_parameters(doc) == ["country", "year"]


def test_the_package_ships_its_type_marker() -> None:
    assert resources.files("chokepoints").joinpath("py.typed").is_file()


def test_mypy_finds_no_error_in_src() -> None:
    from mypy import api

    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "src")])
    assert status == 0, out + err


def test_answers_are_typed_and_carry_the_engine(demo_home: Path) -> None:
    ws = Workspace.open(demo_home)
    frame = ws.dependencies("DEU")
    record = frame.attrs["provenance"]
    typed = provenance(frame)
    assert isinstance(typed, Provenance)
    # The demo world is 2020-2022 HS17; DEU is no group.
    assert (typed.source, typed.classification, typed.year) == ("demo", "HS17", 2022)
    assert typed.engine == "duckdb" and typed.demo
    assert typed.method is not None and typed.method["name"] == "geodep"
    assert typed.details["economy"] == "DEU" and typed.details["members"] == ["DEU"]
    assert typed.as_dict() == record
    picture = ws.product("850511")
    assert isinstance(picture, ProductPicture)
    assert picture.provenance.details["product"] == "850511"
    assert list(picture.frames()) == ["summary", "exporters", "importers"]
    mix = ws.diversify("JPN", "850511", exclude=["CHN"])
    assert isinstance(mix, Diversification)
    assert "CHN" not in set(mix.alternatives["exporter"])
    assert mix.provenance.engine == "duckdb"
    compared = ws.compare(["JPN", "DEU"])
    assert isinstance(compared, Comparison)
    assert all(isinstance(f, pd.DataFrame) for f in compared.frames().values())
    assert compared.provenance.details["partners"][:2] == ["JPN", "DEU"]


def test_library_errors_name_the_parameter(demo_home: Path) -> None:
    from chokepoints.errors import ChokepointsError

    with pytest.raises(ChokepointsError, match="via"):
        Workspace.open(demo_home).exposure("DEU", "CHN", via="iot")  # type: ignore[arg-type]
