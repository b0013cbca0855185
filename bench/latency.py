"""Latency under a steady click rate, on a worker of its own (own input topics).

* End-to-end: a probe click is produced for a probe advertiser, then its budget is polled
  over HTTP (``GET /advertisers/{id}/budget``, every ``POLL`` s) until ``charged`` counts
  it: produce -> visible over HTTP, ``POLL`` resolution. At most ``INFLIGHT`` probes at once.
* HTTP queries: an open-loop aiohttp client in a process of its own (bench.query_load)
  sends ``GET /advertisers/{id}/budget`` for random advertisers at a fixed rate while the
  load goes on; latency is measured from each request's scheduled time, and also from
  the moment the client sent it (without the client's own lateness).

Load and probe advertisers get a huge top-up first, so every click is charged.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
import time
from dataclasses import dataclass, field

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from bench.worker import Worker
from cli.produce import produce

POLL, INFLIGHT, PROBE_EVERY = 0.025, 4, 0.1  # at most 160 polls/s on top of the load
LOAD_ADVERTISERS, PROBES = 1000, 20


@dataclass
class Latency:
    rate: float
    seconds: float
    e2e: list[float] = field(default_factory=list)
    e2e_lost: int = 0
    query: list[float] = field(default_factory=list)  # from each request's scheduled time
    query_from_send: list[float] = field(default_factory=list)  # from the moment it was sent
    query_errors: dict[str, int] = field(default_factory=dict)  # kind -> count
    query_rate: float = 0.0
    query_client: str = ""  # how the query client was scheduled (bench.query_load.realtime)
    backlog: dict[str, int] = field(default_factory=dict)  # phase -> inputs not yet accounted


def _click(adv: str, n: int) -> tuple[bytes, bytes]:
    body = {
        "click_id": f"lat-{adv}-{n}",
        "advertiser_id": adv,
        "campaign_id": "c-1",
        "cpc": 100,
        "ts": "2026-11-24T03:00:00+00:00",
    }
    return adv.encode(), orjson.dumps(body)


async def _consumed(worker: Worker, http: aiohttp.ClientSession) -> int:
    body = await worker.get(http, "/stats")
    return sum(t["consumed"] for t in body["topics"].values()) if body else -1


async def fund(prod: AIOKafkaProducer, worker: Worker, topic: str, http: aiohttp.ClientSession) -> int:
    advertisers = [f"l-{i}" for i in range(LOAD_ADVERTISERS)] + [f"p-{i}" for i in range(PROBES)]
    for adv in advertisers:
        body = {
            "event_id": f"fund-{adv}",
            "advertiser_id": adv,
            "type": "top_up",
            "amount": 10**12,
            "ts": "2026-11-24T00:00:00+00:00",
        }
        await prod.send(topic, orjson.dumps(body), key=adv.encode())
    await prod.flush()
    deadline = time.monotonic() + 120
    while await _consumed(worker, http) < len(advertisers):
        worker.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{worker.name} did not apply {len(advertisers)} top-ups in 120s")
        await asyncio.sleep(0.2)
    return len(advertisers)


async def _probe(
    prod: AIOKafkaProducer,
    http: aiohttp.ClientSession,
    worker: Worker,
    topic: str,
    adv: str,
    n: int,
    out: Latency,
) -> None:
    started = time.monotonic()
    await prod.send(topic, _click(adv, n)[1], key=adv.encode())
    deadline = started + 30
    while time.monotonic() < deadline:
        body = await worker.get(http, f"/advertisers/{adv}/budget")
        if body and body["charged"] >= n:
            out.e2e.append(time.monotonic() - started)
            return
        await asyncio.sleep(POLL)
    out.e2e_lost += 1


async def _probes(prod, http, worker: Worker, topic: str, out: Latency, until: float) -> None:  # type: ignore[no-untyped-def]
    charged = dict.fromkeys((f"p-{i}" for i in range(PROBES)), 0)
    busy: dict[str, asyncio.Task] = {}
    for adv in itertools.cycle(charged):
        if time.monotonic() >= until:
            break
        busy = {a: t for a, t in busy.items() if not t.done()}
        if len(busy) < INFLIGHT and adv not in busy:
            charged[adv] += 1
            busy[adv] = asyncio.create_task(_probe(prod, http, worker, topic, adv, charged[adv], out))
        await asyncio.sleep(PROBE_EVERY)
    await asyncio.gather(*busy.values())


async def _queries(worker: Worker, rate: float, out: Latency, until: float) -> None:
    """Query load from a process of its own (bench.query_load), so this process's
    own work (the click load, the probes) is not charged to the worker."""
    seconds = max(1.0, until - time.monotonic() - 0.5)  # ends before the load does (start-up)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.query_load",
        worker.url,
        str(rate),
        str(seconds),
        str(LOAD_ADVERTISERS),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench.query_load exited with {proc.returncode}")
    result = orjson.loads(stdout)
    out.query.extend(result["latencies"])
    out.query_from_send.extend(result["from_send"])
    for kind, count in result["errors"].items():
        out.query_errors[kind] = out.query_errors.get(kind, 0) + count
    out.query_rate = result["rate"]
    out.query_client = result["scheduling"]


async def measure(
    prod: AIOKafkaProducer,
    worker: Worker,
    topics: tuple[str, str],
    rate: float,
    seconds: float,
    query_rate: float,
) -> Latency:
    """Fund, then ``seconds`` of probes and ``seconds`` of queries, both under ``rate`` clicks/s."""
    funding, clicks = topics
    out = Latency(rate, seconds)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        base = await fund(prod, worker, funding, http)
        warmup, total = 3.0, 3.0 + 2 * seconds
        rng = random.Random(5)
        load = ((_click(f"l-{rng.randrange(LOAD_ADVERTISERS)}", i)) for i in range(int(rate * total)))
        started = time.monotonic()
        loading = asyncio.create_task(produce(prod, clicks, load, int(rate * total), rate, "latency load"))
        await asyncio.sleep(warmup)
        await _probes(prod, http, worker, clicks, out, started + warmup + seconds)
        expected = base + int(rate * (time.monotonic() - started)) + len(out.e2e) + out.e2e_lost
        out.backlog["e2e"] = max(0, expected - await _consumed(worker, http))
        await _queries(worker, query_rate, out, started + total)
        sent = await loading
        expected = base + sent + len(out.e2e) + out.e2e_lost
        out.backlog["query"] = max(0, expected - await _consumed(worker, http))
    return out
