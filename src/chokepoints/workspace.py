"""Workspace: the public facade over one store, its query engine and the reference data.

Everything the CLI, the reports and the web app do goes through these methods, so the Python API
and the command line always give the same numbers. A workspace answers each question on one
generation of the store: it pins the committed manifest, and when a later commit changed it, it
reopens its engine and context on the new files before the next question.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Hashable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoints import __version__, engine, questions
from chokepoints.config import EngineSettings, check_backend, engine_settings
from chokepoints.datasets import Dataset
from chokepoints.errors import ChokepointsError
from chokepoints.extract import Extract
from chokepoints.inputs import check_input
from chokepoints.questions.context import Context
from chokepoints.reference.economies import Economies
from chokepoints.store import DATA_FOLDERS, Progress, Store

if TYPE_CHECKING:
    import ibis
    import pandas as pd

# pandas, Ibis and the query engine are imported where a question or a query needs them
# (``questions`` is a lazy package), so that opening a workspace and reading what its store
# holds (``data info``) stays fast.


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

    @classmethod
    def open(
        cls,
        home: Path | str | None = None,
        backend: str | None = None,
        *,
        spark_master: str | None = None,
        spark_conf: Mapping[str, Any] | None = None,
        spark_store_url: str | None = None,
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
        """
        path = resolve_home(home)
        settings = engine_settings(
            path,
            backend=backend,
            spark_master=spark_master,
            spark_conf=spark_conf,
            spark_store_url=spark_store_url,
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

    # -- tables --------------------------------------------------------------------------
    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered under ``key`` until the store changes (the next ingest)."""
        return self.context.memo(key, compute)

    @property
    def context(self) -> Context:
        """What the questions are handed: tables, the manifest's parts, the user's reference
        files and a cache, made anew after every commit to the store."""
        manifest = self._pin()
        if self._context is None:
            self._context = Context(
                con=self._engine(),
                parts=list(manifest["parts"]),
                economies=self.economies,
                sector_dirs=tuple(self.sector_dirs),
            )
        return self._context

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
        ``replace`` as for ``ingest``."""
        check_input(path, folders=True)
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
    def dependencies(self, country: str, **options: Any) -> pd.DataFrame:
        """Products on which ``country`` (ISO3 or group) depends; see ``questions.dependencies``.

        Options: ``year``, ``sector``, ``method`` (geodep, ec2021, custom), ``side`` (imports,
        exports), ``rules`` (for custom, e.g. ``["hhi>0.5"]``), ``top``, ``include_all``,
        ``allow_partial``, ``source``. The frame's ``attrs["provenance"]`` says how it was made.
        """
        return questions.dependencies(self.context, country, **options)

    def risk(self, country: str, **options: Any) -> pd.DataFrame:
        """Governance-weighted concentration and EU CRM supply risk (``questions.supply_risk``).

        Options: ``year``, ``sector``, ``restrictions`` (DataFrame: country, product, factor),
        ``allow_partial``, ``source``. Needs governance indicators (``ingest_wgi``).
        """
        return questions.supply_risk(self.context, country, **options)

    def shock(self, **options: Any) -> pd.DataFrame:
        """Direct impact of a disruption scenario (``questions.shock``).

        Options: ``scenario`` (object), ``preset``, ``scenario_file``, or ``supplier`` with
        ``sectors``/``products``, ``importers`` and ``fraction``; then ``year``,
        ``redirect_fraction``, ``allow_partial``, ``source``.
        """
        return questions.shock(self.context, **options)

    def downstream(self, **options: Any) -> pd.DataFrame:
        """Value-chain products at risk from a scenario and their producers
        (``questions.downstream``; the scenario options of ``shock``, plus ``chains``,
        ``countries``, ``min_export_share``)."""
        return questions.downstream(self.context, **options)

    def exposure(
        self, country: str, supplier: str, *, via: str = "trade", **options: Any
    ) -> pd.DataFrame:
        """Reliance of ``country`` on ``supplier``: per strategic sector from trade
        (``via="trade"``: ``year``, ``source``), or per industry from input-output tables with
        the output lost by extraction (``via="icio"``: ``icio``, ``year``, ``theta``)."""
        if via == "icio":
            options["icio"] = options.get("icio") or self.home / "icio"
            return questions.io_exposure(self.context, country, supplier, **options)
        if via == "trade":
            return questions.trade_exposure(self.context, country, supplier, **options)
        raise ChokepointsError(f"unknown --via {via!r}; use trade or icio")

    def diversify(self, country: str, product: str, **options: Any) -> dict[str, Any]:
        """Alternative suppliers and an optimised sourcing mix (``questions.diversify``).

        Options: ``year``, ``exclude``, ``trusted``, ``max_share``, ``max_change``,
        ``redirect_fraction``, ``objective`` (hhi, hhi_wgi), ``allow_partial``, ``source``.
        """
        return questions.diversify(self.context, country, product, **options)

    def diversify_all(self, country: str, **options: Any) -> pd.DataFrame:
        """Optimised sourcing of every concentrated import (``questions.diversify_all``)."""
        return questions.diversify_all(self.context, country, **options)

    def markets(self, country: str, product: str, **options: Any) -> pd.DataFrame:
        """Alternative markets for an exporter's product (``questions.markets``)."""
        return questions.markets(self.context, country, product, **options)

    def compare(self, partners: list[str], **options: Any) -> dict[str, pd.DataFrame]:
        """Partners side by side (``questions.compare``): shared chokepoints,
        complementarity, best practice and joint diversification."""
        return questions.compare(self.context, partners, **options)

    def stress(self, **options: Any) -> pd.DataFrame:
        """Every supplier x strategic sector x importer, ranked by shortfall (``questions.stress``).

        Options: ``year``, ``sectors``, ``importers``, ``top``, ``redirect_fraction``,
        ``allow_partial``, ``source``.
        """
        return questions.stress(self.context, **options)

    def product(self, code: str, **options: Any) -> dict[str, pd.DataFrame]:
        """World picture of one product: ``summary``, ``exporters`` and ``importers`` frames."""
        return questions.product_picture(self.context, code, **options)

    def import_sources(self, country: str, **options: Any) -> pd.DataFrame:
        """Where a country's imports come from, per exporter (``questions.import_sources``).

        Options: ``products``, ``year``, ``source``.
        """
        return questions.import_sources(self.context, country, **options)

    def trend(self, country: str, supplier: str, **options: Any) -> pd.DataFrame:
        """A country's dependency on one supplier over the years (``sector``, ``source``)."""
        return questions.trend(self.context, country, supplier, **options)

    def production(
        self,
        commodity: str,
        *,
        stage: str | None = None,
        year: int | None = None,
        detail: str | None = None,
    ) -> pd.DataFrame:
        """Countries' production shares of a commodity at one stage, with HHI, top producer
        and the world total used (``questions.production``)."""
        from chokepoints.questions.production import production

        return production(self.context, commodity, stage=stage, year=year, detail=detail)

    def upstream(
        self,
        importer: str,
        product: str,
        *,
        year: int | None = None,
        depth: int = 1,
        source: str | None = None,
        allow_partial: bool = False,
    ) -> pd.DataFrame:
        """Direct and look-through origin shares of an importer's supply of a chain product
        (``questions.upstream``)."""
        from chokepoints.questions.upstream import upstream

        return upstream(
            self.context,
            importer,
            product,
            year=year,
            depth=depth,
            source=source,
            allow_partial=allow_partial,
        )

    def origins(
        self,
        importer: str,
        product: str,
        *,
        year: int | None = None,
        source: str | None = None,
        allow_partial: bool = False,
    ) -> pd.DataFrame:
        """Reported and transit-corrected import shares (``questions.upstream.origins``)."""
        from chokepoints.questions.upstream import origins

        return origins(
            self.context, importer, product, year=year, source=source, allow_partial=allow_partial
        )

    def chain_stages(
        self,
        country: str,
        *,
        chains: list[str] | None = None,
        year: int | None = None,
        source: str | None = None,
        allow_partial: bool = False,
    ) -> pd.DataFrame:
        """Per value chain and step, upstream first: the world's concentration there
        (production or exports) and the country's imports (``questions.stages``)."""
        from chokepoints.questions.stages import chain_stages

        return chain_stages(
            self.context,
            country,
            chains=chains,
            year=year,
            source=source,
            allow_partial=allow_partial,
        )

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
        """What the store holds: per source and year, rows, value and reporter coverage.

        Read from the manifest, each listed file checked to be whole (as an engine opening the
        store checks it), so that a damaged store says so here.
        """
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
            return {
                key: {
                    "reporters": part["reporters"],
                    "importers": part["importers"],
                    "exporters": part["exporters"],
                    "coverage": "reconciled (world)" if part["reconciled"] else "reporters only",
                }
                for key, [part] in by_year.items()
            }
        query = """
            SELECT source, classification, year,
                   count(DISTINCT CASE WHEN reporter_side = 'exporter' THEN exporter
                                       ELSE importer END) AS reporters,
                   count(DISTINCT importer) AS importers,
                   count(DISTINCT exporter) AS exporters,
                   bool_or(reporter_side = 'reconciled') AS reconciled
            FROM trade GROUP BY ALL
        """
        if self.backend == "duckdb":
            rows = self._engine().con.execute(query).fetchall()
        else:
            from chokepoints import sql_sandbox

            with sql_sandbox.connect(self.store, self._manifest) as con:
                rows = con.execute(query).fetchall()
        return {
            (source, classification, int(year)): {
                "reporters": int(reporters),
                "importers": int(importers),
                "exporters": int(exporters),
                "coverage": "reconciled (world)" if reconciled else "reporters only",
            }
            for source, classification, year, reporters, importers, exporters, reconciled in rows
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
