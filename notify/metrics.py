"""Prometheus metrics of the notify process, on a registry of its own (labels bounded: never a key)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.in_flight = Gauge("commerce_notify_in_flight", "HTTP calls in flight", registry=r)
        self.waiting = Gauge(
            "commerce_notify_waiting",
            "Records fetched, waiting behind an earlier one of their key",
            registry=r,
        )
        self.paused = Gauge(
            "commerce_notify_paused_partitions", "Partitions paused at the in-flight limit", registry=r
        )
        self.latency = Histogram(
            "commerce_notify_delivery_seconds", "First call to delivery, retries included",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.records = Counter(
            "commerce_notify_records", "Records done, by outcome (delivered, dead_letter, skipped: done "
            "before a restart, per the commit metadata)", ["topic", "outcome"], registry=r,
        )  # fmt: skip
        self.retries = Counter("commerce_notify_retries", "Calls retried, by reason", ["reason"], registry=r)
        self.dead_letters = Counter(
            "commerce_notify_dead_letters", "Records dead-lettered, by reason", ["reason"], registry=r
        )
        self.gap = Gauge(
            "commerce_notify_completed_uncommitted",
            "Offsets completed above the committed offset (carried in the commit metadata)",
            ["topic", "partition"], registry=r,
        )  # fmt: skip
        self.metadata_fallbacks = Counter(
            "commerce_notify_metadata_fallbacks",
            "Commits whose completed offsets did not fit the metadata limit (offset committed alone)",
            registry=r,
        )
