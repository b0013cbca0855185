"""The lake on the real broker: a worker, clicks, a sink SIGKILLed mid-run, the files read back."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable

import aiohttp
import fsspec
import pytest

from infra.lake_sink import SinkProcess
from infra.workers import FAUST, REPO
from lake import audit, naming, store

pytestmark = pytest.mark.integration

DAYS = ("2026-11-20", "2026-11-30")  # the clicks workload's event times fall inside


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {timeout}s")
        await asyncio.sleep(0.3)


def published(root: str, topic: str) -> int:
    return len(store.listing(fsspec.filesystem("file"), naming.topic_glob(root, topic)))


async def http_daily(url: str, advertisers: list[str]) -> dict:
    out = {}
    async with aiohttp.ClientSession() as http:
        for adv in advertisers:
            async with http.get(
                f"{url}/advertisers/{adv}/daily", params={"from": DAYS[0], "to": DAYS[1]}
            ) as r:
                assert r.status == 200, await r.text()
                days = (await r.json())["days"]
            if days:
                out[adv] = {d["day"]: d["campaigns"] for d in days}
    return out


async def test_files_hold_each_committed_entry_once_and_the_report_equals_http(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    (worker,) = workers(1)
    await worker.wait_http()
    root = str(tmp_path / "lake")
    ledger, orders = deployment.topic("TOPIC_AD_LEDGER"), deployment.topic("TOPIC_ORDERS")
    sink = SinkProcess(deployment, root, LAKE_ROTATE_RECORDS="2000", LAKE_ROTATE_SECONDS="0.5").start()
    oracle_file = tmp_path / "oracle.json"
    gen = subprocess.Popen(
        [FAUST, "-A", "app", "loadgen", "clicks", "--advertisers", "60", "--count", "40000", "--rounds", "3",
         "--seed", "30", "--dup-rate", "0.01", "--bad-rate", "0.005", "--oracle", str(oracle_file)],
        cwd=REPO, env=deployment.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(2):  # SIGKILL the sink while it writes, each time after more files are out
            before = published(root, ledger)
            await until(lambda b=before: published(root, ledger) > b + 2, 120, "writing ledger files")
            sink.kill()
            sink.start()
        _, err = await asyncio.to_thread(gen.communicate, timeout=300)
        assert gen.returncode == 0, err[-3000:]
        res = deployment.faust("loadgen", "orders", "--count", "400", "--bad-rate", "0.05",
                               "--oracle", str(tmp_path / "orders.json"))  # fmt: skip
        assert res.returncode == 0, res.stderr[-3000:]
        oracle = json.loads(oracle_file.read_text())
        res = deployment.faust(
            "verify", "--oracle", str(oracle_file), "--url", worker.url, "--timeout", "120"
        )
        assert res.returncode == 0, res.stdout[-3000:] + worker.log_tail()

        fs = fsspec.filesystem("file")
        for topic, kind in ((ledger, "ledger"), (orders, "orders")):
            committed = await audit.read_committed({"bootstrap_servers": deployment.bootstrap}, topic)
            await until(lambda t=topic, k=kind, c=committed: len(audit.file_rows(fs, root, t, k)) >= len(c),
                        60, f"{topic} all in files")  # fmt: skip
            result = audit.compare(committed, audit.file_rows(fs, root, topic, kind), kind)
            assert result.ok, f"{topic}: {result.line()}\n{sink.log_tail()}"
        assert len(committed) == 400 and result.records == 400  # orders: valid and invalid alike
        assert sink.starts == 3 and sink.alive(), sink.log_tail()

        report = deployment.faust("report", "daily", "--from", DAYS[0], "--to", DAYS[1], "--format", "json",
                                  LAKE_URL=root)  # fmt: skip
        assert report.returncode == 0, report.stderr[-3000:]
        from lake.report import nested

        from_files = nested(json.loads(report.stdout))
        assert sum(r["rejected"] for a in from_files.values() for d in a.values() for r in d.values()) > 100
        assert from_files == await http_daily(worker.url, sorted(oracle["advertisers"]))
    finally:
        gen.kill()
        sink.stop()
