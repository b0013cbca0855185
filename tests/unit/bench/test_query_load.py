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


@pytest.mark.parametrize("asked", ["1", "0"])
def test_the_client_runs_real_time_when_allowed_and_says_how_it_ran(asked: str) -> None:
    import os
    import subprocess
    import sys

    probe = (
        "import os; from bench.query_load import realtime; print(realtime()); print(os.sched_getscheduler(0))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env={**os.environ, "BENCH_QUERY_CLIENT_REALTIME": asked},
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    said, policy = out[0], int(out[1])
    if said == "SCHED_FIFO":
        assert asked == "1" and policy == os.SCHED_FIFO
    else:
        assert policy == os.SCHED_OTHER
        assert said.startswith("normal (SCHED_FIFO refused") if asked == "1" else said == "normal"
