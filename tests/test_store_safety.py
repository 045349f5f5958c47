"""Issue #11, "Nothing lost, ever": the store never deletes what it does not own, rebuilds a lost
manifest from its files, refuses silent shrinking, and readers see one committed generation."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from chokepoints import store as store_module
from chokepoints.errors import ReplaceError, StoreError
from chokepoints.store import MANIFEST, Store
from chokepoints.workspace import Workspace
from helpers import SMALL_ROWS, assert_one_sentence_error, run, snapshot, write_baci

#: BACI numeric codes of eight countries, all known to the store.
CODES = [156, 251, 392, 842, 490, 276, 410, 528]
YEARS = (2020, 2021)
ROWS_2022 = [row.replace("2021,", "2022,", 1) for row in SMALL_ROWS]
SUM_BY_YEAR = "SELECT year, sum(value_usd) AS v FROM trade GROUP BY year ORDER BY year"


def world(folder: Path, factor: int, products: int = 10) -> Path:
    """A BACI folder of two yearly files, every exporter-importer pair trading ``products``
    codes, values scaled by ``factor``; returns the folder."""
    for year in YEARS:
        rows = [
            f"{year},{i},{j},{100000 + p},{((p * 64 + n) % 97 + 1) * factor},{p % 13}"
            for p in range(products)
            for n, (i, j) in enumerate((i, j) for i in CODES for j in CODES if i != j)
        ]
        write_baci(folder, rows, name=f"BACI_HS17_Y{year}_V202501.csv")
    return folder


def world_sums(factor: int, products: int = 10) -> tuple[tuple[int, float], ...]:
    """Expected (year, value in USD) of ``world``, computed from the values written."""
    pairs = len(CODES) * (len(CODES) - 1)
    total = sum(((p * 64 + n) % 97 + 1) * factor for p in range(products) for n in range(pairs))
    return tuple((year, float(total * 1000)) for year in YEARS)


def jpn_imports(factor: int, products: int = 10) -> float:
    """Expected imports of Japan (392) in USD in a year of ``world``, from the values written."""
    pairs = [(i, j) for i in CODES for j in CODES if i != j]
    return float(
        sum(
            ((p * 64 + n) % 97 + 1) * factor * 1000
            for p in range(products)
            for n, (_, j) in enumerate(pairs)
            if j == 392
        )
    )


def trade_sums(ws: Workspace) -> tuple[tuple[int, float], ...]:
    """(year, value) from the workspace's engine, as one expression holds it."""
    trade = ws.trade
    frame = trade.group_by("year").aggregate(v=trade.value_usd.sum()).order_by("year")
    return tuple(frame.execute().itertuples(index=False, name=None))


def sha(path: Path) -> str:
    """sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def live_hashes(home: Path) -> dict[tuple[str, object], str]:
    """sha256 of each live part's file, keyed by (table, year): what a state's data is."""
    parts = json.loads((home / MANIFEST).read_text())["parts"]
    return {(p["table"], p["year"]): sha(home / p["path"]) for p in parts}


def user_files(home: Path) -> dict[str, str]:
    """Files a user keeps in the home, beside and inside the data folders; their hashes."""
    owned = {
        "trade/notes.csv": "country,remark\nJPN,check magnets\n",
        "trade/source=baci/README.txt": "my own notes\n",
        "products/mine.parquet": "not a store part",
        "notes.md": "# analysis notes\n",
    }
    for name, text in owned.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)
    return {name: sha(home / name) for name in owned}


def assert_kept(home: Path, owned: dict[str, str]) -> None:
    """Every file of ``owned`` is still where it was, byte for byte."""
    assert {name: sha(home / name) for name in owned if (home / name).exists()} == owned


def assert_no_leftovers(home: Path) -> None:
    """Every data file is listed (live or retired), or is a user's file; no work area is left."""
    manifest = json.loads((home / MANIFEST).read_text())
    listed = {p["path"] for p in manifest["parts"]} | {r["path"] for r in manifest["retired"]}
    stray = {
        p.relative_to(home).as_posix()
        for folder in ("trade", "products")
        for p in (home / folder).rglob("*.parquet")
    } - listed
    assert stray <= {"products/mine.parquet"}
    assert not (home / ".staging").exists() and not (home / ".pending").exists()


