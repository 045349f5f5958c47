"""The Parquet copy of ICIO tables: written on first read, used on the next, replaced when the
source changes, never half-written, and listed by ``data info``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest

from chokepoints.errors import InputError
from chokepoints.sources import icio_cache
from chokepoints.sources.icio import read_icio
from chokepoints.sources.icio_cache import read_icio_cached
from chokepoints.workspace import Workspace
from helpers import assert_one_sentence_error, run
from test_icio import COUNTRIES, mock_table, write_table

FRAMES = ("Z", "Y", "factor_inputs.F", "factor_inputs.F_Y")


def frame(system, attribute: str) -> pd.DataFrame:
    """``system.Z`` or ``system.factor_inputs.F`` by dotted name (written here, for the test)."""
    for name in attribute.split("."):
        system = getattr(system, name)
    return system


def copies(cache: Path) -> list[Path]:
    """Every entry of the cache folder, temporary ones included."""
    return sorted(cache.iterdir()) if cache.exists() else []


def garble_in_place(path: Path) -> None:
    """Overwrite ``path`` with bytes that are no ICIO table, keeping its size and mtime."""
    stat = path.stat()
    path.write_bytes(b"x" * stat.st_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_first_read_writes_the_copy_and_the_second_uses_it(tmp_path: Path) -> None:
    path, cache = write_table(tmp_path), tmp_path / "cache"
    first = read_icio_cached(path, None, cache)
    assert first.how == "parsed" and first.year == 2022
    [folder] = copies(cache)
    assert folder.name == first.sha256 == icio_cache.file_sha256(path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "F.parquet",
        "F_Y.parquet",
        "Y.parquet",
        "Z.parquet",
        "cache.json",
    ]
    record = json.loads((folder / "cache.json").read_text())
    assert record["source"] == {
        "path": str(path.resolve()),
        "size": path.stat().st_size,
        "mtime_ns": path.stat().st_mtime_ns,
    }
    assert record["shapes"]["Z"] == [6, 6] and record["shapes"]["Y"] == [6, 6]
    # The source no longer parses, but its size and mtime are unchanged: the copy answers.
    garble_in_place(path)
    with pytest.raises(InputError, match="OECD ICIO"):
        read_icio(path)
    second = read_icio_cached(path, None, cache)
    assert second.how == "cache"
    table = mock_table()
    assert second.system.Z.loc[("DEU", "C26"), ("USA", "B06")] == table.loc["DEU_C26", "USA_B06"]


def test_the_copy_holds_exactly_what_the_csv_parse_gives(tmp_path: Path) -> None:
    path, cache = write_table(tmp_path), tmp_path / "cache"
    read_icio_cached(path, None, cache)
    cached, parsed = read_icio_cached(path, None, cache), read_icio(path)
    assert cached.how == "cache"
    for attribute in FRAMES:
        pd.testing.assert_frame_equal(
            frame(cached.system, attribute), frame(parsed, attribute), check_exact=True
        )
        assert frame(cached.system, attribute).equals(frame(parsed, attribute))
    cached.system.calc_system()
    parsed.calc_system()
    pd.testing.assert_frame_equal(cached.system.A, parsed.A, check_exact=True)


def test_exposure_answers_the_same_from_csv_and_copy(home: Path, tmp_path: Path) -> None:
    path = write_table(tmp_path)
    ws = Workspace.open(home)
    first = ws.exposure(COUNTRIES[0], COUNTRIES[1], via="icio", icio=path)
    second = ws.exposure(COUNTRIES[0], COUNTRIES[1], via="icio", icio=path)
    assert first.attrs["provenance"]["icio"]["read"] == "parsed"
    assert second.attrs["provenance"]["icio"]["read"] == "cache"
    assert first.attrs["provenance"]["year"] == 2022
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert (home / "icio" / "cache" / first.attrs["provenance"]["icio"]["sha256"]).is_dir()


def test_a_changed_source_is_parsed_again_and_its_old_copy_removed(tmp_path: Path) -> None:
    path, cache = write_table(tmp_path), tmp_path / "cache"
    old = read_icio_cached(path, None, cache)
    mock_table(2021).to_csv(path)  # new content under the same name
    new = read_icio_cached(path, None, cache)
    assert new.how == "parsed" and new.sha256 != old.sha256
    assert new.system.Z.iloc[0, 0] == mock_table(2021).iloc[0, 0] != mock_table().iloc[0, 0]
    assert [p.name for p in copies(cache)] == [new.sha256]


def test_a_touched_source_is_hashed_and_its_copy_kept(tmp_path: Path) -> None:
    path, cache = write_table(tmp_path), tmp_path / "cache"
    first = read_icio_cached(path, None, cache)
    later = time.time_ns() + 5_000_000_000
    os.utime(path, ns=(later, later))
    again = read_icio_cached(path, None, cache)
    assert again.how == "cache" and again.sha256 == first.sha256
    record = json.loads((cache / first.sha256 / "cache.json").read_text())
    assert record["source"]["mtime_ns"] == later  # the next read skips the hash again


def _failing_after_first(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Make the cache's frame writer write one frame, then fail (a full disk, a Ctrl-C)."""
    written: list[Path] = []
    real = icio_cache.write_frame

    def write(frame: pd.DataFrame, path: Path) -> None:
        if written:
            raise error
        real(frame, path)
        written.append(path)

    monkeypatch.setattr(icio_cache, "write_frame", write)


