"""Run the notifier until SIGTERM/SIGINT, with its metrics on NOTIFY_METRICS_PORT."""

from __future__ import annotations

import asyncio
import logging
import signal

from prometheus_client import start_http_server

from config import Settings
from notify.metrics import NotifyMetrics
from notify.runner import Notifier, group_id, notify_topics

log = logging.getLogger(__name__)


async def serve(settings: Settings) -> None:
    metrics = NotifyMetrics()
    if settings.notify_metrics_port:
        start_http_server(settings.notify_metrics_port, addr=settings.web_bind, registry=metrics.registry)
    notifier = Notifier(settings, metrics)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, notifier.stop)
    log.info(
        "notify: group %s, topics %s -> %s, mode %s, at most %d in flight",
        group_id(settings), ",".join(notify_topics(settings)), settings.notify_url,
        settings.notify_mode, settings.notify_max_in_flight,
    )  # fmt: skip
    await notifier.run()
