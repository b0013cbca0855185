"""The HTTP API: ``create_shop(settings)`` builds the aiohttp application, its pool and its monitor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp
import asyncpg
import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from config.settings import Settings
from infra.connect.connector import slot_name
from shop import commands as c
from shop import schema, store
from shop.metrics import ShopMetrics, worst_state

log = logging.getLogger("shop")


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
METRICS = web.AppKey("metrics", ShopMetrics)
MONITOR = web.AppKey("monitor", bool)
FAULT_HEADER = "X-Inject-Fault"
# The database is away (restarting, unreachable): the client may retry, with its Idempotency-Key.
UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)


@web.middleware
async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        if exc.status < 400:
            raise
        return web.json_response({"error": exc.reason}, status=exc.status)
    except c.ShopError as exc:
        status = exc.status
        return web.json_response({"error": str(exc)}, status=exc.status)
    except UNAVAILABLE as exc:
        status = 503
        return web.json_response(
            {"error": f"database unavailable, retry: {type(exc).__name__}"},
            status=503,
            headers={"Retry-After": "1"},
        )
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path_qs)
        return web.json_response({"error": "internal error"}, status=500)
    finally:
        route = request.match_info.route.resource
        template = route.canonical if route is not None else "unmatched"
        request.app[METRICS].requests.labels(template, request.method, str(status)).observe(
            time.perf_counter() - started
        )


def _fault(request: web.Request) -> Any:
    """None unless armed (tests only): then a callable that fails the transaction after its writes."""
    if not (
        request.app[SETTINGS].shop_fault_injection and request.headers.get(FAULT_HEADER) == "after-write"
    ):
        return None

    def fault() -> None:
        raise c.InjectedFault("injected fault after the order row was written: rolled back")

    return fault


async def _answer(request: web.Request, work: Any) -> web.Response:
    key = c.check_idempotency_key(request.headers.get("Idempotency-Key"))
    raw = await request.read()
    digest = c.request_hash(request.method, request.path, raw)
    reply, replayed = await store.idempotent(request.app[POOL], key, digest, work)
    return _respond(request, reply, replayed)


def _respond(request: web.Request, reply: store.Reply, replayed: bool) -> web.Response:
    status, body = reply
    headers = {"Location": f"/orders/{body['order_id']}"} if status == 201 else {}
    if replayed:
        request.app[METRICS].replays.inc()
        headers["Idempotent-Replayed"] = "true"
    return web.json_response(body, status=status, headers=headers, dumps=_dumps)


async def place_order(request: web.Request) -> web.Response:
    key = c.check_idempotency_key(request.headers.get("Idempotency-Key"))
    raw = await request.read()
    cmd = c.parse_place_order(raw)
    digest = c.request_hash(request.method, request.path, raw)
    reply, replayed = await store.place_order(
        request.app[POOL], request.app[SETTINGS], cmd, c.now_utc(), key, digest, _fault(request)
    )
    if not replayed:
        request.app[METRICS].orders.inc()
    return _respond(request, reply, replayed)


async def move(request: web.Request) -> web.Response:
    settings, fault = request.app[SETTINGS], _fault(request)
    order_id, target = request.match_info["order_id"], c.ACTIONS[request.match_info["action"]]

    async def work(conn: Any) -> store.Reply:
        return await store.transition(conn, settings, order_id, target, c.now_utc(), fault)

    response = await _answer(request, work)
    if "Idempotent-Replayed" not in response.headers:
        request.app[METRICS].transitions.labels(target).inc()
    return response


async def get_order(request: web.Request) -> web.Response:
    return web.json_response(await store.get_order(request.app[POOL], request.match_info["order_id"]))


async def readyz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(2):
            await request.app[POOL].fetchval("SELECT 1")
    except Exception as exc:  # any failure to answer is "not ready", with why
        return web.json_response({"status": "unavailable", "reason": type(exc).__name__}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(request.app[METRICS].exposition), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def connector_state(http: aiohttp.ClientSession, settings: Settings) -> str:
    url = f"{settings.shop_connect_url}/connectors/{settings.shop_connector}/status"
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
            if resp.status == 404:
                return "MISSING"
            return worst_state(await resp.json()) if resp.status == 200 else "UNREACHABLE"
    except (TimeoutError, aiohttp.ClientError, ValueError):
        return "UNREACHABLE"


async def monitor(app: web.Application) -> None:
    """Refresh the connector's state and the outbox gauges; prune on its own cadence."""
    settings, pool, m = app[SETTINGS], app[POOL], app[METRICS]
    slot, next_prune = slot_name(settings.shop_connector), 0.0
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                m.set_connector(await connector_state(http, settings))
                if time.monotonic() >= next_prune:
                    pruned, _ = await store.prune(pool, settings, slot)
                    m.pruned.inc(pruned)
                    next_prune = time.monotonic() + settings.shop_prune_interval
                rows, lag = await store.outbox_state(pool, slot)
                m.outbox_rows.set(rows)
                m.outbox_lag.set(lag)
            except UNAVAILABLE as exc:
                log.warning("monitor: database unavailable (%s)", type(exc).__name__)
            except Exception:  # the gauges go stale, the service keeps serving
                log.exception("monitor: unexpected error")
            await asyncio.sleep(settings.shop_monitor_interval)


async def _keep_session(conn: Any) -> None:
    """Release without asyncpg's reset query (a round trip per request): no request changes its
    session (no SET, LISTEN, cursor or session lock), and a transaction left open is rolled back
    by the pool before this is called."""


async def _lifespan(app: web.Application) -> Any:
    settings = app[SETTINGS]
    dsn = settings.shop_database_url.get_secret_value()
    app[POOL] = await asyncpg.create_pool(
        dsn, min_size=1, max_size=settings.shop_db_pool, reset=_keep_session
    )
    async with app[POOL].acquire() as conn:
        await schema.apply(conn)
    task = asyncio.create_task(monitor(app)) if app[MONITOR] else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app[POOL].close()


def create_shop(settings: Settings, *, monitor: bool = True) -> web.Application:
    """``monitor``: this process refreshes the connector state, the outbox gauges and prunes
    (one of several processes does; shop/processes.py)."""
    app = web.Application(middlewares=[errors], client_max_size=256 * 1024)
    app[SETTINGS] = settings
    app[MONITOR] = monitor
    app[METRICS] = ShopMetrics()
    app.add_routes(
        [
            web.post("/orders", place_order),
            web.post(r"/orders/{order_id}/{action:pay|ship|deliver|cancel}", move),
            web.get("/orders/{order_id}", get_order),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics),
        ]
    )
    app.cleanup_ctx.append(_lifespan)
    return app
