"""Budget and category streams (web/live_budgets.py, web/live_categories.py) on the
real broker: committed values only, strictly increasing ids, resumed across a
SIGKILL, merged over two workers, and a slow client cut with its buffer bounded."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import time
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from cli.workloads.clicks import ClicksWorkload
from tests.integration.observe import read_topic

pytestmark = pytest.mark.integration
ADV = "a-1"
BUDGET_FIELDS = ("balance", "spent", "funded", "charged", "rejected", "duplicates", "status", "version")


async def follow(urls: list[str], path: str, kind: str, out: list[dict], done: Any, last_id: int = 0) -> None:
    """An EventSource: read ``kind`` events of ``path`` into ``out`` (id, data) until
    ``done(out)``; on a dropped or refused connection reconnect, to the next URL,
    with the last id received as Last-Event-ID."""
    attempt = 0
    while not done(out):
        url = urls[attempt % len(urls)]
        attempt += 1
        headers = {"Last-Event-ID": str(out[-1]["id"] if out else last_id)}
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{url}{path}", headers=headers) as resp:
                if resp.status != 200:
                    await asyncio.sleep(0.3)
                    continue
                async for event, event_id, data in events(resp):
                    if event == kind:
                        out.append({"id": int(event_id), "data": orjson.loads(data), "connection": attempt})
                        if done(out):
                            return
        except (aiohttp.ClientError, OSError):
            await asyncio.sleep(0.3)


async def events(resp: aiohttp.ClientResponse):  # type: ignore[no-untyped-def]
    fields: dict[str, str] = {}
    async for raw in resp.content:
        line = raw.decode().rstrip("\r\n")
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
            continue
        if "data" in fields:
            yield fields.get("event"), fields.get("id", ""), fields["data"]
        fields = {}


async def produce(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def advertisers_total(urls: list[str], field: str) -> int | None:
    for url in urls:
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{url}/advertisers") as resp:
                if resp.status == 200:
                    return sum(a[field] for a in (await resp.json())["advertisers"])
        except (aiohttp.ClientError, OSError):
            continue
    return None


async def play_round(deployment, work: ClicksWorkload, rnd: Any, urls: list[str]) -> None:  # type: ignore[no-untyped-def]
    """A round as loadgen sends it: its top-ups applied before its clicks (two topics)."""
    await produce(deployment.bootstrap, [(work.funding_topic, k, v) for k, v in rnd.fundings])
    want = sum(b.funded for b in work.budgets.values())
    for _ in range(600):
        if await advertisers_total(urls, "funded") == want:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError(f"top-ups not applied (want funded {want})")
    await produce(deployment.bootstrap, [(work.clicks_topic, k, v) for k, v in rnd.clicks])
    want = sum(b.version for b in work.budgets.values())  # every event of the round applied
    for _ in range(600):
        if await advertisers_total(urls, "version") == want:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"clicks not applied (want versions {want})")


def workload(deployment, seed: int) -> ClicksWorkload:  # type: ignore[no-untyped-def]
    topics = (deployment.topic("TOPIC_AD_BUDGET"), deployment.topic("TOPIC_AD_CLICKS"))
    return ClicksWorkload(3, 1500, 3, seed, dup_rate=0.03, bad_rate=0.01, topics=topics)


def final(work: ClicksWorkload) -> dict:
    return {k: v for k, v in work.budgets[ADV].to_dict().items() if k in BUDGET_FIELDS}


async def committed_budgets(deployment) -> dict[int, dict]:  # type: ignore[no-untyped-def]
    records = await read_topic(deployment.bootstrap, f"{deployment.name}-budgets-changelog")
    values = [orjson.loads(r.value) for r in records if r.key == ADV.encode() and r.value]
    return {v["version"]: v for v in values}


def public(stored: dict) -> dict:
    return {"advertiser_id": ADV, **{k: v for k, v in stored.items() if k != "last_rejected_cpc"}}


async def until_categories(
    got: list[dict], want: dict[str, dict], worker: Any, tries: int
) -> dict[str, dict]:
    """Until the latest event of every category holds the oracle's totals; those events."""
    latest: dict[str, dict] = {}
    for _ in range(tries):
        latest = {e["data"]["category"]: e["data"] for e in got}
        if all(c in latest and all(latest[c][k] == v for k, v in w.items()) for c, w in want.items()):
            return latest
        await asyncio.sleep(0.2)
    raise AssertionError(f"got {latest}\nwant {want}\n{worker.log_tail()}")


