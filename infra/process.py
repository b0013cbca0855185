"""A service of the project as a real subprocess: its own session (a signal reaches its
children too), its output in a log file, stopped by signal and waited for."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Self

import aiohttp

REPO = Path(__file__).resolve().parents[1]


class Service:
    """``argv`` run from the repository with ``env``, logging to ``log``; ``name`` for errors."""

    name = "process"

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.argv, self.env, self.log = argv, env, log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> Self:
        self.proc = subprocess.Popen(
            self.argv, cwd=REPO, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.starts += 1
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye to the group."""
        self.stop(signal.SIGKILL)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    async def wait_200(self, url: str, timeout: float, what: str) -> None:
        """Until GET ``url`` answers 200; fails with the log's tail if the process exits."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if not self.alive():
                    raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
                try:
                    async with http.get(url) as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.3)
        raise AssertionError(f"{self.name} not {what} after {timeout}s:\n{self.log_tail()}")
