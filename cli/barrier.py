"""Wait until a consumer group has committed everything on a topic (no lag)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from config import Settings
from config.kafka import client_kwargs
from domain.errors import StreamsError


class BarrierTimeout(StreamsError):
    """The app's group did not catch up with the produced records in time."""


async def group_lag(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str, topic: str) -> int:
    described = await admin.describe_topics([topic])
    tps = [TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]]
    if not tps:
        raise BarrierTimeout(f"topic {topic!r} has no partitions (does it exist?)")
    ends = await consumer.end_offsets(tps)
    committed = await admin.list_consumer_group_offsets(group, partitions=tps)
    lag = 0
    for tp in tps:
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset >= 0 else 0
        lag += max(0, ends[tp] - done)
    return lag


async def wait_for_no_lag(settings: Settings, group: str, topic: str, timeout: float) -> None:
    kwargs = client_kwargs(settings)
    admin = AIOKafkaAdminClient(**kwargs)
    consumer = AIOKafkaConsumer(**kwargs, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        lag: int | str = "unknown"
        while True:
            try:
                if (lag := await group_lag(admin, consumer, group, topic)) == 0:
                    return
            except KafkaError as exc:  # a broker restarting or a leader moving: ask again
                lag = f"unknown ({type(exc).__name__})"
            if time.monotonic() > deadline:
                raise BarrierTimeout(
                    f"group {group!r} still lags {lag} records on {topic!r} after {timeout:.0f}s;"
                    " is a worker running?"
                )
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()
        await admin.close()
