"""Workspace: the public facade over one store, its query engine and the reference data.

Everything the CLI, the reports and the web app do goes through these methods, so the Python API
and the command line always give the same numbers. A workspace answers each question on one
generation of the store: it pins the committed manifest, and when a later commit changed it, it
reopens its engine and context on the new files before the next question.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from chokepoints import __version__, engine
from chokepoints.answers import Comparison, Diversification, ProductPicture
from chokepoints.config import EngineSettings, check_backend, engine_settings
from chokepoints.datasets import Dataset
from chokepoints.defaults import DEFAULT_MIN_SHARE, DEFAULT_TRUSTED
from chokepoints.errors import ChokepointsError, InputError
from chokepoints.extract import Extract
from chokepoints.inputs import check_input
from chokepoints.reference.economies import Economies
from chokepoints.store import DATA_FOLDERS, Progress, Store, coverage_counts

if TYPE_CHECKING:
    import ibis
    import pandas as pd

# pandas, Ibis and the query engine are imported where a question or a query needs them
# (``questions`` is a lazy package), so that opening a workspace and reading what its store
# holds (``data info``) stays fast.

if TYPE_CHECKING:
    from chokepoints.analysis.scenario import Scenario
    from chokepoints.questions.context import Context, Memos
    from chokepoints.questions.screens import Prepared

#: What ``info`` counts reporters, importers and exporters by.
COVERAGE_BY = ("source", "classification", "year")

#: The vocabulary of the questions' parameters (checked again by the questions at run time).
Method: TypeAlias = Literal["geodep", "ec2021", "custom"]
Side: TypeAlias = Literal["imports", "exports"]
Allocation: TypeAlias = Literal["pro_rata", "per_importer"]
ShockBy: TypeAlias = Literal["product", "sector", "country", "member"]
StressBy: TypeAlias = Literal["importer", "member"]
Objective: TypeAlias = Literal["hhi", "hhi_wgi"]
Via: TypeAlias = Literal["trade", "icio"]


def resolve_home(home: Path | str | None = None) -> Path:
    """The workspace home: ``home``, else ``CHOKEPOINTS_HOME``, else the user data folder."""
    if home:
        return Path(home).expanduser()
    configured = os.environ.get("CHOKEPOINTS_HOME")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("chokepoints", appauthor=False))


class Workspace:
    """One store of trade data and the engine that queries it.

    >>> ws = Workspace.open()                       # doctest: +SKIP
    >>> ws.load_demo()                              # doctest: +SKIP
    >>> ws.sql("SELECT count(*) FROM trade")        # doctest: +SKIP
    """

    def __init__(
        self, store: Store, backend: str = "duckdb", *, settings: EngineSettings | None = None
    ) -> None:
        self.store = store
        #: The engine and, for Spark, its master and settings (see ``config.engine_settings``).
        self.settings = settings or EngineSettings(backend=check_backend(backend))
        self.backend = self.settings.backend  # the Ibis backend: duckdb or pyspark
        self._con: ibis.BaseBackend | None = None
        self._context: Context | None = None
        self._manifest: dict[str, Any] | None = None
        self._manifest_raw: bytes | None = None
        self._held = False
        #: Set by ``serve``: the memos shared with a server's other workspaces.
        self._memos: Memos | None = None

    @classmethod
    def open(
        cls,
        home: Path | str | None = None,
        backend: str | None = None,
        *,
        spark_master: str | None = None,
        spark_conf: Mapping[str, Any] | None = None,
        spark_store_url: str | None = None,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: Path | str | None = None,
    ) -> Workspace:
        """Open (without creating anything yet, nor starting an engine) the workspace at
        ``home``.

        Parameters
        ----------
        home
            The store's folder; default ``CHOKEPOINTS_HOME``, else the user data folder.
        backend
            ``duckdb`` or ``spark`` (also ``pyspark``); default ``CHOKEPOINTS_BACKEND``, else
            ``backend`` in ``HOME/config.toml``, else ``duckdb``.
        spark_master
            ``local[*]``, ``spark://HOST:PORT`` (standalone cluster) or ``sc://HOST:PORT``
            (Spark Connect); default ``CHOKEPOINTS_SPARK_MASTER``, else ``[spark] master`` in
            ``config.toml``, else ``local[*]`` (or the master of ``spark-submit``). Naming one
            chooses Spark unless ``backend`` says otherwise.
        spark_conf
            Spark settings (``{"spark.executor.memory": "4g"}``), over those of
            ``config.toml``.
        spark_store_url
            Where Spark reads the home folder when its workers do not see the local path
            (``hdfs://...``, ``s3a://...``); default ``[spark] store_url``, else the local path.
        memory_limit
            DuckDB's memory limit (``"6GB"``); beyond it, it spills to disk. Default
            ``[duckdb] memory_limit`` in ``config.toml``, else DuckDB's (80% of RAM).
        threads
            DuckDB's threads; default ``[duckdb] threads``, else every core.
        temp_directory
            Where DuckDB spills; default ``[duckdb] temp_directory``, else DuckDB's own.
        """
        path = resolve_home(home)
        settings = engine_settings(
            path,
            backend=backend,
            spark_master=spark_master,
            spark_conf=spark_conf,
            spark_store_url=spark_store_url,
            memory_limit=memory_limit,
            threads=threads,
            temp_directory=temp_directory,
        )
        return cls(Store(path), settings=settings)

    @property
    def engine_label(self) -> str:
        """The engine that answers, as provenance prints it: ``duckdb`` or ``spark (MASTER)``
        (the master the session really runs on once it is open)."""
        if self._con is not None and self.settings.is_spark:
            return engine.spark_label(self._con)
        return self.settings.label()

    @property
    def home(self) -> Path:
        """The folder holding the store."""
        return self.store.home

    @property
    def icio_cache(self) -> Path:
        """Where parsed ICIO tables are kept as Parquet (``sources.icio_cache``)."""
        return self.home / "icio" / "cache"

    # -- tables --------------------------------------------------------------------------
    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered under ``key`` until the store changes (the next ingest)."""
        return self.context.memo(key, compute)

    @property
    def context(self) -> Context:
        """What the questions are handed: tables, the manifest's parts, the user's reference
        files and a cache, made anew after every commit to the store."""
        from chokepoints.questions.context import Context, Memo

        manifest = self._pin()
        if self._context is None:
            shared = self._memos
            self._context = Context(
                con=self._engine(),
                parts=list(manifest["parts"]),
                economies=self.economies,
                sector_dirs=tuple(self.sector_dirs),
                cache=Memo() if shared is None else shared.of(self._manifest_raw or b""),
                screens=shared is not None,
            )
        return self._context

    def serve(self, memos: Memos) -> None:
        """Answer as one of a server's workspaces: share ``memos`` with the others, so that a
        world-wide result is computed once per store generation for all of them, and answer
        one economy's or product's common questions from world screens (``questions.screens``),
        computed once per year and sliced."""
        self._memos = memos
        self._context = None

    def prepare_screens(self, say: Callable[[str], None] = lambda _: None) -> Prepared | None:
        """Compute the world screens of the default dataset's latest year (see ``serve``);
        returns what was prepared, None when the store holds no complete year."""
        from chokepoints.questions import screens

        return screens.prepare(self.context, say)

    @property
    def economies(self) -> Economies:
        """Countries and groups, the built-in ones and those of ``groups.toml`` in the home."""
        return Economies(self.groups_file)

    @property
    def con(self) -> ibis.BaseBackend:
        """The Ibis backend over the store (opened on first use, reopened after a commit)."""
        self._pin()
        return self._engine()

    def _engine(self) -> ibis.BaseBackend:
        """The backend over the files of the pinned manifest, opened when first needed."""
        if self._con is None:
            self._con = engine.connect(
                self.store,
                self.backend,
                manifest=self._manifest,
                **self.settings.connect_options(),
            )
        return self._con

    def _pin(self) -> dict[str, Any]:
        """The manifest answers are made on: the committed one, re-read at each question.

        When a commit changed it since it was pinned, the engine and context are dropped so
        that they reopen on the new files; the files of the old generation stay on disk for
        a while (``store.KEEP_REPLACED_SECONDS``), so a question under way still finishes.
        """
        if self._manifest is not None and self._held:
            return self._manifest
        raw = self.store.manifest_bytes()
        if self._manifest is None or raw != self._manifest_raw:
            raw, manifest = self.store.read_manifest()
            self._reset()
            self._manifest, self._manifest_raw = manifest, raw
        return self._manifest

    @contextlib.contextmanager
    def _pinned(self) -> Iterator[dict[str, Any]]:
        """Answer everything inside on one manifest, pinned on entry (no refresh meanwhile)."""
        manifest = self._pin()
        held, self._held = self._held, True
        try:
            yield manifest
        finally:
            self._held = held

    @property
    def trade(self) -> ibis.Table:
        """The canonical ``trade`` table as an Ibis expression."""
        return self.con.table("trade")

    @property
    def products(self) -> ibis.Table:
        """Product descriptions per classification."""
        return self.con.table("products")

    @property
    def countries(self) -> ibis.Table:
        """Reference countries with their source-specific codes."""
        return self.con.table("countries")

    @property
    def is_demo(self) -> bool:
        """True when any committed data is the synthetic demo world."""
        return any(p.get("demo") for p in self._pin()["parts"])

    # -- ingest --------------------------------------------------------------------------
    def ingest(
        self, extract: Extract, progress: Progress | None = None, *, replace: bool = False
    ) -> dict[str, Any]:
        """Commit an Extract from any source; return its manifest record.

        ``replace=True`` lets it replace a committed part by one with over 1% fewer rows or
        less value, which is otherwise refused as a likely mistake.
        """
        record = self.store.ingest(extract, progress, replace=replace)
        self._reset()
        return record

    def repair(self) -> dict[str, Any]:
        """Rebuild the manifest from the data files' own metadata (``Store.repair``): what was
        rebuilt, what was missing and what unknown files were moved aside."""
        report = self.store.repair()
        self._reset()
        return report

    def ingest_baci(
        self,
        path: Path | str,
        *,
        revision: str | None = None,
        release: str | None = None,
        years: list[int] | None = None,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Ingest a BACI zip archive, yearly CSV or folder (see ``sources.baci.read_baci``);
        ``replace`` as for ``ingest``. When Spark answers, Spark converts the yearly files
        (``sources.baci_spark``); the checks and the commit are the same."""
        check_input(path, folders=True)
        if self.settings.is_spark:
            from chokepoints.sources.baci_spark import ingest_baci_spark

            record = ingest_baci_spark(
                self.store,
                path,
                self.settings,
                revision=revision,
                release=release,
                years=years,
                progress=progress,
                replace=replace,
            )
            self._reset()
            return record
        from chokepoints.sources.baci import read_baci

        extract = read_baci(path, revision=revision, release=release, years=years)
        return self.ingest(extract, progress, replace=replace)

    def ingest_comtrade(
        self,
        path: Path | str,
        *,
        release: str | None = None,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Ingest a Comtrade Plus CSV export (see ``sources.comtrade.read_comtrade``);
        ``replace`` as for ``ingest``."""
        check_input(path)
        from chokepoints.sources.comtrade import read_comtrade

        return self.ingest(read_comtrade(path, release=release), progress, replace=replace)

    def ingest_table(
        self,
        path: Path | str,
        *,
        mapping: dict[str, str],
        classification: str,
        source: str,
        year: int | None = None,
        unit: str = "usd",
        codes: str = "auto",
        release: str = "user",
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Ingest a tidy bilateral table with a column mapping (see ``sources.table``);
        ``replace`` as for ``ingest``."""
        check_input(path)
        from chokepoints.sources.table import read_table

        extract = read_table(
            path,
            mapping=mapping,
            classification=classification,
            source=source,
            year=year,
            unit=unit,
            codes=codes,
            release=release,
        )
        return self.ingest(extract, progress, replace=replace)

    def ingest_wgi(
        self,
        path: Path | str,
        *,
        release: str | None = None,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Ingest the World Bank Worldwide Governance Indicators (``sources.wgi.read_wgi``);
        ``replace`` as for ``ingest``."""
        check_input(path)
        from chokepoints.sources.wgi import read_wgi

        return self.ingest(read_wgi(path, release=release), progress, replace=replace)

    def ingest_usgs(
        self,
        path: Path | str,
        *,
        release: str | None = None,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Ingest USGS Mineral Commodity Summaries world production data, either layout
        (``sources.usgs.read_usgs``); ``replace`` as for ``ingest``."""
        check_input(path)
        from chokepoints.sources.usgs import read_usgs

        return self.ingest(read_usgs(path, release=release), progress, replace=replace)

    def ingest_production(
        self,
        path: Path | str,
        *,
        mapping: dict[str, str],
        source: str,
        release: str = "user",
        stage: str | None = None,
        unit: str | None = None,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Ingest any production table with a column mapping (``sources.production``)."""
        check_input(path)
        from chokepoints.sources.production import read_production

        extract = read_production(
            path, mapping=mapping, source=source, release=release, stage=stage, unit=unit
        )
        return self.ingest(extract, progress, replace=replace)

    def fetch_baci(
        self,
        revision: str,
        release: str,
        *,
        years: list[int] | None = None,
        base_url: str | None = None,
        download_progress: Callable[[int, int | None], None] | None = None,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Download (resuming if interrupted) a BACI archive and ingest the requested years;
        ``replace`` as for ``ingest``."""
        from chokepoints.sources.baci import fetch_baci

        archive = fetch_baci(
            revision,
            release,
            self.home / "downloads",
            base_url=base_url,
            progress=download_progress,
        )
        return self.ingest_baci(archive, years=years, progress=progress, replace=replace)

    def fetch_usgs(
        self,
        edition: int | str,
        *,
        base_url: str | None = None,
        download_progress: Callable[[int, int | None], None] | None = None,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Download (resuming if interrupted) the USGS MCS world data of ``edition`` (2025 or
        2026) and ingest it; ``replace`` as for ``ingest``."""
        from chokepoints.sources.usgs import fetch_usgs

        path = fetch_usgs(
            edition, self.home / "downloads", base_url=base_url, progress=download_progress
        )
        return self.ingest_usgs(path, progress=progress, replace=replace)

    def fetch_comtrade(
        self,
        reporter: str | Sequence[str],
        hs: str | Sequence[str],
        years: Sequence[int],
        *,
        flow: str | Sequence[str] = "M",
        partner: str | Sequence[str] = "all",
        key: str | None = None,
        base_url: str | None = None,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Fetch annual goods trade from the UN Comtrade API and ingest it as
        ``ingest_comtrade`` does (``sources.comtrade_api``); running the same fetch again after
        an interruption asks only for the calls not yet answered.

        Parameters
        ----------
        reporter
            Reporting countries: ISO3 codes (ISO2 and M49 numbers also do), a list or one
            comma-separated string (``"THA,VNM"``).
        hs
            HS codes of 2, 4 or 6 digits, as a list or ``"8542,2805"``; each is fetched at the
            level written.
        years
            The years to fetch; calls cover at most 12 of them.
        flow
            ``M`` (imports), ``X`` (exports) or both.
        partner
            ``all`` for every partner, else partner countries as for ``reporter``.
        key
            A Comtrade subscription key, sent to the data endpoint (100,000 records a call);
            default ``CHOKEPOINTS_COMTRADE_KEY``, else none and the preview endpoint (500 records
            a call, split further when a call fills it).
        base_url
            The API host; default ``CHOKEPOINTS_COMTRADE_URL``, else
            ``https://comtradeapi.un.org``.
        progress
            Called with (step, done, total) as calls are answered and the ingest runs.
        replace
            As for ``ingest``: let the fetched data replace committed parts by markedly less.

        Returns
        -------
        dict
            The ingest's manifest record; its first note says how many calls and records the
            fetch took and how many calls were split at the cap.
        """
        from chokepoints.sources.comtrade_api import comtrade_request, fetch_comtrade

        request = comtrade_request(reporter, hs, years, flow=flow, partner=partner)
        extract = fetch_comtrade(request, self.home, key=key, base_url=base_url, progress=progress)
        return self.ingest(extract, progress, replace=replace)

    def fetch_wgi(
        self,
        *,
        years: Sequence[int] | None = None,
        base_url: str | None = None,
        progress: Progress | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Fetch the Worldwide Governance Indicators from the World Bank API and ingest them as
        ``ingest_wgi`` does (``sources.wgi_api``), into the same ``governance`` table.

        Parameters
        ----------
        years
            A run of years to keep (``range(1996, 2024)``); default every year the API has.
        base_url
            The API root; default ``CHOKEPOINTS_WORLDBANK_URL``, else
            ``https://api.worldbank.org/v2``.
        progress
            Called with (step, done, total) as pages are fetched and the ingest runs.
        replace
            As for ``ingest``: let the fetched table replace the committed one by markedly less.

        Returns
        -------
        dict
            The ingest's manifest record; its first note says how many estimates and calls the
            fetch took.
        """
        from chokepoints.sources.wgi_api import fetch_wgi

        extract = fetch_wgi(self.home, years=years, base_url=base_url, progress=progress)
        return self.ingest(extract, progress, replace=replace)

    def load_demo(self, progress: Progress | None = None) -> dict[str, Any]:
        """Ingest the deterministic synthetic demo world (marked as demo everywhere)."""
        from chokepoints.sources.demo import demo_extract

        return self.ingest(demo_extract(), progress)

    # -- reference -----------------------------------------------------------------------
    @property
    def groups_file(self) -> Path | None:
        """The user's country groups, ``groups.toml`` in the home, when it exists."""
        path = self.home / "groups.toml"
        return path if path.is_file() else None

    def groups(self) -> pd.DataFrame:
        """Every country group (built-in and the user's), with description and ISO3 members."""
        import pandas as pd

        from chokepoints.reference.groups import group_members, list_groups

        rows = [
            {
                "group": name,
                "description": description,
                "members": sorted(group_members(name, user_file=self.groups_file)),
            }
            for name, description in list_groups(self.groups_file).items()
        ]
        return pd.DataFrame(rows, columns=["group", "description", "members"])

    @property
    def sector_dirs(self) -> list[Path]:
        """Folders of the user's sector files (``HOME/sectors``), read beside the built-in ones."""
        path = self.home / "sectors"
        return [path] if path.is_dir() else []

    # -- analysis ------------------------------------------------------------------------
    # Every question takes explicit keyword parameters; the shared ones mean the same thing
    # everywhere: ``year`` (default: the latest the data covers for the economy asked about),
    # ``source`` (a source of the store, e.g. ``baci``; default: chosen as ``dataset_for``
    # says), ``allow_partial`` (answer on a year the data covers only in part, with a warning).
    def dependencies(
        self,
        country: str,
        *,
        year: int | None = None,
        sector: str | None = None,
        products: Sequence[str] | None = None,
        method: Method = "geodep",
        side: Side = "imports",
        rules: Sequence[str] = (),
        top: int | None = None,
        include_all: bool = False,
        share_from: Sequence[str] = (),
        look_through: bool = False,
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Products on which ``country`` depends: one row per product, most imported first.

        Parameters
        ----------
        country
            ISO3 code or group (``EU27``, ``G7``, a group of ``groups.toml``).
        year
            Year of the question; default the latest the data covers for ``country``.
        sector
            A strategic sector (``semiconductors``...) restricting the products.
        products
            HS codes restricting the products (6, 4 or 2 digits).
        method
            ``geodep`` (CEPII), ``ec2021`` (European Commission) or ``custom`` (``rules``).
        side
            ``imports``, or ``exports`` for exports whose sales hang on one market.
        rules
            For ``method="custom"``: conditions all met, e.g. ``["hhi>0.5"]``.
        top
            Keep the first ``top`` rows.
        include_all
            List every imported product with its metrics and flag, not only dependent ones.
        share_from
            Countries or groups (``["CHN", "RUS"]``): a ``share_<name>`` column each.
        look_through
            Add the top effective origin through value-chain inputs (``upstream``).
        allow_partial
            Answer on a year the data covers only in part, with a warning.
        source
            The store's source to use (``baci``, ``comtrade``...); default chosen per country.

        Returns
        -------
        pandas.DataFrame
            One row per product; ``attrs["provenance"]`` (see ``answers.provenance``) says
            the data, method and parameters used.
        """
        from chokepoints.questions.dependencies import dependencies

        return self._answered(
            dependencies(
                self.context,
                country,
                year=year,
                sector=sector,
                products=products,
                method=method,
                side=side,
                rules=rules,
                top=top,
                include_all=include_all,
                share_from=share_from,
                look_through=look_through,
                allow_partial=allow_partial,
                source=source,
            )
        )

    def dependencies_all(
        self,
        *,
        year: int | None = None,
        sector: str | None = None,
        products: Sequence[str] | None = None,
        include_all: bool = False,
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """GeoDep for every importer and product of one year: the world screen,
        like CEPII's published database.

        Parameters
        ----------
        year
            Year of the screen; default the latest year of the chosen dataset.
        sector
            A strategic sector restricting the products.
        products
            HS codes restricting the products.
        include_all
            List every (importer, product) imported, not only the dependent ones.
        allow_partial
            Screen a year the data covers only in part, with a warning.
        source
            The store's source to use; default the largest world dataset.

        Returns
        -------
        pandas.DataFrame
            One row per (importer, product) with its metrics and ``dependent`` flag, by
            importer then import value.
        """
        from chokepoints.questions.dependencies import dependencies_all

        return self._answered(
            dependencies_all(
                self.context,
                year=year,
                sector=sector,
                products=products,
                include_all=include_all,
                allow_partial=allow_partial,
                source=source,
            )
        )

    def risk(
        self,
        country: str,
        *,
        year: int | None = None,
        sector: str | None = None,
        restrictions: pd.DataFrame | None = None,
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Governance-weighted concentration (HHI_WGI) and EU CRM supply risk of a country's
        imports; needs governance indicators (``ingest_wgi``).

        Parameters
        ----------
        country
            ISO3 code or group.
        year
            Year of the question; default the latest covered.
        sector
            A strategic sector restricting the products.
        restrictions
            Export restrictions: columns ``country``, ``product`` (empty for all) and
            ``factor`` (>= 1) raising the weight of suppliers that restrict.
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per product; ``basis`` says whether shares are trade or production shares.
        """
        from chokepoints.questions.dependencies import supply_risk

        return self._answered(
            supply_risk(
                self.context,
                country,
                year=year,
                sector=sector,
                restrictions=restrictions,
                allow_partial=allow_partial,
                source=source,
            )
        )

    def shock(
        self,
        *,
        scenario: Scenario | None = None,
        preset: str | None = None,
        scenario_file: Path | str | None = None,
        measures: Path | str | None = None,
        supplier: str | None = None,
        sectors: Sequence[str] = (),
        products: Sequence[str] = (),
        importers: Sequence[str] = (),
        fraction: float = 1.0,
        year: int | None = None,
        redirect_fraction: float = 0.5,
        allocation: Allocation = "pro_rata",
        by: ShockBy = "product",
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Direct impact of a disruption: per importer and product, the trade lost, what
        other suppliers' spare capacity can replace (shared by everyone hit) and the shortfall.

        Parameters
        ----------
        scenario
            A ``Scenario`` object (``analysis.scenario``).
        preset
            The name of a shipped scenario (``chokepoints shock --help`` lists them).
        scenario_file
            A scenario TOML file.
        measures
            A CSV file of trade measures (imposing economy, HS6 code, HS revision, type such as
            export ban or licensing, optional fraction; this project's layout or an OECD
            inventory or Global Trade Alert export, see docs/methods/scenarios.md): each
            measure is a shock, each row names the measures binding on it (``measure_id``)
            and the provenance lists them with their matched flows and value at risk
            (``measures``).
        supplier
            For a generic scenario: the country or group that stops exporting.
        sectors
            For a generic scenario: the strategic sectors stopped.
        products
            For a generic scenario: the HS6 codes stopped.
        importers
            For a generic scenario: the importers cut off (default all).
        fraction
            For a generic scenario: the share of exports stopped, in (0, 1].
        year
            Year of the trade hit; default the latest covered.
        redirect_fraction
            Share of other suppliers' exports that could be redirected to those hit.
        allocation
            ``pro_rata`` (spare capacity shared among all importers hit) or the optimistic
            ``per_importer``.
        by
            ``product``, ``sector``, ``country`` (sums), or ``member`` (a group's members one
            by one).
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            Rows sorted by shortfall; the provenance holds the scenario, the allocation rule
            and totals per importer (``by_importer``) and for the world (``world``).
        """
        from chokepoints.questions.disruption import shock

        return self._answered(
            shock(
                self.context,
                scenario=scenario,
                preset=preset,
                scenario_file=None if scenario_file is None else str(scenario_file),
                measures=None if measures is None else str(measures),
                supplier=supplier,
                sectors=sectors,
                products=products,
                importers=importers,
                fraction=fraction,
                year=year,
                redirect_fraction=redirect_fraction,
                allocation=allocation,
                by=by,
                allow_partial=allow_partial,
                source=source,
            )
        )

    def downstream(
        self,
        *,
        scenario: Scenario | None = None,
        preset: str | None = None,
        scenario_file: Path | str | None = None,
        supplier: str | None = None,
        sectors: Sequence[str] = (),
        products: Sequence[str] = (),
        importers: Sequence[str] = (),
        fraction: float = 1.0,
        chains: Sequence[str] = (),
        countries: Sequence[str] = (),
        min_export_share: float = 0.0,
        year: int | None = None,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Value-chain products at risk from a disruption, and the countries producing them.

        Parameters
        ----------
        scenario
            A ``Scenario`` object.
        preset
            The name of a shipped scenario.
        scenario_file
            A scenario TOML file.
        supplier
            For a generic scenario: the country or group that stops exporting.
        sectors
            For a generic scenario: the strategic sectors stopped.
        products
            For a generic scenario: the HS6 codes stopped.
        importers
            For a generic scenario: the importers cut off (default all).
        fraction
            For a generic scenario: the share of exports stopped.
        chains
            Value chains to follow; default every chain holding a shocked product.
        countries
            Restrict the producers shown to these countries or groups.
        min_export_share
            Show producers with at least this share of the product's world exports.
        year
            Year of the trade; default the latest covered.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per (downstream product, producer), with the path back to the shock.
        """
        from chokepoints.questions.disruption import downstream

        return self._answered(
            downstream(
                self.context,
                chains=chains,
                year=year,
                countries=countries,
                min_export_share=min_export_share,
                source=source,
                scenario=scenario,
                preset=preset,
                scenario_file=None if scenario_file is None else str(scenario_file),
                supplier=supplier,
                sectors=sectors,
                products=products,
                importers=importers,
                fraction=fraction,
            )
        )

    def exposure(
        self,
        country: str,
        supplier: str,
        *,
        via: Via = "trade",
        year: int | None = None,
        source: str | None = None,
        icio: Path | str | None = None,
        theta: float = 1.0,
        supplier_sectors: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Reliance of ``country`` on ``supplier``: per strategic sector from trade, or per
        industry from input-output tables with the output lost if the supplier stops.

        Parameters
        ----------
        country
            ISO3 code or group (``via="trade"``); the table's region code (``via="icio"``).
        supplier
            ISO3 code or group; the table's region code for ``via="icio"``.
        via
            ``trade`` (per strategic sector) or ``icio`` (OECD input-output tables).
        year
            Year of the data; default the latest covered (trade) or held (icio).
        source
            For ``via="trade"``: the store's source to use.
        icio
            For ``via="icio"``: an OECD ICIO file or folder; default ``HOME/icio``.
        theta
            For ``via="icio"``: the share of the supplier's intermediate inputs stopped.
        supplier_sectors
            For ``via="icio"``: stop only these industries of the supplier (``["C26"]``).

        Returns
        -------
        pandas.DataFrame
            One row per sector (trade) or industry (icio).
        """
        from chokepoints.questions.disruption import io_exposure

        if via == "icio":
            return self._answered(
                io_exposure(
                    self.context,
                    country,
                    supplier,
                    icio=icio or self.home / "icio",
                    year=year,
                    theta=theta,
                    supplier_sectors=supplier_sectors,
                    cache=self.icio_cache,
                )
            )
        from chokepoints.questions.dependencies import trade_exposure

        if via == "trade":
            return self._answered(
                trade_exposure(self.context, country, supplier, year=year, source=source)
            )
        raise InputError(f"unknown via {via!r}", field="via", hint="use trade or icio")

    def diversify(
        self,
        country: str,
        product: str,
        *,
        year: int | None = None,
        exclude: Sequence[str] = (),
        trusted: Sequence[str] = (DEFAULT_TRUSTED,),
        max_share: float | None = None,
        max_change: float | None = None,
        min_share: float = DEFAULT_MIN_SHARE,
        max_new_suppliers: int | None = None,
        redirect_fraction: float = 0.5,
        objective: Objective = "hhi",
        allow_partial: bool = False,
        source: str | None = None,
    ) -> Diversification:
        """Alternative suppliers of ``product`` for ``country`` and an optimised sourcing mix.

        Parameters
        ----------
        country
            ISO3 code or group.
        product
            HS code (6, 4 or 2 digits, as the data holds).
        year
            Year of the trade; default the latest covered.
        exclude
            Countries or groups that may not supply (their share goes to zero).
        trusted
            Countries or groups counted as trusted partners (default the built-in
            ``like_minded`` group).
        max_share
            Largest share any one supplier may have in the new mix, in (0, 1].
        max_change
            Largest change of the import value the mix may ask, as a share of today's.
        min_share
            Smallest share a supplier may have in the new mix (others get none); 0 turns
            it off. Default 1%, so that no mix spreads imports over slivers.
        max_new_suppliers
            At most this many suppliers that sell nothing today may enter; None: no cap.
        redirect_fraction
            Share of a supplier's exports elsewhere that could be redirected.
        objective
            Minimise ``hhi`` or the governance-weighted ``hhi_wgi``.
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        Diversification
            ``alternatives``, ``mix`` and the optimiser's ``plan``.
        """
        from chokepoints.questions.partners import diversify

        found = diversify(
            self.context,
            country,
            product,
            year=year,
            exclude=exclude,
            trusted=trusted,
            max_share=max_share,
            max_change=max_change,
            min_share=min_share,
            max_new_suppliers=max_new_suppliers,
            redirect_fraction=redirect_fraction,
            objective=objective,
            allow_partial=allow_partial,
            source=source,
        )
        return Diversification(
            alternatives=self._answered(found["alternatives"]),
            mix=self._answered(found["mix"]),
            plan=found["plan"],
        )

    def diversify_all(
        self,
        country: str,
        *,
        year: int | None = None,
        sector: str | None = None,
        products: Sequence[str] | None = None,
        min_hhi: float = 0.4,
        exclude: Sequence[str] = (),
        trusted: Sequence[str] = (DEFAULT_TRUSTED,),
        max_share: float | None = None,
        max_change: float | None = None,
        min_share: float = DEFAULT_MIN_SHARE,
        max_new_suppliers: int | None = None,
        redirect_fraction: float = 0.5,
        objective: Objective = "hhi",
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """The optimised sourcing of every concentrated import of ``country`` in one call.

        Parameters
        ----------
        country
            ISO3 code or group.
        year
            Year of the trade; default the latest covered.
        sector
            A strategic sector restricting the products.
        products
            HS codes restricting the products.
        min_hhi
            Products whose import HHI exceeds this are optimised.
        exclude
            Countries or groups that may not supply.
        trusted
            Countries or groups counted as trusted partners.
        max_share
            Largest share any one supplier may have in a new mix.
        max_change
            Largest change of a product's import value, as a share of today's.
        min_share
            Smallest share a supplier may have in a new mix; 0 turns it off.
        max_new_suppliers
            At most this many new suppliers per product; None: no cap.
        redirect_fraction
            Share of a supplier's exports elsewhere that could be redirected.
        objective
            Minimise ``hhi`` or ``hhi_wgi``.
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per product: feasibility, HHI before and after, the share of risky supply
            replaced, and the reason when no mix meets the constraints.
        """
        from chokepoints.questions.partners import diversify_all

        return self._answered(
            diversify_all(
                self.context,
                country,
                year=year,
                sector=sector,
                products=products,
                min_hhi=min_hhi,
                exclude=exclude,
                trusted=trusted,
                max_share=max_share,
                max_change=max_change,
                min_share=min_share,
                max_new_suppliers=max_new_suppliers,
                redirect_fraction=redirect_fraction,
                objective=objective,
                allow_partial=allow_partial,
                source=source,
            )
        )

    def markets(
        self,
        country: str,
        product: str,
        *,
        year: int | None = None,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Other importers of a product ``country`` exports, ranked by demand, with growth
        (over up to the last five years) and room to sell more.

        Parameters
        ----------
        country
            The exporter: ISO3 code or group.
        product
            HS code.
        year
            Year of the trade; default the latest covered.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per importer, by demand.
        """
        from chokepoints.questions.partners import markets

        return self._answered(markets(self.context, country, product, year=year, source=source))

    def compare(
        self,
        partners: Sequence[str],
        *,
        year: int | None = None,
        sector: str | None = None,
        products: Sequence[str] | None = None,
        trusted: Sequence[str] = (DEFAULT_TRUSTED,),
        exclude: Sequence[str] = (),
        allow_partial: bool = False,
        source: str | None = None,
    ) -> Comparison:
        """Partners side by side: shared chokepoints, complementarity, best practice and what
        trusted suppliers could replace together.

        Parameters
        ----------
        partners
            Two or more countries or groups (``["JPN", "DEU"]``).
        year
            Year of the trade; default the latest year covering every partner.
        sector
            A strategic sector restricting the products.
        products
            HS codes restricting the products.
        trusted
            Countries or groups counted as trusted suppliers (joint diversification).
        exclude
            Countries or groups counted as risky suppliers.
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        Comparison
            ``by_sector``, ``shared``, ``complementarity``, ``best_practice`` and ``joint``.
        """
        from chokepoints.questions.partners import compare

        found = compare(
            self.context,
            list(partners),
            year=year,
            sector=sector,
            products=products,
            trusted=trusted,
            exclude=exclude,
            allow_partial=allow_partial,
            source=source,
        )
        return Comparison(**{name: self._answered(frame) for name, frame in found.items()})

    def stress(
        self,
        *,
        year: int | None = None,
        sectors: Sequence[str] = (),
        importers: Sequence[str] = (),
        top: int | None = None,
        redirect_fraction: float | None = None,
        allocation: Allocation = "pro_rata",
        by: StressBy = "importer",
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Every supplier x strategic sector cut off world-wide, ranked by the importers'
        shortfall after the world's spare capacity is shared among all those hit.

        Parameters
        ----------
        year
            Year of the trade; default the latest covered.
        sectors
            Strategic sectors to test; default all.
        importers
            Countries or groups whose rows are shown (the computation is world-wide).
        top
            Keep the ``top`` worst suppliers per importer and sector.
        redirect_fraction
            Share of other suppliers' exports that could be redirected; default the
            scenario default (0.5).
        allocation
            ``pro_rata`` or the optimistic ``per_importer``.
        by
            ``importer`` (a group buys as one) or ``member`` (a group's members one by one).
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per (supplier, sector, importer), worst shortfall first.
        """
        from chokepoints.questions.disruption import stress

        return self._answered(
            stress(
                self.context,
                year=year,
                sectors=sectors,
                importers=importers,
                top=top,
                redirect_fraction=redirect_fraction,
                allocation=allocation,
                by=by,
                allow_partial=allow_partial,
                source=source,
            )
        )

    def product(
        self,
        code: str,
        *,
        year: int | None = None,
        allow_partial: bool = False,
        source: str | None = None,
    ) -> ProductPicture:
        """The world picture of one product: who exports it, who imports it and who depends.

        Parameters
        ----------
        code
            HS code (6, 4 or 2 digits, as the data holds).
        year
            Year of the trade; default the latest of the chosen dataset.
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        ProductPicture
            ``summary``, ``exporters`` and ``importers``.
        """
        from chokepoints.questions.dependencies import product_picture

        found = product_picture(
            self.context, code, year=year, allow_partial=allow_partial, source=source
        )
        return ProductPicture(**{name: self._answered(frame) for name, frame in found.items()})

    def import_sources(
        self,
        country: str,
        *,
        products: Sequence[str] | None = None,
        year: int | None = None,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Where ``country``'s imports come from, per exporter, largest first.

        Parameters
        ----------
        country
            ISO3 code or group (a group's imports are its members' purchases from outside).
        products
            HS codes restricting the imports; default all.
        year
            Year of the trade; default the latest covered.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per exporter: imports_usd, share and n_products.
        """
        from chokepoints.questions.dependencies import import_sources

        return self._answered(
            import_sources(self.context, country, products=products, year=year, source=source)
        )

    def trend(
        self,
        country: str,
        supplier: str,
        *,
        sector: str | None = None,
        products: Sequence[str] | None = None,
        year: int | None = None,
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """A country's dependence on one supplier over the years, with the verdict
        (de-risking, deepening or stable) and the threshold it uses.

        Parameters
        ----------
        country
            ISO3 code or group.
        supplier
            ISO3 code or group.
        sector
            A strategic sector restricting the products.
        products
            HS codes restricting the products.
        year
            Last year of the series; default the latest covered.
        allow_partial
            Include partly covered years, with a warning.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per year: the supplier's share of imports and the products depending on
            it; the provenance holds the change and the verdict.
        """
        from chokepoints.questions.dependencies import trend

        return self._answered(
            trend(
                self.context,
                country,
                supplier,
                sector=sector,
                products=products,
                year=year,
                allow_partial=allow_partial,
                source=source,
            )
        )

    def production(
        self,
        commodity: str,
        *,
        stage: str | None = None,
        year: int | None = None,
        detail: str | None = None,
    ) -> pd.DataFrame:
        """Countries' production shares of a commodity at one stage, with HHI, top producer
        and the world total used.

        Parameters
        ----------
        commodity
            ``rare_earths``, ``"Rare earths"``, ``cobalt``...
        stage
            ``mine``, ``refinery``, ``smelter``...; default mine if published, else the first.
        year
            Year; default the latest with figures.
        detail
            One type of production (as published); default the one with the most countries.

        Returns
        -------
        pandas.DataFrame
            One row per producing country, largest first.
        """
        from chokepoints.questions.production import production

        return self._answered(
            production(self.context, commodity, stage=stage, year=year, detail=detail)
        )

    def upstream(
        self,
        importer: str,
        product: str,
        *,
        year: int | None = None,
        depth: int = 1,
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Direct and look-through origin shares of an importer's supply of a value-chain
        product: who really supplies it once its inputs are traced upstream.

        Parameters
        ----------
        importer
            ISO3 code or group.
        product
            HS6 code of a value-chain product.
        year
            Year of the trade; default the latest covered.
        depth
            How many steps of inputs to look through (0: direct shares only).
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per (path of inputs, origin), with direct and effective shares.
        """
        from chokepoints.questions.upstream import upstream

        return self._answered(
            upstream(
                self.context,
                importer,
                product,
                year=year,
                depth=depth,
                source=source,
                allow_partial=allow_partial,
            )
        )

    def origins(
        self,
        importer: str,
        product: str,
        *,
        year: int | None = None,
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Reported and transit-corrected import shares: what transit hubs re-export is
        given back to their own origins, with a mirror check when both sides are held.

        Parameters
        ----------
        importer
            ISO3 code or group.
        product
            HS code.
        year
            Year of the trade; default the latest covered.
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per origin: reported and corrected shares (and mirror ratios).
        """
        from chokepoints.questions.upstream import origins

        return self._answered(
            origins(
                self.context,
                importer,
                product,
                year=year,
                source=source,
                allow_partial=allow_partial,
            )
        )

    def chain_stages(
        self,
        country: str,
        *,
        chains: Sequence[str] | None = None,
        year: int | None = None,
        allow_partial: bool = False,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Per value chain and step, upstream first: the world's concentration there
        (production or exports) next to the country's import concentration.

        Parameters
        ----------
        country
            ISO3 code or group.
        chains
            Value chains to show; default all.
        year
            Year of the trade; default the latest covered.
        allow_partial
            Answer on a partly covered year, with a warning.
        source
            The store's source to use.

        Returns
        -------
        pandas.DataFrame
            One row per (chain, step).
        """
        from chokepoints.questions.stages import chain_stages

        return self._answered(
            chain_stages(
                self.context,
                country,
                chains=None if chains is None else list(chains),
                year=year,
                source=source,
                allow_partial=allow_partial,
            )
        )

    def _answered(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the engine that answered in its provenance."""
        record = frame.attrs.get("provenance")
        if isinstance(record, dict):
            frame.attrs["provenance"] = {**record, "engine": self.engine_label}
        return frame

    def dataset_for(
        self,
        country: str,
        *,
        source: str | None = None,
        year: int | None = None,
        allow_partial: bool = False,
    ) -> tuple[Dataset, int]:
        """The HS6 dataset and year the questions about ``country`` answer on (see
        ``datasets.choose_dataset``), refused when the year is partial unless ``allow_partial``."""
        from chokepoints.questions.common import check_coverage, dataset_and_year

        economy = self.economies.resolve(country)
        context = self.context
        dataset, year = dataset_and_year(
            context, economy=economy, source=source, year=year, level=6
        )
        check_coverage(context, dataset, [year], allow_partial=allow_partial)
        return dataset, year

    def countries_of(self, spec: str) -> list[str]:
        """ISO3 codes of a comma list of countries and groups (``"JPN,DEU,G7"``)."""
        from chokepoints.reference.groups import expand_countries

        return expand_countries(spec, self.groups_file)

    # -- inspection ----------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """What the store holds: per source and year, rows, value and reporter coverage, and
        the ICIO tables kept as Parquet (``icio``).

        Read from the manifest, each listed file checked to be whole (as an engine opening the
        store checks it), so that a damaged store says so here.
        """
        from chokepoints.sources.icio_cache import cached_tables

        with self._pinned() as manifest:
            for table in DATA_FOLDERS:
                self.store.files(table, manifest)
            trade = [p for p in manifest["parts"] if p["table"] == "trade"]
            coverage = self._coverage(trade)
        datasets: dict[tuple[str, str, str], dict[str, Any]] = {}
        for part in trade:
            key = (part["source"], part["release"], part["classification"])
            entry = datasets.setdefault(
                key,
                {
                    "source": key[0],
                    "release": key[1],
                    "classification": key[2],
                    "years": {},
                    "demo": part.get("demo", False),
                },
            )
            year = entry["years"].setdefault(
                part["year"], {"year": part["year"], "rows": 0, "value_usd": 0.0}
            )
            year["rows"] += part["rows"]
            year["value_usd"] += part["value_usd"]
            year.update(coverage.get((key[0], key[2], part["year"]), {}))
        sources = []
        for entry in datasets.values():
            entry["years"] = sorted(entry["years"].values(), key=lambda y: y["year"])
            entry["rows"] = sum(y["rows"] for y in entry["years"])
            entry["value_usd"] = sum(y["value_usd"] for y in entry["years"])
            sources.append(entry)
        return {
            "home": str(self.home),
            "version": __version__,
            "demo": any(s["demo"] for s in sources),
            "rows": sum(s["rows"] for s in sources),
            "value_usd": sum(s["value_usd"] for s in sources),
            "sources": sources,
            "products": sum(p["rows"] for p in manifest["parts"] if p["table"] == "products"),
            "ingests": manifest["ingests"],
            "icio": cached_tables(self.icio_cache),
        }

    def _coverage(self, trade: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
        """Reporters, importers and exporters per (source, classification, year) of the ``trade``
        parts: as recorded at ingest when one part holds the year (distinct counts of several
        slices do not add up), else read from the pinned generation's files with DuckDB
        (whichever engine answers the questions), as for stores ingested before they were
        recorded."""
        fields = {"reporters": int, "importers": int, "exporters": int, "reconciled": bool}
        by_year: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        for part in trade:
            key = (part["source"], part["classification"], part["year"])
            by_year.setdefault(key, []).append(part)

        def recorded(parts: list[dict[str, Any]]) -> bool:
            return len(parts) == 1 and all(
                isinstance(parts[0].get(f), t) for f, t in fields.items()
            )

        if all(recorded(parts) for parts in by_year.values()):
            counts = {key: part for key, [part] in by_year.items()}
        elif self.backend == "duckdb":
            counts = coverage_counts(self._engine().con, "trade", COVERAGE_BY)
        else:
            from chokepoints import sql_sandbox

            with sql_sandbox.connect(self.store, self._manifest) as con:
                counts = coverage_counts(con, "trade", COVERAGE_BY)
        return {
            (source, classification, int(year)): {
                "reporters": found["reporters"],
                "importers": found["importers"],
                "exporters": found["exporters"],
                "coverage": "reconciled (world)" if found["reconciled"] else "reporters only",
            }
            for (source, classification, year), found in counts.items()
        }

    def sql(self, query: str, *, unsafe: bool = False) -> pd.DataFrame:
        """Run DuckDB SQL (whichever engine answers the questions) over ``trade``,
        ``products``, ``countries``, ``governance`` and ``production``, read-only: no file,
        URL, extension or setting is reachable (see ``sql_sandbox``). ``unsafe=True`` runs it
        on the DuckDB engine's own connection, where a query can read and write any file, the
        store included."""
        from chokepoints import sql_sandbox

        if unsafe and self.backend != "duckdb":
            raise ChokepointsError(
                "unsafe SQL runs on the DuckDB engine's own connection, and Spark answers "
                "here; choose the engine duckdb for it"
            )
        if unsafe:
            frame = sql_sandbox.run(self.con.con, query)
        else:
            with sql_sandbox.connect(self.store, self._pin()) as con:
                frame = sql_sandbox.run(con, query)
        frame.attrs["provenance"] = self.provenance()
        return frame

    def provenance(self) -> dict[str, Any]:
        """Sources, releases and revisions behind every result of this workspace."""
        parts = [p for p in self._pin()["parts"] if p["table"] == "trade"]
        return {
            "sources": sorted({f"{p['source']} {p['release']}" for p in parts}),
            "classifications": sorted({p["classification"] for p in parts}),
            "years": sorted({p["year"] for p in parts}),
            "demo": any(p.get("demo") for p in parts),
            "tool": f"chokepoints {__version__}",
        }

    def _reset(self) -> None:
        """Forget the pinned manifest, the engine and what was remembered, so that the next
        question reads the committed manifest and its files."""
        self._manifest = self._manifest_raw = None
        self._context = None
        self._con = None  # closed when no expression holds it any more
