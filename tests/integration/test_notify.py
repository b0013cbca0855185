"""Notifications on the real broker: order per key, parallelism, dead letters, an outage."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest

from config import Settings
from notify.runner import Notifier, group_id
from tests.integration import notify_kit as kit
from tests.receiver import Receiver

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def running(s: Settings) -> AsyncIterator[Notifier]:
    notifier = Notifier(s)
    task = asyncio.create_task(notifier.run())
    try:
        yield notifier
    finally:
        notifier.stop()
        await asyncio.wait_for(task, 30)


def offsets_by_key(calls: list) -> dict[str, list[int]]:
    by_key: dict[str, list[int]] = defaultdict(list)
    for call in sorted(calls, key=lambda c: c.arrived):
        by_key[call.key].append(call.offset)
    return by_key


async def test_key_order_holds_under_random_latencies_and_keys_run_in_parallel(kafka_bootstrap: str) -> None:
    topic, app_id = kit.names()
    await kit.create_topic(kafka_bootstrap, topic)
    # 40 keys x 6 events, latencies 0..60 ms, a fifth of the calls answered 503 (retried, in order).
    records = [kit.event(f"u{k}", n) for n in range(6) for k in range(40)]
    await kit.produce(kafka_bootstrap, topic, records, txn=True)  # transaction markers take offsets
    receiver = await Receiver(latency=(0.0, 0.06), failure_rate=0.2, seed=7).up()
    s = kit.settings(kafka_bootstrap, topic, app_id, receiver.url, notify_max_in_flight=100)
    try:
        started = time.monotonic()
        async with running(s):
            await kit.wait_for(lambda: len(receiver.delivered()) >= len(records), 60, "every delivery")
            wall = time.monotonic() - started
            await asyncio.sleep(0.5)  # two commit intervals
    finally:
        await receiver.down()
    delivered = receiver.delivered()
    assert sorted(c.idempotency_key for c in delivered) == sorted(
        f"{topic}:u{k}-{n}" for n in range(6) for k in range(40)
    )
    # Every call of a key, retries included, arrived in offset order.
    for key, offsets in offsets_by_key(receiver.calls).items():
        assert offsets == sorted(offsets), f"{key} called out of order: {offsets}"
    # 288+ calls averaging 30 ms: 8.6 s one at a time; keys in parallel take a fraction of it.
    sequential = sum(c.answered - c.arrived for c in delivered)
    assert wall < sequential / 4, f"wall {wall:.2f}s against {sequential:.2f}s of calls"
    # Everything done is committed, past the transaction markers: no lag left.
    committed, ends = await kit.committed_vs_end(kafka_bootstrap, group_id(s), topic)
    assert committed == ends


async def test_a_4xx_is_dead_lettered_with_reason_and_attempts_and_the_key_moves_on(
    kafka_bootstrap: str,
) -> None:
    topic, app_id = kit.names()
    await kit.create_topic(kafka_bootstrap, topic)
    records = [kit.event("u1", n) for n in range(4)] + [(b"u2", b"not json")] + [kit.event("u2", 0)]
    await kit.produce(kafka_bootstrap, topic, records)
    receiver = await Receiver(reject=lambda body: body["event"]["n"] == 1 and body["key"] == "u1").up()
    s = kit.settings(kafka_bootstrap, topic, app_id, receiver.url)
    try:
        async with running(s):
            await kit.wait_for(lambda: len(receiver.delivered()) >= 4, 30, "the other events")
    finally:
        await receiver.down()
    assert [c.idempotency_key for c in sorted(receiver.calls, key=lambda c: c.arrived) if c.key == "u1"] == [
        f"{topic}:u1-{n}" for n in range(4)
    ]
    dead = await kit.read_all(kafka_bootstrap, s.topic_notify_dlq, 2)
    headers = sorted((dict(d.headers) for d in dead), key=lambda h: h["dlq.reason"])
    assert [(h["dlq.reason"], h["dlq.attempts"], h["dlq.topic"].decode()) for h in headers] == [
        (b"http_422", b"1", topic),
        (b"malformed", b"0", topic),
    ]
    assert headers[0]["notify.idempotency_key"] == f"{topic}:u1-1".encode()


async def test_a_receiver_down_for_a_while_loses_nothing(kafka_bootstrap: str) -> None:
    topic, app_id = kit.names()
    await kit.create_topic(kafka_bootstrap, topic)
    records = [kit.event(f"u{k}", n) for n in range(3) for k in range(10)]
    await kit.produce(kafka_bootstrap, topic, records)
    receiver = Receiver()  # its port picked, nothing listening yet
    # Two attempts at most: refused connections must not count, or all would be dead letters.
    s = kit.settings(kafka_bootstrap, topic, app_id, receiver.url, notify_max_attempts=2)
    try:
        async with running(s) as notifier:
            retried = notifier.metrics.retries.labels("unreachable")
            await kit.wait_for(lambda: retried._value.get() >= 60, 30, "calls refused")
            await receiver.up()
            await kit.wait_for(lambda: len(receiver.delivered()) >= len(records), 30, "every delivery")
    finally:
        await receiver.down()
    assert sorted(c.idempotency_key for c in receiver.delivered()) == sorted(
        f"{topic}:u{k}-{n}" for n in range(3) for k in range(10)
    )
    assert await kit.read_all(kafka_bootstrap, s.topic_notify_dlq, 1, timeout=2) == []


async def test_no_partition_waits_behind_another_ones_records(kafka_bootstrap: str) -> None:
    topic, app_id = kit.names()
    await kit.create_topic(kafka_bootstrap, topic)
    await kit.produce(kafka_bootstrap, topic, [kit.event(f"u{k % 30}", k) for k in range(600)])
    receiver = await Receiver(latency=(0.05, 0.05)).up()
    # Partition mode, a limit below one partition's records: the first fetch must not take it all.
    s = kit.settings(
        kafka_bootstrap, topic, app_id, receiver.url, notify_mode="partition", notify_max_in_flight=60
    )
    try:
        async with running(s):
            await kit.wait_for(
                lambda: len({c.partition for c in receiver.delivered()}) == 3, 10, "a call on every partition"
            )
    finally:
        await receiver.down()
