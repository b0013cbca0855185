"""``python -m chaos --outbox``: the order service's path under SIGKILLs, from outside.

Orders and their lifecycle steps go through the API at a steady rate (each request with its
Idempotency-Key, retried on 503 or a lost connection, as a client would) while the Connect
worker, the order service and the stream worker are SIGKILLed and restarted several times and
PostgreSQL is stopped in immediate mode (a crash, no checkpoint) and restarted once. Then every
order answered 2xx must be in the totals exactly once, no other order there, and each order's
lifecycle status as its last answer said. Last line:
``chaos-outbox: orders=N kills connect=A shop=B worker=C postgres=D mismatches=M duplicates=X seed=S``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from infra.connect import connector as dbz
from infra.connect.worker import ConnectWorker
from infra.kafka import KafkaCluster, fetch
from infra.postgres.cluster import PostgresCluster
from infra.services import ShopProcess
from infra.workers import Deployment, Worker
from shop import traffic


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


async def _get(url: str) -> tuple[int | None, Any]:
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return resp.status, await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None, None


async def _supervise(connect: ConnectWorker, name: str, stop: asyncio.Event) -> None:
    """As an operator's automation would: restart a failed connector task (PostgreSQL went away)."""
    while not stop.is_set():
        try:
            st = await asyncio.to_thread(dbz.status, connect, name)
            if any(t.get("state") == "FAILED" for t in st.get("tasks", [])):
                say("connector task FAILED: restarting it")
                await asyncio.to_thread(
                    connect.request, "POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=true"
                )
        except Exception:  # the worker may be down (killed): the next round sees
            pass
        await asyncio.sleep(1)


async def _chaos(
    rng: random.Random, parts: dict[str, Any], kills: Counter, stop: asyncio.Event, every: float
) -> None:
    schedule = [
        "connect",
        "shop",
        "worker",
        "connect",
        "shop",
        "postgres",
        "connect",
        "shop",
        "worker",
        "connect",
        "shop",
    ]
    for target in schedule:
        await asyncio.sleep(every * (0.5 + rng.random()))
        if stop.is_set():
            return
        say(f"kill {target}")
        if target == "connect":
            await asyncio.to_thread(parts["connect"].kill)
            await asyncio.to_thread(parts["connect"].start)
        elif target == "shop":
            parts["shop"].stop(signal.SIGKILL)
            parts["shop"].start()
        elif target == "worker":
            parts["worker"].stop(signal.SIGKILL)
            parts["worker"].start()
        else:
            await asyncio.to_thread(parts["postgres"].stop, "immediate")
            await asyncio.sleep(1)
            await asyncio.to_thread(parts["postgres"].start)
        kills[target] += 1


async def _verify(worker: Worker, out: dict[str, Any], timeout: float) -> tuple[int, int, list[str]]:
    want = out["categories"]
    ends = Counter(out["ends"].values())
    want_counts = {s: ends.get(s, 0) for s in ("created", "paid", "shipped", "delivered", "cancelled")}
    deadline = time.monotonic() + timeout
    got: dict[str, Any] = {}
    counts: Any = None
    while time.monotonic() < deadline:
        _, body = await _get(f"{worker.url}/categories")
        _, life = await _get(f"{worker.url}/lifecycle")
        if body and life:
            got = {
                r["category"]: {k: r[k] for k in ("total_amount", "items_sold", "order_count")}
                for r in body["categories"]
            }
            counts = life["counts"]
            if got == want and counts == want_counts:
                break
        await asyncio.sleep(1)
    problems, duplicates = [], 0
    for c in sorted(set(want) | set(got)):
        w, g = want.get(c), got.get(c)
        if w != g:
            problems.append(f"category {c}: want {w} got {g}")
            duplicates += max(0, (g or {}).get("order_count", 0) - (w or {}).get("order_count", 0))
    if counts != want_counts:
        problems.append(f"lifecycle counts: want {want_counts} got {counts}")
    return len(problems), duplicates, problems


async def main(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    rng = random.Random(seed)
    fetch()
    root = Path(tempfile.mkdtemp(prefix="chaos-outbox-", dir=args.dir))
    kills: Counter[str] = Counter()
    postgres = PostgresCluster(Path(tempfile.mkdtemp(prefix="chaos-postgres-")))
    with KafkaCluster(root / "kafka", brokers=1) as cluster:
        postgres.start()
        deployment = Deployment(bootstrap=cluster.bootstrap_servers, root=root)
        name = f"outbox-{deployment.name}"
        worker = Worker(deployment, 0).start()
        connect = ConnectWorker(root / "connect", cluster.bootstrap_servers)
        shop = ShopProcess(deployment, postgres.dsn(), "", name)
        try:
            await worker.wait_ready()
            await asyncio.to_thread(connect.start)
            shop.env["SHOP_CONNECT_URL"] = connect.url
            shop.start()
            await shop.wait_ready()
            dbz.register(connect, name, dbz.connector_config(postgres.dsn(), name))
            await asyncio.to_thread(dbz.wait_running, connect, name)
            say(f"seed={seed}: {args.orders} orders at {args.rate}/s through {shop.url}")
            stop = asyncio.Event()
            parts = {"connect": connect, "shop": shop, "worker": worker, "postgres": postgres}
            chaos = asyncio.create_task(_chaos(rng, parts, kills, stop, args.orders / args.rate / 12))
            supervisor = asyncio.create_task(_supervise(connect, name, stop))
            out = await traffic.run(shop.url, args.orders, seed, args.concurrency, args.rate)
            stop.set()
            await chaos
            say(f"traffic done: {out['orders']} orders in {out['seconds']:.0f} s; waiting for the totals")
            mismatches, duplicates, problems = await _verify(worker, out, args.settle)
            supervisor.cancel()
            for p in problems[:30]:
                say(f"  problem: {p}")
        finally:
            shop.stop()
            worker.stop()
            connect.stop()
            postgres.stop("immediate")
    print(
        f"chaos-outbox: orders={args.orders} kills connect={kills['connect']} shop={kills['shop']} "
        f"worker={kills['worker']} postgres={kills['postgres']} mismatches={mismatches} "
        f"duplicates={duplicates} seed={seed}"
    )
    return 0 if mismatches == 0 and duplicates == 0 else 1


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m chaos --outbox", description=__doc__)
    p.add_argument("--outbox", action="store_true")
    p.add_argument("--seed", type=int)
    p.add_argument("--orders", type=int, default=6000)
    p.add_argument(
        "--rate", type=float, default=100.0, help="orders per second (each with its lifecycle steps)"
    )
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--settle", type=float, default=180.0, help="seconds to wait for the totals")
    p.add_argument("--dir", default=None)
    return p.parse_args(argv)
