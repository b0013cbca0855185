"""GET /metrics scraped by a real Prometheus (Debian's package, `make prometheus`) from real workers."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from infra.workers import Worker, free_port
from tests.integration.observe import all_ready, get_json
from tests.integration.test_replay import loadgen, verify

pytestmark = pytest.mark.integration


class Prometheus:
    def __init__(self, root: Path, targets: list[str]) -> None:
        binary = shutil.which("prometheus")
        assert binary, "prometheus is not installed: `make prometheus` installs Debian's package"
        self.url = f"http://127.0.0.1:{free_port()}"
        config = root / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 500ms, scrape_timeout: 400ms}\n"
            "scrape_configs:\n"
            "  - job_name: workers\n"
            f"    static_configs: [{{targets: [{', '.join(repr(t) for t in targets)}]}}]\n"
        )
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={root / 'tsdb'}",
             f"--web.listen-address={self.url.removeprefix('http://')}"],
            stdout=(root / "prometheus.log").open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def query(self, expr: str) -> list[dict]:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{self.url}/api/v1/query", params={"query": expr}) as resp:
                body = await resp.json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    async def value(self, expr: str) -> float | None:
        result = await self.query(expr)
        return float(result[0]["value"][1]) if result else None

    async def until(self, expr: str, test, timeout: float = 60):  # type: ignore[no-untyped-def]
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                last = await self.value(expr)
            except aiohttp.ClientError:
                last = "not up yet"
            if last is not None and last != "not up yet" and test(last):
                return last
            await asyncio.sleep(0.5)
        raise AssertionError(f"{expr}: last value {last!r}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    started: list[Prometheus] = []

    def start(targets: list[str]) -> Prometheus:
        started.append(Prometheus(tmp_path, targets))
        return started[-1]

    yield start
    for p in started:
        p.stop()


def instance(worker) -> str:  # type: ignore[no-untyped-def]
    return worker.url.removeprefix("http://")


async def test_prometheus_sees_what_stats_says_lag_readiness_and_a_dead_worker(
    deployment, workers, prometheus, tmp_path
):  # type: ignore[no-untyped-def]
    pair = [*workers(1, LOG_FORMAT="json"), *workers(1)]
    await all_ready(*pair)
    joiner = Worker(deployment, 2)  # its port is a target before it runs: up == 0 until then
    prom = prometheus([instance(w) for w in (*pair, joiner)])
    oracle = str(tmp_path / "orders.json")
    loadgen(deployment, "orders", "--count", "3000", "--seed", "12", "--dup-rate", "0.02",
            "--bad-rate", "0.02", "--oracle", oracle)  # fmt: skip
    verify(deployment, oracle, *pair)

    stats = await get_json(f"{pair[0].url}/stats")
    consumed = sum(t["consumed"] for t in stats["topics"].values())
    assert consumed == 3000  # every order produced
    summed = await prom.until("sum(commerce_input_records_total)", lambda v: v == consumed)
    assert summed == consumed
    dead = await prom.value('sum(commerce_input_records_total{outcome="dead_letter"})')
    assert dead == sum(t["dead_lettered"] for t in stats["topics"].values()) > 0
    await prom.until("sum(commerce_consumer_lag)", lambda v: v == 0)
    assert await prom.value("sum(commerce_commits_total)") > 0

    rebalances = 'commerce_rebalances_total{instance="%s"}'
    before = [await prom.value(rebalances % instance(w)) for w in pair]
    joiner.start()  # a rebalance: the joiner is not ready until its partitions are assigned and restored
    try:
        await prom.until(f'max_over_time(up{{instance="{instance(joiner)}"}}[1m])', lambda v: v == 1)
        await prom.until(f'commerce_ready{{instance="{instance(joiner)}"}}', lambda v: v == 1, timeout=90)
        dropped = await prom.value(f'min_over_time(commerce_ready{{instance="{instance(joiner)}"}}[2m])')
        assert dropped == 0
        # The workers already running went through it too: a short window between two
        # scrapes, so their gauge may miss it; the rebalance counters cannot.
        for worker, count in zip(pair, before, strict=True):
            await prom.until(rebalances % instance(worker), lambda v, c=count: v > c)
            took = await prom.value(f'commerce_last_rebalance_seconds{{instance="{instance(worker)}"}}')
            assert took is not None and took > 0
        joiner.stop(signal.SIGKILL)
        await prom.until(f'up{{instance="{instance(joiner)}"}}', lambda v: v == 0)
    finally:
        joiner.stop()

    # LOG_FORMAT=json: the first worker logged one JSON object per line, no text log lines.
    lines = pair[0].log.read_text().splitlines()
    logged = [orjson.loads(line) for line in lines if line.startswith("{")]
    assert len(logged) > 10 and {"level", "logger", "message"} <= set(logged[0])
    assert not [line for line in lines if line.startswith("[20")], "text log lines in a LOG_FORMAT=json log"