async def test_budget_stream_sends_committed_values_only_with_increasing_ids(deployment, workers):  # type: ignore[no-untyped-def]
    (worker,) = workers(1, LIVE_HEARTBEAT="1")
    await worker.wait_ready()
    work = workload(deployment, seed=31)
    rounds = list(work.rounds_iter())  # the oracle now holds the final budgets
    want = final(work)
    got: list[dict] = []
    path = f"/advertisers/{ADV}/budget/stream"
    reader = asyncio.create_task(
        follow([worker.url], path, "budget", got, lambda out: bool(out) and out[-1]["id"] >= want["version"])
    )
    await asyncio.sleep(1)  # not an assertion: the stream opens before the traffic
    replay = workload(deployment, seed=31)
    for rnd, _ in zip(replay.rounds_iter(), rounds, strict=True):
        await play_round(deployment, replay, rnd, [worker.url])
    await asyncio.wait_for(reader, 60)
    ids = [e["id"] for e in got]
    assert ids == sorted(set(ids)) and all(e["id"] == e["data"]["version"] for e in got)
    assert {k: got[-1]["data"][k] for k in BUDGET_FIELDS} == want
    committed = await committed_budgets(deployment)
    for e in got:  # each one a committed changelog value, as the budget view shows it
        data = dict(e["data"])
        assert type(data.pop("committed_ms")) is int
        assert data == public(committed[e["id"]]), e
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{worker.url}{path}", headers={"Last-Event-ID": "seven"}) as resp:
            assert resp.status == 400 and "Last-Event-ID" in (await resp.json())["error"]


async def test_budget_stream_resumes_on_the_survivor_after_the_owner_is_killed(deployment, workers):  # type: ignore[no-untyped-def]
    pair = workers(2, LIVE_HEARTBEAT="1")
    for w in pair:
        await w.wait_ready()
    work = workload(deployment, seed=32)
    rounds = iter(work.rounds_iter())
    first = next(rounds)
    urls = [w.url for w in pair]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{urls[0]}/advertisers/{ADV}/budget/stream", allow_redirects=False) as resp:
            owner = pair[0] if resp.status == 200 else pair[1]
            assert resp.status == 200 or resp.headers["Location"].startswith(pair[1].url)
    other = pair[1] if owner is pair[0] else pair[0]
    got: list[dict] = []
    remaining = list(rounds)
    want = final(work)
    path = f"/advertisers/{ADV}/budget/stream"
    # Connected to the worker that does not own the budget: the 307 leads to the owner.
    reader = asyncio.create_task(
        follow([other.url], path, "budget", got, lambda out: bool(out) and out[-1]["id"] >= want["version"])
    )
    replay = workload(deployment, seed=32)
    replay_rounds = iter(replay.rounds_iter())
    await play_round(deployment, replay, next(replay_rounds), urls)
    for _ in range(300):
        if got:
            break
        await asyncio.sleep(0.1)
    assert got, owner.log_tail()
    owner.stop(signal.SIGKILL)
    for rnd, _ in zip(replay_rounds, remaining, strict=True):
        await play_round(deployment, replay, rnd, [other.url])
    await asyncio.wait_for(reader, 90)
    assert first is not None
    ids = [e["id"] for e in got]
    assert ids == sorted(set(ids)), "ids must grow strictly, across the failover"
    assert {k: got[-1]["data"][k] for k in BUDGET_FIELDS} == want


async def test_category_stream_merges_every_worker_and_ends_on_the_oracle(deployment, workers, tmp_path):  # type: ignore[no-untyped-def]
    pair = workers(2, LIVE_HEARTBEAT="1")
    for w in pair:
        await w.wait_ready()
    oracle_file = tmp_path / "oracle.json"
    got: list[dict] = []
    forever = lambda _: False  # noqa: E731  (the test stops the reader)
    reader = asyncio.create_task(follow([pair[0].url], "/categories/stream", "category", got, forever))
    await asyncio.sleep(1)
    gen = await asyncio.to_thread(
        deployment.faust, "loadgen", "orders", "--count", "3000", "--seed", "33", "--oracle", str(oracle_file)
    )
    assert gen.returncode == 0, gen.stderr[-3000:]
    want = json.loads(oracle_file.read_text())["categories"]
    latest = await until_categories(got, want, pair[0], 300)
    reader.cancel()
    per_stream: dict[tuple[int, str], list[int]] = {}
    for e in got:
        assert e["id"] == e["data"]["order_count"]
        per_stream.setdefault((e["connection"], e["data"]["category"]), []).append(e["id"])
    for (_, category), ids in per_stream.items():
        assert ids == sorted(set(ids)), category
    assert set(latest) == set(want)
    # The categories live on both workers: the stream merged both.
    owners = set()
    async with aiohttp.ClientSession() as http:
        for headers, params in (({"Last-Event-ID": "1x"}, {}), ({}, {"category": ","})):
            async with http.get(f"{pair[1].url}/categories/stream", headers=headers, params=params) as resp:
                assert resp.status == 400 and "error" in await resp.json()
        for w in pair:
            async with http.get(f"{w.url}/categories", params={"scope": "local"}) as resp:
                if await resp.json():
                    owners.add(w.url)
    assert len(owners) == 2


