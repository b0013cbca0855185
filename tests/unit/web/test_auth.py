"""web.auth: the bearer-token check of Faust's web server (HTTP_AUTH_TOKEN)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bench.measure import free_port
from web import auth

TOKEN = "view-token-0123456789"


def test_only_the_right_bearer_token_opens_a_route() -> None:
    assert auth.authorized("/stats", None, None)  # off by default
    assert auth.authorized("/stats", f"Bearer {TOKEN}", TOKEN)
    assert auth.authorized("/stats", f"bearer {TOKEN} ", TOKEN)
    for bad in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer view-token", "Bearer "):
        assert not auth.authorized("/stats", bad, TOKEN), bad
    for path in ("/healthz", "/readyz", "/metrics"):
        assert auth.authorized(path, None, TOKEN)


@pytest.fixture
def _no_network() -> None:
    """Overrides tests/unit/conftest.py's guard: the only peer is the loopback server started here."""


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"path": request.path})

    app = web.Application(middlewares=[auth.bearer_auth(TOKEN)])
    app.router.add_get("/{tail:.*}", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_the_middleware_answers_401_json_with_a_challenge(server: str) -> None:
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer nope-nope-nope-nope"}):
            async with http.get(f"{server}/categories/books", headers=headers) as resp:
                assert (resp.status, resp.headers["WWW-Authenticate"]) == (401, "Bearer")
                assert "bearer token" in (await resp.json())["error"]
        async with http.get(
            f"{server}/categories/books", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as resp:
            assert (resp.status, await resp.json()) == (200, {"path": "/categories/books"})
        async with http.get(f"{server}/readyz") as resp:
            assert resp.status == 200