def test_a_failed_write_leaves_no_copy_and_the_answer_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, cache = write_table(tmp_path), tmp_path / "cache"
    _failing_after_first(monkeypatch, OSError(28, "No space left on device"))
    read = read_icio_cached(path, None, cache)
    assert read.how.startswith("parsed, not cached: ") and "No space left" in read.how
    assert read.system.Z.shape == (6, 6)
    assert copies(cache) == []
    monkeypatch.undo()
    assert read_icio_cached(path, None, cache).how == "parsed"
    assert read_icio_cached(path, None, cache).how == "cache"


def test_an_interrupted_write_leaves_no_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, cache = write_table(tmp_path), tmp_path / "cache"
    _failing_after_first(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        read_icio_cached(path, None, cache)
    assert copies(cache) == []
    monkeypatch.undo()
    garble_in_place(path)  # a half copy, were it used, would answer; nothing does
    with pytest.raises(InputError, match="OECD ICIO"):
        read_icio_cached(path, None, cache)


def test_leftovers_of_a_killed_writer_are_never_used(tmp_path: Path) -> None:
    path, cache = write_table(tmp_path), tmp_path / "cache"
    digest = icio_cache.file_sha256(path)
    # A writer killed mid-write leaves its temporary folder; one killed long ago, an old one.
    fresh, stale = cache / f".{digest}.part-1-aa", cache / f".{digest}.part-2-bb"
    for folder in (fresh, stale):
        folder.mkdir(parents=True)
        mock_table().to_parquet(folder / "Z.parquet")
    old = time.time() - icio_cache.STALE_PART_SECONDS - 60
    os.utime(stale, (old, old))
    # And a final folder without its record (written by hand, or damaged).
    (cache / digest).mkdir()
    (cache / digest / "Z.parquet").write_bytes(b"PAR1")
    assert icio_cache.cached_tables(cache) == []
    assert read_icio_cached(path, None, cache).how == "parsed"
    assert sorted(p.name for p in copies(cache)) == sorted([fresh.name, digest])
    assert (cache / digest / "cache.json").is_file()


def test_a_damaged_copy_is_parsed_again(tmp_path: Path) -> None:
    path, cache = write_table(tmp_path), tmp_path / "cache"
    digest = read_icio_cached(path, None, cache).sha256
    (cache / digest / "Y.parquet").write_bytes(b"not parquet")
    again = read_icio_cached(path, None, cache)
    assert again.how == "parsed"
    assert again.system.Y.equals(read_icio(path).Y)
    assert read_icio_cached(path, None, cache).how == "cache"


def test_a_cache_that_cannot_be_written_does_not_fail_the_question(tmp_path: Path) -> None:
    path, blocked = write_table(tmp_path), tmp_path / "a-file"
    blocked.write_text("in the way")
    read = read_icio_cached(path, None, blocked / "cache")
    assert read.how.startswith("parsed, not cached: ")
    assert read.system.Z.shape == (6, 6)


def test_data_info_lists_the_tables_held(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    path = write_table(tmp_path)
    ws = Workspace.open(home)
    assert ws.info()["icio"] == []
    ws.exposure(COUNTRIES[0], COUNTRIES[1], via="icio", icio=path)
    [held] = ws.info()["icio"]
    folder = home / "icio" / "cache" / held["sha256"]
    assert held["year"] == 2022 and held["source_file"] == "2022_SML.csv"
    assert (held["regions"], held["sectors"], held["z_shape"]) == (3, 2, [6, 6])
    assert held["source_bytes"] == path.stat().st_size
    assert held["cached_bytes"] == sum(f.stat().st_size for f in folder.iterdir())
    assert str(tmp_path) not in json.dumps(held)  # no server folder in what info shows
    code, out, err = run(capsys, "data", "info", "--home", str(home))
    assert code == 0, err
    assert "ICIO tables held" in out and "2022_SML.csv" in out and "3 x 2" in out


def test_exposure_on_a_damaged_table_is_one_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_table(tmp_path)
    path.write_text("region,USA_C26\nnot,a table\n")
    code, _, err = run(
        capsys,
        *("exposure", "USA", "--supplier", "CHN", "--via", "icio", "--icio", str(path)),
        *("--home", str(tmp_path / "home")),
    )
    assert_one_sentence_error(code, err)
    assert "2022_SML.csv" in err
    assert not list((tmp_path / "home" / "icio" / "cache").glob("*"))


def test_exposure_figures_match_pymrio_coefficients(home: Path, tmp_path: Path) -> None:
    # The question computes x and A itself (no explicit inverse); pymrio's calc_system is the
    # independent reference for the same figures.
    from chokepoints.analysis.input_output import hypothetical_extraction, look_through_reliance

    path = write_table(tmp_path)
    frame = Workspace.open(home).exposure("CHN", "DEU", via="icio", icio=path, theta=0.5)
    system = read_icio(path)
    system.calc_system()
    look = look_through_reliance(system.A, ["DEU"])
    loss = hypothetical_extraction(system.A, system.Y.sum(axis=1), ["DEU"], theta=0.5)
    for row in frame.itertuples():
        key = (row.region, row.sector)
        assert row.look_through_reliance == pytest.approx(look[key], rel=1e-12)
        assert row.loss == pytest.approx(loss.loc[key, "loss"], rel=1e-9)
        assert row.output == pytest.approx(system.x.loc[key, "indout"], rel=1e-12)
