"""`python -m infra.kafka start/status/tool/stop` round trip, as a developer would type it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.kafka.jars import REPO_ROOT
from infra.kafka.procs import find_pids, pid_alive

pytestmark = pytest.mark.integration


def _cli(*args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.kafka", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_start_status_stop(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "kafka")
    started = _cli("start", "--port", "0", "--data-dir", data_dir)
    try:
        assert started.returncode == 0, started.stderr
        state = json.loads((tmp_path / "kafka" / "cluster.json").read_text())
        assert started.stdout.strip() == state["bootstrap_servers"]
        pids = [n["pid"] for n in state["nodes"]]
        # The launcher has exited; the detached JVM keeps running.
        assert all(pid_alive(pid) for pid in pids)

        status = _cli("status", "--data-dir", data_dir)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "alive" in status.stdout

        topics = _cli("tool", "topics", "--list", "--data-dir", data_dir)
        assert topics.returncode == 0, topics.stderr
        assert "__transaction_state" in topics.stdout.split()

        again = _cli("start", "--port", "0", "--data-dir", data_dir)
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        stopped = _cli("stop", "--data-dir", data_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert not any(pid_alive(pid) for pid in pids)
    assert find_pids(str(tmp_path)) == []
    assert _cli("status", "--data-dir", data_dir).returncode == 1
    assert _cli("stop", "--data-dir", data_dir).returncode == 0  # idempotent