@pytest.fixture
def world_a(home: Path, tmp_path: Path) -> Workspace:
    """A store holding ``world`` with factor 1 (2 years, 560 flows each)."""
    ws = Workspace.open(home)
    ws.ingest_baci(world(tmp_path / "a", 1))
    return ws


# -- 1, 2: never delete what the manifest does not know ------------------------------------------
def test_missing_manifest_refuses_ingest_and_keeps_every_file(
    world_a: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = world_a.home
    (home / MANIFEST).unlink()
    before = snapshot(home)
    assert any(name.endswith(".parquet") for name in before)
    code, _, err = run(
        capsys, "data", "ingest", "baci", str(world(tmp_path / "b", 2)), "--home", str(home)
    )
    assert_one_sentence_error(code, err)
    assert "no manifest.json" in err and "chokepoints data repair" in err and str(home) in err
    assert snapshot(home) == before
    # Reading refuses too, rather than calling the store empty.
    code, _, err = run(capsys, "data", "info", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "data repair" in err


def test_user_files_in_the_home_survive_ingests(world_a: Workspace, tmp_path: Path) -> None:
    owned = user_files(world_a.home)
    world_a.ingest_baci(world(tmp_path / "b", 2))  # replaces both years
    world_a.ingest_baci(write_baci(tmp_path / "c", ROWS_2022, name="BACI_HS17_Y2022_V202501.csv"))
    with Store(world_a.home).writing():  # the clean-up of leftovers runs here
        pass
    assert_kept(world_a.home, owned)
    assert world_a.sql(SUM_BY_YEAR)["v"].tolist()[:2] == [v for _, v in world_sums(2)]


# -- 3: repair ------------------------------------------------------------------------------------
def test_repair_rebuilds_a_lost_manifest(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = Workspace.open(home)
    ws.ingest_baci(world(tmp_path / "a", 1))
    ws.ingest_baci(write_baci(tmp_path / "c", ROWS_2022, name="BACI_HS17_Y2022_V202501.csv"))
    lost = json.loads((home / MANIFEST).read_text())
    info_before = run(capsys, "data", "info", "--home", str(home))
    owned = user_files(home)
    (home / MANIFEST).unlink()

    code, out, err = run(capsys, "data", "repair", "--home", str(home))

    assert (code, err) == (0, "")
    rebuilt = json.loads((home / MANIFEST).read_text())
    assert rebuilt["parts"] == lost["parts"]
    assert sorted(i["id"] for i in rebuilt["ingests"]) == sorted(i["id"] for i in lost["ingests"])
    assert run(capsys, "data", "info", "--home", str(home)) == info_before
    assert "3 part(s) live, 3 of them rebuilt" in out
    # The user's files under the data folders were moved aside, never deleted; the others stay.
    moved = {name: sha(path) for name in owned for path in home.glob(f"unknown-*/{name}")}
    assert moved == {k: v for k, v in owned.items() if k.startswith(("trade/", "products/"))}
    assert sha(home / "notes.md") == owned["notes.md"]
    assert "trade/notes.csv -> unknown-" in out


def test_repair_moves_a_damaged_part_aside_and_reports_a_missing_one(
    world_a: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    home = world_a.home
    parts = {p["year"]: p["path"] for p in world_a.store.manifest()["parts"]}
    damaged = (home / parts[2020]).read_bytes()
    (home / parts[2020]).write_bytes(damaged[: len(damaged) // 2])
    (home / parts[2021]).unlink()

    code, out, _ = run(capsys, "data", "repair", "--home", str(home))

    assert code == 0
    assert json.loads((home / MANIFEST).read_text())["parts"] == []
    assert f"missing, dropped from the manifest: {parts[2021]}" in out
    [aside] = home.glob(f"unknown-*/{parts[2020]}")
    assert aside.read_bytes() == damaged[: len(damaged) // 2]


def test_repair_keeps_the_newest_part_live_and_the_replaced_one(
    world_a: Workspace, tmp_path: Path
) -> None:
    home = world_a.home
    world_a.ingest_baci(world(tmp_path / "b", 2))
    committed = json.loads((home / MANIFEST).read_text())
    (home / MANIFEST).unlink()
    report = world_a.repair()
    rebuilt = json.loads((home / MANIFEST).read_text())
    assert rebuilt["parts"] == committed["parts"]
    assert sorted(r["path"] for r in rebuilt["retired"]) == sorted(
        r["path"] for r in committed["retired"]
    )
    assert (report["parts"], report["retired"], report["moved"]) == (2, 2, {})
    assert world_a.sql(SUM_BY_YEAR)["v"].tolist() == [v for _, v in world_sums(2)]


def test_repair_of_a_sound_store_changes_no_data(world_a: Workspace) -> None:
    before = {p: h for p, h in snapshot(world_a.home).items() if p != MANIFEST}
    parts = world_a.store.manifest()["parts"]
    report = world_a.repair()
    assert (report["rebuilt"], report["missing"], report["moved"]) == ([], [], {})
    assert world_a.store.manifest()["parts"] == parts
    assert {p: h for p, h in snapshot(world_a.home).items() if p != MANIFEST} == before


# -- 4: shrinking needs --replace -----------------------------------------------------------------
def test_shrinking_a_year_needs_replace(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Workspace.open(home).ingest_baci(write_baci(tmp_path / "a", SMALL_ROWS))
    smaller = write_baci(tmp_path / "b", SMALL_ROWS[:2])
    before = snapshot(home)
    code, _, err = run(capsys, "data", "ingest", "baci", str(smaller), "--home", str(home))
    assert_one_sentence_error(code, err)
    # 1000.5 + 200 + 3000.25 + 50 + 7.5 thousand USD, then the first two rows only.
    assert "5 rows worth 4,258,250 USD" in err and "2 rows worth 1,200,500 USD" in err
    assert "--replace" in err
    assert snapshot(home) == before
    code, out, _ = run(
        capsys, "data", "ingest", "baci", str(smaller), "--replace", "--home", str(home)
    )
    assert code == 0 and "replacing 1 earlier part(s)" in " ".join(out.split())
    assert Workspace.open(home).info()["rows"] == 2


def test_a_change_within_one_percent_or_a_growth_needs_no_flag(home: Path, tmp_path: Path) -> None:
    ws = Workspace.open(home)
    ws.ingest_baci(write_baci(tmp_path / "a", SMALL_ROWS))
    # 4,258,250 -> 4,218,250 USD is 0.94% less: accepted.
    slightly_less = [SMALL_ROWS[0].replace("1000.5", "960.5"), *SMALL_ROWS[1:]]
    assert ws.ingest_baci(write_baci(tmp_path / "b", slightly_less))["value_usd"] == 4_218_250
    # 4,218,250 -> 4,168,250 USD is 1.19% less: refused.
    less = [SMALL_ROWS[0].replace("1000.5", "910.5"), *SMALL_ROWS[1:]]
    with pytest.raises(ReplaceError, match="more than 1% less"):
        ws.ingest_baci(write_baci(tmp_path / "c", less))
    more = [*SMALL_ROWS, "2021,276,392,850511,1,1"]
    assert ws.ingest_baci(write_baci(tmp_path / "d", more))["rows"] == 6


# -- 6: missing or damaged files, damaged manifests -----------------------------------------------
@pytest.mark.parametrize("damage", ["deleted", "truncated", "overwritten"])
def test_missing_or_damaged_part_is_one_sentence(
    world_a: Workspace, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    home = world_a.home
    path = home / world_a.store.manifest()["parts"][0]["path"]
    data = path.read_bytes()
    if damage == "deleted":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(data[:-100])
    else:  # same size, not Parquet any more
        path.write_bytes(b"x" * len(data))
    for command in (["data", "info"], ["sql", "SELECT count(*) FROM trade"], ["deps", "JPN"]):
        code, _, err = run(capsys, *command, "--home", str(home))
        assert_one_sentence_error(code, err)
        assert path.name in err and "chokepoints data repair" in err


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("{not json", "not valid JSON (line 1)"),
        ('{"format": 1, "parts": {}, "ingests": []}', "'parts' is missing or not a list"),
        ('{"format": 1, "parts": [{"table": "trade"}], "ingests": []}', "parts[0] has no valid"),
        ('["format", 1]', "the top level is not a JSON object"),
    ],
)
def test_manifest_of_the_wrong_shape_is_one_sentence(
    world_a: Workspace, tmp_path: Path, text: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    home = world_a.home
    (home / MANIFEST).write_text(text)
    before = snapshot(home)
    for command in (["data", "info"], ["data", "ingest", "baci", str(world(tmp_path / "b", 2))]):
        code, _, err = run(capsys, *command, "--home", str(home))
        assert_one_sentence_error(code, err)
        assert named in err and "chokepoints data repair" in err
    assert snapshot(home) == before


def test_manifest_path_outside_the_store_is_refused(world_a: Workspace) -> None:
    manifest = world_a.store.manifest()
    manifest["retired"] = [{"path": "../outside.parquet", "generation": 1, "replaced": "x"}]
    (world_a.home / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=r"retired\[0\] has path '../outside.parquet' outside"):
        Store(world_a.home).manifest()


# -- 7: reproducible bytes ------------------------------------------------------------------------
def test_same_input_gives_byte_identical_parts(tmp_path: Path) -> None:
    source = world(tmp_path / "in", 1, products=40)
    first, second = Workspace.open(tmp_path / "h1"), Workspace.open(tmp_path / "h2")
    first.ingest_baci(source)
    second.ingest_baci(source)
    first.ingest_baci(source)  # again, replacing its own parts
    hashes = live_hashes(first.home)
    assert hashes == live_hashes(second.home) and len(hashes) == 2
    names = {p["path"] for p in first.store.manifest()["parts"]}
    assert names.isdisjoint(p["path"] for p in second.store.manifest()["parts"])
    # The file's own record holds no ingest id and no time: those live in names and manifest.
    part = first.store.manifest()["parts"][0]
    raw = pq.read_metadata(first.home / part["path"]).metadata[b"chokepoints.part"]
    assert part["ingest"].encode() not in (first.home / part["path"]).read_bytes()
    about = json.loads(raw)["part"]
    assert (about["source"], about["release"], about["slice"]) == ("baci", "V202501", "all")
    # The rows say the rest (classification, year, rows, value): repair reads them there.
    assert pq.read_metadata(first.home / part["path"]).num_rows == 40 * 56 == part["rows"]


# -- 5: snapshot reads ----------------------------------------------------------------------------
def test_reader_of_a_generation_finishes_while_two_more_commit(
    world_a: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = world_a.home
    reader = Workspace.open(home)
    pinned = reader.context  # generation 1, as a question under way holds it
    a, b = world_sums(1), world_sums(2)
    writer = Workspace.open(home)
    writer.ingest_baci(world(tmp_path / "b", 2))  # generation 2
    writer.ingest_baci(world(tmp_path / "a2", 1), replace=True)  # generation 3
    sums = pinned.trade.group_by("year").aggregate(v=pinned.trade.value_usd.sum()).order_by("year")
    assert tuple(sums.execute().itertuples(index=False, name=None)) == a
    # The long-lived workspace answers the next question on the newest generation.
    writer.ingest_baci(world(tmp_path / "b2", 2))  # generation 4
    assert trade_sums(reader) == b
    assert reader.import_sources("JPN", year=2021)["imports_usd"].sum() == jpn_imports(2)
    assert [y["value_usd"] for y in reader.info()["sources"][0]["years"]] == [v for _, v in b]
    # Replaced files go once two generations and the keeping time have passed.
    kept = json.loads((home / MANIFEST).read_text())["retired"]
    assert len(kept) == 6 and all((home / r["path"]).exists() for r in kept)
    monkeypatch.setattr(store_module, "KEEP_REPLACED_SECONDS", 0.0)
    writer.ingest_baci(world(tmp_path / "a3", 1), replace=True)  # generation 5
    retired = json.loads((home / MANIFEST).read_text())["retired"]
    assert sorted(r["generation"] for r in retired) == [4, 4, 5, 5]
    assert not any((home / r["path"]).exists() for r in kept if r["generation"] <= 3)


WRITER = """
import sys
from chokepoints.workspace import Workspace
ws = Workspace.open(sys.argv[1])
for n in range(int(sys.argv[2])):
    ws.ingest_baci(sys.argv[3 + n % 2], replace=True)
    print("committed", n, flush=True)
"""


def test_reads_during_writes_see_one_committed_generation(
    world_a: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A writer re-ingests both years 10 times while this process reads, with a long-lived
    Workspace and fresh CLI calls: every answer is that of one committed generation."""
    home = world_a.home
    owned = user_files(home)
    a, b = world(tmp_path / "a", 1), world(tmp_path / "b", 2)
    answers = {world_sums(1), world_sums(2)}
    deps = {}
    for factor, folder in ((1, a), (2, b)):
        reference = tmp_path / f"reference-{factor}"
        Workspace.open(reference).ingest_baci(folder)
        deps[factor] = run(capsys, "deps", "JPN", "--format", "json", "--home", str(reference))[1]
    reader = Workspace.open(home)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home), "10", str(b), str(a)],
        stdout=subprocess.PIPE,
        text=True,
    )
    seen: dict[str, set[object]] = {"engine": set(), "question": set(), "info": set(), "cli": set()}
    reads, jitter = 0, random.Random(11)
    try:
        while writer.poll() is None and reads < 200:
            seen["engine"].add(trade_sums(reader))
            imports = reader.import_sources("JPN", year=2021)["imports_usd"].sum()
            seen["question"].add(
                {jpn_imports(1): world_sums(1), jpn_imports(2): world_sums(2)}.get(imports)
            )
            years = reader.info()["sources"][0]["years"]
            seen["info"].add(tuple((y["year"], y["value_usd"]) for y in years))
            code, out, err = run(
                capsys, "sql", SUM_BY_YEAR, "--format", "json", "--home", str(home)
            )
            assert (code, err) == (0, "")
            seen["cli"].add(tuple((r["year"], r["v"]) for r in json.loads(out)))
            code, out, _ = run(capsys, "deps", "JPN", "--format", "json", "--home", str(home))
            assert code == 0 and out in deps.values()
            reads += 5
            time.sleep(jitter.uniform(0.0, 0.1))  # no lock-step with the writer's commits
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == 0
    assert writer.stdout.read().count("committed") == 10
    # Never a mix, never anything else.
    assert all(answers_seen <= answers for answers_seen in seen.values()), seen
    assert reads >= 15
    # The long-lived workspace follows commits: the writer ended on world 1, and after one more
    # commit (world 2) every channel answers it. (Whether the reads above met both worlds is
    # chance: a reader may keep sampling the same parity of the alternating writes.)
    Workspace.open(home).ingest_baci(b)
    assert trade_sums(reader) == world_sums(2)
    imports = reader.import_sources("JPN", year=2021)["imports_usd"].sum()
    assert imports == pytest.approx(jpn_imports(2))
    years = reader.info()["sources"][0]["years"]
    assert tuple((y["year"], y["value_usd"]) for y in years) == world_sums(2)
    assert_kept(home, owned)
    assert_no_leftovers(home)


def test_two_writers_at_once(world_a: Workspace, tmp_path: Path) -> None:
    """Two CLI ingests started together: one waits for the other; with no wait allowed, one may
    stop with the lock message. Either way nothing is lost or mixed."""
    home = world_a.home
    owned = user_files(home)
    b, c = world(tmp_path / "b", 2), world(tmp_path / "c", 3)
    command = "from chokepoints.cli import main; main()"
    for timeout, expected_ingests in (("30", 3), ("0", None)):
        environment = {**os.environ, "CHOKEPOINTS_LOCK_TIMEOUT": timeout}
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    command,
                    "data",
                    "ingest",
                    "baci",
                    str(f),
                    "--replace",
                    "--home",
                    str(home),
                ],
                env=environment,
                stderr=subprocess.PIPE,
                text=True,
            )
            for f in (b, c)
        ]
        results = [(child.wait(timeout=60), child.stderr.read()) for child in children]
        for code, err in results:
            assert code == 0 or "another chokepoints process is writing" in err, err
        manifest = json.loads((home / MANIFEST).read_text())
        if expected_ingests:
            assert [code for code, _ in results] == [0, 0]
            assert len(manifest["ingests"]) == expected_ingests
        sums = tuple(Workspace.open(home).sql(SUM_BY_YEAR).itertuples(index=False, name=None))
        assert sums in {world_sums(2), world_sums(3)}
    assert_kept(home, owned)
    assert_no_leftovers(home)


# -- fault injection: kill -9 and a full disk -----------------------------------------------------
KILLED = """
import sys, time
from chokepoints import store
from chokepoints.workspace import Workspace
if sys.argv[3] == "commit":
    write = store.Store._write_manifest
    def announced(self, manifest):
        print("commit", flush=True)
        time.sleep(float(sys.argv[4]))
        write(self, manifest)
    store.Store._write_manifest = announced
ws = Workspace.open(sys.argv[1])
print("go", flush=True)
ws.ingest_baci(sys.argv[2], replace=True)
print("done", flush=True)
"""


@pytest.mark.parametrize(
    ("seed", "when"),
    [(seed, "random") for seed in range(6)] + [(6, "commit"), (7, "commit")],
)
def test_kill_at_any_point_leaves_old_or_new_state(
    world_a: Workspace, tmp_path: Path, seed: int, when: str
) -> None:
    """SIGKILL at a seeded random moment of an ingest (or right at its commit): the next open
    sees the old or the new state, byte for byte, and the user's files are all there."""
    home = world_a.home
    owned = user_files(home)
    reference = tmp_path / "reference"
    Workspace.open(reference).ingest_baci(world(tmp_path / "b", 2, products=300))
    states = {"old": live_hashes(home), "new": live_hashes(reference)}
    old_files = {p["path"]: sha(home / p["path"]) for p in world_a.store.manifest()["parts"]}
    delay = random.Random(seed).uniform(0.0, 1.2 if when == "random" else 0.004)
    arguments = [str(home), str(tmp_path / "b"), when, str(delay)]
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED, *arguments], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "go"
    if when == "commit":
        assert child.stdout.readline().strip() == "commit"
        delay = random.Random(seed + 100).uniform(0.0, 0.008)  # before or after the rename
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    # Readers see one committed state before any clean-up, then the next writer cleans up.
    sums = tuple(Workspace.open(home).sql(SUM_BY_YEAR).itertuples(index=False, name=None))
    assert sums in {world_sums(1), world_sums(2, products=300)}
    with Store(home).writing():
        pass
    assert live_hashes(home) in states.values()
    assert_no_leftovers(home)
    assert_kept(home, owned)
    assert {p: sha(home / p) for p in old_files} == old_files  # replaced files are kept too


def test_disk_full_at_the_commit_rename_leaves_the_store_unchanged(
    world_a: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ENOSPC from the rename that commits (the store's last step): nothing changes."""
    home = world_a.home
    owned = user_files(home)
    before = snapshot(home)
    real_replace = os.replace

    def full_disk(source: str | Path, target: str | Path) -> None:
        if Path(target).name == MANIFEST:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr("chokepoints.store.os.replace", full_disk)
    code, _, err = run(
        capsys, "data", "ingest", "baci", str(world(tmp_path / "b", 2)), "--home", str(home)
    )
    assert_one_sentence_error(code, err)
    assert "No space left on device" in err and "store is unchanged" in err
    assert snapshot(home) == before
    # A repair that cannot write its manifest moves and deletes nothing either.
    (home / MANIFEST).unlink()
    without = snapshot(home)
    code, _, err = run(capsys, "data", "repair", "--home", str(home))
    assert_one_sentence_error(code, err)
    assert "No space left on device" in err and "nothing was deleted" in err
    assert snapshot(home) == without
    assert_kept(home, owned)
