"""GET /categories/stream: server-sent events of every category's committed all-time totals.

``event: category``, data ``{category, total_amount, items_sold, order_count,
updated_at, committed_ms}``, ``id:`` the category's ``order_count``, which grows
by at least one with each committed change of that category. Ids are per
category, so ``Last-Event-ID`` (checked: a number) cannot say where a client
was: every connection, new or resumed, starts with the committed totals of every
category, then the changes; a category's values never go back on one stream.

Any worker serves it (fan-in): it opens ``?scope=local`` streams of every other
worker (each: its own committed totals, then its own commits) and merges them with
its own. When an upstream stream ends (its worker died or lost partitions in a
rebalance) the merged stream sends ``retry:`` and closes: the client reconnects
and gets a fresh snapshot, so nothing is lost (repeats are harmless). A
``scope=local`` stream ends the same way when this worker's partitions of the
table change. ``?category=a,b`` keeps those categories only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from aiohttp_sse import EventSourceResponse
from faust.web import Request, Response, View

from tables._declare import text_key
from web.blueprint import views
from web.live import RETRY_MS, last_event_id
from web.live_hub import Hub, bound_connection, serving
from web.readiness import readiness
from web.routing import LOCAL, bad_request, http_client, not_ready, own_url, worker_urls

log = logging.getLogger(__name__)
MAX_FILTER = 100  # categories in ?category=

HUB = "categories"  # the views' key of this stream's hub (app.runtime.web)


def register(app: Any) -> None:
    hub = app.runtime.web[HUB] = Hub(app.settings.live_max_streams)
    app.runtime.listen(app.runtime.tables.category_totals.name, hub.publish)


Event = dict[str, Any]  # one category's totals, as sent
_END = object()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _event(category: str, totals: dict, committed_ms: int) -> Event:
    return {
        "category": category,
        "total_amount": totals["total_amount"],
        "items_sold": totals["items_sold"],
        "order_count": totals["order_count"],
        "updated_at": totals.get("updated_at"),
        "committed_ms": committed_ms,
    }


def _assignment(app: Any) -> frozenset[int] | None:
    """This worker's active partitions of the table while it is ready, else None."""
    if not readiness(app)[0]:
        return None
    changelog = app.runtime.tables.category_totals.changelog_topic.get_topic_name()
    return frozenset(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == changelog)


def categories_filter(raw: str | None) -> frozenset[str] | None:
    """``?category=a,b``; None keeps every category. ValueError when malformed."""
    if raw is None:
        return None
    names = frozenset(name for name in raw.split(",") if name)
    if not names or len(names) > MAX_FILTER:
        raise ValueError(f"category must name 1 to {MAX_FILTER} categories, comma-separated")
    return names


@views.route("/categories/stream")
class CategoriesStream(View):
    async def get(self, request: Request) -> Response:
        try:
            last_event_id(request.headers.get("Last-Event-ID", request.query.get("last_event_id")))
            wanted = categories_filter(request.query.get("category"))
        except ValueError as exc:
            return bad_request(self, str(exc))
        if (unready := not_ready(self)) is not None:
            return unready
        app, settings = self.app, self.app.settings
        assigned = _assignment(app)
        hub = app.runtime.web[HUB]
        stream = hub.open(None, settings.live_buffer)
        if stream is None:
            limit = f"this worker serves {hub.max_streams} category streams (LIVE_MAX_STREAMS)"
            return self.error(503, limit)
        merged: asyncio.Queue[Any] = asyncio.Queue(maxsize=settings.live_buffer)
        tasks: list[asyncio.Task] = []
        upstreams: list[aiohttp.ClientResponse] = []
        try:
            if request.query.get("scope") != LOCAL:
                for url in worker_urls(app):
                    if url == own_url(app):
                        continue
                    try:
                        upstreams.append(await _open_upstream(app, url, request.query.get("category")))
                    except (aiohttp.ClientError, OSError, ConnectionError) as exc:
                        return self.error(503, f"worker {url} did not open its stream: {exc}")
            # Own snapshot after subscribing: a commit in between arrives twice (harmless).
            snapshot = [
                _event(text_key(k), v, _now_ms())
                for k, v in app.runtime.tables.category_totals.items()
                if v is not None
            ]
            bound_connection(request.transport)
            stream.on_cut = request.transport.abort if request.transport is not None else None
            tasks.append(asyncio.create_task(_own_changes(stream, merged, settings.live_heartbeat)))
            tasks += [asyncio.create_task(_upstream_changes(up, merged)) for up in upstreams]
            with serving(request):
                return await _serve(app, request, snapshot, merged, wanted, assigned)
        finally:
            for task in tasks:
                task.cancel()
            for up in upstreams:
                up.close()
            hub.close(stream)


async def _open_upstream(app: Any, url: str, category: str | None) -> aiohttp.ClientResponse:
    params = {"scope": LOCAL} | ({"category": category} if category is not None else {})
    resp = await http_client().get(
        f"{url}/categories/stream",
        params=params,
        headers=app.settings.http_auth_headers,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=None),
    )
    if resp.status != 200:
        resp.close()
        raise ConnectionError(f"answered {resp.status}")
    return resp


async def _own_changes(stream: Any, merged: asyncio.Queue, heartbeat: float) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            change = await stream.next_change(heartbeat)
            if change is None:
                await merged.put((_END, f"slow client: {stream.cut}"))
                return
            totals = orjson.loads(change.value)
            await merged.put(_event(text_key(change.key), totals, change.committed_ms))


async def _upstream_changes(resp: aiohttp.ClientResponse, merged: asyncio.Queue) -> None:
    reason = f"upstream {resp.url.origin()} ended"
    try:
        async for name, data in sse_events(resp):
            if name == "category":
                await merged.put(orjson.loads(data))
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        reason = f"{reason}: {exc!r}"
    await merged.put((_END, reason))


async def sse_events(resp: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, str]]:
    """(event, data) of each event of a server-sent event stream, until it ends."""
    fields: dict[str, str] = {}
    async for raw in resp.content:
        line = raw.decode().rstrip("\r\n")
        if line:
            if not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
            continue
        if "data" in fields:
            yield fields.get("event", "message"), fields["data"]
        fields = {}


async def _serve(
    app: Any,
    request: Request,
    snapshot: list[Event],
    merged: asyncio.Queue,
    wanted: frozenset[str] | None,
    assigned: frozenset[int] | None,
) -> EventSourceResponse:
    heartbeat = app.settings.live_heartbeat
    resp = EventSourceResponse(ping_interval=heartbeat)
    await resp.prepare(request)  # type: ignore[arg-type]
    sent: dict[str, int] = {}  # order_count last sent, per category

    async def send(event: Event) -> None:
        category, count = event["category"], event["order_count"]
        if (wanted is not None and category not in wanted) or count <= sent.get(category, 0):
            return
        await resp.send(orjson.dumps(event).decode(), id=str(count), event="category")
        sent[category] = count

    try:
        for event in sorted(snapshot, key=lambda e: e["category"]):
            await send(event)
        while True:
            try:
                item = await asyncio.wait_for(merged.get(), heartbeat)
            except TimeoutError:
                if not resp.is_connected():
                    break
                if _assignment(app) != assigned:  # partitions moved: reconnect for a fresh snapshot
                    await resp.send("", event="moved", retry=RETRY_MS)
                    break
                continue
            if isinstance(item, tuple) and item[0] is _END:
                log.warning("category stream ends: %s", item[1])
                await resp.send("", event="moved", retry=RETRY_MS)
                break
            await send(item)
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away
    return resp
