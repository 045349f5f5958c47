"""Which datasets the manifest describes, and when their flow keys are known to be distinct."""

from __future__ import annotations

from pathlib import Path

from chokepoints.datasets import datasets
from chokepoints.workspace import Workspace


def part(year: int, sides: list[str] | None, slice_: str = "all", source: str = "baci") -> dict:
    """A trade part of the manifest; ``sides`` None for stores written before sides were kept."""
    record = {
        "table": "trade",
        "source": source,
        "classification": "HS17",
        "release": "V1",
        "year": year,
        "slice": slice_,
        "rows": 10,
        "demo": False,
    }
    if sides is not None:
        record["reporter_sides"] = sides
    return record


def test_distinct_keys_needs_one_part_per_year_from_one_importer_side() -> None:
    (whole,) = datasets([part(2021, ["reconciled"]), part(2022, ["reconciled"])])
    assert whole.distinct_keys and whole.reporter_sides == ("reconciled",)
    # Two files of one year (an importer's file and an exporter's file) may share keys.
    (split,) = datasets([part(2022, ["reconciled"], "DZA-m"), part(2022, ["reconciled"], "x")])
    assert not split.distinct_keys
    # Exporter-reported rows need the mirror merge; so does an unknown (older) part.
    (mirror,) = datasets([part(2022, ["exporter", "importer"], source="comtrade")])
    assert not mirror.distinct_keys
    (old,) = datasets([part(2022, None)])
    assert not old.distinct_keys


def test_ingest_records_reporter_sides(home: Path) -> None:
    ws = Workspace.open(home)
    ws.load_demo()
    parts = [p for p in ws.store.manifest()["parts"] if p["table"] == "trade"]
    assert parts and all(p["reporter_sides"] == ["reconciled"] for p in parts)
    (demo,) = datasets(parts)
    assert demo.distinct_keys


def test_workspace_memo_is_forgotten_after_an_ingest(home: Path) -> None:
    # Coverage and the like are computed once per workspace, and again once the store changes.
    ws = Workspace.open(home)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert ws.memo("key", compute) == 1
    assert ws.memo("key", compute) == 1
    ws.load_demo()
    assert ws.memo("key", compute) == 2
