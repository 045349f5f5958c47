"""World screens (``questions.screens``): a server's workspaces answer one economy's or one
product's questions by slicing world-wide answers computed once per store generation. Each
slice must be the very frame the question computes on its own (whose numbers the other test
files check against SQL and published figures), economy by economy, product by product."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from chokepoints.errors import ChokepointsError
from chokepoints.questions.context import Memo, Memos
from chokepoints.workspace import Workspace

#: Economies asked about: large and small traders and one importing little (groups are
#: answered without screens).
ECONOMIES = ["DEU", "JPN", "CHN", "VNM", "ISL"]
QUESTIONS: dict[str, dict[str, Any]] = {
    "dependent": {},
    "all": {"include_all": True},
    "sector": {"sector": "semiconductors", "include_all": True},
    "products": {"products": ["850511", "854231", "280461"], "include_all": True},
    "exports": {"side": "exports", "include_all": True},
}


def _answer(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, or the sentence of the error it raised."""
    try:
        return call(*args, **kwargs)
    except ChokepointsError as exc:
        return f"{type(exc).__name__}: {exc}"


def _same(alone: Any, sliced: Any, what: str) -> None:
    """The two answers are equal: frames cell by cell with dtypes and provenance, errors by
    their sentence."""
    if isinstance(alone, pd.DataFrame) and isinstance(sliced, pd.DataFrame):
        pd.testing.assert_frame_equal(sliced, alone, obj=what)
        assert sliced.attrs == alone.attrs, what
    else:
        assert sliced == alone, what


@pytest.fixture(scope="module")
def pair(demo_home: Path) -> tuple[Workspace, Workspace]:
    """The demo store opened twice: alone, and as a server's workspace with screens."""
    served = Workspace.open(demo_home)
    served.serve(Memos())
    prepared = served.prepare_screens()
    assert prepared is not None and prepared.label == "demo HS17 2022"
    return Workspace.open(demo_home), served


@pytest.mark.parametrize("economy", ECONOMIES)
def test_dependencies_from_screens_equal_the_question(
    pair: tuple[Workspace, Workspace], economy: str
) -> None:
    alone, served = pair
    for name, params in QUESTIONS.items():
        _same(
            _answer(alone.dependencies, economy, **params),
            _answer(served.dependencies, economy, **params),
            f"deps {economy} {name}",
        )
    for products in (None, ["850511", "854231", "999999"]):
        _same(
            _answer(alone.import_sources, economy, products=products),
            _answer(served.import_sources, economy, products=products),
            f"import sources {economy} {products}",
        )


@pytest.mark.parametrize("code", ["850511", "854231", "280461", "999999", "8505"])
def test_product_pictures_from_screens_equal_the_question(
    pair: tuple[Workspace, Workspace], code: str
) -> None:
    alone, served = pair
    one, other = _answer(alone.product, code), _answer(served.product, code)
    if isinstance(one, str):
        assert other == one
        return
    for name in one.frames():
        _same(getattr(one, name), getattr(other, name), f"product {code} {name}")


@pytest.mark.shared_data
def test_real_data_slices_equal_the_question(atlas: Workspace) -> None:
    """On the real BACI 2022 atlas extract: Germany's and Japan's dependencies and sources,
    and the magnets' and gallium's world pictures."""
    served = Workspace.open(atlas.home)
    served.serve(Memos())
    assert served.prepare_screens() is not None
    for economy in ("DEU", "JPN"):
        for name, params in QUESTIONS.items():
            _same(
                _answer(atlas.dependencies, economy, **params),
                _answer(served.dependencies, economy, **params),
                f"deps {economy} {name}",
            )
        _same(atlas.import_sources(economy), served.import_sources(economy), economy)
    for code in ("850511", "811292"):
        one, other = atlas.product(code), served.product(code)
        for name in one.frames():
            _same(getattr(one, name), getattr(other, name), f"product {code} {name}")


def test_a_memo_computes_once_for_threads_asking_together() -> None:
    """Eight threads asking for one value at once get the one value, computed once."""
    memo, calls, start = Memo(), [], threading.Barrier(8)

    def compute() -> object:
        calls.append(1)
        threading.Event().wait(0.05)  # long enough for the others to arrive meanwhile
        return object()

    found: list[object] = []

    def ask() -> None:
        start.wait()
        found.append(memo.get("key", compute))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len({id(value) for value in found}) == 1


def test_memos_are_per_generation_and_keep_the_latest_two() -> None:
    memos = Memos(keep=2)
    first = memos.of(b"one")
    assert memos.of(b"one") is first
    second, third = memos.of(b"two"), memos.of(b"three")
    assert memos.of(b"three") is third and memos.of(b"two") is second
    assert memos.of(b"one") is not first  # dropped when the third generation came


def test_sliced_questions_run_on_their_workspace_connection(
    pair: tuple[Workspace, Workspace],
) -> None:
    """A question over a screen's slice alone runs on its workspace's own connection, never
    on Ibis's default backend, which every thread of a server shares (under load: "connection
    is busy with another call")."""
    import ibis

    alone, served = pair
    closed = ibis.duckdb.connect()
    closed.disconnect()
    saved = ibis.options.default_backend
    ibis.options.default_backend = closed
    try:
        found = served.import_sources("DEU", products=["850511", "854231"])
    finally:
        ibis.options.default_backend = saved
    _same(alone.import_sources("DEU", products=["850511", "854231"]), found, "import sources")
