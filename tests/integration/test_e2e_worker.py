"""A real worker subprocess: produce an order, read its effect back over HTTP."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

pytestmark = pytest.mark.integration


async def poll_json(url: str, until, timeout: float = 60):  # type: ignore[no-untyped-def]
    """GET url until `until(status, body)` holds; return the last (status, body)."""
    deadline = time.monotonic() + timeout
    status, body = None, None
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as resp:
                    status, body = resp.status, await resp.json()
                if until(status, body):
                    return status, body
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    return status, body


async def test_order_reaches_category_totals(deployment, workers):  # type: ignore[no-untyped-def]
    (worker,) = workers(1)
    await worker.wait_http()
    order = {
        "order_id": "o-1", "user_id": "u-42", "created_at": "2026-11-24T10:15:00+09:00",
        "currency": "KRW",
        "items": [
            {"sku": "sku-9", "category": "fashion", "quantity": 2, "unit_price": 15000},
            {"sku": "sku-3", "category": "fashion", "quantity": 1, "unit_price": 1000},
            {"sku": "sku-4", "category": "books", "quantity": 3, "unit_price": 12000},
        ],
    }  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=deployment.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(deployment.topic("TOPIC_ORDERS"), orjson.dumps(order), key=b"u-42")
    finally:
        await producer.stop()

    status, body = await poll_json(f"{worker.url}/categories/fashion", lambda s, b: s == 200, timeout=90)
    assert status == 200, (body, worker.log_tail())
    assert (body["total_amount"], body["items_sold"], body["order_count"]) == (31000, 3, 1)
    status, body = await poll_json(f"{worker.url}/categories/books", lambda s, b: s == 200)
    assert (body["total_amount"], body["items_sold"], body["order_count"]) == (36000, 3, 1)

    status, body = await poll_json(
        f"{worker.url}/categories/fashion/hourly?from=2026-11-24T10:00:00%2B09:00"
        "&to=2026-11-24T11:00:00%2B09:00",
        lambda s, b: s == 200,
    )
    assert [b["hour"] for b in body["buckets"]] == ["2026-11-24T01:00:00+00:00"]
    assert body["buckets"][0]["total_amount"] == 31000

    status, body = await poll_json(f"{worker.url}/categories/toys", lambda s, b: s is not None)
    assert status == 404 and "error" in body
