"""A PostgreSQL cluster of our own under a data directory: initdb, start, stop, status.

Debian's package may create and start its own cluster on 5432; this one never touches it:
its own data directory, port and socket directory (inside the data directory).
``wal_level=logical`` so Debezium can read the write-ahead log through a replication slot.
PostgreSQL refuses to run as root, so as root every server command runs as the package's
``postgres`` user, and the data directory is handed to it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from domain.errors import StreamsError
from infra.kafka.procs import free_ports, pid_alive, tail

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT / ".data" / "postgres"
SUPERUSER = "postgres"
DATABASE = "shop"
# Settings the order service and Debezium rely on; the rest is PostgreSQL's defaults.
SERVER_SETTINGS = {
    "wal_level": "logical",
    "max_replication_slots": "8",
    "max_wal_senders": "8",
    "listen_addresses": "127.0.0.1",
    "fsync": "on",
    "max_connections": "100",
}


class PostgresError(StreamsError, RuntimeError):
    """Base class for everything this package raises on purpose."""


def bin_dir() -> Path:
    """The newest installed server version's binaries (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise PostgresError("PostgreSQL is not installed; run `make postgres` (Debian's postgresql package)")
    return Path(initdb).parent


class PostgresCluster:
    """One server on ``port`` (None: a free one at first start) with its data under ``data_dir``."""

    def __init__(self, data_dir: Path | str, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.host = host

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "cluster.json"

    @classmethod
    def from_dir(cls, data_dir: Path | str) -> PostgresCluster:
        path = Path(data_dir).resolve() / "cluster.json"
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            raise PostgresError(f"no PostgreSQL cluster in {path.parent}") from None
        return cls(data_dir, port=state["port"], host=state["host"])

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    # -- commands ------------------------------------------------------------------------
    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        args = [str(bin_dir() / cmd[0]), *cmd[1:]]
        if os.geteuid() == 0:  # the server refuses root: run as the package's user
            args = ["runuser", "-u", "postgres", "--", *args]
        proc = subprocess.run(args, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise PostgresError(f"{cmd[0]} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
        return proc

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def init(self) -> None:
        """initdb once (trust auth on loopback only: a local development and test cluster)."""
        if (self.pgdata / "PG_VERSION").is_file():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._chown(self.pgdata)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        conf = "".join(f"{k} = '{v}'\n" for k, v in SERVER_SETTINGS.items())
        with (self.pgdata / "postgresql.conf").open("a") as fh:
            fh.write(f"\n# infra.postgres\n{conf}unix_socket_directories = '{self.pgdata}'\n")

    def pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def alive(self) -> bool:
        return pid_alive(self.pid(), str(self.pgdata))

    def start(self, timeout: float = 60) -> None:
        self.init()
        if self.alive():
            return
        if self.port is None:
            self.port = free_ports(1, self.host)[0]
        self.log_file.touch()
        self._chown(self.log_file)
        proc = self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            f"-p {self.port}",
            "start",
            check=False,
        )
        if proc.returncode != 0:
            raise PostgresError(f"PostgreSQL did not start: {proc.stderr.strip()}\n{tail(self.log_file)}")
        self.state_file.write_text(json.dumps({"port": self.port, "host": self.host}))
        if DATABASE not in self.psql("SELECT datname FROM pg_database", database="postgres").split():
            self.psql(f"CREATE DATABASE {DATABASE}", database="postgres")

    def psql(self, sql: str, database: str = DATABASE) -> str:
        args = ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port)]
        return self._run(*args, "-U", SUPERUSER, "-d", database, "-c", sql).stdout

    def stop(self, mode: str = "fast", timeout: float = 60) -> None:
        if self.alive():
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "-t", str(int(timeout)), "stop")

    def kill(self, sig: int = 9) -> None:
        """Crash the postmaster (chaos); its children exit on their own once it is gone."""
        pid = self.pid()
        if pid is not None and self.alive():
            os.kill(pid, sig)
            deadline = time.monotonic() + 30
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
