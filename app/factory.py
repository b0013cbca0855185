"""Build the faust.App from the one settings object: ``create_app(settings)``.

In order: the app and its runtime, the topics and tables (held by the runtime),
then the agents, the views and the commands, each package's ``register``.
Nothing here runs at import, and nothing but ``create_app`` reads settings.
"""

from __future__ import annotations

import gc
import os
import socket
import sys

import faust

import agents
import cli
import web
from app.topics import declare_topics
from config import Settings
from config.kafka import broker_credentials
from eos.runtime import Runtime
from streaming.logs import logging_config
from tables import declare_tables
from web.front import query_front_enabled


class StreamsApp(faust.App):
    """faust.App that makes sure its topics exist, laid out right, before it starts."""

    settings: Settings
    runtime: Runtime

    def _new_transport(self):  # type: ignore[no-untyped-def]
        from eos.transport import EosTransport

        return EosTransport(self.conf.broker_consumer, self)

    def startup_topics(self) -> list:
        """Every topic the app reads or writes, created before it joins its group.

        Changelogs included: left to Faust, two workers starting at once on a
        fresh deployment race on creating them, and one can see a changelog
        with 0 partitions and crash.
        """
        return [*self.runtime.topics.ALL, *(table.changelog_topic for table in self.tables.values())]

    async def crash(self, reason: BaseException) -> None:
        """A denial by the broker's authorizer is logged with the ACL that would allow it."""
        from app.access import explain

        explained = explain(reason, self.settings)
        if explained is not reason:
            self.log.error("%s", explained)
        await super().crash(explained)

    async def on_first_start(self) -> None:
        from app.access import check_credentials
        from app.admin import ensure_topics
        from streaming import recovery_progress, replay_generation

        await check_credentials(self.settings)  # a refused login says so, not "unable to bootstrap"
        # Before any table opens: state from before a replay is stale.
        await replay_generation.adopt_latest(self.settings)
        copartitioned = self.runtime.topics.COPARTITIONED
        await ensure_topics(self.settings, self.startup_topics(), copartitioned=copartitioned)
        await super().on_first_start()
        self.add_future(recovery_progress.watch(self))  # timers only start after recovery
        settle_heap()
        self.log.info("gc: thresholds %s, %d objects frozen", gc.get_threshold(), gc.get_freeze_count())


def settle_heap() -> None:
    """Keep the objects alive after start-up (modules, the app) out of every
    later collection: a full collection then walks only what processing made,
    and stalls HTTP queries and the handler less."""
    gc.collect()  # what is garbage now would never be collected once frozen
    gc.freeze()


_WEB_ENV = {"WEB_BIND", "WEB_HOST", "WEB_PORT", "NODE_CANONICAL_URL"}


def backend_port(settings: Settings) -> int:
    """Where Faust's web server listens behind the query front (web/front.py)."""
    if settings.web_backend_port:
        return settings.web_backend_port
    with socket.socket() as probe:  # a free port now; it is taken again within a second
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gil_switch_interval(settings: Settings, front: bool) -> float:
    """GIL_SWITCH_INTERVAL, else 5 ms behind the query front and 0.1 ms without it."""
    if settings.gil_switch_interval is not None:
        return settings.gil_switch_interval
    return 0.005 if front else 0.0001


def create_app(settings: Settings) -> StreamsApp:
    app = _new_app(settings)
    app.runtime.declared = (declare_topics(app, settings), declare_tables(app, settings))
    agents.register(app)
    web.register(app)
    cli.register(app)
    return app


def _new_app(settings: Settings) -> StreamsApp:
    front = query_front_enabled(settings)
    sys.setswitchinterval(gil_switch_interval(settings, front))
    gc.set_threshold(settings.gc_gen0_threshold, *gc.get_threshold()[1:])
    datadir = settings.store_dir / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = StreamsApp(
        settings.app_id,
        broker=settings.broker_urls,
        broker_credentials=broker_credentials(settings),
        processing_guarantee=settings.processing_guarantee.value,
        broker_commit_interval=settings.commit_interval,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 5),
        # A new group (a new service on old topics) starts from history, not from now.
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=settings.static_member_id,
        logging_config=logging_config(settings.log_format),
        producer_acks=-1,
        producer_linger=settings.producer_linger,
        producer_max_batch_size=settings.producer_max_batch_bytes,
        store="rocksdb://",
        datadir=str(datadir),
        table_standby_replicas=settings.standby_replicas,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        web_bind="127.0.0.1" if front else settings.web_bind,
        web_host=settings.web_host,
        web_port=backend_port(settings) if front else settings.web_port,
        # HTTP from its own thread and event loop, so a query waits for a GIL
        # slice, not for the processing loop's current step (a commit, a batch hand-off).
        web_in_thread=True,
        canonical_url=settings.canonical_url,
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
        Table="eos.table:EosTable",
        TableManager="streaming.recovery_progress:ProgressTableManager",
        # Co-partitioned inputs in timestamp order: a replay charges clicks as the first run did.
        ConsumerScheduler="streaming.timestamp_order:TimestampOrder",
        # Faust would take these from the environment over the values above.
        env={k: v for k, v in os.environ.items() if k not in _WEB_ENV},
    )
    app.settings = settings
    app.runtime = Runtime()
    if settings.metrics:
        from streaming.metrics import Metrics

        app.runtime.metrics = Metrics(app)
        app.monitor = app.runtime.metrics.monitor
    return app
