"""``python -m bench.push_latency``: live budget streams under a steady click load.

Each run gets a fresh worker (its own app id and topics) on the bench's broker:
ADVERTISERS budgets are funded, CLIENTS server-sent event streams
(``GET /advertisers/{id}/budget/stream``, spread over the advertisers) are
opened from a process of their own, then clicks are produced at RATE/s for
SECONDS. Runs alternate, ROUNDS times: no clients, then CLIENTS.

One ``push-bench:`` line per run:
- ``cpu_us_per_click``: the worker's CPU time from the start of the load until
  every click was accounted for, per click (the drain's cost);
- ``behind_s``: from the last click acknowledged to all of them accounted for;
- with clients, the push latency (commit -> client): the client's receive time
  minus the event's ``committed_ms`` (when the worker's commit listener saw the
  commit; same host, same clock), p50/p99 over every change event received
  (the first event of each stream, the current value, is not a change).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from bench.broker import broker
from bench.latency import LOAD_ADVERTISERS, _click, _consumed, fund
from bench.measure import percentile
from bench.worker import Worker
from cli.produce import produce


async def _stream(http: aiohttp.ClientSession, url: str, latencies: list[float], counts: dict) -> None:
    first = True
    try:
        async with http.get(url) as resp:
            if resp.status != 200:
                counts["refused"] += 1
                return
            counts["open"] += 1
            async for raw in resp.content:
                if not raw.startswith(b"data:"):
                    continue
                received = time.time() * 1000
                body = orjson.loads(raw[5:])
                if "committed_ms" not in body:
                    continue  # a status event; its budget event carries the time
                counts["events"] += 1
                if first:
                    first = False
                    continue
                latencies.append(received - body["committed_ms"])
    except (aiohttp.ClientError, asyncio.CancelledError):
        pass
    counts["ended"] += 1


async def clients_main(url: str, clients: int, advertisers: int, seconds: float) -> None:
    """The client process: open the streams, say so on stdout, follow them for
    ``seconds``, then print the latencies as JSON."""
    latencies: list[float] = []
    counts = {"open": 0, "refused": 0, "events": 0, "ended": 0}
    lags: list[float] = []  # this process's own lateness: it is in every latency measured
    ticking = asyncio.create_task(_loop_lag(lags))
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as http:
        tasks = [
            asyncio.create_task(
                _stream(http, f"{url}/advertisers/l-{i % advertisers}/budget/stream", latencies, counts)
            )
            for i in range(clients)
        ]
        deadline = time.monotonic() + 60
        while counts["open"] + counts["refused"] + counts["ended"] < clients and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        print(json.dumps({"open": counts["open"]}), flush=True)
        await asyncio.sleep(seconds)
        ended_early = counts["ended"]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    counts["ended"] = ended_early
    ticking.cancel()
    print(json.dumps({**counts, "latencies": latencies, "lags": lags}), flush=True)


async def _loop_lag(lags: list[float], every: float = 0.05) -> None:
    """How late a 50 ms timer fires, in ms, all along: the client's own delay."""
    while True:
        started = time.monotonic()
        await asyncio.sleep(every)
        lags.append((time.monotonic() - started - every) * 1000)


async def _until_accounted(worker: Worker, http: aiohttp.ClientSession, total: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await _consumed(worker, http) < total:
        worker.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{worker.name}: {total} inputs not accounted for in {timeout:.0f}s")
        await asyncio.sleep(0.1)


async def one_run(args: argparse.Namespace, root: Path, bootstrap: str, name: str, clients: int) -> str:
    settings = {"LIVE_MAX_STREAMS": str(clients + 10), **args.worker_settings}
    worker = Worker(root, name, bootstrap, {}, settings).start()
    funding, clicks = worker.env["TOPIC_AD_BUDGET"], worker.env["TOPIC_AD_CLICKS"]
    proc = None
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            for _ in range(600):
                if await worker.get(http, "/readyz") is not None:
                    break
                worker.check_alive()
                await asyncio.sleep(0.3)
            prod = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
            await prod.start()
            try:
                funded = await fund(prod, worker, funding, http)  # l-0 .. l-999 and the probes
                if clients:
                    proc = await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bench.push_latency",
                        "--follow",
                        worker.url,
                        "--clients",
                        str(clients),
                        "--advertisers",
                        str(args.advertisers),
                        "--seconds",
                        str(args.seconds + args.drain),
                        stdout=asyncio.subprocess.PIPE,
                    )
                    assert proc.stdout is not None
                    opened = json.loads(await proc.stdout.readline())["open"]
                else:
                    opened = 0
                rng = random.Random(7)
                total = int(args.rate * args.seconds)
                load = (_click(f"l-{rng.randrange(args.advertisers)}", i) for i in range(total))
                cpu_before = worker.cpu_seconds() or 0.0
                sent = await produce(prod, clicks, load, total, args.rate, f"{name} clicks")
                acked = time.monotonic()
                await _until_accounted(worker, http, funded + sent, args.drain + 120)
                behind = time.monotonic() - acked
                cpu = (worker.cpu_seconds() or 0.0) - cpu_before
            finally:
                await prod.stop()
        line = (
            f"run={name} clients={clients} open={opened} rate={args.rate:.0f} clicks={sent} "
            f"cpu_us_per_click={cpu / sent * 1e6:.1f} behind_s={behind:.2f}"
        )
        if proc is not None:
            stdout, _ = await proc.communicate()
            result = json.loads(stdout.decode().strip().splitlines()[-1])
            lat = result["latencies"]
            line += (
                f" events={result['events']} push_p50_ms={percentile(lat, 50):.0f} "
                f"push_p99_ms={percentile(lat, 99):.0f} cut={result['ended']} "
                f"client_lag_p50_ms={percentile(result['lags'], 50):.0f} "
                f"client_lag_p99_ms={percentile(result['lags'], 99):.0f}"
            )
        return line + f" worker_peak_rss_mb={worker.peak_rss_mb():.0f}"
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
        worker.stop()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="push-bench-") as tmp, broker(Path(tmp) / "kafka") as cluster:
        for r in range(args.rounds):
            for kind, clients in (("none", 0), ("clients", args.clients)):
                line = await one_run(args, Path(tmp), cluster.bootstrap_servers, f"push-{kind}-{r}", clients)
                print(f"push-bench: {line}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--advertisers", type=int, default=200, help=f"at most {LOAD_ADVERTISERS}")
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--drain", type=float, default=10, help="seconds the clients follow past the load")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--worker-settings",
        type=lambda text: dict(kv.split("=", 1) for kv in text.split(",") if kv),
        default={},
        help="K=V,... for every worker, e.g. QUERY_FRONT=false",
    )
    parser.add_argument("--follow", metavar="URL", help=argparse.SUPPRESS)  # the client process
    os.environ.setdefault("TQDM_DISABLE", "1")
    ns = parser.parse_args()
    if ns.follow:
        asyncio.run(clients_main(ns.follow, ns.clients, ns.advertisers, ns.seconds))
    else:
        asyncio.run(main(ns))
