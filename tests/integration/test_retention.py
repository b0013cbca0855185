"""Retention on the real broker (docs/retention.md): stream time from the records'
own timestamps, short retentions set by the RETENTION_* variables.

One scenario, several steps of simulated time; each step waits until the worker
has accounted for every record, so expiry runs between them:
- an id seen again after its window is applied, not counted as a duplicate;
- an expired hour or day answers 410 with the range still available, and a late
  record does not bring it back;
- the expiry is in the changelog (tombstones, read back read_committed), so a
  worker that lost its disk restores the same answers, and the same filter;
- a replay of the sources gives the same answers as the first run.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from tests.integration.harness import Deployment, Worker
from tests.integration.observe import get_json, read_topic, wait_group_empty, wait_ready
from tests.integration.test_replay import replay

pytestmark = pytest.mark.integration

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
# Midnight UTC (09:00 KST, the same day), recent enough that the broker's own
# retention (7 days of wall clock, on the source topics) keeps every record.
T0 = datetime.combine(datetime.now(UTC).date() - 4 * DAY, datetime.min.time(), UTC)
D0, D1, D3 = (str(T0.date() + n * DAY) for n in (0, 1, 3))
RETENTION = {
    "RETENTION_SEEN_BUDGET_EVENTS": "1h",
    "RETENTION_SEEN_ORDERS": "1h",
    "RETENTION_CATEGORY_HOURLY": "2h",
    "RETENTION_DAILY_STATS": "2d",
}


def click(click_id: str, at: datetime) -> tuple[str, bytes, bytes, datetime]:
    body = {
        "click_id": click_id,
        "advertiser_id": "a-1",
        "campaign_id": "c",
        "cpc": 100,
        "ts": at.isoformat(),
    }
    return "TOPIC_AD_CLICKS", b"a-1", orjson.dumps(body), at


def top_up(event_id: str, at: datetime) -> tuple[str, bytes, bytes, datetime]:
    body = {
        "event_id": event_id,
        "advertiser_id": "a-1",
        "type": "top_up",
        "amount": 100_000,
        "ts": at.isoformat(),
    }
    return "TOPIC_AD_BUDGET", b"a-1", orjson.dumps(body), at


def order(order_id: str, created: datetime, at: datetime) -> tuple[str, bytes, bytes, datetime]:
    item = {"sku": "s", "category": "books", "quantity": 1, "unit_price": 1000}
    body = {"order_id": order_id, "user_id": "u-1", "created_at": created.isoformat(), "currency": "KRW",
            "items": [item]}  # fmt: skip
    return "TOPIC_ORDERS", b"u-1", orjson.dumps(body), at


class Scenario:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.sent: dict[str, int] = {}

    async def send(self, worker: Worker, *records: tuple[str, bytes, bytes, datetime]) -> None:
        """Produce ``records`` with their timestamps; wait until the worker accounted for them."""
        producer = AIOKafkaProducer(bootstrap_servers=self.deployment.bootstrap)
        await producer.start()
        try:
            for var, key, value, at in records:
                topic = self.deployment.topic(var)
                await producer.send_and_wait(topic, value, key=key, timestamp_ms=int(at.timestamp() * 1000))
                self.sent[topic] = self.sent.get(topic, 0) + 1
        finally:
            await producer.stop()
        await self.processed(worker)

    async def processed(self, worker: Worker, timeout: float = 90) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            stats = (await get_json(f"{worker.url}/stats"))["topics"]
            if all(stats.get(t, {}).get("consumed") == n for t, n in self.sent.items()):
                return
            assert loop.time() < deadline, f"not processed: {stats} want {self.sent}\n{worker.log_tail()}"
            await asyncio.sleep(0.3)


async def settled(worker: Worker, order_count: int, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    url = f"{worker.url}/categories/books"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        while True:
            async with http.get(url) as resp:
                if resp.status == 200 and (await resp.json())["order_count"] == order_count:
                    return
            assert loop.time() < deadline, worker.log_tail()
            await asyncio.sleep(0.3)


def hour(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def answers(url: str) -> dict:
    """Every answer the scenario checks, status and JSON."""
    queries = {
        "budget": "/advertisers/a-1/budget",
        "day_gone": f"/advertisers/a-1/daily?from={D0}&to={D0}",
        "days": f"/advertisers/a-1/daily?from={D0}&to={D3}",
        "hour_gone": f"/categories/books/hourly?from={hour(T0)}&to={hour(T0 + 30 * timedelta(minutes=1))}",
        "hours": f"/categories/books/hourly?from={hour(T0)}&to={hour(T0 + 3 * HOUR)}",
        "totals": "/categories/books",
    }
    out = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        for name, path in queries.items():
            async with http.get(url + path) as resp:
                out[name] = (resp.status, await resp.json())
    for name in ("budget", "totals"):
        out[name][1].pop("updated_at", None)  # wall clock of the write
    for bucket in out["hours"][1]["buckets"]:
        bucket.pop("updated_at")
    return out


def without(found: dict, *names: str) -> dict:
    return {k: v for k, v in found.items() if k not in names}


async def play(scenario: Scenario, worker: Worker) -> None:
    s = scenario
    # The top-up strictly first: records of equal timestamps from two topics may merge either way.
    funded = top_up("t-1", T0 - timedelta(minutes=1))
    await s.send(worker, funded, click("c-1", T0), click("c-1", T0 + 10 * timedelta(minutes=1)))
    await s.send(worker, order("o-1", T0, T0))
    await s.send(worker, click("c-2", T0 + 2 * HOUR))  # the clicks' stream time passes c-1's window
    await s.send(worker, click("c-1", T0 + 2 * HOUR + timedelta(seconds=1)))  # applied again
    await s.send(worker, order("o-2", T0 + 3 * HOUR, T0 + 3 * HOUR))  # hour T0 leaves retention
    late = T0 + timedelta(minutes=10)
    await s.send(
        worker,
        order("o-3", late, T0 + 3 * HOUR + timedelta(seconds=1)),  # late: in the totals, not hour T0
        order("o-1", T0, T0 + 3 * HOUR + timedelta(seconds=2)),  # past its window: applied again
        click("c-3", T0 + 3 * DAY),  # KST day D0 leaves retention
    )
    await s.send(worker, click("c-4", late))  # late: charged, its day not brought back
    await settled(worker, order_count=4)


async def test_expiry_answers_restore_and_replay(deployment, workers):  # type: ignore[no-untyped-def]
    (worker,) = workers(1, **RETENTION)
    await wait_ready(worker)
    scenario = Scenario(deployment)
    await play(scenario, worker)

    live = await answers(worker.url)
    budget = live["budget"][1]
    assert budget["spent"] == 500 and budget["duplicates"] == 1, budget  # c-1, c-1 again, c-2, c-3, c-4
    assert live["totals"][1]["order_count"] == 4, live["totals"]  # o-1, o-2, o-3, o-1 again
    assert live["day_gone"] == (410, {
        "error": f"days before {D1} are past retention (172800 s)",
        "available_from": D1, "retention_s": 172800,
    })  # fmt: skip
    assert live["days"][0] == 200 and [d["day"] for d in live["days"][1]["days"]] == [D3]
    assert live["days"][1]["available_from"] == D1
    kept_from = (T0 + HOUR).isoformat()
    assert live["hour_gone"] == (410, {
        "error": f"hours before {kept_from} are past retention (7200 s)",
        "available_from": kept_from, "retention_s": 7200,
    })  # fmt: skip
    hours = live["hours"][1]
    assert [b["hour"] for b in hours["buckets"]] == [(T0 + 3 * HOUR).isoformat()], hours
    assert hours["available_from"] == kept_from

    worker.stop()
    await wait_group_empty(deployment.bootstrap, deployment.name)
    # The expiry is in the changelogs, read as a restore reads them.
    tombstones = {
        table: {r.key for r in await read_topic(deployment.bootstrap, f"{deployment.name}-{table}-changelog")
                if r.value is None}
        for table in ("seen_budget_events", "category_hourly", "daily_stats")
    }  # fmt: skip
    assert b"click:c-1" in tombstones["seen_budget_events"], tombstones
    assert f"books|{int(T0.timestamp())}".encode() in tombstones["category_hourly"], tombstones
    assert f"a-1|{D0}".encode() in tombstones["daily_stats"], tombstones

    shutil.rmtree(worker.dir / "state")
    worker.start()
    await wait_ready(worker)
    assert await answers(worker.url) == live
    # The restored filter: c-4's entry is kept (applied at the clicks' stream time), c-1's is gone.
    await scenario.send(worker, click("c-4", T0 + 3 * DAY + timedelta(seconds=1)),
                        click("c-1", T0 + 3 * DAY + timedelta(seconds=2)))  # fmt: skip
    restored = await answers(worker.url)
    assert restored["budget"][1]["spent"] == 600 and restored["budget"][1]["duplicates"] == 2, restored
    assert without(restored, "budget", "days") == without(live, "budget", "days")  # c-1 adds to D3

    worker.stop()
    await wait_group_empty(deployment.bootstrap, deployment.name)
    res = replay(deployment, worker, "--yes")
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    worker.start()
    await wait_ready(worker)
    await scenario.processed(worker)
    await settled(worker, order_count=4)  # the second stage, behind the repartition
    assert await answers(worker.url) == restored
