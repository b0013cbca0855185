"""GET /healthz: the process is alive and serving HTTP."""

from __future__ import annotations

from faust.web import Request, Response, View

from app import app


@app.page("/healthz")
class Health(View):
    async def get(self, request: Request) -> Response:
        return self.json({"status": "ok"})
