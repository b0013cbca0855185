"""bench.query_load: open-loop timing, from the scheduled time and from the send."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bench import query_load
from bench.measure import free_port

DELAY = 0.03


@pytest.fixture
def _no_network() -> None:
    """Overrides tests/unit/conftest.py's guard: this test's only peer is the loopback server it starts."""


async def test_times_each_request_from_its_schedule_and_from_its_send() -> None:
    async def budget(request: web.Request) -> web.Response:
        await asyncio.sleep(DELAY)
        return web.json_response({"advertiser_id": request.match_info["adv"]})

    app = web.Application()
    app.router.add_get("/advertisers/{adv}/budget", budget)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        result = await query_load.run(f"http://127.0.0.1:{port}", rate=50, seconds=0.4, advertisers=3)
    finally:
        await runner.cleanup()

    assert result["errors"] == {}
    assert len(result["latencies"]) == len(result["from_send"]) == 20
    assert all(sent >= DELAY for sent in result["from_send"])
    # The same requests, in the same order: from the schedule is never shorter than from the send.
    assert all(s >= f for s, f in zip(result["latencies"], result["from_send"], strict=True))
