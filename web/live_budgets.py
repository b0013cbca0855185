"""GET /advertisers/{advertiser_id}/budget/stream: server-sent events of a budget's committed values.

``event: budget`` carries what GET /advertisers/{id}/budget answers (with its
``version``) and ``committed_ms``, ``id:`` the version: one more per applied
event, kept in the value, so ids order a budget's changes across owners and
restarts. ``event: status`` (``{advertiser_id, status, balance, version}``, no
``id:``) comes just before the budget event whose status differs from the one
last sent on this stream; the first event of a stream carries its status in the
budget event only. Only values a transaction committed are sent (the commit
listeners, web/live_hub.py). Owner, 307, resume and rebalance as web/live.py.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp_sse import EventSourceResponse
from faust.web import Request, Response, View

from domain.budgets import Budget, public_view
from web.blueprint import views
from web.live import RETRY_MS, owner_of, serve_owned
from web.live_hub import Change, Hub, Stream, bound_connection, frame, write_frames
from web.routing import own_url

HUB = "budgets"  # the views' key of this stream's hub (app.runtime.web)


def register(app: Any) -> None:
    hub = app.runtime.web[HUB] = Hub(app.settings.live_max_streams)
    app.runtime.listen(app.runtime.tables.budgets.name, hub.publish)


@views.route("/advertisers/{advertiser_id}/budget/stream")
class AdvertiserBudgetStream(View):
    async def get(self, request: Request, advertiser_id: str) -> Response:
        app = self.app
        return await serve_owned(
            self,
            request,
            app.runtime.tables.budgets.name,
            advertiser_id,
            app.runtime.web[HUB],
            lambda stream, last: _serve(app, request, advertiser_id, stream, last),
        )


class _Sent:
    """What this stream sent last: the version (ids never go back) and the status."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.status: str | None = None


async def _serve(
    app: Any, request: Request, advertiser_id: str, stream: Stream, last: int
) -> EventSourceResponse:
    heartbeat = app.settings.live_heartbeat
    resp = EventSourceResponse(ping_interval=heartbeat)
    await resp.prepare(request)  # type: ignore[arg-type]
    bound_connection(request.transport)
    stream.on_cut = request.transport.abort if request.transport is not None else None
    sent = _Sent(last)
    # Subscribed first, then read: a commit in between arrives twice, and the
    # version filter drops the second copy.
    stored = app.runtime.tables.budgets.get(advertiser_id)
    try:
        if stored is not None:
            now = time.time_ns() // 1_000_000
            await write_frames(resp, _frames(advertiser_id, *_budget_frame(advertiser_id, stored, now), sent))
        while True:
            try:
                changes = await stream.next_changes(heartbeat)
            except TimeoutError:
                if not resp.is_connected():
                    break
                # Rebalanced away: the client retries elsewhere.
                if owner_of(app, app.runtime.tables.budgets.name, advertiser_id) != own_url(app):
                    await resp.send("", event="moved", retry=RETRY_MS)
                    break
                continue
            if changes is None:  # cut: too slow
                break
            frames = [f for change in changes for f in _change_frames(advertiser_id, change, sent)]
            await write_frames(resp, frames)
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away
    return resp


def _change_frames(advertiser_id: str, change: Change, sent: _Sent) -> list[str]:
    """``_frames`` of a committed change; its view and budget frame are made once
    for every stream of the advertiser (``Change.memo``)."""
    if change.memo is None:
        change.memo = _budget_frame(advertiser_id, orjson.loads(change.value), change.committed_ms)
    return _frames(advertiser_id, *change.memo, sent)


def _budget_frame(advertiser_id: str, stored: dict, committed_ms: int) -> tuple[dict, str]:
    view = public_view(advertiser_id, Budget.from_dict(stored))
    data = orjson.dumps({**view, "committed_ms": committed_ms}).decode()
    return view, frame(data, id=str(view["version"]), event="budget")


def _frames(advertiser_id: str, view: dict, budget_frame: str, sent: _Sent) -> list[str]:
    """The events for one committed value: none if this stream sent its version
    already; a status event first when the status changed."""
    version = view["version"]
    if version <= sent.version:
        return []
    frames = []
    if sent.status is not None and view["status"] != sent.status:
        change = {"advertiser_id": advertiser_id, "status": view["status"], "balance": view["balance"],
                  "version": version}  # fmt: skip
        frames.append(frame(orjson.dumps(change).decode(), event="status"))
    frames.append(budget_frame)
    sent.version, sent.status = version, view["status"]
    return frames
