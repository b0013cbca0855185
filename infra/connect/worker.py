"""One distributed Kafka Connect worker: its config files, the JVM, its REST API.

Distributed mode keeps connector configs, offsets and status in Kafka topics (prefixed by
the worker's group), so a SIGKILLed worker restarts where its last offset flush left it:
Debezium then re-sends what it had sent since (at least once; the pipelines' duplicate
filters absorb it).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from infra.kafka.jars import KafkaError
from infra.kafka.procs import error_lines, free_ports, pid_alive, signal_pid, tail

from .jars import LIBS_DIR, fetch

MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
LOG4J2 = """\
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
"""


class ConnectError(KafkaError):
    pass


def worker_properties(bootstrap: str, port: int, group: str, flush_ms: int) -> str:
    props = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "config.storage.topic": f"{group}-configs",
        "offset.storage.topic": f"{group}-offsets",
        "status.storage.topic": f"{group}-status",
        "config.storage.replication.factor": "1",
        "offset.storage.replication.factor": "1",
        "status.storage.replication.factor": "1",
        # Outbox values are the payload column's JSON text, keys the record_key column: bytes as
        # the pipelines read them, no schema envelope.
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        # How often source offsets (and so Debezium's slot position) are committed: what a
        # SIGKILL can make Connect re-send.
        "offset.flush.interval.ms": str(flush_ms),
        "listeners": f"http://127.0.0.1:{port}",
        "rest.advertised.host.name": "127.0.0.1",
        "rest.advertised.port": str(port),
        "producer.linger.ms": "5",
        "scheduled.rebalance.max.delay.ms": "0",  # a restarted lone worker takes its tasks at once
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


class ConnectWorker:
    """A worker under ``data_dir`` (configs, log, pid) whose REST API listens on ``port``."""

    def __init__(
        self,
        data_dir: Path | str,
        bootstrap: str,
        port: int | None = None,
        *,
        group: str = "shop-connect",
        flush_ms: int = 1000,
        heap: str = "384m",
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.bootstrap = bootstrap
        self.port = port
        self.group = group
        self.flush_ms = flush_ms
        self.heap = heap
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "connect.log"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "connect.json"

    @classmethod
    def from_dir(cls, data_dir: Path | str) -> ConnectWorker:
        path = Path(data_dir).resolve() / "connect.json"
        try:
            s = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConnectError(f"no Connect worker in {path.parent}") from None
        return cls(data_dir, s["bootstrap"], s["port"], group=s["group"], flush_ms=s["flush_ms"])

    def pid(self) -> int | None:
        try:
            return int(json.loads(self.state_file.read_text())["pid"])
        except (FileNotFoundError, KeyError, ValueError):
            return None

    def alive(self) -> bool:
        return pid_alive(self.pid(), str(self.data_dir))

    def start(self, *, detach: bool = True, timeout: float = 120) -> None:
        if self.alive():
            return
        fetch()
        java = shutil.which("java")
        if java is None:
            raise ConnectError("java not found on PATH; Kafka Connect needs a JDK/JRE 17")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_ports(1)[0]
        props, log4j = self.data_dir / "connect-distributed.properties", self.data_dir / "log4j2.properties"
        props.write_text(worker_properties(self.bootstrap, self.port, self.group, self.flush_ms))
        log4j.write_text(LOG4J2)
        cmd = [
            java,
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dconnect.dir={self.data_dir}",
            "-cp",
            f"{LIBS_DIR}/*",
            MAIN,
            str(props),
        ]
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=detach,
            )
        state = {
            "pid": self.proc.pid,
            "port": self.port,
            "bootstrap": self.bootstrap,
            "group": self.group,
            "flush_ms": self.flush_ms,
        }
        self.state_file.write_text(json.dumps(state))
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 120) -> None:
        """Until the REST API answers for the cluster (the worker joined its group)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Our own child: poll it (its /proc cmdline is briefly unreadable while the JVM starts).
            gone = self.proc.poll() is not None if self.proc is not None else not self.alive()
            if gone:
                raise ConnectError(
                    f"Connect worker exited: {error_lines(self.log_file)}\n{tail(self.log_file)}"
                )
            try:
                self.request("GET", "/connectors")
                return
            except (OSError, ConnectError):
                time.sleep(0.25)
        raise ConnectError(f"Connect worker not ready after {timeout}s\n{tail(self.log_file)}")

    def stop(self, timeout: float = 30) -> None:
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        self._signal(signal.SIGKILL, 10)

    def _signal(self, sig: int, timeout: float) -> None:
        pid = self.pid()
        if pid is None or not self.alive():
            return
        signal_pid(pid, sig)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            if self.proc is not None:
                self.proc.poll()
            time.sleep(0.05)
        if self.alive():
            signal_pid(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        return ConnectRest(self.url).request(method, path, body)


class ConnectRest:
    """Connect's REST API at ``url`` (any worker of the cluster)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One REST call; a 4xx/5xx raises ConnectError with Connect's message."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise ConnectError(f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from None
        return json.loads(raw) if raw else None
