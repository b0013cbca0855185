"""``python -m bench.live_clients``: many live-push clients on one worker.

Starts a broker and one worker, opens CLIENTS server-sent event streams
(/users/{user}/orders/stream, spread over USERS users), produces EVENTS lifecycle
events for those users, and waits until every client shows its user's final
counts from the oracle. Prints one line: the clients, the events they received,
the seconds from the last produced record to the last client at its final state,
streams cut, and the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from bench.broker import broker
from bench.worker import Worker
from cli.workloads.lifecycle import generate


class Client:
    def __init__(self, user: str) -> None:
        self.user, self.counts, self.events, self.ended, self.final_at = user, None, 0, False, 0.0


async def follow(http: aiohttp.ClientSession, url: str, client: Client, want: dict) -> None:
    try:
        async with http.get(f"{url}/users/{client.user}/orders/stream") as resp:
            assert resp.status == 200, resp.status
            async for raw in resp.content:
                if raw.startswith(b"data:"):
                    client.events += 1
                    client.counts = orjson.loads(raw[5:])["counts"]
                    if client.counts == want:
                        client.final_at = time.monotonic()
    except (aiohttp.ClientError, asyncio.CancelledError):
        pass
    client.ended = True


async def run(args: argparse.Namespace, url: str, bootstrap: str, topic: str) -> str:
    records, oracle = generate(args.events, 3, 0.0, 0.0, topic, 86400, users=args.users)
    records = list(records)
    users = sorted(oracle["users"])
    clients = [Client(users[i % len(users)]) for i in range(args.clients)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        tasks = [asyncio.create_task(follow(http, url, c, oracle["users"][c.user])) for c in clients]
        await asyncio.sleep(3)  # the streams open
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        await producer.start()
        try:
            futures = [await producer.send(topic, value, key=key) for key, value in records]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()
        produced = time.monotonic()
        deadline = produced + args.timeout
        while time.monotonic() < deadline and not all(c.final_at or c.ended for c in clients):
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    final = [c for c in clients if c.final_at]
    last = max((c.final_at for c in final), default=produced)
    return (
        f"clients={len(clients)} users={len(users)} events={len(records)} "
        f"at_final={len(final)} received={sum(c.events for c in clients)} "
        f"all_final_after_s={last - produced:.2f} cut={sum(1 for c in clients if c.ended and not c.final_at)}"
    )


async def main(args: argparse.Namespace) -> None:
    """The baseline (few clients) and then the measured run, each on a fresh worker
    (its own app id and topics) of the same broker."""
    with tempfile.TemporaryDirectory(prefix="live-bench-") as tmp, broker(Path(tmp) / "kafka") as cluster:
        for name, clients in (("baseline", args.baseline_clients), ("measured", args.clients)):
            await one_run(args, Path(tmp), cluster.bootstrap_servers, name, clients)


async def one_run(args: argparse.Namespace, root: Path, bootstrap: str, name: str, clients: int) -> None:
    settings = {"LIVE_MAX_STREAMS": str(clients + 10)}
    worker = Worker(root, f"live-{name}", bootstrap, {}, settings).start()
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                if await worker.get(http, "/readyz") is not None:
                    break
                worker.check_alive()
                await asyncio.sleep(0.3)
        run_args = argparse.Namespace(**{**vars(args), "clients": clients})
        line = await run(run_args, worker.url, bootstrap, worker.env["TOPIC_ORDER_EVENTS"])
        print(f"live-bench: run={name} {line} worker_peak_rss_mb={worker.peak_rss_mb():.0f}", flush=True)
    finally:
        worker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--baseline-clients", type=int, default=10)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=120)
    os.environ.setdefault("TQDM_DISABLE", "1")
    asyncio.run(main(parser.parse_args()))
