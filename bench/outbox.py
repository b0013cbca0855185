"""``python -m bench.outbox``: the order service's path against orders produced straight to Kafka.

One run, one stack (broker, stream worker, PostgreSQL, Connect with Debezium, the order
service), side by side:

1. ``--count`` orders produced directly to ``orders``; then as many through the API
   (``--concurrency`` clients): orders/s from the first send to the worker's committed
   accounting showing them all (``GET /stats``: processed, committed with the totals);
2. ``--rate`` orders/s through the API for ``--seconds``: from each 201 to the order being
   counted by the worker, p50/p99. The worker's count is polled every 20 ms; the k-th order
   answered is taken as visible when the count first reaches k (orders of different
   partitions may overtake each other: a close estimate, not a per-order trace);
3. p50/p99 of ``POST /orders`` (client side) in phase 2.

Phases 1 and 2 also print each process tree's CPU milliseconds per order (bench/cpu.py): the
broker, the stream worker, PostgreSQL (its backends included), Connect, the order service (all
its processes) and this client, so a shortfall can be put on the part that spent the time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaProducer

from bench import cpu
from cli.workloads import orders as orders_workload
from infra.connect import connector as dbz
from infra.connect.worker import ConnectWorker
from infra.kafka import KafkaCluster, fetch
from infra.postgres.cluster import PostgresCluster
from infra.services import ShopProcess
from infra.workers import Deployment, Worker
from shop import traffic


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def processed(http: aiohttp.ClientSession, worker: Worker, topic: str) -> int:
    try:
        async with http.get(f"{worker.url}/stats") as resp:
            return int((await resp.json())["topics"].get(topic, {}).get("processed", 0))
    except (aiohttp.ClientError, ValueError, KeyError):
        return -1


async def until(
    http: aiohttp.ClientSession, worker: Worker, topic: str, n: int, timeout: float = 600
) -> float:
    deadline = time.monotonic() + timeout
    while (await processed(http, worker, topic)) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic}: fewer than {n} processed after {timeout} s")
        await asyncio.sleep(0.02)
    return time.monotonic()


async def direct(bootstrap: str, topic: str, count: int) -> float:
    records, _ = orders_workload.generate(count, seed=99, topic=topic)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    try:
        started = time.monotonic()
        for key, value in records:
            await producer.send(topic, value, key=key)
        await producer.flush()
        return started
    finally:
        await producer.stop()


async def steady(url: str, rate: float, seconds: float, concurrency: int) -> tuple[list[float], list[float]]:
    """(monotonic time of each 201, each POST's latency)."""
    answered: list[float] = []
    latency: list[float] = []
    total = int(rate * seconds)
    started = time.monotonic()
    sem = asyncio.Semaphore(concurrency)

    async def one(http: aiohttp.ClientSession, i: int) -> None:
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        async with sem:
            t0 = time.monotonic()
            status, body = await traffic.post(http, f"{url}/orders", traffic.body(7, i, total), f"steady-{i}")
            if status != 201:
                raise RuntimeError(f"POST /orders: {status} {body}")
            answered.append(time.monotonic())
            latency.append(time.monotonic() - t0)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        await asyncio.gather(*(one(http, i) for i in range(total)))
    return answered, latency


async def visible_at(
    worker: Worker, topic: str, base: int, n: int, stop: asyncio.Event
) -> list[tuple[float, int]]:
    seen: list[tuple[float, int]] = []
    async with aiohttp.ClientSession() as http:
        while True:
            count = await processed(http, worker, topic)
            seen.append((time.monotonic(), count - base))
            if stop.is_set() and count - base >= n:
                return seen
            await asyncio.sleep(0.02)


async def main(args: argparse.Namespace) -> int:
    fetch()
    root = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    postgres = PostgresCluster(Path(tempfile.mkdtemp(prefix="bench-postgres-")))
    with KafkaCluster(root / "kafka", brokers=1) as cluster:
        postgres.start()
        deployment = Deployment(bootstrap=cluster.bootstrap_servers, root=root)
        name, topic = f"outbox-{deployment.name}", deployment.topic("TOPIC_ORDERS")
        # COMMIT_INTERVAL as deployed (the test deployments use 0.5 s).
        worker = Worker(deployment, 0, COMMIT_INTERVAL="0.1").start()
        connect = ConnectWorker(root / "connect", cluster.bootstrap_servers)
        shop: ShopProcess | None = None
        try:
            await worker.wait_ready()
            await asyncio.to_thread(connect.start)
            shop = ShopProcess(
                deployment,
                postgres.dsn(),
                connect.url,
                name,
                SHOP_PROCESSES=str(args.shop_processes),
                SHOP_DB_POOL=str(args.pool),
            ).start()
            await shop.wait_ready()
            dbz.register(connect, name, dbz.connector_config(postgres.dsn(), name))
            await asyncio.to_thread(dbz.wait_running, connect, name)
            roots = {
                "broker": next(iter(cluster.node_pids().values())),
                "worker": worker.proc.pid if worker.proc else None,
                "postgres": postgres.pid(),
                "connect": connect.pid(),
                "shop": shop.proc.pid if shop.proc else None,
                "client": os.getpid(),
            }
            print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            async with aiohttp.ClientSession() as http:
                c0 = cpu.tree_seconds(roots)
                t0 = await direct(cluster.bootstrap_servers, topic, args.count)
                direct_rate = args.count / (await until(http, worker, topic, args.count) - t0)
                print(f"direct to Kafka: {args.count} orders, {direct_rate:,.0f} orders/s", flush=True)
                c1 = cpu.tree_seconds(roots)
                print(f"  CPU ms/order: {cpu.per_order(c0, c1, args.count)}", flush=True)
                t0 = time.monotonic()
                await traffic.run_orders(shop.url, args.count, args.concurrency)
                answered_s = time.monotonic() - t0
                api_rate = args.count / (await until(http, worker, topic, 2 * args.count) - t0)
                c2 = cpu.tree_seconds(roots)
                print(
                    f"API -> PostgreSQL -> Debezium -> Kafka -> totals: {args.count} orders, {api_rate:,.0f} "
                    f"orders/s ({api_rate / direct_rate:.2f} of direct); all answered 201 after "
                    f"{answered_s:.1f} s ({args.count / answered_s:,.0f} orders/s)",
                    flush=True,
                )
                print(f"  CPU ms/order: {cpu.per_order(c1, c2, args.count)}", flush=True)
                print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
                base = 2 * args.count
            stop = asyncio.Event()
            watcher = asyncio.create_task(
                visible_at(worker, topic, base, int(args.rate * args.seconds), stop)
            )
            answered, latency = await steady(shop.url, args.rate, args.seconds, args.concurrency)
            stop.set()
            seen = await watcher
            answered.sort()
            lags, j = [], 0
            for k, t in enumerate(answered, 1):
                while seen[j][1] < k:
                    j += 1
                lags.append(max(0.0, seen[j][0] - t))
            print(
                f"at {args.rate:.0f} orders/s for {args.seconds:.0f} s: "
                f"201 -> counted p50 {pct(lags, 50) * 1000:.0f} ms, "
                f"p99 {pct(lags, 99) * 1000:.0f} ms; POST /orders p50 {pct(latency, 50) * 1000:.0f} ms, "
                f"p99 {pct(latency, 99) * 1000:.0f} ms",
                flush=True,
            )
        finally:
            if shop is not None:
                shop.stop()
            worker.stop()
            connect.stop()
            postgres.stop("immediate")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.outbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--count", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rate", type=float, default=500.0)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--shop-processes", type=int, default=0, help="SHOP_PROCESSES (0: one per CPU)")
    p.add_argument("--pool", type=int, default=10, help="SHOP_DB_POOL of each service process")
    return p.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
