"""The query front (native/src/front.rs): what it answers itself, and what it
passes on to the worker's web server (here a loopback stand-in) unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import budget_kernel
import orjson
import pytest
from aiohttp import web
from yarl import URL

from app import app
from bench.measure import free_port
from domain.budgets import Budget, public_view

DELETED = object()
STORED = orjson.dumps(
    {"balance": 700, "spent": 300, "funded": 1000, "charged": 3, "rejected": 1, "duplicates": 2,
     "status": "active", "last_rejected_cpc": 500, "updated_at": "2026-11-24T10:00:00+09:00"}
)  # fmt: skip


@pytest.fixture
def _no_network() -> None:
    """Overrides tests/unit/conftest.py's guard: the only peers are the loopback servers started here."""


@pytest.fixture
async def backend() -> AsyncIterator[tuple[int, list[web.Request]]]:
    """A stand-in for Faust's web server: names itself, echoes what it got."""
    seen: list[web.Request] = []

    async def anything(request: web.Request) -> web.Response:
        seen.append(request)
        body = {"backend": True, "method": request.method, "path": request.raw_path,
                "query": request.query_string, "body": (await request.read()).decode()}  # fmt: skip
        return web.json_response(body, status=418, headers={"X-Backend": "yes"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield port, seen
    await runner.cleanup()


@pytest.fixture
def front(backend):  # type: ignore[no-untyped-def]
    port, _ = backend
    f = budget_kernel.QueryFront("127.0.0.1", 0, port, 3)
    yield f
    f.close()


async def get(front, path: str, method: str = "GET", data: bytes | None = None, headers=None):  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as http:
        url = URL(f"http://127.0.0.1:{front.port}{path}", encoded=True)  # as written: %2D stays %2D
        async with http.request(method, url, data=data, headers=headers) as resp:
            return resp.status, resp.headers, await resp.read()


def served_here(headers) -> bool:  # type: ignore[no-untyped-def]
    return headers.get("X-Served-By") == "query-front"


@pytest.mark.parametrize(
    "stored",
    [
        STORED,
        b"{}",
        orjson.dumps({"balance": 0, "status": "exhausted", "updated_at": None}),
        orjson.dumps({"balance": 2**62, "spent": -5, "status": '\u00e9t\u00e9 "q" \\ \n\u2028'}),
        orjson.dumps({"balance": 5, "updated_at": "2026-11-24T15:00:00+00:00", "version": 42}),
    ],
)
@pytest.mark.parametrize("advertiser_id", ["a-1", "\u5e7f\u544a\u4e3b-7", 'a"b\\c'])
def test_renders_what_the_view_answers(advertiser_id: str, stored: bytes) -> None:
    want = public_view(advertiser_id, Budget.from_dict(orjson.loads(stored)))
    got = budget_kernel.QueryFront.render(advertiser_id, stored)
    assert got == orjson.dumps(want)


@pytest.mark.parametrize(
    "stored",
    [
        b"not json",
        b'{"balance": 1.5}',
        b'{"surprise": 1}',
        b'{"balance": 1e400}',
        b'{"balance": 18446744073709551616}',
    ],
)
def test_leaves_to_the_view_what_it_cannot_read(stored: bytes) -> None:
    assert budget_kernel.QueryFront.render("a-1", stored) is None


async def test_answers_a_published_budget_only_while_active(front, backend) -> None:  # type: ignore[no-untyped-def]
    _, seen = backend
    front.publish(2, {b"a-1": STORED}, DELETED)  # not active yet: dropped
    status, headers, _ = await get(front, "/advertisers/a-1/budget")
    assert (status, served_here(headers)) == (418, False)

    front.activate([2, 4])
    status, headers, _ = await get(front, "/advertisers/a-1/budget")
    assert (status, served_here(headers)) == (418, False), "published before activation: the view's"

    front.publish(2, {b"a-1": STORED}, DELETED)
    status, headers, body = await get(front, "/advertisers/a-1/budget")
    assert (status, served_here(headers), headers["Content-Type"]) == (200, True, "application/json")
    assert body == budget_kernel.QueryFront.render("a-1", STORED)
    status, headers, _ = await get(front, "/advertisers/a-1/budget?scope=local")
    assert (status, served_here(headers)) == (200, True)
    assert front.stats()[0] == 2

    front.deactivate()
    status, headers, _ = await get(front, "/advertisers/a-1/budget")
    assert (status, served_here(headers)) == (418, False)
    front.activate([2])
    status, headers, _ = await get(front, "/advertisers/a-1/budget")
    assert served_here(headers) is False, "deactivation forgets what was published"
    assert len(seen) == 4


async def test_publishes_of_other_partitions_deletions_and_beyond_the_cap_are_the_views(front) -> None:  # type: ignore[no-untyped-def]
    front.activate([1])
    front.publish(5, {b"a-5": STORED}, DELETED)
    front.publish(1, {b"a-1": STORED, b"a-2": STORED, b"a-3": STORED, b"a-4": STORED}, DELETED)  # cap is 3
    assert front.stats()[2] == 3
    front.publish(1, {b"a-1": DELETED, b"a-2": None}, DELETED)
    answered = {}
    for adv in ("a-1", "a-2", "a-3", "a-4", "a-5"):
        _, headers, _ = await get(front, f"/advertisers/{adv}/budget")
        answered[adv] = served_here(headers)
    assert answered == {"a-1": False, "a-2": False, "a-3": True, "a-4": False, "a-5": False}
    front.activate([2])  # partition 1 left: its budgets go with it
    _, headers, _ = await get(front, "/advertisers/a-3/budget")
    assert not served_here(headers)


@pytest.mark.parametrize(
    "path",
    ["/advertisers/a-1/budget?scope=local&x=1", "/advertisers/a-1/budget/", "/advertisers/a%2D1/budget",
     "/advertisers/a-1/daily?from=2026-11-24&to=2026-11-24", "/advertisers/a-1", "/advertisers//budget"],
)  # fmt: skip
async def test_passes_on_everything_else_unchanged(front, backend, path: str) -> None:  # type: ignore[no-untyped-def]
    front.activate([0])
    # Keys as the front would see them in each path, were it to look: the view decodes %2D.
    front.publish(0, {b"a-1": STORED, b"a-1/": STORED, b"a%2D1": STORED}, DELETED)
    status, headers, body = await get(front, path)
    assert (status, headers["X-Backend"], served_here(headers)) == (418, "yes", False)
    echoed = orjson.loads(body)
    assert echoed["path"] == path and echoed["query"] == path.partition("?")[2]


async def test_passes_on_other_methods_with_their_body(front) -> None:  # type: ignore[no-untyped-def]
    front.activate([0])
    front.publish(0, {b"a-1": STORED}, DELETED)
    status, headers, body = await get(front, "/advertisers/a-1/budget", method="POST", data=b"payload")
    assert (status, served_here(headers)) == (418, False)
    assert orjson.loads(body)["body"] == "payload" and orjson.loads(body)["method"] == "POST"


async def test_a_backend_that_does_not_answer_is_a_503_with_a_json_error() -> None:
    f = budget_kernel.QueryFront("127.0.0.1", 0, free_port(), 10)
    try:
        status, headers, body = await get(f, "/categories")
    finally:
        f.close()
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert "did not answer" in orjson.loads(body)["error"]


def test_a_port_in_use_is_a_clear_error(front) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OSError, match="cannot listen on 127.0.0.1"):
        budget_kernel.QueryFront("127.0.0.1", front.port, 1, 10)


def _front_thread_policy() -> int:
    import os

    (tid,) = [
        t
        for t in os.listdir("/proc/self/task")
        if open(f"/proc/self/task/{t}/comm").read().strip() == "query-front"
    ]
    return os.sched_getscheduler(int(tid))


@pytest.mark.parametrize("realtime", [True, False])
def test_the_serving_thread_is_scheduled_as_asked_or_says_why_not(realtime: bool) -> None:
    import os

    f = budget_kernel.QueryFront("127.0.0.1", 0, 1, 10, realtime=realtime)
    try:
        policy = _front_thread_policy()
        if f.scheduling == "SCHED_FIFO":
            assert realtime and policy == os.SCHED_FIFO
        else:
            assert policy == os.SCHED_OTHER
            assert (
                f.scheduling.startswith("normal (SCHED_FIFO refused")
                if realtime
                else f.scheduling == "normal"
            )
    finally:
        f.close()


def test_the_front_follows_readiness_and_recovers_from_a_deactivation_elsewhere(backend, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from web import front as wiring

    state = {"ready": False, "partitions": [1, 3]}
    monkeypatch.setattr(wiring, "readiness", lambda app: (state["ready"], "test"))
    monkeypatch.setattr(wiring, "_active_partitions", lambda app: state["partitions"])
    f = wiring.Front(app)
    f.native = budget_kernel.QueryFront("127.0.0.1", 0, backend[0], 10)
    try:
        f.sync()
        assert f.native.active is None
        state["ready"] = True
        f.sync()
        assert f.native.active == [1, 3]
        f.publish(1, {b"a-1": object()}, DELETED)  # not bytes: dropped, no error
        f.native.deactivate()  # as a failed publish does, from the handler's thread
        f.sync()
        assert f.native.active == [1, 3]
        state["partitions"] = [3]
        f.sync()
        assert f.native.active == [3]
        state["ready"] = False
        f.sync()
        assert f.native.active is None
    finally:
        f.native.close()


async def test_with_a_token_it_refuses_what_lacks_it_and_lets_the_rest_through(backend) -> None:  # type: ignore[no-untyped-def]
    port, seen = backend
    token = "front-token-0123456789"
    f = budget_kernel.QueryFront("127.0.0.1", 0, port, 3, auth_token=token)
    try:
        f.activate([1])
        f.publish(1, {b"a-1": STORED}, DELETED)
        for headers in (None, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": token}):
            for path in ("/advertisers/a-1/budget", "/stats"):
                status, got, body = await get(f, path, headers=headers)
                assert (status, got["WWW-Authenticate"]) == (401, "Bearer"), (path, headers)
                assert "bearer token" in orjson.loads(body)["error"]
        assert seen == [], "refused requests never reach the worker's web server"

        right = {"Authorization": f"Bearer {token}"}
        status, got, _ = await get(f, "/advertisers/a-1/budget", headers=right)
        assert (status, served_here(got)) == (200, True)
        status, got, _ = await get(f, "/stats", headers=right)
        assert (status, got["X-Backend"]) == (418, "yes")
        assert seen[-1].headers["Authorization"] == f"Bearer {token}", "passed on for the view to check too"
        for open_path in ("/healthz", "/readyz", "/metrics"):
            status, _, _ = await get(f, open_path)
            assert status == 418, open_path
    finally:
        f.close()
