"""web.routing: forwarding works from whichever event loop serves HTTP (Faust's web_in_thread)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from web.routing import _close_clients, http_client


def test_each_event_loop_forwards_with_a_client_session_of_its_own() -> None:
    async def session_and_close():  # type: ignore[no-untyped-def]
        client = http_client()
        assert http_client() is client  # one per loop, reused
        await _close_clients(None)  # what the web server's cleanup runs
        assert client.closed
        replacement = http_client()  # a closed session is never handed out
        assert replacement is not client
        await _close_clients(None)
        return client

    first = asyncio.run(session_and_close())
    second = asyncio.run(session_and_close())  # a new loop, as the web thread's is
    assert second is not first


class FakeView:
    app = SimpleNamespace(conf=SimpleNamespace(canonical_url="http://worker-1:6066"))

    def json(self, body: object) -> tuple:
        return ("json", body)

    def error(self, status: int, message: str) -> tuple:
        return ("error", status, message)


async def test_this_workers_part_of_a_fan_out_is_answered_without_a_request_to_itself(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from web import routing

    def no_http() -> None:
        raise AssertionError("an HTTP request to this worker itself")

    monkeypatch.setattr(routing, "worker_urls", lambda app: [routing.own_url(app)])
    monkeypatch.setattr(routing, "http_client", no_http)
    monkeypatch.setattr(routing, "readiness", lambda app: (True, "ready"))
    request = SimpleNamespace(query={}, path="/stats")

    def present(parts: list) -> dict:
        return {"parts": parts}

    answer = await routing.across_workers(FakeView(), request, lambda: {"k": 1}, present)
    assert answer == ("json", {"parts": [{"k": 1}]})

    # Not ready (restoring, rebalancing): 503, as the request to itself answered.
    monkeypatch.setattr(routing, "readiness", lambda app: (False, "rebalancing"))
    kind, status, message = await routing.across_workers(FakeView(), request, lambda: {"k": 1}, present)
    assert (kind, status) == ("error", 503) and "rebalancing" in message
