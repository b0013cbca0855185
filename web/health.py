"""GET /healthz (the process serves HTTP) and GET /readyz (its tables are recovered)."""

from __future__ import annotations

from faust.web import Request, Response, View

from app import app


@app.page("/healthz")
class Health(View):
    async def get(self, request: Request) -> Response:
        return self.json({"status": "ok"})


@app.page("/readyz")
class Ready(View):
    """503 while partitions are being (re)assigned or active tables restore."""

    async def get(self, request: Request) -> Response:
        recovery = app.tables.recovery
        if app.rebalancing or not recovery.completed.is_set():
            remaining = recovery.active_remaining_total() if recovery.in_recovery else None
            body = {"status": "recovering", "active_records_remaining": remaining}
            return self.json(body, status=503)
        return self.json({"status": "ready"})
