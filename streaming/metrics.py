"""Prometheus metrics of one worker (``GET /metrics``), on a registry the app owns.

Per-worker series that Prometheus sums; labels are bounded (topic, partition,
table, route template, status, reason), never an id. Nothing is counted per
record: batches and commits observe once each, and what the worker already
keeps (input accounting, recovery offsets, consumer positions, RocksDB's key
estimates) is read when Prometheus scrapes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from faust.sensors import Monitor
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from eos import compat

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
E2E_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 25000)
OUTCOMES = {"processed": "processed", "duplicates": "duplicate", "dead_lettered": "dead_letter"}


class Metrics:
    """Every instrument of the worker, and the collector that reads the rest at scrape time."""

    def __init__(self, app: Any) -> None:
        self.registry = registry = CollectorRegistry()
        for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            registry.register(_Borrowed(standard))
        self.commit_seconds = Histogram(
            "commerce_commit_seconds", "Commit of one round of transactions", buckets=LATENCY_BUCKETS,
            registry=registry,
        )  # fmt: skip
        self.commits = Counter("commerce_commits", "Transaction rounds committed", registry=registry)
        self.aborts = Counter(
            "commerce_aborts", "Transaction rounds that failed (aborted)", registry=registry
        )
        self.last_commit = Gauge(
            "commerce_last_commit_timestamp_seconds", "Unix time of the last commit", registry=registry
        )
        self.end_to_end_seconds = Histogram(
            "commerce_end_to_end_seconds",
            "From the oldest record timestamp of a batch to the commit holding its effects",
            buckets=E2E_BUCKETS, registry=registry,
        )  # fmt: skip
        self.batch_records = Histogram(
            "commerce_batch_records", "Records in one batch handed to a handler", ["handler"],
            buckets=BATCH_BUCKETS, registry=registry,
        )  # fmt: skip
        self.batch_seconds = Histogram(
            "commerce_batch_seconds", "Handler time of one batch", ["handler"], buckets=LATENCY_BUCKETS,
            registry=registry,
        )  # fmt: skip
        self.dead_letters = Counter(
            "commerce_dead_letters_by_reason", "Dead letters committed, by input topic and reason",
            ["topic", "reason"], registry=registry,
        )  # fmt: skip
        self.rebalances = Counter(
            "commerce_rebalances", "Rebalances this worker went through", registry=registry
        )
        self.last_rebalance_seconds = Gauge(
            "commerce_last_rebalance_seconds",
            "From the last rebalance's start to ready again",
            registry=registry,
        )
        self.rebalance_seconds = Counter(
            "commerce_rebalance_seconds",
            "Time spent in rebalances, their table recovery included (not ready meanwhile)",
            registry=registry,
        )
        self.http_seconds = Histogram(
            "commerce_http_request_seconds", "HTTP requests served by Faust's web server",
            ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        # Label children resolved once (a .labels() call takes a lock and builds a key):
        # the batch path observes through these, per batch.
        self._per_handler: dict[str, tuple[Any, Any]] = {}
        self._dead_by: dict[tuple[str, str], Any] = {}
        self.query_front: Any = None  # budget_kernel.QueryFront once web.front started it
        registry.register(_StateCollector(app, self))
        self.monitor = MetricsMonitor(self)  # app.monitor, set by the factory

    def rebalanced(self, took: float) -> None:
        self.rebalances.inc()
        self.rebalance_seconds.inc(took)
        self.last_rebalance_seconds.set(took)

    def batch(self, handler: str, took: float, records: int) -> None:
        """One batch handled: its handler time and size."""
        children = self._per_handler.get(handler)
        if children is None:
            children = self._per_handler[handler] = (
                self.batch_seconds.labels(handler),
                self.batch_records.labels(handler),
            )
        children[0].observe(took)
        children[1].observe(records)

    def committed(self, took: float, batches: Iterable[tuple[float, dict[tuple[str, str], int]]]) -> None:
        """One round of transactions committed: ``batches`` are (oldest record's
        timestamp, dead letters by (topic, reason)) of the batches it holds."""
        now = time.time()
        self.commit_seconds.observe(took)
        self.commits.inc()
        self.last_commit.set(now)
        end_to_end, dead_by = self.end_to_end_seconds, self._dead_by
        for oldest, dead in batches:
            end_to_end.observe(max(0.0, now - oldest))
            for labels, count in dead.items():
                child = dead_by.get(labels)
                if child is None:  # bounded: input topics x reasons
                    child = dead_by[labels] = self.dead_letters.labels(*labels)
                child.inc(count)


class MetricsMonitor(Monitor):
    """Faust's Monitor, also timing each rebalance (start, then end once tables
    recovered). Not a sensor of its own: Faust calls each sensor four times per
    message, and the monitor is called anyway."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self.metrics = metrics

    def on_rebalance_start(self, app: Any) -> dict[str, Any]:
        state = super().on_rebalance_start(app)
        state["commerce_started"] = time.monotonic()
        return state

    def on_rebalance_end(self, app: Any, state: dict[str, Any]) -> None:
        super().on_rebalance_end(app, state)
        self.metrics.rebalanced(time.monotonic() - state["commerce_started"])


