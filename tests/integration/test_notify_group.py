"""Two notify processes in one consumer group: a rebalance mid-flight repeats nothing and keeps
every key strictly in order (a key's next call only once the previous one was answered)."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from typing import Any

import pytest

from notify.runner import Notifier, group_id
from tests.integration import notify_kit as kit
from tests.integration.test_notify import running
from tests.receiver import Receiver

pytestmark = pytest.mark.integration


def delivered(notifier: Notifier, topic: str) -> float:
    return notifier.metrics.records.labels(topic, "delivered")._value.get()


async def test_a_second_process_joining_mid_flight_repeats_nothing_and_keeps_key_order(
    kafka_bootstrap: str,
) -> None:
    topic, app_id = kit.names()
    await kit.create_topic(kafka_bootstrap, topic, partitions=4)
    records = [kit.event(f"u{k}", n) for n in range(6) for k in range(24)]
    await kit.produce(kafka_bootstrap, topic, records)
    # Every key always has a call out (0.6 s each, back to back), so the rebalance finds calls
    # in flight on the partitions it moves; a repeat would be answered at once, overtaking them.
    seen: set[tuple[int, int]] = set()

    def first_call_slow(body: dict[str, Any]) -> float | None:
        place = (body["partition"], body["offset"])
        if place in seen:
            return None
        seen.add(place)
        return 0.6

    receiver = await Receiver(latency_for=first_call_slow).up()
    s = kit.settings(kafka_bootstrap, topic, app_id, receiver.url, notify_max_in_flight=100)
    try:
        async with running(s) as first:
            await kit.wait_for(lambda: len(receiver.delivered()) >= 24, 30, "a first call per key")
            async with running(s) as second:
                await kit.wait_for(lambda: delivered(second, topic) > 0, 30, "the second process delivering")
                await kit.wait_for(
                    lambda: len({(c.partition, c.offset) for c in receiver.delivered()}) >= len(records),
                    60, "every delivery",
                )  # fmt: skip
                await asyncio.sleep(0.5)  # two commit intervals
            assert delivered(first, topic) + delivered(second, topic) == len(records)
    finally:
        await receiver.down()
    calls = defaultdict(list)
    for c in receiver.calls:
        calls[(c.partition, c.offset)].append(c)
    assert {place: len(cs) for place, cs in calls.items() if len(cs) > 1} == {}, "calls repeated"
    by_key = defaultdict(list)
    for c in sorted(receiver.calls, key=lambda c: c.arrived):
        by_key[c.key].append(c)
    for key, cs in by_key.items():
        assert [c.offset for c in cs] == sorted(c.offset for c in cs), f"{key} out of order"
        overlaps = [(a.offset, b.offset) for a, b in itertools.pairwise(cs) if b.arrived < a.answered]
        assert overlaps == [], f"{key}: a call started before the previous one was answered: {overlaps}"
    committed, ends = await kit.committed_vs_end(kafka_bootstrap, group_id(s), topic, partitions=4)
    assert committed == ends
