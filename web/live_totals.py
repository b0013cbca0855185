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
from typing import Any

import orjson
from aiohttp_sse import EventSourceResponse
from faust.web import Request, Response, View

from web.blueprint import views
from web.lifecycle import local_totals, merge_totals
from web.live_hub import Ticks, serving
from web.routing import LOCAL, from_every_worker

MIN_GAP = 0.2
PAGE = (Path(__file__).parent / "dashboard.html").read_text()

TICKS = "totals"  # the views' key of this stream's ticks (app.runtime.web)


def register(app: Any) -> None:
    ticks = app.runtime.web[TICKS] = Ticks()
    app.runtime.listen(app.runtime.tables.order_lifecycle.name, ticks.publish)


@views.route("/dashboard")
class Dashboard(View):
    async def get(self, request: Request) -> Response:
        return self.html(PAGE)


@views.route("/lifecycle/live")
class LifecycleLive(View):
    async def get(self, request: Request) -> Response:
        app, settings = self.app, self.app.settings
        ticks = app.runtime.web[TICKS]
        if len(ticks) >= settings.live_max_streams:
            return self.error(
                503, f"this worker serves {settings.live_max_streams} live streams (LIVE_MAX_STREAMS)"
            )
        flag = ticks.open()
        try:
            with serving(request):
                return await _serve(app, request, flag[1])
        finally:
            ticks.close(flag)


async def _totals(app: Any, request: Request) -> dict:
    if request.query.get("scope") == LOCAL:
        return local_totals(app)
    return merge_totals(await from_every_worker(app, "/lifecycle", lambda: local_totals(app)))


async def _serve(app: Any, request: Request, changed: asyncio.Event) -> EventSourceResponse:
    heartbeat = app.settings.live_heartbeat
    resp = EventSourceResponse(ping_interval=heartbeat)
    await resp.prepare(request)  # type: ignore[arg-type]
    sent = None
    try:
        while resp.is_connected():
            changed.clear()
            try:
                totals = await _totals(app, request)
            except (ConnectionError, OSError):
                totals = None  # a worker did not answer: try again at the next tick
            if totals is not None and totals != sent:
                await resp.send(orjson.dumps(totals).decode(), event="totals")
                sent = totals
            try:
                await asyncio.wait_for(changed.wait(), heartbeat)
            except TimeoutError:
                pass
            await asyncio.sleep(MIN_GAP)
    except ConnectionError:
        pass  # the client went away
    return resp
