"""GET /users/{user_id}/orders/stream: server-sent events of a user's committed lifecycle state.

Each event is the user's state as a transaction committed it (the runtime's commit
listeners: nothing uncommitted is ever sent), ``id:`` its per-user version
(domain/lifecycle.py: one more per applied event, kept in the value, so ids
order a user's changes across restarts and owners). A client that reconnects
with ``Last-Event-ID`` gets the committed state if it is newer, then the changes.
Only the user's owner streams; any other worker redirects there (307). A stream
whose owner loses the partition in a rebalance gets ``retry:`` and is closed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from aiohttp_sse import EventSourceResponse
from faust.web import Request, Response, View

from web.blueprint import views
from web.live_hub import Hub, Stream, bound_connection, frame, serving, write_frames
from web.routing import LOCAL, bad_request, not_ready, own_url

log = logging.getLogger(__name__)
RETRY_MS = 1000

HUB = "orders"  # the views' key of this stream's hub (app.runtime.web)


def register(app: Any) -> None:
    hub = app.runtime.web[HUB] = Hub(app.settings.live_max_streams)
    app.runtime.listen(app.runtime.tables.order_lifecycle.name, hub.publish)


def owner_of(app: Any, table: str, key: str) -> str | None:
    """The URL of the worker owning ``key`` of ``table``; None while unassigned."""
    try:
        return str(app.router.key_store(table, key)).rstrip("/")
    except Exception:  # no assignment yet (starting, rebalancing)
        return None


def last_event_id(raw: str | None) -> int:
    """The version the client already has (0: none); BadRequest-worthy if not a count."""
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise ValueError(f"Last-Event-ID must be a version number, got {raw[:40]!r}")
    return int(raw)


ServeStream = Callable[[Stream, int], Awaitable[EventSourceResponse]]


async def serve_owned(
    view: View, request: Request, table: str, key: str, hub: Hub, serve: ServeStream
) -> Response:
    """What every stream of one key does before serving it: read Last-Event-ID (400
    if not a version), find the key's owner (503 while unknown; any other worker
    answers 307 to it, or 503 with ``scope=local``), readiness, the stream limit."""
    try:
        last = last_event_id(request.headers.get("Last-Event-ID", request.query.get("last_event_id")))
    except ValueError as exc:
        return bad_request(view, str(exc))
    app = view.app
    owner = owner_of(app, table, key)
    if owner is None:
        return view.error(503, "partition assignment not known yet; retry shortly")
    if owner != own_url(app):
        if request.query.get("scope") == LOCAL:
            return view.error(503, f"this worker does not own {key!r} (now {owner}); retry")
        location = f"{owner}{request.path_qs}"
        return web.json_response({"owner": owner}, status=307, headers={"Location": location})
    if (unready := not_ready(view)) is not None:
        return unready
    stream = hub.open(key.encode(), app.settings.live_buffer)
    if stream is None:
        return view.error(503, f"this worker serves {hub.max_streams} live streams (LIVE_MAX_STREAMS)")
    try:
        with serving(request):
            return await serve(stream, last)
    finally:
        hub.close(stream)


@views.route("/users/{user_id}/orders/stream")
class UserOrdersStream(View):
    async def get(self, request: Request, user_id: str) -> Response:
        app = self.app
        return await serve_owned(
            self,
            request,
            app.runtime.tables.order_lifecycle.name,
            user_id,
            app.runtime.web[HUB],
            lambda stream, last: _serve(app, request, user_id, stream, last),
        )


async def _serve(app: Any, request: Request, user_id: str, stream: Stream, last: int) -> EventSourceResponse:
    heartbeat = app.settings.live_heartbeat
    resp = EventSourceResponse(ping_interval=heartbeat)
    await resp.prepare(request)  # type: ignore[arg-type]
    bound_connection(request.transport)
    stream.on_cut = request.transport.abort if request.transport is not None else None
    # Subscribed first, then read: a commit in between arrives twice, and the
    # version filter drops the second copy.
    state = app.runtime.tables.order_lifecycle.get(user_id)
    sent = [last]
    try:
        if state is not None:
            await write_frames(resp, _frames(user_id, state, sent))
        while True:
            try:
                changes = await stream.next_changes(heartbeat)
            except TimeoutError:
                if not resp.is_connected():
                    break
                # Rebalanced away: the client retries elsewhere.
                if owner_of(app, app.runtime.tables.order_lifecycle.name, user_id) != own_url(app):
                    await resp.send("", event="moved", retry=RETRY_MS)
                    break
                continue
            if changes is None:  # cut: too slow
                break
            frames = [f for change in changes for f in _frames(user_id, orjson.loads(change.value), sent)]
            await write_frames(resp, frames)
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away
    return resp


def _frames(user_id: str, state: dict, sent: list[int]) -> list[str]:
    """The event for one committed state, none if the client has its version (``sent[0]``)."""
    version = state["version"]
    if version <= sent[0]:
        return []
    sent[0] = version
    return [frame(orjson.dumps({"user_id": user_id, **state}).decode(), id=str(version), event="orders")]
