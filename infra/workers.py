"""Workers as real subprocesses (`faust -A app worker`), isolated per deployment.

Each test gets its own app id and topic names, so tests share one broker
without seeing each other's records, consumer groups or changelogs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from config import Settings
from infra.process import REPO, Service

FAUST = str(Path(sys.executable).parent / "faust")
# Every topic setting (config.Settings is their one list), so no deployment shares a topic.
TOPIC_VARS = tuple(
    name.upper()
    for name, info in Settings.model_fields.items()
    if name.startswith("topic_") and info.annotation is str
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Deployment:
    """One app instance's configuration: an app id, topic names, a broker."""

    bootstrap: str
    root: Path
    name: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    extra: dict[str, str] = field(default_factory=dict)

    def topic(self, var: str) -> str:
        return f"{self.name}.{var.removeprefix('TOPIC_').lower().replace('_', '-')}"

    def env(self, **more: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOPIC_")}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            APP_ID=self.name,
            COMMIT_INTERVAL="0.5",
            PYTHONUNBUFFERED="1",
            **{var: self.topic(var) for var in TOPIC_VARS},
        )
        env.update(self.extra)
        env.update(more)
        return env

    def faust(self, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [FAUST, "-A", "app", *args],
            cwd=REPO, env=self.env(**env), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip


class Worker(Service):
    name = "worker"

    def __init__(self, deployment: Deployment, index: int = 0, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = deployment.root / f"worker-{index}"
        self.dir.mkdir(parents=True, exist_ok=True)
        super().__init__(
            [FAUST, "-A", "app", "worker", "-l", "info"],
            deployment.env(WEB_PORT=str(self.port), STORE_DIR=str(self.dir / "state"), **env),
            self.dir / "worker.log",
        )

    async def wait_http(self, timeout: float = 90) -> None:
        await self.wait_200(f"{self.url}/healthz", timeout, "serving HTTP")

    async def wait_ready(self, timeout: float = 180) -> None:
        """Until GET /readyz says 200: partitions assigned and tables recovered."""
        await self.wait_200(f"{self.url}/readyz", timeout, "ready")
