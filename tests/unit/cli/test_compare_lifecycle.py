"""verify's lifecycle check (cli/compare.py) against a loopback stand-in for a worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bench.measure import free_port
from cli.compare import compare_lifecycle

COUNTS = {"created": 1, "paid": 0, "shipped": 0, "delivered": 1, "cancelled": 0}
ACCOUNTING = {"consumed": 3, "processed": 3, "duplicates": 0, "dead_lettered": 0}
ORACLE = {
    "workload": "lifecycle",
    "topics": {"order-events": ACCOUNTING},
    "counts": COUNTS,
    "users": {"u-1": COUNTS},
    "orders": {"o-1": {"user_id": "u-1", "status": "delivered", "version": 3}},
}


@pytest.fixture
def _no_network() -> None:
    """Overrides tests/unit/conftest.py's guard: the only peer is the loopback server started here."""


@pytest.fixture
async def worker() -> AsyncIterator[tuple[str, dict]]:
    """Answers like a worker; ``orders`` is what GET /orders/{id} says (mutable)."""
    orders = {("o-1", "u-1"): {"order_id": "o-1", "user_id": "u-1", "status": "delivered", "version": 3}}

    async def stats(_: web.Request) -> web.Response:
        return web.json_response({"topics": {"order-events": ACCOUNTING}})

    async def totals(_: web.Request) -> web.Response:
        return web.json_response({"users": 1, "counts": COUNTS})

    async def user(_: web.Request) -> web.Response:
        return web.json_response({"counts": COUNTS})

    async def order(request: web.Request) -> web.Response:
        found = orders.get((request.match_info["order_id"], request.query.get("user_id", "")))
        return web.json_response(found or {"error": "no such order"}, status=200 if found else 404)

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_get("/lifecycle", totals)
    app.router.add_get("/users/{user_id}/orders", user)
    app.router.add_get("/orders/{order_id}", order)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", orders
    await runner.cleanup()


async def test_the_oracles_orders_are_checked_through_the_order_view(worker) -> None:  # type: ignore[no-untyped-def]
    url, orders = worker
    async with aiohttp.ClientSession() as http:
        keys, diffs = await compare_lifecycle(http, url, ORACLE)
        assert (keys, diffs) == (4, [])
        orders[("o-1", "u-1")]["status"] = "shipped"
        _, diffs = await compare_lifecycle(http, url, ORACLE)
        assert diffs == [f"{url} order o-1.status: expected delivered got shipped"]
        del orders[("o-1", "u-1")]
        with pytest.raises(ValueError, match="404"):
            await compare_lifecycle(http, url, ORACLE)
