"""Any worker answers for any key: forward to the key's owner, or fan out to all.

A query about one key goes to the worker that owns the key's partition (the
same partition as the table's changelog); a query about every key asks every
worker for its own active partitions (``?scope=local``) and merges.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from faust.web import Request, Response, View

from web.readiness import readiness

LOCAL = "local"
_clients: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}


def http_client() -> aiohttp.ClientSession:
    """The running loop's client session: the views run on
    the web server's own loop, and a session works only on the loop it began on
    (``app.http_client`` would be the first caller's)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.closed:
        client = _clients[loop] = aiohttp.ClientSession()
    return client


async def _close_clients(_: Any) -> None:
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.close()


def register(app: Any) -> None:
    app.web.web_app.on_cleanup.append(_close_clients)  # runs on the web server's loop


async def at_owner(
    view: View, request: Request, table: Any, key: str, local: Callable[[], Awaitable[Response]]
) -> Response:
    """Answer locally if this worker owns ``key``'s partition, else ask the owner.

    A forwarded request (``scope=local``) is answered only by the owner itself:
    a worker that lost the partition in a rebalance says 503 rather than
    serving a stale or empty copy.
    """
    app = view.app
    try:
        owner = str(app.router.key_store(table.name, key)).rstrip("/")
    except Exception:  # no assignment yet (starting, rebalancing)
        return view.error(503, "partition assignment not known yet; retry shortly")
    if owner == own_url(app):
        return not_ready(view) or await local()
    if request.query.get("scope") == LOCAL:
        return view.error(503, f"this worker does not own {key!r} (now {owner}); retry")
    try:
        async with http_client().get(
            f"{owner}{request.path}",
            params={**request.query, "scope": LOCAL},
            headers=app.settings.http_auth_headers,  # the owner checks the token too
        ) as resp:
            return view.bytes(await resp.read(), content_type=resp.content_type, status=resp.status)
    except (aiohttp.ClientError, OSError) as exc:
        return view.error(503, f"owner {owner} of this key is not reachable: {exc}")


def worker_urls(app: Any) -> list[str]:
    urls = {str(url).rstrip("/") for url in app.router.tables_metadata()}
    urls.add(own_url(app))
    return sorted(urls)


def own_url(app: Any) -> str:
    return str(app.conf.canonical_url).rstrip("/")


async def from_every_worker(app: Any, path: str, local: Callable[[], dict]) -> list[Any]:
    """Every worker's ``path?scope=local`` answer: this worker's from ``local``
    (the HTTP round trip to itself cost as much as the answer), the others' JSON bodies."""
    results = []
    for url in worker_urls(app):
        if url == own_url(app):
            ready, reason = readiness(app)
            if not ready:
                raise ConnectionError(f"{url}{path} is not ready ({reason})")
            results.append(local())
            continue
        async with http_client().get(
            f"{url}{path}", params={"scope": LOCAL}, headers=app.settings.http_auth_headers
        ) as resp:
            if resp.status != 200:
                raise ConnectionError(f"{url}{path} answered {resp.status}")
            results.append(await resp.json())
    return results


async def across_workers(
    view: View,
    request: Request,
    local: Callable[[], dict],
    present: Callable[[list[dict]], Any],
) -> Response:
    """Answer from this worker's active partitions (``?scope=local``), or fan out
    to every worker and ``present`` their local answers merged into one body."""
    if request.query.get("scope") == LOCAL:
        return not_ready(view) or view.json(local())
    try:
        parts = await from_every_worker(view.app, request.path, local)
    except (ConnectionError, OSError) as exc:
        return view.error(503, f"a worker did not answer: {exc}")
    return view.json(present(parts))


def not_ready(view: View) -> Response | None:
    """Local tables answer only when complete, not mid-restore or mid-rebalance."""
    ready, reason = readiness(view.app)
    return None if ready else view.error(503, f"not ready ({reason}); retry shortly")


def bad_request(view: View, message: str) -> Response:
    return view.error(400, message)
