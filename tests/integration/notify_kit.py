"""Helpers of the notification tests: topics, producing, reading back, settings, waiting."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from config import Settings, load_settings


def names() -> tuple[str, str]:
    """A fresh (topic, app_id) per test: its own group, its own dead-letter topic."""
    tag = uuid.uuid4().hex[:8]
    return f"notify-in-{tag}", f"notify-{tag}"


def settings(bootstrap: str, topic: str, app_id: str, url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = dict(
        kafka_bootstrap_servers=bootstrap, app_id=app_id, notify_url=url, notify_topics=topic,
        topic_notify_dlq=f"{topic}.dlq", topic_partitions=3, notify_backoff_initial=0.02,
        notify_backoff_max=0.1, notify_commit_interval=0.2, notify_timeout=5.0,
    )  # fmt: skip
    values.update(extra)
    return load_settings(**values)


def env(s: Settings) -> dict[str, str]:
    """The same settings for a ``python -m notify`` subprocess."""
    keys = ("kafka_bootstrap_servers", "app_id", "notify_url", "notify_topics", "topic_notify_dlq",
            "topic_partitions", "notify_backoff_initial", "notify_backoff_max", "notify_commit_interval",
            "notify_timeout", "notify_max_in_flight", "notify_mode", "notify_max_attempts",
            "session_timeout")  # fmt: skip
    return {k.upper(): str(getattr(s, k)) for k in keys}


async def create_topic(bootstrap: str, topic: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


def event(key: str, n: int) -> tuple[bytes, bytes]:
    return key.encode(), orjson.dumps({"event_id": f"{key}-{n}", "user_id": key, "n": n})


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], txn: bool = False) -> None:
    """Keyed records; ``txn``: in transactions of 50, as the app's outputs are (markers take offsets)."""
    kw: dict[str, Any] = {"transactional_id": f"{topic}-producer"} if txn else {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, **kw)
    await producer.start()
    try:
        for start in range(0, len(records), 50):
            if txn:
                await producer.begin_transaction()
            for key, value in records[start : start + 50]:
                await producer.send(topic, value, key=key)
            if txn:
                await producer.commit_transaction()
        await producer.flush()
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, count: int, timeout: float = 20) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level="read_committed"
    )
    await consumer.start()
    got: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                got.extend(records)
    finally:
        await consumer.stop()
    return got


async def committed_vs_end(bootstrap: str, group: str, topic: str, partitions: int = 3) -> tuple[dict, dict]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await admin.start()
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        ends = await consumer.end_offsets(tps)
        return {tp.partition: committed[tp].offset for tp in tps}, {tp.partition: ends[tp] for tp in tps}
    finally:
        await consumer.stop()
        await admin.close()


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.02)
