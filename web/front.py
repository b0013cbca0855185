"""The query front: the worker's WEB_PORT, served by a thread of the native kernel.

Under load, a query to Faust's web server waits for the GIL behind the stream
processing (about half of its p99 on two shared cores). The front
(native/src/front.rs) answers ``GET /advertisers/{id}/budget`` without the GIL,
from the budgets this worker's commits hand it (a commit listener, ``eos.runtime``),
and passes every other request to Faust's web server on a loopback port.

It answers only what the view would answer the same: committed values, while
this worker is ready and actively owns the key's partition. It forgets
everything when a rebalance starts (before this worker's revocation returns, so
before any other worker can own the partition) and takes partitions again once
readiness holds; keys not handed over since then are the view's. QUERY_FRONT=false
(or no kernel) leaves WEB_PORT to Faust's web server alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from config import Settings
from config.settings import BudgetKernel
from web.readiness import readiness

log = logging.getLogger(__name__)
SYNC_INTERVAL = 0.05  # how soon after recovery the front takes over (seconds)


def query_front_enabled(settings: Settings) -> bool:
    """QUERY_FRONT, and the kernel that carries it is installed and chosen."""
    if not settings.query_front or settings.budget_kernel == BudgetKernel.PYTHON:
        return False
    try:
        import budget_kernel
    except ImportError:
        return False
    return hasattr(budget_kernel, "QueryFront")


class Front:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.native: Any = None

    def start(self) -> None:
        import budget_kernel

        app, settings = self.app, self.app.settings
        self.native = budget_kernel.QueryFront(
            settings.web_bind, settings.web_port, app.conf.web_port, settings.query_front_max_keys,
            realtime=settings.query_front_realtime,
            auth_token=settings.http_auth_token.get_secret_value() if settings.http_auth_token else None,
        )  # fmt: skip
        app.runtime.listen(app.runtime.tables.budgets.name, self.publish)
        if (metrics := app.runtime.metrics) is not None:
            metrics.query_front = self.native
        log.info("query front on %s:%d (scheduling: %s), Faust's web server on 127.0.0.1:%d",
                 settings.web_bind, self.native.port, self.native.scheduling, app.conf.web_port)  # fmt: skip
        if settings.query_front_realtime and self.native.scheduling != "SCHED_FIFO":
            log.warning("query front: QUERY_FRONT_REALTIME asked for SCHED_FIFO: %s", self.native.scheduling)

    def publish(self, partition: int, writes: dict[bytes, Any], deleted: object) -> None:
        try:
            self.native.publish(partition, writes, deleted)
        except Exception:  # never fail a commit over the front: it falls back to the view
            log.exception("query front: publish failed; forwarding every query until ready again")
            self.deactivate()

    def sync(self) -> None:
        """Follow readiness: the partitions to answer for, or none. Compared with the
        front's own state, so a deactivation from any thread is undone once ready."""
        active = _active_partitions(self.app) if readiness(self.app)[0] else None
        if active == self.native.active:
            return
        if active is None:
            self.deactivate()
        else:
            self.native.activate(active)

    def deactivate(self) -> None:
        self.native.deactivate()

    def close(self) -> None:
        self.app.runtime.unlisten(self.app.runtime.tables.budgets.name, self.publish)
        here, forwarded, held = self.native.stats()
        log.info("query front: %d queries answered here, %d forwarded; %d budgets held",
                 here, forwarded, held)  # fmt: skip
        self.native.close()


def _active_partitions(app: Any) -> list[int]:
    changelog = app.runtime.tables.budgets.changelog_topic.get_topic_name()
    return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == changelog)


def register(app: Any) -> None:
    """With the front enabled (query_front_enabled), start it with the
    web server, and make it follow readiness and revocations."""
    if not query_front_enabled(app.settings):
        return
    front = app.runtime.web["front"] = Front(app)

    async def start(_: Any) -> None:
        front.start()

    async def close(_: Any) -> None:
        front.close()

    async def follow_readiness() -> None:
        """On the main loop, as the rebalance callbacks: no activation slips in after a revocation."""
        while front.native is None:  # the web server starts it
            await asyncio.sleep(SYNC_INTERVAL)
        while True:
            front.sync()
            await asyncio.sleep(SYNC_INTERVAL)

    async def forget(sender: Any, revoked: Any, **kwargs: Any) -> None:
        if front.native is not None:
            front.deactivate()

    app.web.web_app.on_startup.append(start)
    app.web.web_app.on_cleanup.append(close)
    app.task(follow_readiness)
    app.on_partitions_revoked.connect(forget)
