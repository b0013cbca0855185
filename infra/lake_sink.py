"""The lake's sink as a real subprocess (`faust -A app sink`), for tests and the chaos run."""

from __future__ import annotations

import os
import signal
import subprocess

from infra.workers import FAUST, REPO, Deployment


class SinkProcess:
    def __init__(self, deployment: Deployment, lake_url: str, **env: str) -> None:
        self.dir = deployment.root / "sink"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = self.dir / "sink.log"
        self.env = deployment.env(LAKE_URL=lake_url, **env)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> SinkProcess:
        self.proc = subprocess.Popen(
            [FAUST, "-A", "app", "sink"], cwd=REPO, env=self.env,
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.starts += 1
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye to the group."""
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
