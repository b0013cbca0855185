"""``python -m shop.traffic``: orders and lifecycle steps placed through the order service's API.

Deterministic for a seed (the items and users of cli.workloads.orders), each request with an
Idempotency-Key of its own, so a second run with the same seed is answered from the keys and
creates nothing. The totals it prints are the oracle of what the stream worker must show:
the pipeline's own domain functions over the orders answered 201.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import defaultdict
from typing import Any

import aiohttp

from cli.workloads.orders import _order
from domain.orders import Order, category_deltas

# Lifecycle of the i-th order, in rotation: what a shop's day looks like, cancellations included.
STEPS: tuple[tuple[str, ...], ...] = (("pay", "ship", "deliver"), ("pay", "ship"), ("pay",), ("cancel",), ())


def body(seed: int, i: int, count: int) -> dict[str, Any]:
    raw = _order(random.Random(seed * 1_000_003 + i), seed, i, count)
    return {"user_id": raw["user_id"], "items": raw["items"]}


def fold(totals: dict[str, dict[str, int]], order: dict[str, Any]) -> None:
    fields = ("order_id", "user_id", "created_at", "currency", "items")
    for d in category_deltas(Order.model_validate({k: order[k] for k in fields}, strict=False)):
        acc = totals[d.category]
        acc["total_amount"] += d.amount
        acc["items_sold"] += d.items
        acc["order_count"] += 1


async def post(
    http: aiohttp.ClientSession, url: str, payload: Any, key: str, retries: int = 60
) -> tuple[int, Any]:
    """POST with retries on 503 and lost connections (the same key: answered once)."""
    for attempt in range(retries):
        try:
            async with http.post(url, json=payload, headers={"Idempotency-Key": key}) as resp:
                if resp.status != 503 and resp.status < 500:
                    return resp.status, await resp.json()
        except (TimeoutError, aiohttp.ClientError):
            pass
        await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
    raise RuntimeError(f"POST {url} failed {retries} times")


async def run(url: str, count: int, seed: int, concurrency: int, rate: float | None) -> dict[str, Any]:
    totals: dict[str, dict[str, int]] = defaultdict(
        lambda: {"total_amount": 0, "items_sold": 0, "order_count": 0}
    )
    ends: dict[str, str] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    started = time.monotonic()

    async def one(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            if rate:
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            status, order = await post(http, f"{url}/orders", body(seed, i, count), f"traffic-{seed}-{i}")
            if status != 201:
                raise RuntimeError(f"POST /orders: {status} {order}")
            fold(totals, order)
            status_now = "created"
            for action in STEPS[i % len(STEPS)]:
                path = f"{url}/orders/{order['order_id']}/{action}"
                status, moved = await post(http, path, None, f"traffic-{seed}-{i}-{action}")
                if status != 200:
                    raise RuntimeError(f"POST {path}: {status} {moved}")
                status_now = moved["status"]
            ends[order["order_id"]] = status_now

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        await asyncio.gather(*(one(http) for _ in range(concurrency)))
    return {
        "orders": len(ends),
        "seconds": time.monotonic() - started,
        "categories": dict(totals),
        "ends": ends,
    }


async def run_orders(url: str, count: int, concurrency: int, seed: int = 5) -> None:
    """Orders only, as fast as answered (the bench's throughput phase)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def one(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            status, order = await post(http, f"{url}/orders", body(seed, i, count), f"bulk-{seed}-{i}")
            if status != 201:
                raise RuntimeError(f"POST /orders: {status} {order}")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        await asyncio.gather(*(one(http) for _ in range(concurrency)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop.traffic", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:6070")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rate", type=float, default=None, help="orders per second (default: as fast as answered)"
    )
    ns = parser.parse_args(argv)
    out = asyncio.run(run(ns.url, ns.count, ns.seed, ns.concurrency, ns.rate))
    print(f"{out['orders']} orders placed through {ns.url} in {out['seconds']:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
