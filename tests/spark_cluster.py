"""A real Spark standalone cluster on this machine, for tests: a master and workers started from
the PySpark installation (``spark-class``), bound to 127.0.0.1 on free ports, and stopped with
every process they started (the executors included), also when a test fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from helpers import require_spark

#: JVM options of every JVM the tests start (daemons, drivers, executors): the C1 compiler only
#: and the serial collector start a JVM about twice as fast on a small machine, which is what a
#: test of a few small queries needs; the classes of Spark's own jars are not verified again at
#: every start (a fresh CLI run on Spark: 7.2 s instead of 8.5 s). A real deployment keeps
#: Java's defaults.
QUICK_JVM = (
    "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
    "-XX:+UnlockDiagnosticVMOptions -XX:-BytecodeVerificationRemote"
)
#: Everything the cluster's processes talk on.
LOOPBACK = "127.0.0.1"


def spark_home() -> Path:
    """The Spark installation PySpark uses (``SPARK_HOME``, else the pyspark package folder)."""
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home())


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def get_json(url: str, timeout: float = 60) -> Any:
    """The JSON document at ``url`` (the master's, a worker's or the driver's REST API); a
    web UI's first answer can take seconds on a busy machine."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class SparkCluster:
    """A running standalone cluster: its master URL, web UIs and processes."""

    master_url: str
    master_web: str
    worker_webs: list[str]
    folder: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def master_state(self) -> dict[str, Any]:
        """The master's JSON: workers, applications, cores."""
        return get_json(f"{self.master_web}/json/")

    def worker_state(self, index: int) -> dict[str, Any]:
        """A worker's JSON: its executors, with the application each runs for."""
        return get_json(f"{self.worker_webs[index]}/json/")

    def log_tail(self, lines: int = 15) -> str:
        """The end of every daemon's log, to explain a failure."""
        parts = []
        for log in self.logs:
            text = log.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(f"--- {log.name}\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop every daemon and the executors they launched; wait until all have exited."""
        import psutil

        tree: list[psutil.Process] = []
        for process in self.processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                root = psutil.Process(process.pid)
                tree += [root, *root.children(recursive=True)]
        for process in self.processes:
            # Each daemon leads its own process group, which its executors share.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=15)
        for survivor in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                survivor.kill()
        psutil.wait_procs(alive, timeout=10)
        for process in self.processes:
            process.wait(timeout=10)
        left = [p.pid for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if left:
            raise RuntimeError(f"Spark processes still running after the cluster stopped: {left}")


def _environment(folder: Path) -> dict[str, str]:
    """The daemons' environment: loopback only, scratch space in ``folder``, quick JVMs."""
    home = spark_home()
    return {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": LOOPBACK,  # every socket and web UI binds to 127.0.0.1
        "SPARK_LOCAL_HOSTNAME": LOOPBACK,
        "SPARK_LOCAL_DIRS": str(folder / "scratch"),
        "SPARK_DAEMON_JAVA_OPTS": QUICK_JVM,
        "SPARK_DAEMON_MEMORY": "512m",
    }


def _start(command: list[str], log: Path, environment: dict[str, str]) -> subprocess.Popen:
    """Start a daemon in a process group of its own, its output in ``log``; on Linux it is
    also sent SIGTERM if the test process dies without stopping it (``kill -9``)."""
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            start_new_session=True,
            preexec_fn=_die_with_parent if _PRCTL is not None else None,
        )


#: Linux's prctl, looked up here: the child calls it between fork and exec, where importing
#: or loading a library could wait forever on a lock another thread of this process held.
_PRCTL = ctypes.CDLL(None).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """In the child before exec: ask Linux for SIGTERM when the parent process exits."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def running_cluster(
    folder: Path, *, workers: int = 2, cores: int = 1, memory: str = "1g", timeout: float = 120
) -> Iterator[SparkCluster]:
    """A master and ``workers`` workers on 127.0.0.1, yielded once every worker registered;
    everything is stopped on leaving, whatever happened inside."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = _environment(folder)
    spark_class = str(spark_home() / "bin" / "spark-class")
    port, web = free_port(), free_port()
    worker_webs = [free_port() for _ in range(workers)]
    cluster = SparkCluster(
        master_url=f"spark://{LOOPBACK}:{port}",
        master_web=f"http://{LOOPBACK}:{web}",
        worker_webs=[f"http://{LOOPBACK}:{w}" for w in worker_webs],
        folder=folder,
    )
    try:
        master = [spark_class, "org.apache.spark.deploy.master.Master"]
        master += ["--host", LOOPBACK, "--port", str(port), "--webui-port", str(web)]
        cluster.logs.append(folder / "master.log")
        cluster.processes.append(_start(master, cluster.logs[-1], environment))
        for index, worker_web in enumerate(worker_webs):
            work = folder / f"worker-{index}"
            work.mkdir()
            worker = [spark_class, "org.apache.spark.deploy.worker.Worker", cluster.master_url]
            worker += ["--host", LOOPBACK, "--cores", str(cores), "--memory", memory]
            worker += ["--webui-port", str(worker_web), "--work-dir", str(work)]
            cluster.logs.append(folder / f"worker-{index}.log")
            cluster.processes.append(_start(worker, cluster.logs[-1], environment))
        _wait_for_workers(cluster, workers, timeout)
        yield cluster
    finally:
        cluster.stop()


def _wait_for_workers(cluster: SparkCluster, workers: int, timeout: float) -> None:
    """Return once ``workers`` workers are ALIVE at the master; raise with the logs if a
    daemon died or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        for process, log in zip(cluster.processes, cluster.logs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(
                    f"{log.stem} exited with code {process.returncode}\n{cluster.log_tail()}"
                )
        with contextlib.suppress(OSError, ValueError):
            state = get_json(f"{cluster.master_web}/json/", timeout=5)
            if sum(w["state"] == "ALIVE" for w in state["workers"]) >= workers:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{workers} workers did not register within {timeout:.0f} s\n{cluster.log_tail()}"
            )
        time.sleep(0.2)


def driver_conf(folder: Path) -> dict[str, str]:
    """Spark settings of a test driver on the cluster: loopback addresses, its web UI (and
    REST API) on a free port, one-core executors small enough for the workers, quick JVMs."""
    return {
        "spark.driver.host": LOOPBACK,
        "spark.driver.bindAddress": LOOPBACK,
        "spark.ui.enabled": "true",
        "spark.ui.port": str(free_port()),
        "spark.ui.showConsoleProgress": "false",
        "spark.executor.cores": "1",
        "spark.executor.memory": "512m",
        "spark.cores.max": "2",
        "spark.sql.shuffle.partitions": "2",
        "spark.local.dir": str(folder / "driver-scratch"),
        "spark.driver.extraJavaOptions": QUICK_JVM,
        "spark.executor.extraJavaOptions": QUICK_JVM,
    }


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """A standalone master and two one-core workers on 127.0.0.1, stopped after the module.

    Skips without PySpark or Java, except under ``CI=true``, where that fails. A module uses it
    by importing it: ``from spark_cluster import spark_cluster``.
    """
    require_spark("the Spark cluster tests")
    with running_cluster(tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster
