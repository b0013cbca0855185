"""Bearer-token authentication of the HTTP API (HTTP_AUTH_TOKEN; off when unset).

Every route but the probes and the metrics needs ``Authorization: Bearer <token>``.
The query front (native/src/front.rs) checks the same before it answers or
forwards; this middleware covers Faust's web server, which with the front on
listens on loopback only and without it is WEB_PORT itself.
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web as aio

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def authorized(path: str, authorization: str | None, token: str | None) -> bool:
    """No token configured, an open path, or the right bearer token (compared in constant time)."""
    if token is None or path in OPEN_PATHS:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def bearer_auth(token: str | None) -> Any:
    """The middleware checking ``token`` (None: every request passes)."""

    @aio.middleware
    async def check(request: aio.Request, handler):  # type: ignore[no-untyped-def]
        if not authorized(request.path, request.headers.get("Authorization"), token):
            body = {"error": "missing or wrong bearer token (Authorization: Bearer <HTTP_AUTH_TOKEN>)"}
            return aio.json_response(body, status=401, headers=CHALLENGE)
        return await handler(request)

    return check


def register(app: Any) -> None:
    secret = app.settings.http_auth_token
    app.web.web_app.middlewares.append(bearer_auth(secret.get_secret_value() if secret else None))
