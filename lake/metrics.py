"""The sink's Prometheus metrics (its own registry: the sink is its own process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class SinkMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.files = Counter("lake_files_written", "Parquet files published", ["topic"], registry=r)
        self.bytes = Counter("lake_bytes_written", "Bytes of Parquet published", ["topic"], registry=r)
        self.rows = Counter("lake_rows_written", "Records published in files", ["topic"], registry=r)
        self.lag = Gauge(
            "lake_lag_records",
            "Committed records of the partition not yet in a published file",
            ["topic", "partition"],
            registry=r,
        )
        self.oldest = Gauge(
            "lake_oldest_unflushed_seconds",
            "Age of the oldest record read and not yet published (0 when none)",
            registry=r,
        )

    def serve(self, port: int) -> None:
        start_http_server(port, addr="127.0.0.1", registry=self.registry)
