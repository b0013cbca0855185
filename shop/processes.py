"""Several service processes on one port (``SO_REUSEPORT``): the kernel spreads connections.

``python -m shop`` with ``SHOP_PROCESSES`` > 1 is a supervisor: it starts that many
``python -m shop serve --child I --parent PID`` processes and serves nothing itself. Child 0
runs the monitor (connector state, outbox gauges, pruning); the others only serve. Their
metrics go to one directory (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``,
set for the children only), and any child's ``/metrics`` answers for all of them.

A child dies with its supervisor (``PR_SET_PDEATHSIG``): a SIGKILLed service leaves no
orphan serving on the port. When a child exits, the supervisor stops the others and exits
with its status, so whatever restarts the service restarts all of it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from types import FrameType

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent goes (Linux); exit now if it has gone already."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


def supervise(count: int) -> int:
    metrics_dir = tempfile.mkdtemp(prefix="shop-metrics-")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    cmd = [sys.executable, "-m", "shop", "serve", "--parent", str(os.getpid()), "--child"]
    children = [subprocess.Popen([*cmd, str(i)], env=env) for i in range(count)]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while True:
            for child in children:
                code = child.poll()
                if code is not None:
                    if not stopping:
                        print(f"shop: process {child.args[-1]} exited ({code}); stopping", file=sys.stderr)
                        stop(signal.SIGTERM, None)
                    return _wait_all(children, code)
            time.sleep(0.2)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _wait_all(children: list[subprocess.Popen[bytes]], first: int, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 0 if first in (0, -signal.SIGTERM, -signal.SIGINT) else 1
