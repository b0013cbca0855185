"""GET /healthz (the process serves HTTP) and GET /readyz (its tables are recovered)."""

from __future__ import annotations

from faust.web import Request, Response, View

from web.blueprint import views
from web.readiness import readiness, standby_lag


@views.route("/healthz")
class Health(View):
    async def get(self, request: Request) -> Response:
        return self.json({"status": "ok"})


@views.route("/readyz")
class Ready(View):
    """503 while partitions are being (re)assigned or active tables restore."""

    async def get(self, request: Request) -> Response:
        app = self.app
        ready, reason = readiness(app)
        if ready:
            return self.json({"status": "ready", "standby_records_remaining": standby_lag(app)})
        recovery = app.tables.recovery
        remaining = recovery.active_remaining_total() if recovery.in_recovery else None
        body = {"status": "recovering", "reason": reason, "active_records_remaining": remaining}
        return self.json(body, status=503)
