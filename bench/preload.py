"""Pre-loading the input topics, with a gate: records written but not yet readable.

The clicks are written inside one Kafka transaction that stays open while the worker
applies the top-ups. Readers use ``read_committed`` (Faust with exactly-once, the
ceiling, Quix Streams), so they see none of the clicks until ``open()`` commits it; then
all of them are on the broker at once, as if pre-loaded, and every top-up was applied
before any click (which keeps the bench workload's oracle exact, see bench.workload).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer

from cli.produce import produce, producer
from config import load_settings
from config.kafka import client_kwargs

Record = tuple[bytes, bytes]


async def load(bootstrap: str, topic: str, records: Iterable[Record], total: int) -> float:
    """Produce ``records`` (acks=all, idempotent); return the seconds it took."""
    prod = producer(load_settings(kafka_bootstrap_servers=bootstrap))
    started = time.monotonic()
    await prod.start()
    try:
        await produce(prod, topic, records, total, label=topic)
    finally:
        await prod.stop()
    return time.monotonic() - started


class Gate:
    """Records produced in a transaction left open until ``open()``."""

    def __init__(self, bootstrap: str, timeout_s: float = 600) -> None:
        kwargs = client_kwargs(load_settings(kafka_bootstrap_servers=bootstrap))
        self.producer = AIOKafkaProducer(
            **kwargs,
            transactional_id=f"bench-gate-{uuid.uuid4().hex[:8]}",
            transaction_timeout_ms=int(timeout_s * 1000),  # the broker allows up to 15 min
            acks="all",
            linger_ms=5,
            max_batch_size=256 * 1024,
        )
        self.opened_at: float | None = None

    async def load(self, topic: str, records: list[Record]) -> float:
        started = time.monotonic()
        await self.producer.start()
        await self.producer.begin_transaction()
        await produce(self.producer, topic, records, len(records), label=f"{topic} (gated)")
        await self.producer.flush()
        return time.monotonic() - started

    async def open(self) -> float:
        """Commit: every gated record becomes readable at once. Returns the wall-clock time."""
        await self.producer.commit_transaction()
        self.opened_at = time.time()
        return self.opened_at

    async def close(self) -> None:
        await self.producer.stop()
