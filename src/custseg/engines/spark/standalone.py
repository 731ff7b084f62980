"""A Spark standalone cluster on this machine (a master and one worker on 127.0.0.1), for the
tests and benchmarks that must run against a real ``spark://`` master rather than local mode.

Both are started with the PySpark install's own ``bin/spark-class`` (no separate Spark
download) in their own process groups, and stopped (only they) when the ``with`` block ends.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

__all__ = ["StandaloneCluster"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandaloneCluster:
    """``with StandaloneCluster(logs, cores=2, memory="1g") as cluster: cluster.url`` (spark://127.0.0.1:PORT)."""

    def __init__(self, logs: Path, *, cores: int = 2, memory: str = "1g", timeout: float = 90):
        import pyspark

        self.home = Path(pyspark.__file__).parent
        self.logs = Path(logs)
        self.cores, self.memory, self.timeout = cores, memory, timeout
        self.port, self.ui_port, self.worker_ui_port = _free_port(), _free_port(), _free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self._processes: list[subprocess.Popen] = []

    def state(self) -> dict:
        """The master's state (its web UI's JSON: workers, running and completed applications)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as response:
            return json.loads(response.read())

    def applications(self) -> list[dict]:
        state = self.state()
        return state.get("activeapps", []) + state.get("completedapps", [])

    def _start(self, log: str, *args: str) -> None:
        env = {**os.environ, "SPARK_HOME": str(self.home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
        with open(self.logs / log, "wb") as out:
            self._processes.append(subprocess.Popen([str(self.home / "bin" / "spark-class"), *args], env=env, stdout=out,
                                                    stderr=subprocess.STDOUT, start_new_session=True))

    def __enter__(self) -> "StandaloneCluster":
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._start("master.log", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(self.port),
                        "--webui-port", str(self.ui_port))
            self._start("worker.log", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", str(self.cores),
                        "--memory", self.memory, "--webui-port", str(self.worker_ui_port), "--work-dir", str(self.logs / "work"), self.url)
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    if self.state().get("aliveworkers", 0) >= 1:
                        return self
                except (OSError, ValueError):  # not listening yet, or an empty page while it starts
                    pass
                if time.monotonic() > deadline or any(p.poll() is not None for p in self._processes):
                    tails = "".join((self.logs / f).read_text(errors="replace")[-1500:] for f in ("master.log", "worker.log"))
                    raise RuntimeError(f"the standalone master or worker did not start:\n{tails}")
                time.sleep(0.5)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the worker, then the master (their process groups: the executors go with the worker)."""
        for process in reversed(self._processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._processes.clear()

    def __exit__(self, *exc) -> None:
        self.stop()