async def test_a_client_that_never_reads_is_cut_and_the_buffer_gauge_stays_bounded(deployment, workers):  # type: ignore[no-untyped-def]
    buffer = 8
    # Commits often, so that one advertiser's budget changes many times a second;
    # Faust's web server on WEB_PORT: what it holds unsent is bounded (web/live_hub.py).
    env = {"LIVE_HEARTBEAT": "1", "LIVE_BUFFER": str(buffer), "METRICS": "true",
           "COMMIT_INTERVAL": "0.05", "QUERY_FRONT": "false"}  # fmt: skip
    (worker,) = workers(1, **env)
    await worker.wait_ready()
    adv = "s" * 200  # the longest id: each event is bigger, the socket buffers fill sooner
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.connect(("127.0.0.1", worker.port))
    sock.sendall(f"GET /advertisers/{adv}/budget/stream HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()

    async def watch() -> None:
        async with aiohttp.ClientSession() as http:
            while not stop.is_set():
                async with http.get(f"{worker.url}/metrics") as resp:
                    text = await resp.text()
                samples.append(
                    (_gauge(text, "commerce_live_streams"), _gauge(text, "commerce_live_buffered_events"))
                )
                await asyncio.sleep(0.05)

    topics = (deployment.topic("TOPIC_AD_BUDGET"), deployment.topic("TOPIC_AD_CLICKS"))
    ts = "2026-11-24T15:00:00Z"
    top_up = {"event_id": "t-1", "advertiser_id": adv, "type": "top_up", "amount": 10**12, "ts": ts}
    producer = AIOKafkaProducer(bootstrap_servers=deployment.bootstrap)
    await producer.start()
    watcher = asyncio.create_task(watch())
    try:
        await producer.send_and_wait(topics[0], orjson.dumps(top_up), key=adv.encode())
        deadline = time.monotonic() + 60
        n = 0
        while "cut off" not in worker.log.read_text() and time.monotonic() < deadline:
            click = {"click_id": f"k-{n}", "advertiser_id": adv, "campaign_id": "c", "cpc": 1, "ts": ts}
            await producer.send_and_wait(topics[1], orjson.dumps(click), key=adv.encode())
            n += 1
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await watcher
        await producer.stop()
        sock.close()
    log = worker.log.read_text()
    assert re.search(r"live stream for b's+' cut off: slow client", log), f"{n} clicks\n{worker.log_tail()}"
    assert samples and max(s for s, _ in samples) >= 1
    assert all(b <= s * buffer for s, b in samples), samples


def _gauge(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


async def test_category_stream_restarts_with_a_snapshot_when_an_upstream_worker_dies(
    deployment, workers, tmp_path
):  # type: ignore[no-untyped-def]
    pair = workers(2, LIVE_HEARTBEAT="1")
    for w in pair:
        await w.wait_ready()
    got: list[dict] = []
    forever = lambda _: False  # noqa: E731  (the test stops the reader)
    reader = asyncio.create_task(follow([pair[0].url], "/categories/stream", "category", got, forever))
    await asyncio.sleep(1)
    want: dict[str, dict[str, int]] = {}
    for seed, kill in ((41, True), (42, False)):
        oracle_file = tmp_path / f"oracle-{seed}.json"
        gen = await asyncio.to_thread(
            deployment.faust,
            "loadgen",
            "orders",
            "--count",
            "1000",
            "--seed",
            str(seed),
            "--oracle",
            str(oracle_file),
        )
        assert gen.returncode == 0, gen.stderr[-3000:]
        for category, totals in json.loads(oracle_file.read_text())["categories"].items():
            acc = want.setdefault(category, {"total_amount": 0, "items_sold": 0, "order_count": 0})
            for k, v in totals.items():
                acc[k] += v
        if kill:
            connections = {e["connection"] for e in got}
            pair[1].stop(signal.SIGKILL)
    await until_categories(got, want, pair[0], 450)
    reader.cancel()
    # The merged stream ended with its upstream; the client came back for a fresh snapshot.
    assert max(e["connection"] for e in got) > max(connections)
    assert "category stream ends: upstream" in pair[0].log.read_text()
