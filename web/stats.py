"""GET /stats: input accounting merged across every worker."""

from __future__ import annotations

from faust.web import Request, Response, View

from app import app
from streaming.accounting import merge
from tables import accounting
from tables._declare import text_key
from web.routing import LOCAL, from_every_worker


@app.page("/stats")
class Stats(View):
    async def get(self, request: Request) -> Response:
        if request.query.get("scope") == LOCAL:
            return self.json({text_key(k): v for k, v in accounting.items()})
        try:
            parts = await from_every_worker(request, "/stats")
        except (ConnectionError, OSError) as exc:
            return self.error(503, f"a worker did not answer: {exc}")
        return self.json({"topics": merge(parts)})
