"""GET /lifecycle/live (server-sent totals over every worker) and GET /dashboard (the page).

A totals event is the whole of the counts by status, so it carries no ``id:``:
a reconnecting client just gets the current totals. After a commit on this
worker (and at least every LIVE_HEARTBEAT seconds, for the other workers'
commits) the stream asks every worker for its committed counts (the fan-out of
GET /lifecycle) and sends the sum when it changed; at most every MIN_GAP seconds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from aiohttp_sse import EventSourceResponse
from faust.web import Request, Response, View

from app import app
from config import settings
from eos.runtime import runtime_of
from tables import order_lifecycle
from web.lifecycle import local_totals, merge_totals
from web.live_hub import Ticks
from web.routing import LOCAL, from_every_worker

MIN_GAP = 0.2
PAGE = (Path(__file__).parent / "dashboard.html").read_text()

ticks = Ticks()
runtime_of(app).listen(order_lifecycle.name, ticks.publish)


@app.page("/dashboard")
class Dashboard(View):
    async def get(self, request: Request) -> Response:
        return self.html(PAGE)


@app.page("/lifecycle/live")
class LifecycleLive(View):
    async def get(self, request: Request) -> Response:
        if len(ticks) >= settings.live_max_streams:
            return self.error(
                503, f"this worker serves {settings.live_max_streams} live streams (LIVE_MAX_STREAMS)"
            )
        flag = ticks.open()
        try:
            return await _serve(request, flag[1])
        finally:
            ticks.close(flag)


async def _totals(request: Request) -> dict:
    if request.query.get("scope") == LOCAL:
        return local_totals()
    return merge_totals(await from_every_worker("/lifecycle", local_totals))


async def _serve(request: Request, changed: asyncio.Event) -> EventSourceResponse:
    resp = EventSourceResponse(ping_interval=settings.live_heartbeat)
    await resp.prepare(request)  # type: ignore[arg-type]
    sent = None
    try:
        while resp.is_connected():
            changed.clear()
            try:
                totals = await _totals(request)
            except (ConnectionError, OSError):
                totals = None  # a worker did not answer: try again at the next tick
            if totals is not None and totals != sent:
                await resp.send(orjson.dumps(totals).decode(), event="totals")
                sent = totals
            try:
                await asyncio.wait_for(changed.wait(), settings.live_heartbeat)
            except TimeoutError:
                pass
            await asyncio.sleep(MIN_GAP)
    except ConnectionError:
        pass  # the client went away
    return resp
