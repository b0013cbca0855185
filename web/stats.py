"""GET /stats: input accounting merged across every worker."""

from __future__ import annotations

from faust.web import Request, Response, View

from streaming import retention
from streaming.accounting import merge
from tables._declare import text_key
from web.blueprint import views
from web.routing import across_workers

EXPIRY = "expiry:"  # this worker's expiry counters travel with its accounting rows


def _present(parts: list[dict]) -> dict:
    expiry: dict[str, int] = {}
    rows = []
    for part in parts:
        rows.append({k: v for k, v in part.items() if not k.startswith(EXPIRY)})
        for k, v in part.items():
            if k.startswith(EXPIRY):
                name = k.removeprefix(EXPIRY)
                expiry[name] = expiry.get(name, 0) + v["count"]
    return {"topics": merge(rows), "expiry": expiry}


@views.route("/stats")
class Stats(View):
    async def get(self, request: Request) -> Response:
        accounting = self.app.runtime.tables.accounting
        return await across_workers(
            self,
            request,
            lambda: {
                **{text_key(k): v for k, v in accounting.items()},
                **{f"{EXPIRY}{k}": {"count": n} for k, n in retention.COUNTS.items()},
            },
            _present,
        )
