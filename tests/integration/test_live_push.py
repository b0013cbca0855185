"""Live push (web/live.py) on the real broker: committed states in order, resumed
across a SIGKILL of the owner with Last-Event-ID, ending on the oracle's values."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from cli.workloads.lifecycle import generate
from tests.integration.observe import read_topic

pytestmark = pytest.mark.integration


async def read_events(url: str, last_id: int, out: list[dict], until_version: int) -> None:
    """Append (id, state) events of one SSE stream to ``out`` until ``until_version``
    or until the connection drops (as an EventSource would then reconnect)."""
    try:
        await _read_events(url, last_id, out, until_version)
    except aiohttp.ClientPayloadError:
        pass


async def _read_events(url: str, last_id: int, out: list[dict], until_version: int) -> None:
    headers = {"Last-Event-ID": str(last_id)} if last_id else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        fields: dict[str, str] = {}
        async for raw in resp.content:
            line = raw.decode().rstrip("\r\n")
            if line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
                continue
            if fields.get("event") == "orders":
                out.append({"id": int(fields["id"]), "state": orjson.loads(fields["data"])})
                if out[-1]["state"]["version"] >= until_version:
                    return
            fields = {}


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def committed_states(bootstrap: str, topic: str, key: bytes) -> list[dict]:
    """Every committed changelog value of ``key``, in order."""
    return [orjson.loads(r.value) for r in await read_topic(bootstrap, topic) if r.key == key and r.value]


async def test_a_stream_resumes_after_the_owner_is_killed_and_ends_on_the_oracle(deployment, workers):  # type: ignore[no-untyped-def]
    topic = deployment.topic("TOPIC_ORDER_EVENTS")
    records_iter, oracle = generate(
        400, seed=8, dup_rate=0.02, bad_rate=0.02, topic=topic, retention=86400, users=1
    )
    records = list(records_iter)
    want = oracle["users"]["u-1"]
    (first,) = workers(1, LIVE_HEARTBEAT="1")
    await first.wait_ready()
    events: list[dict] = []
    reader = asyncio.create_task(read_events(f"{first.url}/users/u-1/orders/stream", 0, events, 10**9))
    await produce(deployment.bootstrap, topic, records[:200])
    for _ in range(300):  # until the stream has shown some committed changes
        if events:
            break
        await asyncio.sleep(0.1)
    assert events, first.log_tail()
    first.stop(signal.SIGKILL)
    await asyncio.wait_for(reader, 30)  # the stream ends with its worker
    seen = events[-1]["id"]

    (second,) = workers(1, LIVE_HEARTBEAT="1")
    await second.wait_ready()
    await produce(deployment.bootstrap, topic, records[200:])
    status, final = None, None
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            async with http.get(f"{second.url}/users/u-1/orders") as resp:
                status, final = resp.status, await resp.json()
            if status == 200 and final["counts"] == want:
                break
            await asyncio.sleep(0.2)
    assert final is not None and final["counts"] == want, second.log_tail()
    await asyncio.wait_for(
        read_events(f"{second.url}/users/u-1/orders/stream", seen, events, final["version"]), 30
    )
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids)), "ids must grow strictly, across the restart"
    assert all(e["id"] == e["state"]["version"] for e in events)
    assert events[-1]["state"]["counts"] == want
    # Resuming at the latest id sends nothing old: the next event is the next change.
    after: list[dict] = []
    resumed = asyncio.create_task(
        read_events(f"{second.url}/users/u-1/orders/stream", final["version"], after, final["version"] + 1)
    )
    await asyncio.sleep(1)  # not an assertion: lets the stream open before the change
    extra = orjson.dumps(
        {
            "event_id": "e-extra",
            "order_id": "o-extra",
            "user_id": "u-1",
            "status": "created",
            "ts": "2026-11-24T10:00:00+09:00",
        }
    )
    await produce(deployment.bootstrap, topic, [(b"u-1", extra)])
    await asyncio.wait_for(resumed, 30)
    assert [e["id"] for e in after] == [final["version"] + 1]
    # What was received is what committed, in order: the committed states of u-1,
    # less those folded into the snapshot sent on resuming.
    committed = await committed_states(
        deployment.bootstrap, f"{deployment.name}-order_lifecycle-changelog", b"u-1"
    )
    by_version = {c["version"]: c for c in committed}
    assert [c["version"] for c in committed] == sorted(by_version)
    assert all(e["state"] == {"user_id": "u-1", **by_version[e["id"]]} for e in events + after)
    resumed_at = next(i for i, e in enumerate(events) if e["id"] > seen)
    tail = [c["version"] for c in committed if c["version"] >= events[resumed_at]["id"]]
    assert [e["id"] for e in events[resumed_at:] + after] == tail
    for e in events:  # each state is a consistent committed one: its counts are its orders
        counts = e["state"]["counts"]
        open_orders = [o["status"] for o in e["state"]["orders"].values()]
        for status in ("created", "paid", "shipped"):
            assert counts[status] == open_orders.count(status), e


async def test_streams_past_the_limit_get_503_json_and_bad_ids_400(deployment, workers):  # type: ignore[no-untyped-def]
    (worker,) = workers(1, LIVE_MAX_STREAMS="1")
    await worker.wait_ready()
    url = f"{worker.url}/users/u-9/orders/stream"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Last-Event-ID": "x1"}) as resp:
            assert resp.status == 400 and "error" in await resp.json()
        async with http.get(url) as held:
            assert held.status == 200
            async with http.get(url) as refused:
                assert refused.status == 503
                assert "LIVE_MAX_STREAMS" in (await refused.json())["error"]


async def test_a_worker_stops_on_sigterm_with_live_streams_open(deployment, workers):  # type: ignore[no-untyped-def]
    # aiohttp waits for running handlers when its server stops (Faust allows 60 s), and a
    # live stream's handler runs until its client leaves or the next heartbeat finds it gone.
    (worker,) = workers(1)
    await worker.wait_ready()
    paths = ("/users/u-1/orders/stream", "/advertisers/a-1/budget/stream", "/categories/stream",
             "/lifecycle/live")  # fmt: skip
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{worker.url}{paths[0]}") as left:  # a client that went away
            assert left.status == 200
        held = [await http.get(f"{worker.url}{path}") for path in paths]
        assert [r.status for r in held] == [200] * len(paths)
        assert worker.proc is not None
        worker.stop(signal.SIGTERM, timeout=20)
        for r in held:
            r.close()
    # Not killed by stop()'s SIGKILL after the timeout: it ended by itself.
    assert worker.proc.returncode != -signal.SIGKILL, worker.log_tail()
