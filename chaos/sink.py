"""``python -m chaos --sink``: SIGKILL the lake's sink during a clicks run, then audit the files.

A worker charges the clicks; the sink is killed ``kills`` times, each after it
has published more files, and restarted at once. In the end every committed
ledger entry (read_committed) must be in exactly one file row, equal to it.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import fsspec

from infra.lake_sink import SinkProcess
from infra.workers import FAUST, REPO, Deployment, Worker
from lake import audit, naming, store


def _files(root: str, topic: str) -> int:
    return len(store.listing(fsspec.filesystem("file"), naming.topic_glob(root, topic)))


async def run_sink_chaos(
    bootstrap: str, root: Path, seed: int, clicks: int, kills: int, say: Callable[[str], None]
) -> audit.Audit:
    rng = random.Random(seed)
    deployment = Deployment(bootstrap=bootstrap, root=root)
    lake = str(root / "lake")
    ledger = deployment.topic("TOPIC_AD_LEDGER")
    worker = Worker(deployment).start()
    sink = SinkProcess(deployment, lake, LAKE_ROTATE_RECORDS="5000", LAKE_ROTATE_SECONDS="0.5").start()
    oracle = root / "oracle.json"
    try:
        await worker.wait_http()
        gen = subprocess.Popen(
            [FAUST, "-A", "app", "loadgen", "clicks", "--count", str(clicks), "--advertisers", "200",
             "--rounds", "4", "--seed", str(seed), "--oracle", str(oracle)],
            cwd=REPO, env=deployment.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for n in range(1, kills + 1):
            # After a file more since the restart, or 20 s (the clicks may be done: it then
            # catches up on a backlog, still killed).
            before, deadline = _files(lake, ledger), time.monotonic() + 20
            wanted = before + rng.randint(1, 4)
            while _files(lake, ledger) < wanted and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(rng.uniform(0, 0.5))  # anywhere: mid-batch, mid-write, before the commit
            sink.kill()
            say(f"sink kill {n}/{kills} after {_files(lake, ledger)} ledger files")
            sink.start()
        code = await asyncio.to_thread(gen.wait)
        if code != 0:
            raise RuntimeError(f"loadgen failed ({code})")
        res = await asyncio.to_thread(
            deployment.faust, "verify", "--oracle", str(oracle), "--url", worker.url, "--timeout", "600"
        )
        if res.returncode != 0:
            raise RuntimeError(f"worker did not reach the oracle: {res.stdout[-2000:]}")
        committed = await audit.read_committed({"bootstrap_servers": bootstrap}, ledger)
        fs, deadline = fsspec.filesystem("file"), time.monotonic() + 120
        while len(audit.file_rows(fs, lake, ledger, "ledger")) < len(committed):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        return audit.compare(committed, audit.file_rows(fs, lake, ledger, "ledger"), "ledger")
    finally:
        sink.stop()
        worker.stop()
