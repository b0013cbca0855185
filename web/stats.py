"""GET /stats: input accounting merged across every worker."""

from __future__ import annotations

from faust.web import Request, Response, View

from app import app
from streaming.accounting import merge
from tables import accounting
from tables._declare import text_key
from web.routing import across_workers


@app.page("/stats")
class Stats(View):
    async def get(self, request: Request) -> Response:
        return await across_workers(
            self,
            request,
            lambda: {text_key(k): v for k, v in accounting.items()},
            lambda parts: {"topics": merge(parts)},
        )
