"""Bad input: each case gives one clear sentence and leaves the store exactly as it was."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from chokepoints.errors import InputError, StoreBusyError, StoreError
from chokepoints.store import Store
from chokepoints.workspace import Workspace
from helpers import SMALL_ROWS, snapshot, write_baci


@pytest.fixture
def loaded(home: Path, tmp_path: Path) -> Workspace:
    """A store holding one small BACI year, so that 'unchanged' means something."""
    ws = Workspace.open(home)
    rows = [r.replace("2021,", "2020,", 1) for r in SMALL_ROWS]
    ws.ingest_baci(write_baci(tmp_path / "good", rows, name="BACI_HS17_Y2020_V202501.csv"))
    return ws


def _ingest_fails(ws: Workspace, path: Path, match: str, **options: object) -> InputError:
    """Ingest ``path``, expect an InputError matching ``match``, and check nothing changed."""
    before_info, before_files = ws.info(), snapshot(ws.home)
    with pytest.raises(InputError, match=match) as caught:
        ws.ingest_baci(path, **options)
    assert ws.info() == before_info
    assert snapshot(ws.home) == before_files
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return caught.value


def test_truncated_zip(loaded: Workspace, tmp_path: Path) -> None:
    member = write_baci(tmp_path / "m", SMALL_ROWS * 50)
    archive = tmp_path / "BACI_HS17_V202501.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(member, member.name)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    error = _ingest_fails(loaded, archive, "truncated or damaged")
    assert "download it again" in str(error)


def test_renamed_column(loaded: Workspace, tmp_path: Path) -> None:
    path = write_baci(tmp_path, SMALL_ROWS, header="t,i,j,k,value,q")
    error = _ingest_fails(loaded, path, r"missing column\(s\) v: found t, i, j, k, value, q")
    assert error.line == 1


def test_missing_column(loaded: Workspace, tmp_path: Path) -> None:
    rows = [r.rsplit(",", 1)[0] for r in SMALL_ROWS]
    _ingest_fails(loaded, write_baci(tmp_path, rows, header="t,i,j,k,v"), "missing column")


def test_non_numeric_value_names_line_and_field(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS[:2], "2021,156,392,850760,abc,1"]
    error = _ingest_fails(loaded, write_baci(tmp_path, rows), "'abc' is not a number")
    assert (error.line, error.field) == (4, "v")
    assert "line 4" in str(error)


def test_non_numeric_quantity(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS[:3], "2021,156,392,850760,1,lots"]
    error = _ingest_fails(loaded, write_baci(tmp_path, rows), "quantity")
    assert (error.line, error.field) == (5, "q")


def test_negative_value(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS, "2021,156,392,850760,-3.5,1"]
    error = _ingest_fails(loaded, write_baci(tmp_path, rows), "negative trade value")
    assert error.line == 7


def test_duplicate_rows(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS, "2021,156,392,850511,9,1"]
    error = _ingest_fails(loaded, write_baci(tmp_path, rows), "duplicate flow")
    assert "CHN -> JPN product 850511" in str(error)
    assert error.line == 7  # the second occurrence


def test_unknown_country_code(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS, "2021,999,392,850511,9,1"]
    error = _ingest_fails(loaded, write_baci(tmp_path, rows), r"unknown exporter .*'\?999'")
    assert (error.line, error.field) == (7, "i")


def test_product_code_too_long(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS, "2021,156,392,8505110,9,1"]
    error = _ingest_fails(loaded, write_baci(tmp_path, rows), "product code")
    assert (error.line, error.field) == (7, "k")


def test_product_code_with_letters(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS, "2021,156,392,85051X,9,1"]
    _ingest_fails(loaded, write_baci(tmp_path, rows), "product code")


def test_empty_file(loaded: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "BACI_HS17_Y2021_V202501.csv"
    path.write_text("")
    _ingest_fails(loaded, path, "empty")


def test_header_only(loaded: Workspace, tmp_path: Path) -> None:
    _ingest_fails(loaded, write_baci(tmp_path, []), "no trade rows")


def test_row_with_too_many_fields(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS, "2021,156,392,850760,1,1,extra"]
    _ingest_fails(loaded, write_baci(tmp_path, rows), "(?i)line")


def test_wrong_year_in_yearly_file(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS, "2019,156,392,850760,1,1"]
    _ingest_fails(loaded, write_baci(tmp_path, rows), "year 2019 in a file named for 2021")


def test_disk_full_while_writing(
    loaded: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while committing the manifest: nothing of the new ingest stays."""
    before_info, before_files = loaded.info(), snapshot(loaded.home)
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:
        real_fsync(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("chokepoints.store.os.fsync", full_disk)
    with pytest.raises(StoreError, match=r"No space left on device.*store is unchanged"):
        loaded.ingest_baci(write_baci(tmp_path / "new", SMALL_ROWS[:2]))
    monkeypatch.undo()
    assert loaded.info() == before_info
    assert snapshot(loaded.home) == before_files


def test_permission_error_while_staging(
    loaded: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused write (simulated: tests run as root, where chmod does not stop writes)."""
    before_info, before_files = loaded.info(), snapshot(loaded.home)

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "rename", refuse)
    with pytest.raises(StoreError, match="Permission denied"):
        loaded.ingest_baci(write_baci(tmp_path / "new", SMALL_ROWS[:2]))
    monkeypatch.undo()
    assert loaded.info() == before_info
    assert snapshot(loaded.home) == before_files


def _big_baci(folder: Path, rows: int) -> Path:
    """A BACI-layout file large enough that ingesting it takes a noticeable moment."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "BACI_HS17_Y2021_V202501.csv"
    exporters = [156, 251, 392, 842, 490, 276, 410, 528]
    with path.open("w") as handle:
        handle.write("t,i,j,k,v,q\n")
        for n in range(rows):
            handle.write(
                f"2021,{exporters[n % 8]},{exporters[(n // 8) % 7 + 1 if n % 8 == 0 else 0]}"
                f",{100000 + n // 56:06d},{1 + n % 97}.5,{n % 13}\n"
            )
    return path


def test_process_killed_mid_ingest(loaded: Workspace, tmp_path: Path) -> None:
    """SIGKILL during an ingest: the manifest never changes; the next writer cleans up."""
    before_info, before_files = loaded.info(), snapshot(loaded.home)
    big = _big_baci(tmp_path / "big", 1_500_000)
    script = textwrap.dedent(
        f"""
        from chokepoints.workspace import Workspace
        Workspace.open({str(loaded.home)!r}).ingest_baci({str(big)!r})
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    staging = loaded.home / ".staging"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(staging.rglob("*.parquet")):
        if child.poll() is not None:
            pytest.fail("the ingest finished before it could be killed")
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    # Readers see the store as before, even before any clean-up.
    assert Workspace.open(loaded.home).info() == before_info
    # The next writer removes the leftovers: the tree is byte-for-byte as before.
    with Store(loaded.home).writing():
        pass
    assert snapshot(loaded.home) == before_files


def test_second_ingest_while_one_runs(
    loaded: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer holding the lock makes a second ingest stop with a clear message."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import filelock, sys, time\n"
            f"lock = filelock.FileLock({str(loaded.home / '.lock')!r}); lock.acquire()\n"
            "print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before_info, before_files = loaded.info(), snapshot(loaded.home)
        monkeypatch.setenv("CHOKEPOINTS_LOCK_TIMEOUT", "0.3")
        with pytest.raises(StoreBusyError, match="another chokepoints process is writing"):
            loaded.ingest_baci(write_baci(tmp_path / "new", SMALL_ROWS[:2]))
        assert loaded.info() == before_info
        assert snapshot(loaded.home) == before_files
    finally:
        holder.kill()
        holder.wait()
    # Once the other writer is gone the ingest goes through.
    assert loaded.ingest_baci(write_baci(tmp_path / "new", SMALL_ROWS[:2]))["rows"] == 2


def test_missing_value_names_line(loaded: Workspace, tmp_path: Path) -> None:
    rows = [*SMALL_ROWS[:2], "2021,156,392,850760,,1"]
    error = _ingest_fails(loaded, write_baci(tmp_path, rows), "missing or unreadable value_usd")
    assert (error.line, error.field) == (4, "v")
