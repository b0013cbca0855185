"""GET /metrics: this worker's series in Prometheus's text format (streaming.metrics).

Also times every request Faust's web server answers, by route template (never
the raw path: its label set stays bounded) and status.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web as aio
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eos.runtime import runtime_of
from web.blueprint import views


@views.route("/metrics")
class MetricsView(View):
    async def get(self, request: Request) -> Response:
        metrics = runtime_of(self.app).metrics
        if metrics is None:
            return self.json({"error": "metrics are off (METRICS=false)"}, status=404)
        # Faust's bytes() refuses a content type with a charset, which Prometheus's has.
        return aio.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


def timed(metrics: Any) -> Any:
    """The middleware timing each request into ``metrics``."""

    @aio.middleware
    async def observe(request: aio.Request, handler):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except aio.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route = request.match_info.route.resource
            template = route.canonical if route is not None else "unmatched"
            metrics.http_seconds.labels(template, request.method, str(status)).observe(
                time.perf_counter() - started
            )

    return observe


def register(app: Any) -> None:
    metrics = runtime_of(app).metrics
    if metrics is not None:  # METRICS=false: nothing to time into
        app.web.web_app.middlewares.append(timed(metrics))
