"""Read an output topic back (read_committed) and check the peer's final budgets."""

from __future__ import annotations

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from cli.compare import BUDGET_FIELDS, diff_counts


async def last_per_key(bootstrap: str, topic: str, partitions: int) -> tuple[int, int, dict[bytes, dict]]:
    """(records, distinct entry ids, last value per key) of everything committed on ``topic``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records, entries, last = 0, set(), {}
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for msgs in batch.values():
                for m in msgs:
                    value = orjson.loads(m.value)
                    records += 1
                    entries.add(value.get("entry_id"))
                    last[m.key] = value
        return records, len(entries), last
    finally:
        await consumer.stop()


async def check_budgets(bootstrap: str, topic: str, partitions: int, oracle: dict, events: int) -> list[str]:
    """Differences between the peer's output and the oracle (empty when exact)."""
    records, distinct, last = await last_per_key(bootstrap, topic, partitions)
    diffs = []
    if records != events or distinct != events:
        diffs.append(f"{topic}: {records} records with {distinct} distinct entry ids, expected {events}")
    live = {k.decode(): v["budget"] for k, v in last.items() if "budget" in v}
    expected = oracle["advertisers"]
    for adv in sorted(set(expected) | set(live)):
        if adv not in live or adv not in expected:
            diffs.append(f"{topic} advertiser {adv!r}: {'missing' if adv not in live else 'not expected'}")
        else:
            diffs += diff_counts(f"{topic} {adv}", expected[adv], live[adv], BUDGET_FIELDS)
    return diffs
