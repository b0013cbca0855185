"""Exactly-once building blocks on the session broker: commit is visible, abort is not."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from infra.kafka import console_consume, kafka_version, run_tool
from infra.kafka.committed import read_committed
from infra.kafka.jars import uses_log4j2

pytestmark = [pytest.mark.integration, pytest.mark.compat]

COMMITTED = [("k1", "committed-1"), ("k2", "committed-2"), ("k3", "committed-3")]
ABORTED = [("k1", "aborted-1"), ("k2", "aborted-2")]
LATE = [("k3", "committed-4")]


async def _produce(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=f"txn-test-{uuid.uuid4().hex[:8]}"
    )
    await producer.start()
    try:
        for batch, commit in ((COMMITTED, True), (ABORTED, False), (LATE, True)):
            await producer.begin_transaction()
            for key, value in batch:
                await producer.send_and_wait(topic, value.encode(), key=key.encode())
            if commit:
                await producer.commit_transaction()
            else:
                await producer.abort_transaction()
    finally:
        await producer.stop()


async def _consume_all(bootstrap: str, topic: str, isolation_level: str) -> list[tuple[str, str]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level=isolation_level,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        # read_committed stops at the last stable offset, which ends with a txn marker.
        end = (await consumer.end_offsets([tp]))[tp]
        records: list[tuple[str, str]] = []
        async with asyncio.timeout(30):
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=500)
                records += [(m.key.decode(), m.value.decode()) for m in batch.get(tp, [])]
        return records
    finally:
        await consumer.stop()


def test_read_committed_sees_commits_not_aborts(kafka_bootstrap: str) -> None:
    topic = f"txn-{uuid.uuid4().hex[:8]}"
    run_tool("topics", "--create", "--topic", topic, "--partitions", "1", bootstrap=kafka_bootstrap)
    asyncio.run(_produce(kafka_bootstrap, topic))
    expected = COMMITTED + LATE

    assert asyncio.run(_consume_all(kafka_bootstrap, topic, "read_committed")) == expected
    # The aborted records are in the log; only the isolation level hides them.
    uncommitted = asyncio.run(_consume_all(kafka_bootstrap, topic, "read_uncommitted"))
    assert uncommitted == COMMITTED + ABORTED + LATE
    # The checks' reader (chaos, lake audit): to the end offsets, the aborted records never seen.
    records = asyncio.run(read_committed({"bootstrap_servers": kafka_bootstrap}, topic))
    assert [(r.key.decode(), r.value.decode()) for r in records] == expected

    lines = console_consume(kafka_bootstrap, topic, read_committed=True, print_key=True, timeout_ms=3000)
    assert lines == [f"{k}\t{v}" for k, v in expected]
    # Same through run_tool, which passes any flag of the tool through unchanged.
    raw = run_tool(
        "console-consumer",
        "--topic",
        topic,
        "--from-beginning",
        # 4.x renamed the flag, and prints a deprecation among the records for the old one.
        "--command-property" if uses_log4j2(kafka_version()) else "--consumer-property",
        "isolation.level=read_committed",
        "--max-messages",
        str(len(expected)),
        "--timeout-ms",
        "10000",
        bootstrap=kafka_bootstrap,
    )
    assert raw.stdout.splitlines() == [v for _, v in expected]
