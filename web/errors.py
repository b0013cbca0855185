"""Every HTTP error is JSON: unknown routes, wrong methods, and unexpected failures."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web as aio

log = logging.getLogger(__name__)


@aio.middleware
async def json_errors(request: aio.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except aio.HTTPException as exc:
        if exc.status < 400:
            raise
        return aio.json_response({"error": exc.reason}, status=exc.status)
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path_qs)
        return aio.json_response({"error": "internal error"}, status=500)


def register(app: Any) -> None:
    app.web.web_app.middlewares.append(json_errors)
