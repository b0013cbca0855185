"""The worker's clicks drain with and without the lake's sink beside it (``bench.lake``).

As ``make bench`` times a drain (``bench.faust_run``): top-ups readable, clicks
pre-loaded in a transaction held open (``bench.preload.Gate``); a fresh worker
applies the top-ups, the gate opens and the rate is the clicks over the time
from the gate opening to the last click consumed (``GET /stats``), then the
budgets are checked against the oracle. With the sink, ``faust -A app sink`` runs
beside the worker on its ledger from before the gate opens, and the run waits
until every ledger entry (a top-up's or a click's) is in a file.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import aiohttp
import fsspec
import pyarrow.parquet as pq

from bench import faust_run
from bench.broker import create_topics
from bench.preload import Gate, load
from bench.worker import FAUST, REPO, Worker
from bench.workload import BenchClicks
from lake import naming, store


class SinkRun(Worker):
    """``faust -A app sink`` with a worker's settings (its APP_ID, its topics)."""

    def __init__(self, worker: Worker, lake: Path, **env: str) -> None:
        super().__init__(worker.dir.parent, f"{worker.name}-sink", worker.env["KAFKA_BOOTSTRAP_SERVERS"], {})
        self.env = {**worker.env, "LAKE_URL": str(lake), "WEB_PORT": str(self.port), **env}
        self.log = self.dir / "sink.log"

    def start(self) -> SinkRun:
        self.started_at = time.time()
        self.proc = subprocess.Popen(
            [FAUST, "-A", "app", "sink"], cwd=REPO, env=self.env, stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return self

    async def assigned(self, partitions: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.log.read_text(errors="replace").count(" assigned, newest batch") < partitions:
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the sink has not taken its partitions:\n{self.tail()}")
            await asyncio.sleep(0.2)


def rows_in_files(root: str, topic: str) -> int:
    """Rows in the published files, from their footers (cheap enough to poll)."""
    fs = fsspec.filesystem("file")
    return sum(pq.read_metadata(p).num_rows for p in store.listing(fs, naming.topic_glob(root, topic)))


async def until_rows(root: str, topic: str, want: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while (n := rows_in_files(root, topic)) < want:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the sink wrote {n} of {want} rows")
        await asyncio.sleep(0.25)
    return time.time()


async def _answering(worker: Worker, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while await worker.get(http, "/stats") is None:
            worker.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not answering:\n{worker.tail()}")
            await asyncio.sleep(0.2)


async def drain(
    bootstrap: str, root: Path, tag: str, clicks: int, advertisers: int, partitions: int, with_sink: bool
) -> dict:
    fund, topic = f"{tag}.ad-budget", f"{tag}.ad-clicks"
    work = BenchClicks(advertisers, clicks, seed=7, topics=(fund, topic))
    await create_topics(bootstrap, [fund, topic], partitions)
    gate = Gate(bootstrap)
    await load(bootstrap, fund, work.top_ups, len(work.top_ups))
    await gate.load(topic, work.clicks)
    inputs = {"TOPIC_AD_BUDGET": fund, "TOPIC_AD_CLICKS": topic}
    worker = Worker(root, f"lake-{tag}", bootstrap, inputs, {"COMMIT_INTERVAL": "1.0"}).start()
    lake = root / tag / "lake"
    sink = SinkRun(worker, lake, LAKE_ROTATE_SECONDS="2") if with_sink else None
    try:
        await _answering(worker)  # its topics exist: the sink subscribes to them, never creates one
        if sink is not None:
            await sink.start().assigned(partitions)
        run = await faust_run.drain_clicks(worker, gate, work.oracle(), 600)
        opened = run.marks["gate_opened"]
        out = {"clicks_per_s": len(work.clicks) / (run.drained - opened), "verified": not run.diffs,
               "diffs": run.diffs[:5], "worker_cpu_s": worker.cpu_seconds()}  # fmt: skip
        if sink is not None:
            ledger = worker.env["TOPIC_AD_LEDGER"]
            done = await until_rows(str(lake), ledger, work.events)
            out.update(sink_behind_s=done - run.drained, sink_rows_per_s=work.events / (done - opened),
                       sink_cpu_s=sink.cpu_seconds(), ledger=ledger, worker=worker)  # fmt: skip
        return out
    finally:
        if sink is not None:
            sink.stop()
        worker.stop()
        if gate.opened_at is None:
            await gate.open()
        await gate.close()
