"""A topic read to its end as it stands now, with read_committed: what checks compare against.

Ends at the end offsets taken after the seek (the last stable offset under read_committed),
never on a quiet spell, so a slow fetch under load cannot cut a partition short.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord


async def read_committed(kafka_kwargs: dict[str, Any], topic: str) -> list[ConsumerRecord]:
    """Every committed record of ``topic`` up to its end now, in offset order per partition."""
    consumer = AIOKafkaConsumer(
        topic, **kafka_kwargs, isolation_level="read_committed", auto_offset_reset="earliest",
        enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        parts = list(consumer.assignment())
        for tp in parts:
            await consumer.seek_to_beginning(tp)
        ends = await consumer.end_offsets(parts)
        out: list[ConsumerRecord] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()
