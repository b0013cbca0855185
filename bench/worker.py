"""A fresh ``faust -A app worker`` subprocess: its own APP_ID, output topics and state dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bench.measure import cpu_seconds, free_port, peak_rss_mb
from config import Settings

REPO = Path(__file__).resolve().parents[1]
FAUST = str(Path(sys.executable).parent / "faust")
# Every setting the app reads; a worker gets only the ones we set (nothing from the shell).
_SETTINGS = {name.upper() for name in Settings.model_fields}


class Worker:
    """``inputs`` maps TOPIC_* variables to the pre-loaded topics; every other topic
    (outputs, dead letters, unused inputs) is named after the app id, so nothing is shared."""

    def __init__(
        self,
        root: Path,
        name: str,
        bootstrap: str,
        inputs: dict[str, str],
        settings: dict[str, str] | None = None,
    ) -> None:
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "worker.log"
        env = {k: v for k, v in os.environ.items() if k.upper() not in _SETTINGS}
        topics = {
            v: f"{name}.{v.removeprefix('TOPIC_').lower()}" for v in _SETTINGS if v.startswith("TOPIC_")
        }
        topics.pop("TOPIC_PARTITIONS", None)
        topics.pop("TOPIC_REPLICATION_FACTOR", None)
        env.update(topics)
        env.update(inputs)
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=bootstrap,
            APP_ID=name,
            PROCESSING_GUARANTEE="exactly_once",
            STORE_DIR=str(self.dir / "state"),
            WEB_HOST="127.0.0.1",
            WEB_PORT=str(self.port),
            PYTHONPATH=str(REPO),
            PYTHONUNBUFFERED="1",
        )
        env.update(settings or {})
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> Worker:
        self.started_at = time.time()
        self.proc = subprocess.Popen(
            [FAUST, "-A", "app", "worker", "-l", "info"],
            cwd=REPO,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"worker {self.name} exited; last lines of {self.log}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.pid)

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.pid)

    async def get(self, http: aiohttp.ClientSession, path: str) -> dict | None:
        """JSON of a 200 answer; None while the worker is not answering yet."""
        try:
            async with http.get(f"{self.url}{path}") as resp:
                return await resp.json() if resp.status == 200 else None
        except (TimeoutError, aiohttp.ClientError, OSError):
            return None

    def stop(self, timeout: float = 30) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
