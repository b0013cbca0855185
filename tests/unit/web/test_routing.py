"""web.routing: forwarding works from whichever event loop serves HTTP (WEB_IN_THREAD)."""

from __future__ import annotations

import asyncio

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
