"""Run ``Workspace`` questions for the server: on a pool of read-only workspaces, with a
timeout, and cached per (store generation, question, parameters).

Each workspace has its own engine connection, so questions run side by side without sharing
one DuckDB connection between threads. A question that outlives the timeout is interrupted
(DuckDB's ``interrupt``) and answered with ``QuestionTimeout``; its workspace returns to the
pool once the engine has stopped. The cache is dropped as soon as the manifest changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import queue
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from chokepoints.errors import ChokepointsError
from chokepoints.questions.context import Memos
from chokepoints.questions.screens import Prepared
from chokepoints.store import Store
from chokepoints.web.settings import ServerSettings
from chokepoints.workspace import Workspace


class QuestionTimeout(ChokepointsError):
    """A question ran longer than the server's per-request timeout."""


class Answerer:
    """A pool of read-only workspaces answering questions, with a timeout and a cache."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        first = Workspace.open(settings.home)
        workers = 1 if first.settings.is_spark else max(1, settings.workers)
        self.workspaces = [first] + [Workspace.open(settings.home) for _ in range(workers - 1)]
        #: Whether questions are answered from world screens (DuckDB only: on Spark a screen
        #: would pull every economy's answer to the driver).
        self.screens = settings.screens and not first.settings.is_spark
        if self.screens:
            memos = Memos()
            for workspace in self.workspaces:
                workspace.serve(memos)
        self.store = Store(first.home)
        self._executor: ThreadPoolExecutor | None = None
        self._free: queue.SimpleQueue[Workspace] = queue.SimpleQueue()
        for workspace in self.workspaces:
            self._free.put(workspace)
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        #: Answers being computed, by cache key: later requests for them wait on these.
        self._pending: dict[Hashable, Future[Any]] = {}
        self._generation: str | None = None
        #: The manifest file's identity (inode, size, mtime) and its fingerprint when read.
        self._fingerprint: tuple[tuple[int, int, int] | None, str] | None = None

    @property
    def home(self) -> Any:
        """The store's folder."""
        return self.store.home

    def generation(self) -> str:
        """A fingerprint of the committed manifest: it changes with every ingest.

        Every commit renames a new manifest into place, so the file's identity (inode, size,
        mtime) says when to read and hash it again: each request costs a ``stat``, not a read.
        """
        try:
            found = self.store.manifest_path.stat()
            stamp: tuple[int, int, int] | None = (
                found.st_ino,
                found.st_size,
                found.st_mtime_ns,
            )
        except FileNotFoundError:
            stamp = None
        known = self._fingerprint
        if stamp is not None and known is not None and known[0] == stamp:
            return known[1]
        raw = self.store.manifest_bytes() or b""
        fingerprint = hashlib.sha256(raw).hexdigest()[:16]
        self._fingerprint = (stamp, fingerprint)
        return fingerprint

    def cached(self, key: Hashable) -> Any | None:
        """The cached answer for ``key`` on the current generation, or None."""
        with self._cache_lock:
            self._check_generation()
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        return None

    def remember(self, key: Hashable, answer: Any) -> None:
        """Keep ``answer`` under ``key``, dropping the least recently used beyond the limit."""
        with self._cache_lock:
            self._check_generation()
            self._cache[key] = answer
            self._cache.move_to_end(key)
            while len(self._cache) > self.settings.cache_entries:
                self._cache.popitem(last=False)

    def _check_generation(self) -> None:
        """Drop the cache when the store changed since it was filled, and prepare the new
        generation's world screens in the background."""
        generation = self.generation()
        if generation != self._generation:
            self._cache.clear()
            if self._generation is not None and self.screens:
                self._threads().submit(self._on_free_workspace, self._prepare, [])
            self._generation = generation

    async def prepare(self) -> Prepared | None:
        """Compute the world screens of the latest year before the first request (a server
        then answers every economy's page by slicing them), saying so on stderr."""
        if not self.screens:
            return None
        prepared: Prepared | None = await self.run(self._prepare, timeout=None)
        return prepared

    def _prepare(self, workspace: Workspace) -> Prepared | None:
        """The world screens of the store's latest year, on ``workspace``."""
        started = time.perf_counter()
        prepared = workspace.prepare_screens(_say)
        if prepared is not None:
            took = time.perf_counter() - started
            _say(f"world screens of {prepared.label} ready in {took:,.1f} s")
        return prepared

    def forget(self) -> None:
        """Drop the answers and pages kept (the store generation's memos stay)."""
        with self._cache_lock:
            self._cache.clear()

    def key(self, question: str, params: dict[str, Any]) -> tuple[str, str, str]:
        """The cache key of a question: generation, name and canonical parameters."""
        canonical = json.dumps(params, sort_keys=True, default=str)
        return (self.generation(), question, canonical)

    async def ask(self, question: str, **params: Any) -> Any:
        """``Workspace.<question>(**params)``, cached, within the server's timeout.

        Requests for an answer being computed wait for it rather than compute it again: twenty
        analysts opening the same new page cost one computation, not twenty.
        """
        key = self.key(question, params)
        hit = self.cached(key)
        if hit is not None:
            return hit
        with self._cache_lock:
            pending = self._pending.get(key)
            computing = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
        if not computing:
            return await asyncio.shield(asyncio.wrap_future(pending))
        try:
            answer = await self.run(
                lambda ws: getattr(ws, question)(**params), timeout=self.settings.timeout_seconds
            )
        except asyncio.CancelledError:
            pending.set_exception(
                ChokepointsError("the request computing this answer was cancelled; ask again")
            )
            raise
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        else:
            self.remember(key, answer)
            pending.set_result(answer)
            return answer
        finally:
            with self._cache_lock:
                self._pending.pop(key, None)

    async def run(self, call: Callable[[Workspace], Any], *, timeout: float | None) -> Any:
        """``call(workspace)`` on a free workspace of the pool, in a worker thread.

        Past ``timeout`` seconds the engine is interrupted and ``QuestionTimeout`` raised; the
        workspace rejoins the pool when its thread has finished.
        """
        taken: list[Workspace] = []
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._threads(), self._on_free_workspace, call, taken)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            future.cancel()  # still waiting for a thread: it never starts
            for workspace in taken:
                _interrupt(workspace)
            raise QuestionTimeout(
                f"the question took longer than the server's limit of {timeout:g} s; ask for "
                "less (one sector, one year, a smaller limit) or run it as a job"
            ) from None

    def _on_free_workspace(self, call: Callable[[Workspace], Any], taken: list[Workspace]) -> Any:
        """``call`` on a workspace of the pool, from a worker thread. There are as many threads
        as workspaces, so one is always free; taking it here rather than on the event loop
        keeps the pool usable from any loop (a test client starts one per request)."""
        workspace = self._free.get()
        taken.append(workspace)
        try:
            return call(workspace)
        finally:
            self._free.put(workspace)

    def _threads(self) -> ThreadPoolExecutor:
        """The worker threads, one per workspace, started at the first question after
        ``close`` (an app may be started and stopped several times, as test clients do)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                len(self.workspaces), thread_name_prefix="chokepoints-question"
            )
        return self._executor

    def close(self) -> None:
        """Stop the worker threads (questions under way finish first)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _say(message: str) -> None:
    """Progress of the server's preparation, on stderr."""
    print(f"chokepoints serve: {message}", file=sys.stderr, flush=True)


def _interrupt(workspace: Workspace) -> None:
    """Ask the workspace's engine to stop the query it is running (DuckDB only)."""
    con = getattr(workspace, "_con", None)
    raw = getattr(con, "con", None)
    interrupt = getattr(raw, "interrupt", None)
    if callable(interrupt):
        interrupt()