def input_records(rows: dict[str, dict[str, int]]) -> CounterMetricFamily:
    """``commerce_input_records_total`` from accounting rows (``topic/partition`` -> counts).

    By partition: the running totals of one partition only grow, wherever it is
    processed. Summed per worker over the partitions it owns, a worker's series
    would drop when a rebalance moves a partition away, and Prometheus reads a
    drop as a counter reset: ``rate``/``increase`` would count that worker's
    whole remaining total again (a spike of throughput and of the dead-letter
    ratio at every rebalance). Per partition, a moved partition's series ends on
    one worker and starts on another instead.
    """
    records = CounterMetricFamily(
        "commerce_input_records",
        "Input records accounted for, by partition and outcome",
        labels=["topic", "partition", "outcome"],
    )
    for key, counts in sorted(rows.items()):
        topic, partition = key.rsplit("/", 1)
        for field, outcome in OUTCOMES.items():
            records.add_metric([topic, partition, outcome], int(counts.get(field, 0)))
    return records


class _Borrowed(Collector):
    """A standard collector (process, platform, GC) on our registry as well."""

    def __init__(self, collector: Any) -> None:
        self.collector = collector

    def collect(self) -> Iterator[Any]:
        return iter(self.collector.collect())


class _StateCollector(Collector):
    """What the worker keeps anyway, read at scrape time."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        from web.readiness import readiness

        app = self.app
        ready = readiness(app)[0]
        yield GaugeMetricFamily("commerce_ready", "1 when /readyz says ready", value=1.0 if ready else 0.0)
        yield from self._inputs()
        yield from self._lag()
        yield from self._recovery()
        yield from self._state()
        yield from self._query_front()
        yield from self._live()

    def _live(self) -> Iterator[Any]:
        # Each live stream buffers at most LIVE_BUFFER committed values: from
        # outside, buffered <= streams x LIVE_BUFFER checks the bound.
        from web.live_hub import load

        streams, buffered = load()
        yield GaugeMetricFamily(
            "commerce_live_streams", "Live (server-sent event) streams open", value=streams
        )
        yield GaugeMetricFamily(
            "commerce_live_buffered_events", "Committed values queued in live streams, not yet sent",
            value=buffered,
        )  # fmt: skip

    def _query_front(self) -> Iterator[Any]:
        # The budgets the Rust front answers itself never reach Faust's web server:
        # their latency comes from the front's own buckets (what it forwards is
        # timed by commerce_http_request_seconds).
        front = self.metrics.query_front
        if front is None:
            return
        bounds, cumulative, count, total = front.latency()
        family = HistogramMetricFamily(
            "commerce_query_front_request_seconds", "GET /advertisers/{id}/budget answered by the query front"
        )
        buckets = [(f"{bound:g}", float(n)) for bound, n in zip(bounds, cumulative, strict=True)]
        family.add_metric([], [*buckets, ("+Inf", float(count))], total)
        yield family
        here, forwarded, _ = front.stats()
        requests = CounterMetricFamily(
            "commerce_query_front_requests", "Requests to the query front, by outcome", labels=["outcome"]
        )
        requests.add_metric(["answered"], float(here))
        requests.add_metric(["forwarded"], float(forwarded))
        yield requests

    def _inputs(self) -> Iterator[Any]:
        # The committed accounting of the partitions this worker owns (what /stats
        # merges across workers): summed over workers, exactly /stats.
        from tables._declare import text_key

        accounting = self.app.runtime.tables.accounting
        yield input_records({text_key(key): counts for key, counts in list(accounting.items())})

    def _lag(self) -> Iterator[Any]:
        # Kafka's records-lag under read_committed: last stable offset - position.
        lag = GaugeMetricFamily(
            "commerce_consumer_lag",
            "Records behind on an assigned input partition",
            labels=["topic", "partition"],
        )
        consumer = _kafka_consumer(self.app)
        if consumer is not None:
            changelogs = set(self.app.tables.changelog_topics)
            for tp in list(consumer.assignment()):
                if tp.topic in changelogs:
                    continue
                stable, position = consumer.last_stable_offset(tp), compat.fetch_position(consumer, tp)
                if stable is not None and position is not None:
                    lag.add_metric([tp.topic, str(tp.partition)], max(0, stable - position))
        yield lag

    def _recovery(self) -> Iterator[Any]:
        recovery = self.app.tables.recovery
        active = GaugeMetricFamily(
            "commerce_restore_active_remaining", "Active changelog offsets left to restore"
        )
        active.add_metric([], float(recovery.active_remaining_total()) if recovery.in_recovery else 0.0)
        yield active
        from web.readiness import standby_lag

        standby = GaugeMetricFamily(
            "commerce_restore_standby_remaining", "Standby changelog offsets left to read"
        )
        standby.add_metric([], float(standby_lag(self.app)))
        yield standby

    def _state(self) -> Iterator[Any]:
        from eos.store import TransactionalStore

        keys = GaugeMetricFamily("commerce_table_keys", "Keys in RocksDB (its estimate)", labels=["table"])
        size = GaugeMetricFamily(
            "commerce_table_bytes", "Bytes on disk of the table's RocksDB", labels=["table"]
        )
        for table in list(self.app.tables.values()):
            store = table.data
            if not isinstance(store, TransactionalStore):
                continue
            estimate = 0
            dbs = compat.open_dbs(store)
            for db in dbs.values():
                estimate += int(db.property_int_value("rocksdb.estimate-num-keys") or 0)
            keys.add_metric([table.name], float(estimate))
            size.add_metric([table.name], float(_bytes_under(store, dbs)))
        yield keys
        yield size


def _kafka_consumer(app: Any) -> Any:
    try:
        return compat.started_kafka_consumer(compat.consumer_thread(app.consumer))
    except AttributeError:  # Faust's consumer not built yet
        return None


def _bytes_under(store: Any, dbs: dict[int, Any]) -> int:
    total = 0
    for partition in dbs:
        path = Path(store.partition_path(partition))
        if path.exists():
            total += sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())
    return total
