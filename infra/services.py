"""The order service as a real subprocess (`python -m shop`), for tests, chaos and benches."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import aiohttp

from infra.workers import REPO, Deployment, free_port


class ShopProcess:
    """``python -m shop`` for ``deployment`` (its topics), on ``dsn``, watching ``connector``."""

    def __init__(
        self, deployment: Deployment, dsn: str, connect_url: str, connector: str, **env: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = deployment.root / f"shop-{self.port}.log"
        self.env = deployment.env(
            SHOP_DATABASE_URL=dsn,
            SHOP_PORT=str(self.port),
            SHOP_CONNECT_URL=connect_url,
            SHOP_CONNECTOR=connector,
            **env,
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> ShopProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shop"],
            cwd=REPO,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if not self.alive():
                    raise AssertionError(f"order service exited:\n{self.log_tail()}")
                try:
                    async with http.get(f"{self.url}/readyz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"order service not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
